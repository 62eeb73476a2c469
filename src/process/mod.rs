//! Reading processes from `/proc`: their capability sets, identity and container.

pub mod cgroup;
pub mod status;
pub mod users;

pub use cgroup::{container_of, ContainerRef, Runtime};
pub use status::{ProcError, ProcStatus};

use std::path::Path;

/// A kernel text file such as `/proc/PID/status`, `stat` or `cgroup`. They quote `comm` and
/// cgroup names byte for byte, and those need not be UTF-8: a process started from a file
/// named `\xff` must not make its whole file (and `ps`, or a trace of its tree) unreadable.
pub fn read_text(path: impl AsRef<Path>) -> std::io::Result<String> {
    std::fs::read(path).map(|raw| match String::from_utf8(raw) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// One process as `ps` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Process {
    #[serde(flatten)]
    pub status: ProcStatus,
    /// Full command line, or `[comm]` for kernel threads (as `ps` prints them).
    pub command: String,
    pub container: Option<ContainerRef>,
}

impl Process {
    /// Reads one process below `proc_root` (normally `/proc`; tests point it elsewhere).
    pub fn read(proc_root: &Path, pid: u32) -> Result<Process, ProcError> {
        let status = ProcStatus::read(proc_root, pid)?;
        let dir = proc_root.join(pid.to_string());
        let command = match std::fs::read(dir.join("cmdline")) {
            Ok(raw) if !raw.is_empty() => {
                let parts: Vec<String> = raw
                    .split(|b| *b == 0)
                    .filter(|p| !p.is_empty())
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                parts.join(" ")
            }
            _ => format!("[{}]", status.name),
        };
        let container = read_text(dir.join("cgroup"))
            .ok()
            .and_then(|t| container_of(&t));
        Ok(Process {
            status,
            command,
            container,
        })
    }
}

/// A pass over `/proc`: the processes read, and those that could not be (a permission
/// refused, a status file this parser does not understand). One unreadable process must not
/// hide all the others, so those are returned beside the list for the caller to report.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub processes: Vec<Process>,
    pub unreadable: Vec<ProcError>,
}

/// Every numeric entry of `proc_root`, in pid order. Processes that exit while being read are
/// skipped: `/proc` is a moving target and that is not an error.
pub fn all_processes(proc_root: &Path) -> Result<Snapshot, ProcError> {
    let entries = std::fs::read_dir(proc_root).map_err(|source| ProcError::Io {
        path: proc_root.to_path_buf(),
        source,
    })?;
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    let mut out = Snapshot {
        processes: Vec::with_capacity(pids.len()),
        unreadable: Vec::new(),
    };
    for pid in pids {
        match Process::read(proc_root, pid) {
            Ok(p) => out.processes.push(p),
            Err(ProcError::NoSuchProcess(_)) => {}
            Err(e) => out.unreadable.push(e),
        }
    }
    Ok(out)
}
