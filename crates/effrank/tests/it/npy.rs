//! `.npy` reading and writing: round trips in both precisions, Fortran order, big-endian data.

use effrank::npy::{encode_npy, parse_npy};
use effrank::{Method, NpyData, read_npy, write_npy};

/// A `.npy` v1.0 file with an arbitrary header dict and raw payload, as NumPy would lay it out.
pub fn npy_bytes(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = dict.to_owned();
    let unpadded = 6 + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn f32_and_f64_round_trip_through_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data32: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
    let data64: Vec<f64> = data32.iter().map(|x| f64::from(*x) * 1e-3).collect();
    let p32 = dir.path().join("g32.npy");
    let p64 = dir.path().join("g64.npy");
    write_npy(&p32, 3, 4, &data32).expect("write f32");
    write_npy(&p64, 4, 3, &data64).expect("write f64");
    let m32 = read_npy(&p32).expect("read f32");
    let m64 = read_npy(&p64).expect("read f64");
    assert_eq!((m32.rows, m32.cols, m32.data), (3, 4, NpyData::F32(data32)));
    assert_eq!((m64.rows, m64.cols, m64.data), (4, 3, NpyData::F64(data64)));
    // No temporary file is left beside the results.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn header_is_64_byte_aligned_like_numpy() {
    let bytes = encode_npy(2, 2, &[1.0_f32, 2.0, 3.0, 4.0]).expect("encode");
    assert_eq!((bytes.len() - 16) % 64, 0);
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
}

#[test]
fn fortran_order_is_transposed_into_row_major() {
    // The 2×3 matrix [[1, 2, 3], [4, 5, 6]] stored column after column: 1, 4, 2, 5, 3, 6.
    let payload: Vec<u8> =
        [1.0_f64, 4.0, 2.0, 5.0, 3.0, 6.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let bytes = npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", &payload);
    let m = parse_npy(&bytes).expect("valid Fortran-order file");
    assert_eq!((m.rows, m.cols), (2, 3));
    assert_eq!(m.data, NpyData::F64(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
}

#[test]
fn big_endian_float32_is_read() {
    let payload: Vec<u8> = [1.5_f32, -2.0].iter().flat_map(|x| x.to_be_bytes()).collect();
    let bytes = npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2), }", &payload);
    assert_eq!(parse_npy(&bytes).expect("valid").data, NpyData::F32(vec![1.5, -2.0]));
}

#[test]
fn spectrum_from_file_matches_spectrum_from_slice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let g = crate::random_matrix(7, 5, 3);
    let row_major: Vec<f64> =
        (0..7).flat_map(|i| (0..5).map(move |j| (i, j))).map(|(i, j)| g[(i, j)]).collect();
    let path = dir.path().join("g.npy");
    write_npy(&path, 7, 5, &row_major).expect("write");
    let from_file = read_npy(&path).expect("read").spectrum(Method::Auto).expect("finite");
    let direct = effrank::Spectrum::of_matrix(&g, Method::Auto).expect("finite");
    assert_eq!(from_file, direct);
}
