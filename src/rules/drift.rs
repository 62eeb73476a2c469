//! Where a running container's real capability sets differ from its configuration.
//!
//! The configuration is what was asked for; `/proc` is what the kernel enforces. They part
//! ways in three ways worth a finding:
//! - the bounding set differs from the computed one (an engine default we do not model, a
//!   runtime hook, or a process that called `capset`/`prctl(PR_CAPBSET_DROP)`);
//! - a non-root process holds capabilities: file capabilities (`setcap`) or the ambient set
//!   gave them, so "runs as a user" does not mean "holds nothing";
//! - a root process holds fewer than its bounding set: it dropped them itself, which shows the
//!   container could drop them in its configuration too.

use super::remedy;
use super::{rule_info, Finding, Policy, Severity, WorkloadRef};
use crate::caps::CapSet;
use crate::workload::{ProcessCaps, Workload};

/// The catalog's rule for every drift.
pub const RULE: &str = "DC012";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// Bounding set wider than configured: the container can do more than its config says.
    BoundingWider,
    /// Bounding set narrower than configured.
    BoundingNarrower,
    /// A non-root process holds permitted capabilities (setcap binary or ambient set).
    NonRootHolds,
    /// A root process runs with fewer permitted capabilities than its bounding set.
    RootDropped,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub capabilities: CapSet,
    /// Processes showing it, `pid command` each.
    pub processes: Vec<String>,
    pub message: String,
}

/// Every drift of `w`, grouped so that many processes with the same difference make one entry.
pub fn drift(w: &Workload) -> Vec<Drift> {
    if w.processes.is_empty() {
        return Vec::new();
    }
    let configured = w.effective();
    let mut out: Vec<Drift> = Vec::new();
    let mut add = |kind: DriftKind, caps: CapSet, p: &ProcessCaps| {
        let who = format!("{} {}", p.pid, short(&p.command));
        if let Some(d) = out
            .iter_mut()
            .find(|d| d.kind == kind && d.capabilities == caps)
        {
            d.processes.push(who);
        } else {
            out.push(Drift {
                kind,
                capabilities: caps,
                processes: vec![who],
                message: String::new(),
            });
        }
    };
    for p in &w.processes {
        let wider = p.bounding.difference(configured);
        let narrower = configured.difference(p.bounding);
        if !wider.is_empty() {
            add(DriftKind::BoundingWider, wider, p);
        }
        if !narrower.is_empty() {
            add(DriftKind::BoundingNarrower, narrower, p);
        }
        if p.uid != 0 && !p.permitted.is_empty() {
            add(DriftKind::NonRootHolds, p.permitted, p);
        } else if p.uid == 0 {
            let dropped = p.bounding.difference(p.permitted);
            if !dropped.is_empty() {
                add(DriftKind::RootDropped, dropped, p);
            }
        }
    }
    for d in &mut out {
        d.message = message(d);
    }
    out
}

impl DriftKind {
    /// Wider sets and capability-holding non-root processes are risks; a narrower set or a
    /// process that dropped capabilities is only a hint that the configuration can shrink.
    pub fn severity(self) -> Severity {
        match self {
            DriftKind::BoundingWider => Severity::Medium,
            DriftKind::NonRootHolds => Severity::Low,
            DriftKind::BoundingNarrower | DriftKind::RootDropped => Severity::Info,
        }
    }
}

/// DC012 findings for `w`, one per distinct drift (not one per process: a 64-worker server
/// with the same setcap binary makes one finding naming the first pid and the count).
pub fn findings(w: &Workload, policy: Policy) -> Vec<Finding> {
    let info = rule_info(RULE);
    if !info.in_policy(policy) {
        return Vec::new();
    }
    let wref = WorkloadRef::of(w);
    drift(w)
        .into_iter()
        .map(|d| Finding {
            rule: info.id,
            title: info.title,
            severity: d.kind.severity(),
            workload: wref.clone(),
            capabilities: d.capabilities,
            remediation: remedy::for_engine(w, remediation(w, &d)),
            // A service's tasks are measured against its spec, not their own configuration.
            message: if w.syntax == crate::workload::Syntax::Swarm {
                d.message
                    .replace("the container's configuration", "the service's spec")
            } else {
                d.message
            },
            location: None,
            standards: info.standards,
            suppressed: w.is_suppressed(RULE).map(|s| s.reason.clone()),
        })
        .collect()
}

fn remediation(w: &Workload, d: &Drift) -> String {
    if w.syntax == crate::workload::Syntax::Swarm {
        return service_remediation(w, d);
    }
    let flags: Vec<String> = d
        .capabilities
        .iter()
        .map(|c| format!("--cap-drop={c}"))
        .collect();
    let flags = flags.join(" ");
    match d.kind {
        DriftKind::BoundingWider => {
            "check the engine's default capabilities and any wrapper or hook that changes them"
                .to_string()
        }
        DriftKind::BoundingNarrower => format!(
            "nothing is at risk; to make the configuration say what runs: docker run {flags}"
        ),
        DriftKind::NonRootHolds => format!(
            "remove the file capabilities (setcap -r BINARY) or run with --security-opt no-new-privileges and {flags}"
        ),
        DriftKind::RootDropped => format!("docker run {flags} (compose: cap_drop)"),
    }
}

/// A service is changed with `docker service update`, which rolls every task, not one.
fn service_remediation(w: &Workload, d: &Drift) -> String {
    let flags: Vec<String> = d
        .capabilities
        .iter()
        .map(|c| format!("--cap-drop {c}"))
        .collect();
    let update = format!("docker service update {} {}", flags.join(" "), w.name);
    match d.kind {
        DriftKind::BoundingWider => format!(
            "a task runs with more than service {} grants: if it predates the last update, docker service update --force {} replaces it; else check the engine's defaults and hooks",
            w.name, w.name
        ),
        DriftKind::BoundingNarrower => {
            format!("nothing is at risk; to make the spec say what runs: {update}")
        }
        DriftKind::NonRootHolds => format!(
            "remove the file capabilities (setcap -r BINARY) from the image, or {update}"
        ),
        DriftKind::RootDropped => format!("{update} (stack file: cap_drop)"),
    }
}

fn message(d: &Drift) -> String {
    let caps = d.capabilities.names().join(", ");
    let who = plural(&d.processes);
    match d.kind {
        DriftKind::BoundingWider => format!(
            "{who} can use {caps}, which the container's configuration does not grant"
        ),
        DriftKind::BoundingNarrower => format!(
            "{who} lacks {caps}, which the container's configuration grants"
        ),
        DriftKind::NonRootHolds => format!(
            "{who} runs as a non-root user but holds {caps} (file capabilities or the ambient set)"
        ),
        DriftKind::RootDropped => format!(
            "{who} runs as root without {caps}: it dropped them itself, so the configuration can drop them too"
        ),
    }
}

fn plural(p: &[String]) -> String {
    match p {
        [one] => format!("process {one}"),
        [first, rest @ ..] => format!("processes {first} and {} more", rest.len()),
        [] => "no process".to_string(),
    }
}

fn short(command: &str) -> String {
    let first = command.split_whitespace().next().unwrap_or(command);
    let base = first.rsplit('/').next().unwrap_or(first);
    base.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap;
    use crate::workload::{CapEntry, Runtime, SourceKind, Syntax};

    fn proc_(pid: u32, uid: u32, prm: CapSet, bnd: CapSet) -> ProcessCaps {
        ProcessCaps {
            pid,
            command: "/usr/bin/ping -c1 x".into(),
            uid,
            permitted: prm,
            effective: prm,
            bounding: bnd,
            ambient: CapSet::EMPTY,
        }
    }

    fn w() -> Workload {
        let mut w = Workload::new("web", SourceKind::Engine, Runtime::Docker, Syntax::Docker);
        w.cap_drop.push(CapEntry::new("NET_RAW", None));
        w
    }

    #[test]
    fn matching_sets_no_drift() {
        let d = CapSet::docker_default().without(Cap::NET_RAW);
        let mut w = w();
        w.processes = vec![proc_(1, 0, d, d), proc_(2, 1000, CapSet::EMPTY, d)];
        assert!(drift(&w).is_empty());
        w.processes.clear();
        assert!(drift(&w).is_empty());
    }

    #[test]
    fn findings_carry_rule_and_severity() {
        let d = CapSet::docker_default().without(Cap::NET_RAW);
        let mut w = w();
        w.processes = vec![
            proc_(1, 0, d.with(Cap::SYS_ADMIN), d.with(Cap::SYS_ADMIN)),
            proc_(2, 1000, CapSet::EMPTY.with(Cap::NET_BIND_SERVICE), d),
        ];
        let f = findings(&w, Policy::Strict);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.rule == RULE));
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].capabilities, CapSet::EMPTY.with(Cap::SYS_ADMIN));
        assert_eq!(f[1].severity, Severity::Low);
        assert!(f[1].remediation.contains("--cap-drop=NET_BIND_SERVICE"));
    }

    #[test]
    fn every_kind() {
        let d = CapSet::docker_default().without(Cap::NET_RAW);
        let mut w = w();
        w.processes = vec![
            proc_(1, 0, d.with(Cap::NET_RAW), d.with(Cap::NET_RAW)),
            proc_(7, 0, d.without(Cap::CHOWN), d.without(Cap::CHOWN)),
            proc_(8, 1000, CapSet::EMPTY.with(Cap::NET_BIND_SERVICE), d),
            proc_(9, 0, CapSet::EMPTY.with(Cap::SETUID), d),
            proc_(10, 0, CapSet::EMPTY.with(Cap::SETUID), d),
        ];
        let out = drift(&w);
        let kinds: Vec<_> = out
            .iter()
            .map(|d| (d.kind, d.capabilities.names()))
            .collect();
        assert_eq!(
            kinds[0],
            (DriftKind::BoundingWider, vec!["NET_RAW".to_string()])
        );
        assert_eq!(
            kinds[1],
            (DriftKind::BoundingNarrower, vec!["CHOWN".to_string()])
        );
        assert_eq!(kinds[2].0, DriftKind::NonRootHolds);
        assert_eq!(kinds[3].0, DriftKind::RootDropped);
        assert_eq!(out[3].processes.len(), 2);
        assert!(
            out[2].message.contains("process 8 ping"),
            "{}",
            out[2].message
        );
        assert!(out[3].message.contains("processes 9 ping and 1 more"));
        assert_eq!(out.len(), 4);
    }
}
