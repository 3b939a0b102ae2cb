//! Gradient capture (SPEC §4): natural gradients against finite differences, factor gradients
//! against the chain rule.

use lora::{
    AdapterConfig, Architecture, BaseModel, GradKind, GradTarget, LayerMatrix, LoraModel,
    ScaleConvention, Trainer, TrainerConfig,
};
use tch::{Device, Kind, Tensor};

use crate::{Tol, batch};

fn tiny() -> Architecture {
    Architecture { vocab_size: 24, d_model: 8, n_layers: 1, n_heads: 2, d_ff: 16, max_context: 8 }
}

/// A tiny f64 model whose adapters have been trained a little (B ≠ 0).
fn tiny_trained() -> (LoraModel, Tensor) {
    let arch = tiny();
    let mut base = BaseModel::new(&arch, Device::Cpu, 31).expect("base");
    base.set_kind(Kind::Double);
    let ad = AdapterConfig::uniform(&arch, 2, ScaleConvention::Lora, 4.0);
    let model = LoraModel::from_base(base, &ad, 32).expect("adapters");
    let b = batch(&arch, 2, 6, 4);
    let mut cfg = TrainerConfig::default();
    cfg.adamw.lr = 0.05;
    let mut trainer = Trainer::new(model, cfg).expect("trainer");
    for _ in 0..3 {
        trainer.train_step(&b).expect("step");
    }
    (trainer.into_model(), b)
}

/// Central finite difference of the loss in every entry of `w` (perturbed in place).
fn finite_difference(model: &LoraModel, batch: &Tensor, w: &Tensor) -> Vec<f64> {
    let eps = 1e-6;
    let (rows, cols) = (w.size()[0], w.size()[1]);
    let loss = || tch::no_grad(|| model.loss(batch).expect("loss").double_value(&[]));
    let mut out = Vec::new();
    for i in 0..rows {
        for j in 0..cols {
            let mut e = w.narrow(0, i, 1).narrow(1, j, 1);
            tch::no_grad(|| {
                let _ = e.f_add_scalar_(eps);
            });
            let up = loss();
            tch::no_grad(|| {
                let _ = e.f_add_scalar_(-2.0 * eps);
            });
            let down = loss();
            tch::no_grad(|| {
                let _ = e.f_add_scalar_(eps);
            });
            out.push((up - down) / (2.0 * eps));
        }
    }
    out
}

#[test]
fn natural_gradient_matches_finite_differences() {
    let (model, b) = tiny_trained();
    let cap = model.capture_gradients(&b, true, false).expect("capture");
    assert_eq!(cap.tokens, 12);
    for m in LayerMatrix::ALL {
        let w = model.base().layer_weight(0, m).expect("layer 0").shallow_clone();
        let g = cap
            .get(GradTarget::Layer { layer: 0, matrix: m }, GradKind::Natural)
            .expect("captured");
        let (d_in, d_out) = m.shape(model.arch());
        assert_eq!((g.rows, g.cols), (d_in, d_out));
        let fd = finite_difference(&model, &b, &w);
        for (i, (&a, &f)) in g.data.iter().zip(&fd).enumerate() {
            assert!(
                Tol::close(a as f64, f),
                "{m:?} entry {i}: captured {a}, finite difference {f}"
            );
        }
    }
    // The tied embedding: input lookup and head both see W = E0 + s·A_e·B_e.
    let e = model.base().embed().shallow_clone();
    let g = cap.get(GradTarget::Embed, GradKind::Natural).expect("captured");
    let fd = finite_difference(&model, &b, &e);
    for (i, (&a, &f)) in g.data.iter().zip(&fd).enumerate() {
        assert!(
            Tol::close(a as f64, f),
            "embedding entry {i}: captured {a}, finite difference {f}"
        );
    }
}

fn to_tensor(g: &lora::GradMatrix) -> Tensor {
    Tensor::from_slice(&g.data).view([g.rows as i64, g.cols as i64]).to_kind(Kind::Double)
}

/// With W = W0 + s·A·B and G = ∂L/∂W: ∂L/∂A = s·G·Bᵀ and ∂L/∂B = s·Aᵀ·G.
#[test]
fn factor_gradients_follow_the_chain_rule() {
    let (model, b) = tiny_trained();
    let cap = model.capture_gradients(&b, true, true).expect("capture");
    let tensors: std::collections::HashMap<String, Tensor> =
        model.adapter_tensors().into_iter().map(|(n, t)| (n, t.detach())).collect();
    let s = ScaleConvention::Lora.scale(4.0, 2);
    let mut targets: Vec<(GradTarget, String)> = LayerMatrix::ALL
        .iter()
        .map(|&m| (GradTarget::Layer { layer: 0, matrix: m }, format!("layers.0.{}", m.name())))
        .collect();
    targets.push((GradTarget::Embed, "embed".into()));
    for (target, prefix) in targets {
        let g = to_tensor(cap.get(target, GradKind::Natural).expect("natural"));
        let a = &tensors[&format!("{prefix}.lora_a")];
        let bm = &tensors[&format!("{prefix}.lora_b")];
        let ga = to_tensor(cap.get(target, GradKind::FactorA).expect("A"));
        let gb = to_tensor(cap.get(target, GradKind::FactorB).expect("B"));
        let ga_ref = g.mm(&bm.tr()) * s;
        let gb_ref = a.tr().mm(&g) * s;
        let scale = ga_ref.abs().max().double_value(&[]).max(gb_ref.abs().max().double_value(&[]));
        assert!(scale > 0.0, "{prefix}: zero gradients prove nothing");
        for (got, want, which) in [(&ga, &ga_ref, "A"), (&gb, &gb_ref, "B")] {
            let diff = crate::max_abs_diff(got, want);
            assert!(diff <= Tol::ABS + Tol::REL * scale, "{prefix} ∂{which}: max diff {diff}");
        }
    }
}

/// Capture does not disturb training: parameters' `.grad` stay as they were (undefined/zero).
#[test]
fn capture_leaves_parameters_untouched() {
    let (model, b) = tiny_trained();
    let before: Vec<Tensor> =
        model.adapter_tensors().iter().map(|(_, t)| t.detach().copy()).collect();
    let first = model.capture_gradients(&b, true, true).expect("capture");
    let second = model.capture_gradients(&b, true, true).expect("capture again");
    assert_eq!(first, second);
    for ((_, t), old) in model.adapter_tensors().iter().zip(&before) {
        assert_eq!(crate::max_abs_diff(t, old), 0.0);
    }
}
