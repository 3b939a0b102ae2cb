//! The singular-value spectrum of a matrix, computed once; every measure in
//! [`crate::measures`] is derived from it (SPEC §4).
//!
//! # Two ways to the singular values
//!
//! For an `m×n` matrix `G` with `k = min(m, n)`, the singular values are the square roots of the
//! eigenvalues of the smaller Gram matrix (`GᵀG` when `m ≥ n`, else `GGᵀ`, both `k×k`). Forming
//! the Gram matrix is one matrix product (fast, cache-blocked) and a `k×k` symmetric eigenvalue
//! problem is much cheaper than a bidiagonalising SVD of the `m×n` matrix, so [`Method::Auto`]
//! takes this path first. The Gram matrix is accumulated in `f64` whatever the input precision,
//! and its eigenvalues come from the crate's own eigenvalues-only solver (Householder
//! tridiagonalisation and root-free QL, see `symeig.rs`), several times faster than nalgebra's
//! general `symmetric_eigenvalues` on the paper's `256×256` Gram matrices. Accumulating the Gram
//! matrix in `f32` (sgemm) was not adopted: by the usual rounding estimate (≈ √m·ε₃₂·‖G‖_F² per
//! eigenvalue) it would lose the 1e-4 relative accuracy of σ_min already at condition number ~100.
//!
//! The Gram path squares the condition number: an eigenvalue of the computed Gram matrix is only
//! known to about `(m+n)·ε₆₄·σ_max²` (absolute), so a singular value below the *resolution*
//! `σ_max·√((m+n)·ε₆₄)` (≈ 5·10⁻⁷·σ_max for the paper's 1024×256 matrices) is lost in rounding, and
//! one within a factor of ten of it has only a few correct digits. Large singular values are as
//! accurate as from an SVD. The only measure that can depend on such tiny values is the numerical
//! rank, so [`Method::Auto`] keeps the Gram result when it decides the numerical rank
//! unambiguously, that is when either
//!
//! * the default tolerance `σ_max·max(m,n)·ε_input` is at least [`GRAM_SAFETY`] resolutions (always
//!   true for `f32` input: ε₃₂ ≫ √ε₆₄), or
//! * every computed singular value is at least [`GRAM_SAFETY`] resolutions (the matrix is
//!   well-conditioned, so no value is near the noise),
//!
//! and otherwise recomputes with an SVD (`f64`, singular values only). This happens for `f64`
//! input with singular values spanning more than about five decades, e.g. an exactly rank-deficient
//! `f64` matrix. [`Method::Gram`] and [`Method::Svd`] force one path.
//!
//! The spectrum remembers its resolution: asking for a numerical rank at a tolerance below it is an
//! error that says to use [`Method::Svd`], never a silently wrong count.

use nalgebra::{DMatrix, Dim, Matrix, RawStorage};

use crate::error::{Error, Result};
use crate::symeig;

/// How many Gram resolutions of headroom [`Method::Auto`] requires before trusting the Gram path.
pub const GRAM_SAFETY: f64 = 10.0;

/// Precision of the input entries; sets the default numerical-rank tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats (ε = 2⁻²³).
    F32,
    /// 64-bit floats (ε = 2⁻⁵²).
    F64,
}

impl Precision {
    /// Machine epsilon of this precision.
    pub fn epsilon(self) -> f64 {
        match self {
            Precision::F32 => f64::from(f32::EPSILON),
            Precision::F64 => f64::EPSILON,
        }
    }
}

/// A matrix element type the crate reads: `f32` or `f64`.
pub trait Element: Copy + nalgebra::Scalar {
    /// The precision of this type.
    const PRECISION: Precision;
    /// Widen to `f64` (exact).
    fn to_f64(self) -> f64;
}

impl Element for f32 {
    const PRECISION: Precision = Precision::F32;
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Element for f64 {
    const PRECISION: Precision = Precision::F64;
    fn to_f64(self) -> f64 {
        self
    }
}

/// Which computation to use for the singular values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Gram eigenvalues, falling back to an SVD where they could get the numerical rank wrong
    /// (see the module docs).
    #[default]
    Auto,
    /// Eigenvalues of the smaller Gram matrix only, never falling back.
    Gram,
    /// SVD of the matrix (`f64`, singular values only).
    Svd,
}

/// How a [`Spectrum`]'s values were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Square roots of the eigenvalues of the smaller Gram matrix.
    Gram,
    /// SVD of the matrix.
    Svd,
    /// Handed in by the caller ([`Spectrum::from_singular_values`]).
    Given,
}

/// A borrowed row-major `rows×cols` matrix, the layout the model crate exports.
#[derive(Debug, Clone, Copy)]
pub struct RowMajor<'a, T> {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows·cols` values, row after row.
    pub data: &'a [T],
}

impl<'a, T> RowMajor<'a, T> {
    /// A view of `data` as a `rows×cols` row-major matrix; checks the length.
    pub fn new(rows: usize, cols: usize, data: &'a [T]) -> Result<Self> {
        let expected = rows.saturating_mul(cols);
        if data.len() != expected {
            return Err(Error::ShapeMismatch { rows, cols, expected, len: data.len() });
        }
        Ok(RowMajor { rows, cols, data })
    }
}

/// The singular values of one `rows×cols` matrix, in descending order, with how they were
/// obtained. There are always `min(rows, cols)` of them (zeros included).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    rows: usize,
    cols: usize,
    singular_values: Vec<f64>,
    precision: Precision,
    path: Path,
    resolution: f64,
}

impl Spectrum {
    /// The spectrum of a row-major `rows×cols` view (see [`RowMajor`]).
    pub fn of_row_major<T: Element>(view: RowMajor<'_, T>, method: Method) -> Result<Self> {
        check_entries(view.rows, view.cols, || view.data.iter().copied())?;
        let widened = Widened {
            rows: view.rows,
            cols: view.cols,
            data: view.data.iter().map(|x| x.to_f64()).collect(),
        };
        Self::compute(view.rows, view.cols, widened, T::PRECISION, method)
    }

    /// The spectrum of a row-major `rows×cols` slice; checks that `data.len() == rows·cols`.
    pub fn of_slice<T: Element>(
        rows: usize,
        cols: usize,
        data: &[T],
        method: Method,
    ) -> Result<Self> {
        Self::of_row_major(RowMajor::new(rows, cols, data)?, method)
    }

    /// The spectrum of an nalgebra matrix (`f32` or `f64`, any storage).
    pub fn of_matrix<T, R, C, S>(matrix: &Matrix<T, R, C, S>, method: Method) -> Result<Self>
    where
        T: Element,
        R: Dim,
        C: Dim,
        S: RawStorage<T, R, C>,
    {
        let (rows, cols) = matrix.shape();
        check_entries(rows, cols, || matrix.iter().copied())?;
        // nalgebra iterates column by column: the values of G column-major are those of Gᵀ
        // row-major, which has the same singular values.
        let widened =
            Widened { rows: cols, cols: rows, data: matrix.iter().map(|x| x.to_f64()).collect() };
        Self::compute(rows, cols, widened, T::PRECISION, method)
    }

    /// A spectrum from singular values the caller already has, for a `rows×cols` matrix of the
    /// given element precision. Fewer than `min(rows, cols)` values are padded with zeros; the
    /// order does not matter.
    pub fn from_singular_values(
        rows: usize,
        cols: usize,
        values: &[f64],
        precision: Precision,
    ) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(Error::Empty { rows, cols });
        }
        let k = rows.min(cols);
        if values.len() > k {
            return Err(Error::InvalidSingularValues {
                reason: format!(
                    "{} values given but a {rows}×{cols} matrix has at most {k}",
                    values.len()
                ),
            });
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(Error::InvalidSingularValues {
                reason: format!("{bad} is negative or not finite"),
            });
        }
        let mut singular_values = values.to_vec();
        singular_values.resize(k, 0.0);
        Ok(Self::assemble(rows, cols, singular_values, precision, Path::Given))
    }

    /// A spectrum from its (unordered, non-negative) singular values: sorts them and sets the
    /// resolution of the path they came from.
    fn assemble(
        rows: usize,
        cols: usize,
        mut singular_values: Vec<f64>,
        precision: Precision,
        path: Path,
    ) -> Self {
        sort_descending(&mut singular_values);
        let sigma_max = singular_values[0];
        let resolution = match path {
            Path::Gram => gram_resolution(rows, cols, sigma_max),
            Path::Svd | Path::Given => svd_resolution(rows, cols, sigma_max),
        };
        Spectrum { rows, cols, singular_values, precision, path, resolution }
    }

    fn compute(
        rows: usize,
        cols: usize,
        matrix: Widened,
        precision: Precision,
        method: Method,
    ) -> Result<Self> {
        match method {
            Method::Svd => svd_spectrum(rows, cols, matrix, precision),
            Method::Gram => gram_spectrum(rows, cols, &matrix, precision),
            Method::Auto => {
                let gram = gram_spectrum(rows, cols, &matrix, precision)?;
                if gram.gram_decides_numerical_rank() {
                    Ok(gram)
                } else {
                    svd_spectrum(rows, cols, matrix, precision)
                }
            }
        }
    }

    /// Whether this (Gram) spectrum resolves the numerical rank at the default tolerance.
    fn gram_decides_numerical_rank(&self) -> bool {
        let margin = GRAM_SAFETY * self.resolution;
        self.default_tolerance() >= margin || self.sigma_min() >= margin
    }

    /// `(rows, cols)` of the matrix.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The `min(rows, cols)` singular values, largest first.
    pub fn singular_values(&self) -> &[f64] {
        &self.singular_values
    }

    /// The largest singular value (the spectral norm ‖G‖₂).
    pub fn sigma_max(&self) -> f64 {
        self.singular_values[0]
    }

    /// The smallest of the `min(rows, cols)` singular values.
    pub fn sigma_min(&self) -> f64 {
        self.singular_values.last().copied().unwrap_or(0.0)
    }

    /// Whether every singular value is zero (the all-zero matrix).
    pub fn is_zero(&self) -> bool {
        self.sigma_max() == 0.0
    }

    /// Element precision of the input.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// How the values were obtained.
    pub fn path(&self) -> Path {
        self.path
    }

    /// The smallest singular value this spectrum resolves (absolute): `σ_max·√((m+n)·ε₆₄)` on the
    /// Gram path, `σ_max·max(m,n)·ε₆₄` on the SVD path.
    pub fn resolution(&self) -> f64 {
        self.resolution
    }

    /// The default numerical-rank tolerance, NumPy's `matrix_rank` rule:
    /// `σ_max · max(rows, cols) · ε`, with ε the machine epsilon of the input precision.
    pub fn default_tolerance(&self) -> f64 {
        self.sigma_max() * self.rows.max(self.cols) as f64 * self.precision.epsilon()
    }
}

/// Counts NaN and infinite entries; rejects empty matrices.
fn check_entries<T: Element, I: Iterator<Item = T>>(
    rows: usize,
    cols: usize,
    values: impl Fn() -> I,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::Empty { rows, cols });
    }
    // The common case, all finite, in one predictable pass; count only when there is an error.
    if values().all(|v| v.to_f64().is_finite()) {
        return Ok(());
    }
    let (mut nan, mut infinite) = (0usize, 0usize);
    for v in values() {
        let v = v.to_f64();
        if v.is_nan() {
            nan += 1;
        } else if v.is_infinite() {
            infinite += 1;
        }
    }
    if nan + infinite > 0 {
        return Err(Error::NonFinite { nan, infinite, total: rows * cols });
    }
    Ok(())
}

fn sort_descending(values: &mut [f64]) {
    values.sort_by(|a, b| b.total_cmp(a));
}

fn gram_resolution(rows: usize, cols: usize, sigma_max: f64) -> f64 {
    sigma_max * ((rows + cols) as f64 * f64::EPSILON).sqrt()
}

fn svd_resolution(rows: usize, cols: usize, sigma_max: f64) -> f64 {
    sigma_max * rows.max(cols) as f64 * f64::EPSILON
}

/// A matrix widened to `f64`, row-major `rows×cols`. It may be the transpose of the caller's
/// matrix (an nalgebra matrix read column by column): the singular values are the same.
struct Widened {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

/// Singular values from the eigenvalues of the smaller Gram matrix (see [`crate::symeig`]).
fn gram_spectrum(
    rows: usize,
    cols: usize,
    matrix: &Widened,
    precision: Precision,
) -> Result<Spectrum> {
    let k = matrix.rows.min(matrix.cols);
    let mut gram = symeig::gram_lower(matrix.rows, matrix.cols, &matrix.data);
    let eigenvalues = symeig::symmetric_eigenvalues(&mut gram, k).map_err(|_| {
        Error::NoConvergence { what: "symmetric eigenvalue problem (Gram path)", rows, cols }
    })?;
    // Rounding can make eigenvalues of a positive semi-definite matrix slightly negative.
    let singular_values = eigenvalues.iter().map(|l| l.max(0.0).sqrt()).collect();
    Ok(Spectrum::assemble(rows, cols, singular_values, precision, Path::Gram))
}

/// Maximum sweeps of nalgebra's implicit-shift SVD before we call it non-convergent.
const SVD_MAX_ITERATIONS: usize = 100_000;

fn svd_spectrum(
    rows: usize,
    cols: usize,
    matrix: Widened,
    precision: Precision,
) -> Result<Spectrum> {
    // Column-major `cols×rows` over row-major `rows×cols` data: the transpose, without a copy.
    let matrix = DMatrix::from_vec(matrix.cols, matrix.rows, matrix.data);
    let svd = nalgebra::SVD::try_new(matrix, false, false, f64::EPSILON, SVD_MAX_ITERATIONS)
        .ok_or(Error::NoConvergence { what: "SVD", rows, cols })?;
    let singular_values = svd.singular_values.iter().copied().collect();
    Ok(Spectrum::assemble(rows, cols, singular_values, precision, Path::Svd))
}

/// Spectra of many row-major matrices, spread over `threads` OS threads (at least one). The
/// results are in input order and do not depend on the thread count.
pub fn spectra_of_many<T: Element + Sync>(
    matrices: &[RowMajor<'_, T>],
    method: Method,
    threads: usize,
) -> Vec<Result<Spectrum>> {
    let threads = threads.clamp(1, matrices.len().max(1));
    if threads == 1 {
        return matrices.iter().map(|m| Spectrum::of_row_major(*m, method)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Spectrum>>> = (0..matrices.len()).map(|_| None).collect();
    let computed: Vec<Vec<(usize, Result<Spectrum>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(m) = matrices.get(i) else { break };
                        mine.push((i, Spectrum::of_row_major(*m, method)));
                    }
                    mine
                })
            })
            .collect();
        // A worker only panics if nalgebra does; propagate it rather than hide it.
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for (i, r) in computed.into_iter().flatten() {
        results[i] = Some(r);
    }
    results.into_iter().flatten().collect()
}

/// The number of threads [`spectra_of_many`] should use by default: the machine's parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}
