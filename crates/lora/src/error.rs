//! The crate's error type: every failure names the problem and what to do about it.

use std::path::PathBuf;

use modelspec::SpecError;

/// Everything that can go wrong in the model crate.
#[derive(Debug, thiserror::Error)]
pub enum LoraError {
    /// The architecture or adapter configuration is invalid.
    #[error("invalid model configuration: {0}")]
    Spec(#[from] SpecError),
    /// libtorch reported an error.
    #[error("libtorch failed while {context}: {source}")]
    Torch {
        /// What we were doing.
        context: String,
        /// The libtorch error.
        source: tch::TchError,
    },
    /// The training loss became NaN or infinite.
    #[error(
        "training loss is {value} at step {step}; lower the learning rate, add warmup or enable gradient clipping"
    )]
    NonFiniteLoss {
        /// Step index (0-based) at which the loss was not finite.
        step: usize,
        /// The loss value.
        value: f64,
    },
    /// The model's vocabulary differs from the tokenizer's.
    #[error(
        "the model's vocabulary has {model} entries but the tokenizer's has {tokenizer}; train the tokenizer to {model} tokens or set vocab_size = {tokenizer}"
    )]
    VocabMismatch {
        /// Model vocabulary.
        model: usize,
        /// Tokenizer vocabulary.
        tokenizer: usize,
    },
    /// The requested context exceeds the learned position table.
    #[error(
        "context {context} is longer than the position table ({max_context} positions); use a context ≤ {max_context} or raise max_context"
    )]
    ContextTooLong {
        /// Requested context.
        context: usize,
        /// Position-table length.
        max_context: usize,
    },
    /// A batch is malformed.
    #[error("bad batch: {0}")]
    BadBatch(String),
    /// CUDA was requested but is not available.
    #[error(
        "CUDA was requested but libtorch sees no CUDA device; use --device cpu (or auto), or install a CUDA libtorch (LIBTORCH_USE_PYTORCH=1 with a CUDA PyTorch)"
    )]
    CudaUnavailable,
    /// An unknown device name.
    #[error("unknown device `{0}`; use auto, cpu or cuda")]
    UnknownDevice(String),
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A checkpoint is inconsistent.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Rank surgery was asked for something impossible.
    #[error("rank surgery: {0}")]
    Surgery(String),
}
