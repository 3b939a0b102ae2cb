//! Integration tests of the corpus crate: the small fixture corpus in `fixtures/corpus-small`
//! (written for this project) and, in `default_corpus`, the real default corpus from the cache
//! that `cargo xtask setup` fills (`cargo xtask test` runs setup first).

mod default_corpus;
mod errors;
mod fixture;

use std::path::PathBuf;

/// The fixture corpus: six short documents (four Markdown, two plain text, one subfolder).
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus-small")
}
