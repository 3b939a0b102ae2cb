//! Paper 82, the K-budget curve (SPEC §5): loss and efficiency per K × budget multiplier, the
//! marginal loss gain per added parameter between neighbouring K, loss against budget on a log
//! axis, and the claims P82-*.
//!
//! Manifest entries carry the tags `k` (the uniform rank) and `budget_multiplier` (m ∈ {1, 2, 4});
//! `at_step` is the prefix step round(m·B0/params(K)) read off the run (B0 = params(K=8) × 40). The
//! scheme name (`k8`, …) is a label only: grouping uses the tags.

use std::collections::BTreeMap;

use records::{Manifest, RunRecord};

use crate::ReportError;
use crate::data::{self, Obs, PaperData};
use crate::p84::{push_plot, sort_claims};
use crate::plots::{Chart, Series};
use crate::section::{Claim, Section, show};
use crate::stats::{self, Estimate, Side};
use crate::table::{Table, fixed, thousands};

const RULE_K8: &str = "at budget 1×: eff(K=8) − eff(K) per seed for every other K; reproduced when every 95% t-interval is above 0; not reproduced when any is below 0; else inconclusive (also n < 2)";
const RULE_K16: &str = "at budget 1×, gain per added parameter g(a→b) = (L(a) − L(b)) / (params(b) − params(a)) × 10,000; per seed d1 = g(4→8) − g(8→16) and d2 = g(16→32) − g(8→16); reproduced when both 95% t-intervals are above 0; not reproduced when either is below 0; else inconclusive (also n < 2)";
const RULE_K2: &str = "at budget 4×: L(K) − L(K=2) per seed for every other K; reproduced when every 95% t-interval is above 0; not reproduced when any is below 0; else inconclusive (also n < 2)";

type Cell = BTreeMap<u64, f64>;

fn key(o: &Obs<'_>) -> Option<(usize, u32)> {
    let k = o.tag("k")?;
    let m = o.tag("budget_multiplier")?;
    Some((k.round() as usize, m.round() as u32))
}

fn cell<'a>(d: &PaperData<'a>, k: usize, m: u32) -> Vec<Obs<'a>> {
    d.filter(|o| key(o) == Some((k, m)))
}

/// Builds the Paper 82 section.
pub fn section(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
) -> Result<Section, ReportError> {
    let mut s = Section::new(
        82,
        "K-Budget Curve",
        "K=8 most efficient/param; K=16 dead zone; K=2 wins at 4× budget",
    );
    let c_k8 = "K=8 has the highest efficiency per parameter at budget 1×";
    let c_k16 = "K=16 gains less per added parameter than its neighbours";
    let c_k2 = "K=2 reaches the lowest loss at budget 4×";
    let Some(plan) = data::plan(manifest, 82) else {
        s.claims.push(Claim::not_run("P82-k8-efficient", 82, c_k8, "K=8 highest", RULE_K8));
        s.claims.push(Claim::not_run("P82-k16-dead-zone", 82, c_k16, "K=16 dead zone", RULE_K16));
        s.claims.push(Claim::not_run("P82-k2-long-run", 82, c_k2, "K=2 lowest at 4×", RULE_K2));
        return Ok(s);
    };
    s.ran = true;
    let d = data::collect(plan, records);
    s.notes = d.missing.clone();
    for o in &d.obs {
        if key(o).is_none() {
            s.notes.push(format!(
                "{} seed {}: entry lacks the tags `k` and `budget_multiplier`; left out",
                o.entry.scheme, o.entry.seed
            ));
        }
    }
    let mut ks: Vec<usize> = d.obs.iter().filter_map(key).map(|x| x.0).collect();
    ks.sort_unstable();
    ks.dedup();
    let mut ms: Vec<u32> = d.obs.iter().filter_map(key).map(|x| x.1).collect();
    ms.sort_unstable();
    ms.dedup();

    let loss = |k: usize, m: u32| -> Cell { data::per_seed(&cell(&d, k, m), Obs::loss) };
    let eff = |k: usize, m: u32| -> Cell { data::per_seed(&cell(&d, k, m), Obs::efficiency) };
    let params =
        |k: usize| d.filter(|o| key(o).is_some_and(|x| x.0 == k)).first().map(|o| o.params());

    let mut t = Table::new(
        "p82_k_budget",
        "Paper 82: loss and efficiency per K and budget",
        &[
            "K",
            "Params",
            "Budget ×",
            "Steps",
            "Budget (params × steps)",
            "Loss",
            "Loss sd",
            "Efficiency",
            "n",
        ],
    );
    for &k in &ks {
        for &m in &ms {
            let o = cell(&d, k, m);
            let Some(first) = o.first() else { continue };
            let le = Estimate::of(&data::values(&loss(k, m)));
            let ee = Estimate::of(&data::values(&eff(k, m)));
            t.row(vec![
                k.to_string(),
                thousands(first.params()),
                format!("{m}×"),
                first.entry.at_step.to_string(),
                thousands(first.params() * first.entry.at_step),
                fixed(le.as_ref().map(|e| e.mean), 4),
                fixed(le.as_ref().and_then(|e| e.sd), 4),
                fixed(ee.as_ref().map(|e| e.mean), 5),
                o.len().to_string(),
            ]);
        }
    }
    t.note("Budget = params × steps; base budget B0 = params(K=8) × 40; at m × B0 each K trains round(m·B0/params(K)) steps (at least 1), read as a prefix of one run per K (SPEC §5).");
    s.tables.push(t);

    // Marginal gains at 1×.
    let gain = |a: usize, b: usize| -> Cell {
        let (Some(pa), Some(pb)) = (params(a), params(b)) else { return Cell::new() };
        if pb <= pa {
            return Cell::new();
        }
        let (la, lb) = (loss(a, 1), loss(b, 1));
        la.iter()
            .filter_map(|(s, va)| {
                lb.get(s).map(|vb| (*s, (va - vb) / ((pb - pa) as f64 / 10_000.0)))
            })
            .collect()
    };
    let mut t = Table::new(
        "p82_marginal_gain",
        "Paper 82: marginal loss gain per added parameter at budget 1×",
        &["Step", "Added params", "Loss gain", "Gain per 10,000 added params", "sd", "n"],
    );
    for w in ks.windows(2) {
        let (a, b) = (w[0], w[1]);
        let g = gain(a, b);
        let e = Estimate::of(&data::values(&g));
        let dl = Estimate::of(&data::paired_diff(&loss(b, 1), &loss(a, 1)));
        t.row(vec![
            format!("K={a}→{b}"),
            match (params(a), params(b)) {
                (Some(pa), Some(pb)) if pb > pa => thousands(pb - pa),
                _ => "—".into(),
            },
            fixed(dl.map(|e| e.mean), 4),
            fixed(e.as_ref().map(|e| e.mean), 5),
            fixed(e.as_ref().and_then(|e| e.sd), 5),
            g.len().to_string(),
        ]);
    }
    t.note("Loss gain = L(smaller K) − L(larger K), each at its own 1× step count; positive means the larger K is better.");
    s.tables.push(t);

    // Claims.
    let parts = |m: u32,
                 best: usize,
                 metric: &dyn Fn(usize, u32) -> Cell,
                 higher_is_better: bool| {
        ks.iter()
            .filter(|&&k| k != best && !metric(k, m).is_empty())
            .map(|&k| {
                let (b, other) = (metric(best, m), metric(k, m));
                if higher_is_better {
                    (format!("K={best} vs K={k}"), data::paired_diff(&other, &b), Side::Positive)
                } else {
                    (format!("K={k} vs K={best}"), data::paired_diff(&b, &other), Side::Positive)
                }
            })
            .collect::<Vec<_>>()
    };
    let argbest = |m: u32, metric: &dyn Fn(usize, u32) -> Cell, higher: bool| -> Option<usize> {
        ks.iter()
            .filter_map(|&k| {
                data::mean(&data::values(&metric(k, m))).map(|v| (k, if higher { v } else { -v }))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|x| x.0)
    };
    let est = Estimate::of(&data::values(&eff(8, 1)));
    let best_eff = argbest(1, &eff, true);
    s.claims.push(Claim::decided(
        "P82-k8-efficient",
        82,
        c_k8,
        "K=8 highest",
        format!(
            "eff(K=8) {}; highest mean: K={}",
            show(&est, 5),
            best_eff.map_or("—".into(), |k| k.to_string())
        ),
        est,
        RULE_K8,
        if eff(8, 1).is_empty() {
            stats::all_directions(&[])
        } else {
            stats::all_directions(&parts(1, 8, &eff, true))
        },
    ));
    let g48 = gain(4, 8);
    let g816 = gain(8, 16);
    let g1632 = gain(16, 32);
    let d1 = data::paired_diff(&g816, &g48);
    let d2 = data::paired_diff(&g816, &g1632);
    let est = Estimate::of(&data::values(&g816));
    s.claims.push(Claim::decided(
        "P82-k16-dead-zone",
        82,
        c_k16,
        "K=16 dead zone",
        format!(
            "gain per 10k params: 4→8 {}, 8→16 {}, 16→32 {}",
            show(&Estimate::of(&data::values(&g48)), 5),
            show(&est, 5),
            show(&Estimate::of(&data::values(&g1632)), 5)
        ),
        est,
        RULE_K16,
        stats::all_directions(&[
            ("g(4→8) − g(8→16)".to_string(), d1, Side::Positive),
            ("g(16→32) − g(8→16)".to_string(), d2, Side::Positive),
        ]),
    ));
    let est = Estimate::of(&data::values(&loss(2, 4)));
    let best_4 = argbest(4, &loss, false);
    s.claims.push(Claim::decided(
        "P82-k2-long-run",
        82,
        c_k2,
        "K=2 lowest at 4×",
        format!(
            "L(K=2, 4×) {}; lowest mean: K={}",
            show(&est, 4),
            best_4.map_or("—".into(), |k| k.to_string())
        ),
        est,
        RULE_K2,
        if loss(2, 4).is_empty() {
            stats::all_directions(&[])
        } else {
            stats::all_directions(&parts(4, 2, &loss, false))
        },
    ));
    sort_claims(&mut s);
    s.finding = format!(
        "most efficient at 1×: K={}; lowest loss at 4×: K={}",
        best_eff.map_or("—".into(), |k| k.to_string()),
        best_4.map_or("—".into(), |k| k.to_string())
    );

    // Plots.
    let series: Vec<Series> = ks
        .iter()
        .map(|&k| {
            let pts = ms
                .iter()
                .filter_map(|&m| {
                    let o = cell(&d, k, m);
                    let f = o.first()?;
                    let l = data::mean(&data::values(&loss(k, m)))?;
                    Some(((f.params() * f.entry.at_step) as f64, l))
                })
                .collect();
            Series::line(format!("K={k}"), pts)
        })
        .collect();
    push_plot(
        &mut s,
        "p82_loss_vs_budget",
        Chart {
            title: "Paper 82: loss against budget per K".into(),
            x_label: "budget: trainable params × steps (log scale)".into(),
            y_label: "evaluation loss (nats/token)".into(),
            log_x: true,
            series,
        },
    )?;
    let eff_series: Vec<Series> = ms
        .iter()
        .map(|&m| {
            let pts = ks
                .iter()
                .filter_map(|&k| Some((params(k)? as f64, data::mean(&data::values(&eff(k, m)))?)))
                .collect();
            Series::line(format!("budget {m}×"), pts)
        })
        .collect();
    push_plot(
        &mut s,
        "p82_efficiency_vs_params",
        Chart {
            title: "Paper 82: efficiency against trainable parameters".into(),
            x_label: "trainable parameters (log scale)".into(),
            y_label: "efficiency (nats per 10,000 params)".into(),
            log_x: true,
            series: eff_series,
        },
    )?;
    Ok(s)
}
