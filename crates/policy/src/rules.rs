//! The rank-selection rules of Papers 81–84 as data (SPEC §3), each returning an explained
//! [`Decision`].
//!
//! A [`Policy`] is a serde-tagged enum (`policy = "er_ratio"`, …) readable from TOML or JSON;
//! unknown keys are rejected, and every default is written out again when a policy is serialised,
//! so an explanation records exactly what ran.
//!
//! - `uniform { k }`: K on every layer and the embedding.
//! - `er_ratio { ratio = 0.62, rounding, min_k, max_k, multiple_of, k_embed = 32 }`:
//!   K_l = rounding(ER_l / ratio), then clamped (SPEC §3; the paper's ER gives 32,33,28,36,33,34,33,31).
//! - `budget_matched { reference_k }`: K_l proportional to ER_l, costing as close as possible to —
//!   never more than — uniform `reference_k` (see [`crate::budget`] for the algorithm).
//! - `step_budget { table }`: the combined rule of Papers 81–84, K by run length.

use modelspec::{Architecture, LayerMatrix, SpecError};
use serde::{Deserialize, Serialize};

use crate::PolicyError;
use crate::budget::apportion;
use crate::explain::{Decision, Explanation, Reference, thousands};

/// The ratio of Paper 83/84: natural ER 20 ↔ K = 32, so K = ER / 0.62.
pub const PAPER_RATIO: f64 = 0.62;
/// The embedding rank of Paper 84's adaptive scheme.
pub const PAPER_K_EMBED: usize = 32;

/// A rank-selection policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Policy {
    /// The same K everywhere.
    Uniform(Uniform),
    /// K_l = rounding(ER_l / ratio), clamped.
    ErRatio(ErRatio),
    /// K_l ∝ ER_l within uniform `reference_k`'s parameter budget.
    BudgetMatched(BudgetMatched),
    /// K from the run length in steps.
    StepBudget(StepBudget),
}

/// What a policy may read besides its own parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    /// Per-layer ER (natural gradient ER, SPEC §4), one per layer.
    pub er: Option<&'a [f64]>,
    /// The run's length in optimiser steps.
    pub steps: Option<u64>,
}

impl Policy {
    /// The rule's name as written in configs (`er_ratio`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Uniform(_) => "uniform",
            Policy::ErRatio(_) => "er_ratio",
            Policy::BudgetMatched(_) => "budget_matched",
            Policy::StepBudget(_) => "step_budget",
        }
    }

    /// Runs the rule on `arch` with `inputs`.
    pub fn decide(&self, arch: &Architecture, inputs: Inputs<'_>) -> Result<Decision, PolicyError> {
        arch.validate()?;
        match self {
            Policy::Uniform(u) => u.decide(arch),
            Policy::ErRatio(r) => {
                let er = inputs.er.ok_or(PolicyError::MissingInput {
                    policy: "er_ratio",
                    what: "one ER per layer",
                    fix: "pass --er v1,v2,… (or measure them with Paper 83's experiment)",
                })?;
                r.decide(arch, er)
            }
            Policy::BudgetMatched(b) => {
                let er = inputs.er.ok_or(PolicyError::MissingInput {
                    policy: "budget_matched",
                    what: "one ER per layer",
                    fix: "pass --er v1,v2,… (or measure them with Paper 83's experiment)",
                })?;
                b.decide(arch, er)
            }
            Policy::StepBudget(s) => {
                let steps = inputs.steps.ok_or(PolicyError::MissingInput {
                    policy: "step_budget",
                    what: "the run length in steps",
                    fix: "pass --steps N",
                })?;
                s.decide(arch, steps)
            }
        }
    }
}

/// How a real-valued K is made an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the nearest integer, halves away from zero (32.5 → 33), as `f64::round`.
    #[default]
    Nearest,
    /// Down.
    Floor,
    /// Up.
    Ceil,
}

impl Rounding {
    /// Applies the rounding.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Rounding::Nearest => x.round(),
            Rounding::Floor => x.floor(),
            Rounding::Ceil => x.ceil(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Rounding::Nearest => "round",
            Rounding::Floor => "floor",
            Rounding::Ceil => "ceil",
        }
    }
}

/// `uniform { k }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    /// K on every layer.
    pub k: usize,
    /// K_e; defaults to `k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_embed: Option<usize>,
}

impl Uniform {
    fn decide(&self, arch: &Architecture) -> Result<Decision, PolicyError> {
        for l in 0..arch.n_layers {
            arch.check_layer_k(l, self.k)?;
        }
        let k_embed = self.k_embed.unwrap_or(self.k);
        arch.check_embed_k(k_embed)?;
        let k_layers = vec![self.k; arch.n_layers];
        let reference = (k_embed != self.k).then_some(self.k);
        Ok(finish(
            arch,
            Policy::Uniform(self.clone()),
            format!("K = {} on every layer, K_e = {k_embed}", self.k),
            None,
            None,
            Vec::new(),
            k_layers,
            k_embed,
            reference,
        ))
    }
}

fn default_ratio() -> f64 {
    PAPER_RATIO
}
fn one() -> usize {
    1
}
fn default_k_embed() -> usize {
    PAPER_K_EMBED
}

/// `er_ratio { ratio = 0.62, rounding = "nearest", min_k = 1, max_k, multiple_of = 1, k_embed = 32 }`.
///
/// K_l = m · rounding(ER_l / (ratio · m)) with m = `multiple_of`, then clamped to the multiples of
/// m in `[min_k, max_k]` (`max_k` defaults to the largest rank the layer's matrices allow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErRatio {
    /// ER per unit of K (paper: 0.62).
    #[serde(default = "default_ratio")]
    pub ratio: f64,
    /// How ER / ratio becomes an integer.
    #[serde(default)]
    pub rounding: Rounding,
    /// Smallest K (≥ 1).
    #[serde(default = "one")]
    pub min_k: usize,
    /// Largest K; defaults to min(d_in, d_out) over the layer's matrices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_k: Option<usize>,
    /// Every K is a multiple of this (1: any integer).
    #[serde(default = "one")]
    pub multiple_of: usize,
    /// K_e (paper: 32). The decision is compared with uniform K_e.
    #[serde(default = "default_k_embed")]
    pub k_embed: usize,
}

impl Default for ErRatio {
    fn default() -> Self {
        ErRatio {
            ratio: PAPER_RATIO,
            rounding: Rounding::Nearest,
            min_k: 1,
            max_k: None,
            multiple_of: 1,
            k_embed: PAPER_K_EMBED,
        }
    }
}

/// Checks a per-layer ER list: one finite positive value per layer.
pub fn validate_er(arch: &Architecture, er: &[f64]) -> Result<(), PolicyError> {
    if er.len() != arch.n_layers {
        return Err(PolicyError::ErCount { got: er.len(), expected: arch.n_layers });
    }
    for (layer, &value) in er.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(PolicyError::BadEr { layer, value });
        }
    }
    Ok(())
}

/// Checks a per-layer rank bound (`what` names the setting) against every layer matrix.
fn check_layer_bound(arch: &Architecture, what: &str, k: usize) -> Result<(), PolicyError> {
    if k == 0 {
        return Err(SpecError::ZeroRank { what: what.to_string() }.into());
    }
    for m in LayerMatrix::ALL {
        let (d_in, d_out) = m.shape(arch);
        if k > d_in.min(d_out) {
            return Err(SpecError::RankTooLarge {
                what: format!("{what} (limited by {})", m.name()),
                k,
                max: d_in.min(d_out),
                d_in,
                d_out,
            }
            .into());
        }
    }
    Ok(())
}

/// Validated `[min_k, max_k]` clamp bounds.
fn clamp_bounds(
    arch: &Architecture,
    min_k: usize,
    max_k: Option<usize>,
) -> Result<(usize, usize), PolicyError> {
    check_layer_bound(arch, "min_k", min_k)?;
    let max_k = match max_k {
        Some(m) => {
            check_layer_bound(arch, "max_k", m)?;
            m
        }
        None => arch.max_layer_k(),
    };
    if min_k > max_k {
        return Err(PolicyError::MinAboveMax { min_k, max_k });
    }
    Ok((min_k, max_k))
}

impl ErRatio {
    /// The effective `[lo, hi]`: the multiples of `multiple_of` within `[min_k, max_k]`.
    pub fn bounds(&self, arch: &Architecture) -> Result<(usize, usize), PolicyError> {
        if !(self.ratio.is_finite() && self.ratio > 0.0) {
            return Err(PolicyError::BadRatio { ratio: self.ratio });
        }
        if self.multiple_of == 0 {
            return Err(PolicyError::ZeroMultiple);
        }
        let (min_k, max_k) = clamp_bounds(arch, self.min_k, self.max_k)?;
        let m = self.multiple_of;
        let lo = min_k.div_ceil(m) * m;
        let hi = max_k / m * m;
        if lo > hi || lo == 0 {
            return Err(PolicyError::NoMultipleInRange { multiple_of: m, min_k, max_k });
        }
        Ok((lo, hi))
    }

    /// K for one ER value within `[lo, hi]`, and the line explaining it.
    fn k_for(&self, layer: usize, er: f64, lo: usize, hi: usize) -> (usize, String) {
        let raw = er / self.ratio;
        let m = self.multiple_of;
        // `as usize` saturates, so an absurd ER lands on `hi` after the clamp.
        let rounded = self.rounding.apply(raw / m as f64).max(0.0) as usize;
        let unclamped = rounded.saturating_mul(m);
        let k = unclamped.clamp(lo, hi);
        let mut line = format!(
            "layer {layer}: ER {er:.2} / {} = {raw:.2} → {}{} = {unclamped}",
            self.ratio,
            self.rounding.name(),
            if m > 1 { format!(" to a multiple of {m}") } else { String::new() },
        );
        if k > unclamped {
            line.push_str(&format!(", raised to the minimum {lo}"));
        } else if k < unclamped {
            line.push_str(&format!(", lowered to the maximum {hi}"));
        }
        (k, line)
    }

    /// K per layer from per-layer ER (validated first).
    pub fn decide(&self, arch: &Architecture, er: &[f64]) -> Result<Decision, PolicyError> {
        let (lo, hi) = self.bounds(arch)?;
        validate_er(arch, er)?;
        arch.check_embed_k(self.k_embed)?;
        let (k_layers, derivation): (Vec<usize>, Vec<String>) =
            er.iter().enumerate().map(|(l, &e)| self.k_for(l, e, lo, hi)).unzip();
        let summary = format!(
            "K_l = {}(ER_l / {}){}, clamped to [{lo}, {hi}]; K_e = {} (compared with uniform_{})",
            self.rounding.name(),
            self.ratio,
            if self.multiple_of > 1 {
                format!(" to a multiple of {}", self.multiple_of)
            } else {
                String::new()
            },
            self.k_embed,
            self.k_embed
        );
        Ok(finish(
            arch,
            Policy::ErRatio(self.clone()),
            summary,
            Some(er.to_vec()),
            None,
            derivation,
            k_layers,
            self.k_embed,
            Some(self.k_embed),
        ))
    }
}

/// `budget_matched { reference_k, k_embed = reference_k, min_k = 1, max_k }`.
///
/// The budget is uniform `reference_k`'s trainable-parameter count (layers and embedding). K_e is
/// `k_embed`; what remains buys per-layer ranks proportional to ER (see [`crate::budget`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetMatched {
    /// The uniform K whose parameter count is the budget.
    pub reference_k: usize,
    /// K_e; defaults to `reference_k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_embed: Option<usize>,
    /// Smallest per-layer K.
    #[serde(default = "one")]
    pub min_k: usize,
    /// Largest per-layer K; defaults to min(d_in, d_out) over the layer's matrices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_k: Option<usize>,
}

impl BudgetMatched {
    /// The budget in parameters: uniform `reference_k` on every layer and the embedding.
    pub fn budget(&self, arch: &Architecture) -> Result<usize, PolicyError> {
        check_layer_bound(arch, "reference_k", self.reference_k)?;
        arch.check_embed_k(self.reference_k)?;
        Ok(arch.trainable_params(&vec![self.reference_k; arch.n_layers], self.reference_k))
    }

    /// Per-layer K proportional to ER within the budget.
    pub fn decide(&self, arch: &Architecture, er: &[f64]) -> Result<Decision, PolicyError> {
        let budget = self.budget(arch)?;
        let k_embed = self.k_embed.unwrap_or(self.reference_k);
        arch.check_embed_k(k_embed)?;
        let (lo, hi) = clamp_bounds(arch, self.min_k, self.max_k)?;
        validate_er(arch, er)?;
        let n = arch.n_layers;
        let unit = arch.layer_unit_cost();
        let embed_cost = arch.embed_unit_cost() * k_embed;
        // Every layer of this architecture costs the same per unit of K, so the layers' share of
        // the budget is a whole number of "seats" (units of K) plus a remainder that no layer
        // can use.
        let needed = embed_cost + unit * n * lo;
        if budget < needed {
            return Err(PolicyError::BudgetTooSmall {
                budget,
                k_embed,
                min_k: lo,
                n_layers: n,
                needed,
            });
        }
        let seats = (budget - embed_cost) / unit;
        if seats > n * hi {
            return Err(PolicyError::BudgetTooLarge {
                budget,
                k_embed,
                max_k: hi,
                n_layers: n,
                most: embed_cost + unit * n * hi,
            });
        }
        let a = apportion(er, seats, lo, hi)?;
        let derivation = er
            .iter()
            .zip(&a.quotas)
            .zip(&a.k)
            .enumerate()
            .map(|(l, ((e, q), k))| format!("layer {l}: ER {e:.2} → quota {q:.2} → K {k}"))
            .chain(std::iter::once(format!(
                "Σ K_l = {} of {seats} seats ({} params each); budget {} − K_e cost {} = {}",
                a.k.iter().sum::<usize>(),
                thousands(unit),
                thousands(budget),
                thousands(embed_cost),
                thousands(budget - embed_cost)
            )))
            .collect();
        let summary = format!(
            "K_l ∝ ER_l (quota = {seats}·ER_l/ΣER), integers in [{lo}, {hi}], monotone in ER, \
             params ≤ uniform_{}'s {}; K_e = {k_embed}",
            self.reference_k,
            thousands(budget)
        );
        Ok(finish(
            arch,
            Policy::BudgetMatched(self.clone()),
            summary,
            Some(er.to_vec()),
            None,
            derivation,
            a.k,
            k_embed,
            Some(self.reference_k),
        ))
    }
}

/// One row of a step-budget table: runs of at least `from_steps` steps (up to the next row) get K.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBand {
    /// Lower bound, inclusive.
    pub from_steps: u64,
    /// K on every layer and the embedding.
    pub k: usize,
}

/// The combined rule of Papers 81–84: < 10 steps → 8; 10–30 → 32; 30–60 → 64; 60+ → 2.
///
/// The paper's bands share their end points ("10–30", "30–60"). We read them as half-open
/// intervals [0, 10), [10, 30), [30, 60), [60, ∞): "< 10" excludes 10, so 10 starts the second
/// band, and by the same reading 30 starts the third and 60 the fourth ("60+").
pub fn paper_step_table() -> Vec<StepBand> {
    vec![
        StepBand { from_steps: 0, k: 8 },
        StepBand { from_steps: 10, k: 32 },
        StepBand { from_steps: 30, k: 64 },
        StepBand { from_steps: 60, k: 2 },
    ]
}

/// `step_budget { table }`: K by run length, half-open bands `[from_steps, next from_steps)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBudget {
    /// Rows in increasing `from_steps`, the first from 0. Defaults to the paper's.
    #[serde(default = "paper_step_table")]
    pub table: Vec<StepBand>,
}

impl Default for StepBudget {
    fn default() -> Self {
        StepBudget { table: paper_step_table() }
    }
}

impl StepBudget {
    /// Checks the table's shape and ranks.
    pub fn validate(&self, arch: &Architecture) -> Result<(), PolicyError> {
        let fix = "write rows in increasing from_steps, the first with from_steps = 0".to_string();
        match self.table.first() {
            None => {
                return Err(PolicyError::BadTable { what: "the step table is empty".into(), fix });
            }
            Some(first) if first.from_steps != 0 => {
                return Err(PolicyError::BadTable {
                    what: format!("the step table starts at {} steps, not 0", first.from_steps),
                    fix,
                });
            }
            Some(_) => {}
        }
        for w in self.table.windows(2) {
            if w[1].from_steps <= w[0].from_steps {
                return Err(PolicyError::BadTable {
                    what: format!(
                        "step table rows from {} and from {} are not increasing",
                        w[0].from_steps, w[1].from_steps
                    ),
                    fix,
                });
            }
        }
        for row in &self.table {
            check_layer_bound(arch, "step table K", row.k)?;
            arch.check_embed_k(row.k)?;
        }
        Ok(())
    }

    /// The row that applies to a run of `steps` steps.
    pub fn band(&self, steps: u64) -> Option<(usize, &StepBand)> {
        self.table.iter().enumerate().rev().find(|(_, b)| b.from_steps <= steps)
    }

    /// Uniform K for a run of `steps` steps.
    pub fn decide(&self, arch: &Architecture, steps: u64) -> Result<Decision, PolicyError> {
        self.validate(arch)?;
        let (chosen, band) = self.band(steps).ok_or_else(|| PolicyError::BadTable {
            what: "no step table row applies".into(),
            fix: "start the table at from_steps = 0".into(),
        })?;
        let derivation = self
            .table
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let range = match self.table.get(i + 1) {
                    Some(next) => format!("[{}, {})", b.from_steps, next.from_steps),
                    None => format!("[{}, ∞)", b.from_steps),
                };
                let mark = if i == chosen { "  ← chosen" } else { "" };
                format!("steps {range} → K = {}{mark}", b.k)
            })
            .collect();
        let k = band.k;
        Ok(finish(
            arch,
            Policy::StepBudget(self.clone()),
            format!("K by run length (half-open bands): {steps} steps → K = {k} everywhere"),
            None,
            Some(steps),
            derivation,
            vec![k; arch.n_layers],
            k,
            None,
        ))
    }
}

/// Assembles a decision and its explanation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    arch: &Architecture,
    policy: Policy,
    summary: String,
    er: Option<Vec<f64>>,
    steps: Option<u64>,
    derivation: Vec<String>,
    k_layers: Vec<usize>,
    k_embed: usize,
    reference_k: Option<usize>,
) -> Decision {
    let params = arch.trainable_params(&k_layers, k_embed);
    let mean_k = if k_layers.is_empty() {
        0.0
    } else {
        k_layers.iter().sum::<usize>() as f64 / k_layers.len() as f64
    };
    let explanation = Explanation {
        rule: policy.name().to_string(),
        summary,
        policy,
        er,
        steps,
        derivation,
        k_layers: k_layers.clone(),
        k_embed,
        mean_k,
        layer_unit_cost: arch.layer_unit_cost(),
        embed_unit_cost: arch.embed_unit_cost(),
        params,
        reference: reference_k.map(|k| Reference::uniform(arch, k, params)),
    };
    Decision { k_layers, k_embed, explanation }
}
