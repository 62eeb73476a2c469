//! `dropcap explain`: what a capability allows, what breaks without it, and what to use instead.

use super::CmdError;
use crate::caps::{member, parse_cap, Cap, CapInfo, Risk};
use crate::output::{table, Format, Style};
use crate::Outcome;
use serde::Serialize;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A capability in any spelling (NET_RAW, cap_net_raw, 13). Omit to list all.
    pub capability: Option<String>,
}

/// The JSON view of a table row: stable field names independent of the Rust struct.
#[derive(Serialize)]
struct Explained {
    number: u8,
    name: &'static str,
    kernel: &'static str,
    summary: &'static str,
    risk: Risk,
    risk_reason: &'static str,
    default_in: Vec<&'static str>,
    pss_baseline_allowed: bool,
    fails_without: &'static [&'static str],
    alternative: Option<&'static str>,
}

const ENGINES: [(u8, &str); 4] = [
    (member::DOCKER, "docker"),
    (member::PODMAN, "podman"),
    (member::CRIO, "cri-o"),
    (member::RUNC, "runc"),
];

impl Explained {
    fn new(i: &'static CapInfo) -> Explained {
        Explained {
            number: i.number,
            name: i.name,
            kernel: i.kernel,
            summary: i.summary,
            risk: i.risk,
            risk_reason: i.risk_reason,
            default_in: ENGINES
                .iter()
                .filter(|(f, _)| i.member & f != 0)
                .map(|(_, n)| *n)
                .collect(),
            pss_baseline_allowed: i.member & member::PSS_BASELINE != 0,
            fails_without: i.fails_without,
            alternative: i.alternative,
        }
    }
}

pub fn run(
    args: &ExplainArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, CmdError> {
    let Some(name) = &args.capability else {
        return list_all(format, style, out);
    };
    let trimmed = name.trim();
    let is_all = |t: &str| t.eq_ignore_ascii_case("all") || t.eq_ignore_ascii_case("cap_all");
    let words: Vec<&str> = trimmed
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    // A list of real names is a misuse; `net raw` is a typo that deserves "did you mean".
    let list = words.len() > 1 && words.iter().all(|w| is_all(w) || parse_cap(w).is_ok());
    if is_all(trimmed) || list {
        return Err(CmdError::Usage(format!(
            "explain takes one capability, not '{trimmed}' (run `dropcap explain` without one to list them all)"
        )));
    }
    let cap = parse_cap(name)?;
    let Some(info) = cap.info() else {
        return Err(CmdError::Usage(format!(
            "{cap} is a valid capability number, but newer than the kernels dropcap knows (0..={})",
            crate::caps::LAST_CAP
        )));
    };
    let e = Explained::new(info);
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, &e)?;
        writeln!(out)?;
        return Ok(Outcome::Clean);
    }
    writeln!(
        out,
        "{} (CAP_{}, number {}, since Linux {})",
        style.bold(e.name),
        e.name,
        e.number,
        e.kernel
    )?;
    writeln!(out, "  {}", e.summary)?;
    writeln!(
        out,
        "  risk: {} ({})",
        style.risk(e.risk, e.risk.as_str()),
        e.risk_reason
    )?;
    let defaults = if e.default_in.is_empty() {
        "no engine grants it by default".to_string()
    } else {
        e.default_in.join(", ")
    };
    writeln!(out, "  default in: {defaults}")?;
    writeln!(
        out,
        "  Kubernetes PSS baseline: {}",
        if e.pss_baseline_allowed {
            "may be added"
        } else {
            "may not be added"
        }
    )?;
    if !e.fails_without.is_empty() {
        writeln!(out, "  without it you typically see:")?;
        for f in e.fails_without {
            writeln!(out, "    {f}")?;
        }
    }
    if let Some(alt) = e.alternative {
        writeln!(out, "  instead: {alt}")?;
    }
    Ok(Outcome::Clean)
}

fn list_all(format: Format, style: Style, out: &mut dyn Write) -> Result<Outcome, CmdError> {
    let all: Vec<Explained> = Cap::all_known()
        .filter_map(Cap::info)
        .map(Explained::new)
        .collect();
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, &all)?;
        writeln!(out)?;
        return Ok(Outcome::Clean);
    }
    let mark = |yes: bool| if yes { "x" } else { "" }.to_string();
    let mut rows = vec![[
        "#", "NAME", "RISK", "DOCKER", "PODMAN", "CRI-O", "RUNC", "PSS", "SUMMARY",
    ]
    .iter()
    .map(|s| style.bold(s))
    .collect::<Vec<_>>()];
    for e in &all {
        let info = &crate::caps::TABLE[e.number as usize];
        let mut row = vec![
            e.number.to_string(),
            e.name.to_string(),
            style.risk(e.risk, e.risk.as_str()),
        ];
        for (flag, _) in ENGINES {
            row.push(mark(info.member & flag != 0));
        }
        row.push(mark(e.pss_baseline_allowed));
        row.push(e.summary.to_string());
        rows.push(row);
    }
    out.write_all(table(&rows).as_bytes())?;
    Ok(Outcome::Clean)
}
