//! Per-layer means and stability over checkpoints.

use effrank::{Error, layer_value, stability};

use crate::{TOL, close};

#[test]
fn layer_value_is_the_mean_and_keeps_each_matrix() {
    // (20 + 22 + 18 + 20.4)/4 = 80.4/4 = 20.1.
    let v =
        layer_value([("qkv", 20.0), ("out", 22.0), ("up", 18.0), ("down", 20.4)]).expect("values");
    assert!(close(v.mean, 20.1, TOL));
    assert_eq!(v.per_matrix.len(), 4);
    assert_eq!(v.per_matrix[1], ("out".to_owned(), 22.0));
}

#[test]
fn stability_over_checkpoints() {
    // Values 18, 20, 22: mean 20; squared deviations 4 + 0 + 4 = 8; sample variance 8/2 = 4;
    // sd 2; cv 2/20 = 0.1.
    let s = stability(&[18.0, 20.0, 22.0]).expect("values");
    assert_eq!(s.n, 3);
    assert!(close(s.mean, 20.0, TOL));
    assert!(close(s.sd.expect("n ≥ 2"), 2.0, TOL));
    assert!(close(s.cv.expect("mean ≠ 0"), 0.1, TOL));
    // One value: a mean but no spread estimate.
    let one = stability(&[5.0]).expect("value");
    assert_eq!((one.sd, one.cv), (None, None));
    // A zero mean has no coefficient of variation.
    assert_eq!(stability(&[-1.0, 1.0]).expect("values").cv, None);
}

#[test]
fn empty_and_non_finite_are_errors() {
    let err = stability(&[]).expect_err("empty");
    assert!(
        matches!(err, Error::NothingToAggregate { .. })
            && err.to_string().contains("pass at least one")
    );
    let err = layer_value(Vec::<(String, f64)>::new()).expect_err("empty");
    assert!(matches!(err, Error::NothingToAggregate { .. }));
    assert!(matches!(stability(&[1.0, f64::NAN]), Err(Error::NonFinite { nan: 1, .. })));
}
