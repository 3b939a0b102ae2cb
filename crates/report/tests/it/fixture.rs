//! Deterministic constructed stores for the report's tests: every number is a closed-form
//! function of (scheme, K, step, seed), so snapshots never change unless the report does.

use std::collections::BTreeMap;

use modelspec::{AdapterConfig, Architecture, ScaleConvention};
use records::{
    DataRef, ErRecord, EvalPoint, GradKind, Manifest, ManifestEntry, Metric, PaperPlan, RankChange,
    RunEnv, RunKind, RunRecord, SCHEMA_VERSION, StepRecord, TrainSettings,
};

/// The paper's starting loss, used as every run's step-0 evaluation.
pub const L0: f64 = 7.841;

/// The adaptive ranks of Paper 84.
pub const ADAPTIVE: [usize; 8] = [32, 33, 28, 36, 33, 34, 33, 31];

/// A deterministic seed offset in [−1, 1] that differs between schemes.
pub fn jitter(seed: u64, label: &str) -> f64 {
    let h = label
        .bytes()
        .fold(seed.wrapping_mul(2_654_435_761), |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
    (h % 201) as f64 / 100.0 - 1.0
}

/// Loss after `t` updates at mean rank `k`: 7.841 − 0.35·ln(1 + k/4)·(1 − e^(−t/30)) + noise.
pub fn loss(k: f64, t: usize, seed: u64, label: &str, noise: f64) -> f64 {
    L0 - 0.35 * (1.0 + k / 4.0).ln() * (1.0 - (-(t as f64) / 30.0).exp())
        + noise * jitter(seed, label) * (t as f64 / 40.0).min(1.0)
}

/// The shape of a constructed run.
pub struct Spec<'a> {
    /// Label.
    pub label: &'a str,
    /// Per-layer K at the start.
    pub k_layers: Vec<usize>,
    /// Embedding K.
    pub k_embed: usize,
    /// Steps trained.
    pub steps: usize,
    /// Seed.
    pub seed: u64,
    /// Rank changes (step, per-layer K, embedding K).
    pub schedule: Vec<(usize, Vec<usize>, usize)>,
    /// Loss noise amplitude between seeds.
    pub noise: f64,
    /// Shift added to every loss after step 0 (to make a scheme worse or better).
    pub shift: f64,
}

/// A run record for `spec` on the paper architecture.
pub fn record(spec: Spec<'_>) -> RunRecord {
    let arch = Architecture::paper();
    let schedule: Vec<RankChange> = spec
        .schedule
        .iter()
        .map(|(step, k, ke)| RankChange {
            step: *step,
            k_layers: k.clone(),
            k_embed: *ke,
            params: arch.trainable_params(k, *ke),
        })
        .collect();
    let mean_k_at = |t: usize| -> f64 {
        let k = schedule.iter().rev().find(|c| c.step <= t).map_or(&spec.k_layers, |c| &c.k_layers);
        k.iter().sum::<usize>() as f64 / k.len() as f64
    };
    let l = |t: usize| {
        if t == 0 {
            L0
        } else {
            loss(mean_k_at(t - 1), t, spec.seed, spec.label, spec.noise) + spec.shift
        }
    };
    let steps: Vec<StepRecord> = (1..=spec.steps)
        .map(|t| StepRecord { step: t, train_loss: l(t) + 0.05, tokens: 1024, seconds: 0.5 })
        .collect();
    let evals: Vec<EvalPoint> =
        (0..=spec.steps).map(|t| EvalPoint { step: t, loss: l(t) }).collect();
    let last = schedule
        .last()
        .map_or((spec.k_layers.clone(), spec.k_embed), |c| (c.k_layers.clone(), c.k_embed));
    RunRecord {
        schema_version: SCHEMA_VERSION,
        run_id: run_id(spec.label, spec.seed, spec.steps),
        label: spec.label.to_string(),
        kind: RunKind::Adapt,
        adapter: Some(AdapterConfig {
            k_layers: spec.k_layers.clone(),
            k_embed: spec.k_embed,
            scale: ScaleConvention::Lora,
            alpha: 16.0,
        }),
        trainable_params: arch.trainable_params(&last.0, last.1),
        arch,
        schedule,
        train: TrainSettings {
            batch_size: 8,
            context: 128,
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            warmup_steps: 0,
            grad_clip: Some(1.0),
        },
        steps_requested: spec.steps,
        seed: spec.seed,
        data: DataRef {
            corpus: "fixture".into(),
            corpus_hash: "c".into(),
            tokenizer_hash: "t".into(),
            split: "adapt".into(),
        },
        base_run_id: Some("base".into()),
        steps,
        evals,
        er: Vec::new(),
        metrics: Vec::new(),
        env: RunEnv {
            device: "cpu".into(),
            threads: 2,
            libtorch_version: "2.13.0".into(),
            git_commit: "0123abc".into(),
            rankwise_version: "0.1.0".into(),
            started_at: 0,
            wall_seconds: 10.0,
        },
    }
}

/// A run id that names what the run is.
pub fn run_id(label: &str, seed: u64, steps: usize) -> String {
    format!("{label}-s{seed}-{steps}")
}

/// ER records of a K-rank run: natural ER per layer/matrix/step near the paper's per-layer values,
/// factor ER near 0.61·K.
pub fn add_er(rec: &mut RunRecord, k: usize) {
    let matrices = ["qkv", "attn_out", "ffn_up", "ffn_down"];
    for step in [0usize, 10, 20, 30, 40] {
        for (l, base) in report::paper::P83_LAYER_ER.iter().enumerate() {
            for (mi, m) in matrices.iter().enumerate() {
                let natural =
                    base + 0.4 * (mi as f64 - 1.5) + 0.02 * step as f64 + 0.1 * jitter(rec.seed, m);
                let factor = 0.61 * k as f64
                    + 0.3 * (mi as f64 - 1.5)
                    + 0.1 * jitter(rec.seed + l as u64, m);
                for (kind, v) in [
                    (GradKind::Natural, natural),
                    (GradKind::FactorA, factor),
                    (GradKind::FactorB, factor - 0.5),
                ] {
                    rec.er.push(ErRecord {
                        step,
                        layer: Some(l),
                        matrix: m.to_string(),
                        kind,
                        rows: 256,
                        cols: 256,
                        convention: "sigma".into(),
                        effective_rank: v,
                        stable_rank: v / 4.0,
                        participation_ratio: v / 2.0,
                        energy_rank_90: 10,
                        energy_rank_99: 30,
                        numerical_rank: 200,
                    });
                }
            }
        }
    }
}

fn entry(scheme: &str, rec: &RunRecord, at_step: usize, tags: &[(&str, f64)]) -> ManifestEntry {
    ManifestEntry {
        scheme: scheme.to_string(),
        seed: rec.seed,
        run_id: rec.run_id.clone(),
        at_step,
        tags: tags.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// Knobs of a constructed store.
#[derive(Clone)]
pub struct Options {
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Papers included.
    pub papers: Vec<u32>,
    /// Loss noise between seeds.
    pub noise: f64,
    /// Shift of uniform_64's losses (positive makes it worse).
    pub k64_shift: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seeds: vec![1, 2, 3],
            papers: vec![81, 82, 83, 84, 85],
            noise: 0.004,
            k64_shift: 0.0,
        }
    }
}

fn uniform(label: &str, k: usize, steps: usize, seed: u64, o: &Options) -> RunRecord {
    record(Spec {
        label,
        k_layers: vec![k; 8],
        k_embed: k,
        steps,
        seed,
        schedule: vec![],
        noise: o.noise,
        shift: if k == 64 && label.starts_with("uniform") { o.k64_shift } else { 0.0 },
    })
}

/// A constructed store.
pub fn store(o: &Options) -> (Manifest, BTreeMap<String, RunRecord>) {
    let mut recs: BTreeMap<String, RunRecord> = BTreeMap::new();
    let mut papers = Vec::new();
    let arch = Architecture::paper();
    let add = |r: RunRecord, recs: &mut BTreeMap<String, RunRecord>| {
        recs.entry(r.run_id.clone()).or_insert(r);
    };
    if o.papers.contains(&84) || o.papers.contains(&83) {
        // Paper 83's runs are Paper 84's uniform_32 and uniform_64 (shared, as the pipeline does).
        let mut e84 = Vec::new();
        let mut e83 = Vec::new();
        for &seed in &o.seeds {
            for (label, k) in
                [("uniform_8", 8), ("uniform_16", 16), ("uniform_32", 32), ("uniform_64", 64)]
            {
                let mut r = uniform(label, k, 40, seed, o);
                if k >= 32 {
                    add_er(&mut r, k);
                    e83.push(entry(label, &r, 40, &[]));
                }
                e84.push(entry(label, &r, 40, &[]));
                add(r, &mut recs);
            }
            let r = record(Spec {
                label: "adaptive",
                k_layers: ADAPTIVE.to_vec(),
                k_embed: 32,
                steps: 40,
                seed,
                schedule: vec![],
                noise: o.noise,
                shift: 0.0,
            });
            e84.push(entry("adaptive", &r, 40, &[]));
            add(r, &mut recs);
        }
        if o.papers.contains(&84) {
            papers.push(PaperPlan { paper: 84, entries: e84 });
        }
        if o.papers.contains(&83) {
            papers.push(PaperPlan { paper: 83, entries: e83 });
        }
    }
    if o.papers.contains(&82) {
        let b0 = arch.trainable_params(&[8; 8], 8) * 40;
        let mut e = Vec::new();
        for &seed in &o.seeds {
            for k in [2usize, 4, 8, 16, 32, 64] {
                let p = arch.trainable_params(&[k; 8], k);
                let steps_at = |m: usize| (((m * b0) as f64 / p as f64).round() as usize).max(1);
                let r = uniform(&format!("k{k}"), k, steps_at(4), seed, o);
                for m in [1usize, 2, 4] {
                    e.push(entry(
                        &format!("k{k}"),
                        &r,
                        steps_at(m),
                        &[("k", k as f64), ("budget_multiplier", m as f64)],
                    ));
                }
                add(r, &mut recs);
            }
        }
        papers.push(PaperPlan { paper: 82, entries: e });
    }
    if o.papers.contains(&81) {
        let mut e = Vec::new();
        for &seed in &o.seeds {
            let f64r = uniform("fixed_64", 64, 40, seed, o);
            let f8 = uniform("fixed_8", 8, 40, seed, o);
            let sched = |ks: [usize; 4]| -> Vec<(usize, Vec<usize>, usize)> {
                ks.iter().zip([0, 10, 20, 30]).map(|(&k, s)| (s, vec![k; 8], k)).collect()
            };
            let grow = record(Spec {
                label: "grow",
                k_layers: vec![8; 8],
                k_embed: 8,
                steps: 40,
                seed,
                schedule: sched([8, 16, 32, 64]),
                noise: o.noise,
                shift: 0.0,
            });
            let shrink = record(Spec {
                label: "shrink",
                k_layers: vec![64; 8],
                k_embed: 64,
                steps: 40,
                seed,
                schedule: sched([64, 32, 16, 8]),
                noise: o.noise,
                shift: 0.0,
            });
            let track = record(Spec {
                label: "er_tracking",
                k_layers: ADAPTIVE.to_vec(),
                k_embed: 32,
                steps: 40,
                seed,
                schedule: vec![
                    (0, ADAPTIVE.to_vec(), 32),
                    (10, vec![33, 33, 29, 36, 33, 34, 33, 32], 32),
                    (20, vec![33, 34, 29, 37, 34, 34, 33, 32], 32),
                    (30, vec![34, 34, 30, 37, 34, 35, 34, 32], 32),
                ],
                noise: o.noise,
                shift: 0.0,
            });
            for r in [f64r, f8, grow, shrink, track] {
                e.push(entry(&r.label.clone(), &r, 40, &[]));
                add(r, &mut recs);
            }
        }
        papers.push(PaperPlan { paper: 81, entries: e });
    }
    if o.papers.contains(&85) {
        // The pipeline's names: k32/k64 (and wide_* for the doubled width), metrics
        // factor_grad_var_dirs_1_32 and factor_grad_var_dirs_33_64.
        let mut e = Vec::new();
        for &seed in &o.seeds {
            for (label, k) in [("k32", 32usize), ("k64", 64)] {
                let mut r = uniform(&format!("p85_{label}"), k, 40, seed, o);
                let s = 1.0 + 0.01 * jitter(seed, label);
                for step in [0, 10, 20, 30, 40] {
                    r.metrics.push(Metric {
                        step,
                        name: "factor_grad_var_dirs_1_32".into(),
                        value: 2.0e-6 * s,
                    });
                    if k == 64 {
                        r.metrics.push(Metric {
                            step,
                            name: "factor_grad_var_dirs_33_64".into(),
                            value: 5.0e-7 * s,
                        });
                    }
                }
                e.push(entry(label, &r, 40, &[("k", k as f64), ("d_model", 256.0)]));
                add(r, &mut recs);
            }
        }
        papers.push(PaperPlan { paper: 85, entries: e });
    }
    papers.sort_by_key(|p| p.paper);
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        profile: "fixture".into(),
        seeds: o.seeds.clone(),
        base_run_id: None,
        papers,
        stage_seconds: BTreeMap::from([("p84".to_string(), 12.5)]),
        steps_trained: 1000,
        steps_requested: 2000,
    };
    (manifest, recs)
}
