//! `dropcap trace`: a live view of every capability check of a command, process tree,
//! container or the whole host. The tracing itself lives in [`crate::trace`].

use crate::caps::{Cap, CapSet};
use crate::output::{printable, table, Format, Style};
use crate::trace::{
    privs, CgroupRef, CheckObject, ContainerIndex, Launched, Summary, Target, TraceError,
    TraceEvent, Tracer,
};
use crate::Outcome;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").args(["pid", "container", "all", "command"]).required(true)))]
pub struct TraceArgs {
    /// Follow this process and every process it forks from now on (repeatable).
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
    /// Follow every process of this running Docker container (name or id).
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Follow every process on the host.
    #[arg(long)]
    pub all: bool,
    /// Print each (process, capability, verdict) only once.
    #[arg(long)]
    pub unique: bool,
    /// Hide noaudit checks (probes such as vm_enough_memory's CAP_SYS_ADMIN test).
    #[arg(long)]
    pub audit_only: bool,
    /// With `-- CMD`: print the set the command used (granted audited checks; observed, not
    /// proven) as a systemd drop-in, OCI `process.capabilities` and a setcap line
    /// (comma-separated forms, or `all`).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "FORM",
        requires = "command"
    )]
    pub emit: Vec<super::emit::Emit>,
    /// Command to start and trace with all its descendants, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Error)]
pub enum TraceCmdError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("choose one target: -- CMD, --pid, --container or --all")]
    Targets,
    #[error("dropping privileges after attaching: {0}")]
    Drop(std::io::Error),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Last signal received (SIGINT/SIGTERM), 0 for none. Set by the handler, read by the loop.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Installs handlers without SA_RESTART, so a signal also interrupts the ring buffer poll and
/// the loop notices it at once.
fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction with a handler that only stores an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Formats Unix nanoseconds as RFC 3339 UTC with microseconds (no time-zone database needed).
pub fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let micros = (ns % 1_000_000_000) / 1_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// One JSON line per event. Stable: fields are only ever added.
#[derive(Serialize)]
struct JsonEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    time: &'a str,
    time_ns: u64,
    /// Full container id, `null` on the host.
    container: Option<&'a str>,
    pid: u32,
    tid: u32,
    ppid: u32,
    uid: u32,
    comm: &'a str,
    cap: Cow<'static, str>,
    cap_number: u8,
    verdict: &'static str,
    audit: bool,
    own_cred: bool,
    syscall: Option<Cow<'static, str>>,
    syscall_nr: Option<u32>,
    cgroup_id: u64,
    /// What the check was about; see docs/trace.md.
    object: &'a CheckObject,
}

/// First JSON line, written once the programs are attached: from then on nothing is missed.
#[derive(Serialize)]
struct JsonStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// `command`, `pid`, `container` or `all`.
    target: &'static str,
    /// The launched command's pid, or the first `--pid`.
    pid: Option<u32>,
    container: Option<&'a str>,
    container_name: Option<&'a str>,
    cgroup_id: Option<u64>,
    /// False when /proc/kallsyms hid addresses: every check is then reported as audited.
    noaudit_detection: bool,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    summary: &'a Summary,
    granted: CapSet,
    denied: CapSet,
    noaudit_only: CapSet,
    duration_ms: u64,
    /// Exit code of the traced command (`-- CMD` only); `null` when killed by a signal.
    exit_code: Option<i32>,
    /// Signal that ended the traced command, if any.
    exit_signal: Option<i32>,
    /// `--emit`: the granted set as systemd, OCI and setcap text.
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<&'a crate::caps::outside::Outside>,
}

struct Printer<'a> {
    format: Format,
    style: Style,
    out: &'a mut dyn Write,
    unique: bool,
    audit_only: bool,
    seen: HashSet<(u32, Cap, bool)>,
    show_container: bool,
    /// Fixed container for `--container`; otherwise looked up per cgroup id.
    fixed_container: Option<String>,
    index: Option<ContainerIndex>,
    json_buf: Vec<u8>,
    /// `--emit`: the forms to print, the binary, and the granted set in each form.
    emit: Option<(
        Vec<super::emit::Emit>,
        Option<String>,
        crate::caps::outside::Outside,
    )>,
}

const HEADER: [&str; 10] = [
    "TIME",
    "CONTAINER",
    "PID",
    "PPID",
    "COMM",
    "CAP",
    "VERDICT",
    "CHECK",
    "SYSCALL",
    "OBJECT",
];

/// Column widths of the live table: rows stream out one by one, so widths cannot be measured
/// first; these fit a comm (15), the longest capability name (18), 7-digit pids and the
/// syscalls that check capabilities (`newfstatat`); a longer syscall name shifts its row.
const WIDTH: [usize; 10] = [15, 12, 7, 7, 15, 18, 7, 7, 10, 0];

/// Pads each cell to its column; `visible` is the printed width (without ANSI escapes).
fn layout(cells: &[(String, usize)], widths: &[usize], right: &[bool]) -> String {
    let mut line = String::new();
    for (i, (cell, visible)) in cells.iter().enumerate() {
        let pad = widths[i].saturating_sub(*visible);
        if right[i] {
            line.push_str(&" ".repeat(pad));
            line.push_str(cell);
        } else {
            line.push_str(cell);
            if i + 1 < cells.len() {
                line.push_str(&" ".repeat(pad));
            }
        }
        if i + 1 < cells.len() {
            line.push_str("  ");
        }
    }
    line
}

impl Printer<'_> {
    fn header(&mut self) -> std::io::Result<()> {
        if self.format == Format::Table {
            let cells = HEADER.iter().map(|s| (s.to_string(), s.len())).collect();
            let line = self.line(cells);
            writeln!(self.out, "{}", self.style.bold(&line))?;
        }
        Ok(())
    }

    /// Lays out one row, without the CONTAINER column when no container can appear.
    fn line(&self, mut cells: Vec<(String, usize)>) -> String {
        let mut widths = WIDTH.to_vec();
        let mut right = vec![
            false, false, true, true, false, false, false, false, false, false,
        ];
        if !self.show_container {
            cells.remove(1);
            widths.remove(1);
            right.remove(1);
        }
        layout(&cells, &widths, &right)
    }

    fn container_of(&mut self, e: &TraceEvent) -> Option<String> {
        if let Some(c) = &self.fixed_container {
            return Some(c.clone());
        }
        self.index
            .as_mut()
            .and_then(|i| i.lookup(e.cgroup_id))
            .map(|c| c.id.clone())
    }

    fn event(&mut self, e: &TraceEvent) -> Result<(), TraceCmdError> {
        if self.audit_only && !e.audit {
            return Ok(());
        }
        if self.unique && !self.seen.insert((e.pid, e.cap, e.granted)) {
            return Ok(());
        }
        let container = if self.show_container {
            self.container_of(e)
        } else {
            None
        };
        let verdict = if e.granted { "granted" } else { "denied" };
        match self.format {
            Format::Json | Format::Sarif => {
                // Built in reusable buffers and written with one call: serde's many small
                // writes through `dyn Write` were most of dropcap's own cost per event.
                let time = rfc3339(e.time_ns);
                let j = JsonEvent {
                    kind: "event",
                    time: &time,
                    time_ns: e.time_ns,
                    container: container.as_deref(),
                    pid: e.pid,
                    tid: e.tid,
                    ppid: e.ppid,
                    uid: e.uid,
                    comm: &e.comm,
                    cap: match e.cap.info() {
                        Some(i) => Cow::Borrowed(i.name),
                        None => Cow::Owned(e.cap.name()),
                    },
                    cap_number: e.cap.number(),
                    verdict,
                    audit: e.audit,
                    own_cred: e.own_cred,
                    syscall: match (e.syscall, e.syscall_nr) {
                        (Some(name), _) => Some(Cow::Borrowed(name)),
                        (None, Some(_)) => Some(Cow::Owned(e.syscall_label())),
                        (None, None) => None,
                    },
                    syscall_nr: e.syscall_nr,
                    cgroup_id: e.cgroup_id,
                    object: &e.object,
                };
                self.json_buf.clear();
                serde_json::to_writer(&mut self.json_buf, &j)?;
                self.json_buf.push(b'\n');
                self.out.write_all(&self.json_buf)?;
            }
            Format::Table => {
                let time = rfc3339(e.time_ns);
                let clock = time.get(11..26).unwrap_or(&time).to_string();
                let verdict_cell = if e.granted {
                    self.style.paint("32", verdict)
                } else {
                    self.style.paint("1;31", verdict)
                };
                let audit = match (e.own_cred, e.audit) {
                    (false, _) => "foreign",
                    (true, true) => "audit",
                    (true, false) => "noaudit",
                };
                let audit_cell = if e.audit && e.own_cred {
                    audit.to_string()
                } else {
                    self.style.dim(audit)
                };
                let plain = |s: String| {
                    let n = s.chars().count();
                    (s, n)
                };
                let cells = vec![
                    plain(clock),
                    plain(
                        container
                            .as_deref()
                            .map_or("-".into(), |c| c[..12.min(c.len())].to_string()),
                    ),
                    plain(e.pid.to_string()),
                    plain(e.ppid.to_string()),
                    plain(printable(&e.comm)),
                    plain(e.cap.name()),
                    (verdict_cell, verdict.len()),
                    (audit_cell, audit.len()),
                    plain(e.syscall_label()),
                    // The SYSCALL column already names a syscall whose arguments say nothing.
                    plain(match &e.object {
                        CheckObject::Syscall { .. } => "-".to_string(),
                        o => o.to_string(),
                    }),
                ];
                let line = self.line(cells);
                writeln!(self.out, "{line}")?;
            }
        }
        Ok(())
    }

    fn summary(
        &mut self,
        s: &Summary,
        elapsed: Duration,
        status: Option<ExitStatus>,
    ) -> Result<(), TraceCmdError> {
        use std::os::unix::process::ExitStatusExt;
        match self.format {
            Format::Json | Format::Sarif => {
                let j = JsonSummary {
                    kind: "summary",
                    summary: s,
                    granted: s.granted(),
                    denied: s.denied(),
                    noaudit_only: s.noaudit_only(),
                    duration_ms: elapsed.as_millis() as u64,
                    exit_code: status.and_then(|st| st.code()),
                    exit_signal: status.and_then(|st| st.signal()),
                    recommendation: self.emit.as_ref().map(|e| &e.2),
                };
                serde_json::to_writer(&mut *self.out, &j)?;
                writeln!(self.out)?;
            }
            Format::Table => {
                writeln!(self.out)?;
                let mut rows = vec![vec![
                    self.style.bold("CAPABILITY"),
                    self.style.bold("GRANTED"),
                    self.style.bold("DENIED"),
                    self.style.bold("NOAUDIT"),
                    self.style.bold("FOREIGN"),
                ]];
                for (cap, c) in &s.caps {
                    rows.push(vec![
                        cap.name(),
                        c.granted.to_string(),
                        c.denied.to_string(),
                        (c.noaudit_granted + c.noaudit_denied).to_string(),
                        c.foreign_cred.to_string(),
                    ]);
                }
                if s.caps.is_empty() {
                    writeln!(self.out, "no capability checks seen")?;
                } else {
                    write!(self.out, "{}", table(&rows))?;
                }
                let names = |set: CapSet| {
                    if set.is_empty() {
                        "none".to_string()
                    } else {
                        set.names().join(", ")
                    }
                };
                writeln!(self.out, "granted: {}", names(s.granted()))?;
                writeln!(self.out, "denied:  {}", names(s.denied()))?;
                if !s.noaudit_only().is_empty() {
                    writeln!(
                        self.out,
                        "only noaudit or foreign (not needed): {}",
                        names(s.noaudit_only())
                    )?;
                }
                writeln!(
                    self.out,
                    "events: {} seen in kernel, {} delivered, {} lost{}",
                    s.seen,
                    s.delivered,
                    s.lost,
                    if s.malformed > 0 {
                        format!(", {} malformed", s.malformed)
                    } else {
                        String::new()
                    }
                )?;
                if let Some(st) = status {
                    match (st.code(), st.signal()) {
                        (Some(c), _) => writeln!(self.out, "command exited with status {c}")?,
                        (None, Some(sig)) => writeln!(self.out, "command killed by signal {sig}")?,
                        _ => {}
                    }
                }
                if let Some((forms, binary, outside)) = &self.emit {
                    writeln!(
                        self.out,
                        "\nthe granted set (observed, not proven: `dropcap profile` proves it):"
                    )?;
                    let text = super::emit::render(outside, forms, binary.as_deref(), self.style);
                    self.out.write_all(text.as_bytes())?;
                }
            }
        }
        Ok(())
    }
}

fn target_of(args: &TraceArgs) -> Result<Option<Target>, TraceCmdError> {
    let chosen = usize::from(!args.pid.is_empty())
        + usize::from(args.container.is_some())
        + usize::from(args.all)
        + usize::from(!args.command.is_empty());
    if chosen != 1 {
        return Err(TraceCmdError::Targets);
    }
    Ok(if !args.pid.is_empty() {
        Some(Target::Pids(args.pid.clone()))
    } else if let Some(c) = &args.container {
        Some(Target::Container(c.clone()))
    } else if args.all {
        Some(Target::All)
    } else {
        None
    })
}

pub fn run(
    args: &TraceArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, TraceCmdError> {
    let target = target_of(args)?;
    let pid_mode = matches!(target, Some(Target::Pids(_)));
    let (mut tracer, mut child): (Tracer, Option<Launched>) = match target {
        Some(t) => (Tracer::attach(t)?, None),
        None => {
            let (t, c) = Tracer::launch(&args.command)?;
            (t, Some(c))
        }
    };
    catch_signals();
    // Attached: from here on dropcap only reads the ring buffer and the counters through fds
    // it already holds, which needs no capability. Keep CAP_KILL only to pass Ctrl-C/SIGTERM on
    // to a launched command that may have changed user.
    let keep = if child.is_some() {
        CapSet::EMPTY.with(Cap::new(privs::CAP_KILL).unwrap_or(Cap::SYS_ADMIN))
    } else {
        CapSet::EMPTY
    };
    privs::keep_only(keep).map_err(TraceCmdError::Drop)?;
    if !tracer.noaudit_available() {
        crate::say!("dropcap: /proc/kallsyms hides addresses; noaudit checks cannot be told apart");
    }
    let container_name = tracer.container().map(|c| c.id.clone());
    let cgroup_path: Option<CgroupRef> = tracer.cgroup().cloned();
    let mut p = Printer {
        format,
        style,
        out,
        unique: args.unique,
        audit_only: args.audit_only,
        seen: HashSet::new(),
        show_container: args.all || args.container.is_some(),
        fixed_container: container_name,
        index: args.all.then(ContainerIndex::new),
        json_buf: Vec::with_capacity(512),
        emit: None,
    };
    let start = JsonStart {
        kind: "start",
        target: if child.is_some() {
            "command"
        } else if pid_mode {
            "pid"
        } else if args.all {
            "all"
        } else {
            "container"
        },
        pid: child
            .as_ref()
            .map(Launched::pid)
            .or(args.pid.first().copied()),
        container: tracer.container().map(|c| c.id.as_str()),
        container_name: tracer.container().map(|c| c.short_name()),
        cgroup_id: tracer.cgroup().map(|c| c.id),
        noaudit_detection: tracer.noaudit_available(),
    };
    if format == Format::Json {
        serde_json::to_writer(&mut *p.out, &start)?;
        writeln!(p.out)?;
    }
    p.header()?;
    p.out.flush()?;
    let started = Instant::now();
    let mut last_check = Instant::now();
    let mut status = None;
    let mut signals = 0u32;
    loop {
        for e in tracer.poll(Duration::from_millis(100))? {
            p.event(&e)?;
        }
        p.out.flush()?;
        let sig = SIGNAL.swap(0, Ordering::SeqCst);
        if let Some(c) = child.as_mut() {
            if sig != 0 {
                // Pass it on; the command decides how to end, and we report when it has. A
                // command that ignores it gets SIGTERM on the second signal, SIGKILL after.
                signals += 1;
                let send = match signals {
                    1 => sig,
                    2 => libc::SIGTERM,
                    _ => libc::SIGKILL,
                };
                let _ = c.signal(send);
            }
            if let Some(s) = c.try_wait()? {
                status = Some(s);
                break;
            }
        } else if sig != 0 {
            break;
        }
        if last_check.elapsed() >= Duration::from_millis(500) {
            last_check = Instant::now();
            if pid_mode && tracer.followed()? == 0 {
                break; // every followed process has exited
            }
            // `trace --pid N | head -1`: no write fails until the next event, which an idle
            // target may never cause. A launched command is left to end by itself.
            if child.is_none()
                && crate::output::reader_gone(std::os::fd::AsFd::as_fd(&std::io::stdout()))
            {
                break;
            }
            if let Some(c) = &cgroup_path {
                if !c.path.exists() {
                    break; // the container stopped
                }
            }
        }
    }
    let (rest, summary) = tracer.stop()?;
    for e in &rest {
        p.event(e)?;
    }
    if !args.emit.is_empty() {
        p.emit = Some(emitted(args, &summary));
    }
    p.summary(&summary, started.elapsed(), status)?;
    if summary.lost > 0 {
        crate::say!(
            "dropcap: {} capability checks were lost (ring buffer full); the trace is incomplete",
            summary.lost
        );
    }
    Ok(if summary.denied().is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// `--emit` for `-- CMD`: the command ran as dropcap's own user, from its resolved binary.
fn emitted(
    args: &TraceArgs,
    summary: &Summary,
) -> (
    Vec<super::emit::Emit>,
    Option<String>,
    crate::caps::outside::Outside,
) {
    let binary = args
        .command
        .first()
        .and_then(|c| crate::trace::launch::resolve(c))
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .map(|p| p.to_string_lossy().into_owned());
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() }.to_string();
    let outside = crate::caps::outside::Outside::new(
        summary.granted(),
        &crate::caps::outside::RunAs::from_user(Some(&uid)),
        binary.as_deref(),
    );
    (args.emit.clone(), binary, outside)
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(1_795_000_000_123_456_789),
            "2026-11-18T11:06:40.123456Z"
        );
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }
}
