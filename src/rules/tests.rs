use super::*;
use crate::caps::Cap;
use crate::workload::{CapEntry, Setting, Syntax};
use std::path::PathBuf;

fn loc(line: u32) -> Option<Location> {
    Some(Location {
        file: PathBuf::from("f.yaml"),
        line,
        column: 7,
    })
}

fn docker(add: &[&str], drop: &[&str]) -> Workload {
    let mut w = Workload::new("web", SourceKind::Engine, Runtime::Docker, Syntax::Docker);
    w.cap_add = add.iter().map(|a| CapEntry::new(a, None)).collect();
    w.cap_drop = drop.iter().map(|a| CapEntry::new(a, None)).collect();
    w
}

fn k8s(add: &[&str], drop: &[&str], block: bool) -> Workload {
    let mut w = Workload::new(
        "Deployment/web",
        SourceKind::Kubernetes,
        Runtime::Containerd,
        Syntax::Kubernetes,
    );
    w.container = Some("nginx".into());
    w.has_caps_block = block;
    w.location = loc(10);
    w.cap_add = add
        .iter()
        .enumerate()
        .map(|(i, a)| CapEntry::new(a, loc(20 + i as u32)))
        .collect();
    w.cap_drop = drop.iter().map(|a| CapEntry::new(a, loc(30))).collect();
    w
}

fn ids(f: &[Finding]) -> Vec<&'static str> {
    let mut v: Vec<_> = f.iter().map(|f| f.rule).collect();
    v.sort();
    v
}

#[test]
fn docker_defaults_under_each_policy() {
    let w = docker(&[], &[]);
    assert_eq!(
        ids(&evaluate(&w, Policy::Strict)),
        ["DC007", "DC009", "DC010", "DC011"]
    );
    assert_eq!(ids(&evaluate(&w, Policy::CisDocker)), ["DC009", "DC010"]);
    assert!(evaluate(&w, Policy::PssBaseline).is_empty());
    let f = evaluate(&w, Policy::CisDocker);
    let nr = f.iter().find(|f| f.rule == "DC009").unwrap();
    assert_eq!(nr.capabilities.names(), ["NET_RAW"]);
    assert_eq!(nr.severity, Severity::High);
    assert!(
        nr.remediation.contains("--cap-drop=NET_RAW"),
        "{}",
        nr.remediation
    );
    assert!(
        nr.remediation.contains("cap_drop: [NET_RAW]"),
        "{}",
        nr.remediation
    );
}

#[test]
fn dropping_net_raw_or_all_silences_net_raw_rules() {
    assert_eq!(
        ids(&evaluate(&docker(&[], &["NET_RAW"]), Policy::CisDocker)),
        Vec::<&str>::new()
    );
    let w = docker(&["NET_BIND_SERVICE"], &["ALL"]);
    assert!(evaluate(&w, Policy::CisDocker).is_empty());
    assert_eq!(ids(&evaluate(&w, Policy::Strict)), ["DC011", "DC013"]);
    let mut w = w;
    w.no_new_privileges = Some(Setting {
        value: true,
        location: None,
    });
    assert_eq!(ids(&evaluate(&w, Policy::Strict)), ["DC013"]);
    assert!(evaluate(&w, Policy::PssRestricted).is_empty());
    // Ports below 1024 privileged again: NET_BIND_SERVICE is needed, nothing to say.
    w.sysctls.insert(
        "net.ipv4.ip_unprivileged_port_start".into(),
        Setting {
            value: "1024".into(),
            location: None,
        },
    );
    assert!(evaluate(&w, Policy::Strict).is_empty());
}

#[test]
fn explicit_net_raw_and_dangerous_adds() {
    let f = evaluate(&docker(&["CAP_NET_RAW"], &[]), Policy::CisDocker);
    let nr = f.iter().find(|f| f.rule == "DC009").unwrap();
    assert!(nr.message.starts_with("adds NET_RAW"), "{}", nr.message);
    assert!(nr.remediation.contains("remove --cap-add=CAP_NET_RAW"));
    let f = evaluate(&docker(&["SYS_ADMIN"], &[]), Policy::Strict);
    let d = f.iter().find(|f| f.rule == "DC003").unwrap();
    assert_eq!(d.severity, Severity::Critical);
    assert_eq!(d.capabilities.names(), ["SYS_ADMIN"]);
    assert_eq!(f[0].rule, "DC003", "sorted by severity first");
    let f = evaluate(&docker(&["SYS_NICE"], &[]), Policy::CisDocker);
    assert_eq!(ids(&f), ["DC004", "DC009", "DC010"]);
    let f = evaluate(&docker(&["SYS_TIME"], &[]), Policy::CisDocker);
    assert_eq!(
        f.iter().find(|f| f.rule == "DC004").unwrap().severity,
        Severity::High
    );
}

#[test]
fn net_raw_through_add_all_or_explicit_add_is_fixed_at_the_add() {
    let f = evaluate(&docker(&["ALL"], &[]), Policy::CisDocker);
    let nr = f.iter().find(|f| f.rule == "DC009").unwrap();
    assert!(nr.message.contains("cap_add ALL"), "{}", nr.message);
    assert!(
        nr.remediation.starts_with("remove --cap-add=ALL"),
        "{}",
        nr.remediation
    );
    let f = evaluate(&docker(&["NET_RAW"], &["ALL"]), Policy::CisDocker);
    let dc10 = f.iter().find(|f| f.rule == "DC010").unwrap();
    assert!(
        dc10.remediation.starts_with("remove --cap-add=NET_RAW"),
        "{}",
        dc10.remediation
    );
    let mut p = docker(&[], &[]);
    p.runtime = Runtime::Podman;
    p.cap_add = vec![CapEntry::new("NET_RAW", None)];
    let f = evaluate(&p, Policy::Strict);
    let all = f.iter().find(|f| f.rule == "DC007").unwrap();
    assert!(
        all.remediation.starts_with("podman run --cap-drop=ALL"),
        "{}",
        all.remediation
    );
}

#[test]
fn privileged_and_add_all() {
    let mut w = docker(&[], &[]);
    w.privileged = Setting {
        value: true,
        location: loc(4),
    };
    let f = evaluate(&w, Policy::Strict);
    assert_eq!(ids(&f), ["DC002"]);
    assert_eq!(f[0].location, loc(4));
    let f = evaluate(&docker(&["ALL"], &["ALL"]), Policy::Strict);
    assert!(ids(&f).contains(&"DC003"));
    assert!(ids(&f).contains(&"DC009"));
}

#[test]
fn pss_exact_names_and_missing_block() {
    let w = k8s(
        &["CAP_CHOWN", "NET_BIND_SERVICE", "SYS_TIME"],
        &["ALL"],
        true,
    );
    let f = evaluate(&w, Policy::PssBaseline);
    let dc5: Vec<_> = f.iter().filter(|f| f.rule == "DC005").collect();
    assert_eq!(dc5.len(), 2);
    assert!(dc5[0].message.contains("write CHOWN") || dc5[1].message.contains("write CHOWN"));
    assert_eq!(
        dc5.iter()
            .map(|f| f.location.clone())
            .collect::<Vec<_>>()
            .len(),
        2
    );
    let f = evaluate(&w, Policy::PssRestricted);
    assert_eq!(f.iter().filter(|f| f.rule == "DC006").count(), 2);
    // Missing block: restricted violation with the workload location.
    let f = evaluate(&k8s(&[], &[], false), Policy::PssRestricted);
    assert!(ids(&f).contains(&"DC008"));
    assert_eq!(
        f.iter().find(|f| f.rule == "DC008").unwrap().location,
        loc(10)
    );
    // Lowercase "all" is fine for Docker semantics but not PSS restricted's exact match.
    let mut w = k8s(&[], &["all"], true);
    w.no_new_privileges = Some(Setting {
        value: true,
        location: None,
    });
    assert!(!ids(&evaluate(&w, Policy::PssRestricted)).is_empty());
    assert!(evaluate(&w, Policy::Strict).is_empty());
}

#[test]
fn invalid_names_are_reported_with_suggestion() {
    let f = evaluate(&k8s(&["NET_RWA"], &["ALL"], true), Policy::Strict);
    let bad = f.iter().find(|f| f.rule == "DC001").unwrap();
    assert_eq!(
        bad.message,
        "'NET_RWA' is not a capability (did you mean NET_RAW?)"
    );
    assert_eq!(bad.location, loc(20));
}

#[test]
fn suppression_marks_but_keeps() {
    let mut w = docker(&[], &[]);
    w.suppressions.push(crate::workload::Suppression {
        rule: "DC009".into(),
        reason: "needs raw sockets for arping".into(),
    });
    let f = evaluate(&w, Policy::CisDocker);
    let s = f.iter().find(|f| f.rule == "DC009").unwrap();
    assert_eq!(
        s.suppressed.as_deref(),
        Some("needs raw sockets for arping")
    );
    assert!(f
        .iter()
        .find(|f| f.rule == "DC010")
        .unwrap()
        .suppressed
        .is_none());
}

#[test]
fn ping_group_range_rule_needs_the_range() {
    // Kubernetes does not set the sysctl by default.
    let w = k8s(&[], &["CHOWN"], true);
    assert_eq!(ids(&evaluate(&w, Policy::CisDocker)), ["DC009"]);
    let mut w = w;
    w.sysctls.insert(
        "net.ipv4.ping_group_range".into(),
        Setting {
            value: "0 2147483647".into(),
            location: None,
        },
    );
    assert_eq!(ids(&evaluate(&w, Policy::CisDocker)), ["DC009", "DC010"]);
    let mut d = docker(&[], &[]);
    d.host_network = true;
    assert_eq!(ids(&evaluate(&d, Policy::CisDocker)), ["DC009"]);
}

#[test]
fn drift_between_config_and_processes() {
    let mut w = docker(&[], &["ALL"]);
    w.processes.push(crate::workload::ProcessCaps {
        pid: 7,
        command: "ping".into(),
        uid: 1000,
        permitted: CapSet::EMPTY.with(crate::caps::Cap::NET_RAW),
        effective: CapSet::EMPTY,
        bounding: CapSet::docker_default(),
        ambient: CapSet::EMPTY,
    });
    let f = evaluate(&w, Policy::CisDocker);
    assert_eq!(f.iter().filter(|f| f.rule == "DC012").count(), 2);
}

#[test]
fn pss_spelling_is_exact_only_in_kubernetes() {
    // Docker's API reports CAP_-prefixed names itself: not the user's spelling.
    let w = docker(&["CAP_NET_BIND_SERVICE"], &["ALL"]);
    assert!(evaluate(&w, Policy::PssRestricted)
        .iter()
        .all(|f| f.rule != "DC005" && f.rule != "DC006"));
    let k = k8s(&["CAP_NET_BIND_SERVICE"], &["ALL"], true);
    let f = evaluate(&k, Policy::PssRestricted);
    assert!(f.iter().any(|f| f.rule == "DC005"));
    assert!(f.iter().any(|f| f.rule == "DC006"));
}

#[test]
fn dc014_pss_restricted_asks_for_allow_privilege_escalation_false_everywhere() {
    // drop ALL leaves nothing to regain, so strict's DC011 is quiet; the standard is not.
    let mut w = k8s(&[], &["ALL"], true);
    assert!(!ids(&evaluate(&w, Policy::Strict)).contains(&"DC011"));
    let f = evaluate(&w, Policy::PssRestricted);
    assert_eq!(ids(&f), ["DC014"]);
    assert_eq!(
        f[0].location,
        loc(10),
        "no securityContext key: the container"
    );
    w.context_location = loc(12);
    assert_eq!(evaluate(&w, Policy::PssRestricted)[0].location, loc(12));
    w.no_new_privileges = Some(Setting {
        value: false,
        location: loc(13),
    });
    let f = evaluate(&w, Policy::PssRestricted);
    assert_eq!(f[0].location, loc(13), "at allowPrivilegeEscalation: true");
    assert!(f[0].message.contains("is true"), "{}", f[0].message);
    w.no_new_privileges = Some(Setting {
        value: true,
        location: loc(13),
    });
    assert!(evaluate(&w, Policy::PssRestricted).is_empty());
}

#[test]
fn dc015_a_cap_prefixed_drop_keeps_the_capability_under_containerd() {
    let mut w = k8s(&["CAP_SYS_TIME"], &["CAP_NET_RAW"], true);
    for e in w.cap_add.iter_mut().chain(w.cap_drop.iter_mut()) {
        e.cri_prefixed = true;
    }
    assert!(
        w.effective().contains(Cap::NET_RAW),
        "containerd drops nothing"
    );
    assert!(
        w.effective()
            .contains(crate::caps::parse_cap("SYS_TIME").unwrap()),
        "CRI-O adds it"
    );
    let f = evaluate(&w, Policy::Strict);
    let dc015: Vec<&Finding> = f.iter().filter(|f| f.rule == "DC015").collect();
    assert_eq!(dc015.len(), 2);
    assert!(dc015[1].message.contains("CAP_CAP_NET_RAW"));
    assert!(dc015[1].message.contains("CRI-O drops NET_RAW"));
    assert!(ids(&f).contains(&"DC009"));
}

#[test]
fn dc016_adds_for_a_non_root_user_and_the_live_confirmation() {
    let mut w = docker(&["NET_BIND_SERVICE"], &["ALL"]);
    w.user = Some("1000:1000".into());
    let f: Vec<Finding> = evaluate(&w, Policy::Strict)
        .into_iter()
        .filter(|f| f.rule == "DC016")
        .collect();
    assert_eq!(f.len(), 1);
    assert!(f[0]
        .message
        .contains("runs as uid 1000: it is not effective"));
    // Root, or a user name only the image can resolve: not reported.
    for user in ["0", "root", "app"] {
        w.user = Some(user.into());
        assert!(
            !ids(&evaluate(&w, Policy::Strict)).contains(&"DC016"),
            "{user}"
        );
    }
    // A running container: CapEff confirms, or shows that something grants it after all.
    w.user = Some("1000".into());
    let mut p = crate::workload::ProcessCaps {
        pid: 42,
        command: "web".into(),
        uid: 1000,
        permitted: CapSet::EMPTY,
        effective: CapSet::EMPTY,
        bounding: CapSet::EMPTY.with(Cap::NET_BIND_SERVICE),
        ambient: CapSet::EMPTY,
    };
    w.processes = vec![p.clone()];
    let f = evaluate(&w, Policy::Strict);
    let m = &f.iter().find(|f| f.rule == "DC016").unwrap().message;
    assert!(
        m.contains("confirmed: none of its 1 processes has it in CapEff"),
        "{m}"
    );
    p.effective = CapSet::EMPTY.with(Cap::NET_BIND_SERVICE);
    w.processes = vec![p];
    assert!(!ids(&evaluate(&w, Policy::Strict)).contains(&"DC016"));
}

#[test]
fn dc002_names_the_explicit_adds() {
    let mut w = docker(&["SYS_MODULE"], &[]);
    w.privileged = Setting {
        value: true,
        location: None,
    };
    let f = evaluate(&w, Policy::Strict);
    assert!(
        f[0].message.contains("also adds SYS_MODULE"),
        "{}",
        f[0].message
    );
}

/// Every fix for a Swarm service is a `docker service update` that leaves exactly what the
/// finding asks for: named adds not worth keeping are dropped by name (the CLI takes a
/// `--cap-drop X` out of CapabilityAdd too), safe ones are added back.
#[test]
fn swarm_services_get_service_update_fixes() {
    let mut w = docker(&["NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW"], &[]);
    w.name = "api".into();
    w.syntax = Syntax::Swarm;
    let f = evaluate(&w, Policy::Strict);
    let fix = |id: &str| {
        f.iter()
            .find(|f| f.rule == id)
            .map(|f| f.remediation.clone())
            .unwrap()
    };
    assert_eq!(
        fix("DC003"),
        "docker service update --cap-drop NET_ADMIN api (stack file: remove NET_ADMIN from cap_add)"
    );
    assert_eq!(
        fix("DC007"),
        "docker service update --cap-drop ALL --cap-drop NET_ADMIN --cap-drop NET_RAW --cap-add NET_BIND_SERVICE api (stack file: cap_drop: [ALL], cap_add: [NET_BIND_SERVICE]) and add back only what `dropcap profile` proves is needed"
    );
    assert!(
        fix("DC011").starts_with("service api cannot set no-new-privileges"),
        "{}",
        fix("DC011")
    );
    assert!(f.iter().all(|f| !f.remediation.contains("docker run")));
}
