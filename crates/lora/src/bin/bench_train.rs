//! Training-step benchmark for the paper preset (issue 3, item 10).
//!
//! `cargo run --release -p lora --bin bench_train -- [--threads N] [--steps N] [--warmup N]
//! [--ks 8,64] [--batch 8] [--context 128]`
//!
//! For each K: a random base and random tokens, `warmup` untimed steps, then the median of `steps`
//! timed training steps; tokens/s; achieved FLOP/s from [`lora::flop_count_train_step`]; and the
//! ratio to the fp32 matmul peak measured in the same process (median of repeated 2048³ matmuls,
//! 2·n³ FLOPs each, measured before and after the training runs; the larger median is the peak).
//! Peak RSS is the process's VmHWM.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use lora::{AdapterConfig, Architecture, LoraModel, ScaleConvention, Trainer, TrainerConfig};
use tch::{Device, Kind, Tensor};

struct Args {
    threads: Option<usize>,
    steps: usize,
    warmup: usize,
    ks: Vec<usize>,
    batch: usize,
    context: usize,
}

fn parse() -> Result<Args> {
    let mut a =
        Args { threads: None, steps: 12, warmup: 3, ks: vec![8, 64], batch: 8, context: 128 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => a.threads = Some(value()?.parse().context("--threads")?),
            "--steps" => a.steps = value()?.parse().context("--steps")?,
            "--warmup" => a.warmup = value()?.parse().context("--warmup")?,
            "--batch" => a.batch = value()?.parse().context("--batch")?,
            "--context" => a.context = value()?.parse().context("--context")?,
            "--ks" => {
                a.ks = value()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()
                    .context("--ks")?
            }
            other => bail!(
                "unknown flag {other}; flags: --threads --steps --warmup --ks --batch --context"
            ),
        }
    }
    if a.steps < 1 {
        bail!("--steps must be at least 1");
    }
    Ok(a)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

/// Median FLOP/s of an n×n fp32 matmul.
fn matmul_peak(n: i64, reps: usize) -> f64 {
    let a = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let _ = a.mm(&b);
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let c = a.mm(&b);
            let _ = c.double_value(&[0, 0]);
            t.elapsed().as_secs_f64()
        })
        .collect();
    2.0 * (n as f64).powi(3) / median(times)
}

fn vm_hwm_kib() -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM line")?;
    line.split_whitespace().nth(1).context("VmHWM value")?.parse().context("VmHWM number")
}

fn main() -> Result<()> {
    let args = parse()?;
    if let Some(t) = args.threads {
        lora::set_threads(t);
    }
    tch::manual_seed(0);
    let arch = Architecture::paper();
    println!(
        "bench_train: paper preset (V={}, d={}, layers={}, d_ff={}), batch {} × context {}, threads {}",
        arch.vocab_size,
        arch.d_model,
        arch.n_layers,
        arch.d_ff,
        args.batch,
        args.context,
        tch::get_num_threads()
    );
    let peak_before = matmul_peak(2048, 7);
    println!("fp32 matmul peak (2048³, median of 7): {:.2} GFLOP/s", peak_before / 1e9);

    // Random tokens: an LCG so the benchmark needs no RNG crate.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let tokens: Vec<i64> = (0..args.batch * (args.context + 1))
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % arch.vocab_size as u64) as i64
        })
        .collect();
    let batch = lora::batch_from_tokens(&tokens, args.batch, args.context, Device::Cpu)?;

    let mut results = Vec::new();
    for &k in &args.ks {
        let ad = AdapterConfig::uniform(&arch, k, ScaleConvention::Lora, 2.0 * k as f64);
        let model = LoraModel::new(&arch, &ad, Device::Cpu, 1).context("building the model")?;
        let mut trainer = Trainer::new(model, TrainerConfig::default())?;
        for _ in 0..args.warmup {
            trainer.train_step(&batch)?;
        }
        let secs: Vec<f64> = (0..args.steps)
            .map(|_| trainer.train_step(&batch).map(|r| r.seconds))
            .collect::<Result<_, _>>()?;
        let med = median(secs.clone());
        let flops =
            lora::flop_count_train_step(&arch, &ad.k_layers, ad.k_embed, args.batch, args.context);
        results.push((k, med, flops, secs));
    }
    let peak_after = matmul_peak(2048, 7);
    println!("fp32 matmul peak after the runs: {:.2} GFLOP/s", peak_after / 1e9);
    let peak = peak_before.max(peak_after);
    let tokens_per_step = (args.batch * args.context) as f64;
    let mut base_time = None;
    for (k, med, flops, secs) in &results {
        let achieved = flops / med;
        println!(
            "K={k:>3}: median step {:.1} ms (min {:.1}, max {:.1}), {:.0} tokens/s, {:.2} GFLOP/step, {:.2} GFLOP/s, ratio to peak {:.3}{}",
            med * 1e3,
            secs.iter().copied().fold(f64::INFINITY, f64::min) * 1e3,
            secs.iter().copied().fold(0.0, f64::max) * 1e3,
            tokens_per_step / med,
            flops / 1e9,
            achieved / 1e9,
            achieved / peak,
            match base_time {
                Some(t) =>
                    format!(", {:+.1}% step time vs K={}", (med / t - 1.0) * 100.0, args.ks[0]),
                None => String::new(),
            }
        );
        base_time.get_or_insert(*med);
    }
    println!("peak RSS (VmHWM): {:.1} MiB", vm_hwm_kib()? as f64 / 1024.0);
    Ok(())
}
