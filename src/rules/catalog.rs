//! The rule catalog: ids, titles, severities, standards and policies in one table.

use super::{Policy, Severity};
use Policy::{CisDocker, PssBaseline, PssRestricted, Strict};

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub standards: &'static [&'static str],
    pub policies: &'static [Policy],
    pub help: &'static str,
}

impl RuleInfo {
    pub fn in_policy(&self, p: Policy) -> bool {
        self.policies.contains(&p)
    }
}

static RULES: [RuleInfo; 19] = [
    RuleInfo {
        id: "DC001",
        title: "invalid-capability",
        severity: Severity::High,
        standards: &[],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "A capability list names something that is not a capability; the engine refuses to start the container or ignores the entry.",
    },
    RuleInfo {
        id: "DC002",
        title: "privileged",
        severity: Severity::Critical,
        standards: &["CIS Docker 5.5", "CIS Kubernetes 5.2.2", "PSS baseline"],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "A privileged container has every capability, all devices and no seccomp or AppArmor confinement: it is root on the host.",
    },
    RuleInfo {
        id: "DC003",
        title: "dangerous-capability-added",
        severity: Severity::Critical,
        standards: &["CIS Docker 5.4", "CIS Kubernetes 5.2.9", "PSS baseline"],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "SYS_ADMIN, NET_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, DAC_READ_SEARCH, BPF, PERFMON, SYS_BOOT (or ALL) are known container-escape or host-control powers.",
    },
    RuleInfo {
        id: "DC004",
        title: "capability-added",
        severity: Severity::Medium,
        standards: &["CIS Docker 5.4", "CIS Kubernetes 5.2.9"],
        policies: &[CisDocker, Strict],
        help: "A capability outside the runtime's default set is added; each one widens what a compromised container can do.",
    },
    RuleInfo {
        id: "DC005",
        title: "pss-baseline-capability",
        severity: Severity::High,
        standards: &["PSS baseline"],
        policies: &[PssBaseline, PssRestricted],
        help: "PSS baseline allows adding only AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT, spelled exactly so.",
    },
    RuleInfo {
        id: "DC006",
        title: "pss-restricted-capability",
        severity: Severity::High,
        standards: &["PSS restricted"],
        policies: &[PssRestricted],
        help: "PSS restricted allows adding only NET_BIND_SERVICE.",
    },
    RuleInfo {
        id: "DC007",
        title: "all-not-dropped",
        severity: Severity::Medium,
        standards: &["PSS restricted", "CIS Kubernetes 5.2.10"],
        policies: &[PssRestricted, Strict],
        help: "Capabilities are not dropped with ALL; best practice (and PSS restricted) is to drop ALL and add back only what a test proves is needed.",
    },
    RuleInfo {
        id: "DC008",
        title: "capabilities-missing",
        severity: Severity::Medium,
        standards: &["PSS restricted", "CIS Kubernetes 5.2.10"],
        policies: &[PssRestricted, Strict],
        help: "The container has no securityContext.capabilities block, so it runs with the runtime's default set; PSS restricted requires drop: [ALL].",
    },
    RuleInfo {
        id: "DC009",
        title: "net-raw-kept",
        severity: Severity::High,
        standards: &["CIS Docker 5.4", "CIS Kubernetes 5.2.8"],
        policies: &[CisDocker, Strict],
        help: "NET_RAW lets a compromised container forge packets and spoof ARP or DNS on its network; it is usually kept only for ping, which works without it.",
    },
    RuleInfo {
        id: "DC010",
        title: "net-raw-unneeded-for-ping",
        severity: Severity::Medium,
        standards: &["CIS Docker 5.4"],
        policies: &[CisDocker, Strict],
        help: "net.ipv4.ping_group_range already allows ICMP datagram sockets for the container's group, so ping needs no NET_RAW (use dropcap ping or iputils ping built without file capabilities).",
    },
    RuleInfo {
        id: "DC011",
        title: "privilege-escalation-allowed",
        severity: Severity::Low,
        standards: &[],
        policies: &[Strict],
        help: "Without no-new-privileges (allowPrivilegeEscalation: false) a setuid or file-capability binary can regain capabilities up to the bounding set. Not reported when the bounding set is empty (nothing to regain); --policy pss-restricted uses DC014 instead, which the standard requires on every container.",
    },
    RuleInfo {
        id: "DC012",
        title: "capabilities-drift",
        severity: Severity::Medium,
        standards: &["CIS Docker 5.4"],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "A running process holds capabilities different from what the configuration grants (setcap binaries, ambient capabilities, an engine that ignored the configuration).",
    },
    RuleInfo {
        id: "DC013",
        title: "net-bind-service-unneeded",
        severity: Severity::Info,
        standards: &[],
        policies: &[Strict],
        help: "NET_BIND_SERVICE is added although net.ipv4.ip_unprivileged_port_start is 0 in the container (Docker's default since 20.10), so any process may bind ports below 1024 without it.",
    },
    RuleInfo {
        id: "DC014",
        title: "pss-restricted-privilege-escalation",
        severity: Severity::Medium,
        standards: &["PSS restricted", "CIS Kubernetes 5.2.6"],
        policies: &[PssRestricted],
        help: "PSS restricted requires allowPrivilegeEscalation: false on every container (init and ephemeral containers included), whatever capabilities it keeps; unset means true. Compose and inspect workloads are held to the equivalent no-new-privileges:true.",
    },
    RuleInfo {
        id: "DC015",
        title: "cap-prefix-in-kubernetes",
        severity: Severity::Medium,
        standards: &[],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "Kubernetes capability names take no CAP_ prefix: containerd's CRI plugin prefixes every name again, so drop: [CAP_NET_RAW] drops nothing and add: [CAP_SYS_ADMIN] adds nothing, while CRI-O accepts both. dropcap counts such a drop as not dropped and such an add as added.",
    },
    RuleInfo {
        id: "DC016",
        title: "added-capability-not-effective",
        severity: Severity::Low,
        standards: &[],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "A capability is added to a container that runs as a non-root user: neither Docker nor containerd nor CRI-O sets ambient capabilities, so the process starts with an empty effective set and the add only widens the bounding set. Give the binary a file capability (setcap) or run as root with drop ALL; for ports below 1024 set net.ipv4.ip_unprivileged_port_start instead.",
    },
    RuleInfo {
        id: "DC020",
        title: "file-capability-exec-fails",
        severity: Severity::High,
        standards: &[],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "A binary of the image carries a file capability with the effective bit that the container's bounding set does not cover: the kernel refuses to exec it (\"Operation not permitted\") without any capability check a tracer could see. Needs the image's files (live audit, or static audit with --images).",
    },
    RuleInfo {
        id: "DC021",
        title: "setuid-root-without-no-new-privileges",
        severity: Severity::Medium,
        standards: &["PSS restricted"],
        policies: &[PssRestricted, Strict],
        help: "The image holds setuid-root binaries and the container does not set no-new-privileges: any user in it who runs one regains every capability of the bounding set. Needs the image's files (live audit, or static audit with --images).",
    },
    RuleInfo {
        id: "DC022",
        title: "ignored-by-stack-deploy",
        severity: Severity::Medium,
        standards: &[],
        policies: &[CisDocker, PssBaseline, PssRestricted, Strict],
        help: "docker stack deploy ignores privileged and security_opt (it says \"Ignoring unsupported options\"), so a compose file deployed as a Swarm stack does not get them: no-new-privileges, seccomp and AppArmor options never reach the containers, and privileged: true gives nothing. Reported for files audited with --stack or whose service has a deploy: section; cap_add and cap_drop are applied (Docker 20.10+).",
    },
];

pub fn catalog() -> &'static [RuleInfo] {
    &RULES
}

/// Looks up a rule; ids come from this table, so a miss is a programming error that we still
/// survive by falling back to the first rule's metadata instead of panicking.
pub fn rule_info(id: &str) -> &'static RuleInfo {
    RULES.iter().find(|r| r.id == id).unwrap_or(&RULES[0])
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_ordered() {
        let ids: Vec<_> = super::RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}
