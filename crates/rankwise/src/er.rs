//! `rankwise er FILE.npy`: every rank measure of one 2-D `float32`/`float64` array (SPEC §4), as a
//! table or, with `--json`, one JSON object with exactly the keys `shape`, `convention`,
//! `effective_rank`, `stable_rank`, `participation_ratio`, `energy_rank_90`, `energy_rank_99`,
//! `numerical_rank`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use effrank::{Convention, Method, NpyMatrix, RankMeasures, Spectrum};

/// Arguments of `rankwise er`.
#[derive(Debug, clap::Args)]
pub struct ErArgs {
    /// A .npy file holding one 2-D float32 or float64 array (C or Fortran order).
    pub file: PathBuf,
    /// Probability convention for the effective rank: sigma (p = σ/Σσ, the default), sigma2
    /// (p = σ²/Σσ²) or softmax (p = softmax(σ)).
    #[arg(long, default_value = "sigma", value_parser = parse_convention)]
    pub convention: Convention,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn parse_convention(s: &str) -> Result<Convention, String> {
    s.parse::<Convention>().map_err(|e| e.to_string())
}

/// Runs `rankwise er`.
pub fn run(args: &ErArgs) -> anyhow::Result<()> {
    let matrix = effrank::read_npy(&args.file)
        .with_context(|| format!("cannot read the matrix in {}", args.file.display()))?;
    let spectrum = matrix
        .spectrum(Method::Auto)
        .with_context(|| format!("cannot measure the matrix in {}", args.file.display()))?;
    let measures = spectrum.measures(args.convention);
    if args.json {
        println!("{}", serde_json::to_string(&measures).context("cannot encode the measures")?);
    } else {
        print!("{}", render_table(&args.file, &matrix, &spectrum, &measures));
    }
    Ok(())
}

fn render_table(
    file: &std::path::Path,
    matrix: &NpyMatrix,
    spectrum: &Spectrum,
    m: &RankMeasures,
) -> String {
    let mut out = String::new();
    let [rows, cols] = m.shape;
    let eps = match spectrum.precision() {
        effrank::Precision::F32 => "ε_f32",
        effrank::Precision::F64 => "ε_f64",
    };
    let rows_out: [(&str, String); 10] = [
        ("file", file.display().to_string()),
        ("shape", format!("{rows} × {cols} ({})", matrix.dtype_name())),
        ("convention", format!("{} ({})", m.convention, m.convention.formula())),
        ("effective rank", format!("{:.4}", m.effective_rank)),
        ("stable rank", format!("{:.4}", m.stable_rank)),
        ("participation ratio", format!("{:.4}", m.participation_ratio)),
        ("energy rank 90%", m.energy_rank_90.to_string()),
        ("energy rank 99%", m.energy_rank_99.to_string()),
        (
            "numerical rank",
            format!(
                "{} (σ > {:.3e} = σ_max·max(m,n)·{eps})",
                m.numerical_rank,
                spectrum.default_tolerance()
            ),
        ),
        ("spectrum from", format!("{:?}", spectrum.path()).to_lowercase()),
    ];
    for (name, value) in rows_out {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{name:<20} {value}");
    }
    out
}
