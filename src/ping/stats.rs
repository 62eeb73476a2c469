//! Round-trip statistics, computed and printed exactly as iputils does (`finish()` and
//! `gather_statistics()` in ping_common.c), so numbers from both tools can be compared and the
//! same scripts parse both.
//!
//! iputils works in whole microseconds with integer arithmetic: the average truncates, and mdev
//! is the integer square root of an integer variance. Floating point would print different last
//! digits, so this module does the same integer steps.

use serde::Serialize;

/// Counters and sums over one run; times in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub transmitted: u64,
    /// Distinct sequence numbers answered (duplicates not counted).
    pub received: u64,
    pub duplicates: u64,
    pub corrupted: u64,
    pub errors: u64,
    /// Sum and sum of squares of every timed reply, duplicates included (as iputils does).
    #[serde(skip)]
    pub tsum: i64,
    #[serde(skip)]
    pub tsum2: i64,
    #[serde(skip)]
    pub tmin: i64,
    #[serde(skip)]
    pub tmax: i64,
    /// iputils' `rtt`: an exponentially weighted mean, scaled by 8 (new = old + t - old/8).
    #[serde(skip)]
    pub ewma8: i64,
    /// How many times went into the sums (replies and duplicates).
    #[serde(skip)]
    pub timed: u64,
}

/// The `rtt min/avg/max/mdev` numbers, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtt {
    pub min: i64,
    pub avg: i64,
    pub max: i64,
    pub mdev: i64,
}

impl Stats {
    /// Adds one timed reply (first or duplicate).
    pub fn add_time(&mut self, micros: i64) {
        let t = micros.max(0);
        if self.timed == 0 || t < self.tmin {
            self.tmin = t;
        }
        if t > self.tmax {
            self.tmax = t;
        }
        self.ewma8 = if self.ewma8 == 0 {
            t.saturating_mul(8)
        } else {
            self.ewma8.saturating_add(t) - self.ewma8 / 8
        };
        self.timed += 1;
        self.tsum = self.tsum.saturating_add(t);
        self.tsum2 = self.tsum2.saturating_add(t.saturating_mul(t));
    }

    /// iputils' rtt figures, `None` before the first reply.
    pub fn rtt(&self) -> Option<Rtt> {
        if self.received == 0 {
            return None;
        }
        let total = (self.received + self.duplicates) as i64;
        let avg = self.tsum / total;
        // iputils' order of operations, which keeps small loopback times from rounding to 0.
        let var = if self.tsum < i64::from(i32::MAX) {
            (self.tsum2 - (self.tsum * self.tsum) / total) / total
        } else {
            (self.tsum2 / total).saturating_sub(avg.saturating_mul(avg))
        };
        Some(Rtt {
            min: self.tmin,
            avg,
            max: self.tmax,
            // Only saturated sums (hours-long round trips) can make this negative.
            mdev: llsqrt(var.max(0)),
        })
    }

    /// Loss in percent as iputils computes it (in single precision, printed with `%g`).
    pub fn loss_percent(&self) -> f64 {
        if self.transmitted == 0 {
            return 0.0;
        }
        let lost = self.transmitted as f64 - self.received as f64;
        f64::from((lost * 100.0 / self.transmitted as f64) as f32)
    }

    /// The line `N packets transmitted, M received, …, X% packet loss, time Tms`.
    pub fn summary_line(&self, elapsed_ms: u64) -> String {
        let mut s = format!(
            "{} packets transmitted, {} received",
            self.transmitted, self.received
        );
        if self.duplicates > 0 {
            s.push_str(&format!(", +{} duplicates", self.duplicates));
        }
        if self.corrupted > 0 {
            s.push_str(&format!(", +{} corrupted", self.corrupted));
        }
        if self.errors > 0 {
            s.push_str(&format!(", +{} errors", self.errors));
        }
        if self.transmitted > 0 {
            s.push_str(&format!(
                ", {}% packet loss, time {elapsed_ms}ms",
                format_g(self.loss_percent())
            ));
        }
        s
    }

    /// The `rtt min/avg/max/mdev = …` line, `None` without replies. With `-i 0`
    /// (`zero_interval`) iputils appends the inter-packet gap and the weighted mean.
    pub fn rtt_line(&self, elapsed_us: u64, zero_interval: bool) -> Option<String> {
        let r = self.rtt()?;
        let mut s = format!(
            "rtt min/avg/max/mdev = {}/{}/{}/{} ms",
            ms3(r.min),
            ms3(r.avg),
            ms3(r.max),
            ms3(r.mdev)
        );
        if zero_interval && self.transmitted > 1 {
            // iputils keeps both in C ints; they print as %d.%03d.
            let ipg = (elapsed_us / (self.transmitted - 1)) as i64;
            s.push_str(&format!(
                ", ipg/ewma {}/{}.{:03} ms",
                ms3(ipg),
                self.ewma8 / 8000,
                (self.ewma8 / 8) % 1000
            ));
        }
        Some(s)
    }
}

/// iputils' `llsqrt`: Newton's method on integers, rounding down.
pub fn llsqrt(a: i64) -> i64 {
    let mut prev = i64::MAX;
    let mut x = a;
    if x > 0 {
        while x < prev {
            prev = x;
            x = (x + a / x) / 2;
        }
    }
    x
}

/// Microseconds as `ms.uuu`, the `%ld.%03ld` of the statistics line.
pub fn ms3(micros: i64) -> String {
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// The `time=` field of a reply line: three significant decimals for small times, fewer as
/// they grow, rounded the way iputils rounds.
pub fn reply_time(t: i64) -> String {
    if t >= 100_000 - 50 {
        format!("{}", (t + 500) / 1000)
    } else if t >= 10_000 - 5 {
        format!("{}.{}", (t + 50) / 1000, ((t + 50) % 1000) / 100)
    } else if t >= 1000 {
        format!("{}.{:02}", (t + 5) / 1000, ((t + 5) % 1000) / 10)
    } else {
        format!("{}.{:03}", t / 1000, t % 1000)
    }
}

/// C's `%g` for finite values: six significant digits, trailing zeros removed, exponent form
/// below 1e-4 or from 1e6.
pub fn format_g(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".to_string()
        } else {
            v.to_string()
        };
    }
    let sci = format!("{:.5e}", v);
    let exp: i32 = sci
        .rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..6).contains(&exp) {
        let (mant, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant.to_string()), exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(format!("{v:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of(times: &[i64], transmitted: u64) -> Stats {
        let mut s = Stats {
            transmitted,
            ..Stats::default()
        };
        for &t in times {
            s.add_time(t);
            s.received += 1;
        }
        s
    }

    /// iputils' finish() in C, transcribed independently with the same integer types, to check
    /// the module against the formula rather than against numbers typed by hand.
    fn iputils_mdev(times: &[i64]) -> i64 {
        let total = times.len() as i64;
        let tsum: i64 = times.iter().sum();
        let tsum2: i64 = times.iter().map(|t| t * t).sum();
        let tmvar = if tsum < 2_147_483_647 {
            (tsum2 - (tsum * tsum) / total) / total
        } else {
            tsum2 / total - (tsum / total) * (tsum / total)
        };
        // iputils' llsqrt, as its comment in other ports says: the floor of the square root,
        // except sqrt(a+1) when a+1 is a perfect square (Newton stops one step late there).
        let mut r = (tmvar as f64).sqrt() as i64;
        while r * r > tmvar {
            r -= 1;
        }
        while (r + 1) * (r + 1) <= tmvar {
            r += 1;
        }
        if tmvar > 0 && (r + 1) * (r + 1) == tmvar + 1 {
            r += 1;
        }
        r
    }

    #[test]
    fn matches_iputils_sample_output() {
        // Real iputils run on this machine: times 0.467 and 0.064 ms printed
        // "rtt min/avg/max/mdev = 0.064/0.265/0.467/0.201 ms".
        let s = stats_of(&[467, 64], 2);
        assert_eq!(
            s.rtt_line(0, false).unwrap(),
            "rtt min/avg/max/mdev = 0.064/0.265/0.467/0.201 ms"
        );
        assert_eq!(
            s.summary_line(202),
            "2 packets transmitted, 2 received, 0% packet loss, time 202ms"
        );
    }

    #[test]
    fn mdev_follows_iputils_formula() {
        let sets: [&[i64]; 5] = [
            &[1],
            &[30, 31, 29, 40, 25],
            &[1_000_000, 2, 3_000_000],
            &[55, 55, 55, 55],
            &[1_500_000; 3000],
        ];
        for times in sets {
            let s = stats_of(times, times.len() as u64);
            assert_eq!(s.rtt().unwrap().mdev, iputils_mdev(times), "{times:?}");
        }
        assert_eq!(stats_of(&[55, 55, 55], 3).rtt().unwrap().mdev, 0);
    }

    #[test]
    fn llsqrt_is_iputils_newton() {
        for a in [
            1i64,
            2,
            3,
            4,
            8,
            15,
            16,
            17,
            24,
            99,
            100,
            1 << 40,
            (1 << 40) - 1,
        ] {
            let r = llsqrt(a);
            let perfect_next = {
                let s = ((a + 1) as f64).sqrt() as i64;
                s * s == a + 1
            };
            if perfect_next {
                assert_eq!(r * r, a + 1, "{a} → {r}");
            } else {
                assert!(r * r <= a && (r + 1) * (r + 1) > a, "{a} → {r}");
            }
        }
        assert_eq!(llsqrt(3), 2);
        assert_eq!(llsqrt(0), 0);
        assert_eq!(
            llsqrt(-5),
            -5,
            "iputils returns its input for non-positive values"
        );
    }

    #[test]
    fn ipg_and_ewma_with_zero_interval() {
        let mut s = stats_of(&[40, 80], 2);
        // ewma: 40*8=320, then 320 + 80 - 40 = 360 → 45 µs.
        assert_eq!(
            s.rtt_line(1_500, true).unwrap(),
            "rtt min/avg/max/mdev = 0.040/0.060/0.080/0.020 ms, ipg/ewma 1.500/0.045 ms"
        );
        s.transmitted = 1;
        assert!(!s.rtt_line(1_500, true).unwrap().contains("ipg"));
    }

    #[test]
    fn absurd_times_do_not_overflow() {
        let s = stats_of(&[i64::MAX / 2, i64::MAX / 2, 1], 3);
        let r = s.rtt().unwrap();
        assert!(r.min == 1 && r.max == i64::MAX / 2 && r.mdev >= 0, "{r:?}");
    }

    #[test]
    fn duplicates_count_in_times_not_in_received() {
        let mut s = stats_of(&[100, 300], 2);
        s.add_time(200);
        s.duplicates += 1;
        let r = s.rtt().unwrap();
        assert_eq!(r.avg, 200, "sum 600 over received+duplicates");
        assert_eq!(
            s.summary_line(1001),
            "2 packets transmitted, 2 received, +1 duplicates, 0% packet loss, time 1001ms"
        );
    }

    #[test]
    fn loss_with_errors_and_fractions() {
        let mut s = stats_of(&[10], 3);
        s.errors = 2;
        assert_eq!(
            s.summary_line(2003),
            "3 packets transmitted, 1 received, +2 errors, 66.6667% packet loss, time 2003ms"
        );
        let none = Stats {
            transmitted: 2,
            ..Stats::default()
        };
        assert!(none.rtt_line(0, false).is_none());
        assert_eq!(
            none.summary_line(1000),
            "2 packets transmitted, 0 received, 100% packet loss, time 1000ms"
        );
        assert_eq!(
            Stats::default().summary_line(0),
            "0 packets transmitted, 0 received"
        );
    }

    #[test]
    fn format_g_like_c() {
        assert_eq!(format_g(0.0), "0");
        assert_eq!(format_g(100.0), "100");
        assert_eq!(format_g(f64::from(100.0f32 / 3.0)), "33.3333");
        assert_eq!(
            format_g(f64::from(1.0f32 / 3.0 * 100.0 / 100.0)),
            "0.333333"
        );
        assert_eq!(format_g(0.5), "0.5");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
    }

    #[test]
    fn reply_time_rounds_like_iputils() {
        assert_eq!(reply_time(29), "0.029");
        assert_eq!(reply_time(999), "0.999");
        assert_eq!(reply_time(1234), "1.23");
        assert_eq!(reply_time(9994), "9.99");
        assert_eq!(reply_time(9995), "10.0");
        assert_eq!(reply_time(12345), "12.3");
        assert_eq!(reply_time(99_950), "100");
        assert_eq!(reply_time(250_400), "250");
    }
}
