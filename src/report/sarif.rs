//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Code scanning needs a physical location with a repository-relative URI on every result;
//! live-container findings have none, so they carry a logical location (the container) and
//! are still valid SARIF for other consumers.

use super::Report;
use crate::rules::{catalog, Finding, Severity};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity`: a CVSS-like score that sorts alerts.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Paths relative to the working directory, with forward slashes, as SARIF URIs.
fn uri(path: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    // The name's own bytes, so a name that is not UTF-8 still points at its file.
    let bytes: Vec<u8> = rel
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|b| if *b == b'\\' { b'/' } else { *b })
        .collect();
    percent_encode(bytes.strip_prefix(b"./").unwrap_or(&bytes))
}

/// Encodes everything but RFC 3986 unreserved characters, sub-delimiters, `/`, `:` and `@`,
/// so names like `<stdin>` or `my file.yaml` stay valid URI references.
fn percent_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=/:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn result(f: &Finding, rule_index: usize, engines: &[crate::report::EngineInfo]) -> Value {
    let mut r = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": format!("{}{}: {} Fix: {}", f.workload.display_name(), service_note(f), f.message, f.remediation) },
        "properties": {
            "severity": f.severity,
            "capabilities": f.capabilities,
            "workload": f.workload.display_name(),
            "remediation": f.remediation,
        },
    });
    if let Some(loc) = &f.location {
        r["locations"] = json!([{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&loc.file) },
                "region": { "startLine": loc.line.max(1), "startColumn": loc.column.max(1) }
            }
        }]);
    } else {
        let name = f
            .workload
            .id
            .clone()
            .unwrap_or_else(|| f.workload.name.clone());
        let kind = if f.workload.mode.is_some() {
            "service"
        } else {
            "resource"
        };
        let mut logical =
            json!({ "name": f.workload.name, "fullyQualifiedName": name, "kind": kind });
        // The container's engine is its parent, listed once in the run's `logicalLocations`.
        if let Some(i) = f
            .workload
            .engine
            .as_ref()
            .and_then(|e| engines.iter().position(|x| x.name == *e))
        {
            logical["parentIndex"] = json!(i);
        }
        r["locations"] = json!([{ "logicalLocations": [logical] }]);
    }
    if let Some(reason) = &f.suppressed {
        r["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
    }
    r
}

/// ` (service replicated 3, 1 task on this node)` for a Swarm service, else nothing.
fn service_note(f: &Finding) -> String {
    f.workload
        .service_summary()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let rules: Vec<Value> = catalog()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.title,
                "shortDescription": { "text": r.title.replace('-', " ") },
                "fullDescription": { "text": r.help },
                "help": { "text": format!("{} Standards: {}.", r.help, if r.standards.is_empty() { "none".to_string() } else { r.standards.join(", ") }) },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "tags": r.standards.iter().chain(["security", "capabilities"].iter()).collect::<Vec<_>>(),
                    "security-severity": security_severity(r.severity),
                },
            })
        })
        .collect();
    let index = |id: &str| catalog().iter().position(|r| r.id == id).unwrap_or(0);
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut n = json!({ "level": "error", "message": { "text": e.message } });
            n["locations"] = json!([{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri(&e.path) },
                    "region": { "startLine": e.line.unwrap_or(1).max(1), "startColumn": e.column.unwrap_or(1).max(1) }
                }
            }]);
            n
        })
        .collect();
    let engines: Vec<Value> = report
        .engines
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "fullyQualifiedName": e.host,
                "kind": "module",
                "properties": { "engine": e.kind, "version": e.version },
            })
        })
        .collect();
    let mut doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "dropcap",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": RESULTS_MARK,
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
        }]
    });
    if !engines.is_empty() {
        doc["runs"][0]["logicalLocations"] = Value::Array(engines);
    }
    // Results are streamed one at a time into the document's place for them: built as one
    // `Value` tree, 24,000 results took 600 MB (a JSON map per small string).
    let skeleton = serde_json::to_string_pretty(&doc).map_err(std::io::Error::from)?;
    let mark = serde_json::to_string(RESULTS_MARK).map_err(std::io::Error::from)?;
    let (head, tail) = skeleton
        .split_once(&mark)
        .ok_or_else(|| std::io::Error::other("SARIF skeleton lost its results mark"))?;
    out.write_all(head.as_bytes())?;
    out.write_all(b"[")?;
    for (i, f) in report.findings.iter().enumerate() {
        let text = serde_json::to_string_pretty(&result(f, index(f.rule), &report.engines))
            .map_err(std::io::Error::from)?;
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        // JSON strings hold no raw line breaks, so indenting by lines is safe.
        for (n, line) in text.lines().enumerate() {
            if n > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(RESULT_INDENT.as_bytes())?;
            out.write_all(line.as_bytes())?;
        }
    }
    if !report.findings.is_empty() {
        out.write_all(b"\n      ")?;
    }
    out.write_all(b"]")?;
    out.write_all(tail.as_bytes())?;
    writeln!(out)
}

/// Stands for the results array in the pretty-printed skeleton; cannot occur in real text
/// (every other string there is a rule's or the tool's own, or a quoted path or message,
/// whose quotes would be escaped).
const RESULTS_MARK: &str = "\u{0}dropcap-results\u{0}";
/// A result sits at depth 4 (`runs[0].results[i]`), two spaces a level.
const RESULT_INDENT: &str = "        ";

#[cfg(test)]
mod tests {
    #[test]
    fn uris_are_valid_references() {
        assert_eq!(super::percent_encode(b"<stdin>"), "%3Cstdin%3E");
        assert_eq!(super::percent_encode(b"a b/c.yaml"), "a%20b/c.yaml");
        assert_eq!(
            super::percent_encode("k8s/ü.yaml".as_bytes()),
            "k8s/%C3%BC.yaml"
        );
        assert_eq!(super::percent_encode(b"\xff.yaml"), "%FF.yaml");
    }
}
