//! Integration tests of the policy crate: the paper's numbers, the properties of every rule
//! (proptest, bounded ranges), schedules, config parsing and bad input.

use modelspec::Architecture;
use policy::{
    BudgetMatched, ErRatio, ErTracking, Inputs, Plan, Policy, PolicyError, Rounding, Schedule,
    StepBudget, Uniform,
};
use proptest::prelude::*;

/// Paper 83's per-layer natural gradient ER (Paper 84, Setup table).
const PAPER_ER: [f64; 8] = [20.08, 20.48, 17.61, 22.44, 20.39, 20.98, 20.29, 19.36];

fn paper() -> Architecture {
    Architecture::paper()
}

fn er_ratio() -> Policy {
    Policy::ErRatio(ErRatio::default())
}

#[test]
fn er_ratio_reproduces_paper_84_assignment() {
    // 20.08/0.62 = 32.39 → 32; 20.48/0.62 = 33.03 → 33; 17.61/0.62 = 28.40 → 28;
    // 22.44/0.62 = 36.19 → 36; 20.39/0.62 = 32.89 → 33; 20.98/0.62 = 33.84 → 34;
    // 20.29/0.62 = 32.73 → 33; 19.36/0.62 = 31.23 → 31.
    let d = er_ratio()
        .decide(&paper(), Inputs { er: Some(&PAPER_ER), steps: None })
        .expect("paper ER is valid");
    assert_eq!(d.k_layers, vec![32, 33, 28, 36, 33, 34, 33, 31]);
    assert_eq!(d.k_embed, 32);
    // Σ K = 260: 4,096·260 + 15,263·32 = 1,553,376 (the paper's adaptive row).
    assert_eq!(d.params(), 1_553_376);
    assert_eq!(d.explanation.mean_k, 32.5);
    let r = d.explanation.reference.as_ref().expect("er_ratio compares with uniform K_e");
    assert_eq!((r.k, r.params, r.diff_params), (32, 1_536_992, 16_384));
    let text = d.explanation.to_string();
    assert!(text.contains("layer 2: ER 17.61 / 0.62 = 28.40 → round = 28"), "{text}");
    assert!(text.contains("trainable params: 1,553,376"), "{text}");
    assert!(text.contains("difference +16,384 (+1.07%)"), "{text}");
    let json = serde_json::to_value(&d.explanation).expect("serialises");
    assert_eq!(json["params"], 1_553_376);
    assert_eq!(json["policy"]["policy"], "er_ratio");
    assert_eq!(json["policy"]["ratio"], 0.62);
}

#[test]
fn rounding_modes_and_multiples() {
    let arch = paper();
    let er = [20.08; 8]; // 20.08 / 0.62 = 32.39
    let run = |r: ErRatio| r.decide(&arch, &er).expect("valid").k_layers[0];
    assert_eq!(run(ErRatio { rounding: Rounding::Floor, ..ErRatio::default() }), 32);
    assert_eq!(run(ErRatio { rounding: Rounding::Ceil, ..ErRatio::default() }), 33);
    // 32.39 / 8 = 4.05 → 4 → 32; with ceil → 5 → 40.
    assert_eq!(run(ErRatio { multiple_of: 8, ..ErRatio::default() }), 32);
    assert_eq!(run(ErRatio { multiple_of: 8, rounding: Rounding::Ceil, ..ErRatio::default() }), 40);
    // Halves round away from zero: ER 20.15 / 0.62 = 32.5 → 33 (20.15 = 0.62 · 32.5 exactly
    // in decimal; f64 gives 32.499999… or 32.5, so use ratio 1 and ER 32.5 to be exact).
    let half = ErRatio { ratio: 1.0, ..ErRatio::default() };
    assert_eq!(half.decide(&arch, &[32.5; 8]).expect("valid").k_layers[0], 33);
    // Clamps: min 30, max 34.
    let clamped = ErRatio { min_k: 30, max_k: Some(34), ..ErRatio::default() };
    let d = clamped.decide(&arch, &PAPER_ER).expect("valid");
    assert_eq!(d.k_layers, vec![32, 33, 30, 34, 33, 34, 33, 31]);
    assert!(d.explanation.to_string().contains("raised to the minimum 30"));
}

#[test]
fn budget_matched_on_paper_er_is_exactly_on_budget() {
    let arch = paper();
    let p = Policy::BudgetMatched(BudgetMatched {
        reference_k: 32,
        k_embed: None,
        min_k: 1,
        max_k: None,
    });
    let d = p.decide(&arch, Inputs { er: Some(&PAPER_ER), steps: None }).expect("valid");
    // 256 seats; quotas 256·ER_l/161.63: 31.80, 32.44, 27.89, 35.54, 32.30, 33.23, 32.14, 30.66.
    // Nearest-integer rounding sums to 32+32+28+36+32+33+32+31 = 256 exactly, and no other
    // monotone vector with 256 seats is closer in squared distance.
    assert_eq!(d.k_layers, vec![32, 32, 28, 36, 32, 33, 32, 31]);
    assert_eq!(d.params(), 1_536_992);
    assert_eq!(d.explanation.reference.as_ref().map(|r| r.diff_params), Some(0));
}

#[test]
fn step_budget_boundaries() {
    // Half-open bands [0,10) → 8, [10,30) → 32, [30,60) → 64, [60,∞) → 2.
    let arch = paper();
    let p = Policy::StepBudget(StepBudget::default());
    for (steps, k) in
        [(0, 8), (9, 8), (10, 32), (29, 32), (30, 64), (40, 64), (59, 64), (60, 2), (1000, 2)]
    {
        let d = p.decide(&arch, Inputs { er: None, steps: Some(steps) }).expect("valid");
        assert_eq!(d.k_layers, vec![k; 8], "{steps} steps");
        assert_eq!(d.k_embed, k, "{steps} steps");
    }
    let d = p.decide(&arch, Inputs { er: None, steps: Some(30) }).expect("valid");
    assert!(d.explanation.to_string().contains("steps [30, 60) → K = 64  ← chosen"));
}

#[test]
fn policies_parse_from_toml_and_json_and_reject_unknown_keys() {
    let toml_text = r#"
        policy = "er_ratio"
        ratio = 0.62
        rounding = "floor"
        min_k = 4
        multiple_of = 2
    "#;
    let p: Policy = toml::from_str(toml_text).expect("valid TOML policy");
    let Policy::ErRatio(r) = &p else { panic!("parsed {p:?}") };
    assert_eq!((r.rounding, r.min_k, r.multiple_of, r.k_embed), (Rounding::Floor, 4, 2, 32));
    let p: Policy = serde_json::from_str(r#"{"policy":"budget_matched","reference_k":16}"#)
        .expect("valid JSON policy");
    assert!(matches!(p, Policy::BudgetMatched(BudgetMatched { reference_k: 16, .. })));
    let p: Policy =
        toml::from_str("policy = \"step_budget\"").expect("table defaults to the paper's");
    assert_eq!(p, Policy::StepBudget(StepBudget::default()));
    let err = toml::from_str::<Policy>("policy = \"er_ratio\"\nratoi = 0.5").expect_err("typo");
    assert!(err.to_string().contains("ratoi"), "{err}");
    let err = serde_json::from_str::<Policy>(r#"{"policy":"uniform","k":8,"extra":1}"#)
        .expect_err("unknown key");
    assert!(err.to_string().contains("extra"), "{err}");
    let err = serde_json::from_str::<Policy>(r#"{"policy":"magic"}"#).expect_err("unknown policy");
    assert!(err.to_string().contains("magic"), "{err}");
    // Round trip: an explanation's policy parses back to the same policy.
    let json = serde_json::to_string(&er_ratio()).expect("serialises");
    assert_eq!(serde_json::from_str::<Policy>(&json).expect("round trip"), er_ratio());
    let s: Schedule = toml::from_str("schedule = \"grow\"").expect("grow defaults");
    assert_eq!(s, Schedule::Grow(policy::Grow { ks: vec![8, 16, 32, 64] }));
    let err = toml::from_str::<Schedule>("schedule = \"er_tracking\"\nevry = 5").expect_err("typo");
    assert!(err.to_string().contains("evry"), "{err}");
}

fn err_of(p: &Policy, er: Option<&[f64]>, steps: Option<u64>) -> String {
    p.decide(&paper(), Inputs { er, steps }).expect_err("bad input must fail").to_string()
}

#[test]
fn bad_input_names_problem_and_fix() {
    let bad_ratio = Policy::ErRatio(ErRatio { ratio: 0.0, ..ErRatio::default() });
    assert!(
        err_of(&bad_ratio, Some(&PAPER_ER), None).contains("ratio = 0 must be a finite number > 0")
    );
    let neg = Policy::ErRatio(ErRatio { ratio: -1.0, ..ErRatio::default() });
    assert!(err_of(&neg, Some(&PAPER_ER), None).contains("ratio = -1"));
    let mut er = PAPER_ER;
    er[3] = f64::NAN;
    let e = err_of(&er_ratio(), Some(&er), None);
    assert!(e.contains("ER of layer 3 is NaN") && e.contains("check the measurement"), "{e}");
    er[3] = -2.0;
    assert!(err_of(&er_ratio(), Some(&er), None).contains("ER of layer 3 is -2"));
    let e = err_of(&er_ratio(), Some(&PAPER_ER[..7]), None);
    assert!(e.contains("got 7 ER values but the model has 8 layers; give one ER per layer"), "{e}");
    let e = err_of(&er_ratio(), None, None);
    assert!(e.contains("pass --er"), "{e}");
    let mm = Policy::ErRatio(ErRatio { min_k: 40, max_k: Some(30), ..ErRatio::default() });
    assert!(
        err_of(&mm, Some(&PAPER_ER), None)
            .contains("min_k = 40 is larger than max_k = 30; set min_k ≤ max_k")
    );
    let zero = Policy::Uniform(Uniform { k: 0, k_embed: None });
    assert!(err_of(&zero, None, None).contains("K = 0"));
    let big = Policy::Uniform(Uniform { k: 300, k_embed: None });
    assert!(err_of(&big, None, None).contains("exceeds min(d_in, d_out) = 256"));
    let big_max = Policy::ErRatio(ErRatio { max_k: Some(512), ..ErRatio::default() });
    let e = err_of(&big_max, Some(&PAPER_ER), None);
    assert!(e.contains("K = 512 for max_k"), "{e}");
    let zero_min = Policy::ErRatio(ErRatio { min_k: 0, ..ErRatio::default() });
    assert!(err_of(&zero_min, Some(&PAPER_ER), None).contains("K = 0 for min_k"));
    // Budget too small: uniform K=1 pays 8·4,096 + 15,263 = 48,031; K_e = 64 alone costs 976,832.
    let small = Policy::BudgetMatched(BudgetMatched {
        reference_k: 1,
        k_embed: Some(64),
        min_k: 1,
        max_k: None,
    });
    let e = err_of(&small, Some(&PAPER_ER), None);
    assert!(e.contains("budget of 48,031") || e.contains("budget of 48031"), "{e}");
    assert!(e.contains("raise reference_k, or lower k_embed or min_k"), "{e}");
    let zero_ref = Policy::BudgetMatched(BudgetMatched {
        reference_k: 0,
        k_embed: None,
        min_k: 1,
        max_k: None,
    });
    assert!(err_of(&zero_ref, Some(&PAPER_ER), None).contains("K = 0 for reference_k"));
    let e = err_of(&Policy::StepBudget(StepBudget::default()), None, None);
    assert!(e.contains("pass --steps N"), "{e}");
    let gap =
        Policy::StepBudget(StepBudget { table: vec![policy::StepBand { from_steps: 5, k: 8 }] });
    assert!(err_of(&gap, None, Some(3)).contains("starts at 5 steps, not 0"));
}

#[test]
fn paper_schedules_hit_their_ks_at_their_steps() {
    let arch = paper();
    let grow =
        Schedule::Grow(policy::Grow { ks: vec![8, 16, 32, 64] }).plan(&arch, 40).expect("valid");
    // 0, 25, 50, 75% of 40 steps = steps 0, 10, 20, 30.
    let steps: Vec<u64> = grow.change_points().iter().map(|c| c.step).collect();
    assert_eq!(steps, vec![0, 10, 20, 30]);
    for (step, k) in [(0, 8), (9, 8), (10, 16), (19, 16), (20, 32), (29, 32), (30, 64), (39, 64)] {
        assert_eq!(grow.k_at(step), (vec![k; 8], k), "grow at {step}");
    }
    let shrink = Schedule::Shrink(policy::Shrink { ks: vec![64, 32, 16, 8] })
        .plan(&arch, 40)
        .expect("valid");
    for (step, k) in [(0, 64), (10, 32), (20, 16), (30, 8), (39, 8)] {
        assert_eq!(shrink.k_at(step), (vec![k; 8], k), "shrink at {step}");
    }
    let e = Schedule::Grow(policy::Grow { ks: vec![8, 8] })
        .plan(&arch, 40)
        .expect_err("not increasing");
    assert!(e.to_string().contains("not strictly increasing"), "{e}");
    let e = Schedule::Grow(policy::Grow { ks: vec![8, 16, 32, 64] })
        .plan(&arch, 2)
        .expect_err("collide");
    assert!(e.to_string().contains("use more steps"), "{e}");
    // General form, mixing a fraction (0.5 of 40 = step 20) and an absolute step.
    let pts = vec![
        policy::SchedulePoint { step: None, fraction: Some(0.0), k: 64 },
        policy::SchedulePoint { step: None, fraction: Some(0.5), k: 8 },
        policy::SchedulePoint { step: Some(35), fraction: None, k: 2 },
    ];
    let pw = Schedule::Piecewise(policy::Piecewise { points: pts }).plan(&arch, 40).expect("valid");
    let steps: Vec<u64> = pw.change_points().iter().map(|c| c.step).collect();
    assert_eq!(steps, vec![0, 20, 35]);
    assert_eq!(pw.k_at(19).1, 64);
    assert_eq!(pw.k_at(20).1, 8);
    assert_eq!(pw.k_at(35).1, 2);
    let both = vec![policy::SchedulePoint { step: Some(0), fraction: Some(0.0), k: 8 }];
    let e =
        Schedule::Piecewise(policy::Piecewise { points: both }).plan(&arch, 40).expect_err("both");
    assert!(e.to_string().contains("exactly one of `step` or `fraction`"), "{e}");
    let late = vec![
        policy::SchedulePoint { step: Some(0), fraction: None, k: 8 },
        policy::SchedulePoint { step: Some(40), fraction: None, k: 16 },
    ];
    let e =
        Schedule::Piecewise(policy::Piecewise { points: late }).plan(&arch, 40).expect_err("late");
    assert!(e.to_string().contains("past the 40-step run"), "{e}");
    let e = Schedule::Fixed(policy::Fixed { k: 64 }).plan(&arch, 0).expect_err("zero steps");
    assert!(matches!(e, PolicyError::ZeroSteps));
}

#[test]
fn er_tracking_redecides_every_n_steps() {
    let arch = paper();
    let cfg = ErTracking { every: 10, initial_k: None, rule: ErRatio::default() };
    let Plan::Tracking(mut t) = Schedule::ErTracking(cfg).plan(&arch, 40).expect("valid") else {
        panic!("er_tracking plans a tracker")
    };
    assert_eq!(t.decision_steps(), vec![0, 10, 20, 30]);
    let d0 = t.decide(0, &PAPER_ER).expect("step 0");
    assert_eq!(d0.k_layers, vec![32, 33, 28, 36, 33, 34, 33, 31]);
    // ER doubles at step 10: 2·20.08/0.62 = 64.77 → 65 etc.
    let doubled: Vec<f64> = PAPER_ER.iter().map(|e| 2.0 * e).collect();
    let d1 = t.decide(10, &doubled).expect("step 10");
    assert_eq!(d1.k_layers[0], 65);
    assert_eq!(t.k_at(9).0, d0.k_layers);
    assert_eq!(t.k_at(10).0, d1.k_layers);
    let e = t.decide(15, &PAPER_ER).expect_err("not a decision step");
    assert!(e.to_string().contains("not an ER-tracking decision step"), "{e}");
    let e = t.decide(10, &PAPER_ER).expect_err("repeat");
    assert!(e.to_string().contains("not after the last decision"), "{e}");
    let e = t.decide(20, &PAPER_ER[..3]).expect_err("short ER");
    assert!(e.to_string().contains("give one ER per layer"), "{e}");
    let with_initial = ErTracking { every: 10, initial_k: Some(32), rule: ErRatio::default() };
    let Plan::Tracking(t) = Schedule::ErTracking(with_initial).plan(&arch, 40).expect("valid")
    else {
        panic!("tracker")
    };
    assert_eq!(t.decision_steps(), vec![10, 20, 30]);
    assert_eq!(t.k_at(0), (vec![32; 8], 32));
    let zero = ErTracking { every: 0, initial_k: None, rule: ErRatio::default() };
    assert!(matches!(Schedule::ErTracking(zero).plan(&arch, 40), Err(PolicyError::ZeroEvery)));
}

/// ER lists for an architecture with `n` layers: values in [1, 60], some forced ties.
fn er_lists(n: usize) -> impl Strategy<Value = Vec<f64>> {
    (prop::collection::vec(1.0f64..60.0, n), prop::collection::vec(0usize..n, 0..3)).prop_map(
        |(mut er, ties)| {
            for t in ties {
                er[t] = er[0];
            }
            er
        },
    )
}

fn small_arch(n_layers: usize) -> Architecture {
    Architecture { n_layers, ..Architecture::paper() }
}

/// Monotone in ER and equal for equal ER.
fn assert_order(er: &[f64], k: &[usize]) -> Result<(), TestCaseError> {
    for i in 0..er.len() {
        for j in 0..er.len() {
            if er[i] < er[j] {
                prop_assert!(k[i] <= k[j], "ER {} < {} but K {} > {}", er[i], er[j], k[i], k[j]);
            }
            if er[i] == er[j] {
                prop_assert_eq!(k[i], k[j], "equal ER {} got K {} and {}", er[i], k[i], k[j]);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn budget_matched_never_exceeds_and_is_within_one_unit(
        (n, er, reference_k) in (1usize..=8).prop_flat_map(|n| (Just(n), er_lists(n), 1usize..=48))
    ) {
        let arch = small_arch(n);
        let p = BudgetMatched { reference_k, k_embed: None, min_k: 1, max_k: None };
        let budget = p.budget(&arch).expect("valid reference");
        let d = p.decide(&arch, &er).expect("feasible");
        prop_assert!(d.params() <= budget);
        prop_assert!(budget - d.params() < arch.layer_unit_cost(), "{} vs {budget}", d.params());
        prop_assert_eq!(d.params(), arch.trainable_params(&d.k_layers, d.k_embed));
        assert_order(&er, &d.k_layers)?;
    }

    #[test]
    fn budget_matched_with_other_k_embed_never_exceeds(
        (n, er, reference_k, k_embed) in (1usize..=6).prop_flat_map(|n| (Just(n), er_lists(n), 8usize..=40, 1usize..=8))
    ) {
        let arch = small_arch(n);
        let p = BudgetMatched { reference_k, k_embed: Some(k_embed), min_k: 1, max_k: None };
        let budget = p.budget(&arch).expect("valid reference");
        let d = p.decide(&arch, &er).expect("feasible");
        prop_assert!(d.params() <= budget);
        assert_order(&er, &d.k_layers)?;
    }

    #[test]
    fn er_ratio_is_monotone_and_clamped(
        (n, er, min_k, span, multiple_of) in (1usize..=8).prop_flat_map(|n| (Just(n), er_lists(n), 1usize..40, 0usize..60, 1usize..=4))
    ) {
        let arch = small_arch(n);
        let max_k = min_k + span + multiple_of; // leaves at least one multiple in range
        let r = ErRatio { min_k, max_k: Some(max_k.min(256)), multiple_of, ..ErRatio::default() };
        match r.decide(&arch, &er) {
            Ok(d) => {
                for &k in &d.k_layers {
                    prop_assert!(k >= min_k && k <= max_k.min(256), "K {k} outside [{min_k}, {max_k}]");
                    prop_assert_eq!(k % multiple_of, 0);
                }
                assert_order(&er, &d.k_layers)?;
            }
            Err(e) => prop_assert!(matches!(e, PolicyError::NoMultipleInRange { .. }), "{e}"),
        }
    }

    #[test]
    fn piecewise_schedules_are_piecewise_constant(
        (total, raw) in (4u64..200).prop_flat_map(|t| (Just(t), prop::collection::btree_map(1u64..t, 1usize..=64, 0..5)))
    ) {
        let arch = paper();
        let mut points = vec![policy::SchedulePoint { step: Some(0), fraction: None, k: 8 }];
        points.extend(raw.iter().map(|(&s, &k)| policy::SchedulePoint { step: Some(s), fraction: None, k }));
        let plan = Schedule::Piecewise(policy::Piecewise { points: points.clone() }).plan(&arch, total).expect("valid");
        // Each stated K holds from its step until the next point, and only changes there.
        for (i, p) in points.iter().enumerate() {
            let start = p.step.unwrap_or(0);
            let end = points.get(i + 1).and_then(|q| q.step).unwrap_or(total);
            for s in start..end {
                prop_assert_eq!(plan.k_at(s), (vec![p.k; 8], p.k));
            }
        }
    }
}
