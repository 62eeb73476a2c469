//! One trial = one real run of the workload with a given capability set, judged by the check.

use super::check::Check;
use super::trace::{TraceTarget, Traced, Tracer};
use super::{interrupt, ProfileError};
use crate::caps::CapSet;
use serde::Serialize;
use std::io::Read;
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialCaps {
    /// Whatever the engine (or, for a local command, dropcap's own permitted set) gives by
    /// default: no capability flags at all.
    Default,
    /// `--cap-drop ALL --cap-add` exactly these.
    Exactly(CapSet),
}

#[derive(Debug, Clone)]
pub struct TrialResult {
    pub passed: bool,
    /// One line: "exited 0", "exited 1: ping: permission denied", "timed out after 20s".
    pub reason: String,
    pub duration: Duration,
    /// `Some` when the trial was traced.
    pub traced: Option<Traced>,
}

/// What is being profiled, for the report and the profile file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    Image {
        image: String,
        /// The full argv the container ran (entrypoint + command).
        argv: Vec<String>,
        /// `--cmd` as given, when given.
        cmd: Option<Vec<String>>,
        user: Option<String>,
        network: String,
        /// `--sysctl` settings given for every trial.
        sysctls: Vec<String>,
        engine: String,
        /// Value of the `io.dropcap.profile` label on every trial container of this run.
        session: String,
    },
    Command {
        argv: Vec<String>,
        user: Option<String>,
    },
}

pub trait Runner {
    fn target(&self) -> Target;
    fn check(&self) -> &Check;
    /// The set a `TrialCaps::Default` trial runs with.
    fn default_set(&self) -> CapSet;
    /// Name of that default for the report ("Docker default", "dropcap's permitted set").
    fn default_name(&self) -> String;
    /// Runs one trial; with a tracer, the workload is held until the tracer is attached.
    fn trial(
        &mut self,
        caps: TrialCaps,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<TrialResult, ProfileError>;
    /// Sysctls read inside a trial's namespaces that change which capabilities are needed.
    fn sysctls(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Ports below 1024 the workload was seen listening on when its check passed.
    fn low_ports(&self) -> Vec<u16> {
        Vec::new()
    }
    /// The user the workload runs as when that is not root, for the advice that cap_add does
    /// not reach a non-root process.
    fn non_root_user(&self) -> Option<String> {
        None
    }
}

/// Whether `user` (`name`, `uid`, `uid:gid`; empty = the image's default, root) is root.
pub fn is_root_user(user: &str) -> bool {
    matches!(
        user.split(':').next().unwrap_or("").trim(),
        "" | "0" | "root"
    )
}

/// Collects what a child writes, keeping only the tail of each stream: failing trials are
/// explained by their last line (stderr first, where programs say why), and a chatty
/// workload must not grow dropcap's memory.
#[derive(Clone, Default)]
pub struct Tail {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

const TAIL_BYTES: usize = 4096;

fn append(buf: &Mutex<Vec<u8>>, bytes: &[u8]) {
    if let Ok(mut b) = buf.lock() {
        b.extend_from_slice(bytes);
        if b.len() > TAIL_BYTES {
            let cut = b.len() - TAIL_BYTES;
            b.drain(..cut);
        }
    }
}

fn drain_into(
    buf: Arc<Mutex<Vec<u8>>>,
    mut r: impl Read + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            append(&buf, &chunk[..n]);
        }
    })
}

fn last_line_of(buf: &Mutex<Vec<u8>>) -> Option<String> {
    let b = buf.lock().ok()?;
    let text = String::from_utf8_lossy(&b);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let mut s: String = line.chars().take(100).collect();
    if line.chars().count() > 100 {
        s.push('…');
    }
    Some(s)
}

impl Tail {
    pub fn drain_stdout(&self, r: impl Read + Send + 'static) {
        let h = drain_into(self.out.clone(), r);
        if let Ok(mut v) = self.readers.lock() {
            v.push(h);
        }
    }

    pub fn drain_stderr(&self, r: impl Read + Send + 'static) {
        let h = drain_into(self.err.clone(), r);
        if let Ok(mut v) = self.readers.lock() {
            v.push(h);
        }
    }

    /// Reads an attached container's multiplexed stdout and stderr until it ends.
    pub fn drain_engine(&self, r: impl Read + Send + 'static) {
        let (out, err) = (self.out.clone(), self.err.clone());
        let h = std::thread::spawn(move || {
            crate::engine::client::demux(r, |stream, bytes| match stream {
                crate::engine::client::Stream::Stdout => append(&out, bytes),
                crate::engine::client::Stream::Stderr => append(&err, bytes),
            })
        });
        if let Ok(mut v) = self.readers.lock() {
            v.push(h);
        }
    }

    /// The last non-empty line of stderr, else of stdout, trimmed to fit a table cell. Waits
    /// up to 200 ms for the readers to reach the end of output (a background process the
    /// workload left behind may hold the pipe open longer; then what arrived is used).
    pub fn last_line(&self) -> Option<String> {
        for _ in 0..20 {
            let done = self
                .readers
                .lock()
                .map(|v| v.iter().all(|h| h.is_finished()))
                .unwrap_or(true);
            if done {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        last_line_of(&self.err).or_else(|| last_line_of(&self.out))
    }
}

/// How a supervised child ended.
pub enum Waited {
    Exited(ExitStatus),
    TimedOut,
}

/// A trial's trace session, if it is traced.
pub type Session = Option<Box<dyn super::trace::TraceSession>>;

/// Empties the tracer's buffer every ~100 ms of waiting.
pub fn pump(session: &mut Session, last: &mut Instant) -> Result<(), ProfileError> {
    if let Some(s) = session {
        if last.elapsed() >= Duration::from_millis(100) {
            s.pump()?;
            *last = Instant::now();
        }
    }
    Ok(())
}

/// Waits for `child` until `deadline`, polling so Ctrl-C is noticed within a few ms.
pub fn wait_until(
    child: &mut Child,
    deadline: Instant,
    session: &mut Session,
) -> Result<Waited, ProfileError> {
    let mut last = Instant::now();
    loop {
        interrupt::check()?;
        pump(session, &mut last)?;
        if let Some(st) = child
            .try_wait()
            .map_err(|e| ProfileError::io("waiting for a trial", e))?
        {
            return Ok(Waited::Exited(st));
        }
        if Instant::now() >= deadline {
            return Ok(Waited::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// "exited 1: <last line>" or "killed by signal 9".
pub fn describe_exit(st: ExitStatus, tail: Option<String>) -> String {
    use std::os::unix::process::ExitStatusExt;
    let head = match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "ended".to_string(),
    };
    match tail {
        Some(t) if !st.success() => format!("{head}: {t}"),
        _ => head,
    }
}

/// A container's end as [`describe_exit`] says a process's: the engine reports a signal as
/// 128 + its number, as a shell does.
pub fn describe_code(code: i64, tail: Option<String>) -> String {
    let head = match code {
        129..=192 => format!("exited {code} (signal {})", code - 128),
        _ => format!("exited {code}"),
    };
    match tail {
        Some(t) if code != 0 => format!("{head}: {t}"),
        _ => head,
    }
}

/// Starts a tracer session if there is a tracer, so trial code reads the same either way.
pub fn start_trace(
    tracer: &mut Option<&mut dyn Tracer>,
    target: &TraceTarget,
) -> Result<Session, ProfileError> {
    match tracer {
        Some(t) => Ok(Some(t.start(target)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_users() {
        for u in ["", "0", "root", "0:1000", "root:app"] {
            assert!(super::is_root_user(u), "{u}");
        }
        for u in ["1000", "app", "1000:0", "nobody"] {
            assert!(!super::is_root_user(u), "{u}");
        }
    }
}
