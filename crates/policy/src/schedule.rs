//! Rank schedules for Paper 81 (SPEC §5): K as a function of the training step.
//!
//! A [`Schedule`] is data (`schedule = "grow"`, …, unknown keys rejected):
//!
//! - `fixed { k }`: the fixed-K baselines (K = 64 and K = 8 in Paper 81);
//! - `grow { ks = [8, 16, 32, 64] }` and `shrink { ks = [64, 32, 16, 8] }`: stage i of s starts at
//!   fraction i/s of the run (0, 25, 50, 75% for four stages);
//! - `piecewise { points = [{ step = 0, k = 8 }, { fraction = 0.5, k = 32 }] }`: the general form;
//! - `er_tracking { every = 10, rule = { … } }`: re-decide K_l = round(ER_l / ratio) from freshly
//!   measured ER every `every` steps ([`ErTracker`]).
//!
//! K_e follows K in the static schedules (every adapter changes rank together); ER tracking
//! keeps its rule's K_e. A fractional change point lands on step round(fraction · total_steps),
//! halves away from zero. [`Schedule::plan`] resolves a schedule for a run of known length.

use modelspec::Architecture;
use serde::{Deserialize, Serialize};

use crate::PolicyError;
use crate::explain::Decision;
use crate::rules::{ErRatio, validate_er};

/// A rank schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schedule", rename_all = "snake_case")]
pub enum Schedule {
    /// The same K throughout.
    Fixed(Fixed),
    /// Increasing K in equal stages.
    Grow(Grow),
    /// Decreasing K in equal stages.
    Shrink(Shrink),
    /// K from listed change points.
    Piecewise(Piecewise),
    /// K re-decided from measured ER every N steps.
    ErTracking(ErTracking),
}

/// `fixed { k }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixed {
    /// K on every layer and the embedding.
    pub k: usize,
}

fn grow_default() -> Vec<usize> {
    vec![8, 16, 32, 64]
}
fn shrink_default() -> Vec<usize> {
    vec![64, 32, 16, 8]
}

/// `grow { ks = [8, 16, 32, 64] }`: strictly increasing Ks in equal stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grow {
    /// K per stage.
    #[serde(default = "grow_default")]
    pub ks: Vec<usize>,
}

/// `shrink { ks = [64, 32, 16, 8] }`: strictly decreasing Ks in equal stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shrink {
    /// K per stage.
    #[serde(default = "shrink_default")]
    pub ks: Vec<usize>,
}

/// A change point: from `step` (or `fraction` of the run) on, K is `k`. Give exactly one of
/// `step` and `fraction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulePoint {
    /// Absolute step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// Fraction of the run in [0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// K from here on.
    pub k: usize,
}

/// `piecewise { points }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Piecewise {
    /// Change points; the first must be at step 0 (or fraction 0).
    pub points: Vec<SchedulePoint>,
}

fn default_every() -> u64 {
    10
}

/// `er_tracking { every = 10, initial_k, rule = { ratio = 0.62, … } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErTracking {
    /// Re-decide every this many steps (paper: 10).
    #[serde(default = "default_every")]
    pub every: u64,
    /// Uniform K until the first re-decision at step `every`. Unset (default): K is decided
    /// from ER measured at step 0 too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_k: Option<usize>,
    /// The rule applied to each fresh ER measurement.
    #[serde(default)]
    pub rule: ErRatio,
}

/// K per layer and K_e from `step` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePoint {
    /// First step with these ranks.
    pub step: u64,
    /// K_l.
    pub k_layers: Vec<usize>,
    /// K_e.
    pub k_embed: usize,
}

/// A schedule resolved for a run: static, or driven by measured ER.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Ranks known in advance.
    Static(StaticSchedule),
    /// Ranks decided during the run.
    Tracking(ErTracker),
}

impl Plan {
    /// Ranks in force at `step` (for a tracker: as decided so far).
    pub fn k_at(&self, step: u64) -> (Vec<usize>, usize) {
        match self {
            Plan::Static(s) => s.k_at(step),
            Plan::Tracking(t) => t.k_at(step),
        }
    }

    /// The change points (for a tracker: the decisions so far).
    pub fn change_points(&self) -> &[ChangePoint] {
        match self {
            Plan::Static(s) => s.change_points(),
            Plan::Tracking(t) => t.change_points(),
        }
    }
}

/// A schedule whose ranks are known for every step: piecewise constant between change points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticSchedule {
    /// The run length the fractions were resolved against.
    total_steps: u64,
    /// Change points in strictly increasing step order, the first at step 0 (never empty).
    changes: Vec<ChangePoint>,
}

impl StaticSchedule {
    /// Ranks in force at `step` (the last change point at or before it; after the run, the last).
    pub fn k_at(&self, step: u64) -> (Vec<usize>, usize) {
        // The first change point is at step 0, so one always matches.
        match self.changes.iter().rev().find(|c| c.step <= step) {
            Some(c) => (c.k_layers.clone(), c.k_embed),
            None => (Vec::new(), 0),
        }
    }

    /// The run length the schedule was resolved for.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// The change points.
    pub fn change_points(&self) -> &[ChangePoint] {
        &self.changes
    }
}

fn bad(what: String, fix: &str) -> PolicyError {
    PolicyError::BadTable { what, fix: fix.to_string() }
}

fn fraction_step(fraction: f64, total_steps: u64) -> Result<u64, PolicyError> {
    if !(fraction.is_finite() && (0.0..1.0).contains(&fraction)) {
        return Err(bad(
            format!("schedule fraction {fraction} is outside [0, 1)"),
            "give fractions of the run from 0 up to (not including) 1",
        ));
    }
    Ok((fraction * total_steps as f64).round() as u64)
}

fn check_k(arch: &Architecture, k: usize) -> Result<(), PolicyError> {
    for l in 0..arch.n_layers {
        arch.check_layer_k(l, k)?;
    }
    arch.check_embed_k(k)?;
    Ok(())
}

impl Schedule {
    /// The schedule's name as written in configs.
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Fixed(_) => "fixed",
            Schedule::Grow(_) => "grow",
            Schedule::Shrink(_) => "shrink",
            Schedule::Piecewise(_) => "piecewise",
            Schedule::ErTracking(_) => "er_tracking",
        }
    }

    /// Resolves the schedule for a run of `total_steps` steps on `arch`, validating it.
    pub fn plan(&self, arch: &Architecture, total_steps: u64) -> Result<Plan, PolicyError> {
        arch.validate()?;
        if total_steps == 0 {
            return Err(PolicyError::ZeroSteps);
        }
        let stages = |ks: &[usize], increasing: bool| -> Result<Vec<(u64, usize)>, PolicyError> {
            if ks.is_empty() {
                return Err(bad(format!("{} has no stages", self.name()), "list at least one K"));
            }
            for w in ks.windows(2) {
                let ok = if increasing { w[1] > w[0] } else { w[1] < w[0] };
                if !ok {
                    return Err(bad(
                        format!(
                            "{} stages {} then {} are not strictly {}",
                            self.name(),
                            w[0],
                            w[1],
                            if increasing { "increasing" } else { "decreasing" }
                        ),
                        if increasing {
                            "list Ks from small to large, or use shrink"
                        } else {
                            "list Ks from large to small, or use grow"
                        },
                    ));
                }
            }
            ks.iter()
                .enumerate()
                .map(|(i, &k)| Ok((fraction_step(i as f64 / ks.len() as f64, total_steps)?, k)))
                .collect()
        };
        let points: Vec<(u64, usize)> = match self {
            Schedule::Fixed(f) => vec![(0, f.k)],
            Schedule::Grow(g) => stages(&g.ks, true)?,
            Schedule::Shrink(s) => stages(&s.ks, false)?,
            Schedule::Piecewise(p) => p
                .points
                .iter()
                .map(|pt| match (pt.step, pt.fraction) {
                    (Some(s), None) => Ok((s, pt.k)),
                    (None, Some(f)) => Ok((fraction_step(f, total_steps)?, pt.k)),
                    _ => Err(bad(
                        format!(
                            "a schedule point (k = {}) has both or neither of step and fraction",
                            pt.k
                        ),
                        "give exactly one of `step` or `fraction` per point",
                    )),
                })
                .collect::<Result<_, _>>()?,
            Schedule::ErTracking(t) => {
                return ErTracker::new(arch, t.clone(), total_steps).map(Plan::Tracking);
            }
        };
        match points.first() {
            Some((0, _)) => {}
            Some((s, _)) => {
                return Err(bad(
                    format!("the schedule starts at step {s}, not 0"),
                    "make the first point step = 0 (or fraction = 0)",
                ));
            }
            None => {
                return Err(bad("the schedule has no points".into(), "list at least one point"));
            }
        }
        for w in points.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(bad(
                    format!(
                        "schedule points fall on steps {} then {} in a {total_steps}-step run",
                        w[0].0, w[1].0
                    ),
                    "list points in increasing step order, or use more steps or fewer stages",
                ));
            }
        }
        if let Some((s, _)) = points.last().filter(|(s, _)| *s >= total_steps) {
            return Err(bad(
                format!("a schedule point at step {s} is past the {total_steps}-step run"),
                "move it before the run's end or lengthen the run",
            ));
        }
        let mut changes = Vec::with_capacity(points.len());
        for (step, k) in points {
            check_k(arch, k)?;
            changes.push(ChangePoint { step, k_layers: vec![k; arch.n_layers], k_embed: k });
        }
        Ok(Plan::Static(StaticSchedule { total_steps, changes }))
    }
}

/// Runs `er_tracking` during training: the pipeline measures per-layer ER at each
/// [`ErTracker::decision_steps`] step and hands it to [`ErTracker::decide`], which applies the
/// rule and records the change.
#[derive(Debug, Clone, PartialEq)]
pub struct ErTracker {
    arch: Architecture,
    config: ErTracking,
    total_steps: u64,
    changes: Vec<ChangePoint>,
    decisions: Vec<Decision>,
}

impl ErTracker {
    /// Validates the configuration (rule, initial K, `every`) for a run of `total_steps`.
    pub fn new(
        arch: &Architecture,
        config: ErTracking,
        total_steps: u64,
    ) -> Result<Self, PolicyError> {
        if config.every == 0 {
            return Err(PolicyError::ZeroEvery);
        }
        if total_steps == 0 {
            return Err(PolicyError::ZeroSteps);
        }
        config.rule.bounds(arch)?;
        arch.check_embed_k(config.rule.k_embed)?;
        let mut changes = Vec::new();
        if let Some(k) = config.initial_k {
            for l in 0..arch.n_layers {
                arch.check_layer_k(l, k)?;
            }
            changes.push(ChangePoint {
                step: 0,
                k_layers: vec![k; arch.n_layers],
                k_embed: config.rule.k_embed,
            });
        }
        Ok(ErTracker { arch: arch.clone(), config, total_steps, changes, decisions: Vec::new() })
    }

    /// Steps at which fresh ER is needed: 0 (unless `initial_k` is set), every, 2·every, … <
    /// total_steps.
    pub fn decision_steps(&self) -> Vec<u64> {
        let start = if self.config.initial_k.is_some() { self.config.every } else { 0 };
        (start..self.total_steps).step_by(self.config.every as usize).collect()
    }

    /// Whether `step` is a decision step.
    pub fn is_decision_step(&self, step: u64) -> bool {
        step < self.total_steps
            && step.is_multiple_of(self.config.every)
            && (step > 0 || self.config.initial_k.is_none())
    }

    /// Applies the rule to ER measured at `step` (a decision step, after the previous one);
    /// records and returns the decision.
    pub fn decide(&mut self, step: u64, er: &[f64]) -> Result<Decision, PolicyError> {
        if !self.is_decision_step(step) {
            return Err(bad(
                format!(
                    "step {step} is not an ER-tracking decision step (every {} steps)",
                    self.config.every
                ),
                "call decide at the steps decision_steps() lists",
            ));
        }
        if let Some(last) = self.changes.last().filter(|c| c.step >= step) {
            return Err(bad(
                format!("step {step} is not after the last decision (step {})", last.step),
                "decide once per decision step, in order",
            ));
        }
        validate_er(&self.arch, er)?;
        let decision = self.config.rule.decide(&self.arch, er)?;
        self.changes.push(ChangePoint {
            step,
            k_layers: decision.k_layers.clone(),
            k_embed: decision.k_embed,
        });
        self.decisions.push(decision.clone());
        Ok(decision)
    }

    /// Ranks in force at `step` as decided so far. Before the first decision (only possible
    /// without `initial_k`, before step 0's ER is given) this is uniform K_e, the rule's reference.
    pub fn k_at(&self, step: u64) -> (Vec<usize>, usize) {
        match self.changes.iter().rev().find(|c| c.step <= step) {
            Some(c) => (c.k_layers.clone(), c.k_embed),
            None => (vec![self.config.rule.k_embed; self.arch.n_layers], self.config.rule.k_embed),
        }
    }

    /// The change points so far.
    pub fn change_points(&self) -> &[ChangePoint] {
        &self.changes
    }

    /// The decisions so far, with their explanations.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }
}
