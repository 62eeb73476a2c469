//! What one trial container is, engine-independent: the contract between the code that reads
//! a definition (compose service, Kubernetes container, or `--image`/`--cmd` flags) and the
//! runner that creates containers through the Engine API. Everything here is data; the runner
//! decides how each field maps to the engine's `HostConfig`/`Config`.
//!
//! Only the capability sets differ between trials; everything else is the definition, so a
//! trial that passes proves the set for the workload as it is really run.

use serde::{Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

/// Durations in reports are seconds, as definitions write them.
fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// A container as a definition describes it. `Default` is "the image as it is": no override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    pub image: String,
    /// Replaces the image's ENTRYPOINT (compose `entrypoint`, Kubernetes `command`).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's CMD (compose `command`, Kubernetes `args`, `--cmd`).
    pub cmd: Option<Vec<String>>,
    /// `KEY=VALUE`, in definition order (later wins, as with `docker run -e`).
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    /// `name`, `uid`, `uid:gid` (compose `user`, Kubernetes `runAsUser[:runAsGroup]`).
    pub user: Option<String>,
    pub read_only: bool,
    /// Kept out of trials' file systems: see [`Mount`].
    pub mounts: Vec<Mount>,
    /// `KEY=VALUE` namespaced sysctls.
    pub sysctls: Vec<(String, String)>,
    /// `security_opt: [no-new-privileges]`, `allowPrivilegeEscalation: false`.
    pub no_new_privileges: bool,
    /// Other `security_opt` entries (seccomp, apparmor, label), passed through unchanged.
    pub security_opt: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    /// `init: true`: the engine's init as PID 1.
    pub init: bool,
    /// Network mode or name; trials default to `none` unless the definition needs a network
    /// (e.g. `depends_on` services are reached over a private one).
    pub network: String,
    /// Names this container answers to on `network` (compose: the service name).
    pub network_aliases: Vec<String>,
}

/// A mount of a trial container. Nothing the user owns is ever mounted into a trial: bind
/// sources are copies made per trial, named volumes are fresh per trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub target: String,
    pub read_only: bool,
    pub kind: MountKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A host path (already a per-trial scratch copy when the runner sees it).
    Bind { source: PathBuf },
    /// A named volume (already a fresh per-trial volume when the runner sees it).
    Volume { name: String },
    /// compose `tmpfs`, Kubernetes `emptyDir` (`options` as `docker run --tmpfs`: `size=64m`).
    Tmpfs { options: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// A health check taken from the definition: compose `healthcheck`, Kubernetes
/// `startupProbe`/`readinessProbe`/`livenessProbe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub action: ProbeAction,
    /// Between attempts.
    #[serde(serialize_with = "seconds")]
    pub interval: Duration,
    /// One attempt's own limit, so a hung request cannot eat the trial.
    #[serde(serialize_with = "seconds")]
    pub timeout: Duration,
    /// Failed attempts before the probe counts as failed (compose `retries`, Kubernetes
    /// `failureThreshold`).
    pub retries: u32,
    /// Failures in this first period do not count (compose `start_period`, Kubernetes
    /// `initialDelaySeconds`).
    #[serde(serialize_with = "seconds")]
    pub start_period: Duration,
    /// Where it came from, for the report: `healthcheck at compose.yaml:12`,
    /// `readinessProbe at deploy.yaml:40`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeAction {
    /// compose `CMD-SHELL` / a string `test`: `/bin/sh -c` inside the container.
    Shell(String),
    /// compose `CMD`, Kubernetes `exec.command`: argv inside the container, no shell.
    Exec(Vec<String>),
    /// Kubernetes `httpGet` (named ports already resolved to numbers).
    Http {
        https: bool,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
    /// Kubernetes `tcpSocket`.
    Tcp { port: u16 },
    /// Kubernetes `grpc`: grpc.health.v1.Health/Check for `service` ("" = the server).
    Grpc { port: u16, service: String },
}
