//! The whole pipeline on the smoke profile (SPEC §5 at toy size), through the binary: the real
//! executor, tokenizer, model and report. Its rendered tables and ledger are snapshot-tested
//! (fixed decimal places; run with `INSTA_UPDATE=no` in CI so a change fails instead of being
//! accepted), a second invocation must train nothing, and a forced re-run must reproduce every
//! record except timings (determinism: a run is a function of config, seed and code).
//!
//! Runs with one libtorch thread so the numbers do not depend on the machine's core count.

use std::path::Path;
use std::process::Command;

fn reproduce(store: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rankwise"))
        .args(["reproduce", "--profile", "smoke", "--no-progress", "--threads", "1", "--device"])
        .arg("cpu")
        .arg("--out")
        .arg(store)
        .args(extra)
        .output()
        .expect("the rankwise binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "reproduce failed:\n{text}");
    text
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn smoke_pipeline_tables_rerun_and_determinism() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("smoke");
    let first = reproduce(&store, &[]);
    assert!(first.contains("Report:"), "{first}");

    // The rendered tables and the ledger are the regression guard.
    let report = store.join("report");
    for name in [
        "tables/p84_equal_steps.md",
        "tables/p84_deltas.md",
        "tables/p83_natural_er.md",
        "tables/p82_k_budget.md",
        "tables/p81_schedules.md",
        "ledger.md",
    ] {
        let snap = name.replace(['/', '.'], "_");
        insta::assert_snapshot!(snap, read(&report.join(name)));
    }

    // A second invocation on a finished store trains nothing.
    let second = reproduce(&store, &[]);
    assert!(second.contains("0 runs computed"), "{second}");

    // A forced re-run recomputes every run and gets the same numbers.
    let before = records::read_records(&store).expect("records");
    let third = reproduce(&store, &["--force"]);
    assert!(third.contains("0 reused"), "{third}");
    let after = records::read_records(&store).expect("records");
    assert_eq!(before.len(), after.len());
    for (id, r) in &before {
        let again = after.get(id).expect("same run ids");
        assert_eq!(r.without_timings(), again.without_timings(), "run {id} ({}) changed", r.label);
    }
}
