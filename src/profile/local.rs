//! Trials of a local command, each started through `dropcap exec --caps SET`, so the command
//! gets exactly SET in all five sets, as a container with `--cap-drop ALL --cap-add SET` would.

use super::check::{http_ok, low_ports, Check};
use super::runner::{
    describe_exit, pump, start_trace, wait_until, Runner, Tail, Target, TrialCaps, TrialResult,
    Waited,
};
use super::spec::ProbeAction;
use super::trace::{TraceTarget, Tracer};
use super::{interrupt, ProfileError};
use crate::caps::{spell, CapSet};
use crate::process::ProcStatus;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct LocalSpec {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub check: Check,
    pub timeout: Duration,
}

pub struct LocalRunner {
    spec: LocalSpec,
    exe: PathBuf,
    default: CapSet,
    low_ports: std::collections::BTreeSet<u16>,
    deadlines: super::deadline::Deadlines,
}

/// Kills the trial's whole process group unless it already ended.
struct Group {
    child: Child,
    done: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        // Also when the command itself ended: whatever it left running in its group goes too.
        // SAFETY: the child leads its own process group (process_group(0)).
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        if !self.done {
            let _ = self.child.wait();
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ProfileError> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds, which we own from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(ProfileError::io("pipe", std::io::Error::last_os_error()));
    }
    // SAFETY: both fds were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl LocalRunner {
    pub fn new(spec: LocalSpec) -> Result<LocalRunner, ProfileError> {
        if spec.argv.is_empty() {
            return Err(ProfileError::Usage("no command given after --".into()));
        }
        let exe = std::env::current_exe()
            .map_err(|e| ProfileError::io("finding dropcap's own executable", e))?;
        let me = ProcStatus::read(Path::new("/proc"), std::process::id())
            .map_err(|e| ProfileError::Usage(e.to_string()))?;
        // `dropcap exec` cuts the bounding set, which needs CAP_SETPCAP: say so once instead
        // of failing every trial.
        let setpcap = crate::caps::parse_cap("SETPCAP").ok();
        if setpcap.is_some_and(|c| !me.effective.contains(c)) {
            return Err(ProfileError::Usage(
                "profiling a local command needs CAP_SETPCAP (run as root) to give each \
                 trial exactly its capability set"
                    .into(),
            ));
        }
        let spec_timeout = spec.timeout;
        Ok(LocalRunner {
            spec,
            exe,
            // What dropcap itself could hand on: never assume a full set (sandboxes and
            // containers cut the bounding set).
            default: me.permitted.intersect(me.bounding),
            low_ports: Default::default(),
            deadlines: super::deadline::Deadlines::new(spec_timeout),
        })
    }

    fn check_once(&self) -> bool {
        match &self.spec.check {
            Check::Http { port, path } => http_ok(*port, path, Duration::from_secs(2)),
            Check::Command { command } => run_ok(Command::new("/bin/sh").args(["-c", command])),
            Check::Probe(p) => {
                let limit = super::probe::attempt_limit(p);
                match &p.action {
                    ProbeAction::Shell(c) => run_ok(Command::new("/bin/sh").args(["-c", c])),
                    ProbeAction::Exec(argv) => match argv.split_first() {
                        Some((first, rest)) => run_ok(Command::new(first).args(rest)),
                        None => false,
                    },
                    action => super::probe::network_ok(action, limit),
                }
            }
            Check::ExitZero | Check::StaysUp { .. } => false,
        }
    }
}

/// Runs a check command on the host, quietly; true when it exits 0.
fn run_ok(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Runner for LocalRunner {
    fn target(&self) -> Target {
        Target::Command {
            argv: self.spec.argv.clone(),
            user: self.spec.user.clone(),
        }
    }

    fn check(&self) -> &Check {
        &self.spec.check
    }

    fn default_set(&self) -> CapSet {
        self.default
    }

    fn default_name(&self) -> String {
        "dropcap's permitted set".to_string()
    }

    fn low_ports(&self) -> Vec<u16> {
        self.low_ports.iter().copied().collect()
    }

    fn trial(
        &mut self,
        caps: TrialCaps,
        mut tracer: Option<&mut dyn Tracer>,
    ) -> Result<TrialResult, ProfileError> {
        let started = Instant::now();
        let set = match caps {
            TrialCaps::Default => self.default,
            TrialCaps::Exactly(s) => s,
        };
        let mut cmd = Command::new(&self.exe);
        cmd.arg("exec").arg(format!(
            "--caps={}",
            spell::list(set, spell::Spelling::Mask)
        ));
        if let Some(u) = &self.spec.user {
            cmd.arg(format!("--user={u}"));
        }
        let gate = if tracer.is_some() {
            let (r, w) = pipe()?;
            let raw = r.as_raw_fd();
            cmd.arg(format!("--gate-fd={raw}"));
            // SAFETY: fcntl on an fd we own is async-signal-safe; it only clears CLOEXEC so
            // the read end survives into `dropcap exec`.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::fcntl(raw, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            Some((r, w))
        } else {
            None
        };
        cmd.arg("--").args(&self.spec.argv);
        let tail = Tail::default();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| ProfileError::io(format!("starting {}", self.exe.display()), e))?;
        if let Some(o) = child.stdout.take() {
            tail.drain_stdout(o);
        }
        if let Some(e) = child.stderr.take() {
            tail.drain_stderr(e);
        }
        let mut group = Group { child, done: false };
        let mut session = None;
        if let Some((r, w)) = gate {
            drop(r);
            session = start_trace(&mut tracer, &TraceTarget::Process(group.child.id()))?;
            // SAFETY: writes one byte from a local buffer to the pipe we own.
            unsafe {
                libc::write(w.as_raw_fd(), b"g".as_ptr().cast(), 1);
            }
            drop(w);
        }
        let ran = Instant::now();
        let limit = self.deadlines.current();
        let deadline = ran + limit;
        let (passed, reason) = if self.spec.check.long_running() {
            let mut last = Instant::now();
            loop {
                interrupt::check()?;
                pump(&mut session, &mut last)?;
                if let Some(st) = group
                    .child
                    .try_wait()
                    .map_err(|e| ProfileError::io("waiting for a trial", e))?
                {
                    group.done = true;
                    break (
                        false,
                        format!(
                            "{} before the check passed",
                            describe_exit(st, tail.last_line())
                        ),
                    );
                }
                if Instant::now() >= deadline {
                    break (
                        false,
                        format!("check did not pass within {}s", limit.as_secs_f64().round()),
                    );
                }
                let ok = match self.spec.check {
                    Check::StaysUp { seconds } => started.elapsed() >= Duration::from_secs(seconds),
                    _ => self.check_once(),
                };
                if ok {
                    self.deadlines.passed(ran.elapsed());
                    self.low_ports.extend(low_ports(group.child.id()));
                    break (
                        true,
                        format!("check passed: {}", self.spec.check.describe()),
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            match wait_until(&mut group.child, deadline, &mut session)? {
                Waited::Exited(st) => {
                    group.done = true;
                    if st.success() {
                        self.deadlines.passed(ran.elapsed());
                    }
                    (st.success(), describe_exit(st, tail.last_line()))
                }
                Waited::TimedOut => (
                    false,
                    format!("timed out after {}s", limit.as_secs_f64().round()),
                ),
            }
        };
        let traced = match session {
            Some(s) => Some(s.stop()?),
            None => None,
        };
        drop(group);
        Ok(TrialResult {
            passed,
            reason,
            duration: started.elapsed(),
            traced,
        })
    }
}
