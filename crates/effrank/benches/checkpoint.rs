//! Benchmark (issue 4): the spectra and measures of all 32 adapted matrices of one paper-model
//! checkpoint (per layer 256×768, 256×256, 256×1024, 1024×256; SPEC §1), by the default path
//! (Gram eigenvalues, `Method::Auto`) on all cores (the headline figure, target ≤ 100 ms) and on
//! one thread, against a plain SVD of the same matrices on all cores in the same run. Run with
//! `cargo bench -p effrank --bench checkpoint`.
//!
//! The matrices are seeded stand-ins for gradients: `U·diag(σ)·Vᵀ` with random orthonormal `U`,
//! `V` and a gradient-like decaying spectrum `σ_i = exp(−i/12) + 10⁻³`, stored as `f32` like the
//! model's gradients. Wall times are medians over runs; on a shared machine they depend on the
//! load, so the process CPU time per run (all threads, from `/proc/self/stat`) and the load
//! average are printed beside them.

use std::time::{Duration, Instant};

use effrank::{Convention, Method, RowMajor, Spectrum, default_threads, spectra_of_many};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SHAPES: [(usize, usize); 4] = [(256, 768), (256, 256), (256, 1024), (1024, 256)];
const LAYERS: usize = 8;
const FAST_RUNS: usize = 21;
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

/// CPU time of the whole process (all threads, finished ones included), where Linux exposes it:
/// user + system time from `/proc/self/stat`, in clock ticks of 10 ms (`USER_HZ` = 100 on every
/// Linux platform Rust supports). Per-run figures are means over many runs, so the tick is fine.
fn process_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// One timed configuration: median wall time and mean CPU time (all threads) per run.
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
    runs: usize,
}

/// Times `runs` runs of `f`; also returns the sum of its results (kept, so nothing is elided).
fn time<F: FnMut() -> f64>(runs: usize, mut f: F) -> (Timing, f64) {
    let mut walls = Vec::with_capacity(runs);
    let cpu_start = process_cpu_time();
    let mut checksum = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        checksum += std::hint::black_box(f());
        walls.push(t.elapsed());
    }
    let cpu = cpu_start.zip(process_cpu_time()).map(|(a, b)| (b - a) / runs as u32);
    (Timing { wall: median(walls), cpu, runs }, checksum)
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
    let threads = default_threads();
    // Warm up once (page faults, allocator).
    measure_all(Method::Auto, threads);
    let (fast_n, er_fast) = time(FAST_RUNS, || measure_all(Method::Auto, threads));
    let (fast_1, _) = time(FAST_RUNS, || measure_all(Method::Auto, 1));
    let (svd_n, er_svd) = time(SVD_RUNS, || measure_all(Method::Svd, threads));
    let paths: Vec<_> = views
        .iter()
        .map(|v| Spectrum::of_row_major(*v, Method::Auto).expect("finite").path())
        .collect();
    let gram_count = paths.iter().filter(|p| **p == effrank::Path::Gram).count();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cpu = |d: Option<Duration>| d.map_or("n/a".to_owned(), |d| format!("{:6.1} ms", ms(d)));
    let row = |name: &str, threads: usize, t: &Timing| {
        println!(
            "{name:<12} {threads} thread(s): median wall {:7.1} ms, cpu {} per run ({} runs)",
            ms(t.wall),
            cpu(t.cpu),
            t.runs
        );
    };
    println!("32 matrices (8 layers × 256×768, 256×256, 256×1024, 1024×256), f32 input");
    row("auto (gram)", threads, &fast_n);
    row("auto (gram)", 1, &fast_1);
    row("full svd", threads, &svd_n);
    println!(
        "target ≤ 100 ms (median wall, {threads} threads): {}",
        if ms(fast_n.wall) <= 100.0 { "met" } else { "NOT met" }
    );
    println!(
        "ratio svd / auto ({threads} threads, wall): {:.1}×",
        ms(svd_n.wall) / ms(fast_n.wall)
    );
    if let (Some(a), Some(b)) = (fast_n.cpu, svd_n.cpu) {
        println!("ratio svd / auto ({threads} threads, cpu) : {:.1}×", ms(b) / ms(a));
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
