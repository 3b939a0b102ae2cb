//! Planning: expands a study into distinct runs and the manifest entries that read them
//! (SPEC §5 and §7).
//!
//! A *trajectory* is one adaptation run: (base, starting ranks, rank schedule, seed). Every
//! paper scheme is a read of some trajectory after `at_step` updates. Schemes with the same
//! trajectory share it: Paper 83's uniform K=32 is Paper 84's `uniform_32` and Paper 85's K=32,
//! Paper 81's fixed K=8 is Paper 82's K=8 curve, and every Paper 82 budget is a prefix of the
//! largest one. A trajectory is trained to the most steps any scheme reads of it, evaluated at
//! the union of the steps they read (plus every `eval_interval`), and measured at the union of
//! their ER and probe steps; all of that is part of its id. The honest consequence: planning a
//! different set of papers can change a trajectory's needs and so its id, and the run is then
//! computed again (the old record stays in the store, unused).
//!
//! Runs whose ranks come from measurements of another run (Paper 84's adaptive scheme and Paper
//! 81's ER-tracking, from Paper 83's natural ER) are *deferred*: they are resolved into requests
//! once their source run's record exists, and their id includes the ER values used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use modelspec::{AdapterConfig, Architecture};
use records::{DataRef, GradKind, RunRecord, TrainSettings};

use crate::request::{
    AdaptRequest, AdaptSpec, BaseRequest, BaseSpec, DataIdentity, DataSpec, ErProvenance,
    MeasureSpec, Probe, RankPhase, RankRule, RankSchedule, TRAINING_CODE_VERSION, content_id,
};
use crate::spec::{ErRanks, Study};

/// The papers the pipeline knows, in dependency order of their stages.
pub const STAGE_ORDER: [u32; 5] = [83, 84, 82, 81, 85];

/// Papers run when the caller does not say (Paper 85 is opt-in: its wide base is expensive).
pub const DEFAULT_PAPERS: [u32; 4] = [81, 82, 83, 84];

/// Which run a manifest entry reads, before every id is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A base run.
    Base(usize),
    /// A trajectory (index into [`Plan::adapt`]).
    Adapt(usize),
    /// A deferred run (index into [`Plan::deferred`]).
    Deferred(usize),
}

/// One scheme of one paper at one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Paper.
    pub paper: u32,
    /// Scheme label.
    pub scheme: String,
    /// Seed.
    pub seed: u64,
    /// The run read.
    pub target: Target,
    /// After this many updates.
    pub at_step: usize,
    /// Coordinates.
    pub tags: BTreeMap<String, f64>,
}

/// How a deferred run derives its ranks.
#[derive(Debug, Clone, PartialEq)]
pub enum DeferredKind {
    /// Fixed per-layer ranks from the source's ER (Paper 84).
    Adaptive,
    /// Initial ranks from the source's ER, then re-measured every `every` steps (Paper 81).
    ErTracking {
        /// Interval.
        every: usize,
    },
}

/// A run whose request depends on another run's measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// Label.
    pub label: String,
    /// Stage it belongs to (`p84`, `p81`).
    pub stage: String,
    /// Base index.
    pub base: usize,
    /// Seed.
    pub seed: u64,
    /// The trajectory whose natural ER is used.
    pub source: usize,
    /// Rule settings.
    pub ranks: ErRanks,
    /// How the ranks are used.
    pub kind: DeferredKind,
    /// Steps.
    pub steps: usize,
    /// Evaluation steps.
    pub eval_steps: Vec<usize>,
    /// ER measurement steps.
    pub er_steps: Vec<usize>,
}

/// The expanded study.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Base runs (the profile's architecture first; Paper 85's wide one second if planned).
    pub bases: Vec<BaseRequest>,
    /// Trajectories whose requests are known now.
    pub adapt: Vec<AdaptRequest>,
    /// Stage each of `adapt` is attributed to (the first stage in [`STAGE_ORDER`] needing it).
    pub adapt_stage: Vec<String>,
    /// Base index of each of `adapt`.
    pub adapt_base: Vec<usize>,
    /// Runs resolved later.
    pub deferred: Vec<Deferred>,
    /// Manifest entries.
    pub entries: Vec<Entry>,
    /// Steps of every run requested by a paper or a dependency, before sharing.
    pub steps_requested: usize,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Papers.
    pub papers: Vec<u32>,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A paper number that does not exist.
    #[error("unknown paper {0}; the pipeline runs papers 81, 82, 83, 84 and 85")]
    UnknownPaper(u32),
    /// Zero seeds.
    #[error("0 seeds requested; run at least one seed")]
    NoSeeds,
    /// A source record lacks the measurements a deferred run needs.
    #[error(
        "run {run_id} has no natural ER ({convention}) for layer {layer} at steps {steps:?}; re-run it with --force"
    )]
    MissingEr {
        /// Source run.
        run_id: String,
        /// Convention.
        convention: String,
        /// Layer.
        layer: usize,
        /// Steps.
        steps: Vec<usize>,
    },
    /// The rank rule rejected the measured ER.
    #[error("ranks from the ER of run {run_id}: {reason}")]
    Rule {
        /// Source run.
        run_id: String,
        /// Why.
        reason: String,
    },
}

/// Accumulates the needs of one trajectory.
#[derive(Debug, Clone)]
struct TrajBuilder {
    label: String,
    stage: String,
    base: usize,
    adapter: AdapterConfig,
    schedule: RankSchedule,
    seed: u64,
    steps: usize,
    reads: BTreeSet<usize>,
    er_steps: BTreeSet<usize>,
    probe: Option<(usize, usize, BTreeSet<usize>)>,
}

struct Planner<'a> {
    study: &'a Study,
    base_archs: Vec<Architecture>,
    trajs: Vec<TrajBuilder>,
    by_key: BTreeMap<String, usize>,
    entries: Vec<Entry>,
    deferred: Vec<Deferred>,
    steps_requested: usize,
}

fn tags(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Evaluation steps: 0, every `interval`, the last step, and every step read.
fn eval_steps(steps: usize, interval: usize, reads: &BTreeSet<usize>) -> Vec<usize> {
    let mut s: BTreeSet<usize> = (0..=steps).step_by(interval.max(1)).collect();
    s.insert(steps);
    s.extend(reads.iter().copied().filter(|&r| r <= steps));
    s.into_iter().collect()
}

impl<'a> Planner<'a> {
    fn uniform(&self, base: usize, k: usize, k_embed: usize) -> AdapterConfig {
        let p = &self.study.profile;
        AdapterConfig {
            k_layers: vec![k; self.base_archs[base].n_layers],
            k_embed,
            scale: p.scale,
            alpha: p.alpha,
        }
    }

    /// Adds (or merges into) the trajectory with this configuration and returns its index.
    #[allow(clippy::too_many_arguments)]
    fn traj(
        &mut self,
        label: &str,
        stage: &str,
        base: usize,
        adapter: AdapterConfig,
        schedule: RankSchedule,
        seed: u64,
        steps: usize,
        er_steps: &[usize],
    ) -> usize {
        let key = serde_json::to_string(&(base, &adapter, &schedule, seed)).unwrap_or_default();
        let idx = *self.by_key.entry(key).or_insert_with(|| {
            self.trajs.push(TrajBuilder {
                label: label.to_string(),
                stage: stage.to_string(),
                base,
                adapter,
                schedule,
                seed,
                steps: 0,
                reads: BTreeSet::new(),
                er_steps: BTreeSet::new(),
                probe: None,
            });
            self.trajs.len() - 1
        });
        let t = &mut self.trajs[idx];
        t.steps = t.steps.max(steps);
        t.reads.insert(steps);
        t.er_steps.extend(er_steps.iter().copied());
        idx
    }

    fn entry(
        &mut self,
        paper: u32,
        scheme: String,
        seed: u64,
        target: Target,
        at: usize,
        t: BTreeMap<String, f64>,
    ) {
        self.steps_requested += at;
        self.entries.push(Entry { paper, scheme, seed, target, at_step: at, tags: t });
    }

    /// The Paper 83 trajectory an ER-derived scheme reads (added if Paper 83 is not planned).
    fn er_source(&mut self, ranks: &ErRanks, seed: u64, p83_planned: bool) -> usize {
        let p83 = &self.study.p83;
        let actual = p83.ks.iter().find(|(n, _)| *n == ranks.source_k).map_or(1, |p| p.1);
        let before = self.trajs.len();
        let a = self.uniform(0, actual, actual);
        let steps = p83.steps;
        let er = p83.er_steps.clone();
        let idx = self.traj(
            &format!("uniform_{}", ranks.source_k),
            "p83",
            0,
            a,
            RankSchedule::Fixed,
            seed,
            steps,
            &er,
        );
        if !p83_planned && self.trajs.len() > before {
            // A dependency no paper reads: its steps are requested all the same.
            self.steps_requested += steps;
        }
        idx
    }
}

impl Plan {
    /// Expands `study` for these papers and seeds, with checkpoints under `store/checkpoints/`.
    pub fn new(
        study: &Study,
        papers: &[u32],
        seeds: &[u64],
        data: &DataIdentity,
        store: &Path,
    ) -> Result<Plan, PlanError> {
        if let Some(&p) = papers.iter().find(|p| !STAGE_ORDER.contains(p)) {
            return Err(PlanError::UnknownPaper(p));
        }
        if seeds.is_empty() {
            return Err(PlanError::NoSeeds);
        }
        let profile = &study.profile;
        let want = |p: u32| papers.contains(&p);
        let mut base_archs = vec![profile.arch.clone()];
        if want(85) {
            base_archs.push(study.p85.wide_arch.clone());
        }
        let mut pl = Planner {
            study,
            base_archs,
            trajs: Vec::new(),
            by_key: BTreeMap::new(),
            entries: Vec::new(),
            deferred: Vec::new(),
            steps_requested: 0,
        };

        for &paper in STAGE_ORDER.iter().filter(|p| want(**p)) {
            for &seed in seeds {
                match paper {
                    83 => {
                        let p = &study.p83;
                        for &(nominal, k) in &p.ks {
                            let a = pl.uniform(0, k, k);
                            let label = format!("uniform_{nominal}");
                            let er = p.er_steps.clone();
                            let t = pl.traj(
                                &label,
                                "p83",
                                0,
                                a,
                                RankSchedule::Fixed,
                                seed,
                                p.steps,
                                &er,
                            );
                            pl.entry(
                                83,
                                label,
                                seed,
                                Target::Adapt(t),
                                p.steps,
                                tags(&[("k", nominal as f64)]),
                            );
                        }
                    }
                    84 => {
                        let p = &study.p84;
                        for &(nominal, k) in &p.uniform_ks {
                            let a = pl.uniform(0, k, k);
                            let label = format!("uniform_{nominal}");
                            let t = pl.traj(
                                &label,
                                "p84",
                                0,
                                a,
                                RankSchedule::Fixed,
                                seed,
                                p.steps,
                                &[],
                            );
                            pl.entry(
                                84,
                                label,
                                seed,
                                Target::Adapt(t),
                                p.steps,
                                tags(&[("k", nominal as f64)]),
                            );
                        }
                        let source = pl.er_source(&p.adaptive, seed, want(83));
                        let reads: BTreeSet<usize> = [p.steps].into();
                        pl.deferred.push(Deferred {
                            label: "adaptive".into(),
                            stage: "p84".into(),
                            base: 0,
                            seed,
                            source,
                            ranks: p.adaptive.clone(),
                            kind: DeferredKind::Adaptive,
                            steps: p.steps,
                            eval_steps: eval_steps(p.steps, profile.eval_interval, &reads),
                            er_steps: Vec::new(),
                        });
                        let d = pl.deferred.len() - 1;
                        pl.entry(
                            84,
                            "adaptive".into(),
                            seed,
                            Target::Deferred(d),
                            p.steps,
                            BTreeMap::new(),
                        );
                    }
                    82 => {
                        let p = &study.p82;
                        let arch = &profile.arch;
                        // B0 = params(K_ref) × reference steps (SPEC §5).
                        let b0 = arch
                            .trainable_params(&vec![p.reference_k; arch.n_layers], p.reference_k)
                            * p.reference_steps;
                        for &(nominal, k) in &p.ks {
                            let params = arch.trainable_params(&vec![k; arch.n_layers], k);
                            let a = pl.uniform(0, k, k);
                            let label = format!("uniform_{nominal}");
                            for &m in &p.budget_multipliers {
                                // steps = max(1, round(m·B0 / params(K))).
                                let steps =
                                    (((m * b0) as f64 / params as f64).round() as usize).max(1);
                                let t = pl.traj(
                                    &label,
                                    "p82",
                                    0,
                                    a.clone(),
                                    RankSchedule::Fixed,
                                    seed,
                                    steps,
                                    &[],
                                );
                                pl.entry(
                                    82,
                                    format!("k{nominal}_budget{m}"),
                                    seed,
                                    Target::Adapt(t),
                                    steps,
                                    tags(&[
                                        ("k", nominal as f64),
                                        ("budget_multiplier", m as f64),
                                        ("steps", steps as f64),
                                    ]),
                                );
                            }
                        }
                    }
                    81 => {
                        let p = &study.p81;
                        for &(nominal, k) in &p.fixed_ks {
                            let a = pl.uniform(0, k, k);
                            let t = pl.traj(
                                &format!("uniform_{nominal}"),
                                "p81",
                                0,
                                a,
                                RankSchedule::Fixed,
                                seed,
                                p.steps,
                                &[],
                            );
                            pl.entry(
                                81,
                                format!("fixed_{nominal}"),
                                seed,
                                Target::Adapt(t),
                                p.steps,
                                tags(&[("k", nominal as f64)]),
                            );
                        }
                        for s in &p.schedules {
                            let n_layers = profile.arch.n_layers;
                            let phases: Vec<RankPhase> = s
                                .phases
                                .iter()
                                .map(|&(step, k)| RankPhase {
                                    step,
                                    k_layers: vec![k; n_layers],
                                    k_embed: k,
                                })
                                .collect();
                            let first = s.phases[0].1;
                            let a = pl.uniform(0, first, first);
                            let t = pl.traj(
                                &s.name,
                                "p81",
                                0,
                                a,
                                RankSchedule::Phases(phases),
                                seed,
                                p.steps,
                                &[],
                            );
                            pl.entry(
                                81,
                                s.name.clone(),
                                seed,
                                Target::Adapt(t),
                                p.steps,
                                BTreeMap::new(),
                            );
                        }
                        let source = pl.er_source(&p.er_tracking, seed, want(83));
                        let reads: BTreeSet<usize> = [p.steps].into();
                        // Record ER at each re-measurement (and at the start and end).
                        let mut er: BTreeSet<usize> = (0..=p.steps).step_by(p.er_every).collect();
                        er.insert(p.steps);
                        pl.deferred.push(Deferred {
                            label: "er_tracking".into(),
                            stage: "p81".into(),
                            base: 0,
                            seed,
                            source,
                            ranks: p.er_tracking.clone(),
                            kind: DeferredKind::ErTracking { every: p.er_every },
                            steps: p.steps,
                            eval_steps: eval_steps(p.steps, profile.eval_interval, &reads),
                            er_steps: er.into_iter().collect(),
                        });
                        let d = pl.deferred.len() - 1;
                        pl.entry(
                            81,
                            "er_tracking".into(),
                            seed,
                            Target::Deferred(d),
                            p.steps,
                            BTreeMap::new(),
                        );
                    }
                    85 => {
                        let p = &study.p85;
                        for (base, prefix) in [(0usize, ""), (1usize, "wide_")] {
                            let d_model = pl.base_archs[base].d_model;
                            for &(nominal, k) in &p.ks {
                                let a = pl.uniform(base, k, k);
                                let t = pl.traj(
                                    &format!("{prefix}uniform_{nominal}"),
                                    "p85",
                                    base,
                                    a,
                                    RankSchedule::Fixed,
                                    seed,
                                    p.steps,
                                    &[],
                                );
                                let tr = &mut pl.trajs[t];
                                let probe = tr.probe.get_or_insert((
                                    p.split_rank,
                                    p.minibatches,
                                    BTreeSet::new(),
                                ));
                                probe.2.extend(p.probe_steps.iter().copied());
                                pl.entry(
                                    85,
                                    format!("{prefix}k{nominal}"),
                                    seed,
                                    Target::Adapt(t),
                                    p.steps,
                                    tags(&[("k", nominal as f64), ("d_model", d_model as f64)]),
                                );
                            }
                        }
                    }
                    _ => return Err(PlanError::UnknownPaper(paper)),
                }
            }
        }

        // Base runs: one per architecture, shared by every seed.
        let base_train = TrainSettings {
            lr: study.base.lr,
            warmup_steps: study.base.warmup_steps,
            weight_decay: study.base.weight_decay,
            ..profile.train.clone()
        };
        let data_spec = |split: &str| DataSpec {
            data: DataRef {
                corpus: data.corpus.clone(),
                corpus_hash: data.corpus_hash.clone(),
                tokenizer_hash: data.tokenizer_hash.clone(),
                split: split.to_string(),
            },
            adapt_fraction: profile.adapt_fraction,
            eval_sequences: profile.eval_sequences,
        };
        let mut bases = Vec::new();
        for (i, arch) in pl.base_archs.iter().enumerate() {
            let spec = BaseSpec {
                code_version: TRAINING_CODE_VERSION.to_string(),
                arch: arch.clone(),
                train: base_train.clone(),
                steps: profile.base_steps,
                eval_steps: eval_steps(
                    profile.base_steps,
                    profile.base_eval_interval,
                    &BTreeSet::new(),
                ),
                seed: study.base.seed,
                data: data_spec("pretrain"),
            };
            let run_id = content_id(&spec);
            pl.steps_requested += spec.steps;
            bases.push(BaseRequest {
                label: if i == 0 { "base".into() } else { "base_wide".into() },
                checkpoint_dir: store.join("checkpoints").join(&run_id),
                run_id,
                spec,
                source: profile.source.clone(),
            });
        }

        let measure = |er_steps: Vec<usize>| MeasureSpec {
            er_steps,
            convention: profile.er_convention.clone(),
            measurement_sequences: profile.measurement_sequences,
        };
        let mut adapt = Vec::new();
        let mut adapt_stage = Vec::new();
        let mut adapt_base = Vec::new();
        for t in &pl.trajs {
            let probes = match &t.probe {
                Some((split_rank, minibatches, steps)) => vec![Probe::FactorGradVariance {
                    steps: steps.iter().copied().collect(),
                    split_rank: *split_rank,
                    minibatches: *minibatches,
                }],
                None => Vec::new(),
            };
            let spec = AdaptSpec {
                code_version: TRAINING_CODE_VERSION.to_string(),
                arch: pl.base_archs[t.base].clone(),
                adapter: t.adapter.clone(),
                schedule: t.schedule.clone(),
                train: profile.train.clone(),
                steps: t.steps,
                eval_steps: eval_steps(t.steps, profile.eval_interval, &t.reads),
                measure: measure(t.er_steps.iter().copied().collect()),
                probes,
                seed: t.seed,
                data: data_spec("adapt"),
                base_run_id: bases[t.base].run_id.clone(),
                derived_from: None,
            };
            let run_id = content_id(&spec);
            adapt.push(AdaptRequest {
                label: t.label.clone(),
                checkpoint_dir: store.join("checkpoints").join(&run_id),
                base_checkpoint: bases[t.base].checkpoint_dir.clone(),
                run_id,
                spec,
                source: profile.source.clone(),
            });
            adapt_stage.push(t.stage.clone());
            adapt_base.push(t.base);
        }

        Ok(Plan {
            bases,
            adapt,
            adapt_stage,
            adapt_base,
            deferred: pl.deferred,
            entries: pl.entries,
            steps_requested: pl.steps_requested,
            seeds: seeds.to_vec(),
            papers: papers.to_vec(),
        })
    }

    /// Steps of every distinct run in the plan (what a fresh store trains).
    pub fn distinct_steps(&self) -> usize {
        self.bases.iter().map(|b| b.spec.steps).sum::<usize>()
            + self.adapt.iter().map(|a| a.spec.steps).sum::<usize>()
            + self.deferred.iter().map(|d| d.steps).sum::<usize>()
    }

    /// A listing of the plan (for a dry run): every distinct run with its stage, seed, steps and
    /// the schemes reading it, then the step totals.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let readers = |t: Target| -> String {
            let v: Vec<String> = self
                .entries
                .iter()
                .filter(|e| e.target == t)
                .map(|e| format!("p{}:{}@{}", e.paper, e.scheme, e.at_step))
                .collect();
            v.join(" ")
        };
        for b in &self.bases {
            let _ = writeln!(out, "base  {:<16} {} {:>6} steps", b.label, b.run_id, b.spec.steps);
        }
        for (i, a) in self.adapt.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<5} {:<16} {} {:>6} steps  seed {}  {}",
                self.adapt_stage[i],
                a.label,
                a.run_id,
                a.spec.steps,
                a.spec.seed,
                readers(Target::Adapt(i))
            );
        }
        for (i, d) in self.deferred.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<5} {:<16} (after {}) {:>6} steps  seed {}  {}",
                d.stage,
                d.label,
                self.adapt[d.source].run_id,
                d.steps,
                d.seed,
                readers(Target::Deferred(i))
            );
        }
        let _ = writeln!(
            out,
            "{} runs, {} steps to train for {} steps requested",
            self.bases.len() + self.adapt.len() + self.deferred.len(),
            self.distinct_steps(),
            self.steps_requested
        );
        out
    }

    /// Resolves a deferred run from its source's record: per-layer natural ER (mean of the
    /// layer's four matrices over the source steps) → ranks by `rule`.
    pub fn resolve(
        &self,
        study: &Study,
        index: usize,
        source: &RunRecord,
        rule: &dyn RankRule,
        store: &Path,
    ) -> Result<AdaptRequest, PlanError> {
        let d = &self.deferred[index];
        let profile = &study.profile;
        let template = &self.adapt[d.source];
        let arch = template.spec.arch.clone();
        let conv = &profile.er_convention;
        let mut layer_er = Vec::with_capacity(arch.n_layers);
        for layer in 0..arch.n_layers {
            let vals: Vec<f64> = source
                .er
                .iter()
                .filter(|e| {
                    e.kind == GradKind::Natural
                        && e.layer == Some(layer)
                        && &e.convention == conv
                        && d.ranks.source_steps.contains(&e.step)
                })
                .map(|e| e.effective_rank)
                .collect();
            if vals.is_empty() {
                return Err(PlanError::MissingEr {
                    run_id: source.run_id.clone(),
                    convention: conv.clone(),
                    layer,
                    steps: d.ranks.source_steps.clone(),
                });
            }
            layer_er.push(vals.iter().sum::<f64>() / vals.len() as f64);
        }
        let k_layers = rule
            .ranks(&arch, &layer_er, d.ranks.er_ratio)
            .map_err(|reason| PlanError::Rule { run_id: source.run_id.clone(), reason })?;
        let adapter = AdapterConfig {
            k_layers,
            k_embed: d.ranks.k_embed,
            scale: profile.scale,
            alpha: profile.alpha,
        };
        let schedule = match d.kind {
            DeferredKind::Adaptive => RankSchedule::Fixed,
            DeferredKind::ErTracking { every } => RankSchedule::ErTracking {
                every,
                er_ratio: d.ranks.er_ratio,
                k_embed: d.ranks.k_embed,
            },
        };
        let spec = AdaptSpec {
            adapter,
            schedule,
            steps: d.steps,
            eval_steps: d.eval_steps.clone(),
            measure: MeasureSpec { er_steps: d.er_steps.clone(), ..template.spec.measure.clone() },
            probes: Vec::new(),
            seed: d.seed,
            derived_from: Some(ErProvenance {
                source_run_id: source.run_id.clone(),
                source_steps: d.ranks.source_steps.clone(),
                layer_er,
                er_ratio: d.ranks.er_ratio,
            }),
            ..template.spec.clone()
        };
        let run_id = content_id(&spec);
        Ok(AdaptRequest {
            label: d.label.clone(),
            checkpoint_dir: store.join("checkpoints").join(&run_id),
            base_checkpoint: self.bases[d.base].checkpoint_dir.clone(),
            run_id,
            spec,
            source: profile.source.clone(),
        })
    }
}
