//! The byte-level BPE tokenizer (SPEC §8: "byte-level BPE trained on the corpus to exactly the
//! profile's vocabulary size (15,007 for the paper profile)").
//!
//! Settings (GPT-2 style, see docs/data.md): no normalizer; the byte-level pre-tokenizer with the
//! GPT-2 split regex and no added prefix space, so decode(encode(text)) == text for any text; the
//! full 256-byte alphabet; one special token, `<|endoftext|>`, placed between documents in the
//! token streams. The vocabulary is exactly 256 bytes + 1 special + (N − 257) merges.
//!
//! The tokenizer is trained on the pretrain split only, so adapt and validation text never
//! shapes the vocabulary (byte-level BPE encodes any text, so nothing is out of vocabulary).
//! It is cached at `<cache>/tokenizers/<hash>/tokenizer.json`, the hash covering the training
//! text, the vocabulary size and [`TOKENIZER_SETTINGS`]; the file loads unchanged in Python's
//! `tokenizers` (`Tokenizer.from_file`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer, TokenizerBuilder};

use crate::{CorpusError, Document, Result};

/// The special token between documents.
pub const END_OF_TEXT: &str = "<|endoftext|>";
/// The smallest vocabulary: 256 byte tokens and the end-of-text token.
pub const MIN_VOCAB_SIZE: usize = 257;
/// Everything about training besides the text and the size; part of the cache key, so change it
/// whenever the training settings change.
pub const TOKENIZER_SETTINGS: &str = "rankwise byte-level BPE v1: no normalizer, ByteLevel(add_prefix_space=false, \
     trim_offsets=true, use_regex=true), alphabet=256 bytes, special=[<|endoftext|>], \
     min_frequency=0, trained on the pretrain split";

/// A trained (or cached) tokenizer.
#[derive(Debug)]
pub struct TrainedTokenizer {
    /// The tokenizer itself.
    pub tokenizer: Tokenizer,
    /// Where `tokenizer.json` is.
    pub path: PathBuf,
    /// The cache key (sha256 hex of text, size and settings).
    pub hash: String,
    /// Whether it came from the cache (no training happened).
    pub cache_hit: bool,
    /// Seconds spent training (0 on a cache hit).
    pub train_seconds: f64,
    /// The id of [`END_OF_TEXT`].
    pub end_of_text: u32,
}

impl TrainedTokenizer {
    /// Vocabulary size including the special token.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| CorpusError::tokenizer("encoding", e))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of token ids (special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids, false).map_err(|e| CorpusError::tokenizer("decoding", e))
    }
}

/// The cache key of a tokenizer trained on `documents` to `vocab_size`.
pub fn tokenizer_hash(documents: &[&Document], vocab_size: usize) -> String {
    let mut h = Sha256::new();
    h.update(TOKENIZER_SETTINGS.as_bytes());
    h.update((vocab_size as u64).to_le_bytes());
    for doc in documents {
        // Length prefixes keep (name, text) boundaries unambiguous.
        h.update((doc.name.len() as u64).to_le_bytes());
        h.update(doc.name.as_bytes());
        h.update((doc.text.len() as u64).to_le_bytes());
        h.update(doc.text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Loads the cached tokenizer for (`documents`, `vocab_size`), or trains and caches it.
pub fn train_or_load_tokenizer(
    documents: &[&Document],
    vocab_size: usize,
    cache: &Path,
) -> Result<TrainedTokenizer> {
    if vocab_size < MIN_VOCAB_SIZE {
        return Err(CorpusError::VocabTooSmall { requested: vocab_size, minimum: MIN_VOCAB_SIZE });
    }
    let hash = tokenizer_hash(documents, vocab_size);
    let dir = cache.join("tokenizers").join(&hash);
    let path = dir.join("tokenizer.json");
    if path.is_file() {
        let tokenizer = Tokenizer::from_file(&path)
            .map_err(|e| CorpusError::CorruptCache { path: path.clone(), reason: e.to_string() })?;
        return finish(tokenizer, path, hash, true, 0.0, vocab_size);
    }
    let started = Instant::now();
    let tokenizer = train(documents, vocab_size)?;
    let train_seconds = started.elapsed().as_secs_f64();
    // Check before caching, so a tokenizer of the wrong size is never saved.
    let reached = tokenizer.get_vocab_size(true);
    if reached != vocab_size {
        return Err(CorpusError::VocabNotReached { requested: vocab_size, reached });
    }
    fs::create_dir_all(&dir).map_err(|e| CorpusError::io(&dir, e))?;
    let tmp = dir.join(format!(".tokenizer.json.tmp-{}", std::process::id()));
    tokenizer.save(&tmp, true).map_err(|e| CorpusError::tokenizer("saving tokenizer.json", e))?;
    fs::rename(&tmp, &path).map_err(|e| CorpusError::io(&path, e))?;
    finish(tokenizer, path, hash, false, train_seconds, vocab_size)
}

fn finish(
    tokenizer: Tokenizer,
    path: PathBuf,
    hash: String,
    cache_hit: bool,
    train_seconds: f64,
    vocab_size: usize,
) -> Result<TrainedTokenizer> {
    let reached = tokenizer.get_vocab_size(true);
    if reached != vocab_size {
        return if cache_hit {
            Err(CorpusError::CorruptCache {
                path,
                reason: format!("vocabulary of {reached} tokens, expected {vocab_size}"),
            })
        } else {
            Err(CorpusError::VocabNotReached { requested: vocab_size, reached })
        };
    }
    let end_of_text = tokenizer.token_to_id(END_OF_TEXT).ok_or_else(|| {
        CorpusError::CorruptCache { path: path.clone(), reason: format!("no {END_OF_TEXT} token") }
    })?;
    Ok(TrainedTokenizer { tokenizer, path, hash, cache_hit, train_seconds, end_of_text })
}

/// Trains a byte-level BPE tokenizer on the documents' text.
fn train(documents: &[&Document], vocab_size: usize) -> Result<Tokenizer> {
    let byte_level = ByteLevel::new(false, true, true);
    let mut trainer = BpeTrainerBuilder::new()
        .show_progress(false)
        .vocab_size(vocab_size)
        .min_frequency(0)
        .special_tokens(vec![AddedToken::from(END_OF_TEXT.to_string(), true)])
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tokenizer =
        TokenizerBuilder::<BPE, NormalizerWrapper, ByteLevel, ByteLevel, ByteLevel>::new()
            .with_model(BPE::default())
            .with_normalizer(None)
            .with_pre_tokenizer(Some(byte_level))
            .with_post_processor(Some(byte_level))
            .with_decoder(Some(byte_level))
            .build()
            .map_err(|e| CorpusError::tokenizer("building the tokenizer", e))?;
    tokenizer
        .train(&mut trainer, documents.iter().map(|d| d.text.as_str()))
        .map_err(|e| CorpusError::tokenizer("training BPE", e))?;
    Ok(Tokenizer::from(tokenizer))
}
