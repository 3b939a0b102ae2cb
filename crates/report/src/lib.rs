//! The report: every table of Papers 81–85 recomputed from run records beside the paper's numbers,
//! the claims ledger with a verdict per claim of SPEC §6, and SVG plots (SPEC §2, §5, §6, §7).
//!
//! The crate is pure: [`render`] turns a [`Manifest`] and its [`RunRecord`]s into in-memory files
//! (Markdown, CSV, JSON, SVG) with no clock, path or randomness in them, so the output can be
//! snapshot-tested and compared with a committed copy ([`check`]). [`write_report`] reads a store and
//! writes those files atomically.
//!
//! # What the pipeline must write (the conventions this crate reads)
//!
//! | paper | `scheme` names | tags / `at_step` | what the records must hold |
//! |---|---|---|---|
//! | 84 | `uniform_8`, `uniform_16`, `uniform_32`, `uniform_64`, `adaptive` | `at_step` = 40 | evals at 0, 40 and round(params(uniform_32)·40/params) (budget-matched table) |
//! | 83 | `uniform_32`, `uniform_64` | `at_step` = 40 | `er`: natural (4 matrices × layers) and factor_a/factor_b at steps 0,10,…,40 |
//! | 82 | any label, e.g. `k8_budget4` | tags `k`, `budget_multiplier` (1,2,4); `at_step` = prefix step | evals at each prefix step |
//! | 81 | `fixed_64`, `fixed_8`, `grow`, `shrink`, `er_tracking` | `at_step` = 40 | `schedule` of rank changes for dynamic runs |
//! | 85 | `k32`, `k64`, `wide_k32`, `wide_k64` | tags `k`, `d_model`; `at_step` = 40 | metrics `factor_grad_var_dirs_1_32`, `factor_grad_var_dirs_33_64` |
//!
//! Every adaptation run records its evaluation loss at step 0 (L_start of SPEC §2). Details in
//! `docs/report.md`.

pub mod data;
pub mod p81;
pub mod p82;
pub mod p83;
pub mod p84;
pub mod p85;
pub mod paper;
pub mod plots;
pub mod section;
pub mod stats;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use records::{Manifest, RunRecord};
pub use section::{Claim, Plot, Section};
pub use stats::{Estimate, Verdict};
pub use table::Table;

/// Errors of the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the store failed.
    #[error("reading the run store: {0}")]
    Records(#[from] records::RecordError),
    /// The store has no manifest.
    #[error(
        "{path}: no manifest.json; run the pipeline first (`cargo xtask reproduce`) or point --out at a finished store"
    )]
    NoManifest {
        /// The store.
        path: PathBuf,
    },
    /// A plot could not be drawn.
    #[error("drawing plot '{plot}': {message}; report this as a bug with the store attached")]
    Plot {
        /// Plot title.
        plot: String,
        /// The backend's message.
        message: String,
    },
    /// Writing or reading an output file failed.
    #[error("{path}: {source}; check that the folder is writable and the disk has space")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Serialising the ledger failed.
    #[error("serialising the ledger: {0}")]
    Json(#[from] serde_json::Error),
}

/// The rendered report: relative path → file contents.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Files (`index.md`, `ledger.md`, `ledger.json`, `tables/*.md|csv`, `plots/*.svg`).
    pub files: BTreeMap<String, String>,
    /// The ledger, in claim-id order.
    pub ledger: Vec<Claim>,
    /// The per-paper sections.
    pub sections: Vec<Section>,
}

/// What [`write_report`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// `<out>/index.md`.
    pub index: PathBuf,
    /// Files written.
    pub files_written: usize,
    /// Verdict per claim id.
    pub verdicts: BTreeMap<String, Verdict>,
    /// Papers with no runs in the store.
    pub papers_not_run: Vec<u32>,
}

/// One difference between a re-rendered report and a committed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// Rendered but not committed.
    Missing {
        /// Relative path.
        path: String,
    },
    /// Committed but no longer rendered.
    Extra {
        /// Relative path.
        path: String,
    },
    /// Both exist and differ.
    Changed {
        /// Relative path.
        path: String,
        /// First differing line (1-based).
        line: usize,
        /// The committed line.
        committed: String,
        /// The rendered line.
        rendered: String,
    },
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Diff::Missing { path } => write!(f, "{path}: rendered but not committed"),
            Diff::Extra { path } => write!(f, "{path}: committed but no longer rendered"),
            Diff::Changed { path, line, committed, rendered } => {
                write!(f, "{path}:{line}: committed `{committed}`, rendered `{rendered}`")
            }
        }
    }
}

/// Renders the whole report in memory. Pure: the same inputs give byte-identical files.
pub fn render(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
) -> Result<Report, ReportError> {
    let mut sections = vec![
        p81::section(manifest, records)?,
        p82::section(manifest, records)?,
        p83::section(manifest, records)?,
        p84::section(manifest, records)?,
        p85::section(manifest, records)?,
    ];
    for s in &mut sections {
        s.claims.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let mut ledger: Vec<Claim> = sections.iter().flat_map(|s| s.claims.iter().cloned()).collect();
    ledger.sort_by(|a, b| a.id.cmp(&b.id));

    let mut files = BTreeMap::new();
    for s in &sections {
        for t in &s.tables {
            files.insert(format!("tables/{}.md", t.stem), t.to_markdown());
            files.insert(format!("tables/{}.csv", t.stem), t.to_csv());
        }
        for p in &s.plots {
            files.insert(format!("plots/{}.svg", p.stem), p.svg.clone());
        }
    }
    let summary = summary_table(&sections);
    files.insert(format!("tables/{}.md", summary.stem), summary.to_markdown());
    files.insert(format!("tables/{}.csv", summary.stem), summary.to_csv());
    let ledger_table = ledger_table(&ledger);
    files.insert("ledger.md".to_string(), ledger_markdown(&ledger_table, &ledger));
    files.insert("tables/ledger.csv".to_string(), ledger_table.to_csv());
    let keyed: BTreeMap<&str, &Claim> = ledger.iter().map(|c| (c.id.as_str(), c)).collect();
    files.insert("ledger.json".to_string(), format!("{}\n", serde_json::to_string_pretty(&keyed)?));
    files.insert(
        "index.md".to_string(),
        index(manifest, records, &sections, &summary, &ledger_table),
    );
    Ok(Report { files, ledger, sections })
}

/// Reads the store at `store` and renders its report.
pub fn render_store(store: &Path) -> Result<Report, ReportError> {
    let manifest = records::read_manifest(store)?
        .ok_or_else(|| ReportError::NoManifest { path: store.to_path_buf() })?;
    let records = records::read_records(store)?;
    render(&manifest, &records)
}

/// Renders the store's report and writes it under `out` (`out/index.md` and the rest), each file
/// atomically (temporary file in the same folder, then rename).
pub fn write_report(store: &Path, out: &Path) -> Result<ReportSummary, ReportError> {
    let report = render_store(store)?;
    write_files(&report, out)?;
    Ok(ReportSummary {
        index: out.join("index.md"),
        files_written: report.files.len(),
        verdicts: report.ledger.iter().map(|c| (c.id.clone(), c.verdict)).collect(),
        papers_not_run: report.sections.iter().filter(|s| !s.ran).map(|s| s.paper).collect(),
    })
}

/// Writes every file of `report` under `out`, each atomically. Files already there that the report
/// does not render are left alone (a later [`check`] lists them as [`Diff::Extra`]).
pub fn write_files(report: &Report, out: &Path) -> Result<(), ReportError> {
    for (rel, text) in &report.files {
        write_atomic(&out.join(rel), text)?;
    }
    Ok(())
}

/// Re-renders the store's report and compares it with the files committed under `committed`.
/// An empty list means identical. `committed` must hold the report only (every non-hidden file
/// there that the report does not render is a [`Diff::Extra`]); keep committed records beside it,
/// not inside it.
pub fn check(store: &Path, committed: &Path) -> Result<Vec<Diff>, ReportError> {
    let report = render_store(store)?;
    compare(&report, committed)
}

/// Compares a rendered report with the files under `committed`.
pub fn compare(report: &Report, committed: &Path) -> Result<Vec<Diff>, ReportError> {
    let mut diffs = Vec::new();
    let on_disk = list_files(committed)?;
    for (rel, text) in &report.files {
        let path = committed.join(rel);
        if !on_disk.contains(rel) {
            diffs.push(Diff::Missing { path: rel.clone() });
            continue;
        }
        let old = fs::read_to_string(&path)
            .map_err(|source| ReportError::Io { path: path.clone(), source })?;
        if &old != text {
            let (line, committed, rendered) = first_difference(&old, text);
            diffs.push(Diff::Changed { path: rel.clone(), line, committed, rendered });
        }
    }
    for rel in on_disk {
        if !report.files.contains_key(&rel) {
            diffs.push(Diff::Extra { path: rel });
        }
    }
    Ok(diffs)
}

fn first_difference(a: &str, b: &str) -> (usize, String, String) {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 0;
    loop {
        n += 1;
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return (n, String::new(), "(trailing newline differs)".into()),
            (x, y) => return (n, x.unwrap_or("").to_string(), y.unwrap_or("").to_string()),
        }
    }
}

/// Relative paths of the non-hidden files under `root` (empty when it does not exist).
fn list_files(root: &Path) -> Result<BTreeSet<String>, ReportError> {
    let mut out = BTreeSet::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let io = |source| ReportError::Io { path: dir.clone(), source };
        for entry in fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let p = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(out)
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ReportError> {
    let io = |source| ReportError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn summary_table(sections: &[Section]) -> Table {
    let mut t = Table::new(
        "summary",
        "Summary: Papers 81–84 (and the Paper 85 probe)",
        &["Paper", "Topic", "Paper's key finding", "Our finding", "Verdicts"],
    );
    for s in sections {
        let verdicts = if s.claims.is_empty() {
            "—".to_string()
        } else {
            s.claims
                .iter()
                .map(|c| format!("{}: {}", c.id, c.verdict.word()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        t.row(vec![
            s.paper.to_string(),
            s.topic.clone(),
            s.paper_finding.clone(),
            s.finding.clone(),
            verdicts,
        ]);
    }
    t
}

fn ledger_table(ledger: &[Claim]) -> Table {
    let mut t = Table::new(
        "ledger",
        "Claims ledger (SPEC §6)",
        &["Claim", "Paper", "Claim text", "Paper's value", "Ours", "n", "Verdict"],
    );
    for c in ledger {
        t.row(vec![
            c.id.clone(),
            c.paper.to_string(),
            c.claim.clone(),
            c.paper_value.clone(),
            c.ours.clone(),
            if c.estimate.is_some() {
                c.n.to_string()
            } else if c.verdict == Verdict::NotRun {
                "0".into()
            } else {
                "exact".into()
            },
            c.verdict.word().to_string(),
        ]);
    }
    t
}

const RULES: &str = "Verdicts are decided from per-seed values by the rule stated for each claim, all built on the \
two-sided 95% Student-t interval of a mean over seeds (for differences, paired by seed). A direction claim is \
*reproduced* when the interval excludes zero on the claimed side, *not reproduced* when it excludes zero on the \
other side, and *inconclusive* when it spans zero. An \"≈ value\" claim is reproduced when the interval lies within \
±15% of the paper's value, not reproduced when wholly outside. With fewer than 2 seeds there is no estimate of seed \
noise and every such verdict is *inconclusive*. Exact checks (parameter arithmetic) need no seeds. *Not run*: the \
store holds no run of the claim's paper. Absolute losses are not expected to match the paper (its data and recipe \
are not given); directions, ratios and the parameter arithmetic can.";

fn ledger_markdown(t: &Table, ledger: &[Claim]) -> String {
    let mut s = String::from("# Claims ledger\n\n");
    s.push_str(RULES);
    s.push_str("\n\n");
    s.push_str(&t.to_markdown());
    s.push_str("\n## Rules and reasons\n\n");
    for c in ledger {
        s.push_str(&format!(
            "- **{}** ({}). Rule: {}. Reason: {}.\n",
            c.id,
            c.verdict.word(),
            c.rule,
            c.reason
        ));
    }
    s
}

fn join_set<T: ToString>(items: impl Iterator<Item = T>) -> String {
    let set: BTreeSet<String> = items.map(|x| x.to_string()).collect();
    if set.is_empty() { "—".to_string() } else { set.into_iter().collect::<Vec<_>>().join(", ") }
}

fn environment(manifest: &Manifest, records: &BTreeMap<String, RunRecord>) -> String {
    let used: BTreeSet<&str> = manifest
        .papers
        .iter()
        .flat_map(|p| p.entries.iter().map(|e| e.run_id.as_str()))
        .chain(manifest.base_run_id.as_deref())
        .collect();
    let runs: Vec<&RunRecord> = used.iter().filter_map(|id| records.get(*id)).collect();
    let wall: f64 = runs.iter().map(|r| r.env.wall_seconds).sum();
    let mut s = String::from("## Environment\n\n```text\n");
    s.push_str(&format!("profile:           {}\n", manifest.profile));
    s.push_str(&format!("seeds:             {}\n", join_set(manifest.seeds.iter())));
    s.push_str(&format!("device:            {}\n", join_set(runs.iter().map(|r| &r.env.device))));
    s.push_str(&format!("threads:           {}\n", join_set(runs.iter().map(|r| r.env.threads))));
    s.push_str(&format!(
        "libtorch:          {}\n",
        join_set(runs.iter().map(|r| &r.env.libtorch_version))
    ));
    s.push_str(&format!(
        "rankwise:          {}\n",
        join_set(runs.iter().map(|r| &r.env.rankwise_version))
    ));
    s.push_str(&format!(
        "commit:            {}\n",
        join_set(runs.iter().map(|r| &r.env.git_commit))
    ));
    s.push_str(&format!(
        "runs:              {} distinct ({} records in the store)\n",
        runs.len(),
        records.len()
    ));
    s.push_str(&format!("run wall time:     {wall:.1} s (sum over runs)\n"));
    for (stage, secs) in &manifest.stage_seconds {
        s.push_str(&format!("stage {stage:<12} {secs:.1} s\n"));
    }
    if manifest.steps_requested > 0 {
        s.push_str(&format!(
            "steps trained:     {} of {} requested ({:.1}%)\n",
            manifest.steps_trained,
            manifest.steps_requested,
            100.0 * manifest.steps_trained as f64 / manifest.steps_requested as f64
        ));
    }
    s.push_str("```\n");
    s
}

fn index(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
    sections: &[Section],
    summary: &Table,
    ledger: &Table,
) -> String {
    let mut s =
        String::from("# rankwise report: Papers 81–84 (K series) and the Paper 85 probe\n\n");
    s.push_str(
        "Every table recomputed from the run records beside the paper's numbers, a verdict per claim, and \
plots. Efficiency = (L_start − L_final) / (trainable params / 10,000) (SPEC §2). Loss in nats per token.\n\n",
    );
    s.push_str(&environment(manifest, records));
    s.push_str("\n## Summary\n\n");
    s.push_str(&summary.to_markdown());
    s.push_str("\n## Claims ledger\n\n[ledger.md](ledger.md) · [ledger.json](ledger.json) · [ledger.csv](tables/ledger.csv)\n\n");
    s.push_str(&ledger.to_markdown());
    for sec in sections {
        s.push_str(&format!("\n## Paper {}: {}\n\n", sec.paper, sec.topic));
        if !sec.ran {
            s.push_str(&format!("Paper {}: not run in this store.\n", sec.paper));
            continue;
        }
        for n in &sec.notes {
            s.push_str(&format!("- Missing: {n}\n"));
        }
        if !sec.notes.is_empty() {
            s.push('\n');
        }
        for t in &sec.tables {
            s.push_str(&t.to_markdown());
            s.push_str(&format!(
                "\n[{0}.md](tables/{0}.md) · [{0}.csv](tables/{0}.csv)\n\n",
                t.stem
            ));
        }
        for p in &sec.plots {
            s.push_str(&format!("![{}](plots/{}.svg)\n\n", p.title, p.stem));
        }
    }
    s
}
