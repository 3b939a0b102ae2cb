//! The scheduler: runs a plan's runs in dependency order on `jobs` threads, reusing finished
//! runs, and writes the manifest (issue 6, items 3–5; SPEC §5).
//!
//! Order: base runs first; then trajectories and deferred runs by stage (Paper 83, 84, 82, 81,
//! 85), a deferred run as soon as its source is done. A run found finished in the store is not
//! computed again; any other is reset (its partial checkpoint deleted) and computed. On the
//! first failure no new run starts, running ones finish, and the error names the run; the next
//! invocation computes only what is missing.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use records::{Manifest, ManifestEntry, PaperPlan, RunRecord};

use crate::plan::{Plan, PlanError, STAGE_ORDER, Target};
use crate::progress::Ui;
use crate::request::{AdaptRequest, DataSettings, Executor, RankRule, RunContext};
use crate::spec::{SpecError, Study};
use crate::store::{Store, StoreError, StoreLock};

/// Pipeline errors.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// An experiment file.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Planning.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Preparing the data failed.
    #[error("preparing the data failed: {0}")]
    Data(String),
    /// A run failed (returned an error or panicked).
    #[error(
        "run `{label}` ({run_id}) failed: {message}; fix the cause and run again: finished runs are kept, this one restarts"
    )]
    Run {
        /// Label.
        label: String,
        /// Id.
        run_id: String,
        /// Cause.
        message: String,
    },
    /// The executor returned a record that does not match its request.
    #[error("run `{label}` ({run_id}): the executor's record is inconsistent: {message}")]
    BadRecord {
        /// Label.
        label: String,
        /// Id.
        run_id: String,
        /// What is wrong.
        message: String,
    },
}

/// How to run.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineOptions {
    /// Store folder (`results/<profile>/` by default; the caller decides).
    pub store: PathBuf,
    /// Papers to run.
    pub papers: Vec<u32>,
    /// Seeds (0..n); `None`: the profile's default.
    pub seeds: Option<usize>,
    /// Concurrent runs.
    pub jobs: usize,
    /// Recompute every planned run even if finished.
    pub force: bool,
    /// Draw progress bars on stderr.
    pub show_progress: bool,
    /// Device string passed to the executor (`cpu`, `cuda:0`).
    pub device: String,
    /// Total intra-op threads, divided among the jobs.
    pub threads: usize,
}

/// What an invocation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The manifest written.
    pub manifest: Manifest,
    /// Runs computed by this invocation.
    pub runs_computed: usize,
    /// Runs found finished.
    pub runs_reused: usize,
    /// Steps trained by this invocation.
    pub steps_trained_now: usize,
    /// Wall seconds of this invocation.
    pub wall_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Base(usize),
    Adapt(usize),
    Deferred(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Running,
    Done { run_id: String, computed: bool },
    Failed,
}

struct Sched {
    state: Vec<State>,
    resolved: Vec<Option<AdaptRequest>>,
    error: Option<PipelineError>,
    computed: usize,
    reused: usize,
    steps_now: usize,
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// Checks that an executor's record answers its request.
fn check_record(
    rec: &RunRecord,
    run_id: &str,
    label: &str,
    steps: usize,
    eval_steps: &[usize],
    er_steps: &[usize],
) -> Result<(), PipelineError> {
    let bad = |message: String| PipelineError::BadRecord {
        label: label.to_string(),
        run_id: run_id.to_string(),
        message,
    };
    if rec.run_id != run_id {
        return Err(bad(format!("run_id {} (use the request's record_skeleton())", rec.run_id)));
    }
    if rec.steps.len() != steps {
        return Err(bad(format!("{} step entries for {steps} steps", rec.steps.len())));
    }
    let got: Vec<usize> = rec.evals.iter().map(|e| e.step).collect();
    if got != eval_steps {
        return Err(bad(format!("evaluations at {got:?}, requested {eval_steps:?}")));
    }
    let measured: std::collections::BTreeSet<usize> =
        rec.er.iter().filter(|e| e.kind == records::GradKind::Natural).map(|e| e.step).collect();
    if let Some(missing) = er_steps.iter().find(|s| !measured.contains(s)) {
        return Err(bad(format!("no natural ER at step {missing} (requested {er_steps:?})")));
    }
    Ok(())
}

fn stage_rank(stage: &str) -> usize {
    STAGE_ORDER.iter().position(|p| format!("p{p}") == stage).map_or(STAGE_ORDER.len(), |i| i + 1)
}

/// Prepares the data and expands the study into a plan (no lock, nothing trained).
fn make_plan(
    study: &Study,
    opts: &PipelineOptions,
    exec: &dyn Executor,
    store: &Store,
) -> Result<Plan, PipelineError> {
    let profile = &study.profile;
    let data = exec
        .prepare_data(&DataSettings {
            source: profile.source.clone(),
            vocab_size: profile.vocab_size,
            adapt_fraction: profile.adapt_fraction,
            eval_sequences: profile.eval_sequences,
            measurement_sequences: profile.measurement_sequences,
            context: profile.train.context,
        })
        .map_err(|e| PipelineError::Data(e.to_string()))?;
    let n_seeds = opts.seeds.unwrap_or(profile.seeds);
    let seeds: Vec<u64> = (0..n_seeds as u64).collect();
    Ok(Plan::new(study, &opts.papers, &seeds, &data, store.root())?)
}

/// The runs `run_pipeline` would compute with these options, described one per line (a dry run:
/// the data is prepared, nothing is trained, the store is not touched).
pub fn plan_only(
    study: &Study,
    opts: &PipelineOptions,
    exec: &dyn Executor,
) -> Result<String, PipelineError> {
    Ok(make_plan(study, opts, exec, &Store::new(&opts.store))?.describe())
}

/// Runs the study: plans, computes what is missing, writes records and the manifest.
pub fn run_pipeline(
    study: &Study,
    opts: &PipelineOptions,
    exec: &dyn Executor,
    rule: &dyn RankRule,
) -> Result<Outcome, PipelineError> {
    let started = Instant::now();
    let store = Store::new(&opts.store);
    let _lock = StoreLock::acquire(store.root())?;
    let profile = &study.profile;

    let plan = make_plan(study, opts, exec, &store)?;

    // Nodes in priority order: bases, then by stage; deferred runs after the trajectories of
    // their own stage.
    let mut nodes: Vec<(usize, usize, Node)> = Vec::new();
    for i in 0..plan.bases.len() {
        nodes.push((0, i, Node::Base(i)));
    }
    for (i, st) in plan.adapt_stage.iter().enumerate() {
        nodes.push((stage_rank(st), i, Node::Adapt(i)));
    }
    for (i, d) in plan.deferred.iter().enumerate() {
        nodes.push((stage_rank(&d.stage), plan.adapt.len() + i, Node::Deferred(i)));
    }
    nodes.sort_by_key(|n| (n.0, n.1));
    let nodes: Vec<Node> = nodes.into_iter().map(|n| n.2).collect();
    let index_of = |n: Node| nodes.iter().position(|&m| m == n).unwrap_or(0);
    let deps: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| match *n {
            Node::Base(_) => vec![],
            Node::Adapt(i) => vec![index_of(Node::Base(plan.adapt_base[i]))],
            Node::Deferred(d) => {
                let def = &plan.deferred[d];
                vec![index_of(Node::Base(def.base)), index_of(Node::Adapt(def.source))]
            }
        })
        .collect();
    let steps_of = |n: Node| match n {
        Node::Base(i) => plan.bases[i].spec.steps,
        Node::Adapt(i) => plan.adapt[i].spec.steps,
        Node::Deferred(d) => plan.deferred[d].steps,
    };

    // Steps left to train, for the overall bar and its ETA (deferred runs counted as missing).
    let to_train: usize = nodes
        .iter()
        .filter(|&&n| {
            opts.force
                || match n {
                    Node::Base(i) => store.finished(&plan.bases[i].run_id, true).is_none(),
                    Node::Adapt(i) => store.finished(&plan.adapt[i].run_id, false).is_none(),
                    Node::Deferred(_) => true,
                }
        })
        .map(|&n| steps_of(n))
        .sum();
    let ui = Ui::new(opts.show_progress, to_train as u64, nodes.len());
    ui.println(&format!(
        "profile {} · papers {:?} · seeds {:?} · {} runs ({} distinct steps, {} requested) · store {}",
        profile.name,
        plan.papers,
        plan.seeds,
        nodes.len(),
        plan.distinct_steps(),
        plan.steps_requested,
        store.root().display()
    ));

    let jobs = opts.jobs.max(1);
    let ctx = RunContext { device: opts.device.clone(), threads: (opts.threads / jobs).max(1) };
    let sched = Mutex::new(Sched {
        state: vec![State::Pending; nodes.len()],
        resolved: vec![None; plan.deferred.len()],
        error: None,
        computed: 0,
        reused: 0,
        steps_now: 0,
    });
    let cv = Condvar::new();

    // Computes (or reuses) one node; returns (run id, computed?).
    let execute = |node: Node| -> Result<(String, bool, usize), PipelineError> {
        let (run_id, label, steps, eval_steps, er_steps, needs_ckpt) = match node {
            Node::Base(i) => {
                let b = &plan.bases[i];
                let e = b.spec.eval_steps.clone();
                (b.run_id.clone(), b.label.clone(), b.spec.steps, e, Vec::new(), true)
            }
            Node::Adapt(i) => {
                let a = &plan.adapt[i];
                let (e, m) = (a.spec.eval_steps.clone(), a.spec.measure.er_steps.clone());
                (a.run_id.clone(), a.label.clone(), a.spec.steps, e, m, false)
            }
            Node::Deferred(d) => {
                let def = &plan.deferred[d];
                let src_id = &plan.adapt[def.source].run_id;
                let src = store.finished(src_id, false).ok_or_else(|| PipelineError::Run {
                    label: def.label.clone(),
                    run_id: "(unresolved)".into(),
                    message: format!("its source run {src_id} has no record"),
                })?;
                let req = plan.resolve(study, d, &src, rule, store.root())?;
                let out = (
                    req.run_id.clone(),
                    req.label.clone(),
                    req.spec.steps,
                    req.spec.eval_steps.clone(),
                    req.spec.measure.er_steps.clone(),
                    false,
                );
                if let Ok(mut s) = sched.lock() {
                    s.resolved[d] = Some(req);
                }
                out
            }
        };
        if !opts.force && store.finished(&run_id, needs_ckpt).is_some() {
            return Ok((run_id, false, steps));
        }
        store.reset_run(&run_id)?;
        let bar = ui.run_bar(&label, &run_id, steps);
        let result = catch_unwind(AssertUnwindSafe(|| match node {
            Node::Base(i) => exec.run_base(&plan.bases[i], &ctx, &bar),
            Node::Adapt(i) => exec.run_adapt(&plan.adapt[i], &ctx, &bar),
            Node::Deferred(d) => {
                let req = sched.lock().ok().and_then(|s| s.resolved[d].clone());
                match req {
                    Some(r) => exec.run_adapt(&r, &ctx, &bar),
                    None => Err("deferred request missing".into()),
                }
            }
        }));
        let reported = bar.steps_reported();
        bar.finish();
        // Keep the overall bar honest when an executor reports fewer steps than it trains.
        ui.run_done(steps.saturating_sub(reported) as u64);
        let rec = match result {
            Ok(Ok(rec)) => rec,
            Ok(Err(e)) => {
                return Err(PipelineError::Run { label, run_id, message: e.to_string() });
            }
            Err(p) => return Err(PipelineError::Run { label, run_id, message: panic_message(p) }),
        };
        check_record(&rec, &run_id, &label, steps, &eval_steps, &er_steps)?;
        store.write_record(&rec)?;
        ui.println(&format!("done {label} ({run_id}) in {:.1} s", rec.env.wall_seconds));
        Ok((run_id, true, steps))
    };

    let worker = || {
        loop {
            let Ok(mut s) = sched.lock() else { return };
            // Pick the first pending node whose dependencies are done.
            let pick = loop {
                if s.error.is_some() {
                    break None;
                }
                let ready = (0..nodes.len()).find(|&i| {
                    s.state[i] == State::Pending
                        && deps[i].iter().all(|&d| matches!(s.state[d], State::Done { .. }))
                });
                if let Some(i) = ready {
                    break Some(i);
                }
                let running = s.state.contains(&State::Running);
                if !running {
                    break None; // Nothing left that can become ready.
                }
                s = match cv.wait(s) {
                    Ok(g) => g,
                    Err(_) => return,
                };
            };
            let Some(i) = pick else {
                cv.notify_all();
                return;
            };
            s.state[i] = State::Running;
            drop(s);
            let result = execute(nodes[i]);
            let Ok(mut s) = sched.lock() else { return };
            match result {
                Ok((run_id, computed, steps)) => {
                    if computed {
                        s.computed += 1;
                        s.steps_now += steps;
                    } else {
                        s.reused += 1;
                        // Deferred runs were counted as steps to train; others were not.
                        let counted = matches!(nodes[i], Node::Deferred(_)) || opts.force;
                        ui.run_done(if counted { steps as u64 } else { 0 });
                    }
                    s.state[i] = State::Done { run_id, computed };
                }
                Err(e) => {
                    s.state[i] = State::Failed;
                    if s.error.is_none() {
                        s.error = Some(e);
                    }
                }
            }
            cv.notify_all();
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(worker);
        }
    });
    ui.finish();

    let s = sched.into_inner().map_err(|_| PipelineError::Data("scheduler poisoned".into()))?;
    if let Some(e) = s.error {
        return Err(e);
    }
    let id_of = |n: Node| -> Option<String> {
        match &s.state[index_of(n)] {
            State::Done { run_id, .. } => Some(run_id.clone()),
            _ => None,
        }
    };

    // Manifest: entries per paper; compute seconds per stage from the records (so a resumed
    // store keeps the seconds the runs took when they were computed).
    let mut papers: Vec<PaperPlan> = Vec::new();
    let mut sorted = plan.papers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    for p in sorted {
        let entries = plan
            .entries
            .iter()
            .filter(|e| e.paper == p)
            .map(|e| {
                let node = match e.target {
                    Target::Base(i) => Node::Base(i),
                    Target::Adapt(i) => Node::Adapt(i),
                    Target::Deferred(d) => Node::Deferred(d),
                };
                ManifestEntry {
                    scheme: e.scheme.clone(),
                    seed: e.seed,
                    run_id: id_of(node).unwrap_or_default(),
                    at_step: e.at_step,
                    tags: e.tags.clone(),
                }
            })
            .collect();
        papers.push(PaperPlan { paper: p, entries });
    }
    let mut stage_seconds: BTreeMap<String, f64> = BTreeMap::new();
    for (k, &n) in nodes.iter().enumerate() {
        let stage = match n {
            Node::Base(_) => "base".to_string(),
            Node::Adapt(i) => plan.adapt_stage[i].clone(),
            Node::Deferred(d) => plan.deferred[d].stage.clone(),
        };
        if let State::Done { run_id, .. } = &s.state[k]
            && let Ok(rec) = records::read_record(&store.record_path(run_id))
        {
            *stage_seconds.entry(stage).or_default() += rec.env.wall_seconds;
        }
    }
    let base_run_id = plan.bases.first().map(|b| b.run_id.clone());
    // Papers planned by an earlier invocation on the same profile, seeds and base stay in the
    // manifest (their records are still valid), so `--papers 85` after 81–84 adds to the store
    // instead of hiding the rest. The step counts describe this invocation's plan.
    if let Ok(Some(old)) = records::read_manifest(store.root())
        && old.profile == profile.name
        && old.seeds == plan.seeds
        && old.base_run_id == base_run_id
    {
        for p in old.papers {
            if !papers.iter().any(|q| q.paper == p.paper) {
                papers.push(p);
            }
        }
        papers.sort_by_key(|p| p.paper);
        for (k, v) in old.stage_seconds {
            stage_seconds.entry(k).or_insert(v);
        }
    }
    let manifest = Manifest {
        schema_version: records::SCHEMA_VERSION,
        profile: profile.name.clone(),
        seeds: plan.seeds.clone(),
        base_run_id,
        papers,
        stage_seconds,
        steps_trained: plan.distinct_steps(),
        steps_requested: plan.steps_requested,
    };
    store.write_manifest(&manifest)?;
    Ok(Outcome {
        manifest,
        runs_computed: s.computed,
        runs_reused: s.reused,
        steps_trained_now: s.steps_now,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}
