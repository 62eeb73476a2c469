//! What tracing needs from the kernel and the caller, checked up front so a failure names the
//! missing piece instead of surfacing as a bare EPERM from bpf(2); and giving back every
//! privilege tracing no longer needs once the programs are attached.

use crate::caps::{Cap, CapSet};
use crate::process::ProcStatus;
use std::io;
use std::path::Path;

pub const CAP_SYSLOG: u8 = 34;
pub const CAP_PERFMON: u8 = 38;
pub const CAP_BPF: u8 = 39;
pub const CAP_KILL: u8 = 5;
const CAP_SETPCAP: u8 = 8;

pub const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Why tracing cannot start, before anything is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Btf,
    Tracepoint,
    Privilege(String),
}

/// The calling thread's effective capabilities.
pub fn effective() -> io::Result<CapSet> {
    let status = ProcStatus::read(Path::new("/proc"), std::process::id())
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(status.effective)
}

fn cap(n: u8) -> Cap {
    Cap::new(n).unwrap_or(Cap::SYS_ADMIN)
}

/// Checks, in the order a user would fix them: BTF, the tracepoint, privileges.
pub fn preflight() -> Result<(), Missing> {
    let btf = std::fs::read(BTF_PATH).ok();
    let eff = match effective() {
        Ok(e) => e,
        Err(e) => {
            return Err(Missing::Privilege(format!(
                "(cannot read own capabilities: {e})"
            )))
        }
    };
    check(btf.as_deref(), eff)
}

/// [`preflight`] on given inputs: the kernel's BTF blob (`None` when missing) and the
/// effective set.
pub fn check(btf: Option<&[u8]>, eff: CapSet) -> Result<(), Missing> {
    let btf = btf.ok_or(Missing::Btf)?;
    // The tracepoint's BTF type is what tp_btf attaches to; its name in the string section
    // (NUL-separated) is a cheap, exact test for "this kernel has capability:cap_capable".
    const NAME: &[u8] = b"\0btf_trace_cap_capable\0";
    if !btf.windows(NAME.len()).any(|w| w == NAME) {
        return Err(Missing::Tracepoint);
    }
    let modern = eff.contains(cap(CAP_BPF)) && eff.contains(cap(CAP_PERFMON));
    if !modern && !eff.contains(Cap::SYS_ADMIN) {
        let lacking: Vec<String> = [CAP_BPF, CAP_PERFMON]
            .into_iter()
            .filter(|n| !eff.contains(cap(*n)))
            .map(|n| cap(n).kernel_name())
            .collect();
        return Err(Missing::Privilege(lacking.join(" and ")));
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Reduces this process to `keep` (intersected with what it has): bounding set, ambient,
/// inheritable, permitted and effective. Capabilities are per thread, so call it while the
/// process has a single thread. Returns the capabilities it gave up.
pub fn keep_only(keep: CapSet) -> io::Result<CapSet> {
    let before = effective()?;
    let keep = keep.intersect(before);
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .unwrap_or(40);
    // The bounding set first: dropping from it needs CAP_SETPCAP, which goes next.
    if before.contains(cap(CAP_SETPCAP)) {
        for n in 0..=last.min(63) {
            if !keep.contains(cap(n)) {
                // SAFETY: prctl with integer arguments.
                unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(n), 0, 0, 0) };
            }
        }
    }
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    let bits = keep.bits();
    let data = [
        CapData {
            effective: bits as u32,
            permitted: bits as u32,
            inheritable: 0,
        },
        CapData {
            effective: (bits >> 32) as u32,
            permitted: (bits >> 32) as u32,
            inheritable: 0,
        },
    ];
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) with a v3 header and two data structs, as the ABI requires.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: prctl with integer arguments. Nothing we exec may regain what we dropped.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    Ok(before.difference(keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(ns: &[u8]) -> CapSet {
        ns.iter().map(|n| cap(*n)).collect()
    }

    const BTF: &[u8] = b"\0int\0btf_trace_cap_capable\0task_struct\0";

    #[test]
    fn names_what_is_missing() {
        assert_eq!(check(None, caps(&[21])), Err(Missing::Btf));
        assert_eq!(
            check(Some(b"\0int\0btf_trace_sched_switch\0"), caps(&[21])),
            Err(Missing::Tracepoint)
        );
        // A longer name that merely ends the same way is not the tracepoint.
        assert_eq!(
            check(Some(b"\0xbtf_trace_cap_capable\0"), caps(&[21])),
            Err(Missing::Tracepoint)
        );
        assert_eq!(
            check(Some(BTF), CapSet::EMPTY),
            Err(Missing::Privilege("CAP_BPF and CAP_PERFMON".into()))
        );
        assert_eq!(
            check(Some(BTF), caps(&[CAP_BPF])),
            Err(Missing::Privilege("CAP_PERFMON".into()))
        );
        assert_eq!(check(Some(BTF), caps(&[CAP_BPF, CAP_PERFMON])), Ok(()));
        assert_eq!(check(Some(BTF), caps(&[21])), Ok(()));
    }

    #[test]
    fn preflight_agrees_with_effective_set() {
        let eff = effective().unwrap();
        let privileged = eff.contains(Cap::SYS_ADMIN)
            || (eff.contains(cap(CAP_BPF)) && eff.contains(cap(CAP_PERFMON)));
        match preflight() {
            Ok(()) => assert!(privileged),
            Err(Missing::Privilege(_)) => assert!(!privileged),
            Err(_) => {} // kernel without BTF or tracepoint: nothing to compare
        }
    }
}
