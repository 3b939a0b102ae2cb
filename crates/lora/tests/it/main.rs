//! Integration tests of the model crate (run with `cargo test -p lora`; no environment variables
//! needed: the test binary finds libtorch through the rpath set in `.cargo/config.toml`).

mod checkpoint;
mod errors;
mod grads;
mod params;
mod smoke;
mod surgery;
mod train;

use lora::{AdapterConfig, Architecture, LoraModel, ScaleConvention, Trainer, TrainerConfig};
use tch::{Device, Tensor};

/// The one numeric tolerance of these tests: |a − b| ≤ ABS + REL·|b|.
pub struct Tol;
impl Tol {
    pub const ABS: f64 = 1e-5;
    pub const REL: f64 = 1e-4;
    pub fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= Self::ABS + Self::REL * b.abs()
    }
}

/// Largest |a − b| over two tensors.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Deterministic pseudo-random token batch (an LCG, so tests need no RNG crate).
pub fn batch(arch: &Architecture, batch: usize, context: usize, seed: u64) -> Tensor {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let tokens: Vec<i64> = (0..batch * (context + 1))
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) % arch.vocab_size as u64) as i64
        })
        .collect();
    lora::batch_from_tokens(&tokens, batch, context, Device::Cpu).expect("valid batch")
}

/// The smoke model with uniform rank `k`, LoRA scaling α = 2k (s = 2).
pub fn smoke_model(k: usize, seed: u64) -> LoraModel {
    let arch = Architecture::smoke();
    let ad = AdapterConfig::uniform(&arch, k, ScaleConvention::Lora, 2.0 * k as f64);
    LoraModel::new(&arch, &ad, Device::Cpu, seed).expect("smoke model")
}

/// Trains `model` for `steps` steps on one batch so that every B is non-zero.
pub fn trained(model: LoraModel, steps: usize) -> LoraModel {
    let arch = model.arch().clone();
    let b = batch(&arch, 2, 16, 7);
    let mut cfg = TrainerConfig::default();
    cfg.adamw.lr = 1e-2;
    let mut trainer = Trainer::new(model, cfg).expect("trainer");
    for _ in 0..steps {
        trainer.train_step(&b).expect("step");
    }
    trainer.into_model()
}
