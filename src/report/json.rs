//! The JSON report (schema version 1, documented in README).

use super::{EngineInfo, InputError, Report, Summary};
use crate::rules::{Finding, Policy, Severity};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct JsonReport<'a> {
    /// Bumped only for incompatible changes; fields may be added within a version.
    schema_version: u32,
    tool: &'static str,
    tool_version: &'static str,
    policy: Policy,
    fail_on: Severity,
    engine: Option<&'a EngineInfo>,
    /// Every engine of a live audit (several with repeated `--host`/`--context`).
    engines: &'a [EngineInfo],
    summary: Summary,
    findings: &'a [Finding],
    errors: &'a [InputError],
}

pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let j = JsonReport {
        schema_version: 1,
        tool: "dropcap",
        tool_version: env!("CARGO_PKG_VERSION"),
        policy: report.policy,
        fail_on: report.fail_on,
        engine: report.engine.as_ref(),
        engines: &report.engines,
        summary: report.summary(),
        findings: &report.findings,
        errors: &report.errors,
    };
    serde_json::to_writer_pretty(&mut *out, &j).map_err(std::io::Error::from)?;
    writeln!(out)
}
