//! Per-capability counts and the event accounting of one trace.

use super::TraceEvent;
use crate::caps::{Cap, CapSet};
use serde::Serialize;
use std::collections::BTreeMap;

/// How often one capability was checked, split by verdict and audit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CapCount {
    pub granted: u64,
    pub denied: u64,
    /// Noaudit probes (not evidence of need), granted or denied.
    pub noaudit_granted: u64,
    pub noaudit_denied: u64,
    /// Checks made with credentials other than the task's own (overlayfs mounter, another
    /// task): not evidence either.
    pub foreign_cred: u64,
}

/// What a trace saw. `lost` is read from the kernel and is never assumed to be zero: when
/// the ring buffer overflowed the counts below are incomplete by exactly that many checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Keyed by capability (serialised by name).
    pub caps: BTreeMap<Cap, CapCount>,
    /// Checks that matched the target in the kernel.
    pub seen: u64,
    /// Checks that reached userspace (`seen - lost` once the buffer is drained).
    pub delivered: u64,
    /// Checks dropped because the ring buffer was full.
    pub lost: u64,
    /// Events whose record could not be decoded (object/binary mismatch); should stay 0.
    pub malformed: u64,
}

impl Summary {
    pub(crate) fn record(&mut self, e: &TraceEvent) {
        self.delivered += 1;
        let c = self.caps.entry(e.cap).or_default();
        if !e.own_cred {
            c.foreign_cred += 1;
            return;
        }
        match (e.audit, e.granted) {
            (true, true) => c.granted += 1,
            (true, false) => c.denied += 1,
            (false, true) => c.noaudit_granted += 1,
            (false, false) => c.noaudit_denied += 1,
        }
    }

    /// Capabilities granted at least once in an audited check: what the workload used.
    pub fn granted(&self) -> CapSet {
        self.set(|c| c.granted > 0)
    }

    /// Capabilities denied at least once in an audited check: what the workload lacked.
    pub fn denied(&self) -> CapSet {
        self.set(|c| c.denied > 0)
    }

    /// Capabilities that appeared only in noaudit probes or foreign-credential checks.
    pub fn noaudit_only(&self) -> CapSet {
        self.set(|c| c.granted == 0 && c.denied == 0)
    }

    fn set(&self, keep: impl Fn(&CapCount) -> bool) -> CapSet {
        self.caps
            .iter()
            .filter(|(_, c)| keep(c))
            .map(|(cap, _)| *cap)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(cap: Cap, granted: bool, audit: bool) -> TraceEvent {
        TraceEvent {
            time_ns: 0,
            pid: 1,
            tid: 1,
            ppid: 0,
            uid: 0,
            comm: "x".into(),
            cap,
            granted,
            audit,
            own_cred: true,
            syscall: None,
            syscall_nr: None,
            cgroup_id: 0,
            object: crate::trace::CheckObject::of_syscall(-1),
        }
    }

    #[test]
    fn sets_follow_audit_and_verdict() {
        let mut s = Summary::default();
        s.record(&ev(Cap::NET_RAW, true, true));
        s.record(&ev(Cap::CHOWN, false, true));
        s.record(&ev(Cap::SYS_ADMIN, true, false));
        let mut borrowed = ev(Cap::DAC_OVERRIDE, true, true);
        borrowed.own_cred = false;
        s.record(&borrowed);
        assert_eq!(s.delivered, 4);
        assert_eq!(s.granted(), CapSet::EMPTY.with(Cap::NET_RAW));
        assert_eq!(s.denied(), CapSet::EMPTY.with(Cap::CHOWN));
        assert_eq!(
            s.noaudit_only(),
            CapSet::EMPTY.with(Cap::SYS_ADMIN).with(Cap::DAC_OVERRIDE)
        );
        assert_eq!(s.caps[&Cap::DAC_OVERRIDE].foreign_cred, 1);
        assert_eq!(s.caps[&Cap::SYS_ADMIN].noaudit_granted, 1);
    }
}
