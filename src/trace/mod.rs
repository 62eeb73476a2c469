//! `dropcap trace`: every capability check of a command, a process tree, a container or the
//! whole host, seen through the `capability:cap_capable` tracepoint with eBPF.
//!
//! The library API is what `profile` builds on (see `docs/trace-api.md`):
//!
//! ```no_run
//! use dropcap::trace::{Target, Tracer};
//! # fn main() -> Result<(), dropcap::trace::TraceError> {
//! // Run a command to completion and collect what it checked.
//! let rec = Tracer::run(&["busybox".into(), "ping".into(), "-c1".into(), "127.0.0.1".into()])?;
//! println!("needs {:?}, lost {}", rec.summary.granted().names(), rec.summary.lost);
//!
//! // Or attach to something already running and poll.
//! let mut t = Tracer::attach(Target::All)?;
//! for e in t.poll(std::time::Duration::from_millis(100))? {
//!     println!("{} {} {}", e.pid, e.cap, e.granted);
//! }
//! let (_rest, summary) = t.stop()?;
//! # Ok(()) }
//! ```

mod bpf;
pub mod cgroup;
pub mod engine;
pub mod event;
pub mod kallsyms;
pub mod launch;
pub mod object;
pub mod privs;
pub mod summary;
pub mod syscalls;

pub use cgroup::{CgroupRef, ContainerIndex};
pub use engine::Inspect;
pub use event::TraceEvent;
pub use launch::{LaunchError, Launched};
pub use object::CheckObject;
pub use summary::{CapCount, Summary};

use bpf::{Loaded, Mode};
use kallsyms::NoauditRanges;
use std::ffi::OsString;
use std::process::ExitStatus;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TraceError {
    #[error(
        "this kernel has no BTF (/sys/kernel/btf/vmlinux: {0}); dropcap trace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf(String),
    #[error(
        "this kernel ({0}) has no capability:cap_capable tracepoint (added in Linux 6.14); dropcap trace cannot see capability checks here"
    )]
    NoTracepoint(String),
    #[error("dropcap trace needs root, or CAP_BPF and CAP_PERFMON; this process lacks {0}")]
    Privilege(String),
    #[error("loading the eBPF program: {0}")]
    Load(String),
    #[error("attaching to tracepoint {hook}: {detail}")]
    Attach { hook: String, detail: String },
    #[error("no process with pid {0}")]
    NoProcess(u32),
    #[error(transparent)]
    Launch(#[from] launch::LaunchError),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error("cgroup of {what}: {source}")]
    Cgroup {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What to follow. Filtering happens in the kernel, so processes outside the target cost
/// one map lookup (pids) or one compare (cgroup) per capability check, nothing more.
#[derive(Debug, Clone)]
pub enum Target {
    /// These processes and every process they fork from now on (existing descendants are
    /// added too).
    Pids(Vec<u32>),
    /// Every task in this cgroup v2 directory or below it.
    Cgroup(CgroupRef),
    /// A running Docker container, by name or id: its cgroup, resolved through the Engine API.
    Container(String),
    /// Every process on the host except the tracer itself.
    All,
}

/// A finished [`Tracer::run`].
#[derive(Debug)]
pub struct Recording {
    pub events: Vec<TraceEvent>,
    pub summary: Summary,
    pub status: ExitStatus,
}

/// An attached trace. Dropping it (or [`Tracer::stop`]) detaches the programs.
pub struct Tracer {
    loaded: Loaded,
    noaudit: NoauditRanges,
    /// Add to `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) to get Unix time.
    clock_offset_ns: i128,
    summary: Summary,
    container: Option<Inspect>,
    cgroup: Option<CgroupRef>,
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the struct.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl Tracer {
    /// Loads the programs and starts following `target`.
    pub fn attach(target: Target) -> Result<Tracer, TraceError> {
        let mut container = None;
        let (mode, pids, cgroup) = match target {
            Target::All => (Mode::All, Vec::new(), None),
            Target::Pids(pids) => {
                // The kernel filter is keyed by thread group: a thread id stands for its process.
                let tgids = pids
                    .iter()
                    .map(|p| tgid_of(*p).ok_or(TraceError::NoProcess(*p)))
                    .collect::<Result<Vec<u32>, TraceError>>()?;
                (Mode::Pids, tgids, None)
            }
            Target::Cgroup(c) => (
                Mode::Cgroup {
                    id: c.id,
                    level: c.level,
                },
                Vec::new(),
                Some(c),
            ),
            Target::Container(name) => {
                let inspect = engine::inspect_running(&name)?;
                let c = cgroup::of_pid(inspect.state.pid).map_err(|source| TraceError::Cgroup {
                    what: format!("container {name}"),
                    source,
                })?;
                container = Some(inspect);
                (
                    Mode::Cgroup {
                        id: c.id,
                        level: c.level,
                    },
                    Vec::new(),
                    Some(c),
                )
            }
        };
        let mut tracer = Tracer::load(mode)?;
        tracer.container = container;
        tracer.cgroup = cgroup;
        for p in &pids {
            tracer.loaded.follow(*p)?;
        }
        // The fork hook is live now, so children forked from here on are caught by the
        // kernel; the ones forked before are found in /proc.
        for p in descendants(&pids) {
            tracer.loaded.follow(p)?;
        }
        // A target that ended before its pid reached the map (a zombie still has a /proc
        // entry) never fires the exit hook: drop such entries now, and refuse a target that
        // is already gone.
        if !pids.is_empty() && tracer.loaded.followed()? == 0 {
            return Err(TraceError::NoProcess(pids[0]));
        }
        Ok(tracer)
    }

    /// Starts `cmd` (searched in PATH) traced from its exec on, with all its descendants.
    /// Returns once the command runs; reap it with [`Launched::wait`] / `try_wait`.
    pub fn launch(cmd: &[OsString]) -> Result<(Tracer, Launched), TraceError> {
        let mut tracer = Tracer::load(Mode::Pids)?;
        // If anything below fails, dropping `child` kills the held child before it execs.
        let mut child = launch::spawn_held(cmd)?;
        tracer.loaded.follow(child.pid())?;
        child.release()?;
        Ok((tracer, child))
    }

    /// Runs `cmd` to completion and returns everything it checked.
    pub fn run(cmd: &[OsString]) -> Result<Recording, TraceError> {
        let (mut tracer, mut child) = Tracer::launch(cmd)?;
        let mut events = Vec::new();
        let status = loop {
            events.extend(tracer.poll(Duration::from_millis(50))?);
            if let Some(s) = child.try_wait()? {
                break s;
            }
        };
        let (rest, summary) = tracer.stop()?;
        events.extend(rest);
        Ok(Recording {
            events,
            summary,
            status,
        })
    }

    fn load(mode: Mode) -> Result<Tracer, TraceError> {
        match privs::preflight() {
            Ok(()) => {}
            Err(privs::Missing::Btf) => {
                return Err(TraceError::NoBtf("missing or unreadable".into()))
            }
            Err(privs::Missing::Tracepoint) => {
                return Err(TraceError::NoTracepoint(kernel_release()))
            }
            Err(privs::Missing::Privilege(what)) => return Err(TraceError::Privilege(what)),
        }
        // kallsyms shows real addresses only with CAP_SYSLOG: read it before anyone drops it.
        let noaudit = NoauditRanges::load().unwrap_or_default();
        let loaded = Loaded::load(mode, &noaudit)?;
        Ok(Tracer {
            loaded,
            noaudit,
            clock_offset_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC),
            summary: Summary::default(),
            container: None,
            cgroup: None,
        })
    }

    /// Waits up to `timeout` for the kernel's next batch, then returns every event queued.
    /// The kernel wakes the reader only every 256 KiB, so a quiet trace shows its events
    /// when the timeout passes: use 50–200 ms for a live view.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<TraceEvent>, TraceError> {
        self.loaded.wait(timeout)?;
        Ok(self.take())
    }

    fn take(&mut self) -> Vec<TraceEvent> {
        let mut out = Vec::new();
        let (offset, summary) = (self.clock_offset_ns, &mut self.summary);
        self.loaded.drain(|raw| match raw {
            Some(raw) => {
                let e = TraceEvent::from_raw(&raw, offset);
                summary.record(&e);
                out.push(e);
            }
            None => summary.malformed += 1,
        });
        out
    }

    /// Drains what is left, reads the kernel's counters and detaches.
    pub fn stop(mut self) -> Result<(Vec<TraceEvent>, Summary), TraceError> {
        let rest = self.take();
        let (seen, lost) = self.loaded.counts()?;
        self.summary.seen = seen;
        self.summary.lost = lost;
        Ok((rest, self.summary))
    }

    /// Counts so far; `seen` and `lost` are refreshed from the kernel.
    pub fn summary(&mut self) -> Result<&Summary, TraceError> {
        let (seen, lost) = self.loaded.counts()?;
        self.summary.seen = seen;
        self.summary.lost = lost;
        Ok(&self.summary)
    }

    /// Processes still followed ([`Target::Pids`] and [`Tracer::launch`]): 0 once all exited.
    pub fn followed(&mut self) -> Result<usize, TraceError> {
        self.loaded.followed()
    }

    /// False when `/proc/kallsyms` hid its addresses: then every check counts as audited.
    pub fn noaudit_available(&self) -> bool {
        self.noaudit.is_available()
    }

    /// The container traced with [`Target::Container`].
    pub fn container(&self) -> Option<&Inspect> {
        self.container.as_ref()
    }

    /// The cgroup traced with [`Target::Cgroup`] or [`Target::Container`].
    pub fn cgroup(&self) -> Option<&CgroupRef> {
        self.cgroup.as_ref()
    }
}

/// True while the process exists and has not exited (zombies and dead tasks have).
pub(crate) fn is_running(pid: u32) -> bool {
    let Ok(stat) = crate::process::read_text(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the command name's closing parenthesis.
    !matches!(
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next()),
        Some("Z") | Some("X") | Some("x") | None
    )
}

/// The thread group (process) a pid or thread id belongs to; `None` when it does not exist.
fn tgid_of(pid: u32) -> Option<u32> {
    let status = crate::process::read_text(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Every current descendant of `roots`, from the ppid field of `/proc/N/stat`.
fn descendants(roots: &[u32]) -> Vec<u32> {
    // Only thread groups appear in /proc's top level, so children found here are processes.
    if roots.is_empty() {
        return Vec::new();
    }
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = crate::process::read_text(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // comm may hold spaces and parentheses: fields restart after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found: Vec<u32> = Vec::new();
    let mut frontier: Vec<u32> = roots.to_vec();
    while let Some(p) = frontier.pop() {
        for (child, _) in parent_of.iter().filter(|(_, pp)| *pp == p) {
            if !found.contains(child) && !roots.contains(child) {
                found.push(*child);
                frontier.push(*child);
            }
        }
    }
    found
}
