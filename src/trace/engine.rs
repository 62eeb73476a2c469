//! The one Docker Engine API call `trace --container` needs: inspect, over the unix socket.
//!
//! A dozen lines of HTTP/1.1 instead of an async client: one GET, `Connection: close`, read
//! to EOF. Honours `DOCKER_HOST=unix://...`; other transports are refused with a message.

use serde::Deserialize;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long the engine has for its whole answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// An inspect is a few kilobytes; more is not an engine's answer and is not read.
const MAX_ANSWER: usize = 16 << 20;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("container {0:?}: name may only hold letters, digits, '_', '.' and '-'")]
    BadName(String),
    #[error("DOCKER_HOST={0} is not a unix socket; dropcap trace only speaks to a local engine")]
    NotUnix(String),
    #[error("Docker engine at {path}: {source}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "Docker engine at {path}: {what}, not a socket (set DOCKER_HOST to the engine's socket)"
    )]
    NotASocket { path: String, what: &'static str },
    #[error("no such container: {0}")]
    NoSuchContainer(String),
    #[error("Docker engine answered {status} for container {name}: {body}")]
    Status {
        name: String,
        status: u16,
        body: String,
    },
    #[error("Docker engine at {path} did not answer within {} s", .after.as_secs_f64())]
    Timeout { path: String, after: Duration },
    #[error("Docker engine: malformed answer: {0}")]
    Malformed(String),
    #[error("container {0} is not running")]
    NotRunning(String),
}

/// The fields of `GET /containers/{id}/json` that tracing needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Inspect {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "State")]
    pub state: State,
}

#[derive(Debug, Clone, Deserialize)]
pub struct State {
    #[serde(rename = "Running")]
    pub running: bool,
    #[serde(rename = "Pid")]
    pub pid: u32,
}

impl Inspect {
    /// The name without Docker's leading slash.
    pub fn short_name(&self) -> &str {
        self.name.trim_start_matches('/')
    }
}

fn socket_path() -> Result<PathBuf, EngineError> {
    use std::os::unix::ffi::OsStrExt;
    // `var_os`: a socket path need not be UTF-8, and an unreadable DOCKER_HOST must not mean
    // "the default engine".
    match std::env::var_os("DOCKER_HOST") {
        Some(h) if !h.is_empty() => h
            .as_bytes()
            .strip_prefix(b"unix://")
            .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
            .ok_or_else(|| EngineError::NotUnix(h.to_string_lossy().into_owned())),
        _ => Ok(PathBuf::from("/var/run/docker.sock")),
    }
}

/// Inspects a container by name or id (prefix) and requires it to be running.
pub fn inspect_running(name: &str) -> Result<Inspect, EngineError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(EngineError::BadName(name.to_string()));
    }
    let path = socket_path()?;
    let connect = |source| EngineError::Connect {
        path: path.display().to_string(),
        source,
    };
    let mut s = UnixStream::connect(&path).map_err(|e| {
        // connect(2) refuses a file or a directory like a socket nobody listens on.
        match crate::engine::not_a_socket(&path) {
            Some(what) => EngineError::NotASocket {
                path: path.display().to_string(),
                what,
            },
            None => connect(e),
        }
    })?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(connect)?;
    write!(
        s,
        "GET /containers/{name}/json HTTP/1.1\r\nHost: docker\r\nUser-Agent: dropcap\r\nConnection: close\r\n\r\n"
    )
    .map_err(connect)?;
    let raw = read_answer(&mut s, &path.display().to_string(), TIMEOUT)?;
    let (status, body) = parse_response(&raw)?;
    match status {
        200 => {}
        404 => return Err(EngineError::NoSuchContainer(name.to_string())),
        _ => {
            return Err(EngineError::Status {
                name: name.to_string(),
                status,
                body: String::from_utf8_lossy(&body).trim().to_string(),
            })
        }
    }
    let inspect: Inspect =
        serde_json::from_slice(&body).map_err(|e| EngineError::Malformed(e.to_string()))?;
    if !inspect.state.running || inspect.state.pid == 0 {
        return Err(EngineError::NotRunning(name.to_string()));
    }
    Ok(inspect)
}

/// The answer up to EOF, within `timeout` and [`MAX_ANSWER`]: a read timeout alone restarts
/// with every byte, so an engine trickling its answer (or sending one without end) would hang
/// `trace` or fill memory.
fn read_answer(s: &mut UnixStream, path: &str, timeout: Duration) -> Result<Vec<u8>, EngineError> {
    let deadline = Instant::now() + timeout;
    let timed_out = || EngineError::Timeout {
        path: path.to_string(),
        after: timeout,
    };
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        let io = |source| EngineError::Connect {
            path: path.to_string(),
            source,
        };
        s.set_read_timeout(Some(left)).map_err(io)?;
        match s.read(&mut buf) {
            Ok(0) => return Ok(raw),
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > MAX_ANSWER {
                    return Err(EngineError::Malformed(format!(
                        "larger than {} MiB",
                        MAX_ANSWER >> 20
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out())
            }
            Err(e) => return Err(io(e)),
        }
    }
}

/// Status code and body of an HTTP/1.1 response, de-chunked when needed.
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), EngineError> {
    let bad = |m: &str| EngineError::Malformed(m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("truncated chunk size"))?;
        let size_txt = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if rest.len() < size {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_responses() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (404, b"abcde".to_vec()));
        assert!(parse_response(b"garbage").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    /// A read timeout alone restarts with every byte: an engine that trickles its answer
    /// must still end the wait at the deadline.
    #[test]
    fn a_trickled_answer_ends_at_the_deadline() {
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let _ = theirs.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{");
            while theirs.write_all(b" ").is_ok() {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let e = read_answer(&mut ours, "/e.sock", Duration::from_millis(300)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Docker engine at /e.sock did not answer within 0.3 s"
        );
    }

    #[test]
    fn an_endless_answer_is_refused() {
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let chunk = vec![b' '; 1 << 16];
            while theirs.write_all(&chunk).is_ok() {}
        });
        let e = read_answer(&mut ours, "/e.sock", Duration::from_secs(600)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Docker engine: malformed answer: larger than 16 MiB"
        );
    }

    #[test]
    fn rejects_names_that_would_change_the_url() {
        for bad in ["", "a/b", "../x", "a b", "a?b"] {
            assert!(matches!(inspect_running(bad), Err(EngineError::BadName(_))));
        }
    }
}
