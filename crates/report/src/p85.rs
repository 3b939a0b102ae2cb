//! Paper 85, the proposed gradient-noise probe (SPEC §7). Not a claim of the series, so it has no
//! ledger entry; the report prints the probe table so the hypothesis can be judged.
//!
//! Convention the pipeline follows:
//! - schemes `uniform_32`, `uniform_64` (paper model) and `uniform_32_d512`, `uniform_64_d512`
//!   (d_model = 512); the width is read from the record's `arch`, the name is a label;
//! - metrics named [`VAR_LOW`] (variance of the adapter factor gradients in directions 1–32, per
//!   coordinate, averaged over layers and matrices) and [`VAR_HIGH`] (directions 33–64; K = 64
//!   only), recorded at one or more steps ≤ `at_step`; the report averages a run's values over
//!   those steps.

use std::collections::BTreeMap;

use records::{Manifest, RunRecord};

use crate::ReportError;
use crate::data::{self, Obs};
use crate::section::Section;
use crate::stats::Estimate;
use crate::table::{Table, fixed};

/// Metric: factor-gradient variance in directions 1–32.
pub const VAR_LOW: &str = "factor_grad_var_low";
/// Metric: factor-gradient variance in directions 33–64.
pub const VAR_HIGH: &str = "factor_grad_var_high";

fn metric(o: &Obs<'_>, name: &str) -> Option<f64> {
    let v: Vec<f64> = o
        .rec
        .metrics
        .iter()
        .filter(|m| m.name == name && m.step <= o.entry.at_step)
        .map(|m| m.value)
        .collect();
    data::mean(&v)
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
        "Paper 85: adapter gradient variance by direction",
        &[
            "Scheme",
            "d_model",
            "K",
            "Var dirs 1–32",
            "Var dirs 33–64",
            "High/low ratio",
            "Final Loss",
            "n",
        ],
    );
    let mut ratios = Vec::new();
    for k in d.schemes() {
        let o = d.scheme(&k);
        let Some(first) = o.first() else { continue };
        let lo = Estimate::of(&data::values(&data::per_seed(&o, |x| metric(x, VAR_LOW))));
        let hi = Estimate::of(&data::values(&data::per_seed(&o, |x| metric(x, VAR_HIGH))));
        let ratio = Estimate::of(&data::values(&data::per_seed(&o, |x| {
            let (h, l) = (metric(x, VAR_HIGH)?, metric(x, VAR_LOW)?);
            (l > 0.0).then(|| h / l)
        })));
        let loss = Estimate::of(&data::values(&data::per_seed(&o, Obs::loss)));
        if let Some(r) = &ratio {
            ratios.push(format!("{k}: {:.3}", r.mean));
        }
        t.row(vec![
            k.clone(),
            first.rec.arch.d_model.to_string(),
            fixed(first.mean_k(), 0),
            sci(lo.as_ref().map(|e| e.mean)),
            sci(hi.as_ref().map(|e| e.mean)),
            fixed(ratio.as_ref().map(|e| e.mean), 3),
            fixed(loss.as_ref().map(|e| e.mean), 4),
            o.len().to_string(),
        ]);
    }
    t.note(format!("Metrics `{VAR_LOW}` and `{VAR_HIGH}`: per-coordinate variance of the adapter factor gradients in rank directions 1–32 and 33–64, averaged over the recorded steps; ratio per seed, then mean."));
    s.tables.push(t);
    s.finding = if ratios.is_empty() {
        "no variance ratio recorded".into()
    } else {
        format!("high/low variance ratio {}", ratios.join(", "))
    };
    Ok(s)
}

fn sci(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.3e}"),
        _ => "—".into(),
    }
}
