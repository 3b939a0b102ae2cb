//! A progress bar for single runs outside the pipeline (`train`).

use indicatif::{ProgressBar, ProgressStyle};
use pipeline::Progress;

/// Shows steps, loss and tokens/s of one run on stderr.
#[derive(Debug)]
pub struct LineProgress {
    bar: ProgressBar,
    started: std::time::Instant,
}

impl LineProgress {
    /// A bar for `steps` steps (0: unknown length).
    pub fn new(steps: usize) -> Self {
        let bar = if steps > 0 { ProgressBar::new(steps as u64) } else { ProgressBar::no_length() };
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed_precise}]")
        {
            bar.set_style(style);
        }
        LineProgress { bar, started: std::time::Instant::now() }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for LineProgress {
    fn step(&self, step: usize, train_loss: f64, tokens: usize) {
        let rate = (step * tokens) as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_position(step as u64);
        self.bar.set_message(format!("loss {train_loss:.4}, {rate:.0} tok/s"));
    }

    fn note(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }
}
