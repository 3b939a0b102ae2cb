//! Benchmark (issue 4): the spectra and measures of all 32 adapted matrices of one paper-model
//! checkpoint (per layer 256×768, 256×256, 256×1024, 1024×256; SPEC §1), by the default path
//! (Gram eigenvalues, `Method::Auto`) on one thread and on all cores, against a plain SVD of the
//! same matrices in the same run. Run with `cargo bench -p effrank --bench checkpoint`.
//!
//! The matrices are seeded stand-ins for gradients: `U·diag(σ)·Vᵀ` with random orthonormal `U`,
//! `V` and a gradient-like decaying spectrum `σ_i = exp(−i/12) + 10⁻³`, stored as `f32` like the
//! model's gradients. Wall times are medians over runs; on a shared machine they depend on the
//! load, so the CPU time of the single-threaded runs (from `/proc/thread-self/schedstat`) and the
//! load average are printed beside them.

use std::time::{Duration, Instant};

use effrank::{Convention, Method, RowMajor, Spectrum, default_threads, spectra_of_many};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SHAPES: [(usize, usize); 4] = [(256, 768), (256, 256), (256, 1024), (1024, 256)];
const LAYERS: usize = 8;
const FAST_RUNS: usize = 9;
const SVD_RUNS: usize = 3;

fn orthonormal(rows: usize, k: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let m = DMatrix::from_fn(rows, k, |_, _| rng.random_range(-1.0..1.0));
    m.qr().q().columns(0, k).into_owned()
}

/// A row-major `f32` stand-in gradient with a decaying spectrum.
fn gradient(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let k = rows.min(cols);
    let sigma = nalgebra::DVector::from_fn(k, |i, _| (-(i as f64) / 12.0).exp() + 1e-3);
    let g = orthonormal(rows, k, rng)
        * DMatrix::from_diagonal(&sigma)
        * orthonormal(cols, k, rng).transpose();
    (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))).map(|(i, j)| g[(i, j)] as f32).collect()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// CPU time of the calling thread, where Linux exposes it.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Wall time per run (median) and CPU time per run (mean) of `f` over `runs` runs.
fn time<F: FnMut() -> f64>(runs: usize, mut f: F) -> (Duration, Option<Duration>, f64) {
    let mut walls = Vec::with_capacity(runs);
    let cpu_start = thread_cpu_time();
    let mut checksum = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        checksum += std::hint::black_box(f());
        walls.push(t.elapsed());
    }
    let cpu = cpu_start.zip(thread_cpu_time()).map(|(a, b)| (b - a) / runs as u32);
    (median(walls), cpu, checksum)
}

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(84);
    let matrices: Vec<(usize, usize, Vec<f32>)> =
        (0..LAYERS).flat_map(|_| SHAPES).map(|(r, c)| (r, c, gradient(r, c, &mut rng))).collect();
    let views: Vec<RowMajor<'_, f32>> = matrices
        .iter()
        .map(|(r, c, d)| RowMajor::new(*r, *c, d).expect("generated with the right length"))
        .collect();
    let measure_all = |method: Method, threads: usize| -> f64 {
        spectra_of_many(&views, method, threads)
            .into_iter()
            .map(|s| {
                s.expect("finite stand-in gradient").measures(Convention::Sigma).effective_rank
            })
            .sum()
    };

    println!("load average before: {}", load_average());
    // Warm up once (page faults, allocator).
    measure_all(Method::Auto, 1);
    let (fast_1, fast_1_cpu, er_fast) = time(FAST_RUNS, || measure_all(Method::Auto, 1));
    let threads = default_threads();
    let (fast_n, _, _) = time(FAST_RUNS, || measure_all(Method::Auto, threads));
    let (svd_1, svd_1_cpu, er_svd) = time(SVD_RUNS, || measure_all(Method::Svd, 1));
    let paths: Vec<_> = views
        .iter()
        .map(|v| Spectrum::of_row_major(*v, Method::Auto).expect("finite").path())
        .collect();
    let gram_count = paths.iter().filter(|p| **p == effrank::Path::Gram).count();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cpu = |d: Option<Duration>| d.map_or("n/a".to_owned(), |d| format!("{:.1} ms", ms(d)));
    println!("32 matrices (8 layers × 256×768, 256×256, 256×1024, 1024×256), f32 input");
    println!(
        "auto (gram) 1 thread : median {:8.1} ms  (cpu {}) over {FAST_RUNS} runs",
        ms(fast_1),
        cpu(fast_1_cpu)
    );
    println!("auto (gram) {threads} threads: median {:8.1} ms over {FAST_RUNS} runs", ms(fast_n));
    println!(
        "full svd    1 thread : median {:8.1} ms  (cpu {}) over {SVD_RUNS} runs",
        ms(svd_1),
        cpu(svd_1_cpu)
    );
    println!(
        "ratio svd / auto (1 thread, wall): {:.1}×",
        svd_1.as_secs_f64() / fast_1.as_secs_f64()
    );
    if let (Some(a), Some(b)) = (fast_1_cpu, svd_1_cpu) {
        println!("ratio svd / auto (1 thread, cpu) : {:.1}×", b.as_secs_f64() / a.as_secs_f64());
    }
    println!("auto took the gram path for {gram_count}/32 matrices");
    let mean_fast = er_fast / (FAST_RUNS * 32) as f64;
    let mean_svd = er_svd / (SVD_RUNS * 32) as f64;
    println!(
        "mean ER (sigma): gram {mean_fast:.6}, svd {mean_svd:.6}, relative difference {:.2e}",
        ((mean_fast - mean_svd) / mean_svd).abs()
    );
    println!("load average after: {}", load_average());
}
