//! `Workload`: the one normalised shape every audit source produces and every rule reads.
//!
//! Sources (compose, Kubernetes, saved inspect JSON, the Docker/Podman engine) never see rules,
//! and rules never know where a workload came from: they read the fields below and the
//! [`Syntax`] to phrase a remediation. That separation is what lets the live audit and the
//! static audit share one rule engine.

mod effective;
mod service;

pub use effective::effective_caps;
pub use service::{deploy_as_stack, ServiceMode, StackIgnored, StackUse, SwarmService, TaskLabels};

use crate::caps::{parse_cap, CapSet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A place in a file, 1-based like editors and SARIF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
}

/// File names need not be UTF-8 and JSON strings must be: serde refuses such a path outright,
/// which cut a `--format json` report short after its first bytes.
pub(crate) fn lossy_path<S: serde::Serializer>(
    path: &std::path::Path,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::output::path_text(path))
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = crate::output::path_text(&self.file);
        write!(f, "{file}:{}:{}", self.line, self.column)
    }
}

/// Where a workload was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Compose,
    Kubernetes,
    /// A saved `docker inspect` JSON file.
    DockerInspect,
    /// A container of a live engine.
    Engine,
}

/// The runtime whose default set applies when nothing is added or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Podman,
    /// containerd's CRI plugin: the same 14 defaults as Docker.
    Containerd,
    Crio,
}

impl Runtime {
    pub fn default_caps(self) -> CapSet {
        match self {
            Runtime::Docker | Runtime::Containerd => CapSet::docker_default(),
            Runtime::Podman => CapSet::podman_default(),
            Runtime::Crio => CapSet::crio_default(),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::Crio => "cri-o",
        }
    }
}

/// Which configuration language a remediation must be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    /// `docker run` flags (and compose keys as an alternative).
    Docker,
    Compose,
    Kubernetes,
    /// A Swarm service: `docker service update` flags (and the stack file's keys).
    Swarm,
}

/// One entry of a `cap_add` / `cap_drop` / `capabilities.add` list, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapEntry {
    pub raw: String,
    /// `ALL` expands to every known capability; `None` when the name is not a capability
    /// (the rules report it; the engine would refuse or ignore it).
    #[serde(skip)]
    pub caps: Option<CapSet>,
    pub is_all: bool,
    pub location: Option<Location>,
    /// Kubernetes only: written with the `CAP_` prefix, which the CRI runtimes treat
    /// differently (see [`cri_prefix_effect`]).
    #[serde(skip)]
    pub cri_prefixed: bool,
}

/// What a CRI runtime does with a `CAP_`-prefixed name in a Kubernetes capability list, from
/// their sources: containerd's CRI plugin writes `"CAP_" + strings.ToUpper(name)` for every
/// entry, so `CAP_NET_RAW` becomes `CAP_CAP_NET_RAW`: dropping it removes nothing, and adding
/// it hands runc a name it ignores with a warning. CRI-O prefixes only names without a `cap_`
/// prefix (any case) and upper-cases them later, so `CAP_NET_RAW` and `cap_net_raw` work.
/// Both upper-case unprefixed names (`net_raw` works) and match `ALL` in any case.
pub fn cri_prefix_effect(runtime: Runtime, adding: bool, cap: &str) -> String {
    match (runtime, adding) {
        (Runtime::Crio, true) => format!("CRI-O adds {cap}"),
        (Runtime::Crio, false) => format!("CRI-O drops {cap}"),
        (_, true) => format!(
            "containerd passes CAP_CAP_{cap}, which runc ignores with a warning: nothing is added"
        ),
        (_, false) => {
            format!("containerd looks for CAP_CAP_{cap}, finds nothing to drop: {cap} stays")
        }
    }
}

impl CapEntry {
    pub fn new(raw: &str, location: Option<Location>) -> CapEntry {
        let t = raw.trim();
        let is_all = t.eq_ignore_ascii_case("all");
        let caps = if is_all {
            Some(CapSet::all_known())
        } else {
            parse_cap(t).ok().map(|c| CapSet::EMPTY.with(c))
        };
        CapEntry {
            raw: raw.to_string(),
            caps,
            is_all,
            location,
            cri_prefixed: false,
        }
    }
}

/// A boolean setting and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub location: Option<Location>,
}

/// The real sets of one process of a running container, read from `/proc` on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessCaps {
    pub pid: u32,
    pub command: String,
    pub uid: u32,
    pub permitted: CapSet,
    pub effective: CapSet,
    pub bounding: CapSet,
    pub ambient: CapSet,
}

/// A `# dropcap:ignore RULE reason` comment or `dropcap.io/ignore` annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// A rule id, or `*` for all rules.
    pub rule: String,
    /// Shared: one comment or annotation suppresses several rules in many workloads.
    pub reason: std::sync::Arc<str>,
}

/// Everything an audit rule may look at.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// Human name: compose service, `Deployment/web` + container, or container name.
    pub name: String,
    /// Container name inside a Kubernetes pod, when the workload is one container of it.
    pub container: Option<String>,
    /// Engine container id (live audit).
    pub id: Option<String>,
    /// The engine it runs on, as the report names it (live audit).
    pub engine: Option<String>,
    pub image: Option<String>,
    pub source: SourceKind,
    pub runtime: Runtime,
    pub syntax: Syntax,
    /// Where the workload itself is declared: the service key, the container list item.
    pub location: Option<Location>,
    /// Where the capability settings belong (the `capabilities:` / `cap_add:` key), if present.
    pub caps_location: Option<Location>,
    /// Kubernetes: the container's `securityContext:` key, where a missing setting belongs.
    pub context_location: Option<Location>,
    pub cap_add: Vec<CapEntry>,
    pub cap_drop: Vec<CapEntry>,
    /// Kubernetes only: whether `securityContext.capabilities` exists at all (PSS restricted
    /// treats a missing block as a violation).
    pub has_caps_block: bool,
    pub privileged: Setting<bool>,
    pub user: Option<String>,
    /// Kubernetes `runAsNonRoot: true` (container or pod): the image's user, never uid 0.
    pub run_as_non_root: bool,
    /// Docker `no-new-privileges` / Kubernetes `allowPrivilegeEscalation: false`.
    pub no_new_privileges: Option<Setting<bool>>,
    pub sysctls: BTreeMap<String, Setting<String>>,
    /// Running container: the engine's `net.ipv4.ping_group_range` etc. as observed, when the
    /// configuration does not say.
    pub observed_sysctls: BTreeMap<String, String>,
    /// Host network namespace: Docker's ping_group_range default does not apply there.
    pub host_network: bool,
    pub running: Option<bool>,
    pub processes: Vec<ProcessCaps>,
    pub suppressions: Vec<Suppression>,
    /// The engine's id of the image (live audit), the key image files are read and cached by.
    #[serde(skip)]
    pub image_id: Option<String>,
    /// The image's file capabilities and setuid/setgid files, when the audit read the image.
    #[serde(skip)]
    pub image_files: Option<std::sync::Arc<crate::image::ImageFiles>>,
    /// A Swarm service (live audit of a manager): mode, replicas, its tasks on this node.
    pub service: Option<SwarmService>,
    /// A container that is a Swarm task: which service it belongs to.
    #[serde(skip)]
    pub task: Option<TaskLabels>,
    /// Compose: the keys a `docker stack deploy` would ignore (rule DC022).
    #[serde(skip)]
    pub stack: StackUse,
}

impl Workload {
    /// A workload with every optional field empty; sources fill in what they know.
    pub fn new(
        name: impl Into<String>,
        source: SourceKind,
        runtime: Runtime,
        syntax: Syntax,
    ) -> Workload {
        Workload {
            name: name.into(),
            container: None,
            id: None,
            engine: None,
            image: None,
            source,
            runtime,
            syntax,
            location: None,
            caps_location: None,
            context_location: None,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            has_caps_block: false,
            privileged: Setting {
                value: false,
                location: None,
            },
            user: None,
            run_as_non_root: false,
            no_new_privileges: None,
            sysctls: BTreeMap::new(),
            observed_sysctls: BTreeMap::new(),
            host_network: false,
            running: None,
            processes: Vec::new(),
            suppressions: Vec::new(),
            image_id: None,
            image_files: None,
            service: None,
            task: None,
            stack: StackUse::default(),
        }
    }

    pub fn added(&self) -> CapSet {
        union(&self.cap_add)
    }
    pub fn dropped(&self) -> CapSet {
        union(&self.cap_drop)
    }
    pub fn adds_all(&self) -> bool {
        self.cap_add.iter().any(|e| e.is_all)
    }
    pub fn drops_all(&self) -> bool {
        self.cap_drop.iter().any(|e| e.is_all)
    }

    /// The bounding set the container will get.
    pub fn effective(&self) -> CapSet {
        effective_caps(
            self.runtime.default_caps(),
            self.added(),
            self.adds_all(),
            // A `CAP_`-prefixed drop is dropped by CRI-O but not by containerd: the worst
            // case counts (an add counts as added, since CRI-O adds it).
            union_named(self.cap_drop.iter().filter(|e| !e.cri_prefixed)),
            self.drops_all(),
            self.privileged.value,
        )
    }

    /// A sysctl as configured, else as observed in the running container.
    pub fn sysctl(&self, key: &str) -> Option<&str> {
        self.sysctls
            .get(key)
            .map(|s| s.value.as_str())
            .or_else(|| self.observed_sysctls.get(key).map(String::as_str))
    }

    /// Does the ICMP datagram ("ping") socket work for the container's main group without
    /// NET_RAW? Docker >= 20.10 sets `0 2147483647` in containers with their own network
    /// namespace; other runtimes leave the kernel's `1 0` (nobody).
    pub fn datagram_ping_allowed(&self) -> bool {
        let range = match self.sysctl("net.ipv4.ping_group_range") {
            Some(r) => r.to_string(),
            None if self.runtime == Runtime::Docker && !self.host_network => {
                "0 2147483647".to_string()
            }
            None => return false,
        };
        let mut it = range.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(lo)), Some(Ok(hi))) = (it.next(), it.next()) else {
            return false;
        };
        let gid = self.primary_gid().unwrap_or(0);
        lo <= gid && gid <= hi
    }

    /// `net.ipv4.ip_unprivileged_port_start` as configured or observed, else Docker's default
    /// (0 since 20.10, in containers with their own network namespace); `None` when unknown.
    pub fn unprivileged_port_start(&self) -> Option<u32> {
        match self.sysctl("net.ipv4.ip_unprivileged_port_start") {
            Some(v) => v.trim().parse().ok(),
            None if self.runtime == Runtime::Docker && !self.host_network => Some(0),
            None => None,
        }
    }

    /// The numeric group the workload runs as, when the configuration says (`uid:gid`, or a
    /// numeric user whose group we assume equal); names cannot be resolved without the image.
    fn primary_gid(&self) -> Option<u64> {
        let user = self.user.as_deref()?;
        match user.split_once(':') {
            Some((_, g)) => g.parse().ok(),
            None => user.parse().ok(),
        }
    }

    /// Who the process runs as when that is known not to be root: `uid 1000` or "a non-root
    /// user" (`runAsNonRoot`). Neither Docker nor the CRI runtimes set ambient capabilities, so
    /// such a process starts with an empty effective set whatever was added.
    pub fn non_root(&self) -> Option<String> {
        let uid = self
            .user
            .as_deref()
            .map(|u| u.split(':').next().unwrap_or("").trim());
        match uid.map(str::parse::<u64>) {
            Some(Ok(0)) => None,
            Some(Ok(n)) => Some(format!("uid {n}")),
            // A name: only the image knows its uid (unless it says root).
            Some(Err(_)) if uid == Some("root") => None,
            _ if self.run_as_non_root => Some("a non-root user (runAsNonRoot)".to_string()),
            _ => None,
        }
    }

    /// Capability entries that are not capabilities at all.
    pub fn invalid_entries(&self) -> impl Iterator<Item = &CapEntry> {
        self.cap_add
            .iter()
            .chain(self.cap_drop.iter())
            .filter(|e| e.caps.is_none())
    }

    pub fn is_suppressed(&self, rule: &str) -> Option<&Suppression> {
        self.suppressions
            .iter()
            .find(|s| s.rule == "*" || s.rule.eq_ignore_ascii_case(rule))
    }
}

/// The capabilities an `ALL`-free reading of the list names; Moby matches `ALL` as a literal
/// next to named entries, so effective-set arithmetic needs the named ones on their own.
fn union_named<'a>(entries: impl Iterator<Item = &'a CapEntry>) -> CapSet {
    entries
        .filter(|e| !e.is_all)
        .filter_map(|e| e.caps)
        .fold(CapSet::EMPTY, CapSet::union)
}

fn union(entries: &[CapEntry]) -> CapSet {
    entries
        .iter()
        .filter_map(|e| e.caps)
        .fold(CapSet::EMPTY, CapSet::union)
}
