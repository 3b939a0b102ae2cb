//! Paper 85, the proposed gradient-noise probe (SPEC §7). Not a claim of the series, so it has no
//! ledger entry; the report prints the probe tables so the hypothesis can be judged.
//!
//! Convention (the pipeline's): one entry per width and K, schemes `k32`, `k64` (paper model) and
//! `wide_k32`, `wide_k64` (d_model doubled), tags `k` and `d_model`; the records carry metrics
//! `factor_grad_var_dirs_1_{split}` (per-coordinate variance of the adapter factor gradients in
//! rank directions 1..split) and, when K > split, `factor_grad_var_dirs_{split+1}_{K}`, at one or
//! more steps ≤ `at_step`. The report averages a run's values over those steps. Width is read from
//! the record's `arch` (the tag is a fallback), K from its ranks.

use std::collections::BTreeMap;

use records::{Manifest, RunRecord};

use crate::ReportError;
use crate::data::{self, Obs};
use crate::section::{Section, show};
use crate::stats::Estimate;
use crate::table::{Table, fixed};

/// Prefix of the probe's metric names.
pub const METRIC_PREFIX: &str = "factor_grad_var_dirs_";

/// Parses `factor_grad_var_dirs_{from}_{to}`.
pub fn parse_metric(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix(METRIC_PREFIX)?;
    let (a, b) = rest.split_once('_')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Mean over steps ≤ `at_step` of the run's variance in the low (`from` = 1) or high (`from` > 1)
/// directions, with the direction range.
fn variance(o: &Obs<'_>, high: bool) -> Option<(f64, (usize, usize))> {
    let mut range = None;
    let v: Vec<f64> = o
        .rec
        .metrics
        .iter()
        .filter(|m| m.step <= o.entry.at_step)
        .filter_map(|m| {
            let r = parse_metric(&m.name)?;
            ((r.0 > 1) == high).then(|| {
                range = Some(r);
                m.value
            })
        })
        .collect();
    Some((data::mean(&v)?, range?))
}

fn width(o: &Obs<'_>) -> usize {
    o.rec.arch.d_model
}

fn rank(o: &Obs<'_>) -> Option<usize> {
    o.mean_k().map(|k| k.round() as usize).or_else(|| o.tag("k").map(|k| k.round() as usize))
}

/// Builds the Paper 85 section.
pub fn section(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
) -> Result<Section, ReportError> {
    let mut s = Section::new(
        85,
        "Gradient-noise probe (proposed)",
        "Hypothesis: var(K=64) ≫ var(K=32) in directions 33–64; repeat at d_model=512",
    );
    let Some(plan) = data::plan(manifest, 85) else { return Ok(s) };
    s.ran = true;
    let d = data::collect(plan, records);
    s.notes = d.missing.clone();
    let mut t = Table::new(
        "p85_probe",
        "Paper 85: adapter gradient variance by rank direction",
        &[
            "Scheme",
            "d_model",
            "K",
            "Low dirs",
            "Var low",
            "High dirs",
            "Var high",
            "High/low ratio",
            "Final Loss",
            "n",
        ],
    );
    let dirs = |r: Option<(usize, usize)>| r.map_or("—".to_string(), |(a, b)| format!("{a}–{b}"));
    for k in d.schemes() {
        let o = d.scheme(&k);
        let Some(first) = o.first() else { continue };
        let lo =
            Estimate::of(&data::values(&data::per_seed(&o, |x| variance(x, false).map(|v| v.0))));
        let hi =
            Estimate::of(&data::values(&data::per_seed(&o, |x| variance(x, true).map(|v| v.0))));
        let ratio = Estimate::of(&data::values(&data::per_seed(&o, |x| {
            let (h, l) = (variance(x, true)?.0, variance(x, false)?.0);
            (l > 0.0).then(|| h / l)
        })));
        let loss = Estimate::of(&data::values(&data::per_seed(&o, Obs::loss)));
        t.row(vec![
            k.clone(),
            width(first).to_string(),
            rank(first).map_or("—".into(), |k| k.to_string()),
            dirs(o.iter().find_map(|x| variance(x, false)).map(|v| v.1)),
            sci(lo.as_ref().map(|e| e.mean)),
            dirs(o.iter().find_map(|x| variance(x, true)).map(|v| v.1)),
            sci(hi.as_ref().map(|e| e.mean)),
            fixed(ratio.as_ref().map(|e| e.mean), 3),
            fixed(loss.as_ref().map(|e| e.mean), 4),
            o.len().to_string(),
        ]);
    }
    t.note("Var: per-coordinate variance of the adapter factor gradients across measurement batches in the given rank directions, averaged over layers, matrices and the recorded steps; ratio per seed, then mean over seeds.");
    s.tables.push(t);

    // The paper's test: variance in K=64's extra directions against K=32's, per width.
    let mut widths: Vec<usize> = d.obs.iter().map(width).collect();
    widths.sort_unstable();
    widths.dedup();
    let mut c = Table::new(
        "p85_comparison",
        "Paper 85: var(K=64, directions above the split) / var(K=32, directions up to the split)",
        &["d_model", "Ratio", "95% CI", "n"],
    );
    let mut findings = Vec::new();
    for w in widths {
        // The larger and the smaller rank at this width: 64 and 32 in the paper profile, and
        // whatever they became in a profile that divides ranks (the smoke profile halves them).
        let mut ks: Vec<usize> = d.obs.iter().filter(|o| width(o) == w).filter_map(rank).collect();
        ks.sort_unstable();
        ks.dedup();
        let (k_lo, k_hi) = match (ks.first(), ks.last()) {
            (Some(&lo), Some(&hi)) if hi > lo => (lo, hi),
            _ => (0, 0),
        };
        let at = |kk: usize| d.filter(|o| width(o) == w && rank(o) == Some(kk));
        let high64 = data::per_seed(&at(k_hi), |x| variance(x, true).map(|v| v.0));
        let low32 = data::per_seed(&at(k_lo), |x| variance(x, false).map(|v| v.0));
        let ratios: Vec<f64> = low32
            .iter()
            .filter_map(|(seed, l)| high64.get(seed).filter(|_| *l > 0.0).map(|h| h / l))
            .collect();
        let e = Estimate::of(&ratios);
        c.row(vec![
            w.to_string(),
            show(&e, 3),
            e.as_ref().map_or("—".into(), |e| e.show_interval(3)),
            ratios.len().to_string(),
        ]);
        findings.push(format!("d_model {w}: {}", show(&e, 3)));
    }
    c.note("Paired by seed. The hypothesis (gradient noise as regularisation) predicts a ratio well above 1. Widths without both a K=64 and a K=32 run show —.");
    s.tables.push(c);
    s.finding = format!("var(K=64 high dirs)/var(K=32 low dirs): {}", findings.join("; "));
    Ok(s)
}

fn sci(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.3e}"),
        _ => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_parse() {
        assert_eq!(parse_metric("factor_grad_var_dirs_1_32"), Some((1, 32)));
        assert_eq!(parse_metric("factor_grad_var_dirs_33_64"), Some((33, 64)));
        assert_eq!(parse_metric("factor_grad_var_low"), None);
        assert_eq!(parse_metric("other"), None);
    }
}
