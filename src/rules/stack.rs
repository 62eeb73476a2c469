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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{deploy_as_stack, Location, Runtime, SourceKind, StackIgnored, Syntax};

    fn at(line: u32) -> Option<Location> {
        Some(Location {
            file: "s.yml".into(),
            line,
            column: 5,
        })
    }

    fn service() -> Workload {
        let mut w = Workload::new(
            "admin",
            SourceKind::Compose,
            Runtime::Docker,
            Syntax::Compose,
        );
        w.privileged.value = true;
        w.privileged.location = at(4);
        w.stack.ignored = vec![
            StackIgnored {
                key: "privileged",
                location: at(4),
            },
            StackIgnored {
                key: "security_opt",
                location: at(5),
            },
        ];
        w
    }

    #[test]
    fn only_for_stacks() {
        let w = service();
        assert!(
            findings(&w, Policy::Strict).is_empty(),
            "no deploy:, no --stack"
        );
        let mut w = service();
        w.stack.deploy = at(7);
        let f = crate::rules::evaluate(&w, Policy::Strict);
        let rules: Vec<&str> = f.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            ["DC002", "DC022", "DC022"],
            "compose still runs it privileged"
        );
        assert!(f[1].message.contains("deploy: section at line 7"));
    }

    #[test]
    fn stack_mode_judges_what_swarm_runs() {
        let mut w = service();
        deploy_as_stack(&mut w);
        let f = crate::rules::evaluate(&w, Policy::Strict);
        assert!(f.iter().all(|f| f.rule != "DC002"));
        let dc022: Vec<(Severity, u32)> = f
            .iter()
            .filter(|f| f.rule == RULE)
            .map(|f| (f.severity, f.location.as_ref().unwrap().line))
            .collect();
        assert_eq!(dc022, [(Severity::Medium, 5), (Severity::Low, 4)]);
        let dc011 = f.iter().find(|f| f.rule == "DC011").unwrap();
        assert!(dc011
            .remediation
            .contains("cannot set no-new-privileges in a stack"));
    }
}
