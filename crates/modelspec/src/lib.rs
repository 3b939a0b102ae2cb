//! The model's shape and the exact trainable-parameter arithmetic (SPEC §1), with no libtorch.
//!
//! The architecture was recovered from Paper 84's parameter counts: a frozen pre-LayerNorm
//! transformer whose four matrices per layer (fused QKV, attention output, FFN up, FFN down) and
//! tied token embedding each carry a low-rank adapter `W0 + s·A·B`. A rank-K adapter on a
//! `d_in × d_out` matrix trains `K·(d_in + d_out)` parameters, so one unit of K in one layer of the
//! paper model costs (256+768)+(256+256)+(256+1024)+(1024+256) = 4,096 parameters and one unit of
//! embedding rank costs 15,007+256 = 15,263.
//!
//! The model crate (tch) builds exactly this; the policy crate uses the arithmetic to match
//! budgets; both agree because both read it from here.

use serde::{Deserialize, Serialize};

/// The frozen base transformer's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// Vocabulary size V (must equal the tokenizer's).
    pub vocab_size: usize,
    /// Model width d_model.
    pub d_model: usize,
    /// Number of transformer blocks.
    pub n_layers: usize,
    /// Attention heads; must divide `d_model`.
    pub n_heads: usize,
    /// FFN hidden width.
    pub d_ff: usize,
    /// Length of the learned position table: the longest context the model accepts.
    pub max_context: usize,
}

/// How the adapter update `A·B` is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleConvention {
    /// `s = α / K` (LoRA).
    Lora,
    /// `s = α / √K` (rank-stabilised LoRA).
    Rslora,
    /// `s = 1`.
    None,
}

impl ScaleConvention {
    /// The scale `s` for rank `k` and numerator `alpha`.
    pub fn scale(self, alpha: f64, k: usize) -> f64 {
        match self {
            ScaleConvention::Lora => alpha / k as f64,
            ScaleConvention::Rslora => alpha / (k as f64).sqrt(),
            ScaleConvention::None => 1.0,
        }
    }
}

/// Ranks and scaling of the adapters: one K per layer (shared by that layer's four matrices)
/// and one for the tied embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterConfig {
    /// Per-layer adapter rank K_l, one entry per transformer block.
    pub k_layers: Vec<usize>,
    /// Embedding adapter rank K_e (shared by the tied LM head).
    pub k_embed: usize,
    /// Scale convention.
    pub scale: ScaleConvention,
    /// The α in the scale convention (ignored by `none`).
    pub alpha: f64,
}

impl AdapterConfig {
    /// The same K on every layer and on the embedding.
    pub fn uniform(arch: &Architecture, k: usize, scale: ScaleConvention, alpha: f64) -> Self {
        AdapterConfig { k_layers: vec![k; arch.n_layers], k_embed: k, scale, alpha }
    }

    /// Mean of the per-layer ranks (the paper's "Mean K" column).
    pub fn mean_k(&self) -> f64 {
        if self.k_layers.is_empty() {
            return 0.0;
        }
        self.k_layers.iter().sum::<usize>() as f64 / self.k_layers.len() as f64
    }
}

/// The four adapted matrices of a block, in the order the model and every export use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerMatrix {
    /// Fused query/key/value projection, d_model → 3·d_model.
    Qkv,
    /// Attention output projection, d_model → d_model.
    AttnOut,
    /// FFN up projection, d_model → d_ff.
    FfnUp,
    /// FFN down projection, d_ff → d_model.
    FfnDown,
}

impl LayerMatrix {
    /// All four, in canonical order.
    pub const ALL: [LayerMatrix; 4] =
        [LayerMatrix::Qkv, LayerMatrix::AttnOut, LayerMatrix::FfnUp, LayerMatrix::FfnDown];

    /// Stable short name used in variable paths, records and tables.
    pub fn name(self) -> &'static str {
        match self {
            LayerMatrix::Qkv => "qkv",
            LayerMatrix::AttnOut => "attn_out",
            LayerMatrix::FfnUp => "ffn_up",
            LayerMatrix::FfnDown => "ffn_down",
        }
    }

    /// `(d_in, d_out)` of this matrix in `arch` (the weight maps x ∈ R^{d_in} to R^{d_out}).
    pub fn shape(self, arch: &Architecture) -> (usize, usize) {
        let d = arch.d_model;
        match self {
            LayerMatrix::Qkv => (d, 3 * d),
            LayerMatrix::AttnOut => (d, d),
            LayerMatrix::FfnUp => (d, arch.d_ff),
            LayerMatrix::FfnDown => (arch.d_ff, d),
        }
    }
}

/// Everything that can be wrong with an architecture or an adapter configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A size that must be positive is zero.
    #[error("`{field}` is 0; it must be at least 1")]
    Zero {
        /// The offending field.
        field: &'static str,
    },
    /// `n_heads` does not divide `d_model`.
    #[error(
        "n_heads = {n_heads} does not divide d_model = {d_model}; pick a head count that divides it"
    )]
    HeadsDoNotDivide {
        /// Heads.
        n_heads: usize,
        /// Width.
        d_model: usize,
    },
    /// Wrong number of per-layer ranks.
    #[error("k_layers has {got} entries but the model has {expected} layers; give one K per layer")]
    LayerCount {
        /// Entries given.
        got: usize,
        /// Layers in the model.
        expected: usize,
    },
    /// A rank of zero.
    #[error(
        "K = 0 for {what}; every adapter rank must be at least 1 (to leave a matrix unadapted, remove it from the study instead)"
    )]
    ZeroRank {
        /// Which adapter.
        what: String,
    },
    /// A rank larger than the matrix allows.
    #[error(
        "K = {k} for {what} exceeds min(d_in, d_out) = {max}; a rank-K adapter on a {d_in}×{d_out} matrix needs K ≤ {max}"
    )]
    RankTooLarge {
        /// Which adapter.
        what: String,
        /// Requested rank.
        k: usize,
        /// Largest allowed.
        max: usize,
        /// Input width.
        d_in: usize,
        /// Output width.
        d_out: usize,
    },
    /// α not finite or not positive.
    #[error("alpha = {alpha} must be a finite positive number")]
    BadAlpha {
        /// The value given.
        alpha: f64,
    },
}

impl Architecture {
    /// The paper's model (SPEC §1): V = 15,007, d = 256, 8 layers, FFN 1024. The head count and
    /// position-table length are not given by the paper; 4 heads (64 wide) and 512 positions are
    /// our choices and do not affect the trainable-parameter count.
    pub fn paper() -> Self {
        Architecture {
            vocab_size: 15_007,
            d_model: 256,
            n_layers: 8,
            n_heads: 4,
            d_ff: 1024,
            max_context: 512,
        }
    }

    /// A tiny model for tests and CI.
    pub fn smoke() -> Self {
        Architecture {
            vocab_size: 512,
            d_model: 32,
            n_layers: 2,
            n_heads: 2,
            d_ff: 64,
            max_context: 64,
        }
    }

    /// A preset by name (`paper`, `smoke`).
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "paper" => Some(Self::paper()),
            "smoke" => Some(Self::smoke()),
            _ => None,
        }
    }

    /// Checks the shape itself.
    pub fn validate(&self) -> Result<(), SpecError> {
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("d_ff", self.d_ff),
            ("max_context", self.max_context),
        ] {
            if v == 0 {
                return Err(SpecError::Zero { field });
            }
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(SpecError::HeadsDoNotDivide {
                n_heads: self.n_heads,
                d_model: self.d_model,
            });
        }
        Ok(())
    }

    /// Trainable parameters per unit of K in one layer: Σ over the four matrices of d_in + d_out.
    pub fn layer_unit_cost(&self) -> usize {
        LayerMatrix::ALL
            .iter()
            .map(|m| {
                let (i, o) = m.shape(self);
                i + o
            })
            .sum()
    }

    /// Trainable parameters per unit of embedding rank: V + d_model.
    pub fn embed_unit_cost(&self) -> usize {
        self.vocab_size + self.d_model
    }

    /// The largest rank any layer adapter may have: min over the four matrices of min(d_in, d_out).
    pub fn max_layer_k(&self) -> usize {
        LayerMatrix::ALL
            .iter()
            .map(|m| {
                let (i, o) = m.shape(self);
                i.min(o)
            })
            .min()
            .unwrap_or(0)
    }

    /// The largest embedding adapter rank: min(V, d_model).
    pub fn max_embed_k(&self) -> usize {
        self.vocab_size.min(self.d_model)
    }

    /// Parameters of the full-rank base model (what pretraining trains): embedding, positions,
    /// per block two LayerNorms and four biased linear maps, and the final LayerNorm.
    pub fn base_params(&self) -> usize {
        let d = self.d_model;
        let per_layer: usize = LayerMatrix::ALL
            .iter()
            .map(|m| {
                let (i, o) = m.shape(self);
                i * o + o
            })
            .sum::<usize>()
            + 2 * 2 * d;
        self.vocab_size * d + self.max_context * d + self.n_layers * per_layer + 2 * d
    }

    /// Exact trainable-parameter count of an adapter configuration: Σ_l cost·K_l + (V+d)·K_e.
    pub fn trainable_params(&self, k_layers: &[usize], k_embed: usize) -> usize {
        self.layer_unit_cost() * k_layers.iter().sum::<usize>() + self.embed_unit_cost() * k_embed
    }

    /// Validates an adapter configuration against this architecture.
    pub fn validate_adapter(&self, adapter: &AdapterConfig) -> Result<(), SpecError> {
        self.validate()?;
        if adapter.k_layers.len() != self.n_layers {
            return Err(SpecError::LayerCount {
                got: adapter.k_layers.len(),
                expected: self.n_layers,
            });
        }
        for (l, &k) in adapter.k_layers.iter().enumerate() {
            self.check_layer_k(l, k)?;
        }
        self.check_embed_k(adapter.k_embed)?;
        if !(adapter.alpha.is_finite() && adapter.alpha > 0.0) {
            return Err(SpecError::BadAlpha { alpha: adapter.alpha });
        }
        Ok(())
    }

    /// Checks one layer's rank against the four matrices of that layer.
    pub fn check_layer_k(&self, layer: usize, k: usize) -> Result<(), SpecError> {
        let what = format!("layer {layer}");
        if k == 0 {
            return Err(SpecError::ZeroRank { what });
        }
        for m in LayerMatrix::ALL {
            let (d_in, d_out) = m.shape(self);
            if k > d_in.min(d_out) {
                return Err(SpecError::RankTooLarge {
                    what: format!("layer {layer} {}", m.name()),
                    k,
                    max: d_in.min(d_out),
                    d_in,
                    d_out,
                });
            }
        }
        Ok(())
    }

    /// Checks the embedding adapter's rank.
    pub fn check_embed_k(&self, k: usize) -> Result<(), SpecError> {
        if k == 0 {
            return Err(SpecError::ZeroRank { what: "the embedding".into() });
        }
        let max = self.max_embed_k();
        if k > max {
            return Err(SpecError::RankTooLarge {
                what: "the embedding".into(),
                k,
                max,
                d_in: self.vocab_size,
                d_out: self.d_model,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The five parameter counts of Paper 84's table (SPEC §1), exactly.
    #[test]
    fn paper_table_param_counts() {
        let a = Architecture::paper();
        assert_eq!(a.layer_unit_cost(), 4096);
        assert_eq!(a.embed_unit_cost(), 15_263);
        for (k, expected) in [(8, 384_248), (16, 768_496), (32, 1_536_992), (64, 3_073_984)] {
            assert_eq!(a.trainable_params(&[k; 8], k), expected, "uniform_{k}");
        }
        // Adaptive: K from round(ER / 0.62) of Paper 83's per-layer ER, K_e = 32.
        // Σ K_l = 260; 4096·260 + 15,263·32 = 1,064,960 + 488,416 = 1,553,376.
        assert_eq!(a.trainable_params(&[32, 33, 28, 36, 33, 34, 33, 31], 32), 1_553_376);
    }

    /// The prose's "1,536 per K per layer" counts attention only: (256+768)+(256+256) = 1,536.
    #[test]
    fn prose_counts_attention_only() {
        let a = Architecture::paper();
        let attn: usize = [LayerMatrix::Qkv, LayerMatrix::AttnOut]
            .iter()
            .map(|m| {
                let (i, o) = m.shape(&a);
                i + o
            })
            .sum();
        assert_eq!(attn, 1536);
        assert_ne!(attn, a.layer_unit_cost());
    }

    #[test]
    fn bad_configs_are_rejected_with_named_problems() {
        let a = Architecture::paper();
        let mut ad = AdapterConfig::uniform(&a, 8, ScaleConvention::Lora, 16.0);
        ad.k_layers[3] = 0;
        assert!(matches!(a.validate_adapter(&ad), Err(SpecError::ZeroRank { .. })));
        ad.k_layers[3] = 257;
        let err = a.validate_adapter(&ad).expect_err("K above 256 must fail");
        assert!(err.to_string().contains("exceeds min(d_in, d_out) = 256"), "{err}");
        ad.k_layers = vec![8; 7];
        assert!(matches!(
            a.validate_adapter(&ad),
            Err(SpecError::LayerCount { got: 7, expected: 8 })
        ));
        let mut b = a.clone();
        b.n_heads = 3;
        assert!(matches!(b.validate(), Err(SpecError::HeadsDoNotDivide { .. })));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = r#"{"vocab_size":1,"d_model":4,"n_layers":1,"n_heads":1,"d_ff":4,"max_context":4,"typo":1}"#;
        let err = serde_json::from_str::<Architecture>(text).expect_err("unknown key must fail");
        assert!(err.to_string().contains("typo"), "{err}");
    }

    #[test]
    fn scale_conventions() {
        assert_eq!(ScaleConvention::Lora.scale(16.0, 8), 2.0);
        assert_eq!(ScaleConvention::Rslora.scale(16.0, 64), 2.0);
        assert_eq!(ScaleConvention::None.scale(16.0, 64), 1.0);
    }
}
