//! Rank surgery for dynamic K schedules (SPEC §5, Paper 81).
//!
//! - Grow K → K' > K: append K'−K columns to A (drawn like A's initialisation, from a fresh
//!   seeded stream) and K'−K zero rows to B. When the scale depends on K (`lora`, `rslora`) the old
//!   columns of A and rows of B are both multiplied by √(s_K / s_K'), so `s'·A'·B' = s·A·B` exactly:
//!   the function is unchanged at the switch.
//! - Shrink K → K' < K: replace `s·A·B` by its best rank-K' approximation (Eckart–Young) from an SVD
//!   `s·A·B = U·Σ·Vᵀ` (computed in f64): `A' = U_K'·√(Σ_K'/s')`, `B' = √(Σ_K'/s')·V_K'ᵀ`, so
//!   `s'·A'·B' = U_K'·Σ_K'·V_K'ᵀ`. If `s·A·B` is exactly zero (B still at its initial zeros) every
//!   rank-K' matrix is equally good and the balanced split would zero both factors (a dead
//!   adapter), so the first K' columns of A and rows of B are kept instead.
//!
//! Surgery replaces the tensors; the [`crate::Trainer`] wrappers reset their optimizer state.

use modelspec::LayerMatrix;
use tch::{Kind, Tensor};

use crate::init;
use crate::model::{Adapter, LoraModel, adapter_name, mat_index};
use crate::{LoraError, Result};

/// How a new column block of A is drawn.
#[derive(Clone, Copy)]
enum AInit {
    /// U(−1/√d_in, 1/√d_in).
    KaimingUniform,
    /// N(0, 1).
    StdNormal,
}

struct Site<'a> {
    adapter: &'a mut Adapter,
    name_a: String,
    d_in: usize,
    d_out: usize,
    init: AInit,
}

fn resize(
    site: Site<'_>,
    k_old: usize,
    k_new: usize,
    s_new: f64,
    seed: u64,
    surgery: u64,
) -> Result<()> {
    let ad = site.adapter;
    let (device, kind) = (ad.a.device(), ad.a.kind());
    let (a, b) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
        if k_new > k_old {
            let f = (ad.scale / s_new).sqrt();
            let extra = k_new - k_old;
            let mut rng = init::stream(
                seed,
                init::name_id(&site.name_a) ^ surgery.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let values = match site.init {
                AInit::KaimingUniform => {
                    init::uniform(&mut rng, site.d_in * extra, 1.0 / (site.d_in as f64).sqrt())
                }
                AInit::StdNormal => init::normal(&mut rng, site.d_in * extra, 1.0),
            };
            let new_a = init::tensor(&values, &[site.d_in as i64, extra as i64], device, kind);
            let a = Tensor::cat(&[&ad.a.detach() * f, new_a], 1);
            let b = Tensor::cat(
                &[
                    &ad.b.detach() * f,
                    Tensor::zeros([extra as i64, site.d_out as i64], (kind, device)),
                ],
                0,
            );
            Ok((a, b))
        } else {
            let p = ad.a.to_kind(Kind::Double).mm(&ad.b.to_kind(Kind::Double)) * ad.scale;
            let (u, s, v) =
                p.f_svd(true, true).map_err(|e| LoraError::Surgery(format!("SVD failed: {e}")))?;
            let k = k_new as i64;
            if s.max().double_value(&[]) == 0.0 {
                let a = ad.a.detach().narrow(1, 0, k).contiguous();
                let b = ad.b.detach().narrow(0, 0, k).contiguous();
                return Ok((a, b));
            }
            let root = (s.narrow(0, 0, k) / s_new).sqrt();
            let a = (u.narrow(1, 0, k) * &root).to_kind(kind).contiguous();
            let b = (v.narrow(1, 0, k) * &root).tr().to_kind(kind).contiguous();
            Ok((a, b))
        }
    })?;
    ad.a = a.set_requires_grad(true);
    ad.b = b.set_requires_grad(true);
    ad.scale = s_new;
    Ok(())
}

impl LoraModel {
    /// Sets layer `layer`'s rank to `k` on all four of its matrices (grow or shrink, see the
    /// module docs). Returns the names of the replaced tensors (empty if `k` is unchanged), whose
    /// optimizer state the caller should reset ([`crate::Trainer::set_layer_k`] does).
    pub fn set_layer_k(&mut self, layer: usize, k: usize) -> Result<Vec<String>> {
        let arch = self.base.arch.clone();
        if layer >= arch.n_layers {
            return Err(LoraError::Surgery(format!(
                "layer {layer} does not exist; the model has layers 0..{}",
                arch.n_layers
            )));
        }
        arch.check_layer_k(layer, k)?;
        let k_old = self.config.k_layers[layer];
        if k == k_old {
            return Ok(Vec::new());
        }
        let s_new = self.config.scale.scale(self.config.alpha, k);
        self.surgeries += 1;
        let mut names = Vec::new();
        for m in LayerMatrix::ALL {
            let (d_in, d_out) = m.shape(&arch);
            let name_a = adapter_name(Some((layer, m)), 'a');
            names.push(name_a.clone());
            names.push(adapter_name(Some((layer, m)), 'b'));
            let site = Site {
                adapter: &mut self.layers[layer][mat_index(m)],
                name_a,
                d_in,
                d_out,
                init: AInit::KaimingUniform,
            };
            resize(site, k_old, k, s_new, self.seed, self.surgeries)?;
        }
        self.config.k_layers[layer] = k;
        Ok(names)
    }

    /// Sets the embedding adapter's rank to `k` (grow or shrink). Returns the replaced names.
    pub fn set_embed_k(&mut self, k: usize) -> Result<Vec<String>> {
        let arch = self.base.arch.clone();
        arch.check_embed_k(k)?;
        let k_old = self.config.k_embed;
        if k == k_old {
            return Ok(Vec::new());
        }
        let s_new = self.config.scale.scale(self.config.alpha, k);
        self.surgeries += 1;
        let name_a = adapter_name(None, 'a');
        let names = vec![name_a.clone(), adapter_name(None, 'b')];
        let site = Site {
            adapter: &mut self.embed,
            name_a,
            d_in: arch.vocab_size,
            d_out: arch.d_model,
            init: AInit::StdNormal,
        };
        resize(site, k_old, k, s_new, self.seed, self.surgeries)?;
        self.config.k_embed = k;
        Ok(names)
    }
}
