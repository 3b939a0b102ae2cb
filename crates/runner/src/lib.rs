//! The real executor of the pipeline (SPEC §5): it joins the data pipeline (`corpus`), the model
//! (`lora`, the only tch user besides this crate), the spectral measures (`effrank`) and the rank
//! rules (`policy`) behind [`pipeline::Executor`].
//!
//! One run, in order, after `n` updates (n = 0 … steps):
//! 1. evaluate on the fixed evaluation set if `n ∈ eval_steps`;
//! 2. capture gradients on the fixed measurement batch and record natural and factor ER if
//!    `n ∈ er_steps` (SPEC §4);
//! 3. run the probes due at `n` (Paper 85's factor-gradient variance, SPEC §7);
//! 4. apply the rank schedule's change due at `n` (a fixed phase, or an ER-tracking decision
//!    from fresh natural ER), so the measurements at `n` describe the model as trained;
//! 5. train update `n + 1` on training batch `n` (a pure function of seed and step).
//!
//! Evaluation, measurement and probes draw no randomness from the training stream and change no
//! weights, so the first n updates of a longer run are an n-step run: the contract the pipeline
//! relies on to read Paper 82's budgets off one trajectory.

mod measure;
mod probe;

pub use measure::{CheckpointEr, measure_checkpoint};

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use corpus::{
    BatchSpec, CorpusSource, DEFAULT_SPLIT_SEED, DataConfig, PreparedData, SplitFractions,
    TokenStream, evaluation_set, measurement_batch, training_batch,
};
use effrank::{Convention, Method, Spectrum};
use lora::{
    AdamWConfig, BaseModel, GradKind as LoraGradKind, GradTarget, GradientCapture, LoraModel,
    Trainable, Trainer, TrainerConfig, eval_loss,
};
use modelspec::{Architecture, LayerMatrix};
use pipeline::spec::DataSource;
use pipeline::{
    AdaptRequest, BaseRequest, DataIdentity, DataSettings, ExecError, Executor, Probe, Progress,
    RankRule, RankSchedule, RunContext,
};
use records::{
    ErRecord, EvalPoint, GradKind, RankChange, RunEnv, RunRecord, StepRecord, TrainSettings,
};
use tch::{Device, Tensor};

/// File name of the base checkpoint inside a base run's checkpoint folder.
pub const BASE_CHECKPOINT: &str = "base.safetensors";

/// Fraction of documents held out for validation (evaluation loss and gradient measurement);
/// the rest is split between pretraining and adaptation by the profile's `adapt_fraction`.
pub const VALIDATION_FRACTION: f64 = 0.1;

/// Seed of the fixed gradient-measurement batch: the same windows for every run of every paper.
pub const MEASUREMENT_SEED: u64 = 0x5EED_0083;

/// libtorch version this build links: torch-sys refuses to build against any other.
pub const LIBTORCH_VERSION: &str = "2.13.0";

/// The executor: holds the cache folder and the data, prepared once per invocation.
#[derive(Debug)]
pub struct TorchExecutor {
    cache: PathBuf,
    data: Mutex<Option<Arc<Data>>>,
    save_adapters: bool,
}

/// File name of an adaptation run's checkpoint (base and adapters), when adapters are saved.
pub const ADAPTER_CHECKPOINT: &str = "adapters.safetensors";

#[derive(Debug)]
struct Data {
    prepared: PreparedData,
}

fn err(context: impl std::fmt::Display, e: impl std::fmt::Display) -> ExecError {
    format!("{context}: {e}").into()
}

impl TorchExecutor {
    /// An executor using `cache` (the rankwise cache root: corpus, tokenizers, token streams).
    pub fn new(cache: PathBuf) -> Self {
        TorchExecutor { cache, data: Mutex::new(None), save_adapters: false }
    }

    /// Whether adaptation runs save their final model as [`ADAPTER_CHECKPOINT`] (off in the
    /// pipeline, where each would repeat the base's weights; on for `rankwise train`).
    pub fn with_adapter_checkpoints(mut self, save: bool) -> Self {
        self.save_adapters = save;
        self
    }

    fn data(&self) -> Result<Arc<Data>, ExecError> {
        let guard = self.data.lock().map_err(|_| "the data lock was poisoned by a failed run")?;
        guard.clone().ok_or_else(|| "prepare_data must be called before any run".into())
    }

    /// What every run does first: note the start, set up the device and threads, take the
    /// prepared data, check its vocabulary against `arch`, and build the fixed evaluation set.
    fn start_run(
        &self,
        ctx: &RunContext,
        arch: &Architecture,
        train: &TrainSettings,
        eval_sequences: usize,
    ) -> Result<RunStart, ExecError> {
        let (started, started_at) = (Instant::now(), unix_now());
        let device = setup(ctx)?;
        let data = self.data()?;
        check_vocab(&data, arch)?;
        let eval = eval_tensors(&data.prepared.validation, train, eval_sequences, device)?;
        Ok(RunStart { started, started_at, device, data, eval })
    }
}

/// See [`TorchExecutor::start_run`].
struct RunStart {
    started: Instant,
    started_at: u64,
    device: Device,
    data: Arc<Data>,
    eval: Vec<Tensor>,
}

/// The corpus configuration of a pipeline's data settings.
pub fn data_config(s: &DataSettings) -> DataConfig {
    let corpus = match &s.source {
        DataSource::Default => CorpusSource::Default,
        DataSource::Paths(p) => CorpusSource::Paths(p.clone()),
    };
    let adapt = s.adapt_fraction;
    DataConfig {
        corpus,
        vocab_size: s.vocab_size,
        split_seed: DEFAULT_SPLIT_SEED,
        fractions: SplitFractions {
            pretrain: 1.0 - adapt - VALIDATION_FRACTION,
            adapt,
            validation: VALIDATION_FRACTION,
        },
    }
}

/// Parses the orchestrator's device string (`cpu`, `cuda`, `cuda:N`).
pub fn parse_device(s: &str) -> Result<Device, ExecError> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        _ => match s.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => Ok(Device::Cuda(n)),
            None => Err(format!("unknown device `{s}`; use cpu, cuda or cuda:N").into()),
        },
    }
}

/// The device string the records use.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// `git rev-parse HEAD` of the checkout this binary was built in, read when the process first
/// asks (not at build time: a binary copied or kept across commits reports the checkout's HEAD
/// then), `-dirty` when it has uncommitted changes, `unknown` outside a checkout. Computed once.
pub fn git_commit() -> String {
    static COMMIT: OnceLock<String> = OnceLock::new();
    COMMIT
        .get_or_init(|| {
            let dir = env!("CARGO_MANIFEST_DIR");
            let run = |args: &[&str]| {
                std::process::Command::new("git").args(args).current_dir(dir).output().ok()
            };
            let Some(head) = run(&["rev-parse", "HEAD"]).filter(|o| o.status.success()) else {
                return "unknown".into();
            };
            let mut id = String::from_utf8_lossy(&head.stdout).trim().to_string();
            if run(&["diff", "--quiet", "HEAD", "--", "."]).is_some_and(|o| !o.status.success()) {
                id.push_str("-dirty");
            }
            id
        })
        .clone()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn run_env(ctx: &RunContext, started_at: u64, started: Instant) -> RunEnv {
    RunEnv {
        device: ctx.device.clone(),
        threads: ctx.threads,
        libtorch_version: LIBTORCH_VERSION.into(),
        git_commit: git_commit(),
        rankwise_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        wall_seconds: started.elapsed().as_secs_f64(),
    }
}

/// The model crate's trainer settings for a profile's optimiser settings.
pub fn trainer_config(t: &TrainSettings) -> TrainerConfig {
    TrainerConfig {
        adamw: AdamWConfig {
            lr: t.lr,
            beta1: t.betas.0,
            beta2: t.betas.1,
            eps: t.eps,
            weight_decay: t.weight_decay,
        },
        warmup_steps: t.warmup_steps,
        grad_clip: t.grad_clip,
    }
}

fn to_tensor(b: &corpus::Batch, device: Device) -> Result<Tensor, ExecError> {
    lora::batch_from_tokens(&b.ids, b.rows, b.width - 1, device).map_err(|e| err("batch", e))
}

/// The fixed evaluation set: `ceil(eval_sequences / batch_size)` batches of the training batch
/// geometry, spread evenly over the validation stream.
fn eval_tensors(
    validation: &TokenStream,
    train: &TrainSettings,
    eval_sequences: usize,
    device: Device,
) -> Result<Vec<Tensor>, ExecError> {
    let spec = BatchSpec { rows: train.batch_size, context: train.context };
    let n = eval_sequences.div_ceil(train.batch_size).max(1);
    evaluation_set(validation, spec, n)
        .map_err(|e| err("evaluation set", e))?
        .iter()
        .map(|b| to_tensor(b, device))
        .collect()
}

fn check_vocab(data: &Data, arch: &Architecture) -> Result<(), ExecError> {
    let v = data.prepared.vocab_size();
    if v != arch.vocab_size {
        return Err(format!(
            "the tokenizer has {v} tokens but the model expects vocab_size = {}; \
             set the profile's vocab_size to the model's",
            arch.vocab_size
        )
        .into());
    }
    Ok(())
}

fn setup(ctx: &RunContext) -> Result<Device, ExecError> {
    let device = parse_device(&ctx.device)?;
    lora::set_threads(ctx.threads.max(1));
    Ok(device)
}

impl Executor for TorchExecutor {
    fn prepare_data(&self, settings: &DataSettings) -> Result<DataIdentity, ExecError> {
        let config = data_config(settings);
        let prepared = corpus::prepare(&config, &self.cache).map_err(|e| err("data", e))?;
        let identity = DataIdentity {
            corpus: config.corpus.describe(),
            // The streams key hashes every document's text, the split and the tokenizer.
            corpus_hash: prepared
                .streams_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tokenizer_hash: prepared.tokenizer.hash.clone(),
        };
        let mut guard = self.data.lock().map_err(|_| "the data lock was poisoned")?;
        *guard = Some(Arc::new(Data { prepared }));
        Ok(identity)
    }

    fn run_base(
        &self,
        req: &BaseRequest,
        ctx: &RunContext,
        progress: &dyn Progress,
    ) -> Result<RunRecord, ExecError> {
        let spec = &req.spec;
        let RunStart { started, started_at, device, data, eval } =
            self.start_run(ctx, &spec.arch, &spec.train, spec.data.eval_sequences)?;
        let model = BaseModel::new(&spec.arch, device, spec.seed).map_err(|e| err("base", e))?;
        model.check_context(spec.train.context).map_err(|e| err("base", e))?;
        let mut trainer =
            Trainer::new(model, trainer_config(&spec.train)).map_err(|e| err("base", e))?;
        let mut rec = req.record_skeleton();
        let bs = BatchSpec { rows: spec.train.batch_size, context: spec.train.context };
        for n in 0..=spec.steps {
            if spec.eval_steps.contains(&n) {
                evaluate_into(trainer.model(), &eval, n, progress, &mut rec)?;
            }
            if n == spec.steps {
                break;
            }
            let batch =
                Batches { stream: &data.prepared.pretrain, spec: bs, seed: spec.seed, device };
            step_into(&mut trainer, &batch, n, progress, &mut rec)?;
        }
        progress.note("saving the base checkpoint");
        trainer
            .model()
            .save(&req.checkpoint_dir.join(BASE_CHECKPOINT))
            .map_err(|e| err("saving the base", e))?;
        rec.env = run_env(ctx, started_at, started);
        Ok(rec)
    }

    fn run_adapt(
        &self,
        req: &AdaptRequest,
        ctx: &RunContext,
        progress: &dyn Progress,
    ) -> Result<RunRecord, ExecError> {
        let spec = &req.spec;
        let RunStart { started, started_at, device, data, eval } =
            self.start_run(ctx, &spec.arch, &spec.train, spec.data.eval_sequences)?;
        let base = lora::load_base(&req.base_checkpoint.join(BASE_CHECKPOINT), device)
            .map_err(|e| err("loading the base", e))?;
        let model =
            LoraModel::from_base(base, &spec.adapter, spec.seed).map_err(|e| err("adapters", e))?;
        let convention = parse_convention(&spec.measure.convention)?;
        let measure = measurement_batch(
            &data.prepared.validation,
            BatchSpec { rows: spec.measure.measurement_sequences, context: spec.train.context },
            MEASUREMENT_SEED,
        )
        .map_err(|e| err("measurement batch", e))?;
        let measure = to_tensor(&measure, device)?;
        let mut trainer =
            Trainer::new(model, trainer_config(&spec.train)).map_err(|e| err("adapters", e))?;
        let mut rec = req.record_skeleton();
        if let RankSchedule::ErTracking { .. } = spec.schedule {
            rec.schedule = vec![RankChange {
                step: 0,
                k_layers: spec.adapter.k_layers.clone(),
                k_embed: spec.adapter.k_embed,
                params: spec.arch.trainable_params(&spec.adapter.k_layers, spec.adapter.k_embed),
            }];
        }
        let bs = BatchSpec { rows: spec.train.batch_size, context: spec.train.context };
        for n in 0..=spec.steps {
            if spec.eval_steps.contains(&n) {
                evaluate_into(trainer.model(), &eval, n, progress, &mut rec)?;
            }
            if spec.measure.er_steps.contains(&n) {
                progress.note(&format!("measuring gradient ER after {n} steps"));
                let cap = trainer
                    .model()
                    .capture_gradients(&measure, true, true)
                    .map_err(|e| err("gradient capture", e))?;
                rec.er.extend(er_records(&cap, n, convention)?);
            }
            for p in &spec.probes {
                let Probe::FactorGradVariance { steps, split_rank, minibatches } = p;
                if steps.contains(&n) {
                    progress.note(&format!("probing factor-gradient variance after {n} steps"));
                    rec.metrics.extend(probe::factor_grad_variance(
                        trainer.model(),
                        &data.prepared.adapt,
                        BatchSpec {
                            rows: spec.measure.measurement_sequences,
                            context: spec.train.context,
                        },
                        spec.seed,
                        n,
                        *split_rank,
                        *minibatches,
                    )?);
                }
            }
            if n == spec.steps {
                break;
            }
            if n > 0 {
                let change = match &spec.schedule {
                    RankSchedule::Fixed => None,
                    RankSchedule::Phases(phases) => {
                        phases.iter().find(|p| p.step == n).map(|p| (p.k_layers.clone(), p.k_embed))
                    }
                    RankSchedule::ErTracking { every, er_ratio, k_embed } => {
                        if *every > 0 && n % every == 0 {
                            progress.note(&format!("re-deciding ranks from ER after {n} steps"));
                            let cap = trainer
                                .model()
                                .capture_gradients(&measure, true, false)
                                .map_err(|e| err("gradient capture", e))?;
                            let layer_er = layer_natural_er(&cap, &spec.arch, convention)?;
                            let k = PolicyRule.ranks(&spec.arch, &layer_er, *er_ratio).map_err(
                                |e| err(format!("ER-tracking ranks after {n} steps"), e),
                            )?;
                            Some((k, *k_embed))
                        } else {
                            None
                        }
                    }
                };
                if let Some((k_layers, k_embed)) = change {
                    apply_ranks(&mut trainer, &k_layers, k_embed)?;
                    if matches!(spec.schedule, RankSchedule::ErTracking { .. }) {
                        rec.schedule.push(RankChange {
                            step: n,
                            params: spec.arch.trainable_params(&k_layers, k_embed),
                            k_layers,
                            k_embed,
                        });
                    }
                }
            }
            let batch = Batches { stream: &data.prepared.adapt, spec: bs, seed: spec.seed, device };
            step_into(&mut trainer, &batch, n, progress, &mut rec)?;
        }
        rec.trainable_params = trainer.model().count_trainable();
        if self.save_adapters {
            progress.note("saving the adapters");
            trainer
                .model()
                .save(&req.checkpoint_dir.join(ADAPTER_CHECKPOINT))
                .map_err(|e| err("saving the adapters", e))?;
        }
        rec.env = run_env(ctx, started_at, started);
        Ok(rec)
    }
}

/// Where a run's training batches come from: batch n is a pure function of (stream, seed, n).
struct Batches<'a> {
    stream: &'a TokenStream,
    spec: BatchSpec,
    seed: u64,
    device: Device,
}

/// Evaluates after `n` updates and records it.
fn evaluate_into<M: Trainable>(
    model: &M,
    eval: &[Tensor],
    n: usize,
    progress: &dyn Progress,
    rec: &mut RunRecord,
) -> Result<(), ExecError> {
    progress.note(&format!("evaluating after {n} steps"));
    let loss = eval_loss(model, eval).map_err(|e| err("evaluation", e))?;
    rec.evals.push(EvalPoint { step: n, loss });
    Ok(())
}

/// Trains update `n + 1` on training batch `n` and records it.
fn step_into<M: Trainable>(
    trainer: &mut Trainer<M>,
    batches: &Batches<'_>,
    n: usize,
    progress: &dyn Progress,
    rec: &mut RunRecord,
) -> Result<(), ExecError> {
    let b = training_batch(batches.stream, batches.spec, batches.seed, n as u64)
        .map_err(|e| err("training batch", e))?;
    let s = trainer
        .train_step(&to_tensor(&b, batches.device)?)
        .map_err(|e| err(format!("training step {}", n + 1), e))?;
    progress.step(n + 1, s.loss, s.tokens);
    rec.steps.push(StepRecord {
        step: n + 1,
        train_loss: s.loss,
        tokens: s.tokens,
        seconds: s.seconds,
    });
    Ok(())
}

fn apply_ranks(
    trainer: &mut Trainer<LoraModel>,
    k_layers: &[usize],
    k_embed: usize,
) -> Result<(), ExecError> {
    let current = trainer.model().adapter_config().clone();
    for (l, (&now, &want)) in current.k_layers.iter().zip(k_layers).enumerate() {
        if now != want {
            trainer.set_layer_k(l, want).map_err(|e| err(format!("rank surgery, layer {l}"), e))?;
        }
    }
    if current.k_embed != k_embed {
        trainer.set_embed_k(k_embed).map_err(|e| err("rank surgery, embedding", e))?;
    }
    Ok(())
}

/// Parses an ER convention name as the records spell it.
pub fn parse_convention(name: &str) -> Result<Convention, ExecError> {
    name.parse::<Convention>().map_err(|e| err("ER convention", e))
}

fn matrix_name(t: GradTarget) -> (Option<usize>, String) {
    match t {
        GradTarget::Layer { layer, matrix } => (Some(layer), matrix.name().to_string()),
        GradTarget::Embed => (None, "embed".to_string()),
    }
}

fn grad_kind(k: LoraGradKind) -> GradKind {
    match k {
        LoraGradKind::Natural => GradKind::Natural,
        LoraGradKind::FactorA => GradKind::FactorA,
        LoraGradKind::FactorB => GradKind::FactorB,
    }
}

/// One ER record per captured gradient matrix (SPEC §4), the spectrum computed once each.
pub fn er_records(
    cap: &GradientCapture,
    step: usize,
    convention: Convention,
) -> Result<Vec<ErRecord>, ExecError> {
    cap.matrices
        .iter()
        .map(|g| {
            let spectrum = Spectrum::of_slice(g.rows, g.cols, &g.data, Method::Auto)
                .map_err(|e| err(format!("spectrum of {:?} {:?}", g.target, g.kind), e))?;
            let m = spectrum.measures(convention);
            let (layer, matrix) = matrix_name(g.target);
            Ok(ErRecord {
                step,
                layer,
                matrix,
                kind: grad_kind(g.kind),
                rows: g.rows,
                cols: g.cols,
                convention: convention.name().to_string(),
                effective_rank: m.effective_rank,
                stable_rank: m.stable_rank,
                participation_ratio: m.participation_ratio,
                energy_rank_90: m.energy_rank_90,
                energy_rank_99: m.energy_rank_99,
                numerical_rank: m.numerical_rank,
            })
        })
        .collect()
}

/// Per-layer natural ER: the mean over the layer's four matrices (SPEC §4).
pub fn layer_natural_er(
    cap: &GradientCapture,
    arch: &Architecture,
    convention: Convention,
) -> Result<Vec<f64>, ExecError> {
    (0..arch.n_layers)
        .map(|layer| {
            let mut sum = 0.0;
            for matrix in LayerMatrix::ALL {
                let g = cap
                    .get(GradTarget::Layer { layer, matrix }, LoraGradKind::Natural)
                    .ok_or_else(|| format!("no natural gradient for layer {layer} {matrix:?}"))?;
                let s = Spectrum::of_slice(g.rows, g.cols, &g.data, Method::Auto)
                    .map_err(|e| err(format!("spectrum of layer {layer} {matrix:?}"), e))?;
                sum += s.measures(convention).effective_rank;
            }
            Ok(sum / LayerMatrix::ALL.len() as f64)
        })
        .collect()
}

/// The pipeline's rank rule backed by the policy crate's `er_ratio` (SPEC §3).
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyRule;

impl RankRule for PolicyRule {
    fn ranks(
        &self,
        arch: &Architecture,
        layer_er: &[f64],
        er_ratio: f64,
    ) -> Result<Vec<usize>, String> {
        let rule = policy::ErRatio { ratio: er_ratio, ..policy::ErRatio::default() };
        rule.decide(arch, layer_er).map(|d| d.k_layers).map_err(|e| e.to_string())
    }
}
