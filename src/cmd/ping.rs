//! `dropcap ping`: ICMP echo through a datagram socket, so health checks and diagnosis work in
//! containers that dropped NET_RAW. Options and output follow iputils `ping`, so scripts and
//! habits carry over.

use crate::output::{Format, Style};
use crate::ping::{self, Event, Family, Options, PingError, Summary, Want};
use crate::Outcome;
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct PingArgs {
    /// Host name or address to ping (names resolve through the system resolver, A and AAAA).
    pub host: String,
    /// Stop after sending COUNT requests (with -w: after COUNT replies).
    #[arg(
        short = 'c',
        allow_hyphen_values = true,
        value_name = "COUNT",
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    pub count: Option<u64>,
    /// Seconds between requests (default 1; 0 sends as soon as a reply arrives, root only).
    #[arg(
        short = 'i',
        allow_hyphen_values = true,
        value_name = "INTERVAL",
        value_parser = parse_seconds,
    )]
    pub interval: Option<Duration>,
    /// Seconds to wait for a reply after the last request when none came back (default 10;
    /// 0 waits for ever).
    #[arg(
        short = 'W',
        allow_hyphen_values = true,
        value_name = "TIMEOUT",
        value_parser = parse_seconds,
    )]
    pub timeout: Option<Duration>,
    /// Stop after this many seconds, however many requests were sent or answered (0: no
    /// deadline, as in iputils).
    #[arg(
        short = 'w',
        allow_hyphen_values = true,
        value_name = "DEADLINE",
        value_parser = parse_seconds,
    )]
    pub deadline: Option<Duration>,
    /// Payload bytes per request (default 56, making 64 ICMP bytes).
    #[arg(short = 's', allow_hyphen_values = true, value_name = "SIZE")]
    pub size: Option<usize>,
    /// IPv4 time to live / IPv6 hop limit of requests.
    #[arg(
        short = 't',
        allow_hyphen_values = true,
        value_name = "TTL",
        value_parser = clap::value_parser!(u8).range(1..),
    )]
    pub ttl: Option<u8>,
    /// Quiet: only the first line and the statistics.
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Use IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 only.
    #[arg(short = '6')]
    pub ipv6: bool,
    /// Numeric output: print addresses, not names.
    #[arg(short = 'n')]
    pub numeric: bool,
    /// Health-check mode: print nothing, answer with the exit code (0 reply, 1 none, 2 error);
    /// only on exit 2 is the reason written to stderr, which Docker keeps in the health log.
    /// Defaults to one request and a 1-second timeout unless -c / -W say otherwise.
    #[arg(long)]
    pub check: bool,
    /// Never fall back to a raw socket, even when NET_RAW is held.
    #[arg(long)]
    pub datagram_only: bool,
}

/// Seconds as iputils takes them: a non-negative decimal number.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("'{s}' is not a non-negative number of seconds"));
    }
    if v > 2_147_483.0 {
        return Err(format!("'{s}' seconds is out of range (at most 2147483)"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// iputils' limit for users who are not root: faster than every 2 ms is a flood.
const MIN_USER_INTERVAL: Duration = Duration::from_millis(2);

impl PingArgs {
    /// The run's settings after defaults and checks; `is_root` decides the interval floor.
    pub fn options(&self, family: Family, is_root: bool) -> Result<Options, PingError> {
        let mut o = Options {
            count: self.count,
            ..Options::default()
        };
        if self.check {
            o.count = Some(self.count.unwrap_or(1));
            o.linger = Duration::from_secs(1);
        }
        if let Some(i) = self.interval {
            if i < MIN_USER_INTERVAL && !is_root {
                return Err(PingError::Usage(
                    "cannot flood, minimal interval for user must be >= 2 ms, use -i 0.002 (or higher)"
                        .into(),
                ));
            }
            o.interval = i;
        }
        if let Some(w) = self.timeout {
            o.linger = w;
        }
        o.deadline = self.deadline();
        if let Some(s) = self.size {
            let max = family.max_payload();
            if s > max {
                return Err(PingError::Usage(format!(
                    "invalid -s value: '{s}': out of range: 0 <= value <= {max}"
                )));
            }
            o.size = s;
        }
        o.ttl = self.ttl;
        Ok(o)
    }

    /// iputils reads `-w 0` as no deadline at all, not as one that has already passed.
    fn deadline(&self) -> Option<Duration> {
        self.deadline.filter(|d| !d.is_zero())
    }

    fn want(&self) -> Want {
        match (self.ipv4, self.ipv6) {
            (true, _) => Want::V4,
            (_, true) => Want::V6,
            _ => Want::Any,
        }
    }
}

/// How a reply's sender is printed: `name (addr)` when the user gave a name and the reply comes
/// from the address it resolved to, else the bare address (iputils would ask reverse DNS, which
/// means traffic to a resolver; dropcap never does that behind the user's back).
fn who(args: &PingArgs, target: IpAddr, from: Option<IpAddr>) -> String {
    let from = from.unwrap_or(target);
    let literal = args
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    if !args.numeric && !literal && from == target {
        format!("{} ({from})", args.host)
    } else {
        from.to_string()
    }
}

pub fn header(args: &PingArgs, target: IpAddr, size: usize) -> String {
    match target {
        IpAddr::V4(_) => format!(
            "PING {} ({target}) {size}({}) bytes of data.",
            args.host,
            size + ping::packet::ICMP_HEADER + ping::packet::IPV4_HEADER
        ),
        IpAddr::V6(_) => format!("PING {}({target}) {size} data bytes", args.host),
    }
}

/// One event as iputils prints it; `None` for events that go to stderr instead.
pub fn event_line(args: &PingArgs, target: IpAddr, ev: &Event) -> Option<String> {
    match ev {
        Event::Reply {
            bytes,
            from,
            seq,
            ttl,
            rtt_us,
            duplicate,
            bad_checksum,
        } => {
            let mut s = format!(
                "{bytes} bytes from {}: icmp_seq={seq}",
                who(args, target, *from)
            );
            if let Some(t) = ttl {
                s.push_str(&format!(" ttl={t}"));
            }
            if !bad_checksum {
                s.push_str(&format!(" time={} ms", ping::stats::reply_time(*rtt_us)));
            }
            if *duplicate {
                s.push_str(" (DUP!)");
            }
            if *bad_checksum {
                s.push_str(" (BAD CHECKSUM!)");
            }
            Some(s)
        }
        Event::IcmpError { from, seq, error } => Some(format!(
            "From {} icmp_seq={seq} {error}",
            who(args, target, *from)
        )),
        Event::LocalError { .. } => None,
    }
}

pub fn statistics(args: &PingArgs, summary: &Summary) -> String {
    let mut s = format!(
        "\n--- {} ping statistics ---\n{}\n",
        args.host,
        summary.stats.summary_line(summary.elapsed_ms)
    );
    let zero = args.interval.is_some_and(|i| i.is_zero());
    // iputils ends the block with a newline whether or not it printed the rtt line, so without
    // replies the output ends in an empty line; scripts that count lines see the same.
    if let Some(rtt) = summary.stats.rtt_line(summary.elapsed_us, zero) {
        s.push_str(&rtt);
    }
    s.push('\n');
    s
}

/// `--format json`: one object at the end of the run. Stable: fields are only ever added.
#[derive(Serialize)]
struct JsonRun<'a> {
    host: &'a str,
    address: String,
    family: &'static str,
    socket: ping::Kind,
    payload_bytes: usize,
    transmitted: u64,
    received: u64,
    duplicates: u64,
    corrupted: u64,
    errors: u64,
    loss_percent: f64,
    time_ms: u64,
    rtt_ms: Option<JsonRtt>,
    replies: Vec<JsonReply>,
    icmp_errors: Vec<JsonError>,
}

#[derive(Serialize)]
struct JsonRtt {
    min: f64,
    avg: f64,
    max: f64,
    mdev: f64,
}

#[derive(Serialize)]
struct JsonReply {
    seq: u16,
    from: Option<String>,
    bytes: usize,
    ttl: Option<u8>,
    time_ms: f64,
    duplicate: bool,
    bad_checksum: bool,
}

#[derive(Serialize)]
struct JsonError {
    seq: Option<u16>,
    from: Option<String>,
    message: String,
}

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

pub fn run(
    args: &PingArgs,
    format: Format,
    _style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, PingError> {
    if format == Format::Sarif {
        return Err(PingError::Usage(
            "--format sarif is only for audit; ping supports table and json".into(),
        ));
    }
    let target = ping::resolve(&args.host, args.want())?;
    let family = Family::of(target);
    // SAFETY: geteuid cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    let opts = args.options(family, is_root)?;
    let sock = ping::open_socket(&args.host, family, args.datagram_only)?;
    ping::route_probe(target)?;
    let stop = ping::interrupt::install();

    let human = format == Format::Table && !args.check;
    if human {
        writeln!(out, "{}", header(args, target, opts.size))?;
        out.flush()?;
    }
    let mut replies = Vec::new();
    let mut errors = Vec::new();
    let json = format == Format::Json && !args.check;
    let mut on_event = |ev: &Event| -> std::io::Result<()> {
        if json {
            match ev {
                Event::Reply {
                    bytes,
                    from,
                    seq,
                    ttl,
                    rtt_us,
                    duplicate,
                    bad_checksum,
                } => replies.push(JsonReply {
                    seq: *seq,
                    from: from.map(|f| f.to_string()),
                    bytes: *bytes,
                    ttl: *ttl,
                    time_ms: ms(*rtt_us),
                    duplicate: *duplicate,
                    bad_checksum: *bad_checksum,
                }),
                Event::IcmpError { from, seq, error } => errors.push(JsonError {
                    seq: Some(*seq),
                    from: from.map(|f| f.to_string()),
                    message: error.to_string(),
                }),
                Event::LocalError { message } => errors.push(JsonError {
                    seq: None,
                    from: None,
                    message: message.clone(),
                }),
            }
            return Ok(());
        }
        if args.check {
            return Ok(());
        }
        match ev {
            Event::LocalError { message } => crate::say!("ping: {message}"),
            _ if args.quiet => {}
            _ => {
                if let Some(line) = event_line(args, target, ev) {
                    writeln!(out, "{line}")?;
                    out.flush()?;
                }
            }
        }
        Ok(())
    };
    let summary =
        ping::session::run(&sock, target, &opts, stop, &mut on_event).map_err(|e| match e {
            ping::session::RunError::Output(e) => PingError::Io(e),
            ping::session::RunError::Socket(err) => PingError::Socket {
                what: "socket",
                err,
            },
        })?;
    let s = &summary.stats;
    if json {
        let doc = JsonRun {
            host: &args.host,
            address: target.to_string(),
            family: match family {
                Family::V4 => "ipv4",
                Family::V6 => "ipv6",
            },
            socket: sock.kind,
            payload_bytes: opts.size,
            transmitted: s.transmitted,
            received: s.received,
            duplicates: s.duplicates,
            corrupted: s.corrupted,
            errors: s.errors,
            loss_percent: s.loss_percent(),
            time_ms: summary.elapsed_ms,
            rtt_ms: s.rtt().map(|r| JsonRtt {
                min: ms(r.min),
                avg: ms(r.avg),
                max: ms(r.max),
                mdev: ms(r.mdev),
            }),
            replies,
            icmp_errors: errors,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else if human {
        write!(out, "{}", statistics(args, &summary))?;
    }
    out.flush()?;
    Ok(outcome(args, &summary))
}

/// iputils' exit status: 1 without any reply, and also when `-w` and `-c` were both given and
/// fewer than COUNT replies arrived before the deadline.
pub fn outcome(args: &PingArgs, summary: &Summary) -> Outcome {
    let s = &summary.stats;
    let short = args.deadline().is_some() && args.count.is_some_and(|c| s.received < c);
    if s.received == 0 || short {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ping::stats::Stats;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: PingArgs,
    }

    fn parse(argv: &[&str]) -> Result<PingArgs, clap::Error> {
        T::try_parse_from(std::iter::once("ping").chain(argv.iter().copied())).map(|t| t.a)
    }

    #[test]
    fn parses_iputils_options() {
        let a = parse(&[
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "1.5",
            "-w",
            "5",
            "-s",
            "100",
            "-t",
            "7",
            "-q",
            "-n",
            "-4",
            "example.test",
        ])
        .unwrap();
        assert_eq!(a.count, Some(3));
        assert_eq!(a.interval, Some(Duration::from_millis(200)));
        assert_eq!(a.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(a.deadline, Some(Duration::from_secs(5)));
        assert_eq!((a.size, a.ttl), (Some(100), Some(7)));
        assert!(a.quiet && a.numeric && a.ipv4 && !a.ipv6);
        assert_eq!(a.host, "example.test");
        // Glued values and options after the host, as iputils accepts them.
        let b = parse(&["::1", "-c3", "-6", "--datagram-only"]).unwrap();
        assert_eq!((b.count, b.ipv6, b.datagram_only), (Some(3), true, true));
    }

    #[test]
    fn rejects_bad_options() {
        for argv in [
            &["-c", "0", "h"][..],
            &["-c", "-1", "h"],
            &["-i", "abc", "h"],
            &["-W", "-1", "h"],
            &["-w", "inf", "h"],
            &["-t", "0", "h"],
            &["-t", "256", "h"],
            &["-4", "-6", "h"],
            &[],
        ] {
            assert!(parse(argv).is_err(), "{argv:?} should not parse");
        }
    }

    #[test]
    fn seconds_errors_name_the_value() {
        assert_eq!(
            parse_seconds("x").unwrap_err(),
            "'x' is not a number of seconds"
        );
        assert_eq!(
            parse_seconds("-2").unwrap_err(),
            "'-2' is not a non-negative number of seconds"
        );
        assert_eq!(parse_seconds("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn options_apply_defaults_and_limits() {
        let a = parse(&["h"]).unwrap();
        let o = a.options(Family::V4, false).unwrap();
        assert_eq!(o, Options::default());
        let c = parse(&["--check", "h"])
            .unwrap()
            .options(Family::V4, false)
            .unwrap();
        assert_eq!((c.count, c.linger), (Some(1), Duration::from_secs(1)));
        let c = parse(&["--check", "-c", "2", "-W", "3", "h"]).unwrap();
        let o = c.options(Family::V4, false).unwrap();
        assert_eq!((o.count, o.linger), (Some(2), Duration::from_secs(3)));
        let fast = parse(&["-i", "0", "h"]).unwrap();
        assert!(fast.options(Family::V4, true).is_ok());
        assert_eq!(
            fast.options(Family::V4, false).unwrap_err().to_string(),
            "ping: cannot flood, minimal interval for user must be >= 2 ms, use -i 0.002 (or higher)"
        );
        let big = parse(&["-s", "65508", "h"]).unwrap();
        assert_eq!(
            big.options(Family::V4, true).unwrap_err().to_string(),
            "ping: invalid -s value: '65508': out of range: 0 <= value <= 65507"
        );
        assert!(big.options(Family::V6, true).is_ok());
    }

    #[test]
    fn lines_have_iputils_shape() {
        let a = parse(&["127.0.0.1"]).unwrap();
        let t: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            header(&a, t, 56),
            "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data."
        );
        let ev = Event::Reply {
            bytes: 64,
            from: Some(t),
            seq: 1,
            ttl: Some(64),
            rtt_us: 29,
            duplicate: true,
            bad_checksum: false,
        };
        assert_eq!(
            event_line(&a, t, &ev).unwrap(),
            "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.029 ms (DUP!)"
        );
        let named = parse(&["localhost"]).unwrap();
        assert_eq!(
            event_line(&named, t, &ev).unwrap(),
            "64 bytes from localhost (127.0.0.1): icmp_seq=1 ttl=64 time=0.029 ms (DUP!)"
        );
        let numeric = parse(&["-n", "localhost"]).unwrap();
        assert!(event_line(&numeric, t, &ev)
            .unwrap()
            .starts_with("64 bytes from 127.0.0.1: "));
        // A reply from elsewhere (a broadcast answer) names its own address.
        let other = Event::Reply {
            bytes: 64,
            from: Some("127.0.0.2".parse().unwrap()),
            seq: 1,
            ttl: Some(64),
            rtt_us: 29,
            duplicate: false,
            bad_checksum: false,
        };
        assert!(event_line(&named, t, &other)
            .unwrap()
            .starts_with("64 bytes from 127.0.0.2: "));
        let six = parse(&["::1"]).unwrap();
        assert_eq!(
            header(&six, "::1".parse().unwrap(), 56),
            "PING ::1(::1) 56 data bytes"
        );
        let err = Event::IcmpError {
            from: Some("10.0.0.1".parse().unwrap()),
            seq: 4,
            error: ping::packet::IcmpError {
                family: Family::V4,
                icmp_type: 11,
                code: 0,
                info: 0,
            },
        };
        assert_eq!(
            event_line(&a, t, &err).unwrap(),
            "From 10.0.0.1 icmp_seq=4 Time to live exceeded"
        );
    }

    fn summary(received: u64, transmitted: u64) -> Summary {
        Summary {
            stats: Stats {
                transmitted,
                received,
                ..Stats::default()
            },
            elapsed_ms: 0,
            elapsed_us: 0,
        }
    }

    #[test]
    fn statistics_block_ends_like_iputils() {
        let a = parse(&["10.0.0.1"]).unwrap();
        let mut sum = summary(0, 2);
        sum.elapsed_ms = 205;
        sum.stats.errors = 2;
        assert_eq!(
            statistics(&a, &sum),
            "\n--- 10.0.0.1 ping statistics ---\n2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 205ms\n\n"
        );
        let mut ok = summary(1, 1);
        ok.stats.add_time(101);
        assert_eq!(
            statistics(&a, &ok),
            "\n--- 10.0.0.1 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\nrtt min/avg/max/mdev = 0.101/0.101/0.101/0.000 ms\n"
        );
    }

    #[test]
    fn exit_codes_follow_iputils() {
        let a = parse(&["-c", "3", "h"]).unwrap();
        assert_eq!(outcome(&a, &summary(1, 3)), Outcome::Clean);
        assert_eq!(outcome(&a, &summary(0, 3)), Outcome::Findings);
        let w = parse(&["-c", "3", "-w", "2", "h"]).unwrap();
        assert_eq!(outcome(&w, &summary(2, 5)), Outcome::Findings);
        assert_eq!(outcome(&w, &summary(3, 5)), Outcome::Clean);
        // iputils reads -w 0 as no deadline: -c alone decides.
        let w0 = parse(&["-c", "3", "-w", "0", "h"]).unwrap();
        assert_eq!(outcome(&w0, &summary(2, 3)), Outcome::Clean);
    }

    /// `ping -w 0` in iputils pings as if -w were not given; ending before the first request
    /// would make a health check with a templated `-w $DEADLINE` fail for no reason.
    #[test]
    fn deadline_zero_is_no_deadline() {
        let o = parse(&["-w", "0", "h"])
            .unwrap()
            .options(Family::V4, false)
            .unwrap();
        assert_eq!(o.deadline, None);
        let o = parse(&["-w", "0.5", "h"])
            .unwrap()
            .options(Family::V4, false)
            .unwrap();
        assert_eq!(o.deadline, Some(Duration::from_millis(500)));
    }
}
