//! The orchestrator of Papers 81–85 (SPEC §5, §7; issue 6): experiment specs, content-addressed
//! run planning with sharing of identical runs and of budget prefixes, a resumable and locked
//! run store, a dependency-ordered scheduler with progress bars, and a plain-text summary.
//!
//! The model code is not a dependency: runs are computed by an [`Executor`] (the real one
//! combines the `lora`, `corpus`, `effrank` and `policy` crates; [`testing::FakeExecutor`]
//! drives the tests). The flow:
//!
//! ```text
//! Study::load(experiments, profile) ─► run_pipeline(study, options, executor, rank_rule)
//!     prepare_data ─► Plan::new (ids) ─► base ─► p83 ─► p84 (adaptive) ─► p82 ─► p81 (ER-tracking) ─► p85
//!     └► runs/<id>.json, checkpoints/<id>/, manifest.json ─► summarize(store)
//! ```

pub mod plan;
pub mod progress;
pub mod request;
pub mod run;
pub mod spec;
pub mod store;
pub mod summary;
pub mod testing;

pub use plan::{DEFAULT_PAPERS, Plan, PlanError};
pub use request::{
    AdaptRequest, AdaptSpec, BaseRequest, BaseSpec, DataIdentity, DataSettings, ExecError,
    Executor, MeasureSpec, NoProgress, Probe, Progress, RankRule, RankSchedule, RoundRatio,
    RunContext, TRAINING_CODE_VERSION,
};
pub use run::{Outcome, PipelineError, PipelineOptions, plan_only, run_pipeline};
pub use spec::{ProfileRef, SpecError, Study};
pub use store::{Store, StoreError, StoreLock};
pub use summary::summarize;
