//! Project automation, run as `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! - `cargo xtask setup [--cuda]`: fetch, verify and unpack what the project needs that is not
//!   committed (libtorch 2.13.0, SPEC §9; the default corpus, SPEC §8) into the cache, and link
//!   `<root>/.libtorch` to the libtorch in use. Idempotent: a second run downloads nothing.
//! - `cargo xtask test [ARGS…]`: `setup` if needed, then every test of the workspace with snapshot
//!   checks in CI mode (never accepted). ARGS go to the test runner.
//! - `cargo xtask reproduce [ARGS…]`: `setup` if needed, then `rankwise reproduce ARGS…` from a
//!   release build; `--check [DIR]` re-renders the committed report and fails on a difference.
//!
//! xtask never depends on tch or on a project crate: it must build before libtorch exists.

mod reproduce;
mod setup;
mod test;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup [--cuda]   fetch and verify libtorch 2.13.0 and the default corpus into the cache
                   ($RANKWISE_CACHE, default ~/.cache/rankwise) and link .libtorch to it;
                   --cuda links the CUDA libtorch of an installed PyTorch 2.13 instead
  test [ARGS...]   run setup if needed, then every test of the workspace (ARGS go to the
                   test runner: cargo nextest run, or cargo test without nextest)
  reproduce [ARGS...]
                   run setup if needed, build rankwise in release and run
                   `rankwise reproduce ARGS` (see `rankwise reproduce --help`): Papers 81-84
                   into results/<profile>/ with the report in results/<profile>/report/
  reproduce --check [DIR]
                   re-render the committed report (default docs/results/paper) from its
                   committed records and fail if it differs
";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // The chain of causes, one per line; no backtrace (the messages carry the fix).
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    match command.as_deref() {
        Some("setup") => {
            let mut options = setup::Options::default();
            for arg in &rest {
                match arg.as_str() {
                    "--cuda" => options.cuda = true,
                    other => bail!("unknown option {other:?} for `setup`\n\n{USAGE}"),
                }
            }
            setup::run(&project_root()?, &options).map(|_| ())
        }
        Some("test") => test::run(&project_root()?, &rest),
        Some("reproduce") => reproduce::run(&project_root()?, &rest),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// The workspace root: the parent of xtask's own manifest directory.
fn project_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .context("xtask's manifest directory has no parent; run it as `cargo xtask` in the clone")
}
