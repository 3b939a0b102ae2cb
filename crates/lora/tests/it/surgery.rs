//! Rank surgery (SPEC §5, Paper 81): grow keeps the function, shrink is the truncated SVD.

use lora::{
    AdapterConfig, Architecture, LayerMatrix, LoraModel, ScaleConvention, Trainer, TrainerConfig,
};
use tch::{Device, Kind, Tensor};

use crate::{Tol, batch, max_abs_diff, trained};

#[test]
fn grow_leaves_logits_unchanged_under_every_scale_convention() {
    for scale in [ScaleConvention::Lora, ScaleConvention::Rslora, ScaleConvention::None] {
        let arch = Architecture::smoke();
        let ad = AdapterConfig::uniform(&arch, 4, scale, 8.0);
        let model = trained(LoraModel::new(&arch, &ad, Device::Cpu, 9).expect("model"), 3);
        let mut model = model;
        let inputs = batch(&arch, 2, 12, 3).narrow(1, 0, 12);
        let before = model.logits(&inputs);
        let names = model.set_layer_k(1, 12).expect("grow layer");
        assert_eq!(names.len(), 8, "four A and four B replaced");
        model.set_embed_k(20).expect("grow embed");
        let after = model.logits(&inputs);
        let diff = max_abs_diff(&before, &after);
        assert!(diff < 1e-5, "{scale:?}: max |Δlogits| = {diff}");
        assert_eq!(model.adapter_config().k_layers, vec![4, 12]);
        assert_eq!(model.count_trainable(), arch.trainable_params(&[4, 12], 20));
    }
}

/// Singular values of a matrix, descending, in f64.
fn svals(m: &Tensor) -> Vec<f64> {
    let (_, s, _) = m.to_kind(Kind::Double).svd(true, true);
    Vec::<f64>::try_from(&s).expect("vec")
}

/// Shrinking gives the best rank-K' approximation: rank ≤ K', its top K' singular values are the
/// original's, and the error² is the sum of the discarded σ² (Eckart–Young).
fn check_truncation(before: &Tensor, after: &Tensor, k: usize) {
    let s = svals(before);
    let s_after = svals(after);
    for i in 0..k {
        assert!(Tol::close(s_after[i], s[i]), "σ_{i}: {} vs {}", s_after[i], s[i]);
    }
    for (i, &v) in s_after.iter().enumerate().skip(k) {
        assert!(v <= Tol::ABS * s[0].max(1.0), "σ_{i} = {v} after truncation to rank {k}");
    }
    let err2 = (before.to_kind(Kind::Double) - after.to_kind(Kind::Double))
        .square()
        .sum(Kind::Double)
        .double_value(&[]);
    let tail2: f64 = s[k..].iter().map(|v| v * v).sum();
    assert!(Tol::close(err2, tail2), "‖P − P'‖² = {err2}, Σ tail σ² = {tail2}");
}

#[test]
fn shrink_is_the_truncated_svd() {
    let model = trained(crate::smoke_model(8, 21), 5);
    let mut model = model;
    let before: Vec<Tensor> =
        LayerMatrix::ALL.iter().map(|&m| model.delta(0, m).expect("delta")).collect();
    let before_e = model.embed_delta();
    model.set_layer_k(0, 3).expect("shrink");
    model.set_embed_k(5).expect("shrink embed");
    for (i, &m) in LayerMatrix::ALL.iter().enumerate() {
        check_truncation(&before[i], &model.delta(0, m).expect("delta"), 3);
    }
    check_truncation(&before_e, &model.embed_delta(), 5);
    assert_eq!(model.adapter_config().k_layers, vec![3, 8]);
    assert_eq!(model.count_trainable(), model.arch().trainable_params(&[3, 8], 5));
}

/// Training continues after surgery through the Trainer (whose state for the replaced tensors
/// restarts) and the loss keeps falling on a fixed batch.
#[test]
fn training_continues_after_surgery() {
    let model = crate::smoke_model(4, 5);
    let b = batch(model.arch(), 2, 16, 8);
    let mut cfg = TrainerConfig::default();
    cfg.adamw.lr = 1e-2;
    let mut trainer = Trainer::new(model, cfg).expect("trainer");
    let first = trainer.train_step(&b).expect("step").loss;
    trainer.train_step(&b).expect("step");
    trainer.set_layer_k(0, 8).expect("grow");
    trainer.set_embed_k(2).expect("shrink");
    let mut last = f64::INFINITY;
    for _ in 0..5 {
        last = trainer.train_step(&b).expect("step").loss;
    }
    assert!(last < first, "loss {first} → {last}");
}

#[test]
fn surgery_rejects_impossible_ranks() {
    let mut model = crate::smoke_model(4, 5);
    let err = model.set_layer_k(0, 0).expect_err("K = 0");
    assert!(err.to_string().contains("K = 0"), "{err}");
    let err = model.set_layer_k(0, 33).expect_err("K > 32");
    assert!(err.to_string().contains("exceeds min(d_in, d_out) = 32"), "{err}");
    let err = model.set_layer_k(7, 4).expect_err("no layer 7");
    assert!(err.to_string().contains("layer 7 does not exist"), "{err}");
}
