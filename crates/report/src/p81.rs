//! Paper 81, dynamic K schedules (SPEC §5): each schedule's ranks over time, final loss, Δ against
//! fixed K = max, the budget actually spent (Σ params over steps), loss curves, and P81-fixed-max.
//!
//! Schemes read from the manifest: `fixed_64`, `fixed_8`, `grow`, `shrink`, `er_tracking`.
//! Schemes whose name starts with `fixed_` are fixed-rank baselines; every other scheme is a
//! dynamic schedule (its record's `schedule` lists the rank changes). Fixed K = max is the fixed
//! scheme with the largest mean K.

use std::collections::BTreeMap;

use records::{Manifest, RunRecord};

use crate::ReportError;
use crate::data::{self, Obs};
use crate::p84::{mean_train_curve, push_plot, sort_claims};
use crate::plots::{Chart, Series};
use crate::section::{Claim, Section, show};
use crate::stats::{self, Estimate, Side};
use crate::table::{Table, fixed, signed, thousands};

/// The schemes of Paper 81, in table order.
pub const SCHEMES: [&str; 5] = ["fixed_64", "fixed_8", "grow", "shrink", "er_tracking"];

const RULE: &str = "L(schedule) − L(fixed K=max) per seed for every dynamic schedule at equal steps; reproduced when every 95% t-interval is above 0; not reproduced when any is below 0; else inconclusive (also n < 2)";

fn describe(o: &Obs<'_>) -> String {
    if o.rec.schedule.is_empty() {
        return o.mean_k().map_or("—".into(), |k| format!("{k:.0} fixed"));
    }
    o.rec
        .schedule
        .iter()
        .filter(|c| c.step < o.entry.at_step)
        .map(|c| {
            let k = c.k_layers.iter().sum::<usize>() as f64 / c.k_layers.len().max(1) as f64;
            if k.fract() == 0.0 {
                format!("{k:.0}@{}", c.step)
            } else {
                format!("{k:.1}@{}", c.step)
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Builds the Paper 81 section.
pub fn section(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
) -> Result<Section, ReportError> {
    let mut s = Section::new(
        81,
        "Dynamic K Schedule",
        "Fixed K=max beats dynamic (K independent of training state)",
    );
    let claim = "fixed K=max reaches lower loss than every dynamic schedule at equal steps";
    let Some(plan) = data::plan(manifest, 81) else {
        s.claims.push(Claim::not_run("P81-fixed-max", 81, claim, "fixed K=max best", RULE));
        return Ok(s);
    };
    s.ran = true;
    let d = data::collect(plan, records);
    s.notes = d.missing.clone();
    let mut schemes: Vec<String> = SCHEMES.iter().map(|x| x.to_string()).collect();
    schemes.extend(d.schemes().into_iter().filter(|x| !SCHEMES.contains(&x.as_str())));
    schemes.retain(|k| !d.scheme(k).is_empty());
    let fixed_max = schemes
        .iter()
        .filter(|k| k.starts_with("fixed_"))
        .filter_map(|k| Some((k.clone(), d.scheme(k).first()?.mean_k()?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|x| x.0);
    let loss = |k: &str| data::per_seed(&d.scheme(k), Obs::loss);
    let ref_loss = fixed_max.as_deref().map(loss).unwrap_or_default();

    let mut t = Table::new(
        "p81_schedules",
        "Paper 81: K schedules at equal steps",
        &[
            "Scheme",
            "K schedule (mean K@step)",
            "Final Params",
            "Param·steps",
            "Final Loss",
            "Loss sd",
            &format!("Δ vs {}", fixed_max.as_deref().unwrap_or("fixed K=max")),
            "95% CI",
            "Efficiency",
            "n",
        ],
    );
    for k in &schemes {
        let o = d.scheme(k);
        let Some(first) = o.first() else { continue };
        let le = Estimate::of(&data::values(&loss(k)));
        let de = Estimate::of(&data::paired_diff(&ref_loss, &loss(k)));
        let ee = Estimate::of(&data::values(&data::per_seed(&o, Obs::efficiency)));
        let is_ref = fixed_max.as_deref() == Some(k.as_str());
        t.row(vec![
            k.clone(),
            describe(first),
            thousands(first.params()),
            thousands(first.param_steps()),
            fixed(le.as_ref().map(|e| e.mean), 4),
            fixed(le.as_ref().and_then(|e| e.sd), 4),
            if is_ref { "0".into() } else { signed(de.as_ref().map(|e| e.mean), 4) },
            if is_ref {
                "—".into()
            } else {
                de.as_ref().map_or("—".into(), |e| e.show_interval(4))
            },
            fixed(ee.as_ref().map(|e| e.mean), 5),
            o.len().to_string(),
        ]);
    }
    t.note("Grow appends columns of A and zero rows of B (the function is unchanged at a switch); shrink truncates A·B by SVD; ER-tracking re-measures every 10 steps and sets K_l = round(ER_l/0.62). Efficiency uses the final params; Param·steps is the budget actually spent.");
    s.tables.push(t);

    let dynamic: Vec<&String> = schemes.iter().filter(|k| !k.starts_with("fixed_")).collect();
    let parts: Vec<(String, Vec<f64>, Side)> = dynamic
        .iter()
        .map(|k| {
            (
                format!("L({k}) − L(fixed K=max)"),
                data::paired_diff(&ref_loss, &loss(k)),
                Side::Positive,
            )
        })
        .collect();
    let best_dyn = dynamic
        .iter()
        .filter_map(|k| data::mean(&data::values(&loss(k))).map(|v| (k.as_str(), v)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let est = best_dyn.and_then(|(k, _)| Estimate::of(&data::paired_diff(&ref_loss, &loss(k))));
    let decision = if fixed_max.is_none() {
        stats::all_directions(&[])
    } else {
        stats::all_directions(&parts)
    };
    s.claims.push(Claim::decided(
        "P81-fixed-max",
        81,
        claim,
        "fixed K=max best",
        match best_dyn {
            Some((k, _)) => format!(
                "best dynamic ({k}) − {}: {}",
                fixed_max.as_deref().unwrap_or("—"),
                show(&est, 4)
            ),
            None => "—".into(),
        },
        est,
        RULE,
        decision,
    ));
    sort_claims(&mut s);
    s.finding = match best_dyn {
        Some((k, _)) => format!(
            "best dynamic schedule {k}: {} vs {}",
            show(&Estimate::of(&data::paired_diff(&ref_loss, &loss(k))), 4),
            fixed_max.as_deref().unwrap_or("—")
        ),
        None => "no dynamic schedule in the store".into(),
    };

    let curves: Vec<Series> =
        schemes.iter().map(|k| Series::line(k.clone(), mean_train_curve(&d.scheme(k)))).collect();
    push_plot(
        &mut s,
        "p81_loss_curves",
        Chart {
            title: "Paper 81: training loss per K schedule (mean over seeds)".into(),
            x_label: "update step".into(),
            y_label: "training loss (nats/token)".into(),
            log_x: false,
            series: curves,
        },
    )?;
    Ok(s)
}
