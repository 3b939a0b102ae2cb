//! Property tests over bounded random matrices (SPEC §4's invariants).

use effrank::{Convention, Method, Spectrum};
use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::{TOL, close, random_matrix, with_singular_values};

/// The conventions that are scale invariant and bounded by the rank (softmax is neither).
const NORMALISED: [Convention; 2] = [Convention::Sigma, Convention::Sigma2];

fn config() -> ProptestConfig {
    ProptestConfig { cases: 48, ..ProptestConfig::default() }
}

/// `(rows, cols, k, singular values in [0.1, 10], seed)` with `1 ≤ k ≤ min(rows, cols)`.
fn rank_k_case() -> impl Strategy<Value = (usize, usize, Vec<f64>, u64)> {
    (2usize..24, 2usize..24, any::<u64>()).prop_flat_map(|(rows, cols, seed)| {
        let k_max = rows.min(cols);
        (1..=k_max).prop_flat_map(move |k| {
            proptest::collection::vec(0.1f64..10.0, k).prop_map(move |s| (rows, cols, s, seed))
        })
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rank_k_matrix_has_er_at_most_k_and_numerical_rank_k((rows, cols, s, seed) in rank_k_case()) {
        let k = s.len();
        let g = with_singular_values(rows, cols, &s, seed);
        // Both input precisions: f32 rounding stays far below the f32 default tolerance.
        let g32 = g.map(|x| x as f32);
        for spectrum in [
            Spectrum::of_matrix(&g, Method::Auto).expect("finite"),
            Spectrum::of_matrix(&g32, Method::Auto).expect("finite"),
        ] {
            prop_assert_eq!(spectrum.numerical_rank(), k);
            for c in NORMALISED {
                let er = spectrum.effective_rank(c);
                prop_assert!(er <= k as f64 * (1.0 + 1e-6), "{c}: ER {er} > k {k}");
                prop_assert!(er >= 1.0 - 1e-6, "{c}: ER {er} < 1");
            }
        }
    }

    #[test]
    fn identity_has_er_n_under_every_convention(n in 1usize..48) {
        let spectrum = Spectrum::of_matrix(&DMatrix::<f64>::identity(n, n), Method::Auto).expect("finite");
        for c in Convention::ALL {
            // n equal singular values: p uniform, entropy ln n, ER = n (softmax too).
            prop_assert!(close(spectrum.effective_rank(c), n as f64, TOL), "{c}");
        }
        prop_assert!(close(spectrum.stable_rank(), n as f64, TOL));
        prop_assert!(close(spectrum.participation_ratio(), n as f64, TOL));
        prop_assert_eq!(spectrum.numerical_rank(), n);
    }

    #[test]
    fn measures_are_scale_invariant(rows in 1usize..20, cols in 1usize..20, seed in any::<u64>(),
                                    log10_scale in -3.0f64..3.0) {
        let g = random_matrix(rows, cols, seed);
        let scaled = &g * 10f64.powf(log10_scale);
        let a = Spectrum::of_matrix(&g, Method::Svd).expect("finite");
        let b = Spectrum::of_matrix(&scaled, Method::Svd).expect("finite");
        for c in NORMALISED {
            prop_assert!(close(a.effective_rank(c), b.effective_rank(c), TOL), "{c}");
        }
        prop_assert!(close(a.stable_rank(), b.stable_rank(), TOL));
        prop_assert!(close(a.participation_ratio(), b.participation_ratio(), TOL));
        let (ma, mb) = (a.measures(Convention::Sigma), b.measures(Convention::Sigma));
        prop_assert_eq!((ma.energy_rank_90, ma.energy_rank_99), (mb.energy_rank_90, mb.energy_rank_99));
        prop_assert_eq!(ma.numerical_rank, mb.numerical_rank);
    }

    #[test]
    fn measures_are_invariant_under_row_and_column_permutation(
        rows in 1usize..20, cols in 1usize..20, seed in any::<u64>()) {
        let g = random_matrix(rows, cols, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let mut row_order: Vec<usize> = (0..rows).collect();
        let mut col_order: Vec<usize> = (0..cols).collect();
        row_order.shuffle(&mut rng);
        col_order.shuffle(&mut rng);
        let permuted = DMatrix::from_fn(rows, cols, |i, j| g[(row_order[i], col_order[j])]);
        let a = Spectrum::of_matrix(&g, Method::Auto).expect("finite");
        let b = Spectrum::of_matrix(&permuted, Method::Auto).expect("finite");
        for c in Convention::ALL {
            let (ma, mb) = (a.measures(c), b.measures(c));
            prop_assert!(close(ma.effective_rank, mb.effective_rank, TOL), "{c}");
            prop_assert!(close(ma.stable_rank, mb.stable_rank, TOL));
            prop_assert!(close(ma.participation_ratio, mb.participation_ratio, TOL));
            prop_assert_eq!(ma.energy_rank_90, mb.energy_rank_90);
            prop_assert_eq!(ma.energy_rank_99, mb.energy_rank_99);
            prop_assert_eq!(ma.numerical_rank, mb.numerical_rank);
        }
    }

    #[test]
    fn bounds_hold_for_random_matrices(rows in 1usize..24, cols in 1usize..24, seed in any::<u64>(),
                                       f32_input in any::<bool>()) {
        let g = random_matrix(rows, cols, seed);
        let spectrum = if f32_input {
            Spectrum::of_matrix(&g.map(|x| x as f32), Method::Auto)
        } else {
            Spectrum::of_matrix(&g, Method::Auto)
        }.expect("finite");
        let rank = spectrum.numerical_rank() as f64;
        prop_assert!(rank >= 1.0);
        let slack = 1.0 + 1e-9;
        for c in NORMALISED {
            let er = spectrum.effective_rank(c);
            prop_assert!((1.0 / slack..=rank * slack).contains(&er), "{c}: ER {er}, rank {rank}");
        }
        prop_assert!(spectrum.effective_rank(Convention::Softmax) >= 1.0 / slack);
        let m = spectrum.measures(Convention::Sigma);
        prop_assert!(m.energy_rank_99 >= m.energy_rank_90);
        prop_assert!(m.energy_rank_90 >= 1 && m.energy_rank_99 as f64 <= rank);
        prop_assert!((1.0 / slack..=rank * slack).contains(&m.stable_rank), "stable rank {}", m.stable_rank);
        prop_assert!((1.0 / slack..=rank * slack).contains(&m.participation_ratio));
        // Σσ⁴ ≤ σ_max²·Σσ², so PR = (Σσ²)²/Σσ⁴ ≥ Σσ²/σ_max² = stable rank.
        prop_assert!(m.stable_rank <= m.participation_ratio * slack);
    }

    #[test]
    fn row_major_view_nalgebra_matrix_and_transpose_agree(rows in 1usize..16, cols in 1usize..16,
                                                          seed in any::<u64>()) {
        let g = random_matrix(rows, cols, seed).map(|x| x as f32);
        let row_major: Vec<f32> = (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))).map(|(i, j)| g[(i, j)]).collect();
        let a = Spectrum::of_matrix(&g, Method::Auto).expect("finite");
        let b = Spectrum::of_slice(rows, cols, &row_major, Method::Auto).expect("finite");
        let c = Spectrum::of_matrix(&g.transpose(), Method::Auto).expect("finite");
        prop_assert_eq!(a.shape(), b.shape());
        prop_assert_eq!(c.shape(), (cols, rows));
        for (x, y) in a.singular_values().iter().zip(b.singular_values()) {
            prop_assert!(close(*x, *y, TOL));
        }
        for (x, y) in a.singular_values().iter().zip(c.singular_values()) {
            prop_assert!(close(*x, *y, TOL));
        }
    }
}
