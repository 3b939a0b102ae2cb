//! `rankwise params` and `rankwise select-k`, run as a user would.

use std::process::{Command, Output};

use serde_json::Value;

fn rankwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rankwise")).args(args).output().expect("the binary runs")
}

fn json(args: &[&str]) -> Value {
    let out = rankwise(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

fn failure(args: &[&str]) -> String {
    let out = rankwise(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const PAPER_ER: &str = "20.08,20.48,17.61,22.44,20.39,20.98,20.29,19.36";

#[test]
fn params_reproduces_the_five_paper_counts() {
    // Σ_l 4,096·K_l + 15,263·K_e (SPEC §1): K=8 → 8·4,096·8 + 15,263·8 = 262,144 + 122,104.
    for (k, expected) in [("8", 384_248), ("16", 768_496), ("32", 1_536_992), ("64", 3_073_984)] {
        let v = json(&["params", "--preset", "paper", "--k", k, "--json"]);
        assert_eq!(v, serde_json::json!({ "params": expected }), "uniform_{k}");
    }
    // Adaptive: Σ K = 260 → 1,064,960 + 15,263·32 = 1,553,376.
    let v = json(&[
        "params",
        "--preset",
        "paper",
        "--k-per-layer",
        "32,33,28,36,33,34,33,31",
        "--k-embed",
        "32",
        "--json",
    ]);
    assert_eq!(v, serde_json::json!({ "params": 1_553_376 }));
    let out = rankwise(&["params", "--k", "8"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("384,248 trainable parameters"));
}

#[test]
fn params_rejects_bad_ranks() {
    let e = failure(&["params", "--k", "0"]);
    assert!(e.contains("K = 0"), "{e}");
    let e = failure(&["params", "--k", "300"]);
    assert!(e.contains("exceeds min(d_in, d_out) = 256"), "{e}");
    let e = failure(&["params", "--k-per-layer", "8,8", "--k-embed", "8"]);
    assert!(e.contains("give one K per layer"), "{e}");
    let e = failure(&["params", "--preset", "huge", "--k", "8"]);
    assert!(e.contains("use --preset paper or --preset smoke"), "{e}");
    let e = failure(&["params", "--k-per-layer", "8,x", "--k-embed", "8"]);
    assert!(e.contains("not a whole number"), "{e}");
}

#[test]
fn select_k_er_ratio_matches_paper_84() {
    let v = json(&["select-k", "--policy", "er-ratio", "--er", PAPER_ER, "--json"]);
    assert_eq!(v["k"], serde_json::json!([32, 33, 28, 36, 33, 34, 33, 31]));
    assert_eq!(v["k_embed"], 32);
    assert_eq!(v["params"], 1_553_376);
    assert_eq!(v["explanation"]["rule"], "er_ratio");
    assert_eq!(v["explanation"]["reference"]["diff_params"], 16_384);
    let text = rankwise(&["select-k", "--policy", "er-ratio", "--er", PAPER_ER]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("K per layer: 32, 33, 28, 36, 33, 34, 33, 31 (mean 32.50)"), "{text}");
}

#[test]
fn select_k_budget_matched_uniform_and_step_budget() {
    let v = json(&[
        "select-k",
        "--policy",
        "budget-matched",
        "--er",
        PAPER_ER,
        "--reference-k",
        "32",
        "--json",
    ]);
    assert_eq!(v["params"], 1_536_992, "exactly uniform_32's budget");
    assert_eq!(v["k"], serde_json::json!([32, 32, 28, 36, 32, 33, 32, 31]));
    let v = json(&["select-k", "--policy", "uniform", "--k", "16", "--json"]);
    assert_eq!((v["params"].as_u64(), v["k_embed"].as_u64()), (Some(768_496), Some(16)));
    for (steps, k) in [("9", 8), ("10", 32), ("30", 64), ("60", 2)] {
        let v = json(&["select-k", "--policy", "step-budget", "--steps", steps, "--json"]);
        assert_eq!(v["k"], serde_json::json!(vec![k; 8]), "{steps} steps");
    }
    let v = json(&["select-k", "--policy", "uniform", "--k", "4", "--preset", "smoke", "--json"]);
    assert_eq!(v["k"], serde_json::json!([4, 4]));
}

#[test]
fn select_k_reads_a_policy_file() {
    let dir = std::env::temp_dir().join(format!("rankwise-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("floor.toml");
    std::fs::write(&path, "policy = \"er_ratio\"\nrounding = \"floor\"\n").expect("write");
    let path = path.to_string_lossy().into_owned();
    let v = json(&["select-k", "--policy-file", &path, "--er", PAPER_ER, "--json"]);
    // floor(ER/0.62): 32, 33, 28, 36, 32, 33, 32, 31.
    assert_eq!(v["k"], serde_json::json!([32, 33, 28, 36, 32, 33, 32, 31]));
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"policy":"uniform","k":8,"kk":1}"#).expect("write");
    let e = failure(&["select-k", "--policy-file", &bad.to_string_lossy()]);
    assert!(e.contains("kk"), "{e}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn select_k_bad_input_names_the_fix() {
    let e = failure(&["select-k", "--policy", "er-ratio", "--er", PAPER_ER, "--ratio", "0"]);
    assert!(e.contains("ratio = 0 must be a finite number > 0"), "{e}");
    let e = failure(&["select-k", "--policy", "er-ratio", "--er", "20,NaN,20,20,20,20,20,20"]);
    assert!(e.contains("ER of layer 1 is NaN"), "{e}");
    let e = failure(&["select-k", "--policy", "er-ratio", "--er", "20,-1,20,20,20,20,20,20"]);
    assert!(e.contains("ER of layer 1 is -1"), "{e}");
    let e = failure(&["select-k", "--policy", "er-ratio", "--er", "20,20"]);
    assert!(e.contains("got 2 ER values but the model has 8 layers"), "{e}");
    let e = failure(&["select-k", "--policy", "er-ratio"]);
    assert!(e.contains("pass --er"), "{e}");
    let e = failure(&["select-k", "--policy", "budget-matched", "--er", PAPER_ER]);
    assert!(e.contains("needs --reference-k"), "{e}");
    let e = failure(&[
        "select-k",
        "--policy",
        "budget-matched",
        "--er",
        PAPER_ER,
        "--reference-k",
        "0",
    ]);
    assert!(e.contains("K = 0"), "{e}");
    let e = failure(&["select-k", "--policy", "uniform", "--k", "8", "--ratio", "0.5"]);
    assert!(e.contains("--ratio does not apply to --policy uniform"), "{e}");
    let e = failure(&["select-k", "--policy", "step-budget"]);
    assert!(e.contains("pass --steps N"), "{e}");
}
