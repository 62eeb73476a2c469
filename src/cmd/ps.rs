//! `dropcap ps`: who holds which capabilities right now, grouped by container (like libcap-ng's
//! `pscap`, which knows nothing of containers).

use super::CmdError;
use crate::caps::{spell, CapSet};
use crate::output::{printable, table, Format, Style};
use crate::process::{all_processes, users::Users, ContainerRef, Process};
use crate::Outcome;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show every process, also kernel threads and those with empty permitted and effective sets.
    #[arg(long, short)]
    pub all: bool,
    /// Only processes of this container (id prefix or name), or `host`.
    #[arg(long)]
    pub container: Option<String>,
    /// Do not ask the engine (DOCKER_HOST or the default socket) for container names.
    #[arg(long)]
    pub no_names: bool,
}

#[derive(Serialize)]
struct Row<'a> {
    pid: u32,
    ppid: u32,
    user: String,
    uid: u32,
    command: &'a str,
    permitted: CapSet,
    effective: CapSet,
    inheritable: CapSet,
    bounding: CapSet,
    ambient: CapSet,
    no_new_privs: Option<bool>,
    seccomp: Option<u8>,
}

#[derive(Serialize)]
struct Group<'a> {
    /// `null` for host processes.
    container: Option<&'a ContainerRef>,
    processes: Vec<Row<'a>>,
}

/// The processes `ps` shows unless `--all`: pscap's rule, something in permitted or effective,
/// and no kernel threads (children of kthreadd, pid 2), which hold every capability by nature
/// and drown the list.
pub fn interesting(p: &Process, all: bool) -> bool {
    let s = &p.status;
    all || (s.pid != 2 && s.ppid != 2 && (!s.permitted.is_empty() || !s.effective.is_empty()))
}

pub fn run(
    args: &PsArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, CmdError> {
    // Every id starts with "", so an empty filter would silently show every container.
    if args
        .container
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return Err(CmdError::Usage(
            "ps: --container is empty (give a container id prefix, a name, or `host`)".into(),
        ));
    }
    let snapshot = all_processes(Path::new("/proc"))?;
    // Like ripgrep with an unreadable file: say so, show everything else, exit 2.
    for e in &snapshot.unreadable {
        crate::say!("dropcap: ps: skipped {e}");
    }
    let outcome = if snapshot.unreadable.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    };
    let mut procs = snapshot.processes;
    if !args.no_names && procs.iter().any(|p| p.container.is_some()) {
        let names = crate::engine::names::container_names(std::time::Duration::from_secs(2));
        for c in procs.iter_mut().filter_map(|p| p.container.as_mut()) {
            c.name = names.get(&c.id).cloned();
        }
    }
    let users = Users::load();
    // BTreeMap keyed by container id: host (None) sorts first, containers by id.
    let mut groups: BTreeMap<Option<String>, Group> = BTreeMap::new();
    let selected = |p: &Process| match (&args.container, &p.container) {
        (None, _) => true,
        (Some(want), None) => want == "host",
        (Some(want), Some(c)) => c.id.starts_with(want.as_str()) || c.name.as_deref() == Some(want),
    };
    // A container whose processes all hold nothing is shown empty, not reported as missing.
    let container_seen = procs.iter().any(|p| p.container.is_some() && selected(p));
    for p in procs
        .iter()
        .filter(|p| selected(p) && interesting(p, args.all))
    {
        let s = &p.status;
        groups
            .entry(p.container.as_ref().map(|c| c.id.clone()))
            .or_insert_with(|| Group {
                container: p.container.as_ref(),
                processes: Vec::new(),
            })
            .processes
            .push(Row {
                pid: s.pid,
                ppid: s.ppid,
                user: users.name(s.uid[1]),
                uid: s.uid[1],
                command: &p.command,
                permitted: s.permitted,
                effective: s.effective,
                inheritable: s.inheritable,
                bounding: s.bounding,
                ambient: s.ambient,
                no_new_privs: s.no_new_privs,
                seccomp: s.seccomp,
            });
    }
    let groups: Vec<Group> = groups.into_values().collect();
    if let Some(want) = args.container.as_deref().filter(|w| *w != "host") {
        if !container_seen {
            return Err(CmdError::Usage(format!(
                "no running container matches '{want}' (an id prefix or a name; `host` for host processes)"
            )));
        }
    }
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, &groups)?;
        writeln!(out)?;
        return Ok(outcome);
    }
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let title = match g.container {
            None => "host".to_string(),
            Some(c) => match &c.name {
                Some(n) => format!("container {n} ({}, {})", c.short_id(), c.runtime.as_str()),
                None => format!("container {} ({})", c.short_id(), c.runtime.as_str()),
            },
        };
        writeln!(out, "{}", style.bold(&printable(&title)))?;
        let mut rows = vec![["PPID", "PID", "USER", "COMMAND", "CAPABILITIES"]
            .iter()
            .map(|h| style.dim(h))
            .collect::<Vec<_>>()];
        for r in &g.processes {
            rows.push(vec![
                r.ppid.to_string(),
                r.pid.to_string(),
                printable(&r.user),
                truncate(&printable(r.command), 40),
                caps_cell(r, style),
            ]);
        }
        out.write_all(table(&rows).as_bytes())?;
    }
    writeln!(
        out,
        "{}",
        style.dim("+ bounding set not empty (exec of a setuid or file-capability binary can gain more)   @ ambient capabilities")
    )?;
    Ok(outcome)
}

fn caps_cell(r: &Row, style: Style) -> String {
    let shown = r.permitted.union(r.effective);
    let text = spell::compact(shown);
    let mut s = match shown.max_risk() {
        Some(risk) => style.risk(risk, &text),
        None => text,
    };
    if !r.bounding.is_empty() {
        s.push_str(" +");
    }
    if !r.ambient.is_empty() {
        s.push_str(&format!(
            " @{}",
            spell::list(r.ambient, spell::Spelling::Canonical)
        ));
    }
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}
