//! Integration tests of the report: snapshots of every rendered table and the ledger on a
//! constructed store, verdicts reached on constructed stores, incomplete stores, and the
//! write/check round trip.

mod fixture;

use std::collections::BTreeMap;

use fixture::{Options, store};
use report::{Diff, Verdict, render};

/// The claim ids of SPEC §6.
const CLAIM_IDS: [&str; 12] = [
    "P81-fixed-max",
    "P82-k16-dead-zone",
    "P82-k2-long-run",
    "P82-k8-efficient",
    "P83-er-stable",
    "P83-factor-er",
    "P83-natural-er",
    "P84-adaptive-vs-32",
    "P84-k64-dominates",
    "P84-k8-efficient",
    "P84-params",
    "P84-prose-arithmetic",
];

fn verdicts(o: &Options) -> BTreeMap<String, Verdict> {
    let (m, r) = store(o);
    let rep = render(&m, &r).expect("render");
    rep.ledger.iter().map(|c| (c.id.clone(), c.verdict)).collect()
}

#[test]
fn every_table_and_the_ledger_match_their_snapshots() {
    let (m, r) = store(&Options::default());
    let rep = render(&m, &r).expect("render");
    for (path, text) in &rep.files {
        // SVGs are checked for labels below; CSVs carry the same cells as the Markdown tables,
        // so one CSV stands for the rest.
        if path.ends_with(".svg")
            || (path.ends_with(".csv") && path != "tables/p84_equal_steps.csv")
        {
            continue;
        }
        let name = path.replace(['/', '.'], "_");
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn rendering_is_deterministic_and_svgs_are_labelled() {
    let (m, r) = store(&Options::default());
    let a = render(&m, &r).expect("render");
    let b = render(&m, &r).expect("render");
    assert_eq!(a.files, b.files);
    let svgs: Vec<&String> = a.files.keys().filter(|k| k.ends_with(".svg")).collect();
    for want in [
        "plots/p84_loss_curves.svg",
        "plots/efficiency_vs_params.svg",
        "plots/p83_er_per_layer.svg",
        "plots/p83_er_over_training.svg",
        "plots/p82_loss_vs_budget.svg",
        "plots/p82_efficiency_vs_params.svg",
        "plots/p81_loss_curves.svg",
    ] {
        assert!(a.files.contains_key(want), "{want} missing from {svgs:?}");
    }
    let budget = &a.files["plots/p82_loss_vs_budget.svg"];
    assert!(budget.contains("log scale") && budget.contains("nats/token"), "axis labels");
    assert!(a.files["index.md"].contains("(plots/p82_loss_vs_budget.svg)"));
}

#[test]
fn ledger_json_is_keyed_by_every_spec_claim() {
    let (m, r) = store(&Options::default());
    let rep = render(&m, &r).expect("render");
    let json: serde_json::Value = serde_json::from_str(&rep.files["ledger.json"]).expect("json");
    let keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, CLAIM_IDS.to_vec());
    assert_eq!(json["P84-params"]["verdict"], "reproduced");
    assert_eq!(json["P84-prose-arithmetic"]["verdict"], "not_reproduced");
}

#[test]
fn constructed_stores_reach_each_verdict() {
    // Three seeds with K=64 genuinely better (the fixture's loss falls with ln(1 + K/4)).
    let v = verdicts(&Options::default());
    assert_eq!(v["P84-k64-dominates"], Verdict::Reproduced);
    assert_eq!(v["P84-adaptive-vs-32"], Verdict::Reproduced, "adaptive ≈ uniform_32 within 0.05");
    assert_eq!(v["P83-natural-er"], Verdict::Reproduced);
    assert_eq!(v["P83-er-stable"], Verdict::Reproduced);
    // Factor ER is 0.61·64 ≈ 39 in the fixture.
    assert_eq!(v["P83-factor-er"], Verdict::Reproduced);
    // The fixture's loss depends only on the current K, so grow (64 from step 30) ends level with
    // fixed_64 within seed noise: inconclusive, although shrink and er_tracking are clearly worse.
    assert_eq!(v["P81-fixed-max"], Verdict::Inconclusive);
    // The fixture's efficiency falls with K except at the smallest budgets: K=2 is more efficient
    // per parameter than K=8, so the claim is contradicted.
    assert_eq!(v["P82-k8-efficient"], Verdict::NotReproduced);

    // One seed: no noise estimate, so inconclusive.
    let v = verdicts(&Options { seeds: vec![7], ..Options::default() });
    assert_eq!(v["P84-k64-dominates"], Verdict::Inconclusive);
    assert_eq!(v["P84-params"], Verdict::Reproduced, "exact checks need no seeds");

    // uniform_64 made 1 nat worse: contradicted.
    let v = verdicts(&Options { k64_shift: 1.0, ..Options::default() });
    assert_eq!(v["P84-k64-dominates"], Verdict::NotReproduced);

    // Large seed noise: the small adaptive − uniform_32 difference is within noise.
    let v = verdicts(&Options { noise: 2.0, seeds: vec![1, 2], ..Options::default() });
    assert_eq!(v["P84-adaptive-vs-32"], Verdict::Inconclusive);
}

#[test]
fn papers_not_run_are_reported_not_failed() {
    let (m, r) = store(&Options { papers: vec![84], ..Options::default() });
    let rep = render(&m, &r).expect("render");
    let index = &rep.files["index.md"];
    for p in [81, 82, 83, 85] {
        assert!(index.contains(&format!("Paper {p}: not run in this store")), "paper {p}");
    }
    let v: BTreeMap<_, _> = rep.ledger.iter().map(|c| (c.id.as_str(), c.verdict)).collect();
    assert_eq!(v["P81-fixed-max"], Verdict::NotRun);
    assert_eq!(v["P83-natural-er"], Verdict::NotRun);
    assert_eq!(v["P84-k64-dominates"], Verdict::Reproduced);
    assert_eq!(rep.ledger.len(), CLAIM_IDS.len());
    insta::assert_snapshot!("incomplete_summary", rep.files["tables/summary.md"]);

    // A manifest with no papers at all still renders every claim (as not run, or exact).
    let (mut m, r) = store(&Options { papers: vec![], ..Options::default() });
    m.seeds.clear();
    let rep = render(&m, &r).expect("render empty");
    assert!(rep.ledger.iter().all(|c| c.verdict == Verdict::NotRun || c.id.starts_with("P84-p")));
}

#[test]
fn missing_runs_and_seeds_are_noted_and_left_out() {
    let (m, mut r) = store(&Options::default());
    r.remove("uniform_64-s3-40").expect("fixture has it");
    if let Some(rec) = r.get_mut("adaptive-s2-40") {
        rec.evals.retain(|e| e.step != 40);
    }
    let rep = render(&m, &r).expect("render");
    let index = &rep.files["index.md"];
    assert!(
        index.contains("uniform_64 seed 3: run uniform_64-s is not in the store; left out"),
        "{index}"
    );
    assert!(
        index.contains("adaptive seed 2: run adaptive-s2- has no evaluation at step 40"),
        "{index}"
    );
    let k64 = rep.ledger.iter().find(|c| c.id == "P84-k64-dominates").expect("claim");
    assert_eq!(k64.n, 2);
}

#[test]
fn write_report_then_check_finds_every_kind_of_difference() {
    let (m, r) = store(&Options { papers: vec![84, 83], ..Options::default() });
    let dir = tempfile::tempdir().expect("tempdir");
    let st = dir.path().join("store");
    records::write_json_atomic(&records::manifest_path(&st), &m).expect("manifest");
    for rec in r.values() {
        records::write_json_atomic(&records::record_path(&st, &rec.run_id), rec).expect("record");
    }
    let out = dir.path().join("report");
    let summary = report::write_report(&st, &out).expect("write");
    assert_eq!(summary.index, out.join("index.md"));
    assert_eq!(summary.papers_not_run, vec![81, 82, 85]);
    assert!(out.join("tables/p84_equal_steps.csv").exists());
    assert!(out.join("plots/p83_er_per_layer.svg").exists());
    assert_eq!(report::check(&st, &out).expect("check"), Vec::<Diff>::new());

    std::fs::write(out.join("tables/p84_deltas.md"), "edited\n").expect("edit");
    std::fs::remove_file(out.join("ledger.json")).expect("remove");
    std::fs::write(out.join("stray.md"), "x").expect("extra");
    let diffs = report::check(&st, &out).expect("check");
    assert_eq!(diffs.len(), 3, "{diffs:?}");
    assert!(diffs.contains(&Diff::Missing { path: "ledger.json".into() }));
    assert!(diffs.contains(&Diff::Extra { path: "stray.md".into() }));
    assert!(diffs.iter().any(
        |d| matches!(d, Diff::Changed { path, line: 1, .. } if path == "tables/p84_deltas.md")
    ));
}

#[test]
fn a_store_without_manifest_names_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = report::write_report(dir.path(), &dir.path().join("out")).expect_err("no manifest");
    assert!(err.to_string().contains("no manifest.json; run the pipeline first"), "{err}");
}

#[test]
fn a_small_model_with_one_seed_renders_without_the_papers_layer_columns() {
    // The smoke profile's shape: 2 layers, so the paper's 8 per-layer values do not apply.
    let (m, mut r) = store(&Options { seeds: vec![5], papers: vec![83, 84], ..Options::default() });
    for rec in r.values_mut() {
        rec.arch = modelspec::Architecture::smoke();
        rec.er.retain(|e| e.layer.is_some_and(|l| l < 2));
    }
    let rep = render(&m, &r).expect("render");
    let natural = &rep.files["tables/p83_natural_er.md"];
    assert!(natural.contains("| 1 | "), "{natural}");
    assert!(!natural.contains("| 2 | "), "{natural}");
    // No paper column values for a 2-layer model: every row ends with two em dashes.
    assert!(natural.contains("| — | — |"), "{natural}");
    let v: BTreeMap<_, _> = rep.ledger.iter().map(|c| (c.id.as_str(), c.verdict)).collect();
    assert_eq!(v["P83-natural-er"], Verdict::Inconclusive, "one seed");
    // The records' counts are for the paper model, not the smoke one: the exact check says so.
    assert_eq!(v["P84-params"], Verdict::NotReproduced);
    let reason = &rep.ledger.iter().find(|c| c.id == "P84-params").expect("claim").reason;
    assert!(reason.contains("record 384,248 vs modelspec"), "{reason}");
}

/// The committed paper-profile report (`docs/results/paper`) is exactly what its committed
/// records render to.
#[test]
fn committed_paper_report_matches_its_records() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results/paper");
    let diffs = report::check(&dir.join("store"), &dir.join("report")).expect("re-render");
    assert!(diffs.is_empty(), "committed report differs: {diffs:?}");
}
