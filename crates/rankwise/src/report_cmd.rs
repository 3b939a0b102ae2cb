//! `rankwise report`: render (or check) the report of a run store (SPEC §6), without training.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

/// Arguments of `rankwise report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    rankwise report --store results/paper                 # writes results/paper/report/\n  \
    rankwise report --store docs/results/paper/store --check docs/results/paper/report")]
pub struct ReportArgs {
    /// The run store (holding manifest.json and runs/).
    #[arg(long)]
    pub store: PathBuf,
    /// Where to write the report (default <store>/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Instead of writing, compare the re-rendered report with the one in this folder and fail
    /// on any difference.
    #[arg(long)]
    pub check: Option<PathBuf>,
}

/// Renders or checks.
pub fn run(args: ReportArgs) -> Result<()> {
    if let Some(committed) = &args.check {
        let diffs = report::check(&args.store, committed)
            .with_context(|| format!("re-rendering the report of {}", args.store.display()))?;
        if diffs.is_empty() {
            println!("report: {} matches its records", committed.display());
            return Ok(());
        }
        for d in &diffs {
            eprintln!("  {d}");
        }
        bail!(
            "{} differs from the report re-rendered from {} in {} place(s); re-render it with \
             `rankwise report --store {} --out {}` and review the diff",
            committed.display(),
            args.store.display(),
            diffs.len(),
            args.store.display(),
            committed.display()
        );
    }
    let out = args.out.clone().unwrap_or_else(|| args.store.join("report"));
    let summary = report::write_report(&args.store, &out)
        .with_context(|| format!("writing the report of {}", args.store.display()))?;
    for (id, verdict) in &summary.verdicts {
        println!("  {id:<24} {}", verdict.word());
    }
    println!("report: {} files, {}", summary.files_written, summary.index.display());
    Ok(())
}
