//! A progress bar on stderr, shown only to a person (stderr is a terminal) and only once the
//! audit has taken long enough to be worth one; a quick audit never flashes a bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(300);

pub struct Progress {
    enabled: bool,
    start: Instant,
    total: u64,
    done: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(total: usize, wanted: bool) -> Progress {
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
            start: Instant::now(),
            total: total as u64,
            done: 0,
            bar: None,
        }
    }

    pub fn inc(&mut self) {
        self.done += 1;
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() >= DELAY && self.done < self.total {
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("inspecting containers {bar:30} {pos}/{len} {elapsed}")
            {
                bar.set_style(style);
            }
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
