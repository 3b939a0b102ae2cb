//! `rankwise train`: one run outside the pipeline, on any corpus — base pretraining or an adapter
//! run on a base checkpoint — with the same training code the pipeline uses (the runner). Writes
//! `record.json` (a run record, as in a store) and the checkpoint into `--out`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use lora::DeviceChoice;
use modelspec::AdapterConfig;
use pipeline::request::{AdaptSpec, BaseSpec, DataSpec, MeasureSpec};
use pipeline::spec::DataSource;
use pipeline::{
    AdaptRequest, BaseRequest, DataSettings, Executor, ProfileRef, RankSchedule, RunContext, Study,
    TRAINING_CODE_VERSION,
};
use records::{DataRef, TrainSettings};
use runner::{TorchExecutor, device_name};

use crate::reproduce::default_experiments;

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Full-rank pretraining of the base model on the pretrain split.
    Base,
    /// Adapters on a frozen base checkpoint, on the adapt split.
    Adapt,
}

/// Arguments of `rankwise train`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    rankwise train --profile smoke --kind base --steps 200 --out runs/base\n  \
    rankwise train --profile smoke --base runs/base/base.safetensors --k 8 --steps 40 --out runs/k8\n  \
    rankwise train --profile paper --corpus my_texts/ --kind base --out runs/mybase")]
pub struct TrainArgs {
    /// Profile giving the model, optimiser and data settings: `paper`, `smoke` or a TOML path.
    #[arg(long, default_value = "smoke")]
    pub profile: String,
    /// Base pretraining or adaptation.
    #[arg(long, value_enum, default_value = "adapt")]
    pub kind: Kind,
    /// Base checkpoint (`base.safetensors` written by `--kind base`), for `--kind adapt`.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Uniform adapter rank (layers and embedding).
    #[arg(long, conflicts_with = "k_per_layer")]
    pub k: Option<usize>,
    /// Per-layer adapter ranks, comma-separated (with --k-embed).
    #[arg(long, value_delimiter = ',')]
    pub k_per_layer: Option<Vec<usize>>,
    /// Embedding adapter rank (with --k-per-layer; default: the --k value).
    #[arg(long)]
    pub k_embed: Option<usize>,
    /// Training steps (default: the profile's base budget for base runs, 40 for adapters).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Your own corpus: UTF-8 .txt/.md files or folders (default: the profile's corpus).
    #[arg(long, num_args = 1..)]
    pub corpus: Option<Vec<PathBuf>>,
    /// Output folder (record.json and the checkpoint).
    #[arg(long)]
    pub out: PathBuf,
    /// Device: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder of the experiment specs (default: this source tree's `experiments/`).
    #[arg(long)]
    pub experiments: Option<PathBuf>,
}

fn eval_steps(steps: usize, interval: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=steps).step_by(interval.max(1)).collect();
    if v.last() != Some(&steps) {
        v.push(steps);
    }
    v
}

/// Trains one run.
pub fn run(args: TrainArgs) -> Result<()> {
    let experiments = args.experiments.clone().unwrap_or_else(default_experiments);
    let study = Study::load(&experiments, &ProfileRef::parse(&args.profile))
        .context("loading the profile")?;
    let profile = &study.profile;
    let device = lora::pick_device(args.device.parse::<DeviceChoice>().context("--device")?)
        .context("--device")?;
    let ctx = RunContext {
        device: device_name(device),
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let source = match &args.corpus {
        Some(paths) => DataSource::Paths(paths.clone()),
        None => profile.source.clone(),
    };
    let exec = TorchExecutor::new(corpus::default_cache_dir()).with_adapter_checkpoints(true);
    let data = exec
        .prepare_data(&DataSettings {
            source: source.clone(),
            vocab_size: profile.vocab_size,
            adapt_fraction: profile.adapt_fraction,
            eval_sequences: profile.eval_sequences,
            measurement_sequences: profile.measurement_sequences,
            context: profile.train.context,
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("preparing the data")?;
    let data_spec = |split: &str| DataSpec {
        data: DataRef {
            corpus: data.corpus.clone(),
            corpus_hash: data.corpus_hash.clone(),
            tokenizer_hash: data.tokenizer_hash.clone(),
            split: split.to_string(),
        },
        adapt_fraction: profile.adapt_fraction,
        eval_sequences: profile.eval_sequences,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let progress = crate::progress::LineProgress::new(args.steps.unwrap_or(0));
    let record = match args.kind {
        Kind::Base => {
            if args.k.is_some() || args.k_per_layer.is_some() || args.base.is_some() {
                bail!(
                    "--k, --k-per-layer and --base are for --kind adapt; a base run has no adapters"
                );
            }
            let steps = args.steps.unwrap_or(profile.base_steps);
            let spec = BaseSpec {
                code_version: TRAINING_CODE_VERSION.into(),
                arch: profile.arch.clone(),
                train: TrainSettings {
                    lr: study.base.lr,
                    warmup_steps: study.base.warmup_steps,
                    weight_decay: study.base.weight_decay,
                    ..profile.train.clone()
                },
                steps,
                eval_steps: eval_steps(steps, profile.base_eval_interval),
                seed: args.seed,
                data: data_spec("pretrain"),
            };
            let req = BaseRequest {
                run_id: pipeline::request::content_id(&spec),
                label: "base".into(),
                spec,
                source,
                checkpoint_dir: args.out.clone(),
            };
            exec.run_base(&req, &ctx, &progress).map_err(|e| anyhow::anyhow!("{e}"))?
        }
        Kind::Adapt => {
            let Some(base) = args.base.clone() else {
                bail!(
                    "--kind adapt needs --base PATH/base.safetensors (train one with --kind base)"
                );
            };
            let arch = &profile.arch;
            let (k_layers, k_embed) = match (&args.k, &args.k_per_layer) {
                (Some(k), None) => (vec![*k; arch.n_layers], args.k_embed.unwrap_or(*k)),
                (None, Some(ks)) => {
                    (ks.clone(), args.k_embed.context("--k-per-layer needs --k-embed")?)
                }
                _ => bail!("give the adapter ranks: --k K, or --k-per-layer a,b,… --k-embed E"),
            };
            let adapter =
                AdapterConfig { k_layers, k_embed, scale: profile.scale, alpha: profile.alpha };
            arch.validate_adapter(&adapter).context("adapter ranks")?;
            let steps = args.steps.unwrap_or(40);
            let base_dir = base.parent().map(PathBuf::from).unwrap_or_default();
            if base.file_name().is_some_and(|n| n != runner::BASE_CHECKPOINT) {
                bail!(
                    "--base must name a `{}` written by `rankwise train --kind base` (got {})",
                    runner::BASE_CHECKPOINT,
                    base.display()
                );
            }
            let spec = AdaptSpec {
                code_version: TRAINING_CODE_VERSION.into(),
                arch: arch.clone(),
                adapter,
                schedule: RankSchedule::Fixed,
                train: profile.train.clone(),
                steps,
                eval_steps: eval_steps(steps, profile.eval_interval),
                measure: MeasureSpec {
                    er_steps: Vec::new(),
                    convention: profile.er_convention.clone(),
                    measurement_sequences: profile.measurement_sequences,
                },
                probes: Vec::new(),
                seed: args.seed,
                data: data_spec("adapt"),
                base_run_id: base.display().to_string(),
                derived_from: None,
            };
            let req = AdaptRequest {
                run_id: pipeline::request::content_id(&spec),
                label: "train".into(),
                spec,
                source,
                base_checkpoint: base_dir,
                checkpoint_dir: args.out.clone(),
            };
            exec.run_adapt(&req, &ctx, &progress).map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    progress.finish();
    let path = args.out.join("record.json");
    records::write_json_atomic(&path, &record)?;
    let first = record.evals.first().map(|e| e.loss).unwrap_or(f64::NAN);
    let last = record.final_loss().unwrap_or(f64::NAN);
    println!(
        "train: {} steps, eval loss {first:.4} → {last:.4}, {} trainable params, {:.1} s",
        record.steps.len(),
        record.trainable_params,
        record.env.wall_seconds
    );
    println!("train: record {}, checkpoint in {}", path.display(), args.out.display());
    Ok(())
}
