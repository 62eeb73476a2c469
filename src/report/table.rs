//! Human output: one line per finding, grouped by workload, then a summary line.
//! File-located findings use `path:line:col:` so editors and terminals can jump there.

use super::{EngineInfo, Report};
use crate::output::{printable, Style};
use crate::rules::{Finding, Severity};
use std::io::Write;

fn sev(style: Style, s: Severity) -> String {
    let code = match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    style.paint(code, s.as_str())
}

fn engine_line(e: &EngineInfo) -> String {
    let mut line = format!(
        "{} {} (API {}) at {}",
        e.kind, e.version, e.api_version, e.host
    );
    if e.name != e.host {
        line.push_str(&format!(" (context {})", e.name));
    }
    line
}

pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    // `Report::build` emits each workload's findings together, so a new group starts exactly
    // when the workload changes (linear, unlike searching all groups per finding).
    let mut groups: Vec<(&crate::rules::WorkloadRef, Vec<&Finding>)> = Vec::new();
    for f in report.active() {
        match groups.last_mut() {
            Some((w, v)) if **w == f.workload => v.push(f),
            _ => groups.push((&f.workload, vec![f])),
        }
    }
    if report.engines.len() > 1 {
        // A header per engine, each followed by its own containers' findings.
        for e in &report.engines {
            let count = report
                .workloads
                .iter()
                .filter(|w| w.engine.as_deref() == Some(e.name.as_str()))
                .count();
            let header = format!("{}: {count} container{}", engine_line(e), plural(count));
            writeln!(out, "{}", style.bold(&printable(&header)))?;
            let mine: Vec<_> = groups
                .iter()
                .filter(|(w, _)| w.engine.as_deref() == Some(e.name.as_str()))
                .cloned()
                .collect();
            write_groups(&mine, style, out)?;
        }
    } else {
        if let Some(e) = &report.engine {
            writeln!(out, "{}", style.dim(&printable(&engine_line(e))))?;
        }
        write_groups(&groups, style, out)?;
    }
    write_summary(report, out)
}

type Group<'a> = (&'a crate::rules::WorkloadRef, Vec<&'a Finding>);

fn write_groups(groups: &[Group<'_>], style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    for (w, findings) in groups {
        let mut title = w.display_name();
        if let Some(service) = w.service_summary() {
            title.push_str(&format!("  {service}"));
        }
        if let Some(img) = &w.image {
            title.push_str(&format!("  image {img}"));
        }
        if let Some(id) = &w.id {
            let short: String = id.chars().take(12).collect();
            title.push_str(&format!("  id {short}"));
        }
        if let Some(loc) = &w.location {
            title = format!("{loc}: {title}");
        }
        writeln!(out, "{}", style.bold(&printable(&title)))?;
        for f in findings {
            let prefix = match &f.location {
                Some(l) => format!("{l}: "),
                None => "  ".to_string(),
            };
            writeln!(
                out,
                "{}{} {} {}",
                printable(&prefix),
                sev(style, f.severity),
                f.rule,
                printable(&f.message)
            )?;
            writeln!(
                out,
                "    {} {}",
                style.dim("fix:"),
                printable(&f.remediation)
            )?;
        }
    }
    Ok(())
}

fn write_summary(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let s = report.summary();
    let mut parts = Vec::new();
    for (n, label) in [
        (s.critical, "critical"),
        (s.high, "high"),
        (s.medium, "medium"),
        (s.low, "low"),
        (s.info, "info"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let detail = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    };
    writeln!(
        out,
        "{} finding{}{detail} in {} workload{}, policy {}; {} suppressed; {} error{}",
        s.findings,
        plural(s.findings),
        s.workloads,
        plural(s.workloads),
        report.policy.as_str(),
        s.suppressed,
        s.errors,
        plural(s.errors)
    )?;
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
