//! What the kernel really gives a running container, read on the engine's host.
//!
//! Processes come from the container's cgroup (`cgroup.procs`, walked recursively because
//! systemd-in-a-container nests cgroups), falling back to the init pid alone. The engine's pid
//! is only trusted after `/proc/PID/cgroup` names the same container id: that is how a remote
//! engine, a VM (Docker Desktop) or a reused pid is told apart from "this host".
//!
//! Network sysctls cannot be read through `/proc/PID/root/proc/sys/net`: the kernel answers
//! `/proc/sys/net` for the *reader's* network namespace (measured: it shows the host's value).
//! So a short-lived thread joins the container's network namespace with `setns` and reads
//! them there; the thread ends afterwards, so no other work ever runs in that namespace.

use crate::process::{container_of, ProcError, Process};
use crate::workload::ProcessCaps;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Network sysctls that change which capabilities a container needs.
pub const NET_SYSCTLS: [&str; 2] = [
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

/// A bound on processes read per container, so a fork bomb cannot stall the audit.
const MAX_PROCESSES: usize = 4096;

/// The processes of container `id` whose init is `pid`; `None` when that pid is not this
/// container on this host.
pub fn processes(proc_root: &Path, pid: u32, id: &str) -> Option<Vec<ProcessCaps>> {
    let cgroup = crate::process::read_text(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
    if container_of(&cgroup)?.id != id {
        return None;
    }
    let mut pids = cgroup_pids(&cgroup).unwrap_or_default();
    if !pids.contains(&pid) {
        pids.push(pid);
    }
    pids.sort_unstable();
    pids.dedup();
    pids.truncate(MAX_PROCESSES);
    let mut out = Vec::with_capacity(pids.len());
    for p in pids {
        match Process::read(proc_root, p) {
            Ok(proc_) if proc_.container.as_ref().is_some_and(|c| c.id == id) => {
                let s = &proc_.status;
                let map = std::fs::read_to_string(proc_root.join(p.to_string()).join("uid_map"))
                    .unwrap_or_default();
                out.push(ProcessCaps {
                    pid: p,
                    command: proc_.command,
                    uid: uid_inside(&map, s.uid[1]),
                    permitted: s.permitted,
                    effective: s.effective,
                    bounding: s.bounding,
                    ambient: s.ambient,
                });
            }
            // Exited between listing and reading, or moved out: not part of the container.
            Ok(_) | Err(ProcError::NoSuchProcess(_)) => {}
            Err(_) => {}
        }
    }
    Some(out)
}

/// The uid a process has inside its own user namespace. `/proc/PID/status` shows it as the
/// host sees it: under userns-remap the container's root is host uid 100000, yet holds every
/// capability of its namespace by right, which is no drift. Unmapped ids stay as they are.
fn uid_inside(uid_map: &str, host_uid: u32) -> u32 {
    for line in uid_map.lines() {
        let mut f = line.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(count))) = (f.next(), f.next(), f.next())
        else {
            continue;
        };
        let uid = u64::from(host_uid);
        if outside <= uid && uid < outside.saturating_add(count) {
            return u32::try_from(inside + (uid - outside)).unwrap_or(host_uid);
        }
    }
    host_uid
}

/// Pids listed in the container's cgroup directory, from the first hierarchy that has one.
fn cgroup_pids(cgroup_text: &str) -> Option<Vec<u32>> {
    let dirs = cgroup_dirs(cgroup_text);
    dirs.iter().find_map(|d| {
        if !d.join("cgroup.procs").exists() {
            return None;
        }
        let mut pids = Vec::new();
        collect_pids(d, 0, &mut pids);
        Some(pids)
    })
}

/// Candidate directories under /sys/fs/cgroup for each line of `/proc/PID/cgroup`: the v2
/// hierarchy (pure v2 or the hybrid `unified` mount), then v1's `pids` and named hierarchies.
fn cgroup_dirs(cgroup_text: &str) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut v2 = Vec::new();
    let mut v1 = Vec::new();
    for line in cgroup_text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(hid), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        if rel.contains("..") {
            continue;
        }
        if hid == "0" && controllers.is_empty() {
            v2.push(base.join("unified").join(rel));
            v2.push(base.join(rel));
        } else if controllers.split(',').any(|c| c == "pids") {
            v1.insert(0, base.join("pids").join(rel));
        } else if let Some(name) = controllers.strip_prefix("name=") {
            v1.push(base.join(name).join(rel));
        }
    }
    v2.extend(v1);
    v2
}

fn collect_pids(dir: &Path, depth: u32, out: &mut Vec<u32>) {
    if depth > 8 || out.len() >= MAX_PROCESSES {
        return;
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&e.path(), depth + 1, out);
            }
        }
    }
}

/// The values of [`NET_SYSCTLS`] inside the network namespace of `pid`. Needs CAP_SYS_ADMIN
/// (setns); without it, or if the process is gone, the map is empty and rules fall back to
/// the engine's documented defaults.
pub fn net_sysctls(proc_root: &Path, pid: u32) -> BTreeMap<String, String> {
    let ns = proc_root.join(pid.to_string()).join("ns/net");
    let handle = std::thread::Builder::new()
        .name("dropcap-netns".into())
        .spawn(move || read_in_netns(&ns));
    match handle {
        Ok(h) => h.join().unwrap_or_default(),
        Err(_) => BTreeMap::new(),
    }
}

fn read_in_netns(ns: &Path) -> BTreeMap<String, String> {
    use std::os::fd::AsRawFd;
    let mut out = BTreeMap::new();
    let Ok(file) = std::fs::File::open(ns) else {
        return out;
    };
    // SAFETY: setns only changes this thread's network namespace; the thread was created for
    // this read and ends right after it, so no other code observes the change.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return out;
    }
    for key in NET_SYSCTLS {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        if let Ok(v) = std::fs::read_to_string(path) {
            out.insert(
                key.to_string(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_for_hybrid_v1_and_v2() {
        let id = "a".repeat(64);
        let text = format!("9:name=systemd:/docker/{id}\n8:pids:/docker/{id}\n0::/docker/{id}\n");
        let dirs = cgroup_dirs(&text);
        assert_eq!(
            dirs[0],
            Path::new("/sys/fs/cgroup/unified/docker").join(&id)
        );
        assert_eq!(dirs[1], Path::new("/sys/fs/cgroup/docker").join(&id));
        assert_eq!(dirs[2], Path::new("/sys/fs/cgroup/pids/docker").join(&id));
        assert_eq!(
            dirs[3],
            Path::new("/sys/fs/cgroup/systemd/docker").join(&id)
        );
        assert!(cgroup_dirs("0::/../../etc\n").is_empty());
        assert!(cgroup_dirs("junk").is_empty());
    }

    #[test]
    fn uids_inside_user_namespaces() {
        assert_eq!(uid_inside("         0          0 4294967295\n", 1000), 1000);
        assert_eq!(uid_inside("         0     100000      65536\n", 100000), 0);
        assert_eq!(uid_inside("0 100000 65536\n", 101000), 1000);
        assert_eq!(uid_inside("0 100000 65536\n", 5), 5);
        assert_eq!(uid_inside("", 7), 7);
        assert_eq!(uid_inside("junk", 7), 7);
    }

    #[test]
    fn host_process_is_no_container() {
        // This test process is not in any container's cgroup (or, inside CI containers, not in
        // the one named here).
        let me = std::process::id();
        assert!(processes(Path::new("/proc"), me, &"f".repeat(64)).is_none());
    }
}
