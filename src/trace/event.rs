//! What one capability check looks like, in the kernel's layout and in ours.

use super::object::{CheckObject, RawObject, OBJ_MAX};
use super::syscalls;
use crate::caps::Cap;
use serde::Serialize;

/// Byte-for-byte `struct event` of `bpf/capable.bpf.c`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEvent {
    pub time_ns: u64,
    pub cgroup_id: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub syscall: i32,
    pub ret: i32,
    pub cap: u32,
    pub flags: u32,
    pub comm: [u8; 16],
    pub args: [u64; 6],
    pub obj_len: i32,
    pub obj_pad: u32,
    pub obj: [u8; OBJ_MAX],
}

/// `EVENT_*` flags of capable.bpf.c.
pub(crate) const EVENT_FOREIGN_CRED: u32 = 1;
pub(crate) const EVENT_NOAUDIT: u32 = 2;
pub(crate) const EVENT_OBJ_TRUNCATED: u32 = 8;

impl RawEvent {
    /// `None` when the record is shorter than the struct (a program/object mismatch).
    pub fn parse(bytes: &[u8]) -> Option<RawEvent> {
        if bytes.len() < std::mem::size_of::<RawEvent>() {
            return None;
        }
        // SAFETY: length checked above; RawEvent is plain old data valid for any bit pattern,
        // and read_unaligned copes with the ring buffer's 8-byte alignment guarantee or less.
        Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<RawEvent>()) })
    }
}

/// One capability check, as the library hands it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Wall-clock time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Process (thread group) id.
    pub pid: u32,
    /// Thread id; equals `pid` for single-threaded processes.
    pub tid: u32,
    /// Parent's process id.
    pub ppid: u32,
    /// Effective uid of the credentials being checked.
    pub uid: u32,
    pub comm: String,
    pub cap: Cap,
    pub granted: bool,
    /// False for checks the kernel makes without auditing (`ns_capable_noaudit` and the
    /// `vm_enough_memory` CAP_SYS_ADMIN probe): they never fail a program, so they are not
    /// evidence that it needs the capability.
    pub audit: bool,
    /// False when the checked credentials were not the task's own: overlayfs checks with the
    /// mounter's credentials (`override_creds`), and some checks test another task. Such
    /// checks are not evidence of what the task needs.
    pub own_cred: bool,
    /// Syscall the check happened in; `None` outside a syscall or for unknown numbers.
    pub syscall: Option<&'static str>,
    /// Raw syscall number, when the check happened inside a syscall.
    pub syscall_nr: Option<u32>,
    /// cgroup v2 id (inode of the cgroup directory) of the checking task.
    pub cgroup_id: u64,
    /// What the check was about (a path, an address, a pid, ids), read from the syscall's
    /// arguments; the syscall's name when its arguments are not decoded.
    pub object: CheckObject,
}

impl TraceEvent {
    pub(crate) fn from_raw(raw: &RawEvent, clock_offset_ns: i128) -> TraceEvent {
        let comm_len = raw
            .comm
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(raw.comm.len());
        let time = i128::from(raw.time_ns) + clock_offset_ns;
        TraceEvent {
            time_ns: u64::try_from(time.max(0)).unwrap_or(u64::MAX),
            pid: raw.pid,
            tid: raw.tid,
            ppid: raw.ppid,
            uid: raw.uid,
            comm: String::from_utf8_lossy(&raw.comm[..comm_len]).into_owned(),
            // The kernel never checks a capability above 63; clamp rather than panic if a
            // corrupted record says otherwise.
            cap: Cap::new(u8::try_from(raw.cap).unwrap_or(63)).unwrap_or(Cap::SYS_ADMIN),
            granted: raw.ret == 0,
            audit: raw.flags & EVENT_NOAUDIT == 0,
            own_cred: raw.flags & EVENT_FOREIGN_CRED == 0,
            syscall: syscalls::name(i64::from(raw.syscall)),
            syscall_nr: u32::try_from(raw.syscall).ok(),
            cgroup_id: raw.cgroup_id,
            object: CheckObject::decode(&RawObject {
                syscall: raw.syscall,
                args: raw.args,
                copied: raw.obj_len,
                truncated: raw.flags & EVENT_OBJ_TRUNCATED != 0,
                bytes: &raw.obj,
            }),
        }
    }

    /// The syscall's name, `syscall_N` for numbers the table does not know, `-` outside one.
    pub fn syscall_label(&self) -> String {
        match (self.syscall, self.syscall_nr) {
            (Some(name), _) => name.to_string(),
            (None, Some(nr)) => format!("syscall_{nr}"),
            (None, None) => "-".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawEvent {
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"ping");
        RawEvent {
            time_ns: 1_000,
            cgroup_id: 7,
            pid: 10,
            tid: 11,
            ppid: 1,
            uid: 0,
            syscall: 41,
            ret: 0,
            cap: 13,
            flags: 0,
            comm,
            args: [2, 3, 1, 0, 0, 0],
            obj_len: 0,
            obj_pad: 0,
            obj: [0; OBJ_MAX],
        }
    }

    #[test]
    fn raw_layout_matches_c() {
        // 8 + 8 + 8*4 + 16 + 6*8 + 4 + 4 + OBJ_MAX in capable.bpf.c
        assert_eq!(std::mem::size_of::<RawEvent>(), 376);
    }

    #[test]
    fn converts_fields() {
        let r = raw();
        let bytes: Vec<u8> = unsafe {
            std::slice::from_raw_parts((&r as *const RawEvent).cast::<u8>(), 376).to_vec()
        };
        let parsed = RawEvent::parse(&bytes).unwrap();
        let e = TraceEvent::from_raw(&parsed, 5_000);
        assert_eq!(e.time_ns, 6_000);
        assert_eq!(e.comm, "ping");
        assert_eq!(e.cap, Cap::NET_RAW);
        assert!(e.granted && e.audit && e.own_cred);
        assert_eq!(e.syscall, Some("socket"));
        assert_eq!(e.syscall_label(), "socket");
        assert_eq!(e.object.to_string(), "inet raw icmp");
    }

    #[test]
    fn denied_outside_syscall() {
        let mut r = raw();
        r.ret = -1;
        r.syscall = -1;
        r.flags = EVENT_FOREIGN_CRED | EVENT_NOAUDIT;
        let e = TraceEvent::from_raw(&r, 0);
        assert!(!e.granted && !e.own_cred && !e.audit);
        assert_eq!(e.syscall_nr, None);
        assert_eq!(e.syscall_label(), "-");
    }

    #[test]
    fn short_record_is_rejected() {
        assert!(RawEvent::parse(&[0u8; 10]).is_none());
    }
}
