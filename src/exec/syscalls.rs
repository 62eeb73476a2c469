//! The raw system calls behind [`super::apply`]; libc has no `capset` wrapper, and the libcap
//! crates would add a C dependency for five calls.

use super::{ExecError, Identity};
use crate::caps::{Cap, CapSet};

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

pub struct Sets {
    pub permitted: CapSet,
}

fn sys_err(step: impl Into<String>) -> ExecError {
    ExecError::Sys {
        step: step.into(),
        source: std::io::Error::last_os_error(),
    }
}

pub fn capget() -> Result<Sets, ExecError> {
    let mut h = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: header and a two-element data array, as capget(2) requires for version 3.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) };
    if r != 0 {
        return Err(sys_err("capget"));
    }
    let join = |lo: u32, hi: u32| CapSet::from_bits(u64::from(lo) | (u64::from(hi) << 32));
    Ok(Sets {
        permitted: join(d[0].permitted, d[1].permitted),
    })
}

pub fn capset(effective: CapSet, permitted: CapSet, inheritable: CapSet) -> Result<(), ExecError> {
    let mut h = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |s: CapSet| (s.bits() as u32, (s.bits() >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let d = [
        Data {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        Data {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: as in capget; the kernel only reads `d`.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) };
    if r != 0 {
        return Err(sys_err(format!(
            "capset(effective=permitted=inheritable={effective})"
        )));
    }
    Ok(())
}

pub fn bounding_set(last: u8) -> CapSet {
    let mut s = CapSet::EMPTY;
    for n in 0..=last {
        // SAFETY: PR_CAPBSET_READ takes a capability number and reads nothing else.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(n), 0, 0, 0) };
        if r == 1 {
            if let Some(c) = Cap::new(n) {
                s.insert(c);
            }
        }
    }
    s
}

fn prctl(
    step: impl FnOnce() -> String,
    op: libc::c_int,
    a: libc::c_ulong,
    b: libc::c_ulong,
) -> Result<(), ExecError> {
    // SAFETY: the prctl operations used here take integer arguments only.
    let r = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r != 0 {
        return Err(sys_err(step()));
    }
    Ok(())
}

pub fn bounding_drop(c: Cap) -> Result<(), ExecError> {
    prctl(
        || format!("dropping {c} from the bounding set (needs CAP_SETPCAP)"),
        libc::PR_CAPBSET_DROP,
        libc::c_ulong::from(c.number()),
        0,
    )
}

pub fn set_keepcaps(on: bool) -> Result<(), ExecError> {
    prctl(
        || "prctl(PR_SET_KEEPCAPS)".to_string(),
        libc::PR_SET_KEEPCAPS,
        libc::c_ulong::from(on),
        0,
    )
}

pub fn ambient_clear() -> Result<(), ExecError> {
    prctl(
        || "clearing the ambient set".to_string(),
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )
}

pub fn ambient_raise(c: Cap) -> Result<(), ExecError> {
    prctl(
        || format!("raising {c} in the ambient set"),
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
        libc::c_ulong::from(c.number()),
    )
}

/// Groups first, then gid, then uid: once the uid changes we may no longer change the rest.
pub fn set_identity(id: &Identity) -> Result<(), ExecError> {
    let groups: Vec<libc::gid_t> = id.groups.clone();
    // SAFETY: pointer and length describe `groups`, which outlives the call.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } != 0 {
        return Err(sys_err("setgroups (needs CAP_SETGID)"));
    }
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresgid(id.gid, id.gid, id.gid) } != 0 {
        return Err(sys_err(format!("setgid({}) (needs CAP_SETGID)", id.gid)));
    }
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresuid(id.uid, id.uid, id.uid) } != 0 {
        return Err(sys_err(format!("setuid({}) (needs CAP_SETUID)", id.uid)));
    }
    Ok(())
}
