//! The training loop: loss falls, warmup is a prefix schedule, NaN stops with the step, base
//! pretraining uses the same loop, and the analytic FLOP count.

use lora::{
    AdapterConfig, Architecture, BaseModel, LoraError, LoraModel, ScaleConvention, Trainable,
    Trainer, TrainerConfig, eval_loss, flop_count_train_step,
};
use proptest::prelude::*;
use tch::Device;

use crate::{batch, smoke_model};

#[test]
fn adaptation_lowers_the_loss_and_records_steps() {
    let model = smoke_model(4, 1);
    let train = batch(model.arch(), 4, 16, 1);
    let start = eval_loss(&model, std::slice::from_ref(&train)).expect("eval");
    let mut cfg = TrainerConfig::default();
    cfg.adamw.lr = 1e-2;
    let mut trainer = Trainer::new(model, cfg).expect("trainer");
    let records = trainer.train_steps(std::iter::repeat_n(&train, 10)).expect("train");
    assert_eq!(records.len(), 10);
    assert_eq!(records[0].tokens, 64);
    assert!((records[0].loss - start).abs() < 1e-6, "step 0 sees the start loss");
    assert!(records.iter().all(|r| r.seconds > 0.0));
    let end = eval_loss(trainer.model(), std::slice::from_ref(&train)).expect("eval");
    assert!(end < start - 0.1, "loss {start} → {end}");
}

#[test]
fn base_pretraining_uses_the_same_loop() {
    let arch = Architecture::smoke();
    let base = BaseModel::new(&arch, Device::Cpu, 2).expect("base");
    assert_eq!(
        base.trainable_tensors().iter().map(|(_, t)| t.numel()).sum::<usize>(),
        arch.base_params()
    );
    let b = batch(&arch, 4, 16, 3);
    let mut cfg = TrainerConfig::default();
    cfg.adamw.lr = 3e-3;
    cfg.adamw.weight_decay = 0.01;
    let mut trainer = Trainer::new(base, cfg).expect("trainer");
    let first = trainer.train_step(&b).expect("step").loss;
    let last = (0..10).map(|_| trainer.train_step(&b).expect("step").loss).last().expect("steps");
    assert!(last < first - 0.5, "pretraining loss {first} → {last}");
    // Freezing under adapters: only adapters remain trainable.
    let ad = AdapterConfig::uniform(&arch, 2, ScaleConvention::None, 1.0);
    let model = LoraModel::from_base(trainer.into_model(), &ad, 5).expect("adapters");
    assert_eq!(model.count_trainable(), arch.trainable_params(&[2, 2], 2));
}

#[test]
fn non_finite_loss_names_the_step() {
    let model = smoke_model(4, 1);
    let b = batch(model.arch(), 2, 8, 1);
    let mut cfg = TrainerConfig::default();
    cfg.adamw.lr = 1e30;
    cfg.grad_clip = None;
    let mut trainer = Trainer::new(model, cfg).expect("trainer");
    let mut outcome = Ok(());
    for _ in 0..5 {
        if let Err(e) = trainer.train_step(&b) {
            outcome = Err(e);
            break;
        }
    }
    match outcome {
        Err(LoraError::NonFiniteLoss { step, .. }) => {
            let msg = outcome.expect_err("err").to_string();
            assert!(step >= 1 && msg.contains(&format!("at step {step}")), "{msg}");
        }
        other => panic!("expected a non-finite loss error, got {other:?}"),
    }
}

#[test]
fn invalid_optimizer_settings_are_rejected() {
    let mut cfg = TrainerConfig::default();
    cfg.adamw.beta2 = 1.0;
    let err = Trainer::new(smoke_model(2, 1), cfg).expect_err("β₂ = 1");
    assert!(err.to_string().contains("0 ≤ β < 1"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The warmup schedule depends only on the step index: a short run is a prefix of a long one,
    /// it rises linearly, and it is constant after warmup.
    #[test]
    fn warmup_is_a_prefix_schedule(warmup in 0usize..20, t in 0usize..100, lr in 1e-5f64..1e-1) {
        let mut cfg = TrainerConfig::default();
        cfg.adamw.lr = lr;
        cfg.warmup_steps = warmup;
        let trainer = Trainer::new(smoke_model(1, 1), cfg).expect("trainer");
        let got = trainer.lr_at(t);
        prop_assert!(got > 0.0 && got <= lr * (1.0 + 1e-12));
        if t >= warmup { prop_assert_eq!(got, lr); } else if t + 1 < warmup { prop_assert!(trainer.lr_at(t + 1) > got); }
    }
}

/// The analytic count on a hand-sized model: V = 10, d = 2, one layer, d_ff = 4, K = 1, K_e = 1,
/// batch 1 × context 2 (N = 2).
/// Matrices (d_in×d_out): qkv 2×6, out 2×2, up 2×4, down 4×2: Σ d_in·d_out = 12+4+8+8 = 32,
/// Σ (d_in+d_out) = 8+4+6+6 = 24.
/// base 4·N·32 = 256; adapters 6·N·1·24 = 288; attention 12·1·2²·2 = 96;
/// head 4·N·2·10 = 160; head adapter 6·N·1·(2+10) = 144; embedding input adapter 6·N·1·2 = 24.
/// Total 256 + 288 + 96 + 160 + 144 + 24 = 968.
#[test]
fn flop_count_by_hand() {
    let arch = Architecture {
        vocab_size: 10,
        d_model: 2,
        n_layers: 1,
        n_heads: 1,
        d_ff: 4,
        max_context: 4,
    };
    assert_eq!(flop_count_train_step(&arch, &[1], 1, 1, 2), 968.0);
}
