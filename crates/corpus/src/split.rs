//! The deterministic document split into `pretrain`, `adapt` and `validation` (SPEC §5: the base
//! model is pretrained on the pretraining split, every adaptation run trains on the adaptation
//! split; losses and gradient measurements use validation).
//!
//! The split is by whole document, so no text is shared between splits. Each document gets the
//! key sha256(split seed as 8 little-endian bytes ‖ document name); documents sorted by key are
//! dealt out: the first `max(1, round(n·validation))` to validation, the next
//! `max(1, round(n·adapt))` to adapt, the rest (at least one) to pretrain. The result depends
//! only on the seed and the names, never on file order or the machine. Within a split documents
//! are listed (and tokenized) in name order.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{CorpusError, Document, Result};

/// The fixed split seed of the project (any change re-deals the documents).
pub const DEFAULT_SPLIT_SEED: u64 = 84;

/// One of the three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Pretraining of the full-rank base model (and the tokenizer's training text).
    Pretrain,
    /// Adaptation runs.
    Adapt,
    /// Evaluation loss and gradient measurement.
    Validation,
}

impl Split {
    /// All splits in their canonical order.
    pub const ALL: [Split; 3] = [Split::Pretrain, Split::Adapt, Split::Validation];

    /// The lower-case name used in files and records.
    pub fn name(self) -> &'static str {
        match self {
            Split::Pretrain => "pretrain",
            Split::Adapt => "adapt",
            Split::Validation => "validation",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Fractions of documents per split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitFractions {
    pub pretrain: f64,
    pub adapt: f64,
    pub validation: f64,
}

impl Default for SplitFractions {
    /// 70 / 20 / 10 by document.
    fn default() -> Self {
        Self { pretrain: 0.7, adapt: 0.2, validation: 0.1 }
    }
}

impl SplitFractions {
    fn validate(&self) -> Result<()> {
        let all = [self.pretrain, self.adapt, self.validation];
        let ok = all.iter().all(|f| f.is_finite() && *f > 0.0)
            && (all.iter().sum::<f64>() - 1.0).abs() < 1e-9;
        if ok {
            Ok(())
        } else {
            Err(CorpusError::BadFractions {
                pretrain: self.pretrain,
                adapt: self.adapt,
                validation: self.validation,
            })
        }
    }
}

/// Which document went where; written as `split.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    /// The seed the split was dealt with.
    pub seed: u64,
    /// The requested fractions.
    pub fractions: SplitFractions,
    /// Document names per split, each sorted by name.
    pub pretrain: Vec<String>,
    pub adapt: Vec<String>,
    pub validation: Vec<String>,
}

impl SplitRecord {
    /// The document names of one split.
    pub fn documents(&self, split: Split) -> &[String] {
        match split {
            Split::Pretrain => &self.pretrain,
            Split::Adapt => &self.adapt,
            Split::Validation => &self.validation,
        }
    }
}

/// Deals `documents` into the three splits (see the module docs for the rule).
pub fn split_documents(
    documents: &[Document],
    seed: u64,
    fractions: SplitFractions,
) -> Result<SplitRecord> {
    fractions.validate()?;
    let n = documents.len();
    if n < 3 {
        return Err(CorpusError::TooFewDocuments { found: n });
    }
    let count = |f: f64| ((n as f64 * f).round() as usize).max(1);
    let n_validation = count(fractions.validation);
    let n_adapt = count(fractions.adapt);
    if n_validation + n_adapt >= n {
        // Only possible for tiny corpora with large adapt/validation fractions.
        return Err(CorpusError::TooFewDocuments { found: n });
    }
    let mut keyed: Vec<([u8; 32], &str)> = documents
        .iter()
        .map(|d| {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            h.update(d.name.as_bytes());
            (h.finalize().into(), d.name.as_str())
        })
        .collect();
    keyed.sort();
    let names: Vec<String> = keyed.into_iter().map(|(_, name)| name.to_string()).collect();
    let sorted = |slice: &[String]| {
        let mut v = slice.to_vec();
        v.sort();
        v
    };
    Ok(SplitRecord {
        seed,
        fractions,
        validation: sorted(&names[..n_validation]),
        adapt: sorted(&names[n_validation..n_validation + n_adapt]),
        pretrain: sorted(&names[n_validation + n_adapt..]),
    })
}
