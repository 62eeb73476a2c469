//! The rule engine shared by the live and the static audit.
//!
//! Rules read only a [`Workload`]; they never know whether it came from a compose file, a
//! Kubernetes manifest or a running container. Each rule has a stable id (never renumbered,
//! so suppressions and SARIF baselines keep working), a default severity, the standards it
//! maps to and the policies that include it. The catalog in [`catalog`] is the single source
//! for README's rule table and SARIF's rule metadata.

mod catalog;
mod check;
pub mod drift;
mod remedy;
mod stack;

pub use catalog::{catalog, rule_info, RuleInfo};

use crate::caps::CapSet;
use crate::workload::{Location, Runtime, ServiceMode, SourceKind, Workload};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
}

/// A documented rule set. Semantics follow each standard exactly (see DESIGN.md): PSS names
/// are exact-match, `drop: [ALL]` covers NET_RAW, a missing capabilities block violates
/// restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// CIS Docker Benchmark v1.6: 5.4 capabilities restricted (was 5.3), 5.5 privileged.
    CisDocker,
    /// Kubernetes Pod Security Standards, baseline profile.
    PssBaseline,
    /// Kubernetes Pod Security Standards, restricted profile.
    PssRestricted,
    /// What a careful reviewer wants: NET_RAW dropped, nothing dangerous added, drop ALL.
    #[default]
    Strict,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::CisDocker => "cis-docker",
            Policy::PssBaseline => "pss-baseline",
            Policy::PssRestricted => "pss-restricted",
            Policy::Strict => "strict",
        }
    }
}

/// The workload a finding is about, as reported (a summary, not the whole model).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WorkloadRef {
    pub name: String,
    pub container: Option<String>,
    pub id: Option<String>,
    pub image: Option<String>,
    pub source: SourceKind,
    pub runtime: Runtime,
    pub location: Option<Location>,
    /// `service` (Swarm) or `container` for a live engine's workloads; `None` for files.
    pub kind: Option<&'static str>,
    /// Swarm: `replicated` or `global`.
    pub mode: Option<ServiceMode>,
    /// Swarm: the desired task count of a replicated service.
    pub replicas: Option<u64>,
    /// Swarm: the service's task containers on this node.
    pub tasks: Option<Vec<String>>,
    /// The engine of a live container (a context's name or the address).
    pub engine: Option<String>,
}

impl WorkloadRef {
    pub fn of(w: &Workload) -> WorkloadRef {
        WorkloadRef {
            name: w.name.clone(),
            container: w.container.clone(),
            id: w.id.clone(),
            image: w.image.clone(),
            source: w.source,
            runtime: w.runtime,
            location: w.location.clone(),
            kind: match (&w.service, w.source) {
                (Some(_), _) => Some("service"),
                (None, SourceKind::Engine) => Some("container"),
                _ => None,
            },
            mode: w.service.as_ref().map(|s| s.mode),
            replicas: w.service.as_ref().and_then(|s| s.replicas),
            tasks: w.service.as_ref().map(|s| s.tasks.clone()),
            engine: w.engine.clone(),
        }
    }

    /// `service replicated 3, 1 task on this node` for a Swarm service.
    pub fn service_summary(&self) -> Option<String> {
        let mode = self.mode?;
        let info = crate::workload::SwarmService {
            mode,
            replicas: self.replicas,
            tasks: self.tasks.clone().unwrap_or_default(),
            from_task: false,
        };
        Some(format!("service {}", info.summary()))
    }

    /// `Deployment/web (nginx)` or `web`.
    pub fn display_name(&self) -> String {
        match &self.container {
            Some(c) => format!("{} ({c})", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub workload: WorkloadRef,
    /// The capabilities the finding is about, canonical names in JSON.
    pub capabilities: CapSet,
    pub message: String,
    pub remediation: String,
    /// The exact entry at fault, or where the missing setting belongs.
    pub location: Option<Location>,
    pub standards: &'static [&'static str],
    /// The reason given in a `dropcap:ignore` comment or annotation; suppressed findings are
    /// reported (and counted) but never fail the run.
    pub suppressed: Option<std::sync::Arc<str>>,
}

/// Every finding of `policy` for one workload, suppressed ones included and marked.
pub fn evaluate(w: &Workload, policy: Policy) -> Vec<Finding> {
    let mut out = check::run_all(w, policy);
    for f in &mut out {
        if let Some(s) = w.is_suppressed(f.rule) {
            f.suppressed = Some(s.reason.clone());
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
    out
}

#[cfg(test)]
mod tests;
