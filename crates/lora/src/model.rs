//! The base transformer and the adapted model (SPEC §1).
//!
//! Weights are stored `d_in × d_out` (a layer maps `x ↦ x·W + b`), the orientation in which
//! [`LayerMatrix::shape`] and every exported gradient are stated. The token embedding `E0` is
//! `V × d` and doubles as the LM head (`logits = h·E0ᵀ`).
//!
//! Adapters: `W = W0 + s·A·B` with `A: d_in × K` drawn from Kaiming-uniform `U(−1/√d_in, 1/√d_in)`
//! (what `torch.nn.Linear`'s default gives a `d_in`-input layer, and what PEFT uses for LoRA's A)
//! and `B: K × d_out` zero, so every scheme starts at the base model's loss. The embedding
//! adapter's `A_e: V × K_e` is drawn from N(0, 1) (its "input" is a one-hot row, so fan-in is 1;
//! PEFT likewise draws its random embedding factor from N(0, 1)) and `B_e: K_e × d` is zero.
//! `s` follows [`AdapterConfig::scale`] for each adapter's own K.

use modelspec::{AdapterConfig, Architecture, LayerMatrix};
use tch::{Device, Kind, Tensor};

use crate::init;
use crate::{LoraError, Result};

pub(crate) const LN_EPS: f64 = 1e-5;
/// Standard deviation of the base weights at initialisation (GPT-2's choice).
const BASE_INIT_STD: f64 = 0.02;
/// Largest logits chunk in the loss (see `chunked_loss`): below glibc's 32 MiB mmap ceiling.
const HEAD_CHUNK_BYTES: i64 = 16 << 20;

/// Index of a layer matrix in the canonical order of [`LayerMatrix::ALL`].
pub(crate) fn mat_index(m: LayerMatrix) -> usize {
    match m {
        LayerMatrix::Qkv => 0,
        LayerMatrix::AttnOut => 1,
        LayerMatrix::FfnUp => 2,
        LayerMatrix::FfnDown => 3,
    }
}

/// A biased linear map `x ↦ x·weight + bias`, `weight: d_in × d_out`.
#[derive(Debug)]
pub(crate) struct Linear {
    pub(crate) weight: Tensor,
    pub(crate) bias: Tensor,
}

/// LayerNorm's affine parameters.
#[derive(Debug)]
pub(crate) struct Norm {
    pub(crate) weight: Tensor,
    pub(crate) bias: Tensor,
}

/// One pre-LayerNorm block.
#[derive(Debug)]
pub(crate) struct BaseLayer {
    pub(crate) ln1: Norm,
    pub(crate) ln2: Norm,
    /// The four matrices in [`LayerMatrix::ALL`] order.
    pub(crate) lin: [Linear; 4],
}

/// One low-rank adapter `s·A·B`.
#[derive(Debug)]
pub(crate) struct Adapter {
    pub(crate) a: Tensor,
    pub(crate) b: Tensor,
    pub(crate) scale: f64,
}

/// Zero-valued full-size perturbations whose gradients are the natural gradients (see `grads`).
pub(crate) struct Probes {
    pub(crate) layers: Vec<[Tensor; 4]>,
    pub(crate) embed: Tensor,
}

/// The full-rank base transformer (SPEC §1).
#[derive(Debug)]
pub struct BaseModel {
    pub(crate) arch: Architecture,
    pub(crate) device: Device,
    pub(crate) kind: Kind,
    pub(crate) seed: u64,
    pub(crate) embed: Tensor,
    pub(crate) pos: Tensor,
    pub(crate) layers: Vec<BaseLayer>,
    pub(crate) ln_f: Norm,
    pub(crate) trainable: bool,
}

fn check_arch(arch: &Architecture) -> Result<()> {
    arch.validate()?;
    Ok(())
}

/// Checks a batch's shape against the architecture and returns `(batch, context)`.
pub fn check_batch_shape(arch: &Architecture, batch: &Tensor) -> Result<(usize, usize)> {
    if batch.kind() != Kind::Int64 {
        return Err(LoraError::BadBatch(format!(
            "token ids must be Int64, got {:?}; build batches with batch_from_tokens",
            batch.kind()
        )));
    }
    let size = batch.size();
    if size.len() != 2 || size[1] < 2 || size[0] < 1 {
        return Err(LoraError::BadBatch(format!(
            "shape {size:?}; a batch is batch × (context + 1) with batch ≥ 1 and context ≥ 1"
        )));
    }
    let context = (size[1] - 1) as usize;
    if context > arch.max_context {
        return Err(LoraError::ContextTooLong { context, max_context: arch.max_context });
    }
    let lo = batch.min().int64_value(&[]);
    let hi = batch.max().int64_value(&[]);
    if lo < 0 || hi >= arch.vocab_size as i64 {
        return Err(LoraError::BadBatch(format!(
            "token ids span {lo}..={hi} but the vocabulary is 0..{}; check that the tokenizer and the model agree",
            arch.vocab_size
        )));
    }
    Ok((size[0] as usize, context))
}

/// Builds a `batch × (context + 1)` Int64 batch on `device` from row-major token ids.
pub fn batch_from_tokens(
    tokens: &[i64],
    batch: usize,
    context: usize,
    device: Device,
) -> Result<Tensor> {
    let width = context + 1;
    if batch == 0 || context == 0 || tokens.len() != batch * width {
        return Err(LoraError::BadBatch(format!(
            "{} token ids cannot form a batch of {batch} × (context {context} + 1) = {}",
            tokens.len(),
            batch * width
        )));
    }
    Ok(Tensor::from_slice(tokens).view([batch as i64, width as i64]).to_device(device))
}

impl BaseModel {
    /// A randomly initialised base (weights N(0, 0.02²), the residual output projections scaled by
    /// 1/√(2·layers) as in GPT-2, biases zero, LayerNorms identity), trainable.
    pub fn new(arch: &Architecture, device: Device, seed: u64) -> Result<Self> {
        check_arch(arch)?;
        tch::manual_seed(seed as i64);
        let kind = Kind::Float;
        let d = arch.d_model as i64;
        let normal = |name: &str, shape: &[i64], std: f64| {
            let n = shape.iter().product::<i64>() as usize;
            let mut rng = init::stream(seed, init::name_id(name));
            init::tensor(&init::normal(&mut rng, n, std), shape, device, kind)
        };
        let zeros = |n: i64| Tensor::zeros([n], (kind, device));
        let ones = |n: i64| Tensor::ones([n], (kind, device));
        let resid_std = BASE_INIT_STD / (2.0 * arch.n_layers as f64).sqrt();
        let layers = (0..arch.n_layers)
            .map(|l| {
                let lin = LayerMatrix::ALL.map(|m| {
                    let (i, o) = m.shape(arch);
                    let std = match m {
                        LayerMatrix::AttnOut | LayerMatrix::FfnDown => resid_std,
                        _ => BASE_INIT_STD,
                    };
                    Linear {
                        weight: normal(
                            &format!("layers.{l}.{}.weight", m.name()),
                            &[i as i64, o as i64],
                            std,
                        ),
                        bias: zeros(o as i64),
                    }
                });
                BaseLayer {
                    ln1: Norm { weight: ones(d), bias: zeros(d) },
                    ln2: Norm { weight: ones(d), bias: zeros(d) },
                    lin,
                }
            })
            .collect();
        let mut model = BaseModel {
            arch: arch.clone(),
            device,
            kind,
            seed,
            embed: normal("embed", &[arch.vocab_size as i64, d], BASE_INIT_STD),
            pos: normal("pos", &[arch.max_context as i64, d], BASE_INIT_STD),
            layers,
            ln_f: Norm { weight: ones(d), bias: zeros(d) },
            trainable: false,
        };
        model.set_trainable(true);
        Ok(model)
    }

    /// The architecture.
    pub fn arch(&self) -> &Architecture {
        &self.arch
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The seed the weights were drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Errors unless the tokenizer's vocabulary size equals the model's.
    pub fn check_vocab(&self, tokenizer_vocab: usize) -> Result<()> {
        if tokenizer_vocab != self.arch.vocab_size {
            return Err(LoraError::VocabMismatch {
                model: self.arch.vocab_size,
                tokenizer: tokenizer_vocab,
            });
        }
        Ok(())
    }

    /// Errors unless `context` fits the position table.
    pub fn check_context(&self, context: usize) -> Result<()> {
        if context == 0 || context > self.arch.max_context {
            return Err(LoraError::ContextTooLong { context, max_context: self.arch.max_context });
        }
        Ok(())
    }

    /// All weights with their stable names, in a fixed order.
    pub fn named_tensors(&self) -> Vec<(String, &Tensor)> {
        let mut out = vec![("embed".to_string(), &self.embed), ("pos".to_string(), &self.pos)];
        for (l, layer) in self.layers.iter().enumerate() {
            out.push((format!("layers.{l}.ln1.weight"), &layer.ln1.weight));
            out.push((format!("layers.{l}.ln1.bias"), &layer.ln1.bias));
            out.push((format!("layers.{l}.ln2.weight"), &layer.ln2.weight));
            out.push((format!("layers.{l}.ln2.bias"), &layer.ln2.bias));
            for m in LayerMatrix::ALL {
                let lin = &layer.lin[mat_index(m)];
                out.push((format!("layers.{l}.{}.weight", m.name()), &lin.weight));
                out.push((format!("layers.{l}.{}.bias", m.name()), &lin.bias));
            }
        }
        out.push(("ln_f.weight".to_string(), &self.ln_f.weight));
        out.push(("ln_f.bias".to_string(), &self.ln_f.bias));
        out
    }

    /// Makes every base weight trainable (pretraining) or frozen (under adapters).
    pub fn set_trainable(&mut self, trainable: bool) {
        for (_, t) in self.named_tensors() {
            // `set_requires_grad` flips the flag on the shared tensor; the returned handle is
            // the same tensor.
            let _ = t.set_requires_grad(trainable);
        }
        self.trainable = trainable;
    }

    /// The token embedding `E0` (`V × d`, also the tied LM head).
    pub fn embed(&self) -> &Tensor {
        &self.embed
    }

    /// The base weight `W0` (`d_in × d_out`) of a layer matrix, or `None` for a missing layer.
    pub fn layer_weight(&self, layer: usize, m: LayerMatrix) -> Option<&Tensor> {
        self.layers.get(layer).map(|l| &l.lin[mat_index(m)].weight)
    }

    /// Whether the base weights are trainable.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Number of base parameters (equals [`Architecture::base_params`]).
    pub fn num_params(&self) -> usize {
        self.named_tensors().iter().map(|(_, t)| t.numel()).sum()
    }

    /// Converts every weight to `kind` (e.g. `Kind::Double` for finite-difference tests).
    pub fn set_kind(&mut self, kind: Kind) {
        let trainable = self.trainable;
        let conv = |t: &mut Tensor| *t = t.to_kind(kind).detach();
        conv(&mut self.embed);
        conv(&mut self.pos);
        for layer in &mut self.layers {
            for n in [&mut layer.ln1, &mut layer.ln2] {
                conv(&mut n.weight);
                conv(&mut n.bias);
            }
            for lin in &mut layer.lin {
                conv(&mut lin.weight);
                conv(&mut lin.bias);
            }
        }
        conv(&mut self.ln_f.weight);
        conv(&mut self.ln_f.bias);
        self.kind = kind;
        self.set_trainable(trainable);
    }

    /// Logits `(batch·context) × V` for Int64 inputs `batch × context` (no target column).
    pub fn logits(&self, inputs: &Tensor) -> Tensor {
        self.logits_impl(inputs, None, None)
    }

    /// Mean next-token cross-entropy over a `batch × (context + 1)` batch.
    pub fn loss(&self, batch: &Tensor) -> Result<Tensor> {
        self.loss_impl(batch, None, None)
    }

    pub(crate) fn loss_impl(
        &self,
        batch: &Tensor,
        adapters: Option<(&[[Adapter; 4]], &Adapter)>,
        probes: Option<&Probes>,
    ) -> Result<Tensor> {
        let (_, context) = check_batch_shape(&self.arch, batch)?;
        let t = context as i64;
        let inputs = batch.narrow(1, 0, t);
        let targets = batch.narrow(1, 1, t).reshape([-1]);
        let h = self.hidden(&inputs, adapters, probes);
        // ATen's cross_entropy (log-softmax + NLL) in the logits' own dtype; tch's
        // `cross_entropy_for_logits` would cast to f32, which breaks f64 gradient checks.
        Ok(self.chunked_loss(&h, &targets, adapters, probes))
    }

    /// `x·W0 + b (+ s·(x·A)·B) (+ x·Δ)`, with `x` 2-D.
    fn linear(
        x: &Tensor,
        lin: &Linear,
        adapter: Option<&Adapter>,
        probe: Option<&Tensor>,
    ) -> Tensor {
        let mut y = lin.bias.addmm(x, &lin.weight);
        if let Some(ad) = adapter {
            // Cheap order: (x·A) is tokens × K; scaling it costs tokens·K, not d_in·d_out.
            let xa = x.mm(&ad.a) * ad.scale;
            // In place: addmm does not save its output for backward.
            let _ = y.addmm_(&xa, &ad.b);
        }
        if let Some(p) = probe {
            let _ = y.addmm_(x, p);
        }
        y
    }

    /// Final LayerNorm output `(batch·context) × d` for Int64 inputs `batch × context`.
    // `x = x + f(x)` must stay out of place: tch's `+=` is in place, and autograd saved `x` for
    // the LayerNorm backward.
    #[allow(clippy::assign_op_pattern)]
    fn hidden(
        &self,
        inputs: &Tensor,
        adapters: Option<(&[[Adapter; 4]], &Adapter)>,
        probes: Option<&Probes>,
    ) -> Tensor {
        let size = inputs.size();
        let (b, t) = (size[0], size[1]);
        let d = self.arch.d_model as i64;
        let heads = self.arch.n_heads as i64;
        let ids = inputs.reshape([-1]);
        // Token embedding: E0 rows, plus s·A_e[ids]·B_e (a gather of K_e-wide rows, then K_e × d).
        let mut x = self.embed.index_select(0, &ids);
        if let Some((_, emb)) = adapters {
            let ea = emb.a.index_select(0, &ids) * emb.scale;
            x = x.addmm(&ea, &emb.b);
        }
        if let Some(p) = probes {
            x = x + p.embed.index_select(0, &ids);
        }
        let x = x.view([b, t, d]) + self.pos.narrow(0, 0, t);
        let mut x = x.view([b * t, d]);
        for (l, layer) in self.layers.iter().enumerate() {
            let ad = |m: LayerMatrix| adapters.map(|(la, _)| &la[l][mat_index(m)]);
            let pr = |m: LayerMatrix| probes.map(|p| &p.layers[l][mat_index(m)]);
            let h = x.layer_norm([d], Some(&layer.ln1.weight), Some(&layer.ln1.bias), LN_EPS, true);
            let qkv = Self::linear(&h, &layer.lin[0], ad(LayerMatrix::Qkv), pr(LayerMatrix::Qkv));
            let qkv = qkv.view([b, t, 3, heads, d / heads]).permute([2, 0, 3, 1, 4]);
            let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
            let att = Tensor::scaled_dot_product_attention::<Tensor>(
                &q, &k, &v, None, 0.0, true, None, false,
            );
            let att = att.transpose(1, 2).reshape([b * t, d]);
            x = x + Self::linear(
                &att,
                &layer.lin[1],
                ad(LayerMatrix::AttnOut),
                pr(LayerMatrix::AttnOut),
            );
            let h = x.layer_norm([d], Some(&layer.ln2.weight), Some(&layer.ln2.bias), LN_EPS, true);
            let u = Self::linear(&h, &layer.lin[2], ad(LayerMatrix::FfnUp), pr(LayerMatrix::FfnUp))
                .gelu("none");
            x = x + Self::linear(
                &u,
                &layer.lin[3],
                ad(LayerMatrix::FfnDown),
                pr(LayerMatrix::FfnDown),
            );
        }
        x.layer_norm([d], Some(&self.ln_f.weight), Some(&self.ln_f.bias), LN_EPS, true)
    }

    /// Tied head on final hidden rows `h`: `h·E0ᵀ + s·(h·B_eᵀ)·A_eᵀ (+ h·Δ_eᵀ)` — through the
    /// K_e-wide factors, never the V×d product.
    fn head(
        &self,
        h: &Tensor,
        adapters: Option<(&[[Adapter; 4]], &Adapter)>,
        probes: Option<&Probes>,
    ) -> Tensor {
        let mut logits = h.mm(&self.embed.tr());
        if let Some((_, emb)) = adapters {
            let hb = h.mm(&emb.b.tr()) * emb.scale;
            // In place: mm does not save its output for backward.
            let _ = logits.addmm_(&hb, &emb.a.tr());
        }
        if let Some(p) = probes {
            let _ = logits.addmm_(h, &p.embed.tr());
        }
        logits
    }

    pub(crate) fn logits_impl(
        &self,
        inputs: &Tensor,
        adapters: Option<(&[[Adapter; 4]], &Adapter)>,
        probes: Option<&Probes>,
    ) -> Tensor {
        let h = self.hidden(inputs, adapters, probes);
        self.head(&h, adapters, probes)
    }

    /// Summed cross-entropy of the head over `h` against `targets`, in row chunks whose logits
    /// stay under [`HEAD_CHUNK_BYTES`]. Why: a full batch's logits (1024 × 15,007 floats = 61 MB)
    /// exceed glibc's largest mmap threshold (32 MiB), so every such buffer — logits,
    /// log-probabilities and their gradients — would be a fresh mmap whose page faults cost more
    /// than the matmul; chunks under the threshold are recycled from the heap.
    fn chunked_loss(
        &self,
        h: &Tensor,
        targets: &Tensor,
        adapters: Option<(&[[Adapter; 4]], &Adapter)>,
        probes: Option<&Probes>,
    ) -> Tensor {
        let n = h.size()[0];
        let row_bytes = (self.arch.vocab_size * self.kind.elt_size_in_bytes()) as i64;
        let rows = (HEAD_CHUNK_BYTES / row_bytes.max(1)).max(1);
        let rows = if rows >= 64 { rows / 64 * 64 } else { rows };
        let mut total: Option<Tensor> = None;
        let mut start = 0;
        while start < n {
            let len = rows.min(n - start);
            let logits = self.head(&h.narrow(0, start, len), adapters, probes);
            let ce = logits.cross_entropy_loss::<Tensor>(
                &targets.narrow(0, start, len),
                None,
                tch::Reduction::Sum,
                -100,
                0.0,
            );
            total = Some(match total {
                Some(t) => t + ce,
                None => ce,
            });
            start += len;
        }
        match total {
            Some(t) => t / n as f64,
            None => Tensor::zeros([], (self.kind, self.device)),
        }
    }
}

/// The frozen base plus low-rank adapters on every layer matrix and the tied embedding.
#[derive(Debug)]
pub struct LoraModel {
    pub(crate) base: BaseModel,
    pub(crate) config: AdapterConfig,
    /// `layers[l][mat_index(m)]`.
    pub(crate) layers: Vec<[Adapter; 4]>,
    pub(crate) embed: Adapter,
    pub(crate) seed: u64,
    /// How many surgeries have drawn random numbers (chooses fresh streams for grown columns).
    pub(crate) surgeries: u64,
}

/// Name of an adapter factor tensor.
pub(crate) fn adapter_name(layer: Option<(usize, LayerMatrix)>, factor: char) -> String {
    match layer {
        Some((l, m)) => format!("layers.{l}.{}.lora_{factor}", m.name()),
        None => format!("embed.lora_{factor}"),
    }
}

impl LoraModel {
    /// A random base (seed `seed`) under fresh adapters (seed `seed` too, different streams).
    pub fn new(
        arch: &Architecture,
        adapter: &AdapterConfig,
        device: Device,
        seed: u64,
    ) -> Result<Self> {
        arch.validate_adapter(adapter)?;
        let base = BaseModel::new(arch, device, seed)?;
        Self::from_base(base, adapter, seed)
    }

    /// Freezes `base` and puts fresh adapters (A random, B zero) on it, drawn from `seed`.
    pub fn from_base(mut base: BaseModel, adapter: &AdapterConfig, seed: u64) -> Result<Self> {
        base.arch.validate_adapter(adapter)?;
        tch::manual_seed(seed as i64);
        base.set_trainable(false);
        let arch = base.arch.clone();
        let (device, kind) = (base.device, base.kind);
        let layers = adapter
            .k_layers
            .iter()
            .enumerate()
            .map(|(l, &k)| {
                LayerMatrix::ALL.map(|m| {
                    let (i, o) = m.shape(&arch);
                    let mut rng =
                        init::stream(seed, init::name_id(&adapter_name(Some((l, m)), 'a')));
                    let a = init::uniform(&mut rng, i * k, 1.0 / (i as f64).sqrt());
                    Adapter {
                        a: init::tensor(&a, &[i as i64, k as i64], device, kind)
                            .set_requires_grad(true),
                        b: Tensor::zeros([k as i64, o as i64], (kind, device))
                            .set_requires_grad(true),
                        scale: adapter.scale.scale(adapter.alpha, k),
                    }
                })
            })
            .collect();
        let ke = adapter.k_embed;
        let (v, d) = (arch.vocab_size, arch.d_model);
        let mut rng = init::stream(seed, init::name_id(&adapter_name(None, 'a')));
        let a_e = init::normal(&mut rng, v * ke, 1.0);
        let embed = Adapter {
            a: init::tensor(&a_e, &[v as i64, ke as i64], device, kind).set_requires_grad(true),
            b: Tensor::zeros([ke as i64, d as i64], (kind, device)).set_requires_grad(true),
            scale: adapter.scale.scale(adapter.alpha, ke),
        };
        Ok(LoraModel { base, config: adapter.clone(), layers, embed, seed, surgeries: 0 })
    }

    /// Drops the adapters and returns the (still frozen) base.
    pub fn into_base(self) -> BaseModel {
        self.base
    }

    /// The frozen base.
    pub fn base(&self) -> &BaseModel {
        &self.base
    }

    /// The architecture.
    pub fn arch(&self) -> &Architecture {
        &self.base.arch
    }

    /// The current adapter configuration (ranks change with surgery).
    pub fn adapter_config(&self) -> &AdapterConfig {
        &self.config
    }

    /// The seed the adapters were drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The device.
    pub fn device(&self) -> Device {
        self.base.device
    }

    /// Adapter factors with their names: per layer and matrix `lora_a`, `lora_b`, then the
    /// embedding's.
    pub fn adapter_tensors(&self) -> Vec<(String, &Tensor)> {
        let mut out = Vec::new();
        for (l, mats) in self.layers.iter().enumerate() {
            for m in LayerMatrix::ALL {
                let ad = &mats[mat_index(m)];
                out.push((adapter_name(Some((l, m)), 'a'), &ad.a));
                out.push((adapter_name(Some((l, m)), 'b'), &ad.b));
            }
        }
        out.push((adapter_name(None, 'a'), &self.embed.a));
        out.push((adapter_name(None, 'b'), &self.embed.b));
        out
    }

    /// Number of elements in tensors that require gradients, counted from the tensors themselves
    /// (base and adapters): equals [`Architecture::trainable_params`] when the base is frozen.
    pub fn count_trainable(&self) -> usize {
        self.base
            .named_tensors()
            .into_iter()
            .chain(self.adapter_tensors())
            .filter(|(_, t)| t.requires_grad())
            .map(|(_, t)| t.numel())
            .sum()
    }

    /// Logits `(batch·context) × V` for Int64 inputs `batch × context`.
    pub fn logits(&self, inputs: &Tensor) -> Tensor {
        self.base.logits_impl(inputs, Some((&self.layers, &self.embed)), None)
    }

    /// Mean next-token cross-entropy over a `batch × (context + 1)` batch.
    pub fn loss(&self, batch: &Tensor) -> Result<Tensor> {
        self.base.loss_impl(batch, Some((&self.layers, &self.embed)), None)
    }

    /// The effective adapter update `s·A·B` of a layer matrix (`d_in × d_out`), for tests and
    /// analysis; never used in training.
    pub fn delta(&self, layer: usize, m: LayerMatrix) -> Result<Tensor> {
        let ad = self.layers.get(layer).ok_or_else(|| {
            LoraError::Surgery(format!(
                "layer {layer} does not exist (the model has {})",
                self.layers.len()
            ))
        })?;
        let ad = &ad[mat_index(m)];
        Ok(tch::no_grad(|| ad.a.mm(&ad.b) * ad.scale))
    }

    /// The effective embedding update `s·A_e·B_e` (`V × d`), for tests and analysis.
    pub fn embed_delta(&self) -> Tensor {
        tch::no_grad(|| self.embed.a.mm(&self.embed.b) * self.embed.scale)
    }
}
