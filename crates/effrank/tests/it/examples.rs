//! Hand-computed examples; each expected value carries its derivation.

use effrank::{Convention, Method, Spectrum};

use crate::{TOL, close};

#[test]
fn diag_3_1_every_measure() {
    // G = diag(3, 1): singular values 3 and 1.
    let s = Spectrum::of_slice(2, 2, &[3.0_f64, 0.0, 0.0, 1.0], Method::Auto).expect("valid");
    assert_eq!(s.singular_values().len(), 2);
    // σ convention: p = (3/4, 1/4); ER = (3/4)^(−3/4)·(1/4)^(−1/4) = 4^(3/4+1/4)/3^(3/4) = 4/3^0.75
    // ≈ 1.754765.
    assert!(close(s.effective_rank(Convention::Sigma), 4.0 / 3f64.powf(0.75), TOL));
    // σ² convention: p = (9/10, 1/10); ER = (10/9)^0.9·10^0.1 = 10/9^0.9 ≈ 1.384145.
    assert!(close(s.effective_rank(Convention::Sigma2), 10.0 / 9f64.powf(0.9), TOL));
    // softmax: p = (e³, e)/(e³ + e) = (a, b) with a = e²/(1+e²), b = 1/(1+e²);
    // ER = a^(−a)·b^(−b).
    let e2 = 2f64.exp();
    let (a, b) = (e2 / (1.0 + e2), 1.0 / (1.0 + e2));
    assert!(close(s.effective_rank(Convention::Softmax), a.powf(-a) * b.powf(-b), TOL));
    // Stable rank Σσ²/σ_max² = (9 + 1)/9; participation ratio (Σσ²)²/Σσ⁴ = 10²/(81 + 1).
    assert!(close(s.stable_rank(), 10.0 / 9.0, TOL));
    assert!(close(s.participation_ratio(), 100.0 / 82.0, TOL));
    // Energy: the first value holds 9/10 exactly, which meets 90% but not 99%.
    let m = s.measures(Convention::Sigma);
    assert_eq!((m.energy_rank_90, m.energy_rank_99), (1, 2));
    assert_eq!(m.numerical_rank, 2);
    assert_eq!(m.shape, [2, 2]);
}

#[test]
fn rank_one_outer_product() {
    // G = [1, 2]ᵀ·[3, 4, 0] (2×3) has one non-zero singular value ‖[1,2]‖·‖[3,4,0]‖ = √5·5.
    let g = [3.0_f32, 4.0, 0.0, 6.0, 8.0, 0.0];
    let s = Spectrum::of_slice(2, 3, &g, Method::Auto).expect("valid");
    assert!(close(s.sigma_max(), 5.0 * 5f64.sqrt(), 1e-6));
    // One non-zero value: p = (1, 0) in both σ conventions, entropy 0, ER = e⁰ = 1.
    for c in [Convention::Sigma, Convention::Sigma2] {
        assert!(close(s.effective_rank(c), 1.0, 1e-6), "{c}");
    }
    let m = s.measures(Convention::Sigma);
    assert!(close(m.stable_rank, 1.0, 1e-6) && close(m.participation_ratio, 1.0, 1e-6));
    assert_eq!((m.energy_rank_90, m.energy_rank_99, m.numerical_rank), (1, 1, 1));
}

#[test]
fn four_equal_and_four_zero() {
    // diag(2, 2, 2, 2, 0, 0, 0, 0): four equal non-zero values.
    // σ and σ² conventions: p uniform on four values, ER = 4. Stable rank 4·4/4 = 4; PR 16²/(4·16) = 4.
    // Energy: 90% of 4 units needs ⌈3.6⌉ = 4 values; 99% also 4.
    // softmax: weights e² (×4) and e⁰ (×4); p = e²/(4e² + 4) and 1/(4e² + 4);
    // ER = exp(−4·a·ln a − 4·b·ln b).
    let mut g = vec![0.0_f64; 64];
    for i in 0..4 {
        g[i * 8 + i] = 2.0;
    }
    let s = Spectrum::of_slice(8, 8, &g, Method::Svd).expect("valid");
    assert!(close(s.effective_rank(Convention::Sigma), 4.0, TOL));
    assert!(close(s.effective_rank(Convention::Sigma2), 4.0, TOL));
    let e2 = 2f64.exp();
    let (a, b) = (e2 / (4.0 * e2 + 4.0), 1.0 / (4.0 * e2 + 4.0));
    let softmax_er = (-4.0 * a * a.ln() - 4.0 * b * b.ln()).exp();
    assert!(close(s.effective_rank(Convention::Softmax), softmax_er, TOL));
    let m = s.measures(Convention::Sigma);
    assert!(close(m.stable_rank, 4.0, TOL) && close(m.participation_ratio, 4.0, TOL));
    assert_eq!((m.energy_rank_90, m.energy_rank_99, m.numerical_rank), (4, 4, 4));
}

#[test]
fn identity_of_ten_energy_boundary() {
    // I₁₀: ten unit values. 9 of them hold exactly 9/10 of the energy, so the 90% rank is 9
    // (not lost to rounding of 0.9·10); 99% needs ⌈9.9⌉ = 10.
    let eye = nalgebra::DMatrix::<f32>::identity(10, 10);
    let m = Spectrum::of_matrix(&eye, Method::Auto).expect("valid").measures(Convention::Sigma);
    assert_eq!((m.energy_rank_90, m.energy_rank_99), (9, 10));
    assert!(close(m.effective_rank, 10.0, TOL));
}

#[test]
fn all_zero_matrix_is_rank_zero_under_every_convention() {
    // Documented choice: the zero matrix has rank 0 and every measure is 0.
    let s = Spectrum::of_slice(3, 5, &[0.0_f32; 15], Method::Auto).expect("zero is valid input");
    assert!(s.is_zero());
    for c in Convention::ALL {
        let m = s.measures(c);
        assert_eq!(m.effective_rank, 0.0, "{c}");
        assert_eq!((m.stable_rank, m.participation_ratio), (0.0, 0.0));
        assert_eq!((m.energy_rank_90, m.energy_rank_99, m.numerical_rank), (0, 0, 0));
    }
}

#[test]
fn from_singular_values_matches_the_matrix() {
    // The spectrum can be handed in directly; the order does not matter and missing values are 0.
    let given =
        Spectrum::from_singular_values(4, 3, &[1.0, 3.0], effrank::Precision::F64).expect("valid");
    assert_eq!(given.singular_values(), &[3.0, 1.0, 0.0]);
    assert_eq!(given.path(), effrank::Path::Given);
    let g = [3.0_f64, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let computed = Spectrum::of_slice(4, 3, &g, Method::Svd).expect("valid");
    for c in Convention::ALL {
        let (a, b) = (given.measures(c), computed.measures(c));
        assert!(close(a.effective_rank, b.effective_rank, TOL), "{c}");
        assert_eq!(a.numerical_rank, b.numerical_rank);
    }
}

#[test]
fn json_has_exactly_the_documented_keys() {
    let s = Spectrum::of_slice(2, 2, &[3.0_f64, 0.0, 0.0, 1.0], Method::Auto).expect("valid");
    let json = serde_json::to_value(s.measures(Convention::Sigma2)).expect("serialisable");
    let mut keys: Vec<&str> =
        json.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "convention",
            "effective_rank",
            "energy_rank_90",
            "energy_rank_99",
            "numerical_rank",
            "participation_ratio",
            "shape",
            "stable_rank"
        ]
    );
    assert_eq!(json["convention"], "sigma2");
    assert_eq!(json["shape"], serde_json::json!([2, 2]));
}

#[test]
fn convention_names_round_trip() {
    for c in Convention::ALL {
        assert_eq!(c.name().parse::<Convention>().expect("own name parses"), c);
    }
    let err = "sigma3".parse::<Convention>().expect_err("unknown name");
    assert!(err.to_string().contains("use one of: sigma, sigma2, softmax"), "{err}");
}
