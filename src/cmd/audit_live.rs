//! `dropcap audit` with no paths: the containers of the local engine.
//!
//! [`EngineArgs`] is flattened into the audit command's arguments; [`run_engine`] is what it
//! calls when no path is given.

use crate::engine::{audit_engine_blocking, EngineOptions};
use crate::output::{Format, Style};
use crate::report::{self, Report};
use crate::rules::{Policy, Severity};
use crate::Outcome;
use std::io::Write;

#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Engine address: unix:///path, tcp://host:port or a socket path [default: $DOCKER_HOST,
    /// then unix:///var/run/docker.sock]. Podman: its `podman system service` socket.
    #[arg(long, short = 'H', value_name = "HOST", conflicts_with = "paths")]
    pub host: Option<String>,
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
    /// Inspect every container through the API even when dockerd's state files are readable
    /// here (slower; the answers are the same).
    #[arg(long, conflicts_with = "paths")]
    pub api_only: bool,
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
    let options = EngineOptions {
        host: engine.host.clone(),
        filters: engine.filter.clone(),
        concurrency: engine.concurrency,
        read_processes: !engine.no_proc,
        state_files: !engine.api_only,
        timeout: std::time::Duration::from_secs(engine.timeout),
        ..EngineOptions::default()
    };
    let audit = audit_engine_blocking(None, &options);
    for n in &audit.notes {
        writeln!(notes, "dropcap: note: {n}")?;
    }
    let report = Report::build(policy, fail_on, audit.engine, audit.workloads, audit.errors);
    report::write(&report, format, style, out, notes)?;
    Ok(report.outcome())
}
