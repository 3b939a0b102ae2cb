//! Bad configurations and inputs get errors that name the problem and the fix.

use lora::{
    AdapterConfig, Architecture, BaseModel, DeviceChoice, LoraError, LoraModel, ScaleConvention,
    pick_device,
};
use tch::{Device, Tensor};

fn err_text<T: std::fmt::Debug>(r: Result<T, LoraError>) -> String {
    r.expect_err("must fail").to_string()
}

#[test]
fn bad_ranks_and_heads() {
    let arch = Architecture::smoke();
    let mut ad = AdapterConfig::uniform(&arch, 4, ScaleConvention::Lora, 8.0);
    ad.k_layers[1] = 0;
    assert!(err_text(LoraModel::new(&arch, &ad, Device::Cpu, 1)).contains("K = 0 for layer 1"));
    ad.k_layers[1] = 40;
    let msg = err_text(LoraModel::new(&arch, &ad, Device::Cpu, 1));
    assert!(msg.contains("K = 40") && msg.contains("needs K ≤ 32"), "{msg}");
    let mut bad = arch.clone();
    bad.n_heads = 5;
    let msg = err_text(BaseModel::new(&bad, Device::Cpu, 1));
    assert!(msg.contains("does not divide d_model = 32"), "{msg}");
}

#[test]
fn vocab_and_context_mismatches() {
    let arch = Architecture::smoke();
    let base = BaseModel::new(&arch, Device::Cpu, 1).expect("base");
    let msg = err_text(base.check_vocab(500));
    assert!(
        msg.contains("512") && msg.contains("500") && msg.contains("train the tokenizer"),
        "{msg}"
    );
    base.check_vocab(512).expect("same vocabulary");
    let msg = err_text(base.check_context(65));
    assert!(msg.contains("context 65") && msg.contains("64 positions"), "{msg}");
    // A batch longer than the position table is refused before any indexing.
    let long = Tensor::zeros([1, 66], (tch::Kind::Int64, Device::Cpu));
    assert!(err_text(base.loss(&long)).contains("context 65"));
    // Token ids outside the vocabulary.
    let bad = Tensor::from_slice(&[0i64, 1, 512]).view([1, 3]);
    assert!(err_text(base.loss(&bad)).contains("0..512"));
    // Wrong dtype and shape.
    let float = Tensor::zeros([1, 3], (tch::Kind::Float, Device::Cpu));
    assert!(err_text(base.loss(&float)).contains("Int64"));
    assert!(
        err_text(lora::batch_from_tokens(&[1, 2, 3], 2, 2, Device::Cpu))
            .contains("cannot form a batch")
    );
}

#[test]
fn device_choice() {
    assert_eq!(pick_device(DeviceChoice::Cpu).expect("cpu"), Device::Cpu);
    assert!(pick_device(DeviceChoice::Auto).is_ok());
    if !tch::Cuda::is_available() {
        let msg = err_text(pick_device(DeviceChoice::Cuda));
        assert!(msg.contains("CUDA was requested") && msg.contains("--device cpu"), "{msg}");
    }
    assert!(err_text("tpu".parse::<DeviceChoice>()).contains("use auto, cpu or cuda"));
}
