//! `rankwise reproduce`: the whole series (SPEC §5) as one cached, resumable pipeline, then the
//! report (SPEC §6). The orchestrator decides the device, threads and files here and passes them
//! down; the pipeline plans and schedules, the runner trains and measures.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use lora::DeviceChoice;
use pipeline::{PipelineOptions, ProfileRef, Study, run_pipeline};
use runner::{PolicyRule, TorchExecutor, device_name};

/// Arguments of `rankwise reproduce`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    rankwise reproduce                        # the paper profile, all of Papers 81–84\n  \
    rankwise reproduce --profile smoke        # the tiny profile the tests use (~1 min on CPU)\n  \
    rankwise reproduce --papers 83,84 --seeds 1\n  \
    rankwise reproduce --profile my.toml --out results/mine --device cuda --jobs 4")]
pub struct ReproduceArgs {
    /// Profile: `paper`, `smoke`, or the path of a profile TOML.
    #[arg(long, default_value = "paper")]
    pub profile: String,
    /// Papers to run, comma-separated (81–85; 85 is the proposed follow-up, SPEC §7).
    #[arg(long, value_delimiter = ',', default_value = "81,82,83,84")]
    pub papers: Vec<u32>,
    /// Seeds per run (default: the profile's).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Device: auto (CUDA if present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Runs at a time (default 1 on CPU, where one run uses every thread; 4 on CUDA).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Total CPU threads, shared among the jobs (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Store folder (default results/<profile>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder of the experiment specs (default: the `experiments/` of this source tree).
    #[arg(long)]
    pub experiments: Option<PathBuf>,
    /// Redo every run even when its record exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bars (plain lines only).
    #[arg(long)]
    pub no_progress: bool,
    /// Only plan and print the runs; train nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The experiments folder of this source tree.
pub fn default_experiments() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

/// Runs the pipeline and writes the report.
pub fn run(args: ReproduceArgs) -> Result<()> {
    let experiments = args.experiments.clone().unwrap_or_else(default_experiments);
    let profile = ProfileRef::parse(&args.profile);
    let study = Study::load(&experiments, &profile)
        .with_context(|| format!("loading the experiment specs from {}", experiments.display()))?;
    let choice: DeviceChoice = args.device.parse().context("--device")?;
    let device = lora::pick_device(choice).context("--device")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(if device.is_cuda() { 4 } else { 1 });
    if jobs == 0 {
        bail!("--jobs 0: run at least one job");
    }
    let store =
        args.out.clone().unwrap_or_else(|| PathBuf::from("results").join(&study.profile.name));
    let opts = PipelineOptions {
        store: store.clone(),
        papers: args.papers.clone(),
        seeds: args.seeds,
        jobs,
        force: args.force,
        show_progress: !args.no_progress,
        device: device_name(device),
        threads: args.threads.unwrap_or(cores),
    };
    let seeds = args.seeds.unwrap_or(study.profile.seeds);
    eprintln!(
        "rankwise: profile {} ({}), papers {:?}, seeds {seeds}, device {}, jobs {jobs}, threads {}, store {}",
        study.profile.name,
        study.profile.file.display(),
        opts.papers,
        opts.device,
        opts.threads,
        store.display()
    );
    let exec = TorchExecutor::new(corpus::default_cache_dir());
    if args.dry_run {
        let plan = pipeline::plan_only(&study, &opts, &exec).context("planning")?;
        println!("{plan}");
        return Ok(());
    }
    let outcome = run_pipeline(&study, &opts, &exec, &PolicyRule).context("the pipeline failed")?;
    let m = &outcome.manifest;
    eprintln!(
        "rankwise: {} runs computed, {} reused; {} steps trained now; {} steps in the plan for {} requested ({:.0}% saved by sharing); {:.1} s",
        outcome.runs_computed,
        outcome.runs_reused,
        outcome.steps_trained_now,
        m.steps_trained,
        m.steps_requested,
        100.0 * (1.0 - m.steps_trained as f64 / m.steps_requested.max(1) as f64),
        outcome.wall_seconds
    );
    for (stage, secs) in &m.stage_seconds {
        eprintln!("  stage {stage:>5}: {secs:>8.1} s");
    }
    let out = store.join("report");
    let summary = report::write_report(&store, &out).context("writing the report")?;
    println!("{}", pipeline::summarize(&store)?);
    println!("Claims:");
    for (id, verdict) in &summary.verdicts {
        println!("  {id:<24} {}", verdict.word());
    }
    println!("Report: {}", summary.index.display());
    Ok(())
}
