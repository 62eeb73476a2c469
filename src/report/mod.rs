//! Audit reports: the human table, JSON and SARIF 2.1.0, from one [`Report`].
//!
//! JSON and SARIF are contracts with other tools: fields are only ever added. The JSON schema
//! is documented in README ("JSON output").

mod json;
mod sarif;
mod table;

use crate::output::{Format, Style};
use crate::rules::{Finding, Policy, Severity};
use crate::workload::Workload;
use crate::Outcome;
use serde::Serialize;
use std::io::Write;

/// An input that could not be read or parsed; the rest of the audit goes on without it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputError {
    /// Kept as the bytes the user gave; printed through [`crate::output::path_text`].
    #[serde(serialize_with = "crate::workload::lossy_path")]
    pub path: std::path::PathBuf,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", crate::output::path_text(&self.path))?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": error: {}", self.message)
    }
}

/// The engine a live audit talked to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EngineInfo {
    /// `docker` or `podman`.
    pub kind: String,
    pub version: String,
    pub api_version: String,
    pub host: String,
    /// What findings' `workload.engine` says: a context's name, else the address.
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub policy: Policy,
    pub fail_on: Severity,
    pub engine: Option<EngineInfo>,
    /// Every engine that answered, in the order they were named (live audits only).
    pub engines: Vec<EngineInfo>,
    pub workloads: Vec<Workload>,
    pub findings: Vec<Finding>,
    pub errors: Vec<InputError>,
}

/// Counts for the summary line and JSON `summary`.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Summary {
    pub workloads: usize,
    pub findings: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub suppressed: usize,
    pub errors: usize,
}

impl Report {
    /// Evaluates every workload under `policy`.
    pub fn build(
        policy: Policy,
        fail_on: Severity,
        engine: Option<EngineInfo>,
        workloads: Vec<Workload>,
        errors: Vec<InputError>,
    ) -> Report {
        let findings = workloads
            .iter()
            .flat_map(|w| crate::rules::evaluate(w, policy))
            .collect();
        Report {
            policy,
            fail_on,
            engines: engine.iter().cloned().collect(),
            engine,
            workloads,
            findings,
            errors,
        }
    }

    /// Findings that count: not suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            workloads: self.workloads.len(),
            errors: self.errors.len(),
            ..Summary::default()
        };
        for f in &self.findings {
            if f.suppressed.is_some() {
                s.suppressed += 1;
                continue;
            }
            s.findings += 1;
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }

    /// 2 when an input failed, else 1 when an unsuppressed finding reaches `fail_on`, else 0.
    pub fn outcome(&self) -> Outcome {
        if !self.errors.is_empty() {
            Outcome::Error
        } else if self.active().any(|f| f.severity >= self.fail_on) {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }
}

/// Writes the report to `out` and every input error to `errors` (stderr for the CLI) in every
/// format: a CI log that shows only stderr, or a JSON/SARIF document redirected to a file, must
/// still say why the exit code is 2. JSON and SARIF keep the errors in the document too.
pub fn write(
    report: &Report,
    format: Format,
    style: Style,
    out: &mut dyn Write,
    errors: &mut dyn Write,
) -> std::io::Result<()> {
    for e in &report.errors {
        writeln!(errors, "{}", crate::output::printable(&e.to_string()))?;
    }
    match format {
        Format::Table => table::write(report, style, out),
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, out),
    }
}
