//! `rankwise params`: the exact trainable-parameter count of an adapter configuration (SPEC §1),
//! e.g. the five numbers of Paper 84's table.

use anyhow::{Context, Result, bail};
use modelspec::{AdapterConfig, Architecture, ScaleConvention};

/// Arguments of `rankwise params`.
#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    /// Model preset: `paper` (V 15,007, d 256, 8 layers, FFN 1024) or `smoke`.
    #[arg(long, default_value = "paper")]
    pub preset: String,
    /// The same K on every layer and the embedding.
    #[arg(long, conflicts_with_all = ["k_per_layer", "k_embed"])]
    pub k: Option<usize>,
    /// One K per layer, comma-separated (e.g. 32,33,28,36,33,34,33,31); needs --k-embed.
    #[arg(long, requires = "k_embed")]
    pub k_per_layer: Option<String>,
    /// K_e, the embedding adapter's rank (with --k-per-layer).
    #[arg(long, requires = "k_per_layer")]
    pub k_embed: Option<usize>,
    /// Print `{"params": N}` instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Looks up a model preset by name, or says which exist.
pub fn preset(name: &str) -> Result<Architecture> {
    Architecture::preset(name)
        .with_context(|| format!("unknown preset {name:?}; use --preset paper or --preset smoke"))
}

/// Runs `rankwise params`.
pub fn run(args: ParamsArgs) -> Result<()> {
    let arch = preset(&args.preset)?;
    let (k_layers, k_embed) = match (args.k, &args.k_per_layer, args.k_embed) {
        (Some(k), None, None) => (vec![k; arch.n_layers], k),
        (None, Some(list), Some(e)) => (
            policy::parse_usize_list(list)
                .map_err(anyhow::Error::msg)
                .context("reading --k-per-layer")?,
            e,
        ),
        _ => bail!("give either --k K, or --k-per-layer a,b,… with --k-embed E"),
    };
    let adapter = AdapterConfig { k_layers, k_embed, scale: ScaleConvention::Lora, alpha: 1.0 };
    arch.validate_adapter(&adapter).context("checking the ranks against the model")?;
    let params = arch.trainable_params(&adapter.k_layers, adapter.k_embed);
    if args.json {
        println!("{}", serde_json::json!({ "params": params }));
    } else {
        println!(
            "{} trainable parameters ({} preset: {} per K per layer, {} per K_e; K = {:?}, K_e = {})",
            policy::explain::thousands(params),
            args.preset,
            arch.layer_unit_cost(),
            arch.embed_unit_cost(),
            adapter.k_layers,
            adapter.k_embed
        );
    }
    Ok(())
}
