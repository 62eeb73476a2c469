//! What a capability check was about: the file, address, socket, process or ids named by the
//! arguments of the syscall the check happened in.
//!
//! The kernel program knows nothing about syscalls: it copies the six raw arguments and, when
//! [`spec`] says so, one bounded user buffer (a path or a `sockaddr`), so this table is the one
//! place that says which argument means what. `bpf.rs` hands the kernel a per-number summary of
//! it ([`kernel_spec`]); [`CheckObject::decode`] reads the copy back with the same table.
//!
//! A value the program could not read (a faulting pointer, a length it will not copy) becomes
//! [`CheckObject::Unknown`]: an object is either what the syscall named or "unknown", never a
//! guess. The copy happens while the kernel is inside the syscall, after it read the same
//! memory; another thread rewriting the buffer in between is the one way the two can differ.

use super::syscalls;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::fmt;

/// Bytes of one user buffer the kernel program copies (`OBJ_MAX` of capable.bpf.c). Long
/// enough for nearly every path a program opens; longer ones are reported truncated.
pub const OBJ_MAX: usize = 256;

/// `AT_FDCWD`: "relative to the working directory" in the `*at` syscalls.
const AT_FDCWD: i32 = -100;

/// What one syscall's arguments name, as far as capability checks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSpec {
    /// A NUL-terminated path in argument `arg`; `dirfd` is the argument it is relative to.
    Path { arg: u8, dirfd: Option<u8> },
    /// A file the process already has open as descriptor `arg`.
    Fd { arg: u8 },
    /// A `sockaddr` of `len` bytes (argument `len`) in argument `arg`.
    Addr { arg: u8, len: u8 },
    /// `socket(family, type, protocol)`.
    Socket,
    /// A signal `sig` sent to process `pid` (and thread `tid` of it).
    Signal { pid: u8, tid: Option<u8>, sig: u8 },
    /// User or group ids in the first `count` arguments (`-1` leaves one unchanged).
    Ids { count: u8 },
    /// `setgroups(size, list)`: `size` gids in an array.
    Groups,
}

/// The argument layout of a syscall by name; `None` for the syscalls whose checks are
/// described by their name alone.
pub fn spec(name: &str) -> Option<ArgSpec> {
    use ArgSpec::*;
    let path = |arg| Some(Path { arg, dirfd: None });
    let at = |arg| {
        Some(Path {
            arg,
            dirfd: Some(0),
        })
    };
    match name {
        "open" | "creat" | "chown" | "lchown" | "chmod" | "utime" | "utimes" | "unlink"
        | "rename" | "link" | "mknod" | "setxattr" | "lsetxattr" | "removexattr"
        | "lremovexattr" | "execve" | "mkdir" | "rmdir" | "truncate" | "access" | "stat"
        | "lstat" | "readlink" | "chdir" | "chroot" | "getxattr" | "lgetxattr" | "listxattr"
        | "llistxattr" | "acct" | "swapon" | "swapoff" | "uselib" | "statfs" => path(0),
        "symlink" => path(1),
        "openat" | "openat2" | "fchownat" | "fchmodat" | "fchmodat2" | "futimesat"
        | "utimensat" | "unlinkat" | "renameat" | "renameat2" | "linkat" | "mknodat"
        | "execveat" | "mkdirat" | "faccessat" | "faccessat2" | "newfstatat" | "statx"
        | "readlinkat" | "name_to_handle_at" | "setxattrat" | "getxattrat" | "listxattrat"
        | "removexattrat" | "open_tree" | "open_tree_attr" | "file_getattr" | "file_setattr" => {
            at(1)
        }
        "symlinkat" => Some(Path {
            arg: 2,
            dirfd: Some(1),
        }),
        "fchown" | "fchmod" | "fsetxattr" | "fremovexattr" | "fgetxattr" | "flistxattr"
        | "ftruncate" | "fchdir" | "fstatfs" | "fallocate" | "fcntl" | "ioctl" => {
            Some(Fd { arg: 0 })
        }
        "bind" | "connect" => Some(Addr { arg: 1, len: 2 }),
        "socket" => Some(Socket),
        "kill" | "tkill" | "rt_sigqueueinfo" => Some(Signal {
            pid: 0,
            tid: None,
            sig: 1,
        }),
        "tgkill" => Some(Signal {
            pid: 0,
            tid: Some(1),
            sig: 2,
        }),
        "rt_tgsigqueueinfo" => Some(Signal {
            pid: 0,
            tid: Some(1),
            sig: 2,
        }),
        "setuid" | "setgid" | "setfsuid" | "setfsgid" => Some(Ids { count: 1 }),
        "setreuid" | "setregid" => Some(Ids { count: 2 }),
        "setresuid" | "setresgid" => Some(Ids { count: 3 }),
        "setgroups" => Some(Groups),
        _ => None,
    }
}

/// The kernel program's view of [`spec`] for one syscall number (`obj_spec[]` of
/// capable.bpf.c): bits 0-3 what to copy (`COPY_*`), 4-7 the pointer argument, 8-11 the
/// length argument. Indexed by syscall number; 0 copies nothing.
pub fn kernel_spec<const N: usize>() -> [u16; N] {
    let mut out = [0u16; N];
    for (nr, slot) in out.iter_mut().enumerate() {
        let Some((name, s)) = syscalls::name(nr as i64).and_then(|n| Some((n, spec(n)?))) else {
            continue;
        };
        *slot = match s {
            ArgSpec::Path { arg, .. } if matches!(name, "execve" | "execveat") => {
                COPY_EXEC_STR | u16::from(arg) << 4
            }
            ArgSpec::Path { arg, .. } => COPY_STR | u16::from(arg) << 4,
            ArgSpec::Addr { arg, len } => COPY_BYTES | u16::from(arg) << 4 | u16::from(len) << 8,
            ArgSpec::Groups => COPY_U32S | 1 << 4,
            _ => 0,
        };
    }
    out
}

/// `COPY_*` of capable.bpf.c.
const COPY_STR: u16 = 1;
const COPY_BYTES: u16 = 2;
const COPY_U32S: u16 = 3;
/// A string, unless execve already replaced the memory it points into.
const COPY_EXEC_STR: u16 = 4;
/// `OBJ_GONE`: the copy was skipped for that reason.
const OBJ_GONE: i32 = -4096;

/// The object of one capability check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckObject {
    /// A file by path, exactly the bytes the process passed (not necessarily UTF-8).
    /// `dirfd`: the path is relative to this open directory rather than the working
    /// directory (`*at` syscalls); absolute paths and `AT_FDCWD` leave it `None`.
    Path {
        path: Vec<u8>,
        truncated: bool,
        dirfd: Option<i32>,
    },
    /// A file the process had open as this descriptor (`fchown`, `fchmod`, ...).
    Fd { fd: i32 },
    /// `bind` or `connect`: the address family, the address (an IP, or a unix socket path)
    /// and the port, when the family has them.
    Address {
        call: &'static str,
        family: String,
        addr: Option<String>,
        port: Option<u16>,
    },
    /// `socket(family, type, protocol)`.
    Socket {
        family: String,
        sock_type: String,
        protocol: String,
    },
    /// A signal sent to a process (`tid`: to one of its threads).
    Signal {
        pid: i32,
        tid: Option<i32>,
        signal: i32,
    },
    /// The ids a `set*id` or `setgroups` call asked for; `-1` leaves one unchanged.
    /// `truncated` when `setgroups` named more groups than were copied.
    Ids {
        call: &'static str,
        values: Vec<i64>,
        truncated: bool,
    },
    /// A syscall whose arguments are not decoded: its name says what the check was about.
    Syscall { name: String },
    /// The object could not be read: a faulting pointer, or a check outside any syscall.
    Unknown { reason: String },
}

/// What the kernel program recorded about a check, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct RawObject<'a> {
    /// -1 outside a syscall.
    pub syscall: i32,
    pub args: [u64; 6],
    /// Bytes copied (for strings, including the NUL), or a negative errno from the copy.
    pub copied: i32,
    /// The string did not fit the buffer.
    pub truncated: bool,
    pub bytes: &'a [u8],
}

fn unknown(reason: impl Into<String>) -> CheckObject {
    CheckObject::Unknown {
        reason: reason.into(),
    }
}

fn errno_name(e: i32) -> String {
    match e {
        14 => "EFAULT".into(),
        22 => "EINVAL".into(),
        _ => format!("errno {e}"),
    }
}

impl CheckObject {
    /// The object of a check for which only the syscall number is known: its name, or
    /// `Unknown` outside a syscall.
    pub fn of_syscall(syscall: i32) -> CheckObject {
        match (syscalls::name(i64::from(syscall)), u32::try_from(syscall)) {
            (Some(name), _) => CheckObject::Syscall { name: name.into() },
            (None, Ok(nr)) => CheckObject::Syscall {
                name: format!("syscall_{nr}"),
            },
            (None, Err(_)) => unknown("not in a syscall"),
        }
    }

    /// Decodes what the kernel program recorded; anything it could not read is `Unknown`.
    pub fn decode(raw: &RawObject<'_>) -> CheckObject {
        let Some((name, spec)) =
            syscalls::name(i64::from(raw.syscall)).and_then(|n| Some((n, spec(n)?)))
        else {
            return CheckObject::of_syscall(raw.syscall);
        };
        let arg = |i: u8| raw.args.get(usize::from(i)).copied().unwrap_or(0);
        // Syscall ints are 32-bit: the kernel ignores the upper half of the register.
        let int = |i: u8| arg(i) as u32 as i32;
        let copy = || -> Result<&[u8], CheckObject> {
            if raw.copied == OBJ_GONE {
                return Err(unknown(format!(
                    "{name} had already replaced the process's memory"
                )));
            }
            if raw.copied < 0 {
                return Err(unknown(format!(
                    "{name} argument not readable ({})",
                    errno_name(-raw.copied)
                )));
            }
            let n = usize::try_from(raw.copied)
                .unwrap_or(0)
                .min(raw.bytes.len());
            Ok(&raw.bytes[..n])
        };
        match spec {
            ArgSpec::Path { arg: ptr, dirfd } => {
                // utimensat(fd, NULL, ...) changes the file open as fd itself.
                if let (0, Some(d)) = (arg(ptr), dirfd) {
                    return CheckObject::Fd { fd: int(d) };
                }
                let bytes = match copy() {
                    Ok(b) => b,
                    Err(u) => return u,
                };
                // The string copy counts the NUL; an empty count means nothing was read.
                let Some((0, path)) = bytes.split_last().map(|(l, p)| (*l, p)) else {
                    return unknown(format!("{name} path not readable"));
                };
                let dirfd = dirfd
                    .map(int)
                    .filter(|fd| *fd != AT_FDCWD && path.first() != Some(&b'/'));
                if path.is_empty() {
                    // AT_EMPTY_PATH (or utimensat's NULL-path form): the directory fd itself.
                    if let Some(fd) = dirfd {
                        return CheckObject::Fd { fd };
                    }
                }
                CheckObject::Path {
                    path: path.to_vec(),
                    truncated: raw.truncated,
                    dirfd,
                }
            }
            ArgSpec::Fd { arg } => CheckObject::Fd { fd: int(arg) },
            ArgSpec::Addr { .. } => match copy() {
                Ok(b) => sockaddr(if name == "bind" { "bind" } else { "connect" }, b),
                Err(u) => u,
            },
            ArgSpec::Socket => CheckObject::Socket {
                family: family_name(int(0) as u32),
                sock_type: sock_type_name(int(1) as u32),
                protocol: protocol_name(int(0) as u32, int(2) as u32),
            },
            ArgSpec::Signal { pid, tid, sig } => CheckObject::Signal {
                pid: int(pid),
                tid: tid.map(int),
                signal: int(sig),
            },
            ArgSpec::Ids { count } => CheckObject::Ids {
                call: name,
                values: (0..count).map(|i| i64::from(int(i))).collect(),
                truncated: false,
            },
            ArgSpec::Groups => {
                let size = usize::try_from(int(0)).unwrap_or(0);
                if size == 0 {
                    return CheckObject::Ids {
                        call: name,
                        values: Vec::new(),
                        truncated: false,
                    };
                }
                match copy() {
                    Ok(b) => {
                        let values: Vec<i64> = b
                            .chunks_exact(4)
                            .take(size)
                            .map(|c| i64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                            .collect();
                        CheckObject::Ids {
                            call: name,
                            truncated: values.len() < size,
                            values,
                        }
                    }
                    Err(u) => u,
                }
            }
        }
    }

    /// The kind, as the JSON `kind` key spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckObject::Path { .. } => "path",
            CheckObject::Fd { .. } => "fd",
            CheckObject::Address { .. } => "address",
            CheckObject::Socket { .. } => "socket",
            CheckObject::Signal { .. } => "signal",
            CheckObject::Ids { .. } => "ids",
            CheckObject::Syscall { .. } => "syscall",
            CheckObject::Unknown { .. } => "unknown",
        }
    }

    /// The path as an OS path, when the object is one (bytes kept as they were).
    pub fn path(&self) -> Option<&std::path::Path> {
        use std::os::unix::ffi::OsStrExt;
        match self {
            CheckObject::Path { path, .. } => {
                Some(std::path::Path::new(std::ffi::OsStr::from_bytes(path)))
            }
            _ => None,
        }
    }
}

/// A byte string as text: UTF-8 as it is; otherwise every byte that is not part of valid
/// UTF-8 as `\xNN` and every backslash doubled, so the escaped form cannot be mistaken for a
/// real name. Control characters are escaped in both cases (a path is shown on a terminal).
pub fn escape(bytes: &[u8]) -> String {
    let exact = std::str::from_utf8(bytes).is_ok();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' if !exact => out.push_str("\\\\"),
                c if c.is_control() => {
                    for b in c.to_string().bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const AF_UNIX: u32 = 1;
const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;

fn family_name(f: u32) -> String {
    match f {
        0 => "unspec".into(),
        AF_UNIX => "unix".into(),
        AF_INET => "inet".into(),
        AF_INET6 => "inet6".into(),
        16 => "netlink".into(),
        17 => "packet".into(),
        _ => format!("family {f}"),
    }
}

fn sock_type_name(t: u32) -> String {
    // SOCK_NONBLOCK and SOCK_CLOEXEC ride in the same argument.
    match t & 0xf {
        1 => "stream".into(),
        2 => "dgram".into(),
        3 => "raw".into(),
        4 => "rdm".into(),
        5 => "seqpacket".into(),
        10 => "packet".into(),
        other => format!("type {other}"),
    }
}

fn protocol_name(family: u32, p: u32) -> String {
    match (family, p) {
        (_, 0) => "0".into(),
        (AF_INET | AF_INET6, 1) => "icmp".into(),
        (AF_INET | AF_INET6, 6) => "tcp".into(),
        (AF_INET | AF_INET6, 17) => "udp".into(),
        (AF_INET | AF_INET6, 58) => "icmpv6".into(),
        (AF_INET | AF_INET6, 255) => "raw".into(),
        // ETH_P_ALL in network byte order.
        (17, 0x0300) => "all".into(),
        (_, p) => p.to_string(),
    }
}

/// A `sockaddr` as the program passed it (at most [`OBJ_MAX`] bytes of it).
fn sockaddr(call: &'static str, b: &[u8]) -> CheckObject {
    if b.len() < 2 {
        return unknown(format!("{call} address shorter than its family"));
    }
    let family = u32::from(u16::from_ne_bytes([b[0], b[1]]));
    let (addr, port) = match family {
        AF_INET if b.len() >= 8 => (
            Some(std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]).to_string()),
            Some(u16::from_be_bytes([b[2], b[3]])),
        ),
        AF_INET6 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            (
                Some(std::net::Ipv6Addr::from(a).to_string()),
                Some(u16::from_be_bytes([b[2], b[3]])),
            )
        }
        AF_INET | AF_INET6 => {
            return unknown(format!("{call} address shorter than its family"));
        }
        AF_UNIX => {
            let p = &b[2..];
            // An abstract socket starts with a NUL and may hold more of them.
            let text = if p.first() == Some(&0) {
                format!("@{}", escape(&p[1..]))
            } else {
                escape(p.split(|c| *c == 0).next().unwrap_or(&[]))
            };
            (Some(text), None)
        }
        _ => (None, None),
    };
    CheckObject::Address {
        call,
        family: family_name(family),
        addr,
        port,
    }
}

/// Short signal names for the signals programs send; others print as numbers.
fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        0 => "0",
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        12 => "SIGUSR2",
        14 => "SIGALRM",
        15 => "SIGTERM",
        17 => "SIGCHLD",
        18 => "SIGCONT",
        19 => "SIGSTOP",
        28 => "SIGWINCH",
        _ => return None,
    })
}

impl fmt::Display for CheckObject {
    /// One short cell for the trace table and the profile report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckObject::Path {
                path,
                truncated,
                dirfd,
            } => {
                if let Some(fd) = dirfd {
                    write!(f, "fd {fd}/")?;
                }
                write!(f, "{}", escape(path))?;
                if *truncated {
                    write!(f, "… (truncated)")?;
                }
                Ok(())
            }
            CheckObject::Fd { fd } => write!(f, "fd {fd}"),
            CheckObject::Address {
                family, addr, port, ..
            } => match (addr, port) {
                (Some(a), Some(p)) if a.contains(':') => write!(f, "{family} [{a}]:{p}"),
                (Some(a), Some(p)) => write!(f, "{family} {a}:{p}"),
                (Some(a), None) => write!(f, "{family} {a}"),
                _ => write!(f, "{family}"),
            },
            CheckObject::Socket {
                family,
                sock_type,
                protocol,
            } => write!(f, "{family} {sock_type} {protocol}"),
            CheckObject::Signal { pid, tid, signal } => {
                match signal_name(*signal) {
                    Some(n) => write!(f, "{n} to pid {pid}")?,
                    None => write!(f, "signal {signal} to pid {pid}")?,
                }
                if let Some(t) = tid {
                    write!(f, " tid {t}")?;
                }
                Ok(())
            }
            CheckObject::Ids {
                values, truncated, ..
            } => {
                let v: Vec<String> = values.iter().map(i64::to_string).collect();
                write!(
                    f,
                    "ids {}",
                    if v.is_empty() {
                        "none".into()
                    } else {
                        v.join(" ")
                    }
                )?;
                if *truncated {
                    write!(f, " …")?;
                }
                Ok(())
            }
            CheckObject::Syscall { name } => write!(f, "{name}"),
            CheckObject::Unknown { .. } => write!(f, "unknown"),
        }
    }
}

/// `{"kind": "path", "path": "/etc/shadow", "truncated": false, "dirfd": null}`. A path that
/// is not UTF-8 is written escaped (see [`escape`]) with its exact bytes in `path_hex`.
impl Serialize for CheckObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", self.kind())?;
        match self {
            CheckObject::Path {
                path,
                truncated,
                dirfd,
            } => {
                m.serialize_entry("path", &escape(path))?;
                if std::str::from_utf8(path).is_err() {
                    m.serialize_entry("path_hex", &hex(path))?;
                }
                m.serialize_entry("truncated", truncated)?;
                m.serialize_entry("dirfd", dirfd)?;
            }
            CheckObject::Fd { fd } => m.serialize_entry("fd", fd)?,
            CheckObject::Address {
                call,
                family,
                addr,
                port,
            } => {
                m.serialize_entry("call", call)?;
                m.serialize_entry("family", family)?;
                m.serialize_entry("addr", addr)?;
                m.serialize_entry("port", port)?;
            }
            CheckObject::Socket {
                family,
                sock_type,
                protocol,
            } => {
                m.serialize_entry("family", family)?;
                m.serialize_entry("type", sock_type)?;
                m.serialize_entry("protocol", protocol)?;
            }
            CheckObject::Signal { pid, tid, signal } => {
                m.serialize_entry("pid", pid)?;
                m.serialize_entry("tid", tid)?;
                m.serialize_entry("signal", signal)?;
            }
            CheckObject::Ids {
                call,
                values,
                truncated,
            } => {
                m.serialize_entry("call", call)?;
                m.serialize_entry("values", values)?;
                m.serialize_entry("truncated", truncated)?;
            }
            CheckObject::Syscall { name } => m.serialize_entry("name", name)?,
            CheckObject::Unknown { reason } => m.serialize_entry("reason", reason)?,
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nr(name: &str) -> i32 {
        (0..syscalls::COUNT as i64)
            .find(|n| syscalls::name(*n) == Some(name))
            .map(|n| n as i32)
            .expect("known syscall")
    }

    /// A user pointer: the decoder only looks at whether it is NULL.
    const PTR: u64 = 0x7fff_0000;

    fn raw<'a>(name: &str, args: [u64; 6], copied: i32, bytes: &'a [u8]) -> RawObject<'a> {
        RawObject {
            syscall: nr(name),
            args,
            copied,
            truncated: false,
            bytes,
        }
    }

    #[test]
    fn paths_keep_their_bytes_and_dirfd() {
        let o = CheckObject::decode(&raw("openat", [100, PTR, 0, 0, 0, 0], 8, b"a/b.txt\0"));
        assert_eq!(o.to_string(), "fd 100/a/b.txt");
        let cwd = (AT_FDCWD as u32) as u64;
        let o = CheckObject::decode(&raw("openat", [cwd, PTR, 0, 0, 0, 0], 7, b"/etc/x\0"));
        assert_eq!(o.path(), Some(std::path::Path::new("/etc/x")));
        // An absolute path ignores the dirfd.
        let o = CheckObject::decode(&raw("openat", [3, PTR, 0, 0, 0, 0], 7, b"/etc/x\0"));
        assert_eq!(o.to_string(), "/etc/x");
        let o = CheckObject::decode(&raw("chown", [0; 6], 5, b"a\xffb\\\0"));
        assert_eq!(o.to_string(), "a\\xffb\\\\");
        let j = serde_json::to_value(&o).unwrap();
        assert_eq!(j["path_hex"], "61ff625c");
        assert_eq!(j["kind"], "path");
    }

    #[test]
    fn a_null_path_with_a_dirfd_is_that_fd() {
        let o = CheckObject::decode(&raw("utimensat", [5, 0, 0, 0, 0, 0], -14, b""));
        assert_eq!(o, CheckObject::Fd { fd: 5 });
        // Without a dirfd a NULL path is just unreadable.
        assert_eq!(
            CheckObject::decode(&raw("open", [0; 6], -14, b"")).kind(),
            "unknown"
        );
    }

    #[test]
    fn faults_are_unknown_never_a_value() {
        let o = CheckObject::decode(&raw("open", [0; 6], -14, b""));
        assert_eq!(o.kind(), "unknown");
        assert_eq!(o.to_string(), "unknown");
        let o = CheckObject::decode(&raw("bind", [0; 6], -14, b""));
        assert_eq!(o.kind(), "unknown");
        let o = CheckObject::decode(&raw("open", [0; 6], 0, b""));
        assert_eq!(o.kind(), "unknown");
    }

    #[test]
    fn truncation_is_reported() {
        let mut r = raw("open", [0; 6], 4, b"/abc\0");
        r.copied = 5;
        r.truncated = true;
        assert_eq!(CheckObject::decode(&r).to_string(), "/abc… (truncated)");
    }

    #[test]
    fn addresses_sockets_signals_ids() {
        let mut sin = vec![2u8, 0, 0, 80, 127, 0, 0, 1];
        sin.extend([0; 8]);
        let o = CheckObject::decode(&raw("bind", [3, 0, 16, 0, 0, 0], 16, &sin));
        assert_eq!(o.to_string(), "inet 127.0.0.1:80");
        let mut sin6 = vec![10u8, 0, 0x1f, 0x90, 0, 0, 0, 0];
        sin6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        sin6.extend([0; 4]);
        let o = CheckObject::decode(&raw("connect", [3, 0, 28, 0, 0, 0], 28, &sin6));
        assert_eq!(o.to_string(), "inet6 [::1]:8080");
        let o = CheckObject::decode(&raw("bind", [3, 0, 16, 0, 0, 0], 1, &sin));
        assert_eq!(o.kind(), "unknown");
        let o = CheckObject::decode(&raw("socket", [2, 0x80003, 1, 0, 0, 0], 0, b""));
        assert_eq!(o.to_string(), "inet raw icmp");
        let o = CheckObject::decode(&raw("kill", [42, 15, 0, 0, 0, 0], 0, b""));
        assert_eq!(o.to_string(), "SIGTERM to pid 42");
        let o = CheckObject::decode(&raw(
            "setresuid",
            [u64::MAX, 0, 0xffff_ffff, 0, 0, 0],
            0,
            b"",
        ));
        assert_eq!(o.to_string(), "ids -1 0 -1");
        let gids: Vec<u8> = [5u32, 7].iter().flat_map(|g| g.to_ne_bytes()).collect();
        let o = CheckObject::decode(&raw("setgroups", [3, 0, 0, 0, 0, 0], 8, &gids));
        assert_eq!(o.to_string(), "ids 5 7 …");
    }

    #[test]
    fn other_syscalls_are_named_and_outside_is_unknown() {
        let o = CheckObject::decode(&raw("prctl", [0; 6], 0, b""));
        assert_eq!(
            o,
            CheckObject::Syscall {
                name: "prctl".into()
            }
        );
        let mut r = raw("prctl", [0; 6], 0, b"");
        r.syscall = -1;
        assert_eq!(CheckObject::decode(&r).kind(), "unknown");
    }

    #[test]
    fn kernel_spec_matches_the_table() {
        let k = kernel_spec::<{ syscalls::COUNT }>();
        assert_eq!(k[nr("openat") as usize], COPY_STR | 1 << 4);
        assert_eq!(k[nr("bind") as usize], COPY_BYTES | 1 << 4 | 2 << 8);
        assert_eq!(k[nr("setgroups") as usize], COPY_U32S | 1 << 4);
        assert_eq!(k[nr("kill") as usize], 0);
    }
}
