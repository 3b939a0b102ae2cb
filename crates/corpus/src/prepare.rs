//! The one entry point the pipeline calls: corpus → split → tokenizer → token streams (SPEC §8,
//! §5 stage 0).
//!
//! Cache layout under the cache root (`$RANKWISE_CACHE` or `~/.cache/rankwise`):
//! - `tokenizers/<tokenizer hash>/tokenizer.json`;
//! - `tokens/<streams hash>/{pretrain,adapt,validation}.u16` (or `.u32`) and `split.json`, the
//!   streams hash covering the tokenizer hash, the split record and every document's text.
//!
//! Each split's stream is its documents in name order, each followed by `<|endoftext|>`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    CorpusError, CorpusSource, DEFAULT_SPLIT_SEED, Document, Result, Split, SplitFractions,
    SplitRecord, TokenStream, TrainedTokenizer, load_corpus, split_documents,
    train_or_load_tokenizer,
};

/// What data to prepare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// The corpus.
    pub corpus: CorpusSource,
    /// Exact vocabulary size of the tokenizer (15,007 in the paper profile).
    pub vocab_size: usize,
    /// Seed of the document split.
    pub split_seed: u64,
    /// Fractions of documents per split.
    pub fractions: SplitFractions,
}

impl DataConfig {
    /// The paper profile: default corpus, V = 15,007 (SPEC §1).
    pub fn paper() -> Self {
        Self {
            corpus: CorpusSource::Default,
            vocab_size: 15_007,
            split_seed: DEFAULT_SPLIT_SEED,
            fractions: SplitFractions::default(),
        }
    }

    /// The smoke profile: default corpus, V = 512.
    pub fn smoke() -> Self {
        Self { vocab_size: 512, ..Self::paper() }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self::paper()
    }
}

/// Tokens per split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    pub pretrain: usize,
    pub adapt: usize,
    pub validation: usize,
}

/// Everything the pipeline needs from the data side.
#[derive(Debug)]
pub struct PreparedData {
    /// The tokenizer (its `path`, `hash` and `cache_hit` are recorded by the pipeline).
    pub tokenizer: TrainedTokenizer,
    /// Which document went where.
    pub split: SplitRecord,
    /// `split.json` in the streams folder.
    pub split_path: PathBuf,
    /// The folder holding the streams.
    pub streams_dir: PathBuf,
    /// Whether all three streams came from the cache.
    pub streams_cache_hit: bool,
    pub pretrain: TokenStream,
    pub adapt: TokenStream,
    pub validation: TokenStream,
}

impl PreparedData {
    /// The stream of one split.
    pub fn stream(&self, split: Split) -> &TokenStream {
        match split {
            Split::Pretrain => &self.pretrain,
            Split::Adapt => &self.adapt,
            Split::Validation => &self.validation,
        }
    }

    /// Tokens per split (document separators included).
    pub fn counts(&self) -> SplitCounts {
        SplitCounts {
            pretrain: self.pretrain.len(),
            adapt: self.adapt.len(),
            validation: self.validation.len(),
        }
    }

    /// The vocabulary size (exactly the configured one).
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.vocab_size()
    }
}

/// The cache root: `$RANKWISE_CACHE` if set, else `$HOME/.cache/rankwise` (the same rule as
/// `cargo xtask setup`).
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RANKWISE_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("rankwise")
}

/// Loads, splits, tokenizes and caches the data of `config` under `cache`.
pub fn prepare(config: &DataConfig, cache: &Path) -> Result<PreparedData> {
    let documents = load_corpus(&config.corpus, cache)?;
    let split = split_documents(&documents, config.split_seed, config.fractions)?;
    let by_name: std::collections::BTreeMap<&str, &Document> =
        documents.iter().map(|d| (d.name.as_str(), d)).collect();
    // In name order (the split record's order), whatever order the files were given in.
    let docs_of = |s: Split| -> Vec<&Document> {
        split.documents(s).iter().filter_map(|n| by_name.get(n.as_str()).copied()).collect()
    };
    let tokenizer = train_or_load_tokenizer(&docs_of(Split::Pretrain), config.vocab_size, cache)?;

    let key = streams_key(&tokenizer.hash, &split, &documents)?;
    let streams_dir = cache.join("tokens").join(key);
    fs::create_dir_all(&streams_dir).map_err(|e| CorpusError::io(&streams_dir, e))?;
    let split_path = streams_dir.join("split.json");
    let json = serde_json::to_vec_pretty(&split)
        .map_err(|e| CorpusError::Json { path: split_path.clone(), message: e.to_string() })?;
    write_atomic(&split_path, &json)?;

    let mut streams_cache_hit = true;
    let mut open = |s: Split| -> Result<TokenStream> {
        let path = streams_dir.join(TokenStream::file_name(s.name(), config.vocab_size));
        if !path.is_file() {
            streams_cache_hit = false;
            let ids = encode_documents(&tokenizer, &docs_of(s))?;
            TokenStream::write(&path, &ids, config.vocab_size)?;
        }
        TokenStream::open(&path)
    };
    let pretrain = open(Split::Pretrain)?;
    let adapt = open(Split::Adapt)?;
    let validation = open(Split::Validation)?;
    Ok(PreparedData {
        tokenizer,
        split,
        split_path,
        streams_dir,
        streams_cache_hit,
        pretrain,
        adapt,
        validation,
    })
}

/// The documents' ids in order, each document followed by `<|endoftext|>`.
fn encode_documents(tokenizer: &TrainedTokenizer, documents: &[&Document]) -> Result<Vec<u32>> {
    let texts: Vec<&str> = documents.iter().map(|d| d.text.as_str()).collect();
    let encodings = tokenizer
        .tokenizer
        .encode_batch_fast(texts, false)
        .map_err(|e| CorpusError::tokenizer("encoding the corpus", e))?;
    let mut ids = Vec::with_capacity(encodings.iter().map(|e| e.len() + 1).sum());
    for enc in &encodings {
        ids.extend_from_slice(enc.get_ids());
        ids.push(tokenizer.end_of_text);
    }
    Ok(ids)
}

fn streams_key(
    tokenizer_hash: &str,
    split: &SplitRecord,
    documents: &[Document],
) -> Result<String> {
    let mut h = Sha256::new();
    h.update(b"rankwise token streams v1\n");
    h.update(tokenizer_hash.as_bytes());
    let split_json = serde_json::to_vec(split).map_err(|e| CorpusError::Json {
        path: PathBuf::from("split.json"),
        message: e.to_string(),
    })?;
    h.update((split_json.len() as u64).to_le_bytes());
    h.update(&split_json);
    for doc in documents {
        h.update((doc.name.len() as u64).to_le_bytes());
        h.update(doc.name.as_bytes());
        h.update((doc.text.len() as u64).to_le_bytes());
        h.update(doc.text.as_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| CorpusError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| CorpusError::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| CorpusError::io(path, e.error))?;
    Ok(())
}
