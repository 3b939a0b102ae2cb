//! `rankwise er` on `.npy` files written here.

use std::path::Path;
use std::process::{Command, Output};

fn rankwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rankwise"))
        .args(args)
        .output()
        .expect("the rankwise binary runs")
}

fn write_diag_3_1(dir: &Path) -> String {
    let path = dir.join("diag.npy");
    // diag(3, 1) as float32.
    effrank::write_npy(&path, 2, 2, &[3.0_f32, 0.0, 0.0, 1.0]).expect("write");
    path.to_str().expect("utf-8 temp path").to_owned()
}

#[test]
fn json_output_has_exactly_the_documented_keys_and_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_diag_3_1(dir.path());
    let out = rankwise(&["er", &file, "--convention", "sigma2", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let obj = json.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "convention",
            "effective_rank",
            "energy_rank_90",
            "energy_rank_99",
            "numerical_rank",
            "participation_ratio",
            "shape",
            "stable_rank"
        ]
    );
    assert_eq!(json["shape"], serde_json::json!([2, 2]));
    assert_eq!(json["convention"], "sigma2");
    // σ = (3, 1); σ² convention p = (0.9, 0.1): ER = 10/9^0.9 (derivation in effrank's examples).
    let er = json["effective_rank"].as_f64().expect("number");
    assert!((er - 10.0 / 9f64.powf(0.9)).abs() < 1e-9, "{er}");
    // Stable rank (9 + 1)/9; energy ranks 1 (9/10 ≥ 90%) and 2; numerical rank 2.
    assert!((json["stable_rank"].as_f64().expect("number") - 10.0 / 9.0).abs() < 1e-9);
    assert_eq!(
        (&json["energy_rank_90"], &json["energy_rank_99"], &json["numerical_rank"]),
        (&serde_json::json!(1), &serde_json::json!(2), &serde_json::json!(2))
    );
}

#[test]
fn table_names_the_convention_and_defaults_to_sigma() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_diag_3_1(dir.path());
    let out = rankwise(&["er", &file]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("convention           sigma (p_i = σ_i/Σσ)"), "{text}");
    // σ convention: ER = 4/3^0.75 = 1.7548 to four places.
    assert!(text.contains("effective rank       1.7548"), "{text}");
    assert!(text.contains("shape                2 × 2 (float32)"), "{text}");
}

#[test]
fn bad_files_and_conventions_fail_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_npy = dir.path().join("g.npy");
    std::fs::write(&not_npy, "hello").expect("write");
    let out = rankwise(&["er", not_npy.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a NumPy .npy file") && err.contains("numpy.save"), "{err}");

    let nan = dir.path().join("nan.npy");
    effrank::write_npy(&nan, 1, 3, &[1.0_f32, f32::NAN, f32::INFINITY]).expect("write");
    let out = rankwise(&["er", nan.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 NaN and 1 infinite"));

    let file = write_diag_3_1(dir.path());
    let out = rankwise(&["er", &file, "--convention", "entropy"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use one of: sigma, sigma2, softmax"));
}
