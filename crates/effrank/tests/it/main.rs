//! Integration tests of the effrank crate: hand-computed examples, properties, the Gram path
//! against the SVD reference, `.npy` round trips, bad input, and the no-tch invariant.

mod aggregate;
mod bad_input;
mod examples;
mod gram_vs_svd;
mod no_tch;
mod npy;
mod properties;

use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The one tolerance for quantities that are equal in exact arithmetic and computed in `f64`
/// (relative, with the same value as absolute floor near zero).
pub const TOL: f64 = 1e-9;

/// The agreement the issue asks of the Gram and SVD paths on well-conditioned spectra (relative).
pub const GRAM_SVD_REL: f64 = 1e-4;

/// `|a − b| ≤ tol·max(1, |a|, |b|)`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// A seeded `rows×cols` matrix with independent entries uniform in [−1, 1).
pub fn random_matrix(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    DMatrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
}

/// `rows×k` with orthonormal columns (the Q of a random matrix's QR), `k ≤ rows`.
pub fn orthonormal_columns(rows: usize, k: usize, seed: u64) -> DMatrix<f64> {
    let q = random_matrix(rows, k, seed).qr().q();
    q.columns(0, k).into_owned()
}

/// `U·diag(s)·Vᵀ` for random orthonormal `U` (`rows×k`) and `V` (`cols×k`), `k = s.len()`: a
/// matrix whose singular values are exactly `s` (up to rounding) and the rest zero.
pub fn with_singular_values(rows: usize, cols: usize, s: &[f64], seed: u64) -> DMatrix<f64> {
    let k = s.len();
    let u = orthonormal_columns(rows, k, seed);
    let v = orthonormal_columns(cols, k, seed.wrapping_add(1));
    let d = DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(s));
    u * d * v.transpose()
}
