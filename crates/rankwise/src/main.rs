//! `rankwise`: the project's command line. This file only parses arguments and dispatches; each
//! subcommand lives in its own module: `er` measures effective rank (SPEC §4), `select-k` and
//! `params` choose ranks and count parameters (SPEC §1, §3).

use clap::{Parser, Subcommand};

mod er;
mod params;
mod select_k;

/// Reproduce Papers 81–84 on choosing low-rank adapter ranks.
#[derive(Debug, Parser)]
#[command(name = "rankwise", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Effective rank and related spectral measures of a matrix stored in a .npy file.
    Er(er::ErArgs),
    /// Choose per-layer adapter ranks with a policy, and explain the choice (SPEC §3).
    SelectK(select_k::SelectKArgs),
    /// Count the trainable parameters of an adapter configuration (SPEC §1).
    Params(params::ParamsArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Er(args) => er::run(&args),
        Command::SelectK(args) => select_k::run(args),
        Command::Params(args) => params::run(args),
    }
}
