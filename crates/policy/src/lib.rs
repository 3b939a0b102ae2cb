//! Rank-selection policies for low-rank adapters: the rules of Papers 81–84 made explicit,
//! explainable and testable (SPEC §3 and §5).
//!
//! - [`Policy`] (in [`rules`]): `uniform`, `er_ratio` (K_l = round(ER_l / 0.62)),
//!   `budget_matched` (K ∝ ER within uniform reference_k's parameter budget, [`budget`]) and
//!   `step_budget` (the combined rule: K by run length). Policies are serde data, readable from
//!   TOML or JSON, unknown keys rejected; users add their own by writing one.
//! - [`Schedule`] (in [`schedule`]): Paper 81's `grow`, `shrink`, general `piecewise` and
//!   `er_tracking` schedules, K as a function of the training step.
//! - Every decision is a [`Decision`] with an [`Explanation`] ([`explain`]) that prints readably
//!   and serialises to JSON.
//!
//! All parameter arithmetic comes from `modelspec` (SPEC §1); this crate does not depend on tch.

pub mod budget;
mod error;
pub mod explain;
pub mod rules;
pub mod schedule;

pub use error::PolicyError;
pub use explain::{Decision, Explanation, Reference};
pub use rules::{
    BudgetMatched, ErRatio, Inputs, PAPER_K_EMBED, PAPER_RATIO, Policy, Rounding, StepBand,
    StepBudget, Uniform, paper_step_table, validate_er,
};
pub use schedule::{
    ChangePoint, ErTracker, ErTracking, Fixed, Grow, Piecewise, Plan, Schedule, SchedulePoint,
    Shrink, StaticSchedule,
};

/// Parses a comma-separated list of numbers (`20.08,20.48,…`), as the CLI's `--er` takes them.
pub fn parse_f64_list(text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, s)| {
            s.parse::<f64>().map_err(|e| {
                format!("entry {i} ({s:?}) is not a number ({e}); write numbers separated by commas, e.g. 20.08,20.48")
            })
        })
        .collect()
}

/// Parses a comma-separated list of ranks (`32,33,28`), as the CLI's `--k-per-layer` takes them.
pub fn parse_usize_list(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, s)| {
            s.parse::<usize>().map_err(|e| {
                format!("entry {i} ({s:?}) is not a whole number ({e}); write ranks separated by commas, e.g. 32,33,28")
            })
        })
        .collect()
}
