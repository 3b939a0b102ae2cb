//! Paper 85's proposed probe (SPEC §7): is the gain of K = 64 over K = 32 gradient noise?
//!
//! At a given step, the adapter factor gradients are captured on `minibatches` independent
//! batches of the adaptation split (drawn from their own seeded stream, so training is not
//! disturbed). Rank direction r of an adapter is column r of A and row r of B; its variance is
//! the sample variance across minibatches of each of its gradient coordinates, averaged over those
//! coordinates. The metrics are the mean of that variance over directions 1..=split and
//! split+1..=K, averaged over every adapted matrix whose rank exceeds the range's start
//! (`factor_grad_var_dirs_1_{split}` and, when K > split, `factor_grad_var_dirs_{split+1}_{K}`,
//! K being the largest rank among the adapters).

use corpus::{BatchSpec, TokenStream, training_batch};
use lora::{GradKind, LoraModel};
use records::Metric;

use crate::{err, to_tensor};
use pipeline::ExecError;

/// Seed offset of the probe's batch stream, apart from every training stream.
const PROBE_SEED_OFFSET: u64 = 0x85_0000_0000;

/// Running sums of one factor gradient across minibatches.
struct Acc {
    rows: usize,
    cols: usize,
    /// Direction axis: columns for A (d_in × K), rows for B (K × d_out).
    directions_are_columns: bool,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Acc {
    fn rank(&self) -> usize {
        if self.directions_are_columns { self.cols } else { self.rows }
    }

    /// Sample variance of each coordinate, averaged over direction `r`'s coordinates.
    fn direction_variance(&self, r: usize, n: usize) -> f64 {
        let idx: Vec<usize> = if self.directions_are_columns {
            (0..self.rows).map(|i| i * self.cols + r).collect()
        } else {
            (0..self.cols).map(|j| r * self.cols + j).collect()
        };
        let nf = n as f64;
        let total: f64 = idx
            .iter()
            .map(|&i| {
                let mean = self.sum[i] / nf;
                ((self.sum_sq[i] - nf * mean * mean) / (nf - 1.0)).max(0.0)
            })
            .sum();
        total / idx.len() as f64
    }
}

/// The probe's metrics after `step` updates (see the module docs).
#[allow(clippy::too_many_arguments)] // Mirrors the probe's spec fields one to one.
pub(crate) fn factor_grad_variance(
    model: &LoraModel,
    adapt: &TokenStream,
    spec: BatchSpec,
    seed: u64,
    step: usize,
    split_rank: usize,
    minibatches: usize,
) -> Result<Vec<Metric>, ExecError> {
    if minibatches < 2 {
        return Err("the factor-gradient variance probe needs at least 2 minibatches".into());
    }
    let device = model.device();
    let mut accs: Vec<Acc> = Vec::new();
    for b in 0..minibatches {
        let stream = (step * minibatches + b) as u64;
        let batch = training_batch(adapt, spec, seed.wrapping_add(PROBE_SEED_OFFSET), stream)
            .map_err(|e| err("probe batch", e))?;
        let cap = model
            .capture_gradients(&to_tensor(&batch, device)?, false, true)
            .map_err(|e| err("probe gradients", e))?;
        let grads: Vec<_> = cap.matrices.iter().filter(|g| g.kind != GradKind::Natural).collect();
        if accs.is_empty() {
            accs = grads
                .iter()
                .map(|g| Acc {
                    rows: g.rows,
                    cols: g.cols,
                    directions_are_columns: g.kind == GradKind::FactorA,
                    sum: vec![0.0; g.data.len()],
                    sum_sq: vec![0.0; g.data.len()],
                })
                .collect();
        }
        for (acc, g) in accs.iter_mut().zip(&grads) {
            for (i, &v) in g.data.iter().enumerate() {
                let v = f64::from(v);
                acc.sum[i] += v;
                acc.sum_sq[i] += v * v;
            }
        }
    }
    let k_max = accs.iter().map(Acc::rank).max().unwrap_or(0);
    let mut ranges = vec![(1, split_rank.min(k_max))];
    if k_max > split_rank {
        ranges.push((split_rank + 1, k_max));
    }
    let mut out = Vec::new();
    for (from, to) in ranges {
        let mut per_matrix = Vec::new();
        for acc in accs.iter().filter(|a| a.rank() >= from) {
            let hi = to.min(acc.rank());
            let v: f64 = (from - 1..hi).map(|r| acc.direction_variance(r, minibatches)).sum();
            per_matrix.push(v / (hi + 1 - from) as f64);
        }
        if !per_matrix.is_empty() {
            out.push(Metric {
                step,
                name: format!("factor_grad_var_dirs_{from}_{to}"),
                value: per_matrix.iter().sum::<f64>() / per_matrix.len() as f64,
            });
        }
    }
    Ok(out)
}
