//! Paper 83, gradient effective rank (SPEC §4, §5): per-layer natural ER of the four matrices and
//! the layer mean with the assigned K = round(ER/0.62), ER over training (mean and coefficient of
//! variation per layer), ER/K, factor ER at K = 32 and K = 64, and the claims P83-*.
//!
//! Schemes read from the manifest: `uniform_32` and `uniform_64`, whose records carry `er`
//! measurements at steps 0, 10, 20, 30, 40 (≤ `at_step`): `natural` records for each of the four
//! matrices of every layer and `factor_a` / `factor_b` records. Layer values average the natural ER
//! over all measured checkpoints (the pipeline's adaptive scheme should assign K from the same
//! average, so that the "Assigned K" column is the adaptive run's K). Factor ER skips step 0,
//! where B = 0 makes ∂L/∂A vanish.

use std::collections::BTreeMap;

use records::{GradKind, Manifest, RunRecord};

use crate::ReportError;
use crate::data::{self, Obs};
use crate::p84::{push_plot, sort_claims};
use crate::paper::{self, P83_LAYER_ER, assigned_k};
use crate::plots::{Chart, Series};
use crate::section::{Claim, Section, show};
use crate::stats::{self, Estimate};
use crate::table::{Table, fixed};

/// The matrices of a layer, in table order.
pub const MATRICES: [&str; 4] = ["qkv", "attn_out", "ffn_up", "ffn_down"];

/// Relative band for "≈" claims: the 95% interval must lie within ±15% of the paper's value.
pub const APPROX_BAND: f64 = 0.15;

/// A per-layer coefficient of variation below this counts as "stable".
pub const STABLE_CV: f64 = 0.10;

const RULE_NATURAL: &str = "per seed: mean natural ER over layers, matrices and checkpoints of uniform_32; reproduced when the 95% t-interval lies within 20 ± 15% ([17, 23]); not reproduced when wholly outside; else inconclusive (also n < 2)";
const RULE_STABLE: &str = "per seed: the largest per-layer coefficient of variation (sd/mean over checkpoints 0..40) of uniform_32's layer natural ER; reproduced when the 95% t-interval lies below 0.10; not reproduced when wholly above; else inconclusive (also n < 2)";
const RULE_FACTOR: &str = "per seed: mean factor ER (A and B, all layers and matrices, checkpoints after step 0) of uniform_64; reproduced when the 95% t-interval lies within 39 ± 15%; not reproduced when wholly outside; else inconclusive (also n < 2)";

/// Per-seed ER summaries of one run.
struct RunEr {
    /// layer → matrix → mean natural ER over checkpoints.
    natural: BTreeMap<usize, BTreeMap<String, f64>>,
    /// layer → step → layer-mean natural ER.
    over_time: BTreeMap<usize, BTreeMap<usize, f64>>,
    /// layer → (factor A mean, factor B mean) over checkpoints after step 0.
    factor: BTreeMap<usize, (Option<f64>, Option<f64>)>,
}

fn run_er(o: &Obs<'_>, conv: &str) -> RunEr {
    let nat = data::layer_er(o.rec, GradKind::Natural, conv, o.entry.at_step);
    let mut per_matrix: BTreeMap<usize, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    let mut per_step: BTreeMap<usize, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for e in &nat {
        let l = e.layer.unwrap_or(0);
        per_matrix
            .entry(l)
            .or_default()
            .entry(e.matrix.clone())
            .or_default()
            .push(e.effective_rank);
        per_step.entry(l).or_default().entry(e.step).or_default().push(e.effective_rank);
    }
    let natural = per_matrix
        .into_iter()
        .map(|(l, m)| {
            (l, m.into_iter().filter_map(|(k, v)| data::mean(&v).map(|x| (k, x))).collect())
        })
        .collect();
    let over_time = per_step
        .into_iter()
        .map(|(l, m)| {
            (l, m.into_iter().filter_map(|(k, v)| data::mean(&v).map(|x| (k, x))).collect())
        })
        .collect();
    let mut factor: BTreeMap<usize, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for kind in [GradKind::FactorA, GradKind::FactorB] {
        for e in
            data::layer_er(o.rec, kind, conv, o.entry.at_step).into_iter().filter(|e| e.step > 0)
        {
            let slot = factor.entry(e.layer.unwrap_or(0)).or_default();
            if kind == GradKind::FactorA {
                slot.0.push(e.effective_rank)
            } else {
                slot.1.push(e.effective_rank)
            }
        }
    }
    let factor =
        factor.into_iter().map(|(l, (a, b))| (l, (data::mean(&a), data::mean(&b)))).collect();
    RunEr { natural, over_time, factor }
}

impl RunEr {
    fn layer_mean(&self, l: usize) -> Option<f64> {
        data::mean(&self.natural.get(&l)?.values().copied().collect::<Vec<_>>())
    }
    fn overall(&self) -> Option<f64> {
        data::mean(&self.natural.keys().filter_map(|&l| self.layer_mean(l)).collect::<Vec<_>>())
    }
    fn factor_mean(&self) -> Option<f64> {
        data::mean(&self.factor.values().flat_map(|(a, b)| [*a, *b]).flatten().collect::<Vec<_>>())
    }
    fn max_cv(&self) -> Option<f64> {
        self.over_time
            .values()
            .filter_map(|m| {
                stats::coefficient_of_variation(&m.values().copied().collect::<Vec<_>>())
            })
            .max_by(f64::total_cmp)
    }
}

fn mean_over(runs: &[RunEr], f: impl Fn(&RunEr) -> Option<f64>) -> Option<Estimate> {
    Estimate::of(&runs.iter().filter_map(f).collect::<Vec<_>>())
}

/// Builds the Paper 83 section.
pub fn section(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
) -> Result<Section, ReportError> {
    let mut s =
        Section::new(83, "Gradient ER", "Natural ER=20, matches K=32; ER stable across training");
    let claim_natural = "mean natural gradient ER ≈ 20, per layer 17.6–22.4; ER/32 ≈ 0.62";
    let claim_stable = "per-layer ER is stable over training";
    let claim_factor = "factor ER at K=64 ≈ 39";
    let Some(plan) = data::plan(manifest, 83) else {
        s.claims.push(Claim::not_run(
            "P83-natural-er",
            83,
            claim_natural,
            "20 (17.6–22.4); 0.62",
            RULE_NATURAL,
        ));
        s.claims.push(Claim::not_run("P83-er-stable", 83, claim_stable, "stable", RULE_STABLE));
        s.claims.push(Claim::not_run("P83-factor-er", 83, claim_factor, "≈ 39", RULE_FACTOR));
        return Ok(s);
    };
    s.ran = true;
    let d = data::collect(plan, records);
    s.notes = d.missing.clone();
    let o32 = d.scheme("uniform_32");
    let o64 = d.scheme("uniform_64");
    let all: Vec<&RunRecord> = d.obs.iter().map(|o| o.rec).collect();
    let conv = data::convention(&all).unwrap_or_else(|| "sigma".to_string());
    let r32: Vec<RunEr> = o32.iter().map(|o| run_er(o, &conv)).collect();
    let r64: Vec<RunEr> = o64.iter().map(|o| run_er(o, &conv)).collect();
    let n_layers = o32.first().or(o64.first()).map_or(0, |o| o.rec.arch.n_layers);
    let paper_layers = n_layers == P83_LAYER_ER.len();

    // Per-layer natural ER (uniform_32) with the assigned K.
    let mut t = Table::new(
        "p83_natural_er",
        &format!("Paper 83: per-layer natural gradient ER at K=32 (convention `{conv}`)"),
        &[
            "Layer",
            "qkv",
            "attn_out",
            "ffn_up",
            "ffn_down",
            "Layer mean",
            "sd",
            "Assigned K",
            "Paper ER",
            "Paper K",
        ],
    );
    for l in 0..n_layers {
        let mut row = vec![l.to_string()];
        for m in MATRICES {
            row.push(fixed(
                mean_over(&r32, |r| r.natural.get(&l)?.get(m).copied()).map(|e| e.mean),
                2,
            ));
        }
        let lm = mean_over(&r32, |r| r.layer_mean(l));
        row.push(fixed(lm.as_ref().map(|e| e.mean), 2));
        row.push(fixed(lm.as_ref().and_then(|e| e.sd), 2));
        row.push(lm.as_ref().map_or("—".into(), |e| assigned_k(e.mean).to_string()));
        let p = P83_LAYER_ER.get(l).copied().filter(|_| paper_layers);
        row.push(fixed(p, 2));
        row.push(p.map_or("—".into(), |p| assigned_k(p).to_string()));
        t.row(row);
    }
    let overall = mean_over(&r32, RunEr::overall);
    let mut mean_row = vec!["mean".to_string()];
    for m in MATRICES {
        mean_row.push(fixed(
            mean_over(&r32, |r| {
                data::mean(
                    &r.natural.values().filter_map(|x| x.get(m).copied()).collect::<Vec<_>>(),
                )
            })
            .map(|e| e.mean),
            2,
        ));
    }
    mean_row.push(fixed(overall.as_ref().map(|e| e.mean), 2));
    mean_row.push(fixed(overall.as_ref().and_then(|e| e.sd), 2));
    mean_row.push("—".into());
    mean_row.push(fixed(paper_layers.then(|| P83_LAYER_ER.iter().sum::<f64>() / 8.0), 2));
    mean_row.push(if paper_layers { "32.5".into() } else { "—".into() });
    t.row(mean_row);
    t.note("Natural ER: effective rank of ∂L/∂W of each adapted matrix, averaged over the measured checkpoints and then over seeds; sd is over seeds. Assigned K = round(layer mean / 0.62) (SPEC §3).");
    s.tables.push(t);

    // ER over training.
    let steps: Vec<usize> = {
        let mut v: Vec<usize> =
            r32.iter().flat_map(|r| r.over_time.values().flat_map(|m| m.keys().copied())).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut headers: Vec<String> = vec!["Layer".into()];
    headers.extend(steps.iter().map(|st| format!("Step {st}")));
    headers.extend(["Mean".into(), "CV".into()]);
    let hdr: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "p83_er_over_training",
        "Paper 83: layer natural ER over training at K=32",
        &hdr,
    );
    for l in 0..n_layers {
        let mut row = vec![l.to_string()];
        for st in &steps {
            row.push(fixed(
                mean_over(&r32, |r| r.over_time.get(&l)?.get(st).copied()).map(|e| e.mean),
                2,
            ));
        }
        row.push(fixed(
            mean_over(&r32, |r| {
                data::mean(&r.over_time.get(&l)?.values().copied().collect::<Vec<_>>())
            })
            .map(|e| e.mean),
            2,
        ));
        row.push(fixed(
            mean_over(&r32, |r| {
                stats::coefficient_of_variation(
                    &r.over_time.get(&l)?.values().copied().collect::<Vec<_>>(),
                )
            })
            .map(|e| e.mean),
            3,
        ));
        t.row(row);
    }
    t.note("Each cell: the layer's natural ER (mean of its four matrices) at that step, mean over seeds. CV = sample sd / mean over the checkpoints, per seed, then averaged over seeds.");
    s.tables.push(t);

    // ER/K and factor ER.
    let mut t = Table::new(
        "p83_er_ratio",
        "Paper 83: ER/K and factor ER",
        &[
            "Run",
            "K",
            "Natural ER",
            "ER/K",
            "Factor ER (A)",
            "Factor ER (B)",
            "Factor ER",
            "Factor ER/K",
            "n",
            "Paper",
        ],
    );
    for (name, nominal, obs, runs, paper_note) in [
        ("uniform_32", 32.0, &o32, &r32, "natural ER ≈ 20, ER/32 ≈ 0.62"),
        ("uniform_64", 64.0, &o64, &r64, "factor ER ≈ 39"),
    ] {
        // The run's own rank (a small profile maps the nominal K to what its model allows).
        let k = obs.first().and_then(Obs::mean_k).unwrap_or(nominal);
        let nat = mean_over(runs, RunEr::overall).map(|e| e.mean);
        let fa = mean_over(runs, |r| {
            data::mean(&r.factor.values().filter_map(|x| x.0).collect::<Vec<_>>())
        })
        .map(|e| e.mean);
        let fb = mean_over(runs, |r| {
            data::mean(&r.factor.values().filter_map(|x| x.1).collect::<Vec<_>>())
        })
        .map(|e| e.mean);
        let f = mean_over(runs, RunEr::factor_mean).map(|e| e.mean);
        t.row(vec![
            name.into(),
            format!("{k:.0}"),
            fixed(nat, 2),
            fixed(nat.map(|x| x / k), 3),
            fixed(fa, 2),
            fixed(fb, 2),
            fixed(f, 2),
            fixed(f.map(|x| x / k), 3),
            runs.len().to_string(),
            paper_note.into(),
        ]);
    }
    t.note("Factor ER: effective rank of ∂L/∂A (d_in × K) and ∂L/∂B (K × d_out), bounded by K; mean over layers, matrices and the checkpoints after step 0, then over seeds.");
    s.tables.push(t);

    let mut t = Table::new(
        "p83_factor_er",
        "Paper 83: per-layer factor ER",
        &["Layer", "K=32 A", "K=32 B", "K=64 A", "K=64 B"],
    );
    for l in 0..n_layers {
        t.row(vec![
            l.to_string(),
            fixed(mean_over(&r32, |r| r.factor.get(&l)?.0).map(|e| e.mean), 2),
            fixed(mean_over(&r32, |r| r.factor.get(&l)?.1).map(|e| e.mean), 2),
            fixed(mean_over(&r64, |r| r.factor.get(&l)?.0).map(|e| e.mean), 2),
            fixed(mean_over(&r64, |r| r.factor.get(&l)?.1).map(|e| e.mean), 2),
        ]);
    }
    s.tables.push(t);

    // Claims.
    let nat_vals: Vec<f64> = r32.iter().filter_map(RunEr::overall).collect();
    let layer_means: Vec<f64> = (0..n_layers)
        .filter_map(|l| mean_over(&r32, |r| r.layer_mean(l)).map(|e| e.mean))
        .collect();
    let range = if layer_means.is_empty() {
        "—".to_string()
    } else {
        format!(
            "{:.1}–{:.1}",
            layer_means.iter().copied().fold(f64::INFINITY, f64::min),
            layer_means.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        )
    };
    let est = Estimate::of(&nat_vals);
    s.claims.push(Claim::decided(
        "P83-natural-er",
        83,
        claim_natural,
        "20 (17.6–22.4); 0.62",
        format!(
            "{}; per layer {range}; ER/32 = {}",
            show(&est, 2),
            fixed(est.as_ref().map(|e| e.mean / 32.0), 3)
        ),
        est,
        RULE_NATURAL,
        stats::within_band("mean natural ER", &nat_vals, paper::P83_MEAN_NATURAL_ER, APPROX_BAND),
    ));
    let cv_vals: Vec<f64> = r32.iter().filter_map(RunEr::max_cv).collect();
    let est = Estimate::of(&cv_vals);
    s.claims.push(Claim::decided(
        "P83-er-stable",
        83,
        claim_stable,
        "stable (no number given)",
        format!("largest per-layer CV {}", show(&est, 3)),
        est,
        RULE_STABLE,
        stats::below("largest per-layer CV", &cv_vals, STABLE_CV),
    ));
    let f_vals: Vec<f64> = r64.iter().filter_map(RunEr::factor_mean).collect();
    let est = Estimate::of(&f_vals);
    s.claims.push(Claim::decided(
        "P83-factor-er",
        83,
        claim_factor,
        "≈ 39",
        show(&est, 2),
        est,
        RULE_FACTOR,
        stats::within_band("factor ER at K=64", &f_vals, paper::P83_FACTOR_ER_K64, APPROX_BAND),
    ));
    sort_claims(&mut s);
    s.finding = format!(
        "mean natural ER {} (per layer {range}); factor ER at K=64 {}",
        show(&Estimate::of(&nat_vals), 2),
        show(&Estimate::of(&f_vals), 2)
    );

    // Plots.
    let layer_series =
        |runs: &[RunEr], f: &dyn Fn(&RunEr, usize) -> Option<f64>| -> Vec<(f64, f64)> {
            (0..n_layers)
                .filter_map(|l| mean_over(runs, |r| f(r, l)).map(|e| (l as f64, e.mean)))
                .collect()
        };
    let nat = layer_series(&r32, &|r, l| r.layer_mean(l));
    let assigned: Vec<(f64, f64)> = nat.iter().map(|&(l, e)| (l, assigned_k(e) as f64)).collect();
    let fac = |r: &RunEr, l: usize| {
        let (a, b) = r.factor.get(&l)?;
        data::mean(&[*a, *b].into_iter().flatten().collect::<Vec<_>>())
    };
    let mut series = vec![
        Series::line("natural ER (K=32 run)", nat),
        Series::line("factor ER, K=32", layer_series(&r32, &fac)),
        Series::line("factor ER, K=64", layer_series(&r64, &fac)),
        Series::line("assigned K = round(ER/0.62)", assigned),
    ];
    if paper_layers {
        series.push(Series::points(
            "paper natural ER",
            P83_LAYER_ER.iter().enumerate().map(|(l, &e)| (l as f64, e)).collect(),
        ));
    }
    push_plot(
        &mut s,
        "p83_er_per_layer",
        Chart {
            title: "Paper 83: per-layer gradient ER and assigned K".into(),
            x_label: "layer index".into(),
            y_label: "effective rank / K (dimensions)".into(),
            log_x: false,
            series,
        },
    )?;
    let over: Vec<Series> = (0..n_layers)
        .map(|l| {
            let pts = steps
                .iter()
                .filter_map(|st| {
                    mean_over(&r32, |r| r.over_time.get(&l)?.get(st).copied())
                        .map(|e| (*st as f64, e.mean))
                })
                .collect();
            Series::line(format!("layer {l}"), pts)
        })
        .collect();
    push_plot(
        &mut s,
        "p83_er_over_training",
        Chart {
            title: "Paper 83: layer natural ER over training (K=32)".into(),
            x_label: "update step".into(),
            y_label: "natural gradient ER (dimensions)".into(),
            log_x: false,
            series: over,
        },
    )?;
    Ok(s)
}
