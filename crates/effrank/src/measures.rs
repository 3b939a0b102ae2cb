//! Rank measures derived from one [`Spectrum`] (SPEC §4): effective rank under three conventions,
//! stable rank, participation ratio, energy ranks and numerical rank.
//!
//! Definitions, with `σ_1 ≥ … ≥ σ_k ≥ 0` the `k = min(m, n)` singular values:
//!
//! * effective rank (Roy & Vetterli, 2007): `ER = exp(−Σ p_i ln p_i)` (with `0·ln 0 = 0`), where
//!   the distribution `p` depends on the [`Convention`]:
//!   `sigma` (the project's default) `p_i = σ_i/Σσ`; `sigma2` `p_i = σ_i²/Σσ²`;
//!   `softmax` `p = softmax(σ)` over all `k` values. For any non-zero matrix and the first two
//!   conventions, `1 ≤ ER ≤ rank`. The softmax convention, found in some public code, is *not*
//!   scale invariant and gives every zero singular value weight `e⁰`, so it tends to `k` as the
//!   matrix shrinks; it is offered for comparison only.
//! * stable rank `‖G‖_F²/‖G‖₂² = Σσ²/σ_1²`;
//! * participation ratio `(Σσ²)²/Σσ⁴`;
//! * energy rank at fraction `f`: the smallest `r` with `Σ_{i≤r} σ_i² ≥ f·Σσ²` (energy = `σ²`);
//! * numerical rank at tolerance `t`: the number of `σ_i > t`; the default `t` is NumPy's
//!   `σ_1·max(m,n)·ε` with ε of the input precision ([`Spectrum::default_tolerance`]).
//!
//! Singular values at or below the numerical-rank tolerance are rounding noise of the input (or,
//! on the Gram path, of the Gram matrix) and count as zero in every measure, so that a rank-`k`
//! matrix stored in `f32` has `ER ≤ k` exactly rather than `k + 10⁻⁶`, and the Gram and SVD paths
//! do not differ through their noise. Hence `1 ≤ ER ≤ numerical rank` for every non-zero matrix.
//!
//! The all-zero matrix has rank 0 and, by this crate's definition, every measure of it is 0 under
//! every convention (softmax's uniform answer for it would be an artefact of the convention).
//! That is the one case where `ER < 1`; [`Spectrum::is_zero`] tells it apart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spectrum::Spectrum;

/// Relative slack when comparing cumulative energy with `fraction · total`, so that exact
/// fractions (9 of 10 equal values hold exactly 90%) are not lost to rounding.
pub const ENERGY_SLACK: f64 = 1e-12;

/// Which probability distribution over the singular values the effective rank is the entropy of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// `p_i = σ_i / Σσ` (Roy & Vetterli; the project's default).
    #[default]
    Sigma,
    /// `p_i = σ_i² / Σσ²` (energy-normalised).
    Sigma2,
    /// `p = softmax(σ)` over all `min(m, n)` values (scale dependent).
    Softmax,
}

impl Convention {
    /// All conventions, default first.
    pub const ALL: [Convention; 3] = [Convention::Sigma, Convention::Sigma2, Convention::Softmax];

    /// The name used on the command line and in every output.
    pub fn name(self) -> &'static str {
        match self {
            Convention::Sigma => "sigma",
            Convention::Sigma2 => "sigma2",
            Convention::Softmax => "softmax",
        }
    }

    /// The formula for `p_i`, for human-readable output.
    pub fn formula(self) -> &'static str {
        match self {
            Convention::Sigma => "p_i = σ_i/Σσ",
            Convention::Sigma2 => "p_i = σ_i²/Σσ²",
            Convention::Softmax => "p = softmax(σ)",
        }
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Convention {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Convention::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| Error::UnknownConvention(s.to_owned()))
    }
}

/// Every measure of one matrix, as the command line's `--json` prints it (exactly these keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankMeasures {
    /// `[rows, cols]`.
    pub shape: [usize; 2],
    /// The convention [`RankMeasures::effective_rank`] used.
    pub convention: Convention,
    /// Effective rank under `convention`.
    pub effective_rank: f64,
    /// `‖G‖_F²/‖G‖₂²`.
    pub stable_rank: f64,
    /// `(Σσ²)²/Σσ⁴`.
    pub participation_ratio: f64,
    /// Smallest rank holding 90% of the energy `Σσ²`.
    pub energy_rank_90: usize,
    /// Smallest rank holding 99% of the energy `Σσ²`.
    pub energy_rank_99: usize,
    /// Singular values above the default tolerance.
    pub numerical_rank: usize,
}

impl Spectrum {
    /// Effective rank under `convention` (0 for the zero matrix).
    pub fn effective_rank(&self, convention: Convention) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let sigma = self.significant_values();
        let entropy = match convention {
            Convention::Sigma => entropy_of_weights(sigma.iter().copied()),
            Convention::Sigma2 => {
                // Normalise by σ_max first so that squaring cannot overflow or underflow.
                let top = self.sigma_max();
                entropy_of_weights(sigma.iter().map(|s| (s / top) * (s / top)))
            }
            Convention::Softmax => {
                // ln p_i = σ_i − logsumexp(σ), computed stably around σ_max, over all
                // min(m, n) values: the noise values count as zeros, each with weight e⁰.
                let top = self.sigma_max();
                let zeros = (self.singular_values().len() - sigma.len()) as f64;
                let log_norm = top
                    + (sigma.iter().map(|s| (s - top).exp()).sum::<f64>() + zeros * (-top).exp())
                        .ln();
                let term = |s: f64| {
                    let log_p = s - log_norm;
                    log_p.exp() * log_p
                };
                -(sigma.iter().map(|s| term(*s)).sum::<f64>() + zeros * term(0.0))
            }
        };
        entropy.exp()
    }

    /// Stable rank `Σσ²/σ_max²` (0 for the zero matrix).
    pub fn stable_rank(&self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let top = self.sigma_max();
        self.significant_values().iter().map(|s| (s / top) * (s / top)).sum()
    }

    /// Participation ratio `(Σσ²)²/Σσ⁴` (0 for the zero matrix).
    pub fn participation_ratio(&self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let top = self.sigma_max();
        let (mut s2, mut s4) = (0.0, 0.0);
        for s in self.significant_values() {
            let e = (s / top) * (s / top);
            s2 += e;
            s4 += e * e;
        }
        s2 * s2 / s4
    }

    /// The smallest `r` whose leading `r` singular values hold `fraction` of the energy `Σσ²`
    /// (0 for the zero matrix). `fraction` must be in `(0, 1]`.
    pub fn energy_rank(&self, fraction: f64) -> Result<usize> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(Error::BadFraction(fraction));
        }
        if self.is_zero() {
            return Ok(0);
        }
        let top = self.sigma_max();
        let energies: Vec<f64> =
            self.significant_values().iter().map(|s| (s / top) * (s / top)).collect();
        let total: f64 = energies.iter().sum();
        let target = fraction * total * (1.0 - ENERGY_SLACK);
        let mut cumulative = 0.0;
        for (i, e) in energies.iter().enumerate() {
            cumulative += e;
            if cumulative >= target {
                return Ok(i + 1);
            }
        }
        // Unreachable in exact arithmetic (the full sum is `total`), kept total for safety.
        Ok(energies.len())
    }

    /// The number of singular values strictly above `tolerance`, which must be finite,
    /// non-negative and not below this spectrum's [`Spectrum::resolution`].
    pub fn numerical_rank_at(&self, tolerance: f64) -> Result<usize> {
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(Error::BadTolerance(tolerance));
        }
        if tolerance < self.resolution() {
            return Err(Error::ToleranceBelowResolution {
                tolerance,
                resolution: self.resolution(),
            });
        }
        Ok(self.singular_values().iter().filter(|s| **s > tolerance).count())
    }

    /// The numerical rank at [`Spectrum::default_tolerance`].
    pub fn numerical_rank(&self) -> usize {
        let cutoff = self.noise_cutoff();
        self.singular_values().iter().filter(|s| **s > cutoff).count()
    }

    /// The value at or below which singular values are noise: the default tolerance, or the
    /// resolution where that is larger (only on a spectrum forced onto the Gram path).
    pub fn noise_cutoff(&self) -> f64 {
        self.default_tolerance().max(self.resolution())
    }

    /// The leading singular values above [`Spectrum::noise_cutoff`] (a prefix: they are sorted).
    pub fn significant_values(&self) -> &[f64] {
        &self.singular_values()[..self.numerical_rank()]
    }

    /// Every measure at once, with the effective rank under `convention`.
    pub fn measures(&self, convention: Convention) -> RankMeasures {
        let (rows, cols) = self.shape();
        RankMeasures {
            shape: [rows, cols],
            convention,
            effective_rank: self.effective_rank(convention),
            stable_rank: self.stable_rank(),
            participation_ratio: self.participation_ratio(),
            // Both fractions are constants inside (0, 1], so these cannot fail.
            energy_rank_90: self.energy_rank(0.90).unwrap_or(0),
            energy_rank_99: self.energy_rank(0.99).unwrap_or(0),
            numerical_rank: self.numerical_rank(),
        }
    }
}

/// `−Σ p ln p` for `p = w / Σw` over the positive weights `w` (zeros contribute nothing).
/// Written as `ln Σw − Σ w ln w / Σw` to avoid forming tiny `p` first.
fn entropy_of_weights(weights: impl Iterator<Item = f64> + Clone) -> f64 {
    let total: f64 = weights.clone().sum();
    let weighted_log: f64 = weights.filter(|w| *w > 0.0).map(|w| w * w.ln()).sum();
    total.ln() - weighted_log / total
}
