//! The profile result: one struct serialised as `--format json` and as the profile file, and
//! rendered as the human report. Field names are stable (documented in docs/profile.md).

use super::check::Check;
use super::runner::Target;
use super::trace::Seen;
use crate::caps::{spell, Cap, CapSet};
use crate::output::Style;
use crate::trace::CheckObject;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "dropcap.profile/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Trace,
    Verify,
    Minimise,
    Confirm,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Trace => "trace",
            Step::Verify => "verify",
            Step::Minimise => "minimise",
            Step::Confirm => "confirm",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialRecord {
    pub number: usize,
    pub step: Step,
    /// The set the trial ran with.
    pub caps: CapSet,
    /// True when no capability flags were given (the engine's own default).
    pub engine_default: bool,
    pub passed: bool,
    pub reason: String,
    pub duration_ms: u64,
    pub traced: bool,
    /// Audited capability checks the tracer saw denied in this trial.
    pub denied: CapSet,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub cap: Cap,
    /// A trial that failed with a superset of (proven minus this capability).
    pub failed_without_trial: Option<usize>,
    /// Audited, granted checks the tracer saw (empty without a tracer).
    pub seen: Vec<Seen>,
    /// Audited checks the tracer saw denied (in trials that lacked it).
    pub denied: Vec<Seen>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub cap: Cap,
    /// True when the tracer had proposed it (it was checked, but the check passed without it).
    pub candidate: bool,
    /// A trial that passed without it.
    pub passed_without_trial: usize,
    pub seen: Vec<Seen>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub docker_run: String,
    pub compose: String,
    pub kubernetes: String,
    pub dockerfile_label: String,
    /// systemd, OCI runtime spec and setcap forms (`systemd`, `oci`, `setcap` keys); root and
    /// no binary until the caller knows better (`dropcap profile` fills them in).
    #[serde(flatten)]
    pub outside: crate::caps::outside::Outside,
    /// The `RUN` label of the convention `atomic run` reads: the command that runs the image
    /// with the proven set. `\${IMAGE}` is escaped so the Dockerfile keeps it for the tool.
    pub dockerfile_run_label: String,
}

impl Recommendation {
    pub fn for_set(proven: CapSet) -> Recommendation {
        let add = if proven.is_empty() {
            String::new()
        } else {
            spell::list(proven, spell::Spelling::Canonical)
        };
        Recommendation {
            docker_run: spell::docker_flags(proven),
            compose: spell::compose_keys(proven, 4),
            kubernetes: spell::k8s_security_context(proven, 0),
            dockerfile_label: format!(
                "LABEL io.dropcap.cap-drop=\"ALL\" io.dropcap.cap-add=\"{add}\""
            ),
            outside: crate::caps::outside::Outside::new(
                proven,
                &crate::caps::outside::RunAs::Root,
                None,
            ),
            dockerfile_run_label: format!(
                "LABEL RUN=\"docker run -d {} \\${{IMAGE}}\"",
                spell::docker_flags(proven)
            ),
        }
    }
}

/// The compose service or Kubernetes container a profile was made from, so `dropcap fix
/// --profile` can write the proven set into exactly that definition. `null` while profiles
/// are made only from `--image` / a command; a profile made from a definition fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Definition {
    /// The compose file or manifest, as given on the command line.
    pub file: std::path::PathBuf,
    /// Compose: the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Kubernetes: the object's kind and name, and the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Line of the service's key or the container's entry in `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub target: Target,
    /// Which definition the profile was made from (see [`Definition`]).
    pub definition: Option<Definition>,
    pub check: Check,
    /// `null` when no tracer was available (candidates were the whole default set).
    pub tracer: Option<String>,
    pub default_name: String,
    pub default_set: CapSet,
    /// What the trace of trial 1 proposed (audited checks; empty without a tracer).
    pub observed: CapSet,
    /// What verification started minimising from (observed, plus anything added when a
    /// verification failed).
    pub candidates: CapSet,
    /// Capabilities the tracer saw only in noaudit probes (e.g. SYS_ADMIN from
    /// vm_enough_memory): never candidates.
    pub noaudit_only: CapSet,
    /// The minimal set that passed a real trial.
    pub proven: CapSet,
    pub proven_mask: String,
    pub proven_by_trial: usize,
    /// Why each proven capability is kept.
    pub evidence: Vec<Kept>,
    /// Every default or candidate capability left out, with the trial that passed without it.
    pub removed: Vec<Removed>,
    pub trials: Vec<TrialRecord>,
    pub trial_count: usize,
    /// What dropping one capability at a time from the default set would cost.
    pub one_by_one_trials: usize,
    pub elapsed_ms: u64,
    /// Sysctls read inside a trial's network namespace.
    pub sysctls: BTreeMap<String, String>,
    pub notes: Vec<String>,
    pub recommendation: Recommendation,
}

/// What to say when a workload that runs as a non-root `user` needs `caps`. Docker and
/// containerd set no ambient capabilities, so `cap_add` only widens the bounding set: a
/// non-root process gets a capability only through a file capability or a setuid-root binary.
/// `passed`: a trial passed with them (so they came that way); otherwise they were denied and
/// no set made the check pass.
pub fn non_root_advice(user: &str, caps: CapSet, passed: bool) -> String {
    let list: Vec<String> = caps.iter().map(|c| c.name()).collect();
    let add = list.join(", ");
    let head = if passed {
        format!(
            "the workload runs as user '{user}', not root: Docker and containerd give a non-root \
             process no ambient capabilities, so cap_add gives this user nothing by itself; {caps} \
             reached it here only through a file capability or a setuid-root binary of the image, \
             and adding them will not work for any other program this user runs"
        )
    } else {
        format!(
            "the workload runs as user '{user}', not root, and was denied {caps}: adding {caps} \
             will not work for that user (Docker and containerd give a non-root process no \
             ambient capabilities; cap_add only widens the bounding set)"
        )
    };
    let setcap: Vec<String> = caps
        .iter()
        .map(|c| format!("cap_{}", c.name().to_ascii_lowercase()))
        .collect();
    let mut alternatives = vec![
        format!("run as root with only that set (user: root, cap_drop: [ALL], cap_add: [{add}])"),
        format!(
            "a file capability on the binary in the image (`setcap {}+ep /path/to/binary`)",
            setcap.join(",")
        ),
    ];
    if caps.contains(Cap::NET_BIND_SERVICE) {
        alternatives.push(
            "for ports below 1024, the sysctl net.ipv4.ip_unprivileged_port_start set to the \
             lowest port it binds, which needs no capability at all"
                .to_string(),
        );
    }
    format!("{head}. Alternatives: {}", alternatives.join("; "))
}

/// Explains capabilities that a sysctl made unnecessary here but that another engine or
/// network mode would need.
pub fn sysctl_notes(
    sysctls: &BTreeMap<String, String>,
    check: &Check,
    listening: &[u16],
    proven: CapSet,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(v) = sysctls.get("net.ipv4.ip_unprivileged_port_start") {
        let start: u32 = v.parse().unwrap_or(1024);
        if !proven.contains(Cap::NET_BIND_SERVICE) {
            let mut low: Vec<u16> = listening.to_vec();
            if let Some(port) = check.port() {
                if port < 1024 && !low.contains(&port) {
                    low.push(port);
                }
            }
            low.sort_unstable();
            let ports: Vec<String> = low.iter().map(u16::to_string).collect();
            if start == 0 && !low.is_empty() {
                notes.push(format!(
                    "NET_BIND_SERVICE is not needed here although the workload binds port {}: \
                     the engine sets net.ipv4.ip_unprivileged_port_start=0 in the container's \
                     network namespace, so any user may bind ports below 1024. Add \
                     NET_BIND_SERVICE where that sysctl is not 0 (--network host, Podman, \
                     Kubernetes without the sysctl)",
                    ports.join(", ")
                ));
            }
        }
    }
    if proven.contains(Cap::NET_RAW)
        && sysctls
            .get("net.ipv4.ping_group_range")
            .is_some_and(|v| v.split_whitespace().nth(1).is_some_and(|hi| hi != "0"))
    {
        notes.push(
            "NET_RAW is needed even though net.ipv4.ping_group_range allows unprivileged \
             ICMP sockets here: the workload opens raw sockets (busybox ping does); a ping \
             that uses ICMP datagram sockets would need nothing"
                .to_string(),
        );
    }
    notes
}

fn secs(ms: u64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

fn seen_text(seen: &[Seen]) -> String {
    seen.iter()
        .take(3)
        .map(|s| {
            let object = match &s.object {
                CheckObject::Syscall { .. } => String::new(),
                o => format!(" {o}"),
            };
            match &s.syscall {
                Some(sc) => format!("{} {sc}{object} ×{}", s.process, s.count),
                None => format!("{}{object} ×{}", s.process, s.count),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn target_line(t: &Target) -> String {
    match t {
        Target::Image {
            image,
            argv,
            user,
            network,
            engine,
            ..
        } => format!(
            "image {image}: {}{} (network {network}, {engine})",
            argv.join(" "),
            user.as_ref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default()
        ),
        Target::Command { argv, user } => format!(
            "command: {}{}",
            argv.join(" "),
            user.as_ref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default()
        ),
    }
}

/// One line per trial, as shown live and in the report.
pub fn trial_line(t: &TrialRecord, style: Style) -> String {
    let set = if t.engine_default {
        "(default set)".to_string()
    } else {
        spell::compact(t.caps)
    };
    let verdict = if t.passed {
        style.paint("32", "passed")
    } else {
        style.paint("31", "failed")
    };
    let mut line = format!(
        "  #{:<3} {:<9} {verdict}  {:>6}  {:<24} {}",
        t.number,
        t.step.name(),
        secs(t.duration_ms),
        set,
        t.reason
    );
    // Denials in a passing trial were tolerated by the workload (e.g. checks made after it
    // dropped to an unprivileged user): in JSON, not worth a table cell.
    if !t.passed && !t.denied.is_empty() {
        line.push_str(&format!("  [denied: {}]", t.denied));
    }
    line
}

/// `compose.yaml:12 (service web)`, `deploy.yaml:40 (Deployment/web, container nginx)`.
pub fn definition_line(d: &Definition) -> String {
    let at = match d.line {
        Some(l) => format!("{}:{l}", crate::output::path_text(&d.file)),
        None => crate::output::path_text(&d.file).to_string(),
    };
    match (&d.service, &d.kind, &d.name, &d.container) {
        (Some(svc), ..) => format!("{at} (service {svc})"),
        (None, Some(k), Some(n), Some(c)) => format!("{at} ({k}/{n}, container {c})"),
        _ => at,
    }
}

pub fn render(r: &Report, style: Style) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} {}\n",
        style.bold("dropcap profile:"),
        target_line(&r.target)
    ));
    if let Some(d) = &r.definition {
        s.push_str(&format!("definition: {}\n", definition_line(d)));
    }
    s.push_str(&format!(
        "check: {}; tracer: {}\n\n",
        r.check.describe(),
        r.tracer.as_deref().unwrap_or("none")
    ));
    let steps = [
        (
            Step::Trace,
            format!(
                "1. trace a run with the default set ({}, {} caps)",
                r.default_name,
                r.default_set.len()
            ),
        ),
        (
            Step::Verify,
            "2. verify the candidates with --cap-drop ALL --cap-add <candidates>".to_string(),
        ),
        (
            Step::Minimise,
            if r.tracer.is_some() {
                "3. minimise by trial (one removal per traced capability, splitting for the rest)"
            } else {
                "3. minimise by trial (binary splitting)"
            }
            .to_string(),
        ),
        (Step::Confirm, "   confirm the minimised set".to_string()),
    ];
    for (step, title) in steps {
        let rows: Vec<&TrialRecord> = r.trials.iter().filter(|t| t.step == step).collect();
        if rows.is_empty() && step == Step::Confirm {
            continue;
        }
        s.push_str(&style.bold(&title));
        s.push('\n');
        for t in &rows {
            s.push_str(&trial_line(t, style));
            s.push('\n');
        }
        if rows.is_empty() {
            s.push_str("  (no trial needed: nothing left to remove)\n");
        }
        if step == Step::Trace {
            if r.tracer.is_some() {
                s.push_str(&format!("  candidates (audited checks): {}\n", r.observed));
                for k in r.evidence.iter().filter(|k| !k.seen.is_empty()) {
                    s.push_str(&format!(
                        "    {:<18} {}\n",
                        k.cap.name(),
                        seen_text(&k.seen)
                    ));
                }
                for k in r.removed.iter().filter(|k| !k.seen.is_empty()) {
                    s.push_str(&format!(
                        "    {:<18} {}\n",
                        k.cap.name(),
                        seen_text(&k.seen)
                    ));
                }
            } else {
                s.push_str(&format!("  candidates (no tracer): {}\n", r.candidates));
            }
        }
        // A kept capability never seen granted came from a denial: show it under the step
        // whose failed trial revealed it, not as if the first trace had seen it.
        for k in r
            .evidence
            .iter()
            .filter(|k| k.seen.is_empty() && !k.denied.is_empty())
        {
            let first = r.trials.iter().find(|t| t.denied.contains(k.cap));
            if first.is_some_and(|t| t.step == step) {
                s.push_str(&format!(
                    "    {:<18} denied: {}\n",
                    k.cap.name(),
                    seen_text(&k.denied)
                ));
            }
        }
    }
    s.push('\n');
    s.push_str(&format!(
        "{} {}   {}\n",
        style.bold("4. proven minimal set:"),
        style.bold(&if r.proven.is_empty() {
            "none (drop ALL)".to_string()
        } else {
            spell::list(r.proven, spell::Spelling::Canonical)
        }),
        style.dim(&format!(
            "(passed trial #{}; {} trials in {}; one-by-one from the default set: {} trials)",
            r.proven_by_trial,
            r.trial_count,
            secs(r.elapsed_ms),
            r.one_by_one_trials
        ))
    ));
    for k in &r.evidence {
        let why = match k.failed_without_trial {
            Some(n) => format!("check failed without it (trial #{n})"),
            None => "part of the verified set".to_string(),
        };
        let seen = if !k.seen.is_empty() {
            format!("; seen: {}", seen_text(&k.seen))
        } else if !k.denied.is_empty() {
            format!("; denied without it: {}", seen_text(&k.denied))
        } else {
            String::new()
        };
        s.push_str(&format!("  kept     {:<18} {why}{seen}\n", k.cap.name()));
    }
    let (cands, others): (Vec<&Removed>, Vec<&Removed>) =
        r.removed.iter().partition(|k| !k.seen.is_empty());
    for k in cands {
        s.push_str(&format!(
            "  removed  {:<18} check passed without it (trial #{}) although it was checked: {}\n",
            k.cap.name(),
            k.passed_without_trial,
            seen_text(&k.seen)
        ));
    }
    if !others.is_empty() {
        let set: CapSet = others.iter().map(|k| k.cap).collect();
        let trials: std::collections::BTreeSet<usize> =
            others.iter().map(|k| k.passed_without_trial).collect();
        let trials: Vec<String> = trials.iter().map(|n| format!("#{n}")).collect();
        s.push_str(&format!(
            "  removed  {}: check passed without them (trial {})\n",
            spell::compact(set),
            trials.join(", ")
        ));
    }
    for n in &r.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s.push('\n');
    s.push_str(&format!(
        "{}  {}\n",
        style.bold("docker run:"),
        r.recommendation.docker_run
    ));
    s.push_str(&format!(
        "{}\n{}",
        style.bold("compose (service):"),
        r.recommendation.compose
    ));
    s.push_str(&format!(
        "{}\n{}",
        style.bold("kubernetes (container):"),
        r.recommendation.kubernetes
    ));
    s.push_str(&format!(
        "{}  {}\n             {}\n",
        style.bold("Dockerfile:"),
        r.recommendation.dockerfile_label,
        r.recommendation.dockerfile_run_label
    ));
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_root_advice_names_the_user_and_the_alternatives() {
        let caps = CapSet::EMPTY.with(Cap::NET_BIND_SERVICE);
        let a = non_root_advice("1000:1000", caps, false);
        assert!(a.starts_with("the workload runs as user '1000:1000', not root, and was denied NET_BIND_SERVICE: adding NET_BIND_SERVICE will not work for that user"), "{a}");
        assert!(a.contains("cap_add: [NET_BIND_SERVICE]"), "{a}");
        assert!(a.contains("setcap cap_net_bind_service+ep"), "{a}");
        assert!(a.contains("net.ipv4.ip_unprivileged_port_start"), "{a}");
        let b = non_root_advice("app", CapSet::EMPTY.with(Cap::NET_RAW), true);
        assert!(
            b.contains("through a file capability or a setuid-root binary"),
            "{b}"
        );
        assert!(!b.contains("ip_unprivileged_port_start"), "{b}");
        assert!(!b.contains('\n'));
    }

    use super::*;

    #[test]
    fn label_and_flags_for_empty_and_one() {
        let r = Recommendation::for_set(CapSet::EMPTY);
        assert_eq!(r.docker_run, "--cap-drop=ALL");
        assert_eq!(
            r.dockerfile_label,
            "LABEL io.dropcap.cap-drop=\"ALL\" io.dropcap.cap-add=\"\""
        );
        let r = Recommendation::for_set(CapSet::EMPTY.with(Cap::NET_RAW));
        assert_eq!(r.docker_run, "--cap-drop=ALL --cap-add=NET_RAW");
        assert!(r.dockerfile_label.ends_with("cap-add=\"NET_RAW\""));
        assert_eq!(
            r.dockerfile_run_label,
            r#"LABEL RUN="docker run -d --cap-drop=ALL --cap-add=NET_RAW \${IMAGE}""#
        );
    }

    #[test]
    fn unprivileged_port_note_only_when_zero() {
        let http = Check::Http {
            port: 80,
            path: "/".into(),
        };
        let mut m = BTreeMap::new();
        m.insert(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "0".to_string(),
        );
        let n = sysctl_notes(&m, &http, &[], CapSet::EMPTY);
        assert_eq!(n.len(), 1);
        assert!(n[0].contains("port 80"));
        let n = sysctl_notes(&m, &Check::ExitZero, &[443, 80], CapSet::EMPTY);
        assert!(n[0].contains("port 80, 443"), "{n:?}");
        assert!(sysctl_notes(&m, &Check::ExitZero, &[], CapSet::EMPTY).is_empty());
        m.insert(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "1024".to_string(),
        );
        assert!(sysctl_notes(&m, &http, &[], CapSet::EMPTY).is_empty());
    }
}
