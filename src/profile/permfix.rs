//! Permission fixes instead of capabilities. A root process that keeps DAC_OVERRIDE only
//! because it opens a file owned by another user does not need the capability: it needs the
//! file to be its own. From the evidence (which files each kept capability was used on) and
//! the files' owner and mode in the image, this proposes the image change (`chown`, `chmod`)
//! that makes each check pass on ordinary permissions, and says why when none exists.
//!
//! Which capabilities can be replaced so comes from the capability table
//! ([`CapSet::file_permission`]); a capability whose checks are not all about files that
//! exist in the image (a socket, a device node, a file created at run time, a descriptor)
//! gets no fix. A fix is a proposal until `--try-fixes` runs the workload on a derived image
//! with the smaller set.

use super::report::Kept;
use super::trace::Seen;
use crate::caps::{Cap, CapSet};
use crate::image::layer::{FileEntry, Keep, KEPT_DIR};
use crate::trace::CheckObject;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Owner, group and mode of one path, wherever the files are (image or host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub uid: u64,
    pub gid: u64,
    /// Permission bits (0o7777).
    pub mode: u32,
    pub dir: bool,
    /// `www-data:adm`, names where the image's account files have them.
    pub owner: String,
}

/// Where the files are looked up.
pub trait Files {
    fn stat(&self, path: &str) -> Option<Stat>;
}

/// An image's files, read with [`Keep`] = [`wanted_paths`].
pub struct ImageStats(pub BTreeMap<String, FileEntry>);

impl ImageStats {
    pub fn new(files: &[FileEntry]) -> ImageStats {
        ImageStats(files.iter().map(|f| (f.path.clone(), f.clone())).collect())
    }
}

impl Files for ImageStats {
    fn stat(&self, path: &str) -> Option<Stat> {
        self.0.get(path).map(|f| Stat {
            uid: f.uid,
            gid: f.gid,
            mode: f.mode & 0o7777,
            dir: f.mode & KEPT_DIR != 0,
            owner: format!("{}:{}", f.owner(), f.group_name()),
        })
    }
}

/// The host's files, for a local command (the fix is then a command to run, not an image
/// change, and is never tried by dropcap).
pub struct HostFiles;

impl Files for HostFiles {
    fn stat(&self, path: &str) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(Stat {
            uid: u64::from(m.uid()),
            gid: u64::from(m.gid()),
            mode: m.mode() & 0o7777,
            dir: m.is_dir(),
            owner: format!("{}:{}", m.uid(), m.gid()),
        })
    }
}

/// One file (or directory) the fix changes, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFix {
    pub path: String,
    pub cap: Cap,
    pub process: String,
    pub syscall: Option<String>,
    /// Owner, group and mode before the change.
    pub owner: String,
    pub mode: String,
    /// The shell command that changes it: `chown 0 PATH`, `chmod u+rw PATH`.
    pub change: Vec<String>,
}

/// A kept capability with no permission fix, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoFix {
    pub cap: Cap,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PermissionFixes {
    /// Kept capabilities the changes below make unnecessary.
    pub replaces: CapSet,
    /// The proven set minus `replaces`: what the workload should need after the change.
    pub smaller_set: CapSet,
    pub files: Vec<FileFix>,
    /// The changes as shell commands (one per kind of change, paths grouped).
    pub commands: Vec<String>,
    /// The same as one Dockerfile `RUN` line.
    pub dockerfile: Option<String>,
    /// When every file belongs to one user and nothing else is kept: run as that user instead.
    pub run_as: Option<String>,
    /// File-permission capabilities that are kept without a fix, and why.
    pub without_fix: Vec<NoFix>,
}

/// Syscalls whose check is about owning the file (chmod, utimes, xattrs): being the owner is
/// enough, whatever the mode.
const OWNER_ONLY: &[&str] = &[
    "chmod",
    "fchmodat",
    "fchmodat2",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "removexattr",
    "lremovexattr",
];

/// Syscalls that give a file to an owner named in an argument dropcap does not record: the
/// check passes without CHOWN only when the file already has that owner, which cannot be
/// known from the path alone.
const GIVES_AWAY: &[&str] = &["chown", "lchown", "fchownat"];

fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(move |(i, _)| if i == 0 { "/" } else { &path[..i] })
}

/// Every path of the evidence, with its directories: what the image reader must keep.
pub fn wanted_paths(evidence: &[Kept]) -> Keep {
    let mut keep = Keep::new();
    for k in evidence
        .iter()
        .filter(|k| CapSet::file_permission().contains(k.cap))
    {
        for s in k.seen.iter().chain(&k.denied) {
            if let Some(p) = absolute(&s.object) {
                keep.insert(p.clone());
                keep.extend(ancestors(&p).map(str::to_string));
            }
        }
    }
    keep
}

/// A path the fix can name: absolute, complete and valid UTF-8 (a Dockerfile line).
fn absolute(o: &CheckObject) -> Option<String> {
    match o {
        CheckObject::Path {
            path,
            truncated: false,
            dirfd: None,
        } if path.first() == Some(&b'/') => {
            let p = std::str::from_utf8(path).ok()?;
            crate::image::layer::normalize(p.as_bytes()).ok()
        }
        _ => None,
    }
}

/// The permission bits class of `uid`/`gid` for a file: owner, group or other (0o700 etc.).
fn class_bits(st: &Stat, uid: u64, gid: u64) -> u32 {
    if st.uid == uid {
        (st.mode >> 6) & 7
    } else if st.gid == gid {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    }
}

fn rwx(bits: u32) -> String {
    let mut s = String::new();
    for (b, c) in [(4, 'r'), (2, 'w'), (1, 'x')] {
        if bits & b != 0 {
            s.push(c);
        }
    }
    s
}

/// The changes that let `uid`/`gid` pass `need` (r/w/x bits) on `st` as its owner.
fn changes(path: &str, st: &Stat, uid: u64, gid: u64, need: u32) -> Vec<String> {
    if class_bits(st, uid, gid) & need == need && (need != 0 || st.uid == uid) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if st.uid != uid {
        out.push(format!("chown {uid} {path}"));
    }
    let missing = need & !((st.mode >> 6) & 7);
    if missing != 0 {
        out.push(format!("chmod u+{} {path}", rwx(missing)));
    }
    out
}

/// What one check needs: the file and the changes to it and to its directories, or why
/// there is no fix.
fn fix_one(
    cap: Cap,
    seen: &Seen,
    files: &dyn Files,
    uid: u64,
    gid: u64,
) -> Result<Vec<FileFix>, String> {
    let what = format!(
        "{} {}",
        seen.process,
        seen.syscall.as_deref().unwrap_or("(no syscall)")
    );
    let Some(path) = absolute(&seen.object) else {
        return Err(format!(
            "{what}: the file is not known by an absolute path ({})",
            seen.object.kind()
        ));
    };
    let syscall = seen.syscall.as_deref().unwrap_or("");
    if GIVES_AWAY.contains(&syscall) {
        return Err(format!(
            "{what} {path}: gives the file to an owner the trace does not record"
        ));
    }
    // A file that is not there yet is created in its directory: the check was the directory's.
    let (target, st, need) = match files.stat(&path) {
        Some(st) => {
            let need = if OWNER_ONLY.contains(&syscall) {
                0
            } else if st.dir {
                7
            } else {
                // Open flags are not recorded: read and write, the widest an open asks.
                6
            };
            (path.clone(), st, need)
        }
        None => {
            let parent = ancestors(&path).last().unwrap_or("/").to_string();
            match files.stat(&parent) {
                Some(st) if st.dir => (parent, st, 3),
                _ => {
                    return Err(format!(
                        "{what} {path}: not in the image (made at run time)"
                    ))
                }
            }
        }
    };
    let mut fixes = Vec::new();
    for dir in ancestors(&target) {
        if let Some(d) = files.stat(dir) {
            let change = changes(dir, &d, uid, gid, 1);
            if !change.is_empty() {
                fixes.push(file_fix(dir, &d, cap, seen, change));
            }
        }
    }
    let change = changes(&target, &st, uid, gid, need);
    if !change.is_empty() {
        fixes.push(file_fix(&target, &st, cap, seen, change));
    }
    if fixes.is_empty() {
        return Err(format!(
            "{what} {path}: owner and mode ({} {:04o}) already allow it; the check is about something else",
            st.owner, st.mode
        ));
    }
    Ok(fixes)
}

fn file_fix(path: &str, st: &Stat, cap: Cap, seen: &Seen, change: Vec<String>) -> FileFix {
    FileFix {
        path: path.to_string(),
        cap,
        process: seen.process.clone(),
        syscall: seen.syscall.clone(),
        owner: st.owner.clone(),
        mode: format!("{:04o}", st.mode),
        change,
    }
}

/// The fixes for a proven set, for a workload whose checking processes run as `uid`/`gid`
/// (root for the capabilities to matter at all: a non-root container has none).
pub fn propose(
    proven: CapSet,
    evidence: &[Kept],
    files: &dyn Files,
    uid: u64,
    gid: u64,
) -> PermissionFixes {
    let mut out = PermissionFixes {
        smaller_set: proven,
        ..PermissionFixes::default()
    };
    for k in evidence {
        if !CapSet::file_permission().contains(k.cap) || !proven.contains(k.cap) {
            continue;
        }
        let checks: Vec<&Seen> = k.seen.iter().chain(&k.denied).collect();
        if checks.is_empty() {
            out.without_fix.push(NoFix {
                cap: k.cap,
                reason: "the tracer saw no check of it, so no file is known".into(),
            });
            continue;
        }
        let mut fixes = Vec::new();
        let mut why = None;
        for s in checks {
            match fix_one(k.cap, s, files, uid, gid) {
                Ok(f) => fixes.extend(f),
                Err(e) => {
                    why = Some(e);
                    break;
                }
            }
        }
        match why {
            Some(reason) => out.without_fix.push(NoFix { cap: k.cap, reason }),
            None => {
                out.replaces.insert(k.cap);
                out.files.extend(fixes);
            }
        }
    }
    out.smaller_set = proven.difference(out.replaces);
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.files
        .dedup_by(|a, b| a.path == b.path && a.change == b.change);
    out.commands = grouped(&out.files);
    if !out.commands.is_empty() {
        out.dockerfile = Some(format!("RUN {}", out.commands.join(" && ")));
    }
    // Nothing but file access kept, and every file belongs to one user: running as that user
    // needs no capability and no image change.
    let owners: BTreeSet<&str> = out
        .files
        .iter()
        .map(|f| f.owner.split(':').next().unwrap_or(""))
        .collect();
    if out.smaller_set.is_empty() && owners.len() == 1 {
        out.run_as = owners
            .into_iter()
            .next()
            .filter(|o| *o != "0" && *o != "root")
            .map(str::to_string);
    }
    out
}

/// `chown 0 /a` + `chown 0 /b` → `chown 0 /a /b`, in first-seen order.
fn grouped(files: &[FileFix]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files {
        for c in &f.change {
            let verb = c
                .strip_suffix(&format!(" {}", f.path))
                .unwrap_or(c)
                .to_string();
            if !paths.contains_key(&verb) {
                order.push(verb.clone());
            }
            let list = paths.entry(verb).or_default();
            if !list.contains(&f.path) {
                list.push(f.path.clone());
            }
        }
    }
    // chown first: a chmod u+ applies to the new owner.
    order.sort_by_key(|v| !v.starts_with("chown"));
    order
        .into_iter()
        .map(|v| format!("{v} {}", paths[&v].join(" ")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(BTreeMap<String, Stat>);
    impl Files for Fake {
        fn stat(&self, path: &str) -> Option<Stat> {
            self.0.get(path).cloned()
        }
    }

    fn st(uid: u64, gid: u64, mode: u32, dir: bool) -> Stat {
        Stat {
            uid,
            gid,
            mode,
            dir,
            owner: format!("{uid}:{gid}"),
        }
    }

    fn nginx_files() -> Fake {
        let mut m = BTreeMap::new();
        for d in ["/", "/var", "/var/log", "/var/lib"] {
            m.insert(d.to_string(), st(0, 0, 0o755, true));
        }
        m.insert("/var/log/nginx".into(), st(0, 4, 0o755, true));
        m.insert("/var/log/nginx/error.log".into(), st(33, 4, 0o640, false));
        m.insert("/var/log/nginx/access.log".into(), st(33, 4, 0o640, false));
        Fake(m)
    }

    fn path(p: &str) -> CheckObject {
        CheckObject::Path {
            path: p.as_bytes().to_vec(),
            truncated: false,
            dirfd: None,
        }
    }

    fn kept(cap: Cap, syscall: &str, objects: Vec<CheckObject>) -> Kept {
        Kept {
            cap,
            failed_without_trial: Some(3),
            seen: objects
                .into_iter()
                .map(|object| Seen {
                    process: "nginx".into(),
                    syscall: Some(syscall.into()),
                    object,
                    count: 1,
                })
                .collect(),
            denied: Vec::new(),
        }
    }

    fn cap(name: &str) -> Cap {
        crate::caps::parse_cap(name).unwrap()
    }

    fn set(caps: &[Cap]) -> CapSet {
        caps.iter().copied().collect()
    }

    #[test]
    fn nginx_logs_owned_by_www_data_become_roots() {
        let proven = set(&[Cap::CHOWN, Cap::DAC_OVERRIDE, Cap::SETGID, Cap::SETUID]);
        let ev = vec![
            kept(Cap::CHOWN, "chown", vec![path("/var/lib/nginx/body")]),
            kept(
                Cap::DAC_OVERRIDE,
                "openat",
                vec![
                    path("/var/log/nginx/access.log"),
                    path("/var/log/nginx/error.log"),
                ],
            ),
        ];
        let f = propose(proven, &ev, &nginx_files(), 0, 0);
        assert_eq!(f.replaces, set(&[Cap::DAC_OVERRIDE]));
        assert_eq!(f.smaller_set, set(&[Cap::CHOWN, Cap::SETGID, Cap::SETUID]));
        assert_eq!(
            f.commands,
            ["chown 0 /var/log/nginx/access.log /var/log/nginx/error.log"]
        );
        assert_eq!(
            f.dockerfile.as_deref(),
            Some("RUN chown 0 /var/log/nginx/access.log /var/log/nginx/error.log")
        );
        assert_eq!(f.without_fix.len(), 1);
        assert_eq!(f.without_fix[0].cap, Cap::CHOWN);
        assert!(f.without_fix[0]
            .reason
            .contains("owner the trace does not record"));
        assert_eq!(f.run_as, None);
        let keep = wanted_paths(&ev);
        assert!(keep.contains("/var/log/nginx") && keep.contains("/"));
        assert!(
            keep.contains("/var/lib/nginx/body"),
            "CHOWN's paths too: {keep:?}"
        );
    }

    #[test]
    fn no_fix_for_sockets_devices_or_unknown_files() {
        let ev = vec![
            kept(
                Cap::NET_RAW,
                "socket",
                vec![CheckObject::Socket {
                    family: "inet".into(),
                    sock_type: "raw".into(),
                    protocol: "icmp".into(),
                }],
            ),
            kept(cap("MKNOD"), "mknodat", vec![path("/dev/null2")]),
            kept(cap("FOWNER"), "fchmod", vec![CheckObject::Fd { fd: 3 }]),
            kept(
                Cap::DAC_OVERRIDE,
                "openat",
                vec![CheckObject::Path {
                    path: b"/var/log/nginx/error.log".to_vec(),
                    truncated: true,
                    dirfd: None,
                }],
            ),
        ];
        let proven = set(&[Cap::NET_RAW, cap("MKNOD"), cap("FOWNER"), Cap::DAC_OVERRIDE]);
        let f = propose(proven, &ev, &nginx_files(), 0, 0);
        assert!(f.replaces.is_empty());
        assert!(f.commands.is_empty() && f.dockerfile.is_none());
        assert_eq!(f.smaller_set, proven);
        // MKNOD and NET_RAW are not file-permission capabilities: not even listed.
        let listed: CapSet = f.without_fix.iter().map(|n| n.cap).collect();
        assert_eq!(listed, set(&[cap("FOWNER"), Cap::DAC_OVERRIDE]));
    }

    #[test]
    fn a_file_of_one_user_suggests_running_as_that_user() {
        let mut files = nginx_files();
        files.0.insert("/data".into(), st(1000, 1000, 0o700, true));
        files
            .0
            .insert("/data/secret".into(), st(1000, 1000, 0o600, false));
        let ev = vec![kept(
            Cap::DAC_OVERRIDE,
            "openat",
            vec![path("/data/secret")],
        )];
        let f = propose(set(&[Cap::DAC_OVERRIDE]), &ev, &files, 0, 0);
        assert_eq!(f.commands, ["chown 0 /data /data/secret"]);
        assert_eq!(f.run_as.as_deref(), Some("1000"));
        // A file made at run time in a directory root cannot write: the directory is fixed.
        let ev = vec![kept(
            Cap::DAC_OVERRIDE,
            "openat",
            vec![path("/data/new.log")],
        )];
        let f = propose(set(&[Cap::DAC_OVERRIDE]), &ev, &files, 0, 0);
        assert_eq!(f.commands, ["chown 0 /data"]);
        // Already root's and writable: something else was checked, no fix.
        let ev = vec![kept(Cap::DAC_OVERRIDE, "openat", vec![path("/var/log")])];
        assert!(propose(set(&[Cap::DAC_OVERRIDE]), &ev, &files, 0, 0)
            .replaces
            .is_empty());
    }
}
