//! Seeded initialisation: every tensor draws from its own ChaCha8 stream, chosen from the model
//! seed and the tensor's identity, so adding or resizing one tensor never shifts another's numbers
//! and the same seed gives the same weights on every device.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// A random stream for the tensor identified by `stream` under `seed`.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A stable 64-bit id for a tensor name (FNV-1a), used to pick its stream.
pub(crate) fn name_id(name: &str) -> u64 {
    name.bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// `n` draws from N(0, std²) by Box–Muller.
pub(crate) fn normal(rng: &mut ChaCha8Rng, n: usize, std: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // u1 in (0, 1] so the log is finite.
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let t = std::f64::consts::TAU * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// `n` draws from U(−bound, bound).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n).map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32).collect()
}

/// Makes a tensor of `shape` from host values on `device` in `kind`.
pub(crate) fn tensor(values: &[f32], shape: &[i64], device: Device, kind: Kind) -> Tensor {
    Tensor::from_slice(values).view(shape).to_kind(kind).to_device(device)
}
