//! The one Docker Engine API call `trace --container` needs: inspect, over the unix socket.
//!
//! The HTTP exchange (HTTP/1.0, bounded size) is the live audit's raw client
//! ([`crate::engine::raw`]); this module adds only what `trace` needs around it: the socket
//! from `DOCKER_HOST` as raw bytes (a path need not be UTF-8), a deadline for the whole answer,
//! and errors that name the engine. Other transports are refused with a message.

use serde::Deserialize;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// How long the engine has for its whole answer.
const TIMEOUT: Duration = Duration::from_secs(10);
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
    let s = UnixStream::connect(&path).map_err(|e| {
        // connect(2) refuses a file or a directory like a socket nobody listens on.
        match crate::engine::not_a_socket(&path) {
            Some(what) => EngineError::NotASocket {
                path: path.display().to_string(),
                what,
            },
            None => connect(e),
        }
    })?;
    let answer = request(
        s,
        &path.display().to_string(),
        &format!("/containers/{name}/json"),
        TIMEOUT,
    )?;
    match answer.status {
        200 => {}
        404 => return Err(EngineError::NoSuchContainer(name.to_string())),
        _ => {
            return Err(EngineError::Status {
                name: name.to_string(),
                status: answer.status,
                body: String::from_utf8_lossy(&answer.body).trim().to_string(),
            })
        }
    }
    let inspect: Inspect =
        serde_json::from_slice(&answer.body).map_err(|e| EngineError::Malformed(e.to_string()))?;
    if !inspect.state.running || inspect.state.pid == 0 {
        return Err(EngineError::NotRunning(name.to_string()));
    }
    Ok(inspect)
}

/// One GET on a connected socket, the whole answer within `timeout`: a read timeout alone
/// restarts with every byte, so an engine trickling its answer would hang `trace`.
fn request(
    s: UnixStream,
    shown: &str,
    url: &str,
    timeout: Duration,
) -> Result<crate::engine::raw::Answer, EngineError> {
    let io = |source| EngineError::Connect {
        path: shown.to_string(),
        source,
    };
    s.set_nonblocking(true).map_err(io)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    rt.block_on(async {
        let s = tokio::net::UnixStream::from_std(s).map_err(io)?;
        match tokio::time::timeout(timeout, crate::engine::raw::exchange(s, url)).await {
            Ok(answer) => answer.map_err(EngineError::Malformed),
            Err(_) => Err(EngineError::Timeout {
                path: shown.to_string(),
                after: timeout,
            }),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read timeout alone restarts with every byte: an engine that trickles its answer
    /// must still end the wait at the deadline.
    #[test]
    fn a_trickled_answer_ends_at_the_deadline() {
        use std::io::Write;
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let _ = theirs.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{");
            while theirs.write_all(b" ").is_ok() {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let e = request(ours, "/e.sock", "/p", Duration::from_millis(300)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Docker engine at /e.sock did not answer within 0.3 s"
        );
    }

    #[test]
    fn an_endless_answer_is_refused() {
        use std::io::Write;
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let chunk = vec![b' '; 1 << 16];
            while theirs.write_all(&chunk).is_ok() {}
        });
        let e = request(ours, "/e.sock", "/p", Duration::from_secs(600)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Docker engine: malformed answer: /p: the answer is larger than 16 MiB (is this an engine?)"
        );
    }

    #[test]
    fn rejects_names_that_would_change_the_url() {
        for bad in ["", "a/b", "../x", "a b", "a?b"] {
            assert!(matches!(inspect_running(bad), Err(EngineError::BadName(_))));
        }
    }
}
