//! Integration tests of the orchestrator with the fake executor: spec loading and errors, ids
//! and sharing, resume, the lock, determinism.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use pipeline::plan::{Plan, Target};
use pipeline::request::content_id;
use pipeline::testing::{FailMode, FakeExecutor};
use pipeline::{
    DataIdentity, PipelineError, PipelineOptions, ProfileRef, RoundRatio, StoreLock, Study,
    run_pipeline, summarize,
};
use records::RunRecord;

fn experiments() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

fn smoke() -> Study {
    Study::load(&experiments(), &ProfileRef::Named("smoke".into())).expect("smoke profile loads")
}

fn data() -> DataIdentity {
    DataIdentity { corpus: "c".into(), corpus_hash: "h1".into(), tokenizer_hash: "t1".into() }
}

fn all_papers() -> Vec<u32> {
    vec![81, 82, 83, 84]
}

fn options(store: &Path, seeds: usize) -> PipelineOptions {
    PipelineOptions {
        store: store.to_path_buf(),
        papers: all_papers(),
        seeds: Some(seeds),
        jobs: 1,
        force: false,
        show_progress: false,
        device: "cpu".into(),
        threads: 1,
    }
}

/// Run id of a paper's scheme at a seed, for a plan whose runs are all known (no deferred).
fn id_of(plan: &Plan, paper: u32, scheme: &str, seed: u64) -> (String, usize) {
    let e = plan
        .entries
        .iter()
        .find(|e| e.paper == paper && e.scheme == scheme && e.seed == seed)
        .unwrap_or_else(|| panic!("no entry {paper}/{scheme}/{seed}"));
    match e.target {
        Target::Adapt(i) => (plan.adapt[i].run_id.clone(), e.at_step),
        Target::Base(i) => (plan.bases[i].run_id.clone(), e.at_step),
        Target::Deferred(d) => (format!("deferred-{d}"), e.at_step),
    }
}

#[test]
fn both_profiles_load_with_their_ranks() {
    let paper = Study::load(&experiments(), &ProfileRef::Named("paper".into())).expect("paper");
    assert_eq!(paper.profile.arch, modelspec::Architecture::paper());
    assert_eq!((paper.profile.train.batch_size, paper.profile.train.context), (8, 128));
    assert_eq!(paper.p82.ks.iter().map(|k| k.1).collect::<Vec<_>>(), vec![2, 4, 8, 16, 32, 64]);
    assert_eq!(paper.p85.wide_arch.d_model, 512);
    let s = smoke();
    // rank_divisor = 2 halves every rank.
    assert_eq!(s.p82.ks.iter().map(|k| k.1).collect::<Vec<_>>(), vec![1, 2, 4, 8, 16, 32]);
    assert_eq!(s.p84.adaptive.k_embed, 16);
    // Grow 8→16→32→64 at 0/25/50/75% of 40 steps, halved.
    assert_eq!(s.p81.schedules[0].phases, vec![(0, 4), (10, 8), (20, 16), (30, 32)]);
}

#[test]
fn planning_is_stable_and_shares_runs() {
    let s = smoke();
    let store = Path::new("/store");
    let a = Plan::new(&s, &all_papers(), &[0, 1], &data(), store).expect("plan");
    let b = Plan::new(&s, &all_papers(), &[0, 1], &data(), store).expect("plan");
    assert_eq!(a, b, "same spec → same plan and ids");

    for seed in [0, 1] {
        // Paper 83's K=32 is Paper 84's uniform_32; K=64 is also Paper 81's fixed_64.
        assert_eq!(id_of(&a, 83, "uniform_32", seed), id_of(&a, 84, "uniform_32", seed));
        assert_eq!(id_of(&a, 83, "uniform_64", seed), id_of(&a, 84, "uniform_64", seed));
        assert_eq!(id_of(&a, 81, "fixed_64", seed).0, id_of(&a, 84, "uniform_64", seed).0);
        // Paper 82: steps = max(1, round(m·B0/params(K))), B0 = params(8)·40. Params are
        // proportional to K for uniform ranks, so steps = round(m·8·40/K):
        // K=8 → 40, 80, 160; K=2 → 160, 320, 640; K=64 → 5, 10, 20.
        let k8: Vec<_> =
            [1, 2, 4].iter().map(|m| id_of(&a, 82, &format!("k8_budget{m}"), seed)).collect();
        assert_eq!(k8.iter().map(|x| x.1).collect::<Vec<_>>(), vec![40, 80, 160]);
        assert!(k8.iter().all(|x| x.0 == k8[0].0), "budgets are prefixes of one run");
        // Paper 84's uniform_8 and Paper 81's fixed_8 read the same 160-step run at step 40.
        assert_eq!(id_of(&a, 84, "uniform_8", seed), (k8[0].0.clone(), 40));
        assert_eq!(id_of(&a, 81, "fixed_8", seed), (k8[0].0.clone(), 40));
        let k2: Vec<_> =
            [1, 2, 4].iter().map(|m| id_of(&a, 82, &format!("k2_budget{m}"), seed).1).collect();
        assert_eq!(k2, vec![160, 320, 640]);
        let k64: Vec<_> =
            [1, 2, 4].iter().map(|m| id_of(&a, 82, &format!("k64_budget{m}"), seed)).collect();
        assert_eq!(k64.iter().map(|x| x.1).collect::<Vec<_>>(), vec![5, 10, 20]);
        assert_eq!(k64[0].0, id_of(&a, 84, "uniform_64", seed).0);
    }
    // Seeds are different runs.
    assert_ne!(id_of(&a, 84, "uniform_32", 0).0, id_of(&a, 84, "uniform_32", 1).0);
    // The shared 160-step run is evaluated at every step any paper reads.
    let (id8, _) = id_of(&a, 82, "k8_budget1", 0);
    let r8 = a.adapt.iter().find(|r| r.run_id == id8).expect("k8 run");
    assert_eq!(r8.spec.steps, 160);
    for s in [0, 40, 80, 160] {
        assert!(r8.spec.eval_steps.contains(&s), "{s}");
    }

    // Requested versus distinct steps, one seed (smoke base 200 steps):
    // requested = base 200 + P83 2·40 + P84 5·40 + P82 Σ_K Σ_m + P81 5·40, where P82 is
    // 1120 (K2) + 560 (K4) + 280 (K8) + 140 (K16) + 70 (K32) + 35 (K64) = 2205 → 2885;
    // distinct = base 200 + trajectories K2 640, K4 320, K8 160, K16 80, K32 40, K64 40,
    // grow 40, shrink 40 + deferred adaptive 40, er_tracking 40 = 1640.
    let one = Plan::new(&s, &all_papers(), &[0], &data(), store).expect("plan");
    assert_eq!(one.steps_requested, 2885);
    assert_eq!(one.distinct_steps(), 1640);
    let listing = one.describe();
    assert!(listing.contains("p82:k8_budget4@160"), "{listing}");
    assert!(listing.contains("11 runs, 1640 steps to train for 2885 steps requested"), "{listing}");

    // The paper profile: the same with a 1,200-step base: 1,200 + 2,685 = 3,885 requested,
    // 1,200 + 1,440 = 2,640 trained. Paper 85 adds its wide base (1,200) and four 40-step reads
    // (requested +1,360) of which only the two wide runs are new (trained +1,280).
    let paper = Study::load(&experiments(), &ProfileRef::Named("paper".into())).expect("paper");
    let p = Plan::new(&paper, &all_papers(), &[0], &data(), store).expect("plan");
    assert_eq!((p.steps_requested, p.distinct_steps()), (3885, 2640));
    let p = Plan::new(&paper, &[81, 82, 83, 84, 85], &[0], &data(), store).expect("plan");
    assert_eq!((p.steps_requested, p.distinct_steps()), (3885 + 1360, 2640 + 1280));
}

#[test]
fn every_input_of_a_run_changes_its_id() {
    let s = smoke();
    let store = Path::new("/store");
    let base = Plan::new(&s, &all_papers(), &[0], &data(), store).expect("plan");
    let (id32, _) = id_of(&base, 84, "uniform_32", 0);
    let req = base.adapt.iter().find(|r| r.run_id == id32).expect("run");
    assert_eq!(content_id(&req.spec), req.run_id);

    // Each field of the spec, changed alone, changes the id.
    type Mutation = Box<dyn Fn(&mut pipeline::AdaptSpec)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("code_version", Box::new(|x| x.code_version.push('+'))),
        ("arch", Box::new(|x| x.arch.max_context += 1)),
        ("adapter k", Box::new(|x| x.adapter.k_layers[0] += 1)),
        ("adapter alpha", Box::new(|x| x.adapter.alpha *= 2.0)),
        ("schedule", Box::new(|x| x.schedule = pipeline::RankSchedule::Phases(vec![]))),
        ("lr", Box::new(|x| x.train.lr *= 1.5)),
        ("betas", Box::new(|x| x.train.betas.1 = 0.99)),
        ("steps", Box::new(|x| x.steps += 1)),
        ("eval_steps", Box::new(|x| x.eval_steps.push(7))),
        ("er_steps", Box::new(|x| x.measure.er_steps.push(7))),
        ("convention", Box::new(|x| x.measure.convention = "sigma2".into())),
        ("measurement batch", Box::new(|x| x.measure.measurement_sequences += 1)),
        ("seed", Box::new(|x| x.seed += 1)),
        ("corpus hash", Box::new(|x| x.data.data.corpus_hash.push('x'))),
        ("tokenizer hash", Box::new(|x| x.data.data.tokenizer_hash.push('x'))),
        ("split", Box::new(|x| x.data.data.split = "pretrain".into())),
        ("eval set", Box::new(|x| x.data.eval_sequences += 1)),
        ("base", Box::new(|x| x.base_run_id.push('x'))),
    ];
    let mut seen = BTreeSet::from([req.run_id.clone()]);
    for (what, m) in &mutations {
        let mut spec = req.spec.clone();
        m(&mut spec);
        assert!(seen.insert(content_id(&spec)), "changing {what} must change the id");
    }

    // Changing the profile or the data changes ids through the plan, including the base's,
    // and a new base changes every adapted run.
    let mut s2 = smoke();
    s2.profile.base_steps += 1;
    let p2 = Plan::new(&s2, &all_papers(), &[0], &data(), store).expect("plan");
    assert_ne!(p2.bases[0].run_id, base.bases[0].run_id);
    let old: BTreeSet<_> = base.adapt.iter().map(|r| r.run_id.clone()).collect();
    assert!(p2.adapt.iter().all(|r| !old.contains(&r.run_id)), "new base → new adapted runs");
    let mut d = data();
    d.tokenizer_hash = "t2".into();
    let p3 = Plan::new(&s, &all_papers(), &[0], &d, store).expect("plan");
    assert_ne!(p3.bases[0].run_id, base.bases[0].run_id);
    // Paths do not enter ids.
    let p4 = Plan::new(&s, &all_papers(), &[0], &data(), Path::new("/elsewhere")).expect("plan");
    assert_eq!(p4.bases[0].run_id, base.bases[0].run_id);
    assert_eq!(p4.adapt[0].run_id, base.adapt[0].run_id);
}

fn records_of(store: &Path) -> BTreeMap<String, RunRecord> {
    records::read_records(store).expect("records")
}

#[test]
fn the_pipeline_twice_gives_identical_records_and_reuses_everything() {
    let s = smoke();
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeExecutor::new();
    let first = run_pipeline(&s, &options(dir.path(), 2), &fake, &RoundRatio).expect("first run");
    // 1 base + 2 seeds × (8 trajectories + 2 deferred).
    assert_eq!(first.runs_computed, 21);
    assert_eq!(first.runs_reused, 0);
    assert_eq!(first.manifest.steps_trained, 200 + 2 * 1440);
    assert_eq!(first.manifest.steps_requested, 200 + 2 * 2685);
    assert_eq!(first.steps_trained_now, first.manifest.steps_trained);
    let recs1 = records_of(dir.path());
    assert_eq!(recs1.len(), 21);
    // Every manifest entry points at a record that has the step it reads.
    for p in &first.manifest.papers {
        for e in &p.entries {
            let r = recs1.get(&e.run_id).expect("entry's record exists");
            assert!(r.eval_at(e.at_step).is_some(), "{} at {}", e.scheme, e.at_step);
        }
    }

    // Second invocation: nothing trained.
    let again = FakeExecutor::new();
    let second = run_pipeline(&s, &options(dir.path(), 2), &again, &RoundRatio).expect("second");
    assert_eq!((second.runs_computed, second.runs_reused, second.steps_trained_now), (0, 21, 0));
    assert!(again.calls().is_empty());
    assert_eq!(second.manifest, first.manifest, "the manifest is stable across resumes");

    // Forced recomputation and a fresh store with 3 jobs give the same records but timings.
    let forced = FakeExecutor::new();
    let mut o = options(dir.path(), 2);
    o.force = true;
    let third = run_pipeline(&s, &o, &forced, &RoundRatio).expect("forced");
    assert_eq!(third.runs_computed, 21);
    let other = tempfile::tempdir().expect("tempdir");
    let mut o = options(other.path(), 2);
    o.jobs = 3;
    run_pipeline(&s, &o, &FakeExecutor::new(), &RoundRatio).expect("parallel");
    for recs in [records_of(dir.path()), records_of(other.path())] {
        assert_eq!(recs.len(), recs1.len());
        for (id, r) in &recs {
            assert_eq!(r.without_timings(), recs1[id].without_timings(), "{id}");
        }
    }
    let text = summarize(dir.path()).expect("summary");
    for needle in [
        "Paper 81",
        "Paper 82",
        "Paper 83",
        "Paper 84",
        "adaptive",
        "k2_budget4",
        "natural ER per layer",
        "steps trained",
    ] {
        assert!(text.contains(needle), "summary lacks {needle}:\n{text}");
    }
}

#[test]
fn adaptive_ranks_come_from_paper_83s_measured_er() {
    let s = smoke();
    let dir = tempfile::tempdir().expect("tempdir");
    let out =
        run_pipeline(&s, &options(dir.path(), 1), &FakeExecutor::new(), &RoundRatio).expect("run");
    let recs = records_of(dir.path());
    let entry = |paper: u32, scheme: &str| {
        let p = out.manifest.papers.iter().find(|p| p.paper == paper).expect("paper");
        let e = p.entries.iter().find(|e| e.scheme == scheme).expect("scheme");
        recs[&e.run_id].clone()
    };
    let source = entry(83, "uniform_32");
    let adaptive = entry(84, "adaptive");
    let ad = adaptive.adapter.clone().expect("adapter");
    // Recompute: per layer, mean natural ER over its four matrices and steps 0..40, then
    // round(ER / 0.62) clamped to the smoke model's largest rank (32).
    for (l, &k) in ad.k_layers.iter().enumerate() {
        let v: Vec<f64> = source
            .er
            .iter()
            .filter(|e| e.kind == records::GradKind::Natural && e.layer == Some(l))
            .map(|e| e.effective_rank)
            .collect();
        assert_eq!(v.len(), 4 * 5);
        let er = v.iter().sum::<f64>() / v.len() as f64;
        assert_eq!(k, ((er / 0.62).round() as usize).clamp(1, 32));
    }
    assert_eq!(ad.k_embed, 16);
    let tracking = entry(81, "er_tracking");
    assert_eq!(tracking.schedule.first().map(|c| c.step), Some(0));
    assert!(tracking.schedule.len() >= 2);
}

#[test]
fn resume_after_a_failing_or_panicking_run_computes_only_the_missing_runs() {
    let s = smoke();
    for mode in [FailMode::Error, FailMode::Panic] {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeExecutor::new();
        fake.fail_on("uniform_16", mode);
        let err = run_pipeline(&s, &options(dir.path(), 1), &fake, &RoundRatio)
            .expect_err("the injected failure stops the pipeline");
        assert!(matches!(err, PipelineError::Run { .. }), "{err}");
        assert!(err.to_string().contains("uniform_16"), "{err}");
        assert!(err.to_string().contains("run again"), "{err}");
        let done_first: BTreeSet<String> = records_of(dir.path()).keys().cloned().collect();
        assert!(!done_first.is_empty());
        // The failed run left a partial checkpoint and no record; the lock was released.
        let partial: Vec<_> = fs::read_dir(dir.path().join("checkpoints"))
            .expect("checkpoints")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("partial.ckpt").exists())
            .collect();
        assert_eq!(partial.len(), 1);
        assert!(!dir.path().join(".lock").exists());

        let again = FakeExecutor::new();
        let out = run_pipeline(&s, &options(dir.path(), 1), &again, &RoundRatio).expect("resume");
        assert_eq!(out.runs_reused, done_first.len());
        assert_eq!(out.runs_computed + out.runs_reused, 11);
        assert!(again.calls().contains(&"uniform_16".to_string()));
        // Nothing finished before was computed again, and the partial checkpoint is gone.
        let all = records_of(dir.path());
        assert_eq!(all.len(), 11);
        assert_eq!(again.calls().len(), 11 - done_first.len());
        assert!(!partial[0].path().join("partial.ckpt").exists());
        assert!(partial[0].path().join("adapter.ckpt").exists());
    }
}

#[test]
fn a_deleted_base_checkpoint_recomputes_the_base_only() {
    let s = smoke();
    let dir = tempfile::tempdir().expect("tempdir");
    let out =
        run_pipeline(&s, &options(dir.path(), 1), &FakeExecutor::new(), &RoundRatio).expect("run");
    let base = out.manifest.base_run_id.clone().expect("base id");
    fs::remove_dir_all(dir.path().join("checkpoints").join(&base)).expect("rm");
    let fake = FakeExecutor::new();
    run_pipeline(&s, &options(dir.path(), 1), &fake, &RoundRatio).expect("rerun");
    assert_eq!(fake.calls(), vec!["base".to_string()]);
}

#[test]
fn the_lock_names_its_holder_and_stale_locks_are_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = StoreLock::acquire(dir.path()).expect("first lock");
    let err = StoreLock::acquire(dir.path()).expect_err("second lock must fail");
    let pid = std::process::id().to_string();
    assert!(err.to_string().contains(&format!("locked by process {pid}")), "{err}");
    // The pipeline refuses a locked store too.
    let e = run_pipeline(&smoke(), &options(dir.path(), 1), &FakeExecutor::new(), &RoundRatio)
        .expect_err("locked store");
    assert!(e.to_string().contains(&pid), "{e}");
    drop(held);
    assert!(!dir.path().join(".lock").exists());

    // A lock left by a process that has exited is taken over.
    let child = std::process::Command::new("true").spawn().expect("spawn true");
    let dead = child.id();
    let mut child = child;
    child.wait().expect("wait");
    fs::write(dir.path().join(".lock"), dead.to_string()).expect("write stale lock");
    let lock = StoreLock::acquire(dir.path()).expect("stale lock is taken over");
    assert_eq!(fs::read_to_string(lock.path()).expect("read"), pid);

    // Garbage in the lock file is reported, not overwritten.
    drop(lock);
    fs::write(dir.path().join(".lock"), "not a pid").expect("write");
    let err = StoreLock::acquire(dir.path()).expect_err("bad lock");
    assert!(err.to_string().contains("does not hold a process id"), "{err}");
}

/// A copy of `experiments/` with one file's text replaced.
fn experiments_with(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    for name in [
        "base.toml",
        "p81.toml",
        "p82.toml",
        "p83.toml",
        "p84.toml",
        "p85.toml",
        "profiles/smoke.toml",
        "profiles/paper.toml",
    ] {
        let text = fs::read_to_string(experiments().join(name)).expect("read");
        let text = if name == file { edit(&text) } else { text };
        fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn load_err(dir: &Path) -> String {
    Study::load(dir, &ProfileRef::Named("smoke".into())).expect_err("must fail").to_string()
}

#[test]
fn malformed_specs_name_the_file_the_line_and_the_problem() {
    // Unknown key: reported with file, line and the key. The key goes on line 4 after three
    // lines ("paper", "steps", "uniform_ks") that follow the comment block of p84.toml.
    let d = experiments_with("p84.toml", |t| t.replace("steps = 40\n", "steps = 40\nstpes = 4\n"));
    let e = load_err(d.path());
    let line = fs::read_to_string(d.path().join("p84.toml"))
        .expect("read")
        .lines()
        .position(|l| l.starts_with("stpes"))
        .expect("line")
        + 1;
    assert!(e.contains("p84.toml"), "{e}");
    assert!(e.contains(&format!("line {line}")), "{e}");
    assert!(e.contains("stpes"), "{e}");

    // Missing field.
    let d = experiments_with("p83.toml", |t| t.replace("steps = 40\n", ""));
    let e = load_err(d.path());
    assert!(e.contains("p83.toml") && e.contains("missing field `steps`"), "{e}");

    // Bad value type, with its line.
    let d = experiments_with("profiles/smoke.toml", |t| t.replace("lr = 1e-3", "lr = \"fast\""));
    let e = load_err(d.path());
    assert!(e.contains("smoke.toml") && e.contains("line "), "{e}");

    // K = 0, with the line of the list and the fix.
    let d = experiments_with("p82.toml", |t| t.replace("ks = [2, 4", "ks = [0, 4"));
    let e = load_err(d.path());
    let line = fs::read_to_string(d.path().join("p82.toml"))
        .expect("read")
        .lines()
        .position(|l| l.starts_with("ks ="))
        .expect("line")
        + 1;
    assert!(e.contains("p82.toml") && e.contains(&format!("line {line}")), "{e}");
    assert!(e.contains("K = 0") && e.contains("at least 1"), "{e}");

    // A rank the smoke model cannot hold, and an odd one the divisor cannot halve.
    let d = experiments_with("p83.toml", |t| t.replace("ks = [32, 64]", "ks = [32, 128]"));
    assert!(load_err(d.path()).contains("exceeds the model's largest rank 32"));
    let d = experiments_with("p83.toml", |t| t.replace("ks = [32, 64]", "ks = [33]"));
    assert!(load_err(d.path()).contains("not divisible by the profile's rank_divisor = 2"));

    // A budget multiplier of 0 and a wrong paper number.
    let d = experiments_with("p82.toml", |t| t.replace("[1, 2, 4]", "[0, 2]"));
    assert!(load_err(d.path()).contains("budget_multipliers"));
    let d = experiments_with("p81.toml", |t| t.replace("paper = 81", "paper = 80"));
    assert!(load_err(d.path()).contains("set `paper = 81`"));

    // A vocabulary that does not match the model, and a corpus that is neither default nor paths.
    let d = experiments_with("profiles/smoke.toml", |t| {
        t.replace("vocab_size = 512", "vocab_size = 500")
    });
    assert!(load_err(d.path()).contains("make them equal"));
    let d = experiments_with("profiles/smoke.toml", |t| {
        t.replace("corpus = \"default\"", "corpus = \"mine\"")
    });
    assert!(load_err(d.path()).contains("use \"default\" or list files in `paths`"));
    // User files are resolved relative to the profile.
    let d = experiments_with("profiles/smoke.toml", |t| {
        t.replace("corpus = \"default\"", "paths = [\"texts/a.txt\"]")
    });
    let st = Study::load(d.path(), &ProfileRef::Named("smoke".into())).expect("paths profile");
    assert_eq!(
        st.profile.source,
        pipeline::spec::DataSource::Paths(vec![d.path().join("profiles").join("texts/a.txt")])
    );

    // Unknown preset in a profile.
    let d = experiments_with("profiles/smoke.toml", |t| {
        t.replace("preset = \"smoke\"", "preset = \"huge\"")
    });
    let e = load_err(d.path());
    assert!(e.contains("unknown model preset `huge`") && e.contains("line "), "{e}");
}

#[test]
fn paper_85_adds_a_wide_base_and_probes_shared_runs() {
    let s = smoke();
    let papers = vec![83, 85];
    let plan = Plan::new(&s, &papers, &[0], &data(), Path::new("/s")).expect("plan");
    assert_eq!(plan.bases.len(), 2);
    assert_eq!(plan.bases[1].spec.arch.d_model, 64);
    assert_ne!(plan.bases[0].run_id, plan.bases[1].run_id);
    // Paper 85's K=32 on the profile model is Paper 83's K=32 run, now with the probe.
    assert_eq!(id_of(&plan, 83, "uniform_32", 0).0, id_of(&plan, 85, "k32", 0).0);
    let (wide, _) = id_of(&plan, 85, "wide_k64", 0);
    let r = plan.adapt.iter().find(|r| r.run_id == wide).expect("wide run");
    assert_eq!(r.spec.base_run_id, plan.bases[1].run_id);
    assert_eq!(r.spec.probes.len(), 1);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = options(dir.path(), 1);
    o.papers = papers;
    let out = run_pipeline(&s, &o, &FakeExecutor::new(), &RoundRatio).expect("run");
    let text = summarize(dir.path()).expect("summary");
    assert!(text.contains("factor_grad_var_dirs_17_32"), "{text}");
    assert_eq!(out.runs_computed, 2 + 4);

    // A later invocation for other papers keeps Paper 83 and 85 in the manifest.
    let mut o = options(dir.path(), 1);
    o.papers = vec![84];
    let out = run_pipeline(&s, &o, &FakeExecutor::new(), &RoundRatio).expect("run 84");
    let papers: Vec<u32> = out.manifest.papers.iter().map(|p| p.paper).collect();
    assert_eq!(papers, vec![83, 84, 85]);
    // A different seed count starts a fresh manifest.
    let mut o = options(dir.path(), 2);
    o.papers = vec![84];
    let out = run_pipeline(&s, &o, &FakeExecutor::new(), &RoundRatio).expect("run 84 × 2");
    assert_eq!(out.manifest.papers.iter().map(|p| p.paper).collect::<Vec<_>>(), vec![84]);
}

/// Drops the last evaluation of every adaptation run: a broken executor.
struct DropsAnEval(FakeExecutor);

impl pipeline::Executor for DropsAnEval {
    fn prepare_data(
        &self,
        data: &pipeline::DataSettings,
    ) -> Result<DataIdentity, pipeline::ExecError> {
        self.0.prepare_data(data)
    }
    fn run_base(
        &self,
        req: &pipeline::BaseRequest,
        ctx: &pipeline::RunContext,
        progress: &dyn pipeline::Progress,
    ) -> Result<RunRecord, pipeline::ExecError> {
        self.0.run_base(req, ctx, progress)
    }
    fn run_adapt(
        &self,
        req: &pipeline::AdaptRequest,
        ctx: &pipeline::RunContext,
        progress: &dyn pipeline::Progress,
    ) -> Result<RunRecord, pipeline::ExecError> {
        let mut r = self.0.run_adapt(req, ctx, progress)?;
        r.evals.pop();
        Ok(r)
    }
}

#[test]
fn records_that_do_not_answer_their_request_are_rejected_and_not_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = run_pipeline(
        &smoke(),
        &options(dir.path(), 1),
        &DropsAnEval(FakeExecutor::new()),
        &RoundRatio,
    )
    .expect_err("a record missing an evaluation must be rejected");
    assert!(matches!(err, PipelineError::BadRecord { .. }), "{err}");
    assert!(err.to_string().contains("evaluations at"), "{err}");
    // Only the base was stored.
    assert_eq!(records_of(dir.path()).len(), 1);
}
