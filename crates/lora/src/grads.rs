//! Gradient capture for effective rank (SPEC §4, Paper 83), exported without tch.
//!
//! - Natural gradient: ∂L/∂W of every adapted matrix `W = W0 + s·A·B`, which does not depend on
//!   how W is factored. It is computed without touching W0: the forward pass adds a zero
//!   perturbation `x·Δ` (`Δ: d_in × d_out`, requiring grad) beside each adapted matrix, and a zero
//!   `Δ_e: V × d` to the tied embedding (both at the input lookup and in the head); since
//!   `W0 + s·A·B + Δ` at `Δ = 0` is W, `∂L/∂Δ = ∂L/∂W`. For a layer matrix this equals
//!   `Xᵀ·∂L/∂Y` over the batch's tokens.
//! - Factor gradients: ∂L/∂A and ∂L/∂B of every adapter, from the same backward pass.
//!
//! Gradients are taken with `run_backward` on explicit inputs, so the parameters' `.grad` fields
//! (and any training in progress) are untouched. A gradient from T tokens has rank ≤ T: the
//! capture records the token count.

use modelspec::LayerMatrix;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::model::{LoraModel, Probes, mat_index};
use crate::{LoraError, Result};

/// Which matrix a gradient belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradTarget {
    /// A layer matrix.
    Layer {
        /// Layer index.
        layer: usize,
        /// Which of the four.
        matrix: LayerMatrix,
    },
    /// The tied token embedding.
    Embed,
}

/// Which gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradKind {
    /// ∂L/∂W of the full adapted weight (`d_in × d_out`; the embedding's is `V × d`).
    Natural,
    /// ∂L/∂A (`d_in × K`).
    FactorA,
    /// ∂L/∂B (`K × d_out`).
    FactorB,
}

/// One gradient matrix, row-major `f32`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradMatrix {
    /// Which matrix.
    pub target: GradTarget,
    /// Which gradient.
    pub kind: GradKind,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f32>,
}

/// Everything measured on one measurement batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientCapture {
    /// Loss on the batch.
    pub loss: f64,
    /// Tokens predicted (batch × context): an upper bound on every gradient's rank.
    pub tokens: usize,
    /// Natural gradients, then factor gradients, in layer / [`LayerMatrix::ALL`] order, the
    /// embedding last in each group.
    pub matrices: Vec<GradMatrix>,
}

impl GradientCapture {
    /// The gradient of `kind` for `target`, if captured.
    pub fn get(&self, target: GradTarget, kind: GradKind) -> Option<&GradMatrix> {
        self.matrices.iter().find(|g| g.target == target && g.kind == kind)
    }
}

fn export(t: &Tensor, target: GradTarget, kind: GradKind) -> Result<GradMatrix> {
    let size = t.size();
    let (rows, cols) = (size[0] as usize, size[1] as usize);
    let flat = t.to_kind(Kind::Float).to_device(tch::Device::Cpu).contiguous().view([-1]);
    let data = Vec::<f32>::try_from(&flat).map_err(|source| LoraError::Torch {
        context: "copying a gradient to host memory".into(),
        source,
    })?;
    Ok(GradMatrix { target, kind, rows, cols, data })
}

impl LoraModel {
    /// Natural and factor gradients of the mean loss on `batch` (see the module docs). Set
    /// `natural` or `factors` false to skip one group (the natural embedding gradient alone is
    /// V × d).
    pub fn capture_gradients(
        &self,
        batch: &Tensor,
        natural: bool,
        factors: bool,
    ) -> Result<GradientCapture> {
        let arch = self.base.arch.clone();
        let (device, kind) = (self.base.device, self.base.kind);
        let zeros = |r: usize, c: usize| {
            Tensor::zeros([r as i64, c as i64], (kind, device)).set_requires_grad(true)
        };
        let probes = Probes {
            layers: (0..arch.n_layers)
                .map(|_| {
                    LayerMatrix::ALL.map(|m| {
                        let (i, o) = m.shape(&arch);
                        zeros(i, o)
                    })
                })
                .collect(),
            embed: zeros(arch.vocab_size, arch.d_model),
        };
        let loss = self.base.loss_impl(
            batch,
            Some((&self.layers, &self.embed)),
            natural.then_some(&probes),
        )?;
        let tokens = (batch.size()[0] * (batch.size()[1] - 1)) as usize;
        let loss_value = loss.double_value(&[]);
        if !loss_value.is_finite() {
            return Err(LoraError::NonFiniteLoss { step: 0, value: loss_value });
        }

        // Inputs to differentiate with respect to, and where each result goes.
        let mut inputs: Vec<Tensor> = Vec::new();
        let mut labels: Vec<(GradTarget, GradKind)> = Vec::new();
        let layer_targets =
            (0..arch.n_layers).flat_map(|l| LayerMatrix::ALL.map(|m| (l, m))).collect::<Vec<_>>();
        if natural {
            for &(l, m) in &layer_targets {
                inputs.push(probes.layers[l][mat_index(m)].shallow_clone());
                labels.push((GradTarget::Layer { layer: l, matrix: m }, GradKind::Natural));
            }
            inputs.push(probes.embed.shallow_clone());
            labels.push((GradTarget::Embed, GradKind::Natural));
        }
        if factors {
            for &(l, m) in &layer_targets {
                let ad = &self.layers[l][mat_index(m)];
                for (t, k) in [(&ad.a, GradKind::FactorA), (&ad.b, GradKind::FactorB)] {
                    inputs.push(t.shallow_clone());
                    labels.push((GradTarget::Layer { layer: l, matrix: m }, k));
                }
            }
            for (t, k) in [(&self.embed.a, GradKind::FactorA), (&self.embed.b, GradKind::FactorB)] {
                inputs.push(t.shallow_clone());
                labels.push((GradTarget::Embed, k));
            }
        }
        if inputs.is_empty() {
            return Ok(GradientCapture { loss: loss_value, tokens, matrices: Vec::new() });
        }
        let grads = Tensor::f_run_backward(&[&loss], &inputs, false, false).map_err(|source| {
            LoraError::Torch { context: "computing gradients for capture".into(), source }
        })?;
        let matrices = grads
            .iter()
            .zip(labels)
            .map(|(g, (target, kind))| export(g, target, kind))
            .collect::<Result<Vec<_>>>()?;
        Ok(GradientCapture { loss: loss_value, tokens, matrices })
    }
}
