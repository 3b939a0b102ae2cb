//! `cargo xtask test`: setup if needed, then every test of the workspace.
//!
//! Snapshot tests run with CI semantics (`INSTA_UPDATE=no`, `CI=true`): a changed snapshot fails
//! the run and is never accepted silently. Uses `cargo nextest run` when cargo-nextest is
//! installed (then `cargo test --doc` for doctests, which nextest does not run), else `cargo test`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::setup;

/// Runs setup, then the whole workspace's tests; `extra` goes to the test runner.
pub fn run(root: &Path, extra: &[String]) -> Result<()> {
    let started = Instant::now();
    let outcome = setup::run(root, &setup::Options::default())?;
    println!("test: libtorch {}, corpus {}", outcome.libtorch.display(), outcome.corpus.display());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let has_nextest = Command::new(&cargo)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());

    let mut tests = Command::new(&cargo);
    if has_nextest {
        tests.args(["nextest", "run", "--workspace", "--no-tests=warn"]);
    } else {
        tests.args(["test", "--workspace"]);
    }
    tests.args(extra);
    run_checked(tests, root, &outcome.cache)?;

    if has_nextest {
        let mut doctests = Command::new(&cargo);
        doctests.args(["test", "--workspace", "--doc"]);
        run_checked(doctests, root, &outcome.cache)?;
    }
    println!("test: all passed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn run_checked(mut cmd: Command, root: &Path, cache: &Path) -> Result<()> {
    cmd.current_dir(root)
        .env("INSTA_UPDATE", "no")
        .env("CI", "true")
        // Tests find the corpus in the same cache setup just filled.
        .env("RANKWISE_CACHE", cache);
    println!("test: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("tests failed ({status}): {cmd:?}");
    }
    Ok(())
}
