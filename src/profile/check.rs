//! What "the workload works" means for a trial.

use super::spec::{Probe, ProbeAction};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Check {
    /// The command exits 0 before the timeout.
    ExitZero,
    /// The workload stays up and this shell command exits 0 (run inside the container with
    /// `docker exec`, or on the host for a local command).
    Command { command: String },
    /// The workload stays up and answers an HTTP GET with a 2xx or 3xx status, sent from the
    /// host inside the container's network namespace (so `--network none` still works).
    Http { port: u16, path: String },
    /// The workload is still running after this many seconds.
    StaysUp { seconds: u64 },
    /// The definition's own health check (compose `healthcheck`, a Kubernetes probe): the
    /// workload stays up and the probe passes, with the probe's timeout per attempt, and
    /// failing once the engine would have declared it unhealthy (see [`Probe`]).
    Probe(Probe),
}

/// What a probe does, in words.
pub fn describe_action(a: &ProbeAction) -> String {
    match a {
        ProbeAction::Shell(c) => format!("`{c}` exits 0"),
        ProbeAction::Exec(argv) => format!("`{}` exits 0", argv.join(" ")),
        ProbeAction::Http {
            https, port, path, ..
        } => format!(
            "answers GET {}://:{port}{path}",
            if *https { "https" } else { "http" }
        ),
        ProbeAction::Tcp { port } => format!("accepts TCP connections on :{port}"),
        ProbeAction::Grpc { port, service } if service.is_empty() => {
            format!("answers SERVING to gRPC health checks on :{port}")
        }
        ProbeAction::Grpc { port, service } => {
            format!("answers SERVING to gRPC health checks of '{service}' on :{port}")
        }
    }
}

impl Check {
    /// `PORT/PATH`, `PORT` or `:PORT/PATH`.
    pub fn parse_http(s: &str) -> Result<Check, String> {
        let s = s.trim().trim_start_matches(':');
        let (port, path) = match s.split_once('/') {
            Some((p, rest)) => (p, format!("/{rest}")),
            None => (s, "/".to_string()),
        };
        let port: u16 =
            port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!("--http '{s}': expected PORT/PATH, e.g. 80/ or 8080/health")
            })?;
        Ok(Check::Http { port, path })
    }

    /// Whether the workload is expected to keep running (so the trial ends when the check
    /// passes, and an exit before that is a failure).
    pub fn long_running(&self) -> bool {
        !matches!(self, Check::ExitZero)
    }

    pub fn describe(&self) -> String {
        match self {
            Check::ExitZero => "exits 0".to_string(),
            Check::Command { command } => format!("stays up and `{command}` exits 0"),
            Check::Http { port, path } => format!("stays up and answers GET :{port}{path}"),
            Check::StaysUp { seconds } => format!("stays up for {seconds}s"),
            Check::Probe(p) if p.source.is_empty() => {
                format!("stays up and {}", describe_action(&p.action))
            }
            Check::Probe(p) => {
                format!("stays up and {} ({})", describe_action(&p.action), p.source)
            }
        }
    }

    /// The TCP port the check talks to, if it talks to one.
    pub fn port(&self) -> Option<u16> {
        match self {
            Check::Http { port, .. } => Some(*port),
            Check::Probe(p) => match &p.action {
                ProbeAction::Http { port, .. }
                | ProbeAction::Tcp { port }
                | ProbeAction::Grpc { port, .. } => Some(*port),
                ProbeAction::Shell(_) | ProbeAction::Exec(_) => None,
            },
            _ => None,
        }
    }
}

/// One HTTP/1.0 GET to 127.0.0.1; true for a 2xx or 3xx status line. `limit` bounds each
/// step (connect, send, each read), so a server that accepts and never answers costs at most
/// a few times `limit`.
pub fn http_ok(port: u16, path: &str, limit: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let limit = limit.max(Duration::from_millis(10));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, limit) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(limit));
    let _ = s.set_write_timeout(Some(limit));
    let req = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\nUser-Agent: dropcap\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let until = std::time::Instant::now() + limit;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    status_ok(&String::from_utf8_lossy(&buf[..got]))
}

fn status_ok(head: &str) -> bool {
    let mut parts = head.split_whitespace();
    matches!(
        (parts.next(), parts.next().and_then(|c| c.parse::<u16>().ok())),
        (Some(v), Some(200..=399)) if v.starts_with("HTTP/")
    )
}

/// Runs `f` on a thread that has joined the network namespace of `pid`; the rest of dropcap
/// stays where it is, and the thread (with its namespace) ends with `f`. Needs CAP_SYS_ADMIN.
pub fn in_netns<T: Send>(pid: u32, f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    use std::os::fd::AsRawFd;
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: a valid namespace fd; setns changes only this thread's namespace.
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("network namespace thread panicked")))
    })
}

/// A sysctl under `/proc/sys/net`, as seen from the network namespace of `pid`.
pub fn net_sysctl(pid: u32, name: &str) -> Option<String> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    in_netns(pid, move || std::fs::read_to_string(path).ok())
        .ok()
        .flatten()
        .map(|s| s.trim().to_string())
}

/// Ports below 1024 that processes in the network namespace of `pid` listen on (TCP) or are
/// bound to (UDP), from `/proc/PID/net/*`, which shows that namespace's sockets.
pub fn low_ports(pid: u32) -> Vec<u16> {
    let mut ports = Vec::new();
    for (file, state) in [("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) {
            ports.extend(parse_low_ports(&text, state));
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

fn parse_low_ports(text: &str, state: &str) -> Vec<u16> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = f.get(1)?.rsplit_once(':')?.1;
            let port = u16::from_str_radix(port, 16).ok()?;
            (f.get(3) == Some(&state) && port < 1024).then_some(port)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn listening_low_ports() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue\n   0: 00000000:0050 00000000:0000 0A 00000000:00000000\n   1: 0100007F:1F90 00000000:0000 0A 0\n   2: 0100007F:0016 0100007F:9C40 01 0\n";
        assert_eq!(super::parse_low_ports(tcp, "0A"), vec![80]);
    }

    use super::*;

    #[test]
    fn http_spec() {
        assert_eq!(
            Check::parse_http("80/").unwrap(),
            Check::Http {
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(
            Check::parse_http(":8080/health/x").unwrap(),
            Check::Http {
                port: 8080,
                path: "/health/x".into()
            }
        );
        assert_eq!(
            Check::parse_http("443").unwrap(),
            Check::Http {
                port: 443,
                path: "/".into()
            }
        );
        for bad in ["", "x/", "0/", "70000/"] {
            assert!(Check::parse_http(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_lines() {
        assert!(status_ok("HTTP/1.0 200 OK\r\n"));
        assert!(status_ok("HTTP/1.1 302 Found"));
        assert!(!status_ok("HTTP/1.1 404 Not Found"));
        assert!(!status_ok("SSH-2.0"));
        assert!(!status_ok(""));
    }
}
