//! Training and evaluation (SPEC §5): one loop for pretraining the base and for adaptation.
//!
//! The optimizer is AdamW written here (PyTorch's `AdamW` update: decoupled weight decay, bias
//! correction) over named tensors, because rank surgery replaces adapter tensors mid-run and tch's
//! optimizer cannot drop or resize variables. Optimizer state is kept per tensor name; a tensor
//! replaced by surgery starts afresh: zero first and second moments and a step count of zero (its
//! first update is then a plain sign-like Adam step). Other tensors keep their state.
//!
//! The learning rate is constant after an optional linear warmup of `warmup_steps` steps
//! (`lr·(t+1)/warmup` at 0-based step t); it never depends on the total number of steps, so a
//! shorter budget is a prefix of a longer run (SPEC §5, Paper 82).

use std::collections::HashMap;
use std::time::Instant;

use modelspec::{Architecture, LayerMatrix};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::model::{BaseModel, LoraModel};
use crate::{LoraError, Result};

/// A model the [`Trainer`] can train.
pub trait Trainable {
    /// Mean next-token loss on a `batch × (context + 1)` batch, with a graph for backward.
    fn loss(&self, batch: &Tensor) -> Result<Tensor>;
    /// The tensors to update, with stable names (shallow handles sharing storage and gradients).
    fn trainable_tensors(&self) -> Vec<(String, Tensor)>;
}

impl Trainable for BaseModel {
    fn loss(&self, batch: &Tensor) -> Result<Tensor> {
        BaseModel::loss(self, batch)
    }
    fn trainable_tensors(&self) -> Vec<(String, Tensor)> {
        self.named_tensors()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .map(|(n, t)| (n, t.shallow_clone()))
            .collect()
    }
}

impl Trainable for LoraModel {
    fn loss(&self, batch: &Tensor) -> Result<Tensor> {
        LoraModel::loss(self, batch)
    }
    fn trainable_tensors(&self) -> Vec<(String, Tensor)> {
        self.base
            .named_tensors()
            .into_iter()
            .chain(self.adapter_tensors())
            .filter(|(_, t)| t.requires_grad())
            .map(|(n, t)| (n, t.shallow_clone()))
            .collect()
    }
}

/// AdamW hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε added to √v̂.
    pub eps: f64,
    /// Decoupled weight decay (applied to tensors with two or more dimensions only, i.e. not to
    /// biases or LayerNorm parameters).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// Training-loop settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerConfig {
    /// Optimizer.
    pub adamw: AdamWConfig,
    /// Linear warmup length in steps (0: none).
    pub warmup_steps: usize,
    /// Clip the global gradient L2 norm to this value (`None`: no clipping).
    pub grad_clip: Option<f64>,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig { adamw: AdamWConfig::default(), warmup_steps: 0, grad_clip: Some(1.0) }
    }
}

/// What one training step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0-based step index.
    pub step: usize,
    /// Training loss on the step's batch (before the update).
    pub loss: f64,
    /// Tokens predicted in the step (batch × context).
    pub tokens: usize,
    /// Wall-clock seconds for forward, backward and update.
    pub seconds: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

struct Moments {
    m: Tensor,
    v: Tensor,
    step: i32,
}

/// Trains a [`Trainable`] model with AdamW; owns the model.
pub struct Trainer<M> {
    model: M,
    config: TrainerConfig,
    state: HashMap<String, Moments>,
    step: usize,
}

impl<M> std::fmt::Debug for Trainer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer").field("config", &self.config).field("step", &self.step).finish()
    }
}

impl<M: Trainable> Trainer<M> {
    /// A trainer at step 0 with empty optimizer state.
    pub fn new(model: M, config: TrainerConfig) -> Result<Self> {
        let a = &config.adamw;
        let ok = a.lr.is_finite()
            && a.lr > 0.0
            && (0.0..1.0).contains(&a.beta1)
            && (0.0..1.0).contains(&a.beta2)
            && a.eps > 0.0
            && a.weight_decay >= 0.0
            && config.grad_clip.is_none_or(|c| c > 0.0);
        if !ok {
            return Err(LoraError::BadBatch(format!(
                "invalid optimizer settings {config:?}: need lr > 0, 0 ≤ β < 1, eps > 0, weight_decay ≥ 0, grad_clip > 0"
            )));
        }
        Ok(Trainer { model, config, state: HashMap::new(), step: 0 })
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Gives the model back.
    pub fn into_model(self) -> M {
        self.model
    }

    /// Steps taken so far.
    pub fn step_index(&self) -> usize {
        self.step
    }

    /// The configuration.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Learning rate at 0-based step `t`.
    pub fn lr_at(&self, t: usize) -> f64 {
        let w = self.config.warmup_steps;
        if w == 0 || t >= w {
            self.config.adamw.lr
        } else {
            self.config.adamw.lr * (t + 1) as f64 / w as f64
        }
    }

    /// Drops the optimizer state of the named tensors (they restart with zero moments).
    pub fn forget(&mut self, names: &[String]) {
        for n in names {
            self.state.remove(n);
        }
    }

    /// One step on `batch`: forward, backward, clip, AdamW update.
    pub fn train_step(&mut self, batch: &Tensor) -> Result<StepRecord> {
        let start = Instant::now();
        let step = self.step;
        let mut params = self.model.trainable_tensors();
        let loss = self.model.loss(batch)?;
        let tokens = (batch.size()[0] * (batch.size()[1] - 1)) as usize;
        let loss_value = loss.double_value(&[]);
        if !loss_value.is_finite() {
            return Err(LoraError::NonFiniteLoss { step, value: loss_value });
        }
        for (_, p) in params.iter_mut() {
            p.zero_grad();
        }
        loss.backward();
        let grads: Vec<Tensor> = params.iter().map(|(_, p)| p.grad()).collect();
        let grad_norm = tch::no_grad(|| {
            let sq: Vec<Tensor> = grads
                .iter()
                .filter(|g| g.defined())
                .map(|g| g.square().sum(Kind::Double))
                .collect();
            if sq.is_empty() {
                0.0
            } else {
                Tensor::stack(&sq, 0).sum(Kind::Double).sqrt().double_value(&[])
            }
        });
        if !grad_norm.is_finite() {
            return Err(LoraError::NonFiniteLoss { step, value: grad_norm });
        }
        let clip = match self.config.grad_clip {
            Some(c) if grad_norm > c => c / (grad_norm + 1e-6),
            _ => 1.0,
        };
        let lr = self.lr_at(step);
        let cfg = self.config.adamw.clone();
        tch::no_grad(|| {
            for ((name, p), g) in params.iter().zip(&grads) {
                if !g.defined() {
                    continue;
                }
                let g = if clip < 1.0 { g * clip } else { g.shallow_clone() };
                let st = self.state.entry(name.clone()).or_insert_with(|| Moments {
                    m: p.zeros_like(),
                    v: p.zeros_like(),
                    step: 0,
                });
                if st.m.size() != p.size() {
                    // Replaced by surgery without `forget`: restart this tensor's state.
                    *st = Moments { m: p.zeros_like(), v: p.zeros_like(), step: 0 };
                }
                st.step += 1;
                let bc1 = 1.0 - cfg.beta1.powi(st.step);
                let bc2 = 1.0 - cfg.beta2.powi(st.step);
                let mut p = p.shallow_clone();
                if cfg.weight_decay > 0.0 && p.dim() >= 2 {
                    let _ = p.f_mul_scalar_(1.0 - lr * cfg.weight_decay);
                }
                let _ = st.m.f_mul_scalar_(cfg.beta1);
                let _ = st.m.f_add_(&(&g * (1.0 - cfg.beta1)));
                let _ = st.v.f_mul_scalar_(cfg.beta2);
                let _ = st.v.f_add_(&(g.square() * (1.0 - cfg.beta2)));
                let denom = (st.v.sqrt() / bc2.sqrt()) + cfg.eps;
                let update = (&st.m / denom) * (lr / bc1);
                let _ = p.f_sub_(&update);
            }
        });
        self.step += 1;
        Ok(StepRecord {
            step,
            loss: loss_value,
            tokens,
            seconds: start.elapsed().as_secs_f64(),
            lr,
            grad_norm,
        })
    }

    /// Runs one step per batch, returning every record.
    pub fn train_steps<'a>(
        &mut self,
        batches: impl IntoIterator<Item = &'a Tensor>,
    ) -> Result<Vec<StepRecord>> {
        batches.into_iter().map(|b| self.train_step(b)).collect()
    }
}

impl Trainer<LoraModel> {
    /// Sets layer `layer`'s rank (grow or shrink, see [`LoraModel::set_layer_k`]) and resets the
    /// optimizer state of that layer's adapter tensors.
    pub fn set_layer_k(&mut self, layer: usize, k: usize) -> Result<()> {
        let names = self.model.set_layer_k(layer, k)?;
        self.forget(&names);
        Ok(())
    }

    /// Sets the embedding adapter's rank and resets its optimizer state.
    pub fn set_embed_k(&mut self, k: usize) -> Result<()> {
        let names = self.model.set_embed_k(k)?;
        self.forget(&names);
        Ok(())
    }
}

/// Token-weighted mean loss over evaluation batches, under `no_grad`.
pub fn eval_loss<M: Trainable>(model: &M, batches: &[Tensor]) -> Result<f64> {
    if batches.is_empty() {
        return Err(LoraError::BadBatch(
            "the evaluation set is empty; give at least one batch".into(),
        ));
    }
    tch::no_grad(|| {
        let mut total = 0.0;
        let mut tokens = 0usize;
        for b in batches {
            let n = (b.size().first().copied().unwrap_or(0)
                * (b.size().get(1).copied().unwrap_or(1) - 1)) as usize;
            total += model.loss(b)?.double_value(&[]) * n as f64;
            tokens += n;
        }
        Ok(total / tokens as f64)
    })
}

/// Analytic FLOP count of one adapter training step (forward + backward, frozen base) of
/// `batch × context` tokens with per-layer ranks `k_layers` and embedding rank `k_embed`.
///
/// With N = batch·context tokens, one multiply-add = 2 FLOPs:
/// - base matrices: forward 2·N·Σ d_in·d_out per layer; backward needs only activation gradients
///   (W0 is frozen) — another 2·N·Σ d_in·d_out. Total 4·N·Σ d_in·d_out per layer.
/// - adapters: forward (x·A)·B = 2·N·K·(d_in + d_out); backward computes ∂A, ∂B and the
///   activation gradient through both factors = 2× forward. Total 6·N·K·(d_in + d_out).
/// - causal attention: Q·Kᵀ and P·V cost 2·2·batch·context²·d forward if counted in full
///   (libtorch's CPU kernel does not skip the masked half in all paths, so we count the full square
///   as work done); backward is 2× forward (dQ, dK, dP, dV). Total 3·4·batch·context²·d per layer.
/// - tied LM head: h·E0ᵀ 2·N·d·V forward, activation gradient 2·N·d·V backward (no weight gradient).
///   Adapter part s·(h·B_eᵀ)·A_eᵀ: forward 2·N·K_e·(d + V), backward 2× forward.
/// - embedding adapter input side: gather then 2·N·K_e·d forward, 2× backward.
///
/// Elementwise work (LayerNorm, GELU, softmax, residuals, the optimizer) is not counted.
pub fn flop_count_train_step(
    arch: &Architecture,
    k_layers: &[usize],
    k_embed: usize,
    batch: usize,
    context: usize,
) -> f64 {
    let n = (batch * context) as f64;
    let (d, v) = (arch.d_model as f64, arch.vocab_size as f64);
    let mut total = 0.0;
    for &k in k_layers {
        for m in LayerMatrix::ALL {
            let (i, o) = m.shape(arch);
            let (i, o) = (i as f64, o as f64);
            total += 4.0 * n * i * o;
            total += 6.0 * n * k as f64 * (i + o);
        }
        total += 3.0 * 4.0 * batch as f64 * (context as f64).powi(2) * d;
    }
    let ke = k_embed as f64;
    total += 4.0 * n * d * v;
    total += 6.0 * n * ke * (d + v);
    total += 6.0 * n * ke * d;
    total
}
