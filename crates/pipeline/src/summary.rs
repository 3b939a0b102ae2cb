//! A plain-text summary of a store, one table per paper (issue 6, item 6: what `reproduce`
//! prints until the report crate renders the full report). Numbers are means ± sample standard
//! deviations over seeds; efficiency is (L_start − L) / (params / 10,000) (SPEC §2).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use records::{GradKind, RunRecord};

use crate::store::StoreError;

/// Mean and sample standard deviation (0 for one value).
fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Mean natural ER per layer of a record over its measurement steps.
fn natural_er_by_layer(r: &RunRecord) -> BTreeMap<usize, f64> {
    let mut acc: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for e in r.er.iter().filter(|e| e.kind == GradKind::Natural) {
        if let Some(l) = e.layer {
            acc.entry(l).or_default().push(e.effective_rank);
        }
    }
    acc.into_iter().map(|(l, v)| (l, mean_sd(&v).0)).collect()
}

/// The summary of the store at `store`.
pub fn summarize(store: &Path) -> Result<String, StoreError> {
    let Some(manifest) = records::read_manifest(store)? else {
        return Ok(format!("{}: no manifest yet; run the pipeline first\n", store.display()));
    };
    let recs = records::read_records(store)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "profile {} · seeds {:?} · base {}",
        manifest.profile,
        manifest.seeds,
        manifest.base_run_id.as_deref().unwrap_or("-")
    );
    for paper in &manifest.papers {
        let _ = writeln!(out, "\nPaper {}", paper.paper);
        let _ = writeln!(
            out,
            "{:<16} {:>5} {:>11} {:>7} {:>6} {:>18} {:>10}",
            "scheme", "seeds", "params", "mean K", "steps", "loss (mean ± sd)", "efficiency"
        );
        // Group by scheme in first-seen order.
        let mut order: Vec<&str> = Vec::new();
        let mut groups: BTreeMap<&str, Vec<(&RunRecord, usize)>> = BTreeMap::new();
        let mut missing = 0;
        for e in &paper.entries {
            match recs.get(&e.run_id) {
                Some(r) => {
                    if !groups.contains_key(e.scheme.as_str()) {
                        order.push(&e.scheme);
                    }
                    groups.entry(&e.scheme).or_default().push((r, e.at_step));
                }
                None => missing += 1,
            }
        }
        for scheme in order {
            let g = &groups[scheme];
            let (r0, at) = g[0];
            let params = r0.params_at(at);
            let mean_k = r0
                .schedule
                .iter()
                .rev()
                .find(|c| c.step <= at)
                .map(|c| c.k_layers.iter().sum::<usize>() as f64 / c.k_layers.len().max(1) as f64)
                .or_else(|| r0.adapter.as_ref().map(|a| a.mean_k()))
                .unwrap_or(f64::NAN);
            let losses: Vec<f64> = g.iter().filter_map(|(r, s)| r.eval_at(*s)).collect();
            let effs: Vec<f64> = g
                .iter()
                .filter_map(|(r, s)| {
                    let l0 = r.initial_loss()?;
                    let l = r.eval_at(*s)?;
                    Some((l0 - l) / (r.params_at(*s) as f64 / 10_000.0))
                })
                .collect();
            let (lm, ls) = mean_sd(&losses);
            let (em, _) = mean_sd(&effs);
            let _ = writeln!(
                out,
                "{:<16} {:>5} {:>11} {:>7.1} {:>6} {:>18} {:>10.5}",
                scheme,
                g.len(),
                thousands(params),
                mean_k,
                at,
                format!("{lm:.4} ± {ls:.4}"),
                em
            );
            if paper.paper == 83 {
                let mut per_layer: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
                let mut factor = Vec::new();
                for (r, _) in g {
                    for (l, v) in natural_er_by_layer(r) {
                        per_layer.entry(l).or_default().push(v);
                    }
                    factor.extend(
                        r.er.iter()
                            .filter(|e| e.kind != GradKind::Natural)
                            .map(|e| e.effective_rank),
                    );
                }
                let layers: Vec<String> =
                    per_layer.values().map(|v| format!("{:.2}", mean_sd(v).0)).collect();
                let all: Vec<f64> = per_layer.values().map(|v| mean_sd(v).0).collect();
                let _ = writeln!(
                    out,
                    "{:<16} natural ER per layer [{}] mean {:.2}; factor ER mean {:.2}",
                    "",
                    layers.join(", "),
                    mean_sd(&all).0,
                    mean_sd(&factor).0
                );
            }
            if paper.paper == 85 {
                let mut metrics: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
                for (r, s) in g {
                    for m in r.metrics.iter().filter(|m| m.step == *s) {
                        metrics.entry(&m.name).or_default().push(m.value);
                    }
                }
                for (name, v) in metrics {
                    let (m, sd) = mean_sd(&v);
                    let _ = writeln!(out, "{:<16} {name} = {m:.6e} ± {sd:.2e}", "");
                }
            }
        }
        if missing > 0 {
            let _ = writeln!(out, "({missing} entries have no record in the store)");
        }
    }
    let _ = writeln!(out);
    for (stage, secs) in &manifest.stage_seconds {
        let _ = writeln!(out, "compute seconds {stage:<5} {secs:>9.1}");
    }
    let _ = writeln!(
        out,
        "steps trained (distinct runs) {} vs requested by all papers {}",
        manifest.steps_trained, manifest.steps_requested
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(thousands(1_536_992), "1,536,992");
        assert_eq!(thousands(999), "999");
        // Sample sd of {1, 3}: mean 2, Σ(x−m)² = 2, /(n−1) = 2, √2.
        let (m, sd) = mean_sd(&[1.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((sd - 2f64.sqrt()).abs() < 1e-12);
    }
}
