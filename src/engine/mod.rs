//! The live audit: every container of a Docker or Podman engine, read over the Engine API, turned
//! into [`Workload`]s for the shared rule engine.
//!
//! The list endpoint carries no capabilities, so each container is inspected; those inspects run
//! concurrently (bounded, so a 5,000-container host does not open 5,000 sockets). When dropcap
//! runs on the engine's host, running containers also get the real sets of each of their
//! processes from `/proc` and the sysctls their network namespace really has, because the
//! configuration is only what was asked for, not what the kernel enforces.

mod api;
pub mod client;
mod connect;
pub mod context;
pub mod derive;
mod disk;
pub mod export;
mod fetch;
pub mod fleet;
mod host;
pub mod layerdb;
mod libpod;
mod lifecycle;
mod local;
mod map;
pub mod names;
mod progress;
pub(crate) mod raw;
mod resources;
mod swarm;
pub mod tls;

pub use api::ApiError;
pub(crate) use connect::not_a_socket;
pub use connect::{one_line, resolve_host, EngineKind};
pub use map::workload_from_inspect;

use crate::workload::Workload;
use serde::Serialize;
use std::time::Duration;

pub use crate::report::{EngineInfo, InputError};

/// An engine-level error: `path` is the engine address, the message names the container.
fn engine_error(host: &str, message: impl Into<String>) -> InputError {
    InputError {
        path: host.into(),
        line: None,
        column: None,
        message: message.into(),
    }
}

/// How to reach the engine and what to look at.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `unix:///path`, `tcp://host:port`, or a bare socket path; `None` means `DOCKER_HOST`,
    /// then the default socket.
    pub host: Option<String>,
    /// `docker ps --filter` expressions (`label=k=v`, `name=web`, `id=…`), passed to the engine.
    pub filters: Vec<String>,
    /// Inspects in flight at once.
    pub concurrency: usize,
    /// Read `/proc` for running containers when the engine is on this host.
    pub read_processes: bool,
    /// Draw a progress bar on stderr (only ever when stderr is a terminal).
    pub progress: bool,
    /// Per-request timeout, so a hung engine ends the audit instead of hanging it.
    pub timeout: Duration,
    /// Read dockerd's state files instead of inspecting, when the engine is local and they are
    /// readable (root); any container whose files are not understood is inspected as usual.
    pub state_files: bool,
    /// Read each container's image once (by image id) for its file capabilities and setuid
    /// binaries (rules DC020, DC021).
    pub read_images: bool,
    /// TLS for a `tcp://` host (`--tlsverify`, a context's certificates); `None` is plain.
    pub tls: Option<tls::TlsFiles>,
    /// The engine's name in the report (a context's name); `None` names it by its address.
    pub name: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            host: None,
            filters: Vec::new(),
            concurrency: 32,
            read_processes: true,
            progress: true,
            timeout: Duration::from_secs(60),
            state_files: true,
            read_images: true,
            tls: None,
            name: None,
        }
    }
}

/// Everything the live audit learned. Errors never stop the audit: a container whose inspect
/// failed is reported here and the others are still audited.
#[derive(Debug, Clone, Serialize)]
pub struct EngineAudit {
    /// `None` when the engine could not be reached at all.
    pub engine: Option<EngineInfo>,
    pub workloads: Vec<Workload>,
    pub errors: Vec<InputError>,
    /// Things worth telling but not failures, e.g. a container removed while being audited.
    pub notes: Vec<String>,
    /// Containers read from dockerd's state files instead of an inspect.
    pub from_state_files: usize,
}

/// Audits every container (running and stopped) of the engine at `host`.
pub async fn audit_engine(host: Option<&str>, options: &EngineOptions) -> EngineAudit {
    let mut options = options.clone();
    if let Some(h) = host {
        options.host = Some(h.to_string());
    }
    fetch::audit(&options).await
}

/// [`audit_engine`] for callers without a runtime (the CLI is synchronous).
pub fn audit_engine_blocking(host: Option<&str>, options: &EngineOptions) -> EngineAudit {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match rt {
        Ok(rt) => rt.block_on(audit_engine(host, options)),
        Err(e) => {
            let host = resolve_host(host.or(options.host.as_deref()));
            EngineAudit {
                engine: None,
                workloads: Vec::new(),
                errors: vec![engine_error(
                    &host,
                    format!("cannot start the async runtime: {e}"),
                )],
                notes: Vec::new(),
                from_state_files: 0,
            }
        }
    }
}
