//! Seed statistics and the verdict rules of the claims ledger (SPEC §6).
//!
//! Every claim is decided from per-seed values by one of a few stated rules, all built on the
//! two-sided 95% Student-t interval of a mean over seeds. With fewer than two seeds there is no
//! estimate of seed noise, so every noise-dependent verdict is `inconclusive`.

use serde::Serialize;

/// Mean, sample standard deviation and 95% t-interval of per-seed values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation (n − 1); `None` when n < 2.
    pub sd: Option<f64>,
    /// Number of seeds.
    pub n: usize,
    /// Lower end of the 95% t-interval of the mean; `None` when n < 2.
    pub lo: Option<f64>,
    /// Upper end of the 95% t-interval of the mean; `None` when n < 2.
    pub hi: Option<f64>,
}

impl Estimate {
    /// The estimate of `values` (non-finite values are dropped); `None` when none is left.
    pub fn of(values: &[f64]) -> Option<Estimate> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Some(Estimate { mean, sd: None, n, lo: None, hi: None });
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = t_975(n - 1) * sd / (n as f64).sqrt();
        Some(Estimate { mean, sd: Some(sd), n, lo: Some(mean - half), hi: Some(mean + half) })
    }

    /// The estimate with every number rounded to 6 significant digits, so serialised output does
    /// not depend on the last bits of platform maths.
    pub fn rounded(&self) -> Estimate {
        let r = |x: f64| round_sig(x, 6);
        Estimate {
            mean: r(self.mean),
            sd: self.sd.map(r),
            n: self.n,
            lo: self.lo.map(r),
            hi: self.hi.map(r),
        }
    }

    /// `mean ± sd (n=…)` with `decimals` places; the sd is left out when n = 1.
    pub fn show(&self, decimals: usize) -> String {
        match self.sd {
            Some(sd) => format!("{:.decimals$} ± {:.decimals$} (n={})", self.mean, sd, self.n),
            None => format!("{:.decimals$} (n=1)", self.mean),
        }
    }

    /// The 95% interval as `[lo, hi]`, or `n/a` with one seed.
    pub fn show_interval(&self, decimals: usize) -> String {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => format!("[{lo:.decimals$}, {hi:.decimals$}]"),
            _ => "n/a".to_string(),
        }
    }
}

/// `x` rounded to `digits` significant digits (0 and non-finite values unchanged).
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    let y = (x * scale).round() / scale;
    // Printing through the shortest decimal representation removes binary noise such as 0.1+0.2.
    format!("{y:.*e}", (digits - 1) as usize).parse().unwrap_or(y)
}

/// Sample standard deviation over mean (n − 1 denominator); `None` with fewer than two values
/// or a zero mean.
pub fn coefficient_of_variation(values: &[f64]) -> Option<f64> {
    let e = Estimate::of(values)?;
    let sd = e.sd?;
    if e.mean == 0.0 {
        return None;
    }
    Some(sd / e.mean.abs())
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (two-sided 95%).
///
/// Exact table values for df ≤ 30 (standard tables, 3 decimals); beyond, the Cornish–Fisher
/// expansion around z = 1.959964, which is within 0.001 of the table for df > 30.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= 30 {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_964;
    let d = df as f64;
    z + (z.powi(3) + z) / (4.0 * d)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
}

/// The verdict on one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Our data support the claim by its stated rule.
    Reproduced,
    /// Our data contradict the claim by its stated rule.
    NotReproduced,
    /// Within seed noise, or too few seeds to tell.
    Inconclusive,
    /// The store holds no run of the claim's paper.
    NotRun,
}

impl Verdict {
    /// The word used in tables.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotRun => "not run",
        }
    }
}

/// A verdict and the sentence saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, with the numbers.
    pub reason: String,
}

impl Decision {
    fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Decision { verdict, reason: reason.into() }
    }
}

const NO_NOISE: &str = "fewer than 2 seeds: no estimate of seed noise";

/// Which side of zero a difference is claimed to lie on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The claim says the difference is below zero.
    Negative,
    /// The claim says the difference is above zero.
    Positive,
}

/// Direction rule for per-seed differences: reproduced when the 95% interval excludes zero on the
/// claimed side, not reproduced when it excludes zero on the other side, inconclusive when it spans
/// zero or n < 2.
pub fn direction(label: &str, diffs: &[f64], side: Side) -> Decision {
    let Some(e) = Estimate::of(diffs) else {
        return Decision::new(Verdict::Inconclusive, format!("{label}: no paired seeds"));
    };
    let (Some(lo), Some(hi)) = (e.lo, e.hi) else {
        return Decision::new(Verdict::Inconclusive, format!("{label}: {NO_NOISE}"));
    };
    let iv = e.show_interval(4);
    let (right, wrong) = match side {
        Side::Negative => (hi < 0.0, lo > 0.0),
        Side::Positive => (lo > 0.0, hi < 0.0),
    };
    if right {
        Decision::new(
            Verdict::Reproduced,
            format!("{label}: 95% CI {iv} excludes 0 on the claimed side"),
        )
    } else if wrong {
        Decision::new(
            Verdict::NotReproduced,
            format!("{label}: 95% CI {iv} excludes 0 on the other side"),
        )
    } else {
        Decision::new(Verdict::Inconclusive, format!("{label}: 95% CI {iv} spans 0"))
    }
}

/// Several direction tests that must all hold: not reproduced when any is contradicted,
/// reproduced when all hold, inconclusive otherwise.
pub fn all_directions(parts: &[(String, Vec<f64>, Side)]) -> Decision {
    if parts.is_empty() {
        return Decision::new(Verdict::Inconclusive, "no comparison possible");
    }
    let ds: Vec<Decision> = parts.iter().map(|(l, d, s)| direction(l, d, *s)).collect();
    let reason = ds.iter().map(|d| d.reason.as_str()).collect::<Vec<_>>().join("; ");
    let verdict = if ds.iter().any(|d| d.verdict == Verdict::NotReproduced) {
        Verdict::NotReproduced
    } else if ds.iter().all(|d| d.verdict == Verdict::Reproduced) {
        Verdict::Reproduced
    } else {
        Verdict::Inconclusive
    };
    Decision::new(verdict, reason)
}

/// "≈ target" rule: reproduced when the 95% CI of the mean lies inside target·(1 ± rel_band),
/// not reproduced when it lies wholly outside that band, inconclusive otherwise or when n < 2.
pub fn within_band(label: &str, values: &[f64], target: f64, rel_band: f64) -> Decision {
    let lo_b = target * (1.0 - rel_band);
    let hi_b = target * (1.0 + rel_band);
    interval_vs_range(label, values, lo_b, hi_b)
}

/// Equivalence rule for a difference: reproduced when the 95% CI lies inside (−margin, margin),
/// not reproduced when it lies wholly outside, inconclusive otherwise or when n < 2.
pub fn equivalent(label: &str, diffs: &[f64], margin: f64) -> Decision {
    interval_vs_range(label, diffs, -margin, margin)
}

/// Threshold rule: reproduced when the 95% CI lies below `threshold`, not reproduced when it lies
/// wholly above, inconclusive otherwise or when n < 2.
pub fn below(label: &str, values: &[f64], threshold: f64) -> Decision {
    interval_vs_range(label, values, f64::NEG_INFINITY, threshold)
}

fn interval_vs_range(label: &str, values: &[f64], lo_b: f64, hi_b: f64) -> Decision {
    let Some(e) = Estimate::of(values) else {
        return Decision::new(Verdict::Inconclusive, format!("{label}: no values"));
    };
    let (Some(lo), Some(hi)) = (e.lo, e.hi) else {
        return Decision::new(Verdict::Inconclusive, format!("{label}: {NO_NOISE}"));
    };
    let iv = e.show_interval(4);
    let range = if lo_b.is_finite() {
        format!("[{lo_b:.4}, {hi_b:.4}]")
    } else {
        format!("below {hi_b:.4}")
    };
    if lo >= lo_b && hi <= hi_b {
        Decision::new(Verdict::Reproduced, format!("{label}: 95% CI {iv} inside {range}"))
    } else if hi < lo_b || lo > hi_b {
        Decision::new(
            Verdict::NotReproduced,
            format!("{label}: 95% CI {iv} wholly outside {range}"),
        )
    } else {
        Decision::new(
            Verdict::Inconclusive,
            format!("{label}: 95% CI {iv} overlaps the edge of {range}"),
        )
    }
}

/// An exact check: reproduced when `holds`, else not reproduced.
pub fn exact(holds: bool, reason: impl Into<String>) -> Decision {
    let verdict = if holds { Verdict::Reproduced } else { Verdict::NotReproduced };
    Decision::new(verdict, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_matches_a_hand_computation() {
        // Values 1, 2, 3: mean 2, sample variance ((1)+(0)+(1))/2 = 1, sd 1,
        // half-width t(2)·1/√3 = 4.303/1.7320508 = 2.48434.
        let e = Estimate::of(&[1.0, 2.0, 3.0]).expect("values");
        assert_eq!(e.mean, 2.0);
        assert_eq!(e.sd, Some(1.0));
        let hi = e.hi.expect("n = 3");
        assert!((hi - (2.0 + 4.303 / 3f64.sqrt())).abs() < 1e-12);
        assert_eq!(e.show(2), "2.00 ± 1.00 (n=3)");
    }

    #[test]
    fn t_quantile_is_continuous_past_the_table() {
        // Tables give t(40) = 2.021, t(60) = 2.000, t(120) = 1.980.
        for (df, want) in [(40, 2.021), (60, 2.000), (120, 1.980)] {
            assert!((t_975(df) - want).abs() < 1e-3, "df {df}: {}", t_975(df));
        }
        assert!(t_975(31) < t_975(30));
    }

    #[test]
    fn direction_reaches_every_verdict() {
        let neg = [-1.0, -1.1, -0.9];
        let pos = [1.0, 1.1, 0.9];
        let span = [-1.0, 1.0, 0.1];
        assert_eq!(direction("d", &neg, Side::Negative).verdict, Verdict::Reproduced);
        assert_eq!(direction("d", &pos, Side::Negative).verdict, Verdict::NotReproduced);
        assert_eq!(direction("d", &span, Side::Negative).verdict, Verdict::Inconclusive);
        assert_eq!(direction("d", &[-5.0], Side::Negative).verdict, Verdict::Inconclusive);
        assert_eq!(direction("d", &pos, Side::Positive).verdict, Verdict::Reproduced);
        assert_eq!(direction("d", &[], Side::Positive).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn all_directions_needs_every_part() {
        let ok = (String::from("a"), vec![1.0, 1.1, 0.9], Side::Positive);
        let span = (String::from("b"), vec![-1.0, 1.0], Side::Positive);
        let bad = (String::from("c"), vec![-1.0, -1.1], Side::Positive);
        assert_eq!(all_directions(&[ok.clone(), ok.clone()]).verdict, Verdict::Reproduced);
        assert_eq!(all_directions(&[ok.clone(), span.clone()]).verdict, Verdict::Inconclusive);
        assert_eq!(all_directions(&[ok, span, bad]).verdict, Verdict::NotReproduced);
        assert_eq!(all_directions(&[]).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn band_equivalence_and_threshold_reach_every_verdict() {
        assert_eq!(within_band("b", &[20.0, 20.1, 19.9], 20.0, 0.15).verdict, Verdict::Reproduced);
        assert_eq!(
            within_band("b", &[40.0, 40.1, 39.9], 20.0, 0.15).verdict,
            Verdict::NotReproduced
        );
        assert_eq!(within_band("b", &[17.0, 24.0], 20.0, 0.15).verdict, Verdict::Inconclusive);
        assert_eq!(within_band("b", &[20.0], 20.0, 0.15).verdict, Verdict::Inconclusive);
        assert_eq!(equivalent("e", &[0.001, -0.002, 0.0], 0.05).verdict, Verdict::Reproduced);
        assert_eq!(equivalent("e", &[0.5, 0.6, 0.55], 0.05).verdict, Verdict::NotReproduced);
        assert_eq!(equivalent("e", &[0.0, 0.1], 0.05).verdict, Verdict::Inconclusive);
        assert_eq!(below("t", &[0.01, 0.02, 0.015], 0.1).verdict, Verdict::Reproduced);
        assert_eq!(below("t", &[0.5, 0.6, 0.55], 0.1).verdict, Verdict::NotReproduced);
        assert_eq!(below("t", &[0.05, 0.15], 0.1).verdict, Verdict::Inconclusive);
        assert_eq!(exact(true, "x").verdict, Verdict::Reproduced);
        assert_eq!(exact(false, "x").verdict, Verdict::NotReproduced);
    }

    #[test]
    fn rounding_to_significant_digits() {
        assert_eq!(round_sig(0.0073611_2345, 6), 0.00736112);
        assert_eq!(round_sig(-7.84123456, 6), -7.84123);
        assert_eq!(round_sig(0.0, 6), 0.0);
    }

    proptest::proptest! {
        #[test]
        fn interval_contains_the_mean(v in proptest::collection::vec(-1e3f64..1e3, 2..20)) {
            let e = Estimate::of(&v).expect("values");
            let (lo, hi) = (e.lo.expect("n ≥ 2"), e.hi.expect("n ≥ 2"));
            proptest::prop_assert!(lo <= e.mean && e.mean <= hi);
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            proptest::prop_assert!(min - 1e-9 <= e.mean && e.mean <= max + 1e-9);
        }
    }

    #[test]
    fn cv_of_constant_values_is_zero() {
        assert_eq!(coefficient_of_variation(&[3.0, 3.0, 3.0]), Some(0.0));
        assert_eq!(coefficient_of_variation(&[3.0]), None);
    }
}
