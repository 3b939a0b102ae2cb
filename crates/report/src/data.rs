//! Reading a paper's entries out of a manifest and its run records: per-seed values of a scheme,
//! seed-paired differences, and the notes saying what is missing (SPEC §5, §6).

use std::collections::BTreeMap;

use records::{ErRecord, GradKind, Manifest, ManifestEntry, PaperPlan, RunRecord};

use crate::paper;

/// One manifest entry whose run record is present.
#[derive(Debug, Clone, Copy)]
pub struct Obs<'a> {
    /// The entry.
    pub entry: &'a ManifestEntry,
    /// Its run.
    pub rec: &'a RunRecord,
}

impl<'a> Obs<'a> {
    /// Evaluation loss after `at_step` updates.
    pub fn loss(&self) -> Option<f64> {
        self.rec.eval_at(self.entry.at_step)
    }

    /// Evaluation loss before training.
    pub fn l_start(&self) -> Option<f64> {
        self.rec.initial_loss()
    }

    /// Trainable parameters in force for the last update counted (`at_step − 1`).
    pub fn params(&self) -> usize {
        self.rec.params_at(self.entry.at_step.saturating_sub(1))
    }

    /// Σ over the counted updates of the parameters in force: the budget actually spent.
    pub fn param_steps(&self) -> usize {
        (0..self.entry.at_step).map(|s| self.rec.params_at(s)).sum()
    }

    /// SPEC §2 efficiency at `at_step`.
    pub fn efficiency(&self) -> Option<f64> {
        paper::efficiency(self.l_start()?, self.loss()?, self.params())
    }

    /// Per-layer K and embedding K in force at update `step` (0-based).
    pub fn ranks_at(&self, step: usize) -> Option<(Vec<usize>, usize)> {
        if let Some(c) = self.rec.schedule.iter().rev().find(|c| c.step <= step) {
            return Some((c.k_layers.clone(), c.k_embed));
        }
        self.rec.adapter.as_ref().map(|a| (a.k_layers.clone(), a.k_embed))
    }

    /// Mean per-layer K for the last update counted.
    pub fn mean_k(&self) -> Option<f64> {
        let (k, _) = self.ranks_at(self.entry.at_step.saturating_sub(1))?;
        if k.is_empty() {
            return None;
        }
        Some(k.iter().sum::<usize>() as f64 / k.len() as f64)
    }

    /// A tag of the entry.
    pub fn tag(&self, name: &str) -> Option<f64> {
        self.entry.tags.get(name).copied()
    }
}

/// The present entries of one paper, and notes on the missing ones.
#[derive(Debug, Clone, Default)]
pub struct PaperData<'a> {
    /// Entries with a record, in manifest order.
    pub obs: Vec<Obs<'a>>,
    /// One sentence per missing run or missing evaluation.
    pub missing: Vec<String>,
}

/// The plan of `paper` in the manifest, if it was run.
pub fn plan(manifest: &Manifest, paper: u32) -> Option<&PaperPlan> {
    manifest.papers.iter().find(|p| p.paper == paper && !p.entries.is_empty())
}

/// Collects the entries of a plan that have records; notes the others.
pub fn collect<'a>(plan: &'a PaperPlan, records: &'a BTreeMap<String, RunRecord>) -> PaperData<'a> {
    let mut data = PaperData::default();
    for entry in &plan.entries {
        match records.get(&entry.run_id) {
            Some(rec) => {
                if rec.eval_at(entry.at_step).is_none() {
                    data.missing.push(format!(
                        "{} seed {}: run {} has no evaluation at step {}; left out",
                        entry.scheme,
                        entry.seed,
                        short(&entry.run_id),
                        entry.at_step
                    ));
                    continue;
                }
                data.obs.push(Obs { entry, rec });
            }
            None => data.missing.push(format!(
                "{} seed {}: run {} is not in the store; left out",
                entry.scheme,
                entry.seed,
                short(&entry.run_id)
            )),
        }
    }
    data
}

/// The first 12 characters of a run id.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl<'a> PaperData<'a> {
    /// The entries of a scheme, one per seed (the first if a seed repeats).
    pub fn scheme(&self, scheme: &str) -> Vec<Obs<'a>> {
        self.filter(|o| o.entry.scheme == scheme)
    }

    /// The entries matching `keep`, one per seed.
    pub fn filter(&self, keep: impl Fn(&Obs<'a>) -> bool) -> Vec<Obs<'a>> {
        let mut seen = std::collections::BTreeSet::new();
        self.obs.iter().filter(|o| keep(o)).filter(|o| seen.insert(o.entry.seed)).copied().collect()
    }

    /// Scheme names in manifest order, without repeats.
    pub fn schemes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for o in &self.obs {
            if !out.contains(&o.entry.scheme) {
                out.push(o.entry.scheme.clone());
            }
        }
        out
    }
}

/// Per-seed values of `f` over `obs` (entries where `f` is `None` are skipped).
pub fn per_seed<'a>(obs: &[Obs<'a>], f: impl Fn(&Obs<'a>) -> Option<f64>) -> BTreeMap<u64, f64> {
    obs.iter().filter_map(|o| f(o).map(|v| (o.entry.seed, v))).collect()
}

/// Values of a per-seed map in seed order.
pub fn values(m: &BTreeMap<u64, f64>) -> Vec<f64> {
    m.values().copied().collect()
}

/// `b − a` for every seed present in both.
pub fn paired_diff(a: &BTreeMap<u64, f64>, b: &BTreeMap<u64, f64>) -> Vec<f64> {
    a.iter().filter_map(|(s, va)| b.get(s).map(|vb| vb - va)).collect()
}

/// The ER convention a table uses: `sigma` (SPEC §4 default) when present, else the first found.
pub fn convention(recs: &[&RunRecord]) -> Option<String> {
    let mut all: Vec<&str> =
        recs.iter().flat_map(|r| r.er.iter().map(|e| e.convention.as_str())).collect();
    all.sort_unstable();
    all.dedup();
    if all.contains(&"sigma") {
        Some("sigma".to_string())
    } else {
        all.first().map(|s| s.to_string())
    }
}

/// Layer ER measurements of one kind and convention, up to `max_step`.
pub fn layer_er<'r>(
    rec: &'r RunRecord,
    kind: GradKind,
    conv: &str,
    max_step: usize,
) -> Vec<&'r ErRecord> {
    rec.er
        .iter()
        .filter(|e| {
            e.kind == kind && e.convention == conv && e.layer.is_some() && e.step <= max_step
        })
        .collect()
}

/// Mean of a slice; `None` when empty.
pub fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() { None } else { Some(v.iter().sum::<f64>() / v.len() as f64) }
}
