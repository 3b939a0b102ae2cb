//! Aggregation of measured ranks (SPEC §4–§5): a layer's value is the mean over its adapted
//! matrices, with each matrix kept; a value's stability over checkpoints (Paper 83's claim
//! P83-er-stable) is its mean, sample standard deviation and coefficient of variation.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One layer's value: the mean over its matrices, each matrix's value kept beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerValue {
    /// `(matrix name, value)` in the order given.
    pub per_matrix: Vec<(String, f64)>,
    /// Arithmetic mean of the values.
    pub mean: f64,
}

/// The mean over a layer's matrices (e.g. `[("qkv", 21.3), ("out", 18.2), ...]`).
pub fn layer_value<S: Into<String>>(
    per_matrix: impl IntoIterator<Item = (S, f64)>,
) -> Result<LayerValue> {
    let per_matrix: Vec<(String, f64)> =
        per_matrix.into_iter().map(|(n, v)| (n.into(), v)).collect();
    let values: Vec<f64> = per_matrix.iter().map(|(_, v)| *v).collect();
    let mean = mean_of(&values, "a layer's matrices")?;
    Ok(LayerValue { per_matrix, mean })
}

/// Summary of one value over checkpoints (or seeds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `n − 1`); `None` for a single value, which shows no
    /// spread but does not show there is none.
    pub sd: Option<f64>,
    /// `sd / |mean|`; `None` when `sd` is `None` or the mean is 0.
    pub cv: Option<f64>,
}

/// Mean, sample standard deviation and coefficient of variation of `values`.
pub fn stability(values: &[f64]) -> Result<Stability> {
    let mean = mean_of(values, "checkpoint values")?;
    let n = values.len();
    let sd = (n >= 2).then(|| {
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    let cv = sd.filter(|_| mean != 0.0).map(|sd| sd / mean.abs());
    Ok(Stability { n, mean, sd, cv })
}

fn mean_of(values: &[f64], what: &'static str) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::NothingToAggregate { what });
    }
    let nan = values.iter().filter(|v| v.is_nan()).count();
    let infinite = values.iter().filter(|v| v.is_infinite()).count();
    if nan + infinite > 0 {
        return Err(Error::NonFinite { nan, infinite, total: values.len() });
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}
