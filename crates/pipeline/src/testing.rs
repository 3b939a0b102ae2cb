//! TEST-ONLY: a fake executor with deterministic pseudo-results, for the orchestrator's tests
//! and for wiring the CLI before the model crates exist. Its numbers are made up (a smooth loss
//! curve plus hash noise); never use it to produce results.
//!
//! What it does honour is the executor contract ([`crate::request::Executor`]): results are a
//! pure function of the request's spec (and of the base checkpoint it reads), the first n steps
//! of a longer run equal an n-step run, evaluations are at exactly the requested steps, the base
//! run writes a checkpoint the adaptation runs read. It can be told to fail or panic on a run
//! after writing part of a checkpoint, to test resume.

use std::fs;
use std::sync::Mutex;

use records::{ErRecord, EvalPoint, GradKind, Metric, RankChange, RunRecord, StepRecord};
use sha2::{Digest, Sha256};

use crate::request::{
    AdaptRequest, BaseRequest, DataIdentity, DataSettings, ExecError, Executor, Probe, Progress,
    RankRule, RankSchedule, RoundRatio, RunContext, content_id,
};

/// How an injected failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Return `Err` after some steps.
    Error,
    /// Panic after some steps.
    Panic,
}

/// The fake.
#[derive(Debug, Default)]
pub struct FakeExecutor {
    fail: Mutex<Option<(String, FailMode)>>,
    calls: Mutex<Vec<String>>,
}

/// A uniform number in [0, 1) from a hash of `parts`.
fn unit(parts: &[&str]) -> f64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

const MATRICES: [&str; 4] = ["qkv", "attn_out", "ffn_up", "ffn_down"];

impl FakeExecutor {
    /// A fake that succeeds on every run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails (or panics) on the first run whose label is `label`, once.
    pub fn fail_on(&self, label: &str, mode: FailMode) {
        if let Ok(mut f) = self.fail.lock() {
            *f = Some((label.to_string(), mode));
        }
    }

    /// Labels of the runs computed so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record_call(&self, label: &str) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(label.to_string());
        }
    }

    /// Takes the injected failure if it is for `label`.
    fn failure_for(&self, label: &str) -> Option<FailMode> {
        let mut f = self.fail.lock().ok()?;
        match f.as_ref() {
            Some((l, m)) if l == label => {
                let m = *m;
                *f = None;
                Some(m)
            }
            _ => None,
        }
    }

    fn env(ctx: &RunContext, wall: f64) -> records::RunEnv {
        records::RunEnv {
            device: ctx.device.clone(),
            threads: ctx.threads,
            libtorch_version: "fake".into(),
            git_commit: "fake".into(),
            rankwise_version: env!("CARGO_PKG_VERSION").into(),
            started_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            wall_seconds: wall,
        }
    }
}

fn fail(mode: FailMode, label: &str) -> Result<RunRecord, ExecError> {
    match mode {
        FailMode::Error => Err(format!("injected failure in {label}").into()),
        FailMode::Panic => panic!("injected panic in {label}"),
    }
}

impl Executor for FakeExecutor {
    fn prepare_data(&self, data: &DataSettings) -> Result<DataIdentity, ExecError> {
        Ok(DataIdentity {
            corpus: "fake".into(),
            corpus_hash: content_id(&(&data.source, data.adapt_fraction)),
            tokenizer_hash: content_id(&(&data.source, data.vocab_size)),
        })
    }

    fn run_base(
        &self,
        req: &BaseRequest,
        ctx: &RunContext,
        progress: &dyn Progress,
    ) -> Result<RunRecord, ExecError> {
        let t0 = std::time::Instant::now();
        self.record_call(&req.label);
        let s = &req.spec;
        let tokens = s.train.batch_size * s.train.context;
        let seed = s.seed.to_string();
        let loss = |t: usize| {
            let v = (s.arch.vocab_size as f64).ln();
            v - 1.5 * (1.0 - (-(t as f64) / 200.0).exp())
                + 0.01 * unit(&[&seed, &t.to_string(), "base"])
        };
        let mut rec = req.record_skeleton();
        let failure = self.failure_for(&req.label);
        for t in 1..=s.steps {
            rec.steps.push(StepRecord { step: t, train_loss: loss(t), tokens, seconds: 0.0 });
            progress.step(t, loss(t), tokens);
            if failure.is_some() && t == s.steps / 2 + 1 {
                fs::write(req.checkpoint_dir.join("partial.ckpt"), "partial")?;
                return fail(failure.unwrap_or(FailMode::Error), &req.label);
            }
        }
        rec.evals =
            s.eval_steps.iter().map(|&t| EvalPoint { step: t, loss: loss(t) + 0.05 }).collect();
        let final_loss = rec.final_loss().unwrap_or(f64::NAN);
        fs::write(req.checkpoint_dir.join("base.ckpt"), format!("{final_loss}"))?;
        rec.env = Self::env(ctx, t0.elapsed().as_secs_f64());
        Ok(rec)
    }

    fn run_adapt(
        &self,
        req: &AdaptRequest,
        ctx: &RunContext,
        progress: &dyn Progress,
    ) -> Result<RunRecord, ExecError> {
        let t0 = std::time::Instant::now();
        self.record_call(&req.label);
        let s = &req.spec;
        let l0: f64 = fs::read_to_string(req.base_checkpoint.join("base.ckpt"))?.trim().parse()?;
        let tokens = s.train.batch_size * s.train.context;
        let seed = s.seed.to_string();
        let mut rec = req.record_skeleton();
        let arch = &s.arch;

        // Fake natural ER of a layer's matrix at a step: between 30% and 70% of its smaller side.
        let natural = |layer: usize, m: usize, step: usize| {
            let (i, o) = modelspec::LayerMatrix::ALL[m].shape(arch);
            i.min(o) as f64
                * (0.3 + 0.4 * unit(&[&seed, &layer.to_string(), MATRICES[m], &step.to_string()]))
        };
        // Ranks in force: a fixed schedule, or ER tracking with the SPEC §3 rule.
        let mut changes: Vec<RankChange> = rec.schedule.clone();
        if let RankSchedule::ErTracking { every, er_ratio, k_embed } = &s.schedule {
            let mut k = s.adapter.k_layers.clone();
            changes.push(RankChange {
                step: 0,
                k_layers: k.clone(),
                k_embed: *k_embed,
                params: arch.trainable_params(&k, *k_embed),
            });
            for step in (*every..s.steps).step_by((*every).max(1)) {
                let er: Vec<f64> = (0..arch.n_layers)
                    .map(|l| (0..4).map(|m| natural(l, m, step)).sum::<f64>() / 4.0)
                    .collect();
                k = RoundRatio.ranks(arch, &er, *er_ratio)?;
                changes.push(RankChange {
                    step,
                    k_layers: k.clone(),
                    k_embed: *k_embed,
                    params: arch.trainable_params(&k, *k_embed),
                });
            }
            rec.schedule = changes.clone();
        }
        let params_at = |t: usize| {
            changes
                .iter()
                .rev()
                .find(|c| c.step <= t)
                .map_or(arch.trainable_params(&s.adapter.k_layers, s.adapter.k_embed), |c| c.params)
        };
        // Gain grows with trainable parameters; each step's loss depends only on (seed, step,
        // ranks in force), so a longer run's prefix equals a shorter run.
        let loss = |t: usize| {
            let gain = 0.2 * (1.0 + params_at(t) as f64 / 1e5).ln();
            l0 - gain * (1.0 - (-(t as f64) / 30.0).exp())
                + 0.005 * unit(&[&seed, &t.to_string(), "adapt"])
        };
        let failure = self.failure_for(&req.label);
        for t in 1..=s.steps {
            rec.steps.push(StepRecord { step: t, train_loss: loss(t), tokens, seconds: 0.0 });
            progress.step(t, loss(t), tokens);
            if failure.is_some() && t == s.steps / 2 + 1 {
                fs::write(req.checkpoint_dir.join("partial.ckpt"), "partial")?;
                return fail(failure.unwrap_or(FailMode::Error), &req.label);
            }
        }
        rec.evals =
            s.eval_steps.iter().map(|&t| EvalPoint { step: t, loss: loss(t) + 0.02 }).collect();
        for &step in &s.measure.er_steps {
            let k = changes
                .iter()
                .rev()
                .find(|c| c.step <= step)
                .map_or(s.adapter.k_layers.clone(), |c| c.k_layers.clone());
            for (layer, &k_layer) in k.iter().enumerate() {
                for (m, name) in MATRICES.iter().enumerate() {
                    let (i, o) = modelspec::LayerMatrix::ALL[m].shape(arch);
                    let nat = natural(layer, m, step);
                    let fac = k_layer as f64
                        * (0.5 + 0.3 * unit(&[&seed, name, "factor", &step.to_string()]));
                    for (kind, rows, cols, er) in [
                        (GradKind::Natural, i, o, nat),
                        (GradKind::FactorA, i, k_layer, fac),
                        (GradKind::FactorB, k_layer, o, fac),
                    ] {
                        rec.er.push(ErRecord {
                            step,
                            layer: Some(layer),
                            matrix: name.to_string(),
                            kind,
                            rows,
                            cols,
                            convention: s.measure.convention.clone(),
                            effective_rank: er,
                            stable_rank: er / 2.0,
                            participation_ratio: er / 1.5,
                            energy_rank_90: er as usize,
                            energy_rank_99: (er * 1.5) as usize,
                            numerical_rank: rows.min(cols),
                        });
                    }
                }
            }
        }
        for p in &s.probes {
            let Probe::FactorGradVariance { steps, split_rank, .. } = p;
            let k = s.adapter.k_layers.iter().copied().max().unwrap_or(0);
            for &step in steps {
                let u = unit(&[&seed, &step.to_string(), "probe"]);
                rec.metrics.push(Metric {
                    step,
                    name: format!("factor_grad_var_dirs_1_{split_rank}"),
                    value: 1e-4 * (1.0 + u),
                });
                if k > *split_rank {
                    rec.metrics.push(Metric {
                        step,
                        name: format!("factor_grad_var_dirs_{}_{k}", split_rank + 1),
                        value: 2e-4 * (1.0 + u),
                    });
                }
            }
        }
        rec.trainable_params = params_at(s.steps);
        fs::write(req.checkpoint_dir.join("adapter.ckpt"), format!("{}", loss(s.steps)))?;
        rec.env = Self::env(ctx, t0.elapsed().as_secs_f64());
        Ok(rec)
    }
}
