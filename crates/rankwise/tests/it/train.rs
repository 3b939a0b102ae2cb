//! `rankwise train` and `rankwise measure-er` on the smoke profile: a base, an adapter run on it,
//! the gradient ER of both checkpoints, and the errors a user can cause.

use std::path::Path;
use std::process::{Command, Output};

fn rankwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rankwise"))
        .args(args)
        .output()
        .expect("the rankwise binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn train_base_then_adapters_then_measure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("base");
    let out = rankwise(&[
        "train",
        "--profile",
        "smoke",
        "--kind",
        "base",
        "--steps",
        "20",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        path(&base),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let record = records::read_record(&base.join("record.json")).expect("a base record");
    assert_eq!(record.steps.len(), 20);
    let (first, last) =
        (record.initial_loss().expect("eval at 0"), record.final_loss().expect("eval"));
    assert!(last < first, "pretraining lowers the loss: {first} → {last}");

    let ckpt = base.join("base.safetensors");
    let k8 = dir.path().join("k8");
    let out = rankwise(&[
        "train",
        "--profile",
        "smoke",
        "--base",
        path(&ckpt),
        "--k",
        "8",
        "--steps",
        "5",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        path(&k8),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let record = records::read_record(&k8.join("record.json")).expect("an adapter record");
    // Smoke model: 2 layers × 8 × (32+96 + 32+32 + 32+64 + 64+32) + 8 × (512+32) = 10,496.
    assert_eq!(record.trainable_params, 10_496);
    // B starts at zero: the adapted model starts exactly at the base's loss.
    let base_final = records::read_record(&base.join("record.json")).expect("base").final_loss();
    assert_eq!(record.initial_loss(), base_final);

    let out = rankwise(&[
        "measure-er",
        "--checkpoint",
        path(&k8.join("adapters.safetensors")),
        "--json",
        "--device",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["convention"], "sigma");
    assert_eq!(json["has_adapters"], true);
    let layers = json["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2);
    for l in layers {
        let er = l["natural_mean"].as_f64().expect("natural ER");
        // 64 measurement tokens bound every gradient's rank; ER ≥ 1 for a non-zero gradient.
        assert!((1.0..=64.0).contains(&er), "{er}");
    }
}

#[test]
fn train_errors_name_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = rankwise(&["train", "--profile", "smoke", "--k", "8", "--out", path(dir.path())]);
    assert!(!out.status.success());
    assert!(text(&out).contains("needs --base"), "{}", text(&out));

    let fake = dir.path().join("base.safetensors");
    std::fs::write(&fake, b"not a checkpoint").expect("write");
    let out = rankwise(&[
        "train",
        "--profile",
        "smoke",
        "--base",
        path(&fake),
        "--k",
        "0",
        "--out",
        path(dir.path()),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("K = 0"), "{}", text(&out));

    let out = rankwise(&["measure-er", "--checkpoint", path(&fake)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("rankwise checkpoint"), "{}", text(&out));

    let out = rankwise(&["reproduce", "--profile", "smoke", "--device", "cuda", "--dry-run"]);
    assert!(!out.status.success());
    assert!(text(&out).to_lowercase().contains("cuda"), "{}", text(&out));
}
