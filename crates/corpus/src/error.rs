//! The one error type of the corpus crate: every variant names the problem and the fix.

use std::path::PathBuf;

/// Everything that can go wrong while preparing data.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A corpus path given by the user does not exist.
    #[error(
        "corpus path {path} does not exist; fix: check the path (a folder of .txt/.md files or a \
         list of such files), or leave the corpus unset to use the default corpus"
    )]
    MissingPath { path: PathBuf },

    /// The default corpus has not been unpacked into the cache.
    #[error(
        "the default corpus is not in {dir} (expected {expected} plays and the completion stamp); \
         fix: run `cargo xtask setup` (with the same RANKWISE_CACHE)"
    )]
    DefaultCorpusMissing { dir: PathBuf, expected: usize },

    /// A corpus file is not valid UTF-8.
    #[error(
        "{path} is not valid UTF-8: the first invalid byte is at offset {offset}; fix: convert \
         the file to UTF-8 (e.g. `iconv -f LATIN1 -t UTF-8`) or remove it from the corpus"
    )]
    NotUtf8 { path: PathBuf, offset: usize },

    /// No text was found.
    #[error(
        "the corpus {source_description} is empty: no .txt or .md file with any text in it; fix: \
         point it at a folder or files that contain UTF-8 text with a .txt or .md extension"
    )]
    EmptyCorpus { source_description: String },

    /// Two documents would have the same name, so the split could not tell them apart.
    #[error(
        "two corpus documents are both named {name:?} ({first} and {second}); fix: rename one, \
         or pass their common parent folder instead of the files one by one"
    )]
    DuplicateName { name: String, first: PathBuf, second: PathBuf },

    /// Fewer documents than splits.
    #[error(
        "the corpus has {found} document(s) but the split needs at least 3 (one each for \
         pretrain, adapt and validation); fix: split the text into more files (the split is by \
         document)"
    )]
    TooFewDocuments { found: usize },

    /// Split fractions that are not three positive numbers summing to 1.
    #[error(
        "split fractions {pretrain}/{adapt}/{validation} are invalid; fix: give three positive \
         fractions that sum to 1 (the default is 0.7/0.2/0.1)"
    )]
    BadFractions { pretrain: f64, adapt: f64, validation: f64 },

    /// The requested vocabulary cannot hold the byte alphabet and the special token.
    #[error(
        "vocabulary size {requested} is too small; fix: use at least {minimum} (256 byte tokens \
         plus the end-of-text token)"
    )]
    VocabTooSmall { requested: usize, minimum: usize },

    /// BPE ran out of pairs to merge before reaching the requested size.
    #[error(
        "the tokenizer reached only {reached} tokens, not the requested {requested}: the pretrain \
         split is too small to learn that many merges; fix: use a vocabulary of at most {reached} \
         or a larger corpus"
    )]
    VocabNotReached { requested: usize, reached: usize },

    /// A split's token stream is shorter than one window.
    #[error(
        "the {split} split has {tokens} tokens, fewer than one window of {needed}; fix: use a \
         shorter context, or a corpus whose {split} documents are longer"
    )]
    StreamTooShort { split: String, tokens: usize, needed: usize },

    /// A batch request that cannot be served.
    #[error("invalid batch request: {reason}; fix: {fix}")]
    BadBatch { reason: String, fix: String },

    /// A cached file that does not have the expected shape.
    #[error("cached file {path} is corrupt ({reason}); fix: delete it and rerun (it is rebuilt)")]
    CorruptCache { path: PathBuf, reason: String },

    /// The tokenizers library failed.
    #[error("tokenizer error while {action}: {message}")]
    Tokenizer { action: String, message: String },

    /// An I/O error on a named path.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A JSON record could not be written or read.
    #[error("JSON error on {path}: {message}")]
    Json { path: PathBuf, message: String },
}

impl CorpusError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// A tokenizers error while doing `action`.
    pub(crate) fn tokenizer(action: &str, err: impl std::fmt::Display) -> Self {
        Self::Tokenizer { action: action.to_string(), message: err.to_string() }
    }
}
