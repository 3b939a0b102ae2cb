//! `rankwise measure-er`: natural and factor gradient ER of a checkpoint (SPEC §4, Paper 83) on
//! the fixed measurement batch of a corpus, outside the pipeline.

use std::path::Path;

use corpus::{BatchSpec, measurement_batch};
use effrank::Convention;
use lora::{AdapterConfig, CheckpointKind, CheckpointMeta, LoraModel, ScaleConvention};
use pipeline::{DataSettings, ExecError, Executor};
use records::{ErRecord, GradKind};
use serde::Serialize;
use tch::Device;

use crate::{MEASUREMENT_SEED, TorchExecutor, er_records, err, to_tensor};

/// Per-layer summary of a checkpoint's gradient ranks.
#[derive(Debug, Clone, Serialize)]
pub struct LayerEr {
    /// Layer index.
    pub layer: usize,
    /// Natural ER of qkv, attn_out, ffn_up, ffn_down.
    pub natural: Vec<f64>,
    /// Their mean: the layer's natural ER.
    pub natural_mean: f64,
    /// Mean factor ER of ∂L/∂A over the four matrices (None for a base checkpoint).
    pub factor_a_mean: Option<f64>,
    /// Mean factor ER of ∂L/∂B (None for a base checkpoint; 0 while B = 0 makes ∂L/∂A vanish).
    pub factor_b_mean: Option<f64>,
}

/// What `measure_checkpoint` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointEr {
    /// The convention of every ER.
    pub convention: String,
    /// Tokens in the measurement batch (an upper bound on every gradient's rank).
    pub tokens: usize,
    /// Whether the checkpoint had adapters (else factor ER is not measured).
    pub has_adapters: bool,
    /// Per layer.
    pub layers: Vec<LayerEr>,
    /// Every matrix's measures.
    pub records: Vec<ErRecord>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Loads `checkpoint` (base or adapted), prepares `data` with the checkpoint's vocabulary, and
/// measures every gradient on the fixed measurement batch of the validation split.
pub fn measure_checkpoint(
    checkpoint: &Path,
    cache: &Path,
    data: &DataSettings,
    convention: Convention,
    device: Device,
) -> Result<CheckpointEr, ExecError> {
    let meta_file = lora::meta_path(checkpoint);
    let text = std::fs::read_to_string(&meta_file).map_err(|e| {
        err(
            format!(
                "{} (the JSON beside the checkpoint; is {} a rankwise checkpoint?)",
                meta_file.display(),
                checkpoint.display()
            ),
            e,
        )
    })?;
    let meta: CheckpointMeta =
        serde_json::from_str(&text).map_err(|e| err(meta_file.display(), e))?;
    let has_adapters = meta.kind == CheckpointKind::Lora;
    let model = if has_adapters {
        lora::load_lora(checkpoint, device).map_err(|e| err("loading the checkpoint", e))?
    } else {
        // Natural gradients do not depend on the adapters; rank-1 adapters with B = 0 leave the
        // function unchanged and let the same capture code run.
        let base = lora::load_base(checkpoint, device).map_err(|e| err("loading the base", e))?;
        let arch = meta.arch.clone();
        let adapter = AdapterConfig::uniform(&arch, 1, ScaleConvention::None, 1.0);
        LoraModel::from_base(base, &adapter, 0).map_err(|e| err("adapters", e))?
    };
    let exec = TorchExecutor::new(cache.to_path_buf());
    let settings = DataSettings { vocab_size: meta.arch.vocab_size, ..data.clone() };
    exec.prepare_data(&settings)?;
    let prepared = exec.data()?;
    let batch = measurement_batch(
        &prepared.prepared.validation,
        BatchSpec { rows: settings.measurement_sequences, context: settings.context },
        MEASUREMENT_SEED,
    )
    .map_err(|e| err("measurement batch", e))?;
    let cap = model
        .capture_gradients(&to_tensor(&batch, device)?, true, has_adapters)
        .map_err(|e| err("gradient capture", e))?;
    let records = er_records(&cap, 0, convention)?;
    let layers = (0..meta.arch.n_layers)
        .map(|layer| {
            let of = |kind: GradKind| -> Vec<f64> {
                records
                    .iter()
                    .filter(|r| r.layer == Some(layer) && r.kind == kind)
                    .map(|r| r.effective_rank)
                    .collect()
            };
            let natural = of(GradKind::Natural);
            LayerEr {
                layer,
                natural_mean: mean(&natural).unwrap_or(0.0),
                natural,
                factor_a_mean: mean(&of(GradKind::FactorA)),
                factor_b_mean: mean(&of(GradKind::FactorB)),
            }
        })
        .collect();
    Ok(CheckpointEr {
        convention: convention.name().to_string(),
        tokens: cap.tokens,
        has_adapters,
        layers,
        records,
    })
}
