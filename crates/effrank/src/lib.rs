//! Effective rank and related spectral measures of (gradient) matrices, in pure Rust with no
//! libtorch (SPEC §4). This is the measurement Papers 83 and 84 rest on: the natural gradient ER of
//! each adapted matrix, its per-layer mean, and its stability over training.
//!
//! The singular values are computed once into a [`Spectrum`] (from an nalgebra matrix, a
//! row-major slice, or a `.npy` file) and every measure is derived from it:
//!
//! ```
//! use effrank::{Convention, Method, Spectrum};
//! // diag(3, 1) has singular values 3 and 1: p = (3/4, 1/4) under the σ convention.
//! let s = Spectrum::of_slice(2, 2, &[3.0_f32, 0.0, 0.0, 1.0], Method::Auto)?;
//! let m = s.measures(Convention::Sigma);
//! assert_eq!(m.numerical_rank, 2);
//! assert!((m.stable_rank - 10.0 / 9.0).abs() < 1e-12);
//! # Ok::<(), effrank::Error>(())
//! ```
//!
//! * [`spectrum`]: the spectrum, by the Gram-eigenvalue fast path or an SVD, and when each is used;
//! * [`measures`]: the measures and the three effective-rank conventions;
//! * [`npy`]: reading and writing `.npy` files;
//! * [`aggregate`]: per-layer means and stability over checkpoints.
//!
//! Invariant: this crate does not depend on `tch` (checked by a test).

pub mod aggregate;
pub mod error;
pub mod measures;
pub mod npy;
pub mod spectrum;
mod symeig;

pub use aggregate::{LayerValue, Stability, layer_value, stability};
pub use error::{Error, Result};
pub use measures::{Convention, RankMeasures};
pub use npy::{NpyData, NpyMatrix, read_npy, write_npy};
pub use spectrum::{
    Element, Method, Path, Precision, RowMajor, Spectrum, default_threads, spectra_of_many,
};
