//! The seam between the profiler and a capability tracer. The profiler only needs "watch this
//! container or process tree from now until I stop you, then give me the checks you saw", so
//! any tracer (the eBPF one of `crate::trace`, or a fake in tests) plugs in here.

use super::ProfileError;
use crate::caps::{Cap, CapSet};
use crate::trace::CheckObject;
use serde::Serialize;
use std::collections::BTreeMap;

/// One capability check the kernel made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub pid: u32,
    pub comm: String,
    pub cap: Cap,
    pub granted: bool,
    /// False for noaudit probes (e.g. the CAP_SYS_ADMIN check inside vm_enough_memory), which
    /// never decide whether an operation works and so are never candidates.
    pub audit: bool,
    pub syscall: Option<String>,
    /// What the check was about: the path, address, pid or ids of the syscall's arguments.
    pub object: CheckObject,
}

/// What to watch. Trials are held before the workload starts (a gate), so attaching here
/// misses nothing the workload does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceTarget {
    /// Every process in this container's cgroup; `pid` is its first process.
    Container { id: String, pid: u32 },
    /// This process and every descendant from now on.
    Process(u32),
}

pub trait Tracer {
    /// Short name for the report, e.g. `ebpf`.
    fn name(&self) -> &'static str;
    fn start(&mut self, target: &TraceTarget) -> Result<Box<dyn TraceSession>, ProfileError>;
}

pub trait TraceSession {
    /// Moves queued events out of the kernel's buffer; called while a trial runs so a busy
    /// workload does not overflow it.
    fn pump(&mut self) -> Result<(), ProfileError> {
        Ok(())
    }
    /// Stops watching and returns every check seen, plus the number of lost events.
    fn stop(self: Box<Self>) -> Result<Traced, ProfileError>;
}

#[derive(Debug, Clone, Default)]
pub struct Traced {
    pub observations: Vec<Observation>,
    pub lost: u64,
    /// The workload could not be held until the tracer was attached (an image without
    /// /bin/sh), so its first checks may be missing.
    pub attached_late: bool,
}

/// Evidence for one capability: which process asked, in which syscall, about what, how
/// often. One entry per distinct object, so "nginx openat /var/log/nginx/error.log" and
/// "nginx openat /etc/ssl/private/key.pem" stay apart: a permission fix is per file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub process: String,
    pub syscall: Option<String>,
    pub object: CheckObject,
    pub count: u64,
}

impl Seen {
    /// Same process, syscall and object: counts of two trials add up.
    pub fn same_check(&self, other: &Seen) -> bool {
        self.process == other.process
            && self.syscall == other.syscall
            && self.object == other.object
    }
}

/// Checks the runtime makes while setting a process up (runc's init before it execs the
/// workload or a `docker exec`), not the workload's own.
fn is_runtime(comm: &str) -> bool {
    comm.starts_with("runc")
}

/// Audited checks with the given verdict, grouped by capability, busiest evidence first.
pub fn evidence(obs: &[Observation], granted: bool) -> BTreeMap<Cap, Vec<Seen>> {
    type Key = (String, Option<String>, CheckObject);
    let mut by: BTreeMap<Cap, BTreeMap<Key, u64>> = BTreeMap::new();
    for o in obs {
        if o.audit && o.granted == granted && !is_runtime(&o.comm) {
            *by.entry(o.cap)
                .or_default()
                .entry((o.comm.clone(), o.syscall.clone(), o.object.clone()))
                .or_default() += 1;
        }
    }
    by.into_iter()
        .map(|(cap, m)| {
            let mut seen: Vec<Seen> = m
                .into_iter()
                .map(|((process, syscall, object), count)| Seen {
                    process,
                    syscall,
                    object,
                    count,
                })
                .collect();
            seen.sort_by(|a, b| b.count.cmp(&a.count).then(a.process.cmp(&b.process)));
            (cap, seen)
        })
        .collect()
}

pub fn caps_of(ev: &BTreeMap<Cap, Vec<Seen>>) -> CapSet {
    ev.keys().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(comm: &str, cap: Cap, granted: bool, audit: bool, sc: &str) -> Observation {
        Observation {
            pid: 1,
            comm: comm.into(),
            cap,
            granted,
            audit,
            syscall: Some(sc.into()),
            object: CheckObject::Syscall { name: sc.into() },
        }
    }

    #[test]
    fn noaudit_and_runtime_checks_are_never_evidence() {
        let obs = vec![
            o("ping", Cap::NET_RAW, true, true, "socket"),
            o("ping", Cap::NET_RAW, true, true, "socket"),
            o("sh", Cap::SYS_ADMIN, true, false, "mmap"),
            o("runc:[2:INIT]", Cap::SETUID, true, true, "setresuid"),
            o("ping", Cap::CHOWN, false, true, "chown"),
        ];
        let g = evidence(&obs, true);
        assert_eq!(caps_of(&g), CapSet::EMPTY.with(Cap::NET_RAW));
        assert_eq!(g[&Cap::NET_RAW][0].count, 2);
        assert_eq!(
            caps_of(&evidence(&obs, false)),
            CapSet::EMPTY.with(Cap::CHOWN)
        );
    }
}
