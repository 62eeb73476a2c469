//! One engine inspect → one [`Workload`].

use super::connect::EngineKind;
use super::libpod::PodmanCaps;
use crate::caps::CapSet;
use crate::workload::{CapEntry, Runtime, Setting, SourceKind, Suppression, Syntax, Workload};
use bollard::models::ContainerInspectResponse;

/// The label a container carries to silence a rule: `RULE reason`, several separated by `;`.
pub const IGNORE_LABEL: &str = "dropcap.io/ignore";

/// `podman` holds libpod's own answer when the engine is Podman and it could be read.
pub fn workload_from_inspect(
    c: &ContainerInspectResponse,
    kind: EngineKind,
    podman: Option<PodmanCaps>,
) -> Workload {
    let id = c.id.clone().unwrap_or_default();
    let name = c
        .name
        .as_deref()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| id.chars().take(12).collect());
    let runtime = match kind {
        EngineKind::Docker => Runtime::Docker,
        EngineKind::Podman => Runtime::Podman,
    };
    let mut w = Workload::new(name, SourceKind::Engine, runtime, Syntax::Docker);
    w.id = Some(id);
    let config = c.config.as_ref();
    w.image = config
        .and_then(|cfg| cfg.image.clone())
        .filter(|i| !i.is_empty())
        .or_else(|| c.image.clone());
    w.image_id = c.image.clone();
    w.user = config
        .and_then(|cfg| cfg.user.clone())
        .filter(|u| !u.is_empty());
    w.running = c.state.as_ref().and_then(|s| s.running);
    if let Some(labels) = config.and_then(|cfg| cfg.labels.as_ref()) {
        if let Some(v) = labels.get(IGNORE_LABEL) {
            w.suppressions = parse_ignore_label(v);
        }
        w.task = crate::workload::TaskLabels::from_labels(labels);
    }
    if let Some(hc) = c.host_config.as_ref() {
        w.privileged = Setting {
            value: hc.privileged.unwrap_or(false),
            location: None,
        };
        w.no_new_privileges = no_new_privileges(hc.security_opt.as_deref().unwrap_or(&[]));
        if let Some(sysctls) = &hc.sysctls {
            for (k, v) in sysctls {
                w.sysctls.insert(
                    k.clone(),
                    Setting {
                        value: v.clone(),
                        location: None,
                    },
                );
            }
        }
        w.host_network = hc.network_mode.as_deref() == Some("host");
        let adds = hc.cap_add.as_deref().unwrap_or(&[]);
        let drops = hc.cap_drop.as_deref().unwrap_or(&[]);
        match kind {
            EngineKind::Docker => {
                w.cap_add = adds.iter().map(|s| entry(s)).collect();
                w.cap_drop = drops.iter().map(|s| entry(s)).collect();
            }
            EngineKind::Podman if !w.privileged.value => {
                let bounding = match podman {
                    Some(p) => p.bounding,
                    None => podman_compat_bounding(adds, drops),
                };
                let (a, d) = relative_to(bounding, CapSet::podman_default());
                w.cap_add = a;
                w.cap_drop = d;
            }
            EngineKind::Podman => {}
        }
    }
    w
}

/// Docker's API answers `CAP_SYS_ADMIN`; remediations and reports speak `SYS_ADMIN`, as
/// `docker run --cap-add` does.
pub(super) fn entry(raw: &str) -> CapEntry {
    let t = raw.trim();
    // `get`, not `[..4]`: an engine may answer any UTF-8, and byte 4 can fall inside a char.
    let short = match (t.get(..4), t.get(4..)) {
        (Some(p), Some(rest)) if !rest.is_empty() && p.eq_ignore_ascii_case("CAP_") => rest,
        _ => t,
    };
    CapEntry::new(short, None)
}

/// Podman's compatible API (and libpod's `HostConfig`) state CapAdd/CapDrop relative to
/// *Docker's* 14 defaults, not Podman's own 11: measured with Podman 4.3, `--cap-add NET_RAW`
/// shows no add, and a default container shows AUDIT_WRITE, MKNOD and NET_RAW dropped.
fn podman_compat_bounding(adds: &[String], drops: &[String]) -> CapSet {
    let set = |list: &[String]| {
        list.iter()
            .filter_map(|s| entry(s).caps)
            .fold(CapSet::EMPTY, CapSet::union)
    };
    CapSet::docker_default()
        .difference(set(drops))
        .union(set(adds))
}

/// Add/drop lists that turn `defaults` into `actual`, in the form a user would have written:
/// when most defaults are gone, `drop ALL` plus adds (Podman does not say which form was
/// used, and both give the same set; this one keeps "drop ALL" rules quiet for a container
/// that effectively did).
fn relative_to(actual: CapSet, defaults: CapSet) -> (Vec<CapEntry>, Vec<CapEntry>) {
    let names =
        |s: CapSet| -> Vec<CapEntry> { s.iter().map(|c| CapEntry::new(&c.name(), None)).collect() };
    let kept = actual.intersect(defaults);
    if kept.len() * 2 < defaults.len() {
        return (names(actual), vec![CapEntry::new("ALL", None)]);
    }
    (
        names(actual.difference(defaults)),
        names(defaults.difference(actual)),
    )
}

/// `no-new-privileges`, `no-new-privileges:true` and `no-new-privileges=true` all turn it on.
fn no_new_privileges(opts: &[String]) -> Option<Setting<bool>> {
    opts.iter().find_map(|o| {
        let (key, value) = match o.split_once([':', '=']) {
            Some((k, v)) => (k, Some(v)),
            None => (o.as_str(), None),
        };
        if key.trim() != "no-new-privileges" {
            return None;
        }
        let on = match value.map(str::trim) {
            None => true,
            Some(v) => v.eq_ignore_ascii_case("true") || v == "1",
        };
        Some(Setting {
            value: on,
            location: None,
        })
    })
}

pub(super) fn parse_ignore_label(v: &str) -> Vec<Suppression> {
    v.split(';')
        .filter_map(|item| {
            let item = item.trim();
            let (rule, reason) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
            // Known ids only, as in files (see `sources::suppress::parse_value`).
            crate::sources::suppress::canonical_rule(rule).map(|rule| Suppression {
                rule: rule.to_string(),
                reason: reason.trim().into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap;
    use bollard::models::{ContainerConfig, ContainerState, HostConfig};
    use std::collections::HashMap;

    fn inspect(add: &[&str], drop: &[&str], privileged: bool) -> ContainerInspectResponse {
        let v = |l: &[&str]| {
            (!l.is_empty()).then(|| l.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        ContainerInspectResponse {
            id: Some("ab".repeat(32)),
            name: Some("/web".into()),
            image: Some("sha256:1234".into()),
            config: Some(ContainerConfig {
                image: Some("nginx:1".into()),
                user: Some("101:101".into()),
                labels: Some(HashMap::from([(
                    IGNORE_LABEL.to_string(),
                    "DC001 needs ping; DC004".to_string(),
                )])),
                ..Default::default()
            }),
            state: Some(ContainerState {
                running: Some(true),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                cap_add: v(add),
                cap_drop: v(drop),
                privileged: Some(privileged),
                security_opt: Some(vec![
                    "label=disable".into(),
                    "no-new-privileges:true".into(),
                ]),
                sysctls: Some(HashMap::from([(
                    "net.ipv4.ping_group_range".to_string(),
                    "0 0".to_string(),
                )])),
                network_mode: Some("host".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn docker_inspect() {
        let w = workload_from_inspect(
            &inspect(&["CAP_SYS_ADMIN"], &["ALL", "CAP_NET_RAW"], false),
            EngineKind::Docker,
            None,
        );
        assert_eq!(w.name, "web");
        assert_eq!(w.image.as_deref(), Some("nginx:1"));
        assert_eq!(w.user.as_deref(), Some("101:101"));
        assert_eq!(w.runtime, Runtime::Docker);
        assert_eq!(w.source, SourceKind::Engine);
        assert_eq!(w.cap_add[0].raw, "SYS_ADMIN");
        assert!(w.drops_all());
        assert_eq!(w.cap_drop[1].raw, "NET_RAW");
        assert_eq!(w.effective(), CapSet::EMPTY.with(Cap::SYS_ADMIN));
        assert_eq!(w.no_new_privileges.as_ref().map(|s| s.value), Some(true));
        assert_eq!(w.sysctl("net.ipv4.ping_group_range"), Some("0 0"));
        assert!(w.host_network);
        assert_eq!(w.running, Some(true));
        assert_eq!(w.suppressions.len(), 2);
        assert_eq!(w.suppressions[0].rule, "DC001");
        assert_eq!(&*w.suppressions[0].reason, "needs ping");
        assert_eq!(w.suppressions[1].rule, "DC004");
    }

    #[test]
    fn podman_from_libpod_and_compat() {
        let bounding = CapSet::podman_default()
            .with(Cap::NET_RAW)
            .with(Cap::SYS_ADMIN)
            .without(Cap::CHOWN);
        let p = PodmanCaps {
            bounding,
            effective: Some(bounding),
        };
        // What Podman 4.3 really answered for --cap-add NET_RAW,SYS_ADMIN --cap-drop CHOWN.
        let i = inspect(&["SYS_ADMIN"], &["AUDIT_WRITE", "CHOWN", "MKNOD"], false);
        let w = workload_from_inspect(&i, EngineKind::Podman, Some(p));
        assert_eq!(w.runtime, Runtime::Podman);
        assert_eq!(w.effective(), bounding);
        let w = workload_from_inspect(&i, EngineKind::Podman, None);
        assert_eq!(w.effective(), bounding);
        let raws: Vec<&str> = w.cap_add.iter().map(|e| e.raw.as_str()).collect();
        assert_eq!(raws, ["NET_RAW", "SYS_ADMIN"]);
        // Podman 4.3 for --cap-drop ALL --cap-add NET_BIND_SERVICE: shown as drop ALL.
        let nbs = CapSet::EMPTY.with(Cap::NET_BIND_SERVICE);
        let p = PodmanCaps {
            bounding: nbs,
            effective: Some(nbs),
        };
        let w = workload_from_inspect(&inspect(&[], &[], false), EngineKind::Podman, Some(p));
        assert!(w.drops_all());
        assert_eq!(w.effective(), nbs);
        let w = workload_from_inspect(&inspect(&[], &[], true), EngineKind::Podman, None);
        assert!(w.privileged.value);
        assert_eq!(w.effective(), CapSet::all_known());
    }

    #[test]
    fn docker_all_semantics_from_inspect() {
        // Measured on Docker 20.10: CapBnd has every capability the engine knows but SYS_RESOURCE.
        let w = workload_from_inspect(
            &inspect(&["ALL"], &["ALL", "CAP_SYS_RESOURCE"], false),
            EngineKind::Docker,
            None,
        );
        let sys_resource = crate::caps::parse_cap("SYS_RESOURCE").unwrap();
        assert_eq!(w.effective(), CapSet::all_known().without(sys_resource));
        let w = workload_from_inspect(
            &inspect(&["ALL"], &["ALL"], false),
            EngineKind::Docker,
            None,
        );
        assert_eq!(w.effective(), CapSet::all_known());
        let w = workload_from_inspect(
            &inspect(&["CAP_NET_RAW"], &["CAP_NET_RAW"], false),
            EngineKind::Docker,
            None,
        );
        assert_eq!(w.effective(), CapSet::docker_default());
    }

    #[test]
    fn security_opts() {
        let s = |v: &[&str]| {
            no_new_privileges(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map(|s| s.value)
        };
        assert_eq!(s(&["no-new-privileges"]), Some(true));
        assert_eq!(s(&["no-new-privileges=true"]), Some(true));
        assert_eq!(s(&["no-new-privileges:false"]), Some(false));
        assert_eq!(s(&["seccomp=unconfined"]), None);
        assert_eq!(s(&[]), None);
    }

    #[test]
    fn non_ascii_cap_name_does_not_panic() {
        assert_eq!(entry("CAPé_X").raw, "CAPé_X");
        assert_eq!(entry("cap_net_raw").raw, "net_raw");
    }

    #[test]
    fn empty_inspect_does_not_panic() {
        let w = workload_from_inspect(
            &ContainerInspectResponse::default(),
            EngineKind::Docker,
            None,
        );
        assert_eq!(w.name, "");
        assert!(w.cap_add.is_empty());
    }
}
