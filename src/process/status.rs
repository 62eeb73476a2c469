//! Parsing `/proc/PID/status`, the kernel's own report of a process's five capability sets.

use crate::caps::{parse_mask, CapSet};
use serde::Serialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProcError {
    #[error("no process with pid {0}")]
    NoSuchProcess(u32),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: missing field {field}")]
    Missing { path: PathBuf, field: &'static str },
}

/// The fields of `/proc/PID/status` that matter for capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcStatus {
    pub pid: u32,
    pub ppid: u32,
    /// `comm`, at most 15 bytes.
    pub name: String,
    /// Real, effective, saved and filesystem uid.
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub inheritable: CapSet,
    pub permitted: CapSet,
    pub effective: CapSet,
    pub bounding: CapSet,
    pub ambient: CapSet,
    /// `None` on kernels before 4.10, which do not report it.
    pub no_new_privs: Option<bool>,
    /// 0 disabled, 1 strict, 2 filter; `None` without CONFIG_SECCOMP.
    pub seccomp: Option<u8>,
}

impl ProcStatus {
    pub fn read(proc_root: &Path, pid: u32) -> Result<ProcStatus, ProcError> {
        let path = proc_root.join(pid.to_string()).join("status");
        let text = match super::read_text(&path) {
            Ok(t) => t,
            // ESRCH shows up when the process exits between readdir and read.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ESRCH) =>
            {
                return Err(ProcError::NoSuchProcess(pid))
            }
            Err(source) => return Err(ProcError::Io { path, source }),
        };
        ProcStatus::parse(&text, pid, &path)
    }

    /// `path` is only used in error messages.
    pub fn parse(text: &str, pid: u32, path: &Path) -> Result<ProcStatus, ProcError> {
        let malformed = |line: usize, reason: String| ProcError::Malformed {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut name = None;
        let mut ppid = None;
        let mut uid = None;
        let mut gid = None;
        let mut sets: [Option<CapSet>; 5] = [None; 5];
        let mut no_new_privs = None;
        let mut seccomp = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let number = |v: &str| {
                v.parse::<u32>()
                    .map_err(|_| malformed(n, format!("{key} is not a number: '{v}'")))
            };
            match key {
                "Name" => name = Some(value.to_string()),
                "PPid" => ppid = Some(number(value)?),
                "Uid" | "Gid" => {
                    let ids: Vec<u32> = value
                        .split_whitespace()
                        .map(number)
                        .collect::<Result<_, _>>()?;
                    let ids: [u32; 4] = ids.try_into().map_err(|_| {
                        malformed(n, format!("{key} needs four ids, got '{value}'"))
                    })?;
                    if key == "Uid" {
                        uid = Some(ids);
                    } else {
                        gid = Some(ids);
                    }
                }
                "CapInh" | "CapPrm" | "CapEff" | "CapBnd" | "CapAmb" => {
                    let idx = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
                        .iter()
                        .position(|k| *k == key)
                        .unwrap_or(0);
                    let set = parse_mask(value)
                        .map_err(|_| malformed(n, format!("{key} is not a hex mask: '{value}'")))?;
                    sets[idx] = Some(set);
                }
                "NoNewPrivs" => no_new_privs = Some(number(value)? != 0),
                "Seccomp" => {
                    let v = number(value)?;
                    seccomp = Some(
                        u8::try_from(v)
                            .map_err(|_| malformed(n, format!("Seccomp mode {v} is unknown")))?,
                    );
                }
                _ => {}
            }
        }
        let missing = |field| ProcError::Missing {
            path: path.to_path_buf(),
            field,
        };
        Ok(ProcStatus {
            pid,
            ppid: ppid.ok_or_else(|| missing("PPid"))?,
            name: name.ok_or_else(|| missing("Name"))?,
            uid: uid.ok_or_else(|| missing("Uid"))?,
            gid: gid.ok_or_else(|| missing("Gid"))?,
            inheritable: sets[0].ok_or_else(|| missing("CapInh"))?,
            permitted: sets[1].ok_or_else(|| missing("CapPrm"))?,
            effective: sets[2].ok_or_else(|| missing("CapEff"))?,
            bounding: sets[3].ok_or_else(|| missing("CapBnd"))?,
            // CapAmb arrived in 4.3; older kernels simply have no ambient set.
            ambient: sets[4].unwrap_or(CapSet::EMPTY),
            no_new_privs,
            seccomp,
        })
    }

    pub fn seccomp_name(&self) -> &'static str {
        match self.seccomp {
            None => "unsupported",
            Some(0) => "disabled",
            Some(1) => "strict",
            Some(2) => "filter",
            Some(_) => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPPid:\t1\n\
Uid:\t101\t101\t101\t101\nGid:\t101\t101\t101\t101\nCapInh:\t0000000000000000\n\
CapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t00000000a80425fb\n\
CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";

    #[test]
    fn parses_all_fields() {
        let s = ProcStatus::parse(SAMPLE, 42, Path::new("/proc/42/status")).unwrap();
        assert_eq!(s.name, "nginx");
        assert_eq!(s.ppid, 1);
        assert_eq!(s.uid, [101; 4]);
        assert_eq!(s.effective.names(), vec!["NET_BIND_SERVICE"]);
        assert_eq!(s.bounding, CapSet::docker_default());
        assert_eq!(s.no_new_privs, Some(true));
        assert_eq!(s.seccomp_name(), "filter");
    }

    /// A fake `/proc` whose pid 7 has a non-UTF-8 name and pid 9 a broken status file.
    #[test]
    fn one_odd_process_does_not_hide_the_others() {
        let root = tempfile::tempdir().unwrap();
        let write = |pid: u32, bytes: &[u8]| {
            let d = root.path().join(pid.to_string());
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("status"), bytes).unwrap();
        };
        write(5, SAMPLE.as_bytes());
        let odd: Vec<u8> = SAMPLE
            .replace("nginx", "@")
            .bytes()
            .map(|b| if b == b'@' { 0xff } else { b })
            .collect();
        write(7, &odd);
        write(9, SAMPLE.replace("CapBnd", "CapXXX").as_bytes());
        let snap = crate::process::all_processes(root.path()).unwrap();
        let pids: Vec<u32> = snap.processes.iter().map(|p| p.status.pid).collect();
        assert_eq!(pids, [5, 7]);
        assert_eq!(snap.processes[1].status.name, "\u{fffd}");
        assert_eq!(snap.processes[1].command, "[\u{fffd}]");
        assert_eq!(snap.unreadable.len(), 1);
        assert!(snap.unreadable[0]
            .to_string()
            .contains("missing field CapBnd"));
    }

    #[test]
    fn malformed_fields_name_file_and_line() {
        let bad = SAMPLE.replace("CapEff:\t0000000000000400", "CapEff:\tzz");
        let e = ProcStatus::parse(&bad, 42, Path::new("/proc/42/status")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/proc/42/status:10: CapEff is not a hex mask: 'zz'"
        );
        let bad = SAMPLE.replace("Uid:\t101\t101\t101\t101", "Uid:\t101");
        let e = ProcStatus::parse(&bad, 42, Path::new("/p")).unwrap_err();
        assert!(e.to_string().contains("Uid needs four ids"), "{e}");
        let bad = SAMPLE.replace("CapBnd", "CapXXX");
        let e = ProcStatus::parse(&bad, 42, Path::new("/p")).unwrap_err();
        assert_eq!(e.to_string(), "/p: missing field CapBnd");
        let e = ProcStatus::parse("\u{0}\u{1}binary", 1, Path::new("/p")).unwrap_err();
        assert!(matches!(e, ProcError::Missing { .. }));
    }
}
