//! Reading and writing 2-D NumPy `.npy` files of `f32` or `f64`, so that gradients saved by any
//! tool (or by the pipeline) can be measured with `rankwise er` (SPEC §4).
//!
//! The format (NumPy's `format.py`): the magic `\x93NUMPY`, a version byte pair, a little-endian
//! header length (`u16` for version 1, `u32` for versions 2 and 3), a Python dict literal
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), }` padded so the data starts on
//! a 64-byte boundary, then the raw data. This reader accepts `f4`/`f8` in either byte order, C or
//! Fortran order (Fortran data is transposed on reading), and exactly two dimensions; anything else
//! is an error that says how to convert the array.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::spectrum::{Method, Spectrum};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The values of a 2-D array read from a `.npy` file, row-major, in the file's precision.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// `float32` data.
    F32(Vec<f32>),
    /// `float64` data.
    F64(Vec<f64>),
}

/// A 2-D array read from a `.npy` file, stored row-major whatever the file's order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyMatrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The values, row after row.
    pub data: NpyData,
}

impl NpyMatrix {
    /// The spectrum of this matrix.
    pub fn spectrum(&self, method: Method) -> Result<Spectrum> {
        match &self.data {
            NpyData::F32(d) => Spectrum::of_slice(self.rows, self.cols, d, method),
            NpyData::F64(d) => Spectrum::of_slice(self.rows, self.cols, d, method),
        }
    }

    /// `"float32"` or `"float64"`.
    pub fn dtype_name(&self) -> &'static str {
        match self.data {
            NpyData::F32(_) => "float32",
            NpyData::F64(_) => "float64",
        }
    }
}

/// Reads a 2-D `float32`/`float64` array from a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyMatrix> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        action: "cannot read",
        path: path.to_owned(),
        source,
    })?;
    parse_npy(&bytes).map_err(|reason| Error::Npy { path: path.to_owned(), reason })
}

/// Parses the bytes of a `.npy` file; the error is the reason, without the path.
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<NpyMatrix, String> {
    if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a NumPy .npy file (it does not start with \\x93NUMPY); save the array \
                    with numpy.save"
            .to_owned());
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (read_le_u16(bytes, 8)? as usize, 10),
        2 | 3 => (read_le_u32(bytes, 8)? as usize, 12),
        v => {
            return Err(format!(
                ".npy format version {v} is not supported (only 1, 2 and 3); re-save the array \
                 with a current numpy.save"
            ));
        }
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .ok_or("the .npy header is truncated; the file is incomplete, write it again")?;
    let header = std::str::from_utf8(header)
        .map_err(|_| "the .npy header is not text; the file is corrupt, write it again")?;
    let descr = dict_string(header, "descr")?;
    let fortran_order = dict_bool(header, "fortran_order")?;
    let shape = dict_shape(header)?;
    let [rows, cols] = match shape[..] {
        [r, c] => [r, c],
        _ => {
            return Err(format!(
                "the array has shape {shape:?} but a matrix needs exactly 2 dimensions; reshape it \
                 (e.g. a vector v to v.reshape(1, -1)) before saving"
            ));
        }
    };
    let (little_endian, width) = match descr.as_str() {
        "<f4" | "=f4" => (true, 4),
        ">f4" => (false, 4),
        "<f8" | "=f8" => (true, 8),
        ">f8" => (false, 8),
        other => {
            return Err(format!(
                "unsupported dtype {other:?}: only float32 ('<f4') and float64 ('<f8') are read; \
                 convert with array.astype(numpy.float32) before saving"
            ));
        }
    };
    let count = rows.checked_mul(cols).ok_or("the shape overflows; the header is corrupt")?;
    let payload = &bytes[data_start..];
    let expected = count.checked_mul(width).ok_or("the shape overflows; the header is corrupt")?;
    if payload.len() != expected {
        return Err(format!(
            "a {rows}×{cols} {descr} array needs {expected} bytes of data but the file has {}; the \
             file is truncated or padded, write it again",
            payload.len()
        ));
    }
    // Fortran order stores column after column: read it as the cols×rows row-major transpose and
    // transpose back, so the caller always gets row-major data.
    let (stored_rows, stored_cols) = if fortran_order { (cols, rows) } else { (rows, cols) };
    let data = if width == 4 {
        let values: Vec<f32> = payload
            .chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if little_endian { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) }
            })
            .collect();
        NpyData::F32(to_row_major(values, stored_rows, stored_cols, fortran_order))
    } else {
        let values: Vec<f64> = payload
            .chunks_exact(8)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
                if little_endian { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }
            })
            .collect();
        NpyData::F64(to_row_major(values, stored_rows, stored_cols, fortran_order))
    };
    Ok(NpyMatrix { rows, cols, data })
}

fn to_row_major<T: Copy>(
    values: Vec<T>,
    stored_rows: usize,
    stored_cols: usize,
    transpose: bool,
) -> Vec<T> {
    if !transpose {
        return values;
    }
    let mut out = Vec::with_capacity(values.len());
    for j in 0..stored_cols {
        for i in 0..stored_rows {
            out.push(values[i * stored_cols + j]);
        }
    }
    out
}

fn read_le_u16(bytes: &[u8], at: usize) -> std::result::Result<u16, String> {
    match bytes.get(at..at + 2) {
        Some(b) => Ok(u16::from_le_bytes([b[0], b[1]])),
        None => Err("the .npy header is truncated; write the file again".to_owned()),
    }
}

fn read_le_u32(bytes: &[u8], at: usize) -> std::result::Result<u32, String> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        None => Err("the .npy header is truncated; write the file again".to_owned()),
    }
}

/// The text after `'key':` in the header dict (either quote style).
fn dict_value<'h>(header: &'h str, key: &str) -> std::result::Result<&'h str, String> {
    for quoted in [format!("'{key}'"), format!("\"{key}\"")] {
        if let Some(at) = header.find(&quoted) {
            let rest = header[at + quoted.len()..].trim_start();
            if let Some(value) = rest.strip_prefix(':') {
                return Ok(value.trim_start());
            }
        }
    }
    Err(format!("the .npy header has no '{key}' entry; the file is corrupt, write it again"))
}

fn dict_string(header: &str, key: &str) -> std::result::Result<String, String> {
    let value = dict_value(header, key)?;
    let quote = value.chars().next().filter(|c| *c == '\'' || *c == '"');
    let bad = || format!("the .npy header's '{key}' is not a string; the file is corrupt");
    let quote = quote.ok_or_else(bad)?;
    let inner = &value[1..];
    let end = inner.find(quote).ok_or_else(bad)?;
    Ok(inner[..end].to_owned())
}

fn dict_bool(header: &str, key: &str) -> std::result::Result<bool, String> {
    let value = dict_value(header, key)?;
    if value.starts_with("True") {
        Ok(true)
    } else if value.starts_with("False") {
        Ok(false)
    } else {
        Err(format!("the .npy header's '{key}' is not True or False; the file is corrupt"))
    }
}

fn dict_shape(header: &str) -> std::result::Result<Vec<usize>, String> {
    let value = dict_value(header, "shape")?;
    let bad =
        || "the .npy header's 'shape' is not a tuple of integers; the file is corrupt".to_owned();
    let inner = value.strip_prefix('(').ok_or_else(bad)?;
    let end = inner.find(')').ok_or_else(bad)?;
    inner[..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| bad()))
        .collect()
}

/// An element type [`write_npy`] can store.
pub trait NpyElement: Copy {
    /// The little-endian dtype string, `'<f4'` or `'<f8'`.
    const DESCR: &'static str;
    /// Append the little-endian bytes of `self`.
    fn push_le(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The bytes of a version-1.0, C-order `.npy` file holding a row-major `rows×cols` matrix.
pub fn encode_npy<T: NpyElement>(rows: usize, cols: usize, data: &[T]) -> Result<Vec<u8>> {
    let expected = rows.saturating_mul(cols);
    if data.len() != expected {
        return Err(Error::ShapeMismatch { rows, cols, expected, len: data.len() });
    }
    let mut header =
        format!("{{'descr': '{}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}", T::DESCR);
    // Pad with spaces and end with a newline so the data starts on a 64-byte boundary.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| Error::ShapeMismatch {
        rows,
        cols,
        expected,
        len: data.len(),
    })?;
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        v.push_le(&mut out);
    }
    Ok(out)
}

/// Writes a row-major `rows×cols` matrix as a `.npy` file, atomically: the bytes go to a
/// temporary file in the same directory, which is then renamed over `path`.
pub fn write_npy<T: NpyElement>(path: &Path, rows: usize, cols: usize, data: &[T]) -> Result<()> {
    let bytes = encode_npy(rows, cols, data)?;
    let tmp = temporary_sibling(path);
    let io = |source| Error::Io { action: "cannot write", path: path.to_owned(), source };
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: do not leave the partial temporary file behind.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
