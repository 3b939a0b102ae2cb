//! `rankwise`: the project's command line. This file only parses arguments and dispatches; each
//! subcommand lives in its own module (`er` measures effective rank, SPEC §4).

use clap::{Parser, Subcommand};

mod er;

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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Er(args) => er::run(&args),
    }
}
