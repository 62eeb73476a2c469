//! The image's files judged against the bounding set a container will get.
//!
//! The kernel's rule (`bprm_caps_from_vfs_caps`): at exec, a file capability's permitted set
//! is masked by the bounding set (a container's inheritable set is empty); when the effective
//! bit is set and anything was masked away, the exec itself fails with EPERM. Without the
//! effective bit the program starts and only lacks the capability. A setuid-root file gives
//! a non-root caller the whole bounding set, unless no-new-privileges is set.

use super::ImageFiles;
use crate::caps::{Cap, CapSet};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// Exec fails with "Operation not permitted".
    ExecFails,
    /// The program starts without part of its file capability.
    NotGranted,
    /// Setuid root without no-new-privileges: the bounding set can be regained.
    SetuidRoot,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::ExecFails => "exec-fails",
            VerdictKind::NotGranted => "not-granted",
            VerdictKind::SetuidRoot => "setuid-root",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub path: String,
    /// Missing from the bounding set (exec-fails, not-granted) or regained (setuid-root).
    pub capabilities: CapSet,
    pub message: String,
    pub fix: String,
}

/// Every verdict for `files` in a container with `bounding` and, if set, no-new-privileges.
pub fn analyse(files: &ImageFiles, bounding: CapSet, no_new_privileges: bool) -> Vec<Verdict> {
    let mut out = Vec::new();
    for f in &files.files {
        if let Some(cap) = f.capability.filter(|c| c.applies_without_userns()) {
            let missing = cap.permitted.difference(bounding);
            if !missing.is_empty() {
                out.push(if cap.effective {
                    Verdict {
                        kind: VerdictKind::ExecFails,
                        path: f.path.clone(),
                        capabilities: missing,
                        message: format!(
                            "exec fails with \"Operation not permitted\": its file capability ({}) needs {missing}, which the bounding set lacks",
                            cap.text()
                        ),
                        fix: fix_for_file_cap(&f.path, missing),
                    }
                } else {
                    Verdict {
                        kind: VerdictKind::NotGranted,
                        path: f.path.clone(),
                        capabilities: missing,
                        message: format!(
                            "starts without {missing} (its file capability {} has no effective bit, so the exec itself succeeds)",
                            cap.text()
                        ),
                        fix: fix_for_file_cap(&f.path, missing),
                    }
                });
            }
        }
        if f.setuid_root() && !no_new_privileges && !bounding.is_empty() {
            out.push(Verdict {
                kind: VerdictKind::SetuidRoot,
                path: f.path.clone(),
                capabilities: bounding,
                message: format!(
                    "setuid root: a non-root user who runs it regains the bounding set ({}, {} capabilities)",
                    crate::caps::spell::compact(bounding),
                    bounding.len()
                ),
                fix: format!(
                    "set no-new-privileges (--security-opt no-new-privileges; Kubernetes allowPrivilegeEscalation: false), or add `RUN chmod u-s {}` to the Dockerfile",
                    f.path
                ),
            });
        }
    }
    out
}

/// Keep the capability, or take the capability off the file.
pub fn fix_for_file_cap(path: &str, missing: CapSet) -> String {
    let add: Vec<String> = missing.iter().map(|c| format!("--cap-add {c}")).collect();
    format!(
        "keep {missing} ({}), or {}",
        add.join(" "),
        remove_file_cap(path, missing)
    )
}

/// Taking the capability off the file. For ping, the table's alternative (ICMP datagram
/// sockets) makes that work without any capability.
pub fn remove_file_cap(path: &str, missing: CapSet) -> String {
    let strip = format!("add `RUN setcap -r {path}` to the Dockerfile");
    let base = path.rsplit('/').next().unwrap_or("");
    if base.starts_with("ping") && missing == CapSet::EMPTY.with(Cap::NET_RAW) {
        let alt = Cap::NET_RAW
            .info()
            .and_then(|i| i.alternative)
            .unwrap_or("");
        format!("{strip}: iputils ping then uses ICMP datagram sockets. {alt}")
    } else {
        format!("{strip} if the program works without it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{FileCap, FileEntry};

    fn files(entries: Vec<FileEntry>) -> ImageFiles {
        ImageFiles {
            image: "t".into(),
            id: None,
            layers: 1,
            files: entries,
            notes: Vec::new(),
        }
    }

    fn entry(path: &str, mode: u32, cap: Option<FileCap>) -> FileEntry {
        FileEntry {
            capability: cap,
            ..FileEntry::new(path.into(), mode, 0, 0)
        }
    }

    fn ping_cap(effective: bool, rootid: Option<u32>) -> FileCap {
        FileCap {
            revision: if rootid.is_some() { 3 } else { 2 },
            permitted: CapSet::EMPTY.with(Cap::NET_RAW),
            inheritable: CapSet::EMPTY,
            effective,
            rootid,
        }
    }

    fn ping(effective: bool, rootid: Option<u32>) -> ImageFiles {
        files(vec![entry(
            "/usr/bin/ping",
            0o755,
            Some(ping_cap(effective, rootid)),
        )])
    }

    #[test]
    fn ping_fails_to_exec_without_net_raw_and_not_with_it() {
        let img = ping(true, None);
        let docker = CapSet::docker_default();
        assert!(analyse(&img, docker, false).is_empty());
        let v = analyse(&img, docker.without(Cap::NET_RAW), false);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].kind, VerdictKind::ExecFails);
        assert_eq!(v[0].capabilities, CapSet::EMPTY.with(Cap::NET_RAW));
        assert!(v[0].fix.contains("setcap -r /usr/bin/ping"), "{}", v[0].fix);
        assert!(v[0].fix.contains("datagram"), "{}", v[0].fix);
    }

    #[test]
    fn no_effective_bit_means_the_exec_succeeds() {
        let img = ping(false, None);
        let v = analyse(&img, CapSet::EMPTY, true);
        assert_eq!(v[0].kind, VerdictKind::NotGranted);
    }

    #[test]
    fn a_namespaced_capability_for_another_root_is_ignored() {
        let img = ping(true, Some(100000));
        assert!(analyse(&img, CapSet::EMPTY, true).is_empty());
    }

    #[test]
    fn setuid_root_regains_the_bounding_set_unless_no_new_privileges() {
        let mut su = entry("/usr/bin/su", 0o4755, None);
        let img = files(vec![su.clone()]);
        let v = analyse(&img, CapSet::docker_default(), false);
        assert_eq!(v[0].kind, VerdictKind::SetuidRoot);
        assert_eq!(v[0].capabilities, CapSet::docker_default());
        assert!(analyse(&img, CapSet::docker_default(), true).is_empty());
        assert!(analyse(&img, CapSet::EMPTY, false).is_empty());
        su.uid = 1000;
        assert!(analyse(&files(vec![su]), CapSet::docker_default(), false).is_empty());
    }
}
