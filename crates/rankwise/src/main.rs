//! The `rankwise` command line. This dispatcher holds only the policy subcommands (`select-k`,
//! `params`); the other subcommands are added beside them.

use clap::{Parser, Subcommand};

mod params;
mod select_k;

/// Rank selection for low-rank adapters: Papers 81–84, reproduced.
#[derive(Debug, Parser)]
#[command(name = "rankwise", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Choose per-layer adapter ranks with a policy, and explain the choice (SPEC §3).
    SelectK(select_k::SelectKArgs),
    /// Count the trainable parameters of an adapter configuration (SPEC §1).
    Params(params::ParamsArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::SelectK(args) => select_k::run(args),
        Command::Params(args) => params::run(args),
    }
}
