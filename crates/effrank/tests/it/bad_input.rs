//! Bad input gets an error naming the problem and the fix.

use effrank::npy::parse_npy;
use effrank::{Error, Method, Precision, Spectrum, read_npy};

use crate::npy::npy_bytes;

#[test]
fn nan_and_inf_are_counted() {
    let data = [1.0_f32, f32::NAN, 2.0, f32::INFINITY, f32::NAN, f32::NEG_INFINITY];
    let err = Spectrum::of_slice(2, 3, &data, Method::Auto).expect_err("non-finite");
    assert!(matches!(err, Error::NonFinite { nan: 2, infinite: 2, total: 6 }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("2 NaN and 2 infinite entries (of 6)") && text.contains("learning rate"),
        "{text}"
    );
    let m = nalgebra::DMatrix::<f64>::from_element(2, 2, f64::NAN);
    assert!(matches!(Spectrum::of_matrix(&m, Method::Svd), Err(Error::NonFinite { nan: 4, .. })));
}

#[test]
fn empty_matrix_is_an_error() {
    let err = Spectrum::of_slice::<f32>(0, 5, &[], Method::Auto).expect_err("empty");
    assert!(matches!(err, Error::Empty { rows: 0, cols: 5 }));
    assert!(err.to_string().contains("pass the full gradient"), "{err}");
    let m = nalgebra::DMatrix::<f64>::zeros(3, 0);
    assert!(matches!(
        Spectrum::of_matrix(&m, Method::Auto),
        Err(Error::Empty { rows: 3, cols: 0 })
    ));
    assert!(matches!(
        Spectrum::from_singular_values(0, 2, &[], Precision::F32),
        Err(Error::Empty { .. })
    ));
}

#[test]
fn wrong_buffer_length_is_an_error() {
    let err = Spectrum::of_slice(2, 3, &[1.0_f32; 5], Method::Auto).expect_err("short");
    assert!(matches!(err, Error::ShapeMismatch { expected: 6, len: 5, .. }));
    assert!(err.to_string().contains("row-major"), "{err}");
}

#[test]
fn invalid_singular_values_and_parameters() {
    let err =
        Spectrum::from_singular_values(2, 2, &[1.0, -0.5], Precision::F64).expect_err("negative");
    assert!(err.to_string().contains("-0.5 is negative"), "{err}");
    let err = Spectrum::from_singular_values(2, 2, &[1.0, 1.0, 1.0], Precision::F64)
        .expect_err("too many");
    assert!(err.to_string().contains("at most 2"), "{err}");
    let s = Spectrum::from_singular_values(2, 2, &[1.0, 1.0], Precision::F64).expect("valid");
    assert!(matches!(s.energy_rank(0.0), Err(Error::BadFraction(_))));
    assert!(matches!(s.energy_rank(1.5), Err(Error::BadFraction(_))));
    assert_eq!(s.energy_rank(1.0).expect("1 is allowed"), 2);
    assert!(matches!(s.numerical_rank_at(f64::NAN), Err(Error::BadTolerance(_))));
    assert!(matches!(s.numerical_rank_at(-1.0), Err(Error::BadTolerance(_))));
}

#[test]
fn not_an_npy_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.npy");
    std::fs::write(&path, "col_a,col_b\n1,2\n").expect("write");
    let err = read_npy(&path).expect_err("csv is not npy");
    let text = err.to_string();
    assert!(
        text.contains("notes.npy")
            && text.contains("not a NumPy .npy file")
            && text.contains("numpy.save"),
        "{text}"
    );
    let missing = read_npy(&dir.path().join("absent.npy")).expect_err("missing");
    assert!(matches!(missing, Error::Io { .. }) && missing.to_string().contains("absent.npy"));
}

#[test]
fn unsupported_dtype_names_the_conversion() {
    let bytes = npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", &[0; 8]);
    let err = parse_npy(&bytes).expect_err("int32");
    assert!(
        err.contains("unsupported dtype \"<i4\"") && err.contains("astype(numpy.float32)"),
        "{err}"
    );
    let bytes = npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2), }", &[0; 4]);
    assert!(parse_npy(&bytes).expect_err("float16").contains("unsupported dtype"));
}

#[test]
fn wrong_dimensions_and_truncation() {
    let bytes = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", &[0; 16]);
    assert!(parse_npy(&bytes).expect_err("1-D").contains("exactly 2 dimensions"));
    let bytes =
        npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", &[0; 32]);
    assert!(parse_npy(&bytes).expect_err("3-D").contains("exactly 2 dimensions"));
    let bytes = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", &[0; 12]);
    let err = parse_npy(&bytes).expect_err("truncated");
    assert!(err.contains("needs 16 bytes of data but the file has 12"), "{err}");
    assert!(parse_npy(b"\x93NUMPY\x07\x00").expect_err("version").contains("version 7"));
}
