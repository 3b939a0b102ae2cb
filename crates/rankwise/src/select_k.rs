//! `rankwise select-k`: choose per-layer ranks with a policy (SPEC §3) and explain the choice.
//!
//! The policy comes from `--policy NAME` plus flags, or from a TOML/JSON file (`--policy-file`)
//! holding any policy the `policy` crate reads, so users can write their own.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use policy::{BudgetMatched, ErRatio, Inputs, Policy, StepBudget, Uniform};

use crate::params::preset;

/// The built-in policies by CLI name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyName {
    /// K_l = round(ER_l / ratio), K_e = 32 (needs --er).
    ErRatio,
    /// K ∝ ER within uniform reference_k's parameter count (needs --er, --reference-k).
    BudgetMatched,
    /// The same K everywhere (needs --k).
    Uniform,
    /// K by run length: <10 → 8, [10,30) → 32, [30,60) → 64, ≥60 → 2 (needs --steps).
    StepBudget,
}

/// Arguments of `rankwise select-k`.
#[derive(Debug, clap::Args)]
pub struct SelectKArgs {
    /// The rule to apply.
    #[arg(
        long,
        value_enum,
        required_unless_present = "policy_file",
        conflicts_with = "policy_file"
    )]
    pub policy: Option<PolicyName>,
    /// A policy written as TOML or JSON (by extension), e.g. `policy = "er_ratio"` and its keys.
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
    /// Per-layer ER, comma-separated (e.g. 20.08,20.48,17.61,22.44,20.39,20.98,20.29,19.36).
    #[arg(long)]
    pub er: Option<String>,
    /// ER per unit of K for er-ratio (default 0.62).
    #[arg(long)]
    pub ratio: Option<f64>,
    /// The uniform K whose parameter count budget-matched must not exceed.
    #[arg(long)]
    pub reference_k: Option<usize>,
    /// K for the uniform policy.
    #[arg(long)]
    pub k: Option<usize>,
    /// Run length in steps, for step-budget.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Model preset: `paper` or `smoke`.
    #[arg(long, default_value = "paper")]
    pub preset: String,
    /// Print one JSON object with keys `k`, `k_embed`, `params`, `explanation`.
    #[arg(long)]
    pub json: bool,
}

/// Builds the policy the flags describe, rejecting flags that the chosen policy does not read.
pub fn policy_from_args(args: &SelectKArgs) -> Result<Policy> {
    if let Some(path) = &args.policy_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the policy file {}", path.display()))?;
        let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json {
            serde_json::from_str(&text).map_err(anyhow::Error::from)
        } else {
            toml::from_str(&text).map_err(anyhow::Error::from)
        };
        if args.ratio.is_some() || args.reference_k.is_some() || args.k.is_some() {
            bail!(
                "--ratio, --reference-k and --k set a built-in policy; with --policy-file put them in the file"
            );
        }
        return parsed.with_context(|| format!("parsing the policy file {}", path.display()));
    }
    let Some(name) = args.policy else {
        bail!("give --policy NAME or --policy-file PATH");
    };
    let unused = |flag: &str, used_by: &str| {
        anyhow::anyhow!("{flag} does not apply to --policy {}; it is for {used_by}", name_of(name))
    };
    if args.ratio.is_some() && name != PolicyName::ErRatio {
        return Err(unused("--ratio", "er-ratio"));
    }
    if args.reference_k.is_some() && name != PolicyName::BudgetMatched {
        return Err(unused("--reference-k", "budget-matched"));
    }
    if args.k.is_some() && name != PolicyName::Uniform {
        return Err(unused("--k", "uniform"));
    }
    if args.steps.is_some() && name != PolicyName::StepBudget {
        return Err(unused("--steps", "step-budget"));
    }
    if args.er.is_some() && matches!(name, PolicyName::Uniform | PolicyName::StepBudget) {
        return Err(unused("--er", "er-ratio and budget-matched"));
    }
    Ok(match name {
        PolicyName::ErRatio => {
            let mut r = ErRatio::default();
            if let Some(ratio) = args.ratio {
                r.ratio = ratio;
            }
            Policy::ErRatio(r)
        }
        PolicyName::BudgetMatched => Policy::BudgetMatched(BudgetMatched {
            reference_k: args
                .reference_k
                .context("--policy budget-matched needs --reference-k K (e.g. 32)")?,
            k_embed: None,
            min_k: 1,
            max_k: None,
        }),
        PolicyName::Uniform => Policy::Uniform(Uniform {
            k: args.k.context("--policy uniform needs --k K (e.g. 32)")?,
            k_embed: None,
        }),
        PolicyName::StepBudget => Policy::StepBudget(StepBudget::default()),
    })
}

fn name_of(p: PolicyName) -> &'static str {
    match p {
        PolicyName::ErRatio => "er-ratio",
        PolicyName::BudgetMatched => "budget-matched",
        PolicyName::Uniform => "uniform",
        PolicyName::StepBudget => "step-budget",
    }
}

/// Runs `rankwise select-k`.
pub fn run(args: SelectKArgs) -> Result<()> {
    let arch = preset(&args.preset)?;
    let policy = policy_from_args(&args)?;
    let er = match &args.er {
        Some(text) => {
            Some(policy::parse_f64_list(text).map_err(anyhow::Error::msg).context("reading --er")?)
        }
        None => None,
    };
    let decision = policy
        .decide(&arch, Inputs { er: er.as_deref(), steps: args.steps })
        .with_context(|| format!("applying policy {}", policy.name()))?;
    if args.json {
        let out = serde_json::json!({
            "k": decision.k_layers,
            "k_embed": decision.k_embed,
            "params": decision.params(),
            "explanation": decision.explanation,
        });
        println!("{out}");
    } else {
        println!("{}", decision.explanation);
    }
    Ok(())
}
