//! What each paper's module hands to the report: tables, plots, ledger claims and a one-line
//! finding for the summary table.

use serde::Serialize;

use crate::stats::{Decision, Estimate, Verdict};
use crate::table::Table;

/// One SVG plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File stem under `plots/`.
    pub stem: String,
    /// Caption.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// One claim of SPEC §6 with our value and verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    /// Claim id (`P84-k64-dominates`).
    pub id: String,
    /// Paper number.
    pub paper: u32,
    /// The claim in words.
    pub claim: String,
    /// The paper's value.
    pub paper_value: String,
    /// Our value in words (mean ± sd, n).
    pub ours: String,
    /// Our value as numbers, when the claim has one.
    pub estimate: Option<Estimate>,
    /// Seeds behind our value (0 for exact checks and for papers not run).
    pub n: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// The rule that decides the verdict.
    pub rule: String,
    /// Why this verdict, with the numbers.
    pub reason: String,
}

impl Claim {
    /// A claim decided by `decision`.
    #[allow(clippy::too_many_arguments)]
    pub fn decided(
        id: &str,
        paper: u32,
        claim: &str,
        paper_value: &str,
        ours: String,
        estimate: Option<Estimate>,
        rule: &str,
        decision: Decision,
    ) -> Claim {
        Claim {
            id: id.to_string(),
            paper,
            claim: claim.to_string(),
            paper_value: paper_value.to_string(),
            ours,
            n: estimate.as_ref().map_or(0, |e| e.n),
            estimate: estimate.map(|e| e.rounded()),
            verdict: decision.verdict,
            rule: rule.to_string(),
            reason: decision.reason,
        }
    }

    /// A claim whose paper was not run in the store.
    pub fn not_run(id: &str, paper: u32, claim: &str, paper_value: &str, rule: &str) -> Claim {
        Claim {
            id: id.to_string(),
            paper,
            claim: claim.to_string(),
            paper_value: paper_value.to_string(),
            ours: "—".to_string(),
            estimate: None,
            n: 0,
            verdict: Verdict::NotRun,
            rule: rule.to_string(),
            reason: format!("Paper {paper}: not run in this store"),
        }
    }
}

/// Everything the report shows for one paper.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Paper number.
    pub paper: u32,
    /// Topic (as in the paper's summary table).
    pub topic: String,
    /// The paper's key finding (as in its summary table).
    pub paper_finding: String,
    /// Whether the store holds runs of this paper.
    pub ran: bool,
    /// Our key finding in one sentence.
    pub finding: String,
    /// Tables.
    pub tables: Vec<Table>,
    /// Plots.
    pub plots: Vec<Plot>,
    /// Ledger claims.
    pub claims: Vec<Claim>,
    /// Sentences about missing data.
    pub notes: Vec<String>,
}

impl Section {
    /// An empty section.
    pub fn new(paper: u32, topic: &str, paper_finding: &str) -> Self {
        Section {
            paper,
            topic: topic.to_string(),
            paper_finding: paper_finding.to_string(),
            ran: false,
            finding: format!("Paper {paper}: not run in this store"),
            tables: Vec::new(),
            plots: Vec::new(),
            claims: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// `mean ± sd (n=…)` of an optional estimate, or an em dash.
pub fn show(e: &Option<Estimate>, decimals: usize) -> String {
    e.as_ref().map_or_else(|| "—".to_string(), |e| e.show(decimals))
}
