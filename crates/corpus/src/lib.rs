//! The data side of rankwise (SPEC §8): corpus loading and cleaning, the document split into
//! `pretrain` / `adapt` / `validation`, a byte-level BPE tokenizer trained to an exact vocabulary
//! size, cached memory-mapped token streams per split, and seeded batches of token ids.
//!
//! The pipeline calls [`prepare`] once and then draws batches from the returned
//! [`PreparedData`]; batches are plain `Vec<i64>` plus a shape, so this crate does not depend on
//! tch and the model crate does not depend on this one. `docs/data.md` explains every choice.

mod batch;
mod clean;
mod error;
mod load;
mod prepare;
mod split;
mod stream;
mod tokenizer;

pub use batch::{Batch, BatchSpec, evaluation_set, measurement_batch, training_batch};
pub use clean::clean_markdown;
pub use error::CorpusError;
pub use load::{CorpusSource, DEFAULT_CORPUS_DIR, DEFAULT_PLAY_COUNT, Document, load_corpus};
pub use prepare::{DataConfig, PreparedData, SplitCounts, default_cache_dir, prepare};
pub use split::{DEFAULT_SPLIT_SEED, Split, SplitFractions, SplitRecord, split_documents};
pub use stream::TokenStream;
pub use tokenizer::{
    END_OF_TEXT, MIN_VOCAB_SIZE, TOKENIZER_SETTINGS, TrainedTokenizer, train_or_load_tokenizer,
};

/// Result type of this crate.
pub type Result<T, E = CorpusError> = std::result::Result<T, E>;
