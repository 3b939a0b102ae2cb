//! The paper's low-rank adapter transformer on tch (SPEC §1, §2, §5): the only crate that uses
//! libtorch.
//!
//! # What is here
//! - [`BaseModel`]: the full-rank base transformer recovered in SPEC §1 (pre-LayerNorm, learned
//!   positions, causal attention through `scaled_dot_product_attention`, GELU FFN, final
//!   LayerNorm, LM head tied to the token embedding). Trainable for pretraining
//!   ([`BaseModel::set_trainable`]), frozen under adapters.
//! - [`LoraModel`]: the frozen base plus rank-K adapters `W0 + s·A·B` on the four matrices of every
//!   layer (per-layer K) and a rank-K_e adapter on the tied embedding. `x·A·B` is computed as
//!   `(x·A)·B`; the tied head computes `h·E0ᵀ + s·(h·B_eᵀ)·A_eᵀ` and never forms the V×d product.
//! - [`Trainer`]: AdamW written here over whatever tensors the model reports as trainable, constant
//!   learning rate with an optional linear warmup that does not depend on the total step count,
//!   gradient-norm clipping, per-step [`StepRecord`]s, NaN/Inf detection; [`eval_loss`] under
//!   `no_grad`. Pretraining the base uses the same loop.
//! - Rank surgery ([`LoraModel::set_layer_k`], [`LoraModel::set_embed_k`], or the
//!   [`Trainer`] wrappers that also reset optimizer state): grow appends random columns to A and
//!   zero rows to B (the function is unchanged); shrink keeps the best rank-K' approximation of
//!   `s·A·B` from an SVD.
//! - [`LoraModel::capture_gradients`]: natural (full-weight) and factor gradients on a
//!   measurement batch, exported as plain row-major `f32` [`GradMatrix`] values (SPEC §4).
//! - Checkpoints ([`BaseModel::save`], [`LoraModel::save`], [`load_base`], [`load_lora`]):
//!   safetensors with the configuration as JSON beside, written atomically.
//! - [`pick_device`] (the one place that asks for CUDA) and [`set_threads`].
//!
//! # Batches
//! A batch is an `Int64` tensor of shape `batch × (context + 1)` holding token ids: the model reads
//! columns `0..context` and predicts columns `1..=context`. [`batch_from_tokens`] builds one from a
//! plain `&[i64]`, so this crate does not depend on the corpus crate.
//!
//! # Performance (issue 3, item 10; `cargo run -p lora --bin bench_train -- --threads 1`)
//! Analytic FLOPs per step at the paper preset, batch 8 × context 128 ([`flop_count_train_step`]):
//! 47.1 GFLOP at K=8 and 63.7 GFLOP at K=64. The adapters themselves are not cheap at d = 256:
//! per token and layer they cost 6·K·4,096 FLOPs against 4·786,432 for the frozen base, so K=64
//! needs 35% more arithmetic than K=8 even with the head kept in K_e-wide factors; "K=64 ≤ 10%
//! slower" can only hold where the step is bound by something other than FLOPs. The loss
//! evaluates the tied head and cross-entropy in row chunks under 16 MiB, because 61 MB logits
//! buffers are fresh mmaps on every allocation (glibc's mmap ceiling is 32 MiB) and their page
//! faults cost more than the matmul. On a CPU shared with other jobs use one thread: libgomp's
//! spinning threads collapse under oversubscription (measured 3–4× slower with 2 threads).
//!
//! Measured (release build, idle 2-core AMD EPYC with AVX and FMA but no AVX2, 1 thread, MKL
//! from the libtorch 2.13 wheel; three runs, medians of 10–30 steps): 2048³ matmul peak 62–84
//! GFLOP/s; K=8 1.00–1.16 s/step (0.53–0.56 of peak), K=64 1.13–1.32 s/step (0.61–0.67),
//! K=64 +13% to +23% over K=8; peak RSS 564–569 MiB. `perf` puts 78% of a K=8 step inside MKL's
//! sgemm, so the GEMMs themselves run at about 0.65–0.7 of the 2048³ rate at this model's shapes
//! (inner dimensions 256 and 1,024); the rest is softmax, GELU, LayerNorm, copies and page faults.
//! Two shapes are slow in MKL and are the known levers left (not taken, because they change the
//! last bits of every loss and so every run's content id): the tied head's forward `h·E0ᵀ` at
//! V = 15,007 runs at 46 GFLOP/s against 71–76 at V = 15,008 (an odd leading dimension; padding
//! E0 with one zero row and a −∞ logit would save about 64 ms per step), and the embedding
//! adapter's `∂A_e` at K=8 runs at 5–13 GFLOP/s (about 20–40 ms per step).
//!
//! # Determinism
//! Every random number (base init, adapter init, the columns added by growing) comes from a
//! ChaCha8 stream seeded from the model seed and the tensor's identity, so the same seed gives the
//! same weights on any device; `tch::manual_seed` is set as well for anything libtorch draws.
//! Nothing in training is random (no dropout), so on CPU the same seed gives the same losses.

mod checkpoint;
mod device;
mod error;
mod grads;
mod init;
mod model;
mod surgery;
mod train;

pub use checkpoint::{CheckpointKind, CheckpointMeta, load_base, load_lora, meta_path};
pub use device::{DeviceChoice, pick_device, set_threads};
pub use error::LoraError;
pub use grads::{GradKind, GradMatrix, GradTarget, GradientCapture};
pub use model::{BaseModel, LoraModel, batch_from_tokens, check_batch_shape};
pub use modelspec::{AdapterConfig, Architecture, LayerMatrix, ScaleConvention};
pub use train::{
    AdamWConfig, StepRecord, Trainable, Trainer, TrainerConfig, eval_loss, flop_count_train_step,
};

/// Result with this crate's error.
pub type Result<T, E = LoraError> = std::result::Result<T, E>;
