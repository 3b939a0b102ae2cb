//! The policy crate's error type: every variant names the problem and the fix.

use modelspec::SpecError;

/// Everything that can be wrong with a policy, its inputs or a schedule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// The architecture or a rank is invalid (K = 0, K too large for the matrices, ...).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// `ratio` is not a finite positive number.
    #[error(
        "ratio = {ratio} must be a finite number > 0 (the paper's is 0.62: natural ER 20 ↔ K = 32)"
    )]
    BadRatio {
        /// The value given.
        ratio: f64,
    },
    /// A per-layer ER is NaN, infinite, zero or negative.
    #[error(
        "ER of layer {layer} is {value}; ER must be a finite positive number (effective rank is ≥ 1 by definition) — check the measurement (a zero or NaN gradient?)"
    )]
    BadEr {
        /// Layer index.
        layer: usize,
        /// The value given.
        value: f64,
    },
    /// The ER list does not have one entry per layer.
    #[error("got {got} ER values but the model has {expected} layers; give one ER per layer")]
    ErCount {
        /// Entries given.
        got: usize,
        /// Layers in the model.
        expected: usize,
    },
    /// The policy needs an input the caller did not give.
    #[error("policy `{policy}` needs {what}; {fix}")]
    MissingInput {
        /// The policy's name.
        policy: &'static str,
        /// The missing input.
        what: &'static str,
        /// How to give it.
        fix: &'static str,
    },
    /// `min_k > max_k`.
    #[error("min_k = {min_k} is larger than max_k = {max_k}; set min_k ≤ max_k")]
    MinAboveMax {
        /// Lower clamp.
        min_k: usize,
        /// Upper clamp.
        max_k: usize,
    },
    /// `multiple_of = 0`.
    #[error("multiple_of = 0; use 1 for no rounding to a multiple")]
    ZeroMultiple,
    /// No multiple of `multiple_of` lies in `[min_k, max_k]`.
    #[error(
        "no multiple of {multiple_of} lies in [min_k = {min_k}, max_k = {max_k}]; widen the range or change multiple_of"
    )]
    NoMultipleInRange {
        /// The multiple.
        multiple_of: usize,
        /// Lower clamp.
        min_k: usize,
        /// Upper clamp.
        max_k: usize,
    },
    /// The budget cannot give every layer its minimum rank.
    #[error(
        "the budget of {budget} parameters is too small: K_e = {k_embed} plus K = {min_k} on all {n_layers} layers needs {needed}; raise reference_k, or lower k_embed or min_k"
    )]
    BudgetTooSmall {
        /// The budget in parameters.
        budget: usize,
        /// The embedding rank it must also pay for.
        k_embed: usize,
        /// The smallest per-layer rank allowed.
        min_k: usize,
        /// Layers.
        n_layers: usize,
        /// Parameters that minimum costs.
        needed: usize,
    },
    /// The budget is larger than `max_k` on every layer can use.
    #[error(
        "the budget of {budget} parameters exceeds what K = {max_k} on all {n_layers} layers plus K_e = {k_embed} can use ({most}); lower reference_k or raise max_k"
    )]
    BudgetTooLarge {
        /// The budget in parameters.
        budget: usize,
        /// The embedding rank.
        k_embed: usize,
        /// The largest per-layer rank allowed.
        max_k: usize,
        /// Layers.
        n_layers: usize,
        /// The most parameters reachable.
        most: usize,
    },
    /// The exact budget search would be too large to run.
    #[error(
        "the exact budget-matched search needs {states} states (limit {limit}); lower reference_k or max_k"
    )]
    SearchTooLarge {
        /// States the search would visit.
        states: usize,
        /// The limit.
        limit: usize,
    },
    /// No K vector in `[lo, hi]` fits the seats.
    #[error(
        "{seats} units of K cannot give {n_layers} layers K in [{lo}, {hi}]; raise the budget or lower min_k"
    )]
    Infeasible {
        /// Units of K available.
        seats: usize,
        /// Layers.
        n_layers: usize,
        /// Smallest K.
        lo: usize,
        /// Largest K.
        hi: usize,
    },
    /// A step-budget table or schedule is malformed.
    #[error("{what}; {fix}")]
    BadTable {
        /// What is wrong.
        what: String,
        /// How to fix it.
        fix: String,
    },
    /// A schedule needs the run's length to place fractional change points.
    #[error("total_steps = 0; a schedule needs a run of at least one step")]
    ZeroSteps,
    /// `every = 0` in ER tracking.
    #[error("er_tracking every = 0; re-decide every N ≥ 1 steps (the paper re-measures every 10)")]
    ZeroEvery,
}
