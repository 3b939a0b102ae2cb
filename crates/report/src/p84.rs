//! Paper 84, adaptive K (SPEC §5): the equal-steps table in the paper's format beside the paper's
//! numbers, the two deltas, the budget-matched comparison, loss curves, efficiency against params,
//! and the claims P84-* of SPEC §6.
//!
//! Schemes read from the manifest: `uniform_8`, `uniform_16`, `uniform_32`, `uniform_64`,
//! `adaptive` (each entry's `at_step` = the equal-steps budget, 40 in the paper profile). The
//! pipeline must record an evaluation at step 0 and at `at_step`, and for the budget-matched
//! comparison at every step (or at least at round(params(uniform_32)·40 / params(scheme))).

use std::collections::BTreeMap;

use records::{Manifest, RunRecord};

use crate::ReportError;
use crate::data::{self, Obs, PaperData};
use crate::paper::{self, P84_TABLE, PROSE_LAYER_UNIT_COST};
use crate::plots::{self, Chart, Series};
use crate::section::{Claim, Plot, Section, show};
use crate::stats::{self, Estimate, Side};
use crate::table::{Table, fixed, signed, thousands};

/// The schemes of Paper 84, in the paper's row order.
pub const SCHEMES: [&str; 5] = ["uniform_8", "uniform_16", "adaptive", "uniform_32", "uniform_64"];

/// Equivalence margin (nats) for "adaptive ≈ uniform_32".
pub const EQUIVALENCE_MARGIN: f64 = 0.05;

const RULE_ADAPTIVE: &str = "Δ = L(adaptive) − L(uniform_32) per seed; reproduced when its 95% t-interval lies inside ±0.05 nats (the paper's 'no meaningful difference'); not reproduced when wholly outside; else inconclusive (also n < 2)";
const RULE_K64: &str = "Δ = L(uniform_64) − L(uniform_32) per seed; reproduced when the 95% t-interval is below 0; not reproduced when above 0; inconclusive when it spans 0 or n < 2";
const RULE_K8: &str = "eff(uniform_8) − eff(X) per seed for every other scheme X; reproduced when every 95% t-interval is above 0; not reproduced when any is below 0; else inconclusive (also n < 2)";
const RULE_PARAMS: &str = "exact: modelspec's trainable_params for the paper architecture equals each of the five printed counts, and every P84 record's count equals modelspec's for its ranks";
const RULE_PROSE: &str = "exact: the prose's 256+256+768+256 = 1,536 per unit of K per layer reproduces the table's counts";

/// Builds the Paper 84 section.
pub fn section(
    manifest: &Manifest,
    records: &BTreeMap<String, RunRecord>,
) -> Result<Section, ReportError> {
    let mut s = Section::new(
        84,
        "Adaptive K",
        "Adaptive ≈ uniform (K variation too small); K=64 unexpectedly dominates",
    );
    let plan = data::plan(manifest, 84);
    let d = plan.map(|p| data::collect(p, records)).unwrap_or_default();
    s.claims.push(params_claim(&d));
    s.claims.push(prose_claim());
    let Some(_) = plan else {
        for (id, claim, value, rule) in [
            (
                "P84-adaptive-vs-32",
                "adaptive − uniform_32 ≈ 0 at +1.07% params",
                "−0.0055 at +1.07% params",
                RULE_ADAPTIVE,
            ),
            ("P84-k64-dominates", "uniform_64 − uniform_32 < 0", "−0.697", RULE_K64),
            (
                "P84-k8-efficient",
                "uniform_8 has the highest efficiency",
                "0.00816 (highest of five)",
                RULE_K8,
            ),
        ] {
            s.claims.push(Claim::not_run(id, 84, claim, value, rule));
        }
        sort_claims(&mut s);
        return Ok(s);
    };
    s.ran = true;
    s.notes = d.missing.clone();

    let loss: BTreeMap<&str, BTreeMap<u64, f64>> =
        SCHEMES.iter().map(|&k| (k, data::per_seed(&d.scheme(k), Obs::loss))).collect();
    let eff: BTreeMap<&str, BTreeMap<u64, f64>> =
        SCHEMES.iter().map(|&k| (k, data::per_seed(&d.scheme(k), Obs::efficiency))).collect();

    s.tables.push(equal_steps_table(&d));
    s.tables.push(deltas_table(&d, &loss));
    s.tables.push(budget_table(&d));

    // Claims.
    let empty = BTreeMap::new();
    let l = |k: &str| loss.get(k).unwrap_or(&empty);
    let e = |k: &str| eff.get(k).unwrap_or(&empty);
    let d_ad = data::paired_diff(l("uniform_32"), l("adaptive"));
    let d_64 = data::paired_diff(l("uniform_32"), l("uniform_64"));
    let est_ad = Estimate::of(&d_ad);
    let est_64 = Estimate::of(&d_64);
    let pct = params_pct(&d, "adaptive", "uniform_32");
    s.claims.push(Claim::decided(
        "P84-adaptive-vs-32",
        84,
        "adaptive − uniform_32 ≈ 0 at +1.07% params",
        "−0.0055 at +1.07% params",
        format!(
            "{} at {} params",
            show(&est_ad, 4),
            pct.map_or("—".into(), |p| format!("{}%", signed(Some(p), 2)))
        ),
        est_ad,
        RULE_ADAPTIVE,
        stats::equivalent("adaptive − uniform_32", &d_ad, EQUIVALENCE_MARGIN),
    ));
    s.claims.push(Claim::decided(
        "P84-k64-dominates",
        84,
        "uniform_64 − uniform_32 < 0",
        "−0.697",
        show(&est_64, 4),
        est_64,
        RULE_K64,
        stats::direction("uniform_64 − uniform_32", &d_64, Side::Negative),
    ));
    let parts: Vec<(String, Vec<f64>, Side)> = SCHEMES
        .iter()
        .filter(|&&k| k != "uniform_8" && !e(k).is_empty())
        .map(|&k| {
            (
                format!("eff(uniform_8) − eff({k})"),
                data::paired_diff(e(k), e("uniform_8")),
                Side::Positive,
            )
        })
        .collect();
    let est8 = Estimate::of(&data::values(e("uniform_8")));
    let best = best_by_mean(&eff);
    s.claims.push(Claim::decided(
        "P84-k8-efficient",
        84,
        "uniform_8 has the highest efficiency",
        "0.00816 (highest of five)",
        format!("{}; highest mean: {}", show(&est8, 5), best.unwrap_or("—")),
        est8,
        RULE_K8,
        stats::all_directions(&parts),
    ));
    sort_claims(&mut s);

    s.finding = format!(
        "adaptive − uniform_32 = {}; uniform_64 − uniform_32 = {}; most efficient: {}",
        show(&Estimate::of(&d_ad), 4),
        show(&Estimate::of(&d_64), 4),
        best.unwrap_or("—")
    );

    // Plots.
    let curves: Vec<Series> = SCHEMES
        .iter()
        .filter_map(|&k| {
            let pts = mean_train_curve(&d.scheme(k));
            (!pts.is_empty()).then(|| Series::line(k, pts))
        })
        .collect();
    push_plot(
        &mut s,
        "p84_loss_curves",
        Chart {
            title: "Paper 84: training loss per scheme (mean over seeds)".into(),
            x_label: "update step".into(),
            y_label: "training loss (nats/token)".into(),
            log_x: false,
            series: curves,
        },
    )?;
    let ours: Vec<(f64, f64)> = SCHEMES
        .iter()
        .filter_map(|&k| {
            let o = d.scheme(k);
            let p = o.first()?.params() as f64;
            Some((p, data::mean(&data::values(e(k)))?))
        })
        .collect();
    let mut ours = ours;
    ours.sort_by(|a, b| a.0.total_cmp(&b.0));
    let theirs: Vec<(f64, f64)> =
        P84_TABLE.iter().map(|r| (r.params as f64, r.efficiency)).collect();
    push_plot(
        &mut s,
        "efficiency_vs_params",
        Chart {
            title: "Efficiency against trainable parameters (Paper 84 schemes)".into(),
            x_label: "trainable parameters (log scale)".into(),
            y_label: "efficiency (nats per 10,000 params)".into(),
            log_x: true,
            series: vec![
                Series::line("ours (mean over seeds)", ours),
                Series::points("paper", theirs),
            ],
        },
    )?;
    Ok(s)
}

/// Adds a plot when it has points.
pub fn push_plot(s: &mut Section, stem: &str, chart: Chart) -> Result<(), ReportError> {
    if let Some(svg) = plots::render(&chart)? {
        s.plots.push(Plot { stem: stem.to_string(), title: chart.title, svg });
    }
    Ok(())
}

/// Orders a section's claims by id.
pub fn sort_claims(s: &mut Section) {
    s.claims.sort_by(|a, b| a.id.cmp(&b.id));
}

/// The scheme with the highest mean of a per-seed value.
pub fn best_by_mean<'k>(m: &BTreeMap<&'k str, BTreeMap<u64, f64>>) -> Option<&'k str> {
    m.iter()
        .filter_map(|(k, v)| data::mean(&data::values(v)).map(|x| (*k, x)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// Mean over seeds of the training loss at each step up to each entry's `at_step`.
pub fn mean_train_curve(obs: &[Obs<'_>]) -> Vec<(f64, f64)> {
    let mut by_step: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for o in obs {
        for st in o.rec.steps.iter().filter(|st| st.step <= o.entry.at_step) {
            by_step.entry(st.step).or_default().push(st.train_loss);
        }
    }
    by_step.into_iter().filter_map(|(k, v)| data::mean(&v).map(|m| (k as f64, m))).collect()
}

fn params_pct(d: &PaperData<'_>, a: &str, b: &str) -> Option<f64> {
    let pa = d.scheme(a).first()?.params() as f64;
    let pb = d.scheme(b).first()?.params() as f64;
    Some((pa - pb) / pb * 100.0)
}

fn equal_steps_table(d: &PaperData<'_>) -> Table {
    let mut t = Table::new(
        "p84_equal_steps",
        "Paper 84: equal-steps comparison",
        &[
            "Scheme",
            "Params",
            "Mean K",
            "Final Loss",
            "Efficiency",
            "Paper Params",
            "Paper Final Loss",
            "Paper Efficiency",
            "Loss sd",
            "Steps",
            "n",
        ],
    );
    let mut schemes: Vec<String> = SCHEMES.iter().map(|s| s.to_string()).collect();
    schemes.extend(d.schemes().into_iter().filter(|s| !SCHEMES.contains(&s.as_str())));
    for k in &schemes {
        let o = d.scheme(k);
        let le = Estimate::of(&data::values(&data::per_seed(&o, Obs::loss)));
        let ee = Estimate::of(&data::values(&data::per_seed(&o, Obs::efficiency)));
        let p = paper::paper_row(k);
        let first = o.first();
        t.row(vec![
            k.clone(),
            first.map_or("—".into(), |f| thousands(f.params())),
            fixed(first.and_then(Obs::mean_k), 1),
            fixed(le.as_ref().map(|e| e.mean), 4),
            fixed(ee.as_ref().map(|e| e.mean), 5),
            p.map_or("—".into(), |p| thousands(p.params)),
            fixed(p.map(|p| p.final_loss), 4),
            fixed(p.map(|p| p.efficiency), 5),
            fixed(le.as_ref().and_then(|e| e.sd), 4),
            first.map_or("—".into(), |f| f.entry.at_step.to_string()),
            o.len().to_string(),
        ]);
    }
    if let Some((k, ke)) =
        d.scheme("adaptive").first().and_then(|a| a.ranks_at(a.entry.at_step.saturating_sub(1)))
    {
        let ks = k.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
        t.note(format!("adaptive per-layer K: {ks}; K_e = {ke} (the paper's: 32, 33, 28, 36, 33, 34, 33, 31; K_e = 32)."));
    }
    t.note("Final Loss: evaluation loss after `Steps` updates, mean over seeds; Efficiency = (L_start − L_final)/(params/10,000) per seed (SPEC §2), mean over seeds; L_start is each run's evaluation loss before training.");
    t.note("The paper's L_start is 7.841; absolute losses depend on data and recipe and are not expected to match.");
    t
}

fn deltas_table(d: &PaperData<'_>, loss: &BTreeMap<&str, BTreeMap<u64, f64>>) -> Table {
    let mut t = Table::new(
        "p84_deltas",
        "Paper 84: deltas at equal steps",
        &["Comparison", "Δ Final Loss", "95% CI", "n", "Params Δ", "Paper Δ", "Paper Params Δ"],
    );
    let empty = BTreeMap::new();
    for (a, b, paper_d, paper_p) in [
        ("adaptive", "uniform_32", paper::P84_DELTA_ADAPTIVE_VS_32, "+1.07%"),
        ("uniform_64", "uniform_32", paper::P84_DELTA_64_VS_32, "+100.00%"),
    ] {
        let diffs = data::paired_diff(loss.get(b).unwrap_or(&empty), loss.get(a).unwrap_or(&empty));
        let e = Estimate::of(&diffs);
        t.row(vec![
            format!("{a} − {b}"),
            e.as_ref().map_or("—".into(), |e| {
                format!(
                    "{}{}",
                    signed(Some(e.mean), 4),
                    e.sd.map_or(String::new(), |sd| format!(" ± {sd:.4}"))
                )
            }),
            e.as_ref().map_or("—".into(), |e| e.show_interval(4)),
            diffs.len().to_string(),
            params_pct(d, a, b).map_or("—".into(), |p| format!("{}%", signed(Some(p), 2))),
            signed(Some(paper_d), 4),
            paper_p.to_string(),
        ]);
    }
    t.note("Δ is paired by seed (seeds present in both schemes); ± is the sample sd over seeds; the interval is the 95% Student-t interval of the mean.");
    t
}

fn budget_table(d: &PaperData<'_>) -> Table {
    let mut t = Table::new(
        "p84_budget_matched",
        "Paper 84: budget-matched comparison (equal params × steps)",
        &[
            "Scheme",
            "Params",
            "Steps",
            "Budget (params × steps)",
            "Loss",
            "Δ vs uniform_32",
            "n",
            "Paper Steps",
            "Paper Loss",
        ],
    );
    let reference = d.scheme("uniform_32");
    let Some(r) = reference.first() else {
        t.note("uniform_32 was not run: no reference budget.");
        return t;
    };
    let budget = r.params() as f64 * r.entry.at_step as f64;
    let ref_loss = data::per_seed(&reference, Obs::loss);
    for k in SCHEMES {
        let o = d.scheme(k);
        let Some(first) = o.first() else { continue };
        let params = first.params();
        let steps = ((budget / params as f64).round() as usize).max(1);
        let loss = data::per_seed(&o, |x| x.rec.eval_at(steps));
        let le = Estimate::of(&data::values(&loss));
        let trained = o.iter().map(|x| x.rec.steps.len()).max().unwrap_or(0);
        let de = Estimate::of(&data::paired_diff(&ref_loss, &loss));
        let (pst, pl) = match k {
            "uniform_32" => ("40", "6.8191"),
            "adaptive" => ("40", "6.8136"),
            _ => ("—", "—"),
        };
        t.row(vec![
            k.to_string(),
            thousands(params),
            steps.to_string(),
            thousands(params * steps),
            if le.is_none() && steps > trained {
                format!("not trained ({trained} steps run)")
            } else {
                fixed(le.as_ref().map(|e| e.mean), 4)
            },
            if k == "uniform_32" {
                "0".to_string()
            } else {
                de.as_ref().map_or("—".into(), |e| signed(Some(e.mean), 4))
            },
            loss.len().to_string(),
            pst.to_string(),
            pl.to_string(),
        ]);
        if loss.len() < o.len() && steps <= trained {
            t.note(format!("{k}: no evaluation at step {steps} in {} of {} runs; add step {steps} to the run's evaluation steps", o.len() - loss.len(), o.len()));
        }
    }
    t.note(format!(
        "Budget B = params(uniform_32) × {} = {}; each scheme is read at round(B / params) updates (at least 1), from its own run.",
        r.entry.at_step,
        thousands(budget as usize)
    ));
    t
}

fn params_claim(d: &PaperData<'_>) -> Claim {
    let arch = modelspec::Architecture::paper();
    let mut bad = Vec::new();
    for row in P84_TABLE {
        let ours = arch.trainable_params(&row.k_layers, row.k_embed);
        if ours != row.params {
            bad.push(format!(
                "{}: modelspec {} vs paper {}",
                row.scheme,
                thousands(ours),
                thousands(row.params)
            ));
        }
    }
    let mut checked = 0;
    for o in &d.obs {
        if let Some((k, ke)) = o.ranks_at(o.entry.at_step.saturating_sub(1)) {
            let want = o.rec.arch.trainable_params(&k, ke);
            checked += 1;
            if want != o.params() {
                bad.push(format!(
                    "{} seed {}: record {} vs modelspec {}",
                    o.entry.scheme,
                    o.entry.seed,
                    thousands(o.params()),
                    thousands(want)
                ));
            }
        }
    }
    let ours = P84_TABLE
        .iter()
        .map(|r| thousands(arch.trainable_params(&r.k_layers, r.k_embed)))
        .collect::<Vec<_>>()
        .join(" / ");
    let reason = if bad.is_empty() {
        format!("all five counts equal; {checked} P84 record(s) agree with modelspec")
    } else {
        bad.join("; ")
    };
    Claim::decided(
        "P84-params",
        84,
        "the five parameter counts of the table, exactly",
        "384,248 / 768,496 / 1,553,376 / 1,536,992 / 3,073,984",
        ours,
        None,
        RULE_PARAMS,
        stats::exact(bad.is_empty(), reason),
    )
}

fn prose_claim() -> Claim {
    let arch = modelspec::Architecture::paper();
    let table_cost = arch.layer_unit_cost();
    let prose_k8 = 8 * 8 * PROSE_LAYER_UNIT_COST + 8 * arch.embed_unit_cost();
    let holds = (0..P84_TABLE.len()).all(|i| {
        let r = P84_TABLE[i];
        r.k_layers.iter().sum::<usize>() * PROSE_LAYER_UNIT_COST
            + r.k_embed * arch.embed_unit_cost()
            == r.params
    });
    Claim::decided(
        "P84-prose-arithmetic",
        84,
        "one unit of K in one layer costs 256+256+768+256 = 1,536 params (prose)",
        "1,536 per K per layer (table implies 4,096)",
        format!("{} per K per layer (modelspec; fits the table)", thousands(table_cost)),
        None,
        RULE_PROSE,
        stats::exact(
            holds,
            format!(
                "with 1,536 uniform_8 would have {} params, not the table's 384,248; the table's counts need {} = (256+768)+(256+256)+(256+1024)+(1024+256): the prose counts attention only",
                thousands(prose_k8),
                thousands(table_cost)
            ),
        ),
    )
}
