//! Adaptive trial deadlines. Until a trial has passed, a trial may take the whole
//! `--timeout`; once one has, the time it took to pass tells how long a working run needs, and
//! a later trial that has not passed after a few times that is failed. Without this, every
//! failing trial of a service that hangs instead of exiting (nginx's master after its workers
//! died) waits out the whole timeout.

use std::time::Duration;

/// A trial may take this many times the slowest pass seen...
pub const FACTOR: u32 = 3;
/// ...but never less than this (a scheduling hiccup must not fail a working run)...
pub const FLOOR: Duration = Duration::from_secs(3);
// ...and never more than `--timeout`.

#[derive(Debug, Clone)]
pub struct Deadlines {
    max: Duration,
    slowest_pass: Option<Duration>,
}

impl Deadlines {
    pub fn new(max: Duration) -> Deadlines {
        Deadlines {
            max,
            slowest_pass: None,
        }
    }

    /// Records the time from start to pass of a passing trial.
    pub fn passed(&mut self, took: Duration) {
        self.slowest_pass = Some(self.slowest_pass.map_or(took, |s| s.max(took)));
    }

    /// How long the next trial may take.
    pub fn current(&self) -> Duration {
        match self.slowest_pass {
            None => self.max,
            Some(p) => (p * FACTOR).max(FLOOR).min(self.max),
        }
    }

    /// The slowest pass so far, for the report.
    pub fn slowest_pass(&self) -> Option<Duration> {
        self.slowest_pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_after_a_pass_within_floor_and_max() {
        let mut d = Deadlines::new(Duration::from_secs(30));
        assert_eq!(d.current(), Duration::from_secs(30));
        d.passed(Duration::from_millis(200));
        assert_eq!(d.current(), FLOOR);
        d.passed(Duration::from_secs(2));
        assert_eq!(d.current(), Duration::from_secs(6));
        d.passed(Duration::from_millis(100));
        assert_eq!(
            d.current(),
            Duration::from_secs(6),
            "the slowest pass counts"
        );
        d.passed(Duration::from_secs(20));
        assert_eq!(d.current(), Duration::from_secs(30));
        let mut short = Deadlines::new(Duration::from_secs(2));
        short.passed(Duration::from_millis(10));
        assert_eq!(
            short.current(),
            Duration::from_secs(2),
            "never above --timeout"
        );
    }
}
