//! The crate's error type. Every message names the problem and how to fix it.

use std::path::PathBuf;

/// Everything that can go wrong while measuring a spectrum.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A matrix with no rows or no columns has no singular values.
    #[error(
        "the matrix is empty ({rows}×{cols}); effective rank needs at least one row and one \
         column: pass the full gradient, not an empty slice"
    )]
    Empty {
        /// Number of rows given.
        rows: usize,
        /// Number of columns given.
        cols: usize,
    },
    /// NaN or infinite entries make every spectral measure meaningless.
    #[error(
        "the matrix has {nan} NaN and {infinite} infinite entries (of {total}); measure a finite \
         gradient: check the loss for overflow or divergence (lower the learning rate) before \
         taking its gradient"
    )]
    NonFinite {
        /// Number of NaN entries.
        nan: usize,
        /// Number of +∞ or −∞ entries.
        infinite: usize,
        /// Number of entries in the matrix.
        total: usize,
    },
    /// A row-major buffer whose length is not `rows·cols`.
    #[error(
        "a {rows}×{cols} matrix needs {expected} values but {len} were given; pass exactly \
         rows·cols values in row-major order"
    )]
    ShapeMismatch {
        /// Rows claimed.
        rows: usize,
        /// Columns claimed.
        cols: usize,
        /// `rows · cols`.
        expected: usize,
        /// Values actually given.
        len: usize,
    },
    /// Singular values handed in directly that cannot be singular values.
    #[error(
        "invalid singular values: {reason}; pass the min(rows, cols) finite, non-negative values"
    )]
    InvalidSingularValues {
        /// What is wrong with them.
        reason: String,
    },
    /// An energy fraction outside (0, 1].
    #[error("energy fraction {0} is outside (0, 1]; use a fraction such as 0.9 or 0.99")]
    BadFraction(f64),
    /// A numerical-rank tolerance that is negative or not finite.
    #[error("tolerance {0} must be finite and non-negative; omit it to use the default")]
    BadTolerance(f64),
    /// A tolerance finer than the precision with which the spectrum was computed.
    #[error(
        "tolerance {tolerance:e} is below the resolution {resolution:e} of this spectrum (computed \
         from the Gram matrix, which squares the condition number); recompute the spectrum with \
         Method::Svd to resolve singular values that small"
    )]
    ToleranceBelowResolution {
        /// The tolerance asked for.
        tolerance: f64,
        /// The smallest singular value this spectrum resolves.
        resolution: f64,
    },
    /// A convention name that is not one of the three.
    #[error("unknown effective-rank convention {0:?}; use one of: sigma, sigma2, softmax")]
    UnknownConvention(String),
    /// The iterative SVD or eigen-solver did not converge.
    #[error(
        "the {what} of a {rows}×{cols} matrix did not converge; check the matrix for extreme \
         dynamic range (rescale it) or report the matrix as a bug"
    )]
    NoConvergence {
        /// Which decomposition.
        what: &'static str,
        /// Rows of the matrix.
        rows: usize,
        /// Columns of the matrix.
        cols: usize,
    },
    /// A file that is not a NumPy `.npy` file we can read.
    #[error("{path}: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do about it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{action} {path} (check that the path exists and is accessible)")]
    Io {
        /// "cannot read", "cannot write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Aggregating an empty list of values.
    #[error("cannot aggregate {what}: no values were given; pass at least one")]
    NothingToAggregate {
        /// What was being aggregated.
        what: &'static str,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
