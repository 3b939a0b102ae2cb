//! A decision (K per layer and K_e) with the explanation that justifies it (SPEC §3, §5).
//!
//! Every policy returns a [`Decision`]; its [`Explanation`] says which rule ran on which inputs,
//! how each layer's K was derived, what it costs in trainable parameters (SPEC §1 arithmetic) and
//! how that compares with the policy's uniform reference. It prints readably ([`std::fmt::Display`])
//! and serialises to JSON, so reports and `rankwise select-k --json` carry the same facts.

use std::fmt;

use modelspec::Architecture;
use serde::{Deserialize, Serialize};

use crate::Policy;

/// The ranks a policy chose, with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// K_l, one per layer.
    pub k_layers: Vec<usize>,
    /// K_e, the embedding adapter's rank.
    pub k_embed: usize,
    /// Why.
    pub explanation: Explanation,
}

impl Decision {
    /// Exact trainable parameters of this decision (same as `explanation.params`).
    pub fn params(&self) -> usize {
        self.explanation.params
    }
}

/// A uniform scheme a decision is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The uniform rank (on every layer and the embedding).
    pub k: usize,
    /// Its trainable parameters.
    pub params: usize,
    /// `decision params − reference params` (negative: the decision is cheaper).
    pub diff_params: i64,
    /// `diff_params / reference params × 100`.
    pub diff_percent: f64,
}

impl Reference {
    /// The uniform-`k` reference for a decision costing `params` on `arch`.
    pub fn uniform(arch: &Architecture, k: usize, params: usize) -> Self {
        let ref_params = arch.trainable_params(&vec![k; arch.n_layers], k);
        let diff = params as i64 - ref_params as i64;
        let diff_percent =
            if ref_params == 0 { 0.0 } else { diff as f64 / ref_params as f64 * 100.0 };
        Reference { k, params: ref_params, diff_params: diff, diff_percent }
    }
}

/// Why a decision is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The rule's name (`uniform`, `er_ratio`, `budget_matched`, `step_budget`).
    pub rule: String,
    /// The rule in one line, with its parameters filled in.
    pub summary: String,
    /// The policy as configured, with every default made explicit.
    pub policy: Policy,
    /// The per-layer ER the rule read, if it reads ER.
    pub er: Option<Vec<f64>>,
    /// The run length in steps the rule read, if it reads one.
    pub steps: Option<u64>,
    /// How each K was derived, one line each (per layer, or per table row).
    pub derivation: Vec<String>,
    /// K_l, one per layer.
    pub k_layers: Vec<usize>,
    /// K_e.
    pub k_embed: usize,
    /// Mean of K_l (the paper's "Mean K").
    pub mean_k: f64,
    /// Parameters per unit of K in one layer.
    pub layer_unit_cost: usize,
    /// Parameters per unit of K_e.
    pub embed_unit_cost: usize,
    /// Exact trainable parameters: Σ layer_unit_cost·K_l + embed_unit_cost·K_e.
    pub params: usize,
    /// The uniform scheme this decision is measured against, if the rule has one.
    pub reference: Option<Reference>,
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn signed_thousands(n: i64) -> String {
    let sign = if n < 0 { "−" } else { "+" };
    format!("{sign}{}", thousands(n.unsigned_abs() as usize))
}

fn list<T: fmt::Display>(xs: &[T]) -> String {
    xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rule: {} — {}", self.rule, self.summary)?;
        if let Some(er) = &self.er {
            let er: Vec<String> = er.iter().map(|v| format!("{v:.2}")).collect();
            writeln!(f, "ER per layer: {}", er.join(", "))?;
        }
        if let Some(steps) = self.steps {
            writeln!(f, "steps: {steps}")?;
        }
        for line in &self.derivation {
            writeln!(f, "  {line}")?;
        }
        writeln!(f, "K per layer: {} (mean {:.2})", list(&self.k_layers), self.mean_k)?;
        writeln!(f, "K_e: {}", self.k_embed)?;
        writeln!(
            f,
            "trainable params: {} ({} per K per layer, {} per K_e)",
            thousands(self.params),
            thousands(self.layer_unit_cost),
            thousands(self.embed_unit_cost)
        )?;
        match &self.reference {
            Some(r) => write!(
                f,
                "reference uniform_{}: {} params; difference {} ({}{:.2}%)",
                r.k,
                thousands(r.params),
                signed_thousands(r.diff_params),
                if r.diff_percent < 0.0 { "−" } else { "+" },
                r.diff_percent.abs()
            ),
            None => write!(f, "reference: none (the decision is itself uniform)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_553_376), "1,553,376");
        assert_eq!(signed_thousands(-16_384), "−16,384");
    }

    #[test]
    fn reference_difference() {
        // adaptive (1,553,376) vs uniform_32 (1,536,992): +16,384 = +1.066% (the paper's +1.07%).
        let r = Reference::uniform(&Architecture::paper(), 32, 1_553_376);
        assert_eq!(r.params, 1_536_992);
        assert_eq!(r.diff_params, 16_384);
        assert_eq!(format!("{:.2}", r.diff_percent), "1.07");
    }
}
