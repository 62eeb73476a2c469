//! DC022: compose keys a `docker stack deploy` ignores.
//!
//! The docker CLI drops them with one line ("Ignoring unsupported options: ...", measured with
//! CLI 28.2 against Engine 20.10: cgroup_parent, devices, ipc, network_mode, pid, privileged,
//! security_opt, userns_mode). Of those, `privileged` and `security_opt` are what a reader of
//! the file takes for capability settings, so those two are reported where they are written.
//! A `deploy:` section alone does not prove the file is a stack (`docker compose` reads
//! `deploy.resources` and `replicas` too), so without `--stack` the rules still judge the
//! service as compose runs it and DC022 only warns; `--stack` judges it as Swarm runs it.

use super::{rule_info, Finding, Policy, Severity, WorkloadRef};
use crate::caps::CapSet;
use crate::workload::Workload;

pub const RULE: &str = "DC022";

pub fn findings(w: &Workload, policy: Policy) -> Vec<Finding> {
    let info = rule_info(RULE);
    if !info.in_policy(policy) || !w.stack.stack_likely() {
        return Vec::new();
    }
    let why = match (&w.stack.deploy, w.stack.as_stack) {
        (_, true) => "(audited with --stack)".to_string(),
        (Some(at), false) => format!(
            "(the service has a deploy: section at line {}, so it may be deployed as a stack)",
            at.line
        ),
        (None, false) => String::new(),
    };
    let wref = WorkloadRef::of(w);
    w.stack
        .ignored
        .iter()
        .map(|ig| {
            let (severity, message, remediation) = match ig.key {
                "privileged" => (
                    Severity::Low,
                    format!("privileged: true is ignored by docker stack deploy {why}: the service's containers run unprivileged, with only what cap_add and cap_drop give"),
                    format!("remove privileged: true from service {} and add only the capabilities it needs with cap_add (docker stack deploy applies cap_add and cap_drop)", w.name),
                ),
                _ => (
                    info.severity,
                    format!("security_opt is ignored by docker stack deploy {why}: no-new-privileges, seccomp and AppArmor options never reach the service's containers"),
                    format!("a Swarm service cannot set no-new-privileges from a stack file: set cap_drop: [ALL] on service {} so there is nothing to regain, and keep setuid binaries out of its image", w.name),
                ),
            };
            Finding {
                rule: info.id,
                title: info.title,
                severity,
                workload: wref.clone(),
                capabilities: CapSet::EMPTY,
                message,
                remediation,
                location: ig.location.clone(),
                standards: info.standards,
                suppressed: None,
            }
        })
        .collect()
}
