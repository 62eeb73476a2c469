//! One ping run: sending on schedule, reading replies and errors, deciding when to stop.
//!
//! The schedule follows iputils' `main_loop`/`pinger`/`schedule_exit`, because health checks and
//! scripts depend on its timing: the first request leaves at once, then one per interval; with
//! `-i 0` the next leaves as soon as the previous is answered (or after 10 ms without answer);
//! after the last of `-c` requests the run lingers `-W` seconds if nothing came back yet, else
//! twice the longest round trip; `-w` ends the run at its deadline whatever the count, and with
//! `-w` the run keeps sending until `-c` replies arrived.

use super::matching::{Match, Tracker};
use super::packet::{self, IcmpError, Received};
use super::socket::{self, IcmpSocket, Kind};
use super::stats::Stats;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// iputils' `MIN_INTERVAL_MS`: with `-i 0`, an unanswered request holds the next back this long.
const UNANSWERED_HOLD: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub count: Option<u64>,
    pub interval: Duration,
    /// `-W`: how long to wait after the last request when nothing was answered.
    /// `-W 0` means wait for ever (until a reply, `-w` or Ctrl-C), as in iputils.
    pub linger: Duration,
    pub deadline: Option<Duration>,
    pub size: usize,
    pub ttl: Option<u8>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            count: None,
            interval: Duration::from_secs(1),
            linger: Duration::from_secs(10),
            deadline: None,
            size: 56,
            ttl: None,
        }
    }
}

/// Something worth a line of output.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Reply {
        /// ICMP bytes (header + data), iputils' "64 bytes".
        bytes: usize,
        from: Option<IpAddr>,
        seq: u16,
        ttl: Option<u8>,
        rtt_us: i64,
        duplicate: bool,
        bad_checksum: bool,
    },
    /// An ICMP error about one of our requests.
    IcmpError {
        from: Option<IpAddr>,
        seq: u16,
        error: IcmpError,
    },
    /// A local failure: sendto refused, or a queued local error such as EMSGSIZE.
    LocalError { message: String },
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub stats: Stats,
    /// From the first request to the end, as iputils' `time` (rounded to ms).
    pub elapsed_ms: u64,
    pub elapsed_us: u64,
}

/// Runs until the count, deadline or `stop` says so. `on_event` sees every reply and error as
/// it happens (the caller prints); an error from it (a closed pipe) ends the run.
/// Why a run stopped early: the socket failed, or the caller's output did.
#[derive(Debug)]
pub enum RunError {
    Socket(io::Error),
    Output(io::Error),
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> RunError {
        RunError::Socket(e)
    }
}

pub fn run(
    sock: &IcmpSocket,
    target: IpAddr,
    opts: &Options,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&Event) -> io::Result<()>,
) -> Result<Summary, RunError> {
    let mut on_event = |ev: &Event| on_event(ev).map_err(RunError::Output);
    let on_event = &mut on_event;
    if let Some(ttl) = opts.ttl {
        sock.set_ttl(ttl)?;
    }
    let raw = sock.kind == Kind::Raw;
    let ident = socket::random_u64() as u16;
    let mut tracker = Tracker::new(socket::random_u64(), opts.size);
    let mut stats = Stats::default();
    let mut buf = vec![0u8; (opts.size + 512).max(2048)];
    let start = Instant::now();
    let deadline_at = opts.deadline.and_then(|d| start.checked_add(d));
    let mut linger_at: Option<Instant> = None;
    let mut next_send = start;
    let mut last_send = start;
    let mut seq: u16 = 0;

    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(c) = opts.count {
            if stats.received + stats.errors >= c {
                break;
            }
        }
        if opts.deadline.is_some() && stats.errors > 0 {
            break;
        }
        let now = Instant::now();
        if deadline_at.is_some_and(|d| now >= d) || linger_at.is_some_and(|l| now >= l) {
            break;
        }
        let may_send = opts.deadline.is_some() || opts.count.is_none_or(|c| stats.transmitted < c);
        // With -i 0 the next request waits for the answer to the last, or 10 ms without one.
        let due = if opts.interval.is_zero() && tracker.in_flight() > 0 {
            last_send + UNANSWERED_HOLD
        } else {
            next_send
        };
        if may_send && now >= due {
            seq = seq.wrapping_add(1);
            let data = tracker.payload(seq);
            let pkt = packet::echo_request(sock.family, ident, seq, &data);
            let at = socket::realtime_ns();
            match sock.send_to(&pkt, target) {
                Ok(()) => tracker.sent(seq, at),
                Err(e) if transient(&e) => {
                    // A full queue: like iputils, not counted, retried a little later.
                    seq = seq.wrapping_sub(1);
                    next_send =
                        now + UNANSWERED_HOLD.min(opts.interval.max(Duration::from_millis(1)));
                    continue;
                }
                Err(e) => {
                    stats.errors += 1;
                    on_event(&Event::LocalError {
                        message: format!("sendmsg: {}", super::os_message(&e)),
                    })?;
                }
            }
            // iputils counts a request as sent even when a hard local error stopped it.
            stats.transmitted += 1;
            last_send = now;
            // Keep the cadence (no drift from loop latency), but never try to catch up a backlog.
            next_send = (next_send + opts.interval).max(now);
            if opts.deadline.is_none() && opts.count.is_some_and(|c| stats.transmitted >= c) {
                let wait = if stats.received > 0 {
                    Some(
                        Duration::from_micros((stats.tmax.max(0) as u64).saturating_mul(2))
                            .max(opts.interval),
                    )
                } else if opts.linger.is_zero() {
                    None
                } else {
                    Some(opts.linger)
                };
                linger_at = wait.and_then(|w| now.checked_add(w));
            }
            // On loopback the reply is often queued before sendto returns: one non-blocking
            // read now saves a poll per echo at -i 0, and costs one EAGAIN elsewhere.
            Got {
                sock,
                raw,
                ident,
                target,
            }
            .collect(false, &mut tracker, &mut stats, &mut buf, on_event)?;
            // Go round: count and deadline checks come first, and with -i 0 the reply to
            // this request is read before the next leaves.
            continue;
        }
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        let mut sooner = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        if may_send {
            sooner(due);
        }
        if let Some(d) = deadline_at {
            sooner(d);
        }
        if let Some(l) = linger_at {
            sooner(l);
        }
        let timeout = match wake {
            Some(w) => w.saturating_duration_since(now),
            None => Duration::from_secs(1),
        };
        let ready = sock.wait(timeout)?;
        if ready.readable || ready.error {
            let got = Got {
                sock,
                raw,
                ident,
                target,
            };
            got.collect(ready.error, &mut tracker, &mut stats, &mut buf, on_event)?;
        }
    }
    let elapsed = start.elapsed();
    Ok(Summary {
        stats,
        elapsed_ms: (elapsed.as_micros() as u64 + 500) / 1000,
        elapsed_us: elapsed.as_micros() as u64,
    })
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// What reading needs to know about the run.
struct Got<'a> {
    sock: &'a IcmpSocket,
    raw: bool,
    ident: u16,
    target: IpAddr,
}

impl Got<'_> {
    /// Reads the error queue when `poll` flagged it (datagram sockets), then one message: a
    /// second `recvmsg` just to hear EAGAIN would cost a syscall per echo, and anything else
    /// waiting makes the next wait return at once.
    fn collect(
        &self,
        queued: bool,
        tracker: &mut Tracker,
        stats: &mut Stats,
        buf: &mut [u8],
        on_event: &mut dyn FnMut(&Event) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        let Got {
            sock,
            raw,
            ident,
            target,
        } = *self;
        if queued && !raw {
            self.drain_errors(tracker, stats, buf, on_event)?;
        }
        match read_one(sock, raw, ident, target, tracker, stats, buf, on_event) {
            // With IP_RECVERR a queued ICMP error is also reported once by the next ordinary
            // read (EHOSTUNREACH for "Time to live exceeded"): the details are in the queue.
            // Raw sockets flag "hard" ICMP errors the same way, and receive the ICMP message
            // itself as a packet, which is what gets reported.
            Err(RunError::Socket(e)) if !local_fault(&e) => {
                if raw {
                    Ok(())
                } else {
                    self.drain_errors(tracker, stats, buf, on_event)
                }
            }
            other => other,
        }
    }

    fn drain_errors(
        &self,
        tracker: &mut Tracker,
        stats: &mut Stats,
        buf: &mut [u8],
        on_event: &mut dyn FnMut(&Event) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        while let Some(inc) = self.sock.recv(buf, true)? {
            let request = &buf[..inc.len];
            if let Some(ev) = queued_error(self.sock, &inc, request, self.target, tracker) {
                stats.errors += 1;
                on_event(&ev)?;
            }
        }
        Ok(())
    }
}

/// Errors that mean this program or socket is broken, as opposed to news from the network.
fn local_fault(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADF | libc::EFAULT | libc::EINVAL | libc::ENOTSOCK | libc::ENOMEM)
    )
}

#[allow(clippy::too_many_arguments)]
fn read_one(
    sock: &IcmpSocket,
    raw: bool,
    ident: u16,
    target: IpAddr,
    tracker: &mut Tracker,
    stats: &mut Stats,
    buf: &mut [u8],
    on_event: &mut dyn FnMut(&Event) -> Result<(), RunError>,
) -> Result<(), RunError> {
    if let Some(inc) = sock.recv(buf, false)? {
        let at = inc.stamp_ns.unwrap_or_else(socket::realtime_ns);
        let ev = match packet::parse(sock.family, raw, &buf[..inc.len]) {
            Received::Reply {
                ident: id,
                seq,
                data,
                icmp_len,
                ttl,
                checksum_ok,
            } => {
                // Datagram sockets get only their own replies (the kernel owns the id).
                if raw && id != ident {
                    return Ok(());
                }
                if !checksum_ok {
                    if !tracker.was_sent(seq) {
                        return Ok(());
                    }
                    stats.corrupted += 1;
                    Event::Reply {
                        bytes: icmp_len,
                        from: inc.from,
                        seq,
                        ttl: ttl.or(inc.ttl),
                        rtt_us: 0,
                        duplicate: false,
                        bad_checksum: true,
                    }
                } else {
                    let (rtt_us, duplicate) = match tracker.reply(seq, data, at) {
                        Match::Foreign => return Ok(()),
                        Match::First { rtt_us } => {
                            stats.add_time(rtt_us);
                            stats.received += 1;
                            (rtt_us, false)
                        }
                        Match::Duplicate { rtt_us } => {
                            stats.add_time(rtt_us);
                            stats.duplicates += 1;
                            (rtt_us, true)
                        }
                    };
                    Event::Reply {
                        bytes: icmp_len,
                        from: inc.from,
                        seq,
                        ttl: ttl.or(inc.ttl),
                        rtt_us,
                        duplicate,
                        bad_checksum: false,
                    }
                }
            }
            Received::Error {
                ident: id,
                seq,
                quoted_dst,
                kind,
            } => {
                if id != ident || quoted_dst != Some(target) || !tracker.was_sent(seq) {
                    return Ok(());
                }
                stats.errors += 1;
                Event::IcmpError {
                    from: inc.from,
                    seq,
                    error: kind,
                }
            }
            Received::Other => return Ok(()),
        };
        on_event(&ev)?;
    }
    Ok(())
}

/// Turns an error-queue message into an event: the payload is our own request as it left, the
/// ancillary data says what happened to it and who said so.
fn queued_error(
    sock: &IcmpSocket,
    inc: &socket::Incoming,
    request: &[u8],
    target: IpAddr,
    tracker: &Tracker,
) -> Option<Event> {
    let e = inc.error?;
    match e.origin {
        libc::SO_EE_ORIGIN_LOCAL => {
            let message = if e.errno == libc::EMSGSIZE {
                format!("local error: message too long, mtu={}", e.info)
            } else {
                format!(
                    "local error: {}",
                    super::os_message(&io::Error::from_raw_os_error(e.errno))
                )
            };
            Some(Event::LocalError { message })
        }
        libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6 => {
            if inc.from.is_some_and(|d| d != target) || request.len() < packet::ICMP_HEADER {
                return None;
            }
            let seq = u16::from_be_bytes([request[6], request[7]]);
            if !tracker.was_sent(seq) {
                return None;
            }
            Some(Event::IcmpError {
                from: e.offender,
                seq,
                error: IcmpError {
                    family: sock.family,
                    icmp_type: e.icmp_type,
                    code: e.code,
                    info: e.info,
                },
            })
        }
        _ => None,
    }
}
