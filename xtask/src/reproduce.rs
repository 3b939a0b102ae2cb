//! `cargo xtask reproduce [ARGS…]`: setup if needed, build the `rankwise` binary in release, and
//! run `rankwise reproduce ARGS…` (the pipeline of SPEC §5, then the report).
//!
//! `cargo xtask reproduce --check [DIR]`: re-render the committed report of `DIR` (default
//! `docs/results/paper`, holding `store/` and `report/`) from its committed records and fail
//! when it differs. Nothing is trained, so this needs no libtorch at run time.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::setup;

/// Where the committed paper-profile results live.
pub const COMMITTED: &str = "docs/results/paper";

/// Runs the pipeline (or the check) with `args`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    if let Some(pos) = args.iter().position(|a| a == "--check") {
        let dir = args.get(pos + 1).map_or(COMMITTED, String::as_str);
        let dir = root.join(dir);
        let outcome = setup::run(root, &setup::Options::default())?;
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root)
            .env("RANKWISE_CACHE", &outcome.cache)
            .args(["run", "--quiet", "-p", "rankwise", "--", "report", "--store"])
            .arg(dir.join("store"))
            .arg("--check")
            .arg(dir.join("report"));
        return run_checked(cmd);
    }
    let outcome = setup::run(root, &setup::Options::default())?;
    let mut build = Command::new(&cargo);
    build.current_dir(root).args(["build", "--release", "-p", "rankwise"]);
    run_checked(build)?;
    let bin = root.join("target").join("release").join("rankwise");
    let mut cmd = Command::new(&bin);
    cmd.current_dir(root).env("RANKWISE_CACHE", &outcome.cache).arg("reproduce").args(args);
    run_checked(cmd)
}

fn run_checked(mut cmd: Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}
