//! `dropcap decode`: masks to names (like `capsh --decode`), or a process's five sets.

use super::CmdError;
use crate::caps::{parse_mask, spell, CapSet};
use crate::output::{Format, Style};
use crate::process::ProcStatus;
use crate::Outcome;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Hexadecimal masks, with or without 0x (as in /proc/PID/status or `capsh --decode`).
    #[arg(required_unless_present = "pid", conflicts_with = "pid")]
    pub masks: Vec<String>,
    /// Show the five capability sets of a running process instead.
    #[arg(long)]
    pub pid: Option<u32>,
}

#[derive(Serialize)]
struct Decoded<'a> {
    input: &'a str,
    mask: String,
    capabilities: CapSet,
    /// Set when the mask equals a shipped default, e.g. "Docker default".
    well_known: Option<&'static str>,
}

pub fn run(
    args: &DecodeArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, CmdError> {
    if let Some(pid) = args.pid {
        let status = ProcStatus::read(Path::new("/proc"), pid)?;
        return print_process(&status, format, style, out);
    }
    // Decode every mask we can, report the bad ones, and fail at the end: one typo must not
    // hide the answers for the other masks.
    let mut outcome = Outcome::Clean;
    let mut decoded = Vec::new();
    for input in &args.masks {
        match parse_mask(input) {
            Ok(set) => decoded.push(Decoded {
                input,
                mask: set.to_hex(),
                capabilities: set,
                well_known: set.well_known_name(),
            }),
            Err(e) => {
                crate::say!("dropcap: decode: {e}");
                outcome = Outcome::Error;
            }
        }
    }
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &decoded)?;
            writeln!(out)?;
        }
        _ => {
            for d in &decoded {
                let names = spell::list(d.capabilities, spell::Spelling::Canonical);
                let note = d
                    .well_known
                    .map(|n| style.dim(&format!("  ({n}, {})", d.capabilities.len())))
                    .unwrap_or_else(|| style.dim(&format!("  ({})", d.capabilities.len())));
                writeln!(out, "{}={names}{note}", d.mask)?;
            }
        }
    }
    Ok(outcome)
}

fn print_process(
    s: &ProcStatus,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, CmdError> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, s)?;
        writeln!(out)?;
        return Ok(Outcome::Clean);
    }
    writeln!(
        out,
        "{} {} (ppid {}, uid {}, gid {})",
        style.bold("pid"),
        s.pid,
        s.ppid,
        s.uid[1],
        s.gid[1]
    )?;
    writeln!(out, "name         {}", s.name)?;
    let rows = [
        ("inheritable", s.inheritable),
        ("permitted", s.permitted),
        ("effective", s.effective),
        ("bounding", s.bounding),
        ("ambient", s.ambient),
    ];
    for (label, set) in rows {
        let names = spell::compact(set);
        writeln!(out, "{label:<12} {} {names}", set.to_hex())?;
    }
    let nnp = match s.no_new_privs {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    writeln!(out, "no_new_privs {nnp}")?;
    writeln!(out, "seccomp      {}", s.seccomp_name())?;
    Ok(Outcome::Clean)
}
