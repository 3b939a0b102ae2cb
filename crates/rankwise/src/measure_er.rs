//! `rankwise measure-er`: per-layer natural and factor gradient ER of a checkpoint on the fixed
//! measurement batch (SPEC §4), as a table or JSON.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lora::DeviceChoice;
use pipeline::spec::DataSource;
use pipeline::{DataSettings, ProfileRef, Study};
use runner::measure_checkpoint;

use crate::reproduce::default_experiments;

/// Arguments of `rankwise measure-er`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    rankwise measure-er --checkpoint runs/k32/adapters.safetensors\n  \
    rankwise measure-er --checkpoint runs/base/base.safetensors --profile paper --json")]
pub struct MeasureErArgs {
    /// A checkpoint written by `rankwise train` (base.safetensors or adapters.safetensors).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Profile giving the data settings (context, measurement batch, corpus).
    #[arg(long, default_value = "smoke")]
    pub profile: String,
    /// Your own corpus instead of the profile's.
    #[arg(long, num_args = 1..)]
    pub corpus: Option<Vec<PathBuf>>,
    /// Effective-rank convention: sigma (default), sigma2 or softmax.
    #[arg(long, default_value = "sigma")]
    pub convention: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Device: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Folder of the experiment specs (default: this source tree's `experiments/`).
    #[arg(long)]
    pub experiments: Option<PathBuf>,
}

/// Measures and prints.
pub fn run(args: MeasureErArgs) -> Result<()> {
    let experiments = args.experiments.clone().unwrap_or_else(default_experiments);
    let study = Study::load(&experiments, &ProfileRef::parse(&args.profile))
        .context("loading the profile")?;
    let p = &study.profile;
    let device = lora::pick_device(args.device.parse::<DeviceChoice>().context("--device")?)
        .context("--device")?;
    let convention = runner::parse_convention(&args.convention)
        .map_err(|e| anyhow::anyhow!("--convention: {e}"))?;
    let data = DataSettings {
        source: args.corpus.clone().map_or_else(|| p.source.clone(), DataSource::Paths),
        vocab_size: p.vocab_size,
        adapt_fraction: p.adapt_fraction,
        eval_sequences: p.eval_sequences,
        measurement_sequences: p.measurement_sequences,
        context: p.train.context,
    };
    let m = measure_checkpoint(
        &args.checkpoint,
        &corpus::default_cache_dir(),
        &data,
        convention,
        device,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .with_context(|| format!("measuring {}", args.checkpoint.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(());
    }
    println!(
        "Gradient effective rank ({} convention) on {} measurement tokens of {}",
        m.convention,
        m.tokens,
        args.checkpoint.display()
    );
    println!(
        "{:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "layer", "qkv", "attn_out", "ffn_up", "ffn_down", "natural", "factor A", "factor B"
    );
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| format!("{x:.2}"));
    for l in &m.layers {
        let n = |i: usize| l.natural.get(i).map_or_else(|| "-".into(), |x| format!("{x:.2}"));
        println!(
            "{:>5} {:>8} {:>8} {:>8} {:>8} {:>8.2} {:>9} {:>9}",
            l.layer,
            n(0),
            n(1),
            n(2),
            n(3),
            l.natural_mean,
            opt(l.factor_a_mean),
            opt(l.factor_b_mean)
        );
    }
    let mean = m.layers.iter().map(|l| l.natural_mean).sum::<f64>() / m.layers.len().max(1) as f64;
    println!("mean natural ER over layers: {mean:.2}");
    if !m.has_adapters {
        println!("(a base checkpoint: factor ER needs adapters; train some with `rankwise train`)");
    }
    Ok(())
}
