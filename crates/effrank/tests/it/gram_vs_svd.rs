//! The fast Gram-eigenvalue path against the SVD reference, and the fallback where the Gram path
//! cannot resolve small singular values.

use effrank::{Convention, Error, Method, Path, Spectrum};
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{GRAM_SVD_REL, with_singular_values};

/// Largest relative disagreement between the two paths over the singular values and the
/// effective rank under every convention; asserts both paths were taken.
fn disagreement(a: &Spectrum, b: &Spectrum) -> f64 {
    assert_eq!((a.path(), b.path()), (Path::Gram, Path::Svd));
    let sigma = a
        .singular_values()
        .iter()
        .zip(b.singular_values())
        .map(|(x, y)| (x - y).abs() / y.abs())
        .fold(0.0, f64::max);
    let er = Convention::ALL
        .iter()
        .map(|c| (a.effective_rank(*c) - b.effective_rank(*c)).abs() / b.effective_rank(*c))
        .fold(0.0, f64::max);
    sigma.max(er)
}

/// σ_i = 0.01 + 0.99·exp(−i/20): a gradient-like decay that stays well-conditioned (κ ≤ 100).
fn decaying(k: usize) -> Vec<f64> {
    (0..k).map(|i| 0.01 + 0.99 * (-(i as f64) / 20.0).exp()).collect()
}

#[test]
fn paths_agree_on_the_paper_shapes_in_f32() {
    let mut worst: f64 = 0.0;
    for (seed, (rows, cols)) in
        [(256, 768), (256, 256), (256, 1024), (1024, 256)].into_iter().enumerate()
    {
        let g = with_singular_values(rows, cols, &decaying(rows.min(cols)), seed as u64)
            .map(|x| x as f32);
        let gram = Spectrum::of_matrix(&g, Method::Gram).expect("finite");
        let svd = Spectrum::of_matrix(&g, Method::Svd).expect("finite");
        let d = disagreement(&gram, &svd);
        eprintln!("gram-vs-svd {rows}x{cols} f32: max relative disagreement {d:.3e}");
        worst = worst.max(d);
        // Auto keeps the Gram result for f32 input.
        assert_eq!(Spectrum::of_matrix(&g, Method::Auto).expect("finite").path(), Path::Gram);
    }
    eprintln!("gram-vs-svd paper shapes: worst {worst:.3e}");
    assert!(worst <= GRAM_SVD_REL, "worst disagreement {worst:e}");
}

/// Worst disagreement seen by the property test, as `f64` bits (non-negative floats order like
/// their bit patterns).
static WORST_RANDOM: AtomicU64 = AtomicU64::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn paths_agree_on_well_conditioned_random_spectra(
        rows in 2usize..48, cols in 2usize..48, seed in any::<u64>(),
        raw in proptest::collection::vec(0.01f64..1.0, 48), log10_scale in -4.0f64..4.0) {
        let k = rows.min(cols);
        let scale = 10f64.powf(log10_scale);
        let s: Vec<f64> = raw[..k].iter().map(|x| x * scale).collect();
        let g = with_singular_values(rows, cols, &s, seed).map(|x| x as f32);
        let gram = Spectrum::of_matrix(&g, Method::Gram).expect("finite");
        let svd = Spectrum::of_matrix(&g, Method::Svd).expect("finite");
        let d = disagreement(&gram, &svd);
        // Report each new worst case (run with --nocapture to see them).
        let previous = WORST_RANDOM.fetch_max(d.to_bits(), Ordering::Relaxed);
        if d.to_bits() > previous {
            eprintln!("gram-vs-svd random {rows}x{cols} f32: new worst {d:.3e}");
        }
        prop_assert!(d <= GRAM_SVD_REL, "{rows}x{cols}: disagreement {d:e}");
        prop_assert_eq!(gram.numerical_rank(), svd.numerical_rank());
    }
}

#[test]
fn gram_path_loses_tiny_singular_values_and_auto_falls_back() {
    // σ = (1, 0.5, 1e−9) in f64. The Gram matrix holds σ₃² = 1e−18, far below its rounding noise
    // (~(m+n)·ε₆₄·σ₁² ≈ 1e−14), so the Gram path cannot see σ₃; the SVD can.
    let s = [1.0, 0.5, 1e-9];
    let g = with_singular_values(30, 20, &s, 7);

    let gram = Spectrum::of_matrix(&g, Method::Gram).expect("finite");
    assert!(gram.resolution() > 1e-9, "resolution {:e}", gram.resolution());
    let sigma3 = gram.singular_values()[2];
    eprintln!("gram path on f64 σ₃ = 1e-9: got {sigma3:e}");
    assert!((sigma3 - 1e-9).abs() / 1e-9 > 0.01, "Gram unexpectedly resolved σ₃: {sigma3:e}");
    // Asking the Gram spectrum for a tolerance it cannot resolve is refused, with the fix.
    let err = gram.numerical_rank_at(1e-12).expect_err("below resolution");
    assert!(matches!(err, Error::ToleranceBelowResolution { .. }));
    assert!(err.to_string().contains("Method::Svd"), "{err}");

    let auto = Spectrum::of_matrix(&g, Method::Auto).expect("finite");
    assert_eq!(auto.path(), Path::Svd);
    assert!((auto.singular_values()[2] - 1e-9).abs() / 1e-9 < GRAM_SVD_REL);
    assert_eq!(auto.numerical_rank(), 3);
    assert_eq!(auto.numerical_rank_at(1e-12).expect("resolved by the SVD"), 3);

    // In f32 the same matrix is only known to ~1e−7 relative, so σ₃ is below the f32 default
    // tolerance and both paths agree on rank 2; Auto keeps the fast path.
    let g32 = g.map(|x| x as f32);
    let auto32 = Spectrum::of_matrix(&g32, Method::Auto).expect("finite");
    let svd32 = Spectrum::of_matrix(&g32, Method::Svd).expect("finite");
    assert_eq!(auto32.path(), Path::Gram);
    assert_eq!((auto32.numerical_rank(), svd32.numerical_rank()), (2, 2));
}

#[test]
fn auto_keeps_gram_for_well_conditioned_f64() {
    // κ = 100 ≪ 1/resolution: every value is resolved, so the fast path decides the rank.
    let g = with_singular_values(40, 30, &decaying(30), 11);
    let auto = Spectrum::of_matrix(&g, Method::Auto).expect("finite");
    assert_eq!(auto.path(), Path::Gram);
    assert_eq!(auto.numerical_rank(), 30);
}

#[test]
fn many_matrices_in_parallel_match_one_by_one() {
    let mats: Vec<(usize, usize, Vec<f32>)> = [(20, 30), (30, 20), (5, 5), (1, 9)]
        .into_iter()
        .enumerate()
        .map(|(i, (r, c))| {
            let g = crate::random_matrix(r, c, i as u64);
            (
                r,
                c,
                (0..r)
                    .flat_map(|i| (0..c).map(move |j| (i, j)))
                    .map(|(i, j)| g[(i, j)] as f32)
                    .collect(),
            )
        })
        .collect();
    let views: Vec<_> = mats
        .iter()
        .map(|(r, c, d)| effrank::RowMajor::new(*r, *c, d).expect("right length"))
        .collect();
    let parallel = effrank::spectra_of_many(&views, Method::Auto, 3);
    let serial = effrank::spectra_of_many(&views, Method::Auto, 1);
    assert_eq!(parallel.len(), 4);
    for (p, s) in parallel.into_iter().zip(serial) {
        assert_eq!(p.expect("finite"), s.expect("finite"));
    }
}
