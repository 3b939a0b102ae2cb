//! `rankwise`: the project's command line. This file only parses arguments and dispatches; each
//! subcommand lives in its own module: `reproduce` runs the series (SPEC §5), `report` renders
//! its report (SPEC §6), `train` and `measure-er` do one run or one measurement, `er` measures
//! effective rank of a matrix (SPEC §4), `select-k` and `params` choose ranks and count
//! parameters (SPEC §1, §3).

use clap::{Parser, Subcommand};

mod er;
mod measure_er;
mod params;
mod progress;
mod report_cmd;
mod reproduce;
mod select_k;
mod train;

/// Reproduce Papers 81–84 on choosing low-rank adapter ranks.
#[derive(Debug, Parser)]
#[command(name = "rankwise", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Papers 81–84 (and optionally 85) as one cached, resumable pipeline, then the report.
    Reproduce(reproduce::ReproduceArgs),
    /// Render (or check) the report of a run store.
    Report(report_cmd::ReportArgs),
    /// Train one run (base or adapters) on any corpus, writing a record and a checkpoint.
    Train(train::TrainArgs),
    /// Per-layer natural and factor gradient ER of a checkpoint.
    MeasureEr(measure_er::MeasureErArgs),
    /// Effective rank and related spectral measures of a matrix stored in a .npy file.
    Er(er::ErArgs),
    /// Choose per-layer adapter ranks with a policy, and explain the choice (SPEC §3).
    SelectK(select_k::SelectKArgs),
    /// Count the trainable parameters of an adapter configuration (SPEC §1).
    Params(params::ParamsArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Reproduce(args) => reproduce::run(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Train(args) => train::run(args),
        Command::MeasureEr(args) => measure_er::run(args),
        Command::Er(args) => er::run(&args),
        Command::SelectK(args) => select_k::run(args),
        Command::Params(args) => params::run(args),
    }
}
