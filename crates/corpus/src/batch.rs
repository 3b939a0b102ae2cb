//! Batches of token ids (SPEC §5: all runs of a profile share batch size and context; the
//! gradient measurements use one fixed measurement batch; SPEC §4: "the measurement batch must be
//! stated").
//!
//! A batch is `rows × (context + 1)` ids, row-major, as `i64` (what tch takes). Inputs are columns
//! `0..context`, targets columns `1..=context` of the same rows: the model crate slices them.
//!
//! - Training: row starts drawn uniformly from `0..=len − (context + 1)` by a ChaCha8 generator
//!   seeded with `seed` on stream `step`, so batch `step` is a pure function of
//!   (stream, spec, seed, step): resumable and order-independent.
//! - Evaluation: `n` fixed batches of windows spread evenly over the validation stream (no
//!   randomness at all), the same for every run.
//! - Measurement: one batch of random windows from validation with its own seed (the pipeline
//!   uses a fixed one), the same for every scheme and checkpoint.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{CorpusError, Result, TokenStream};

/// Batch geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSpec {
    /// Rows per batch.
    pub rows: usize,
    /// Tokens the model sees per row; each row holds `context + 1` ids.
    pub context: usize,
}

impl BatchSpec {
    /// Ids per row: `context + 1`.
    pub fn width(&self) -> usize {
        self.context + 1
    }

    fn check(&self, stream: &TokenStream, split: &str) -> Result<()> {
        if self.rows == 0 || self.context == 0 {
            return Err(CorpusError::BadBatch {
                reason: format!("rows = {} and context = {}", self.rows, self.context),
                fix: "use at least one row and a context of at least one token".into(),
            });
        }
        if stream.len() < self.width() {
            return Err(CorpusError::StreamTooShort {
                split: split.to_string(),
                tokens: stream.len(),
                needed: self.width(),
            });
        }
        Ok(())
    }
}

/// `rows × width` token ids, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The ids, `rows * width` of them.
    pub ids: Vec<i64>,
    /// Number of rows.
    pub rows: usize,
    /// Ids per row (`context + 1`).
    pub width: usize,
    /// Start offset of each row in its stream (for records and debugging).
    pub starts: Vec<usize>,
}

impl Batch {
    /// `[rows, width]`, as tch shapes are given.
    pub fn shape(&self) -> [i64; 2] {
        [self.rows as i64, self.width as i64]
    }

    /// Tokens the model is trained on per batch: `rows × context`.
    pub fn target_tokens(&self) -> usize {
        self.rows * (self.width - 1)
    }
}

fn gather(stream: &TokenStream, spec: BatchSpec, starts: Vec<usize>) -> Batch {
    let width = spec.width();
    let mut ids = Vec::with_capacity(starts.len() * width);
    for &start in &starts {
        // Starts are computed to keep every window inside the stream.
        let fits = stream.extend_window(start, width, &mut ids);
        debug_assert!(fits.is_some());
    }
    Batch { ids, rows: starts.len(), width, starts }
}

fn random_starts(stream: &TokenStream, spec: BatchSpec, seed: u64, step: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(step);
    let last = stream.len() - spec.width();
    (0..spec.rows).map(|_| rng.random_range(0..=last)).collect()
}

/// Training batch number `step` for `seed` (see the module docs).
pub fn training_batch(
    stream: &TokenStream,
    spec: BatchSpec,
    seed: u64,
    step: u64,
) -> Result<Batch> {
    spec.check(stream, "training")?;
    Ok(gather(stream, spec, random_starts(stream, spec, seed, step)))
}

/// The fixed measurement batch: random windows of `stream` drawn with `seed`.
pub fn measurement_batch(stream: &TokenStream, spec: BatchSpec, seed: u64) -> Result<Batch> {
    spec.check(stream, "validation")?;
    // Stream u64::MAX keeps it apart from training batches drawn with the same seed.
    Ok(gather(stream, spec, random_starts(stream, spec, seed, u64::MAX)))
}

/// `batches` fixed evaluation batches: `batches × rows` windows spread evenly over `stream`,
/// first at offset 0, last ending at the stream's end. Windows may overlap when the stream is
/// short; they never run past it.
pub fn evaluation_set(stream: &TokenStream, spec: BatchSpec, batches: usize) -> Result<Vec<Batch>> {
    spec.check(stream, "validation")?;
    if batches == 0 {
        return Err(CorpusError::BadBatch {
            reason: "zero evaluation batches".into(),
            fix: "ask for at least one".into(),
        });
    }
    let windows = batches * spec.rows;
    let last = stream.len() - spec.width();
    // Window i starts at floor(i · last / (windows − 1)): evenly spaced, exact integer
    // arithmetic, 0 for the first and `last` for the final window.
    let start = |i: usize| {
        if windows == 1 { 0 } else { (i as u128 * last as u128 / (windows as u128 - 1)) as usize }
    };
    Ok((0..batches)
        .map(|b| gather(stream, spec, (b * spec.rows..(b + 1) * spec.rows).map(start).collect()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(n: u32) -> (tempfile::TempDir, TokenStream) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.u16");
        let ids: Vec<u32> = (0..n).collect();
        TokenStream::write(&path, &ids, 1 << 16).expect("write");
        let stream = TokenStream::open(&path).expect("open");
        (dir, stream)
    }

    #[test]
    fn same_seed_same_batch_other_seed_or_step_other_batch() {
        let (_d, s) = stream(10_000);
        let spec = BatchSpec { rows: 4, context: 16 };
        let a = training_batch(&s, spec, 7, 3).expect("batch");
        assert_eq!(a, training_batch(&s, spec, 7, 3).expect("batch"));
        assert_ne!(a, training_batch(&s, spec, 8, 3).expect("batch"));
        assert_ne!(a, training_batch(&s, spec, 7, 4).expect("batch"));
        assert_eq!(a.ids.len(), 4 * 17);
        assert_eq!(a.shape(), [4, 17]);
        // The stream holds 0, 1, 2, …: every row must be consecutive ids from its start.
        for (r, &start) in a.starts.iter().enumerate() {
            let row = &a.ids[r * 17..(r + 1) * 17];
            assert!(row.iter().enumerate().all(|(j, &id)| id == (start + j) as i64));
        }
    }

    #[test]
    fn evaluation_windows_are_even_and_inside() {
        let (_d, s) = stream(101);
        let spec = BatchSpec { rows: 2, context: 10 };
        let set = evaluation_set(&s, spec, 3).expect("set");
        let starts: Vec<usize> = set.iter().flat_map(|b| b.starts.clone()).collect();
        // last = 101 − 11 = 90, six windows: i·90/5 = 0, 18, 36, 54, 72, 90.
        assert_eq!(starts, vec![0, 18, 36, 54, 72, 90]);
    }

    #[test]
    fn measurement_batch_is_fixed_and_differs_from_training() {
        let (_d, s) = stream(5_000);
        let spec = BatchSpec { rows: 8, context: 32 };
        let m = measurement_batch(&s, spec, 1).expect("m");
        assert_eq!(m, measurement_batch(&s, spec, 1).expect("m"));
        assert_ne!(m, training_batch(&s, spec, 1, 0).expect("t"));
    }

    #[test]
    fn short_streams_and_empty_specs_are_errors() {
        let (_d, s) = stream(10);
        let err = training_batch(&s, BatchSpec { rows: 1, context: 10 }, 0, 0).expect_err("short");
        assert!(err.to_string().contains("fewer than one window of 11"), "{err}");
        let err = training_batch(&s, BatchSpec { rows: 0, context: 2 }, 0, 0).expect_err("empty");
        assert!(err.to_string().contains("at least one row"), "{err}");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every row is a run of consecutive stream ids inside the stream, for any geometry.
        #[test]
        fn windows_stay_inside_and_are_contiguous(
            len in 2usize..3_000, rows in 1usize..6, ctx_frac in 0.0f64..1.0, seed: u64, step: u64,
        ) {
            let context = 1 + ((len - 2) as f64 * ctx_frac) as usize; // 1 ..= len − 1
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("s.u16");
            let ids: Vec<u32> = (0..len as u32).collect();
            TokenStream::write(&path, &ids, 1 << 16).expect("write");
            let stream = TokenStream::open(&path).expect("open");
            let spec = BatchSpec { rows, context };
            let batch = training_batch(&stream, spec, seed, step).expect("batch");
            prop_assert_eq!(batch.ids.len(), rows * (context + 1));
            for (r, &start) in batch.starts.iter().enumerate() {
                prop_assert!(start + context < len);
                let row = &batch.ids[r * (context + 1)..(r + 1) * (context + 1)];
                prop_assert!(row.iter().enumerate().all(|(j, &id)| id == (start + j) as i64));
            }
            let eval = evaluation_set(&stream, spec, 2).expect("eval");
            let starts: Vec<usize> = eval.iter().flat_map(|b| b.starts.clone()).collect();
            prop_assert_eq!(starts[0], 0);
            prop_assert_eq!(*starts.last().expect("non-empty"), len - (context + 1));
            prop_assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
