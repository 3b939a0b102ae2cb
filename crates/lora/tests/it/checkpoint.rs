//! Checkpoints: save → load → identical logits; the JSON beside; no temporary files left.

use lora::{load_base, load_lora, meta_path};
use tch::Device;

use crate::{batch, max_abs_diff, smoke_model, trained};

#[test]
fn lora_round_trip_gives_identical_logits() {
    let mut model = trained(smoke_model(4, 13), 3);
    model.set_layer_k(1, 6).expect("grow");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run").join("adapted.safetensors");
    model.save(&path).expect("save");
    assert!(meta_path(&path).exists());
    let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "only the tensors and the JSON remain: {names:?}");
    let loaded = load_lora(&path, Device::Cpu).expect("load");
    assert_eq!(loaded.adapter_config(), model.adapter_config());
    assert_eq!(loaded.count_trainable(), model.count_trainable());
    let inputs = batch(model.arch(), 2, 12, 2).narrow(1, 0, 12);
    assert_eq!(max_abs_diff(&model.logits(&inputs), &loaded.logits(&inputs)), 0.0);
    // A LoRA checkpoint is not a base checkpoint, but its base can be read from it.
    let base = load_base(&path, Device::Cpu).expect("base from lora checkpoint");
    assert_eq!(max_abs_diff(base.embed(), model.base().embed()), 0.0);
}

#[test]
fn base_round_trip_and_wrong_kind() {
    let model = smoke_model(2, 3).into_base();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("base.safetensors");
    model.save(&path).expect("save");
    let loaded = load_base(&path, Device::Cpu).expect("load");
    let inputs = batch(model.arch(), 1, 8, 2).narrow(1, 0, 8);
    assert_eq!(max_abs_diff(&model.logits(&inputs), &loaded.logits(&inputs)), 0.0);
    assert!(loaded.is_trainable(), "a loaded base is ready for pretraining");
    let err = load_lora(&path, Device::Cpu).expect_err("no adapters in a base checkpoint");
    assert!(err.to_string().contains("load it with load_base"), "{err}");
}

#[test]
fn a_missing_config_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nothing.safetensors");
    let err = load_base(&path, Device::Cpu).expect_err("no files");
    assert!(err.to_string().contains("nothing.json"), "{err}");
}
