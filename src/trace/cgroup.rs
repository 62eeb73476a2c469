//! cgroup v2 ids: what `bpf_get_current_cgroup_id()` returns is the inode number of the
//! task's directory in the cgroup v2 hierarchy. That works on pure v2 hosts (`/sys/fs/cgroup`)
//! and on hybrid v1+v2 hosts such as this one (`/sys/fs/cgroup/unified`), where Docker with
//! the cgroupfs driver still creates `/sys/fs/cgroup/unified/docker/<id>` for each container.

use crate::process::{container_of, ContainerRef};
use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A cgroup v2 directory as the BPF filter needs it: its id and depth below the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupRef {
    pub id: u64,
    /// 0 for the root; the filter matches this cgroup and everything below it.
    pub level: u32,
    pub path: PathBuf,
}

/// Where cgroup2 is mounted, from `/proc/self/mountinfo`.
pub fn v2_mount() -> io::Result<PathBuf> {
    let text = crate::process::read_text("/proc/self/mountinfo")?;
    v2_mount_in(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no cgroup2 file system is mounted (container tracing needs cgroup v2 or hybrid)",
        )
    })
}

fn v2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        let mount_point = left.split_whitespace().nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

/// The v2 path of a process (`/docker/<id>`), from the `0::` line of `/proc/PID/cgroup`.
pub fn v2_path_of(cgroup_text: &str) -> Option<&str> {
    cgroup_text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// The cgroup v2 directory a running process sits in.
pub fn of_pid(pid: u32) -> io::Result<CgroupRef> {
    let text = crate::process::read_text(format!("/proc/{pid}/cgroup"))?;
    let rel = v2_path_of(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("/proc/{pid}/cgroup has no cgroup v2 (0::) line"),
        )
    })?;
    at(&v2_mount()?, rel)
}

/// The cgroup at `rel` (as `/proc/PID/cgroup` writes it) below `mount`.
pub fn at(mount: &Path, rel: &str) -> io::Result<CgroupRef> {
    let rel = rel.trim().trim_start_matches('/');
    let path = mount.join(rel);
    let meta = std::fs::metadata(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let level = rel.split('/').filter(|s| !s.is_empty()).count() as u32;
    Ok(CgroupRef {
        id: meta.ino(),
        level,
        path,
    })
}

/// Maps cgroup ids seen in events back to containers, for `--all` output. The cgroup tree
/// is rescanned on a miss, at most once a second, so new containers show up without a
/// per-event cost.
#[derive(Debug, Default)]
pub struct ContainerIndex {
    mount: Option<PathBuf>,
    known: HashMap<u64, Option<ContainerRef>>,
    last_scan: Option<Instant>,
}

impl ContainerIndex {
    pub fn new() -> ContainerIndex {
        ContainerIndex {
            mount: v2_mount().ok(),
            ..ContainerIndex::default()
        }
    }

    /// The container whose cgroup has this id, `None` for host cgroups.
    pub fn lookup(&mut self, cgroup_id: u64) -> Option<&ContainerRef> {
        if !self.known.contains_key(&cgroup_id) {
            let due = self
                .last_scan
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
            if due {
                self.scan();
            }
            self.known.entry(cgroup_id).or_insert(None);
        }
        self.known.get(&cgroup_id).and_then(Option::as_ref)
    }

    fn scan(&mut self) {
        self.last_scan = Some(Instant::now());
        let Some(mount) = self.mount.clone() else {
            return;
        };
        // Containers live a few levels down (docker/<id>, system.slice/docker-<id>.scope,
        // kubepods/.../<id>); four levels cover the engines `container_of` knows.
        let mut stack = vec![(mount.clone(), 0u32)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(meta) = e.metadata() else { continue };
                if !meta.is_dir() {
                    continue;
                }
                let path = e.path();
                let rel = path.strip_prefix(&mount).unwrap_or(&path);
                let found = container_of(&format!("0::/{}", rel.display()));
                if found.is_some() || !self.known.contains_key(&meta.ino()) {
                    self.known.insert(meta.ino(), found);
                }
                if depth < 4 {
                    stack.push((path, depth + 1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mount point whose name is not UTF-8 appears in mountinfo byte for byte; it must not
    /// make the cgroup2 mount unfindable. Needs root (it mounts a tmpfs, then removes it).
    #[test]
    fn a_mount_point_that_is_not_utf8_does_not_hide_cgroup2() {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        if unsafe { libc::geteuid() } != 0 {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the unit tests as root"
            );
            eprintln!("SKIPPED a_mount_point_that_is_not_utf8_does_not_hide_cgroup2: not root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"\xffmnt"));
        std::fs::create_dir(&odd).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "dropcap-test", "-o", "size=4k"])
            .arg(&odd)
            .status()
            .unwrap();
        assert!(mounted.success());
        let found = v2_mount();
        let _ = std::process::Command::new("umount").arg(&odd).status();
        assert!(found.is_ok(), "{found:?}");
    }

    #[test]
    fn finds_v2_mount_in_hybrid_mountinfo() {
        let mi = "\
25 1 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
";
        assert_eq!(
            v2_mount_in(mi),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(v2_mount_in("27 25 0:24 / /x rw - cgroup cgroup rw\n"), None);
    }

    #[test]
    fn v2_line() {
        let t = "12:pids:/docker/abc\n0::/docker/abc\n";
        assert_eq!(v2_path_of(t), Some("/docker/abc"));
        assert_eq!(v2_path_of("1:cpu:/\n"), None);
    }

    #[test]
    fn own_cgroup_resolves() {
        // Every process has a v2 cgroup wherever cgroup2 is mounted.
        if v2_mount().is_err() {
            return;
        }
        let me = of_pid(std::process::id()).unwrap();
        assert!(me.path.is_dir());
        assert!(me.id > 0);
    }
}
