//! `dropcap audit` with no paths: the containers of the local engine.
//!
//! [`EngineArgs`] is flattened into the audit command's arguments; [`run_engine`] is what it
//! calls when no path is given.

use crate::engine::context::{self, DockerEnv, TlsFlags};
use crate::engine::fleet::audit_fleet_blocking;
use crate::engine::EngineOptions;
use crate::output::{Format, Style};
use crate::report::{self, Report};
use crate::rules::{Policy, Severity};
use crate::Outcome;
use std::io::Write;

#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Engine address: unix:///path, tcp://host:port or a socket path [default: $DOCKER_HOST,
    /// then the current docker context, then unix:///var/run/docker.sock]. Podman: its
    /// `podman system service` socket. Repeatable: the engines are audited at once.
    #[arg(long, short = 'H', value_name = "HOST", conflicts_with = "paths")]
    pub host: Vec<String>,
    /// A docker context (`docker context ls`), read from $DOCKER_CONFIG or ~/.docker with its
    /// TLS material, as the docker CLI does. Repeatable, and combines with --host.
    #[arg(long, value_name = "NAME", conflicts_with = "paths")]
    pub context: Vec<String>,
    /// Use TLS for tcp:// hosts without checking the engine's certificate [env: DOCKER_TLS].
    #[arg(long, conflicts_with = "paths")]
    pub tls: bool,
    /// Use TLS for tcp:// hosts and check the engine's certificate [env: DOCKER_TLS_VERIFY].
    #[arg(long, conflicts_with = "paths")]
    pub tlsverify: bool,
    /// CA the engine's certificate must chain to [default: $DOCKER_CERT_PATH/ca.pem].
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub tlscacert: Option<std::path::PathBuf>,
    /// Client certificate [default: $DOCKER_CERT_PATH/cert.pem].
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub tlscert: Option<std::path::PathBuf>,
    /// Client key [default: $DOCKER_CERT_PATH/key.pem].
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub tlskey: Option<std::path::PathBuf>,
    /// Only containers matching this `docker ps --filter` (label=k=v, name=web, id=…);
    /// repeatable.
    #[arg(long, value_name = "KEY=VALUE", conflicts_with = "paths")]
    pub filter: Vec<String>,
    /// Container inspects in flight at once.
    #[arg(long, value_name = "N", default_value_t = 32, conflicts_with = "paths",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub concurrency: usize,
    /// Give up on an engine request after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, conflicts_with = "paths",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Do not read running containers' processes and sysctls from /proc.
    #[arg(long, conflicts_with = "paths")]
    pub no_proc: bool,
    /// List and inspect every container through the API even when dockerd's state files are
    /// readable here (slower; the answers are the same).
    #[arg(long, conflicts_with = "paths")]
    pub api_only: bool,
    /// Do not read the containers' images (file capabilities and setuid binaries, rules
    /// DC020 and DC021).
    #[arg(long, conflicts_with = "paths")]
    pub no_images: bool,
}

/// Audits the engine and writes the report; notes (a container removed mid-audit) go to
/// `notes`, which is stderr for the CLI.
pub fn run_engine(
    engine: &EngineArgs,
    policy: Policy,
    fail_on: Severity,
    format: Format,
    style: Style,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> std::io::Result<Outcome> {
    let flags = TlsFlags {
        tls: engine.tls,
        verify: engine.tlsverify,
        ca: engine.tlscacert.clone(),
        cert: engine.tlscert.clone(),
        key: engine.tlskey.clone(),
    };
    let (targets, mut errors) = context::resolve(
        &engine.host,
        &engine.context,
        &flags,
        &DockerEnv::from_process(),
    );
    let options = EngineOptions {
        filters: engine.filter.clone(),
        concurrency: engine.concurrency,
        read_processes: !engine.no_proc,
        state_files: !engine.api_only,
        read_images: !engine.no_images,
        timeout: std::time::Duration::from_secs(engine.timeout),
        ..EngineOptions::default()
    };
    let audit = audit_fleet_blocking(&targets, &options);
    for n in &audit.notes {
        writeln!(notes, "dropcap: note: {n}")?;
    }
    errors.extend(audit.errors);
    let first = audit.engines.first().cloned();
    let mut report = Report::build(policy, fail_on, first, audit.workloads, errors);
    report.engines = audit.engines;
    report::write(&report, format, style, out, notes)?;
    Ok(report.outcome())
}
