//! Progress display for a pipeline invocation (issue 6, item 4): one bar per running run (steps,
//! loss, tokens/s) and an overall bar (steps to train, runs done, ETA), drawn with `indicatif`
//! on stderr, or hidden.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::request::Progress;

/// The bars of one invocation.
#[derive(Debug)]
pub struct Ui {
    multi: MultiProgress,
    overall: ProgressBar,
    runs_total: usize,
    runs_done: AtomicUsize,
    visible: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Ui {
    /// Bars for `total_steps` steps to train over `runs_total` runs; drawn only if `visible`.
    pub fn new(visible: bool, total_steps: u64, runs_total: usize) -> Self {
        let target =
            if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total_steps));
        overall.set_style(style(
            "{prefix:>12} [{elapsed_precise}] [{wide_bar}] {pos}/{len} steps · {msg} · ETA {eta}",
        ));
        overall.set_prefix("overall");
        let ui = Ui { multi, overall, runs_total, runs_done: AtomicUsize::new(0), visible };
        ui.update_message();
        ui
    }

    fn update_message(&self) {
        let done = self.runs_done.load(Ordering::Relaxed);
        self.overall.set_message(format!("runs {done}/{}", self.runs_total));
    }

    /// A bar for a run that is being computed.
    pub fn run_bar(&self, label: &str, run_id: &str, steps: usize) -> RunBar<'_> {
        let bar = self.multi.insert_before(&self.overall, ProgressBar::new(steps as u64));
        bar.set_style(style("{prefix:>12} [{bar:30}] {pos}/{len} {msg}"));
        bar.set_prefix(label.to_string());
        bar.set_message(format!("{run_id} starting"));
        RunBar {
            bar,
            overall: &self.overall,
            started: Instant::now(),
            tokens: AtomicU64::new(0),
            last_step: AtomicUsize::new(0),
        }
    }

    /// A run is done: `skipped_steps` are the steps its bar did not report (all of them for a
    /// run found finished in the store).
    pub fn run_done(&self, skipped_steps: u64) {
        self.overall.inc(skipped_steps);
        self.runs_done.fetch_add(1, Ordering::Relaxed);
        self.update_message();
    }

    /// Prints a line above the bars, or as a plain stderr line when the bars are hidden (a log
    /// without a terminal still shows which run finished when).
    pub fn println(&self, line: &str) {
        if self.visible {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// The [`Progress`] of one run.
#[derive(Debug)]
pub struct RunBar<'a> {
    bar: ProgressBar,
    overall: &'a ProgressBar,
    started: Instant,
    tokens: AtomicU64,
    last_step: AtomicUsize,
}

impl RunBar<'_> {
    /// Steps reported so far.
    pub fn steps_reported(&self) -> usize {
        self.last_step.load(Ordering::Relaxed)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for RunBar<'_> {
    fn step(&self, step: usize, train_loss: f64, tokens: usize) {
        let total = self.tokens.fetch_add(tokens as u64, Ordering::Relaxed) + tokens as u64;
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let prev = self.last_step.swap(step, Ordering::Relaxed);
        self.overall.inc(step.saturating_sub(prev) as u64);
        self.bar.set_position(step as u64);
        self.bar.set_message(format!("loss {train_loss:.4} · {:.0} tok/s", total as f64 / secs));
    }

    fn note(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }
}
