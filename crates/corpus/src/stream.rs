//! Token streams: one split's token ids, stored as a flat little-endian binary file and read
//! through a memory map (SPEC §8; the streams are cached so a run never tokenizes twice).
//!
//! Ids are `u16` when the vocabulary has at most 65,536 tokens (the paper's 15,007 fits), else
//! `u32`; the file extension (`.u16` / `.u32`) says which. Files are written to a temporary name
//! in the same folder and renamed, so a stream file is always whole.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::{CorpusError, Result};

/// Bytes per token id in a stream file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    U16,
    U32,
}

impl Width {
    fn for_vocab(vocab_size: usize) -> Self {
        if vocab_size <= 1 << 16 { Width::U16 } else { Width::U32 }
    }

    fn bytes(self) -> usize {
        match self {
            Width::U16 => 2,
            Width::U32 => 4,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Width::U16 => "u16",
            Width::U32 => "u32",
        }
    }
}

/// A read-only, memory-mapped sequence of token ids.
#[derive(Debug)]
pub struct TokenStream {
    path: PathBuf,
    map: Mmap,
    width: Width,
}

impl TokenStream {
    /// The file name of the stream `stem` for a vocabulary of `vocab_size` (`pretrain.u16`).
    pub fn file_name(stem: &str, vocab_size: usize) -> String {
        format!("{stem}.{}", Width::for_vocab(vocab_size).extension())
    }

    /// Writes `ids` to `path` atomically; the width follows `vocab_size`. Fails if an id does
    /// not fit.
    pub fn write(path: &Path, ids: &[u32], vocab_size: usize) -> Result<()> {
        let width = Width::for_vocab(vocab_size);
        let mut bytes = Vec::with_capacity(ids.len() * width.bytes());
        for &id in ids {
            match width {
                Width::U16 => {
                    let narrow = u16::try_from(id).map_err(|_| CorpusError::CorruptCache {
                        path: path.to_path_buf(),
                        reason: format!("token id {id} does not fit in u16"),
                    })?;
                    bytes.extend_from_slice(&narrow.to_le_bytes());
                }
                Width::U32 => bytes.extend_from_slice(&id.to_le_bytes()),
            }
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| CorpusError::io(dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| CorpusError::io(dir, e))?;
        tmp.write_all(&bytes).map_err(|e| CorpusError::io(tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| CorpusError::io(path, e))?;
        tmp.persist(path).map_err(|e| CorpusError::io(path, e.error))?;
        Ok(())
    }

    /// Opens a stream file written by [`TokenStream::write`].
    pub fn open(path: &Path) -> Result<Self> {
        let width = match path.extension().and_then(|e| e.to_str()) {
            Some("u16") => Width::U16,
            Some("u32") => Width::U32,
            _ => {
                return Err(CorpusError::CorruptCache {
                    path: path.to_path_buf(),
                    reason: "a token stream file must end in .u16 or .u32".into(),
                });
            }
        };
        let file = fs::File::open(path).map_err(|e| CorpusError::io(path, e))?;
        let len = file.metadata().map_err(|e| CorpusError::io(path, e))?.len();
        if len == 0 || len % width.bytes() as u64 != 0 {
            return Err(CorpusError::CorruptCache {
                path: path.to_path_buf(),
                reason: format!("{len} bytes is not a positive multiple of {}", width.bytes()),
            });
        }
        // SAFETY: the map is read-only and the file is never modified in place: streams are
        // written under a temporary name and renamed over, which leaves an existing map pointing
        // at the old, unchanged inode. Only an outside program truncating a cache file in place
        // could break this, and the cache is private to rankwise.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|e| CorpusError::io(path, e))?;
        Ok(Self { path: path.to_path_buf(), map, width })
    }

    /// Where the stream lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.map.len() / self.width.bytes()
    }

    /// Whether the stream has no tokens (never true for an opened stream).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id at `index`; `None` past the end.
    pub fn get(&self, index: usize) -> Option<u32> {
        let b = self.width.bytes();
        let bytes = self.map.get(index * b..index * b + b)?;
        Some(match self.width {
            Width::U16 => u32::from(u16::from_le_bytes([bytes[0], bytes[1]])),
            Width::U32 => u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        })
    }

    /// Appends `len` ids starting at `start` to `out` as `i64` (what tch wants); `None` when the
    /// window runs past the end.
    pub fn extend_window(&self, start: usize, len: usize, out: &mut Vec<i64>) -> Option<()> {
        if start.checked_add(len)? > self.len() {
            return None;
        }
        let b = self.width.bytes();
        let bytes = &self.map[start * b..(start + len) * b];
        match self.width {
            Width::U16 => out
                .extend(bytes.chunks_exact(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]])))),
            Width::U32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            ),
        }
        Some(())
    }

    /// All ids (for tests and small streams).
    pub fn to_vec(&self) -> Vec<u32> {
        (0..self.len()).filter_map(|i| self.get(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u16_and_u32_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (vocab, ids) in [(512usize, vec![0u32, 1, 511, 7]), (70_000, vec![0, 65_536, 69_999])] {
            let path = dir.path().join(TokenStream::file_name("s", vocab));
            TokenStream::write(&path, &ids, vocab).expect("write");
            let stream = TokenStream::open(&path).expect("open");
            assert_eq!(stream.to_vec(), ids);
            let mut w = Vec::new();
            stream.extend_window(1, 2, &mut w).expect("in range");
            assert_eq!(w, vec![i64::from(ids[1]), i64::from(ids[2])]);
            assert!(stream.extend_window(ids.len() - 1, 2, &mut w).is_none());
        }
    }

    #[test]
    fn an_id_too_wide_for_u16_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = TokenStream::write(&dir.path().join("s.u16"), &[70_000], 512).expect_err("x");
        assert!(err.to_string().contains("does not fit in u16"), "{err}");
    }

    #[test]
    fn a_truncated_file_is_reported_as_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.u16");
        fs::write(&path, [1u8, 2, 3]).expect("write");
        let err = TokenStream::open(&path).expect_err("odd length");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
