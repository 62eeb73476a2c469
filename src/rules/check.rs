//! The checks behind each rule id in the catalog.

use super::remedy;
use super::{rule_info, Finding, Policy, Severity, WorkloadRef};
use crate::caps::{parse_cap, Cap, CapSet, Risk};
use crate::workload::{CapEntry, Location, Runtime, Syntax, Workload};

/// PSS compares strings exactly: in a Kubernetes manifest `CAP_CHOWN` or `chown` is not on the
/// allow-list. Elsewhere the spelling is the engine's business (Docker's API itself reports
/// `CAP_CHOWN`), so the capability is compared, not the text.
fn pss_allowed(w: &Workload, raw: &str, allowed: CapSet) -> bool {
    if w.syntax == Syntax::Kubernetes {
        allowed.iter().any(|c| c.name() == raw)
    } else {
        parse_cap(raw).is_ok_and(|c| allowed.contains(c))
    }
}

struct Sink<'a> {
    w: &'a Workload,
    wref: WorkloadRef,
    policy: Policy,
    out: Vec<Finding>,
}

impl Sink<'_> {
    fn emit(
        &mut self,
        id: &'static str,
        severity: Option<Severity>,
        caps: CapSet,
        message: String,
        remediation: String,
        location: Option<Location>,
    ) {
        let info = rule_info(id);
        if !info.in_policy(self.policy) {
            return;
        }
        self.out.push(Finding {
            rule: info.id,
            title: info.title,
            severity: severity.unwrap_or(info.severity),
            workload: self.wref.clone(),
            capabilities: caps,
            message,
            remediation: remedy::for_engine(self.w, remediation),
            location: location.or_else(|| self.w.location.clone()),
            standards: info.standards,
            suppressed: None,
        });
    }
}

fn entry_caps(e: &CapEntry) -> CapSet {
    e.caps.unwrap_or(CapSet::EMPTY)
}

pub fn run_all(w: &Workload, policy: Policy) -> Vec<Finding> {
    let mut s = Sink {
        w,
        wref: WorkloadRef::of(w),
        policy,
        out: Vec::new(),
    };
    let caps_loc = w.caps_location.clone().or_else(|| w.location.clone());
    let effective = w.effective();

    // DC001: not a capability at all.
    for e in w.invalid_entries() {
        let (message, remediation) = match parse_cap(&e.raw) {
            Err(crate::caps::CapParseError::UnknownName {
                suggestion: Some(to),
                ..
            }) => (
                format!("'{}' is not a capability (did you mean {to}?)", e.raw),
                remedy::rename(w, &e.raw, to),
            ),
            Err(err) => (
                format!("'{}' is not a capability: {err}", e.raw),
                remedy::remove_add(w, &e.raw),
            ),
            Ok(_) => continue,
        };
        s.emit(
            "DC001",
            None,
            CapSet::EMPTY,
            message,
            remediation,
            e.location.clone(),
        );
    }

    // DC015: `CAP_` in a Kubernetes list means different things to containerd and CRI-O.
    for (e, adding) in w
        .cap_add
        .iter()
        .map(|e| (e, true))
        .chain(w.cap_drop.iter().map(|e| (e, false)))
        .filter(|(e, _)| e.cri_prefixed)
    {
        let Some(cap) = e.caps.and_then(|c| c.iter().next()) else {
            continue;
        };
        let list = if adding { "add" } else { "drop" };
        let stance = if adding {
            "dropcap counts it as added"
        } else {
            "dropcap counts it as kept"
        };
        s.emit(
            "DC015",
            None,
            CapSet::EMPTY.with(cap),
            format!(
                "{list} '{}': {}; {}; {stance}",
                e.raw.trim(),
                crate::workload::cri_prefix_effect(Runtime::Containerd, adding, &cap.name()),
                crate::workload::cri_prefix_effect(Runtime::Crio, adding, &cap.name()),
            ),
            remedy::rename(w, e.raw.trim(), &cap.name()),
            e.location.clone(),
        );
    }

    // DC002: privileged makes every other capability rule moot.
    if w.privileged.value {
        // Named even though privileged covers them: a reader (and checkov) should see that
        // SYS_MODULE was asked for, which matters once `privileged` is removed.
        let added: Vec<String> = w
            .cap_add
            .iter()
            .filter(|e| e.caps.is_some())
            .map(|e| e.raw.trim().to_string())
            .collect();
        let also = if added.is_empty() {
            String::new()
        } else {
            format!(
                "; also adds {} (covered by privileged, kept if privileged is removed)",
                added.join(", ")
            )
        };
        s.emit(
            "DC002",
            None,
            CapSet::all_known(),
            format!(
                "runs privileged: every capability, all host devices, no seccomp or AppArmor{also}"
            ),
            remedy::unprivileged(w),
            w.privileged.location.clone(),
        );
        s.out.extend(super::stack::findings(w, s.policy));
        return s.out;
    }

    let default = w.runtime.default_caps();
    for e in &w.cap_add {
        let caps = entry_caps(e);
        if caps.is_empty() {
            continue;
        }
        // DC003 / DC004: added powers.
        let dangerous = caps.intersect(CapSet::dangerous());
        if e.is_all {
            s.emit(
                "DC003",
                None,
                CapSet::all_known(),
                format!(
                    "adds ALL capabilities, including {}: almost the same as privileged",
                    dangerous
                ),
                remedy::remove_add(w, &e.raw),
                e.location.clone(),
            );
        } else if !dangerous.is_empty() {
            let c = dangerous.iter().next().unwrap_or(Cap::SYS_ADMIN);
            let why = c.info().map_or("", |i| i.risk_reason);
            s.emit(
                "DC003",
                None,
                dangerous,
                format!("adds {c}: {why}"),
                remedy::remove_add(w, &e.raw),
                e.location.clone(),
            );
        } else {
            let extra = caps.difference(default);
            if let Some(c) = extra.iter().next() {
                let severity = (c.risk() >= Risk::High).then_some(Severity::High);
                let summary = c.info().map_or("", |i| i.summary);
                s.emit(
                    "DC004",
                    severity,
                    extra,
                    format!(
                        "adds {c}, outside the {} default set ({})",
                        w.runtime.as_str(),
                        summary.trim_end_matches('.')
                    ),
                    remedy::remove_add(w, &e.raw),
                    e.location.clone(),
                );
            }
        }
        // DC005 / DC006: Pod Security Standards allow-lists, by exact spelling.
        let raw = e.raw.trim();
        let spelled = |allowed: CapSet, label: &str| {
            let hint = match parse_cap(raw) {
                Ok(c) if allowed.contains(c) && c.name() != raw => {
                    format!(" (PSS compares names exactly: write {c})")
                }
                _ => String::new(),
            };
            format!("'{raw}' is not allowed by {label}{hint}")
        };
        if !pss_allowed(w, raw, CapSet::pss_baseline()) {
            let rem = match parse_cap(raw) {
                Ok(c) if CapSet::pss_baseline().contains(c) => remedy::rename(w, raw, &c.name()),
                _ => remedy::remove_add(w, raw),
            };
            s.emit(
                "DC005",
                None,
                caps,
                spelled(CapSet::pss_baseline(), "the PSS baseline profile"),
                rem,
                e.location.clone(),
            );
        }
        let nbs = CapSet::EMPTY.with(Cap::NET_BIND_SERVICE);
        if !pss_allowed(w, raw, nbs) {
            s.emit(
                "DC006",
                None,
                caps,
                spelled(nbs, "the PSS restricted profile (only NET_BIND_SERVICE)"),
                remedy::remove_add(w, raw),
                e.location.clone(),
            );
        }
    }

    // DC016: an add that a non-root process never gets in its effective set.
    if let Some(who) = w.non_root() {
        let nnp = w.no_new_privileges.as_ref().is_some_and(|s| s.value);
        for e in w.cap_add.iter().filter(|e| !e.is_all) {
            let Some(cap) = e.caps.and_then(|c| c.iter().next()) else {
                continue;
            };
            // A running container says what really happened: a process that holds it (a
            // file capability, an image that switches users itself) makes the add effective.
            if w.processes.iter().any(|p| p.effective.contains(cap)) {
                continue;
            }
            let seen = if w.processes.is_empty() {
                String::new()
            } else {
                format!(
                    " (confirmed: none of its {} processes has it in CapEff)",
                    w.processes.len()
                )
            };
            let ways = if nnp {
                "no-new-privileges also stops file capabilities, so nothing in it can use it"
                    .to_string()
            } else {
                format!(
                    "only a binary with the file capability (setcap cap_{}+ep) can use it",
                    cap.name().to_ascii_lowercase()
                )
            };
            let port = if cap == Cap::NET_BIND_SERVICE {
                "; for ports below 1024 set net.ipv4.ip_unprivileged_port_start=0 instead"
            } else {
                ""
            };
            s.emit(
                "DC016",
                None,
                CapSet::EMPTY.with(cap),
                format!(
                    "adds {cap}, but the container runs as {who}: it is not effective{seen}; {ways}{port}"
                ),
                if nnp {
                    remedy::remove_add(w, e.raw.trim())
                } else {
                    format!(
                        "{} (or run as root with it as the only capability, or give the binary the file capability)",
                        remedy::remove_add(w, e.raw.trim())
                    )
                },
                e.location.clone(),
            );
        }
    }

    // DC007 / DC008: drop ALL.
    let has_literal_all = w.cap_drop.iter().any(|e| e.raw.trim() == "ALL");
    let drops_all = if s.policy == Policy::PssRestricted {
        has_literal_all
    } else {
        w.drops_all()
    };
    if w.syntax == Syntax::Kubernetes && !w.has_caps_block {
        s.emit(
            "DC008",
            None,
            effective,
            format!(
                "no securityContext.capabilities: runs with the runtime default set ({})",
                effective.len()
            ),
            remedy::drop_all(w),
            w.location.clone(),
        );
    } else if !drops_all {
        let message = if w.drops_all() {
            "drops \"all\", but PSS restricted requires the exact value ALL".to_string()
        } else {
            format!(
                "does not drop ALL: keeps {} capabilities ({})",
                effective.len(),
                effective
            )
        };
        s.emit(
            "DC007",
            None,
            effective,
            message,
            remedy::drop_all(w),
            caps_loc.clone(),
        );
    }

    // DC009 / DC010: NET_RAW.
    if effective.contains(Cap::NET_RAW) {
        let nr = CapSet::EMPTY.with(Cap::NET_RAW);
        let explicit = w
            .cap_add
            .iter()
            .find(|e| !e.is_all && entry_caps(e).contains(Cap::NET_RAW));
        let (message, remediation, location) = match explicit {
            Some(e) => (
                "adds NET_RAW: a compromised container can forge packets and spoof ARP/DNS".to_string(),
                remedy::remove_add(w, &e.raw),
                e.location.clone(),
            ),
            None if w.adds_all() => {
                let e = w.cap_add.iter().find(|e| e.is_all);
                (
                    "keeps NET_RAW through cap_add ALL: a compromised container can forge packets"
                        .to_string(),
                    remedy::remove_add(w, e.map_or("ALL", |e| e.raw.as_str())),
                    e.and_then(|e| e.location.clone()),
                )
            }
            None => (
                format!(
                    "keeps NET_RAW from the {} default set: a compromised container can forge packets",
                    w.runtime.as_str()
                ),
                remedy::drop_caps(w, nr),
                caps_loc.clone(),
            ),
        };
        s.emit(
            "DC009",
            None,
            nr,
            message,
            remediation.clone(),
            location.clone(),
        );
        if w.datagram_ping_allowed() {
            let range = w
                .sysctl("net.ipv4.ping_group_range")
                .unwrap_or("0 2147483647 (Docker's default since 20.10)");
            s.emit(
                "DC010",
                None,
                nr,
                format!(
                    "keeps NET_RAW although net.ipv4.ping_group_range = {range} already lets ping use ICMP datagram sockets"
                ),
                remediation,
                location,
            );
        }
    }

    // DC013: NET_BIND_SERVICE added on purpose where every port is already unprivileged.
    if effective.contains(Cap::NET_BIND_SERVICE) && w.unprivileged_port_start() == Some(0) {
        if let Some(e) = w
            .cap_add
            .iter()
            .find(|e| !e.is_all && entry_caps(e).contains(Cap::NET_BIND_SERVICE))
        {
            s.emit(
                "DC013",
                None,
                CapSet::EMPTY.with(Cap::NET_BIND_SERVICE),
                "adds NET_BIND_SERVICE although net.ipv4.ip_unprivileged_port_start = 0 lets any process bind ports below 1024".into(),
                remedy::remove_add(w, &e.raw),
                e.location.clone(),
            );
        }
    }

    // DC014: PSS restricted asks for allowPrivilegeEscalation: false everywhere, even where
    // nothing is left to regain (DC011's reason to stay quiet does not apply to a standard).
    let nnp_setting = w.no_new_privileges.as_ref();
    if !nnp_setting.is_some_and(|s| s.value) {
        let set_true = nnp_setting.is_some();
        let message = match (w.syntax, set_true) {
            (Syntax::Kubernetes, true) => "allowPrivilegeEscalation is true; PSS restricted requires false on every container".to_string(),
            (Syntax::Kubernetes, false) => "allowPrivilegeEscalation is not set (unset means true); PSS restricted requires false on every container".to_string(),
            (_, true) => "no-new-privileges is false; PSS restricted's equivalent requires no-new-privileges:true".to_string(),
            (_, false) => "no-new-privileges is not set; PSS restricted's equivalent requires no-new-privileges:true".to_string(),
        };
        s.emit(
            "DC014",
            None,
            effective,
            message,
            remedy::no_new_privileges(w),
            nnp_setting
                .and_then(|s| s.location.clone())
                .or_else(|| w.context_location.clone())
                .or_else(|| w.location.clone()),
        );
    }

    // DC011: setuid binaries could regain what the bounding set still holds.
    let nnp = w.no_new_privileges.as_ref().is_some_and(|s| s.value);
    if !nnp && !effective.is_empty() {
        s.emit(
            "DC011",
            None,
            effective,
            "privilege escalation is allowed: setuid and file-capability binaries can regain the bounding set".into(),
            remedy::no_new_privileges(w),
            w.no_new_privileges
                .as_ref()
                .and_then(|s| s.location.clone())
                .or(caps_loc),
        );
    }

    image_rules(&mut s, effective, nnp);

    // DC012: live processes that do not match the configuration, grouped by difference.
    s.out.extend(super::drift::findings(w, s.policy));
    s.out.extend(super::stack::findings(w, s.policy));
    s.out
}

/// DC020 / DC021: what the image's files do under this bounding set.
fn image_rules(s: &mut Sink<'_>, bounding: CapSet, nnp: bool) {
    let Some(files) = s.w.image_files.clone() else {
        return;
    };
    let image = s.w.image.clone().unwrap_or_else(|| files.image.clone());
    let mut setuid = Vec::new();
    let mut regained = CapSet::EMPTY;
    for v in crate::image::analyse(&files, bounding, nnp) {
        match v.kind {
            crate::image::VerdictKind::ExecFails => s.emit(
                "DC020",
                None,
                v.capabilities,
                format!("{} of image {image}: {}", v.path, v.message),
                format!(
                    "keep {} in the container's capabilities, or {}",
                    v.capabilities,
                    crate::image::analysis::remove_file_cap(&v.path, v.capabilities)
                ),
                None,
            ),
            crate::image::VerdictKind::SetuidRoot => {
                setuid.push(v.path);
                regained = regained.union(v.capabilities);
            }
            crate::image::VerdictKind::NotGranted => {}
        }
    }
    if !setuid.is_empty() {
        let shown: Vec<&str> = setuid.iter().take(6).map(String::as_str).collect();
        let more = setuid.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let remediation = remedy::no_new_privileges(s.w);
        let location =
            s.w.no_new_privileges
                .as_ref()
                .and_then(|n| n.location.clone());
        s.emit(
            "DC021",
            None,
            regained,
            format!(
                "image {image} has {} setuid-root binaries ({}{more}): without no-new-privileges any user who runs one regains the bounding set ({})",
                setuid.len(),
                shown.join(", "),
                crate::caps::spell::compact(regained)
            ),
            remediation,
            location,
        );
    }
}
