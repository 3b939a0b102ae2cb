//! Prepares the data of a profile and prints what it took: tokenizer training time, cache hits,
//! tokens per split.
//!
//! `cargo run --release -p corpus --example prepare -- [paper|smoke] [CORPUS_PATH…]`
//! (uses `$RANKWISE_CACHE` or `~/.cache/rankwise`; the default corpus needs `cargo xtask setup`).

use std::path::PathBuf;
use std::time::Instant;

use corpus::{CorpusSource, DataConfig, default_cache_dir, prepare};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut config = match args.next().as_deref() {
        Some("smoke") => DataConfig::smoke(),
        Some("paper") | None => DataConfig::paper(),
        Some(other) => return Err(format!("unknown profile {other:?}: use paper or smoke").into()),
    };
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    if !paths.is_empty() {
        config.corpus = CorpusSource::Paths(paths);
    }
    let cache = default_cache_dir();
    let started = Instant::now();
    let data = prepare(&config, &cache)?;
    let counts = data.counts();
    println!("corpus:           {}", config.corpus.describe());
    println!("vocab size:       {}", data.vocab_size());
    println!("tokenizer:        {}", data.tokenizer.path.display());
    println!(
        "tokenizer:        cache hit {}, trained in {:.2} s",
        data.tokenizer.cache_hit, data.tokenizer.train_seconds
    );
    println!(
        "streams:          {} (cache hit {})",
        data.streams_dir.display(),
        data.streams_cache_hit
    );
    println!(
        "documents:        pretrain {}, adapt {}, validation {}",
        data.split.pretrain.len(),
        data.split.adapt.len(),
        data.split.validation.len()
    );
    println!(
        "tokens:           pretrain {}, adapt {}, validation {}",
        counts.pretrain, counts.adapt, counts.validation
    );
    println!("total time:       {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
