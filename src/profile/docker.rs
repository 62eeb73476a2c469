//! Trials as containers on the local engine, through the Engine API client the live audit
//! uses (`crate::engine::client`): dockerd or Podman's compatible API, whichever `--host` /
//! DOCKER_HOST names. No docker CLI is spawned.
//!
//! Every container is named `dropcap-profile-<pid>-<time>-<n>`, labelled
//! `io.dropcap.profile=<session>`, and removed (with its anonymous volumes) by a guard when
//! the trial ends, times out, is interrupted, or dropcap unwinds for any other reason.

use super::check::{in_netns, low_ports, net_sysctl, Check};
use super::create;
use super::deadline::Deadlines;
use super::probe;
use super::runner::{describe_code, pump, Runner, Session, Tail, Target, TrialCaps, TrialResult};
use super::spec::{ContainerSpec, ProbeAction};
use super::trace::{TraceTarget, Traced, Tracer};
use super::{interrupt, ProfileError};
use crate::caps::CapSet;
use crate::engine::client::{Client, Hijacked, ImageConfig};
use crate::engine::{ApiError, EngineKind};
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use create::LABEL;

/// Sysctls that decide whether a capability is needed at all, read inside a trial container.
pub const SYSCTLS: [&str; 2] = [
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
];

#[derive(Debug, Clone)]
pub struct DockerSpec {
    /// The trial container: every field is applied to every trial, only the capability sets
    /// differ.
    pub container: ContainerSpec,
    pub check: Check,
    /// The longest a trial may take (`--timeout`); later trials get a shorter deadline once
    /// one has passed (see [`Deadlines`]).
    pub timeout: Duration,
    /// Engine address as `--host` takes it; `None`: DOCKER_HOST, then the default socket.
    pub host: Option<String>,
}

pub struct DockerRunner {
    spec: DockerSpec,
    client: Arc<Client>,
    remover: Rc<Remover>,
    image: ImageConfig,
    argv: Vec<String>,
    session: String,
    n: u32,
    /// False once a gated start failed because the image has no /bin/sh.
    gate_works: bool,
    sysctls: Option<Vec<(String, String)>>,
    low_ports: std::collections::BTreeSet<u16>,
    deadlines: Deadlines,
}

/// How long one engine request may take: a hung engine must end the run, but a busy one
/// needs more than a short `--timeout`.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// How long the engine may take to answer its first request (a ping): `--timeout`, but at
/// least 2 s, which even a loaded engine meets.
pub(crate) fn first_answer(timeout: Duration) -> Duration {
    timeout.clamp(Duration::from_secs(2), REQUEST_LIMIT)
}

/// Longest wait between two looks at a running trial (Ctrl-C is noticed within it).
const POLL: Duration = Duration::from_millis(20);

fn engine_err(what: &str, e: ApiError) -> ProfileError {
    ProfileError::Docker {
        args: what.to_string(),
        reason: e.to_string(),
    }
}

/// Removes trial containers on a thread of its own, so removing one (killing it and its
/// processes, deleting its layer: half a second on a busy dockerd) overlaps the next trial.
/// Dropping it waits until every container handed to it is gone, so nothing outlives the
/// runner, also on Ctrl-C (the runner is dropped while the error unwinds).
struct Remover {
    tx: Option<std::sync::mpsc::Sender<String>>,
    thread: Option<std::thread::JoinHandle<()>>,
    client: Arc<Client>,
    /// Containers handed over and not yet removed.
    pending: Arc<(std::sync::Mutex<usize>, std::sync::Condvar)>,
}

fn remove_now(client: &Client, id: &str) {
    // What could not be removed is said, so it can be removed by hand.
    if let Err(e) = client.remove(id) {
        crate::say!("dropcap: profile: trial container {id} may be left: {e}");
    }
}

impl Remover {
    fn new(client: Arc<Client>) -> Remover {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let c = client.clone();
        let pending: Arc<(std::sync::Mutex<usize>, std::sync::Condvar)> = Default::default();
        let p = pending.clone();
        let thread = std::thread::Builder::new()
            .name("dropcap-remove".into())
            .spawn(move || {
                for id in rx {
                    remove_now(&c, &id);
                    let (count, done) = &*p;
                    if let Ok(mut n) = count.lock() {
                        *n = n.saturating_sub(1);
                        done.notify_all();
                    }
                }
            })
            .ok();
        Remover {
            tx: thread.as_ref().map(|_| tx),
            thread,
            client,
            pending,
        }
    }

    fn remove(&self, id: String) {
        let Some(tx) = &self.tx else {
            return remove_now(&self.client, &id);
        };
        if let Ok(mut n) = self.pending.0.lock() {
            *n += 1;
        }
        if let Err(e) = tx.send(id) {
            remove_now(&self.client, &e.0);
            if let Ok(mut n) = self.pending.0.lock() {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Blocks until every container handed over so far is removed.
    fn wait_idle(&self) {
        let (count, done) = &*self.pending;
        let Ok(mut n) = count.lock() else {
            return;
        };
        while *n > 0 {
            match done.wait(n) {
                Ok(guard) => n = guard,
                Err(_) => return,
            }
        }
    }
}

impl Drop for Remover {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Hands the container to the remover when the trial is over, however it ends, and closes
/// its attached streams.
struct Live {
    remover: Rc<Remover>,
    id: String,
    stream: Option<Hijacked>,
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(s) = &self.stream {
            s.close();
        }
        self.remover.remove(std::mem::take(&mut self.id));
    }
}

/// How a trial's process ended (exit code, said in words), or that it is still running.
enum Seen {
    Running(u32),
    Ended(i64, String),
}

enum Launched {
    Started(Live),
    /// The engine refused to start the process for want of a permission: a failed trial.
    Refused(Live, String),
    /// The gate needs /bin/sh and the image has none.
    NoShell,
}

impl DockerRunner {
    pub fn new(spec: DockerSpec) -> Result<DockerRunner, ProfileError> {
        let client = Client::open(
            spec.host.as_deref(),
            spec.timeout.max(REQUEST_LIMIT),
            first_answer(spec.timeout),
        )
        .map_err(|reason| ProfileError::Docker {
            args: "connect".into(),
            reason,
        })?;
        let client = Arc::new(client);
        let name = &spec.container.image;
        let image = match client.image_config(name) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(ProfileError::Usage(format!(
                    "image '{name}' is not on the local engine (dropcap profile never pulls; \
                     run `docker pull {name}` first)"
                )))
            }
            Err(e) if e.to_string().contains("invalid reference format") => {
                let text = e.to_string();
                let why = text
                    .split_once("invalid reference format")
                    .map(|(_, why)| why.trim_start_matches(':').trim())
                    .filter(|why| !why.is_empty())
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default();
                return Err(ProfileError::Usage(format!(
                    "--image '{name}' is not a valid image reference{why}"
                )));
            }
            Err(e) => return Err(engine_err("image inspect", e)),
        };
        let argv = create::argv(&spec.container, &image);
        if argv.is_empty() {
            return Err(ProfileError::Usage(format!(
                "image '{name}' has no ENTRYPOINT or CMD; say what to run with --cmd"
            )));
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000)
            .unwrap_or(0);
        // Two runners of one process in the same millisecond still get their own names.
        static RUNNERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let seq = RUNNERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seq = if seq == 0 {
            String::new()
        } else {
            format!("r{seq}")
        };
        Ok(DockerRunner {
            session: format!("dropcap-profile-{}-{stamp}{seq}", std::process::id()),
            deadlines: Deadlines::new(spec.timeout),
            spec,
            remover: Rc::new(Remover::new(client.clone())),
            client,
            image,
            argv,
            n: 0,
            gate_works: true,
            sysctls: None,
            low_ports: Default::default(),
        })
    }

    /// Waits until every trial container so far is removed. Trials are removed in the
    /// background; whoever removes what a trial used (a per-trial volume or bind copy) calls
    /// this first, or the engine refuses ("volume is in use").
    pub fn wait_removed(&self) {
        self.remover.wait_idle();
    }

    /// The user the workload runs as: the definition's, else the image's (`None`: root).
    pub fn effective_user(&self) -> Option<String> {
        self.spec
            .container
            .user
            .clone()
            .or_else(|| self.image.user.clone())
            .filter(|u| !u.is_empty())
    }

    fn look(&self, id: &str, tail: &Tail) -> Result<Seen, ProfileError> {
        let (_, st) = self
            .client
            .state(id)
            .map_err(|e| engine_err("inspect", e))?;
        if st.running && st.pid > 0 {
            return Ok(Seen::Running(st.pid));
        }
        if st.status == "created" && st.error.is_empty() {
            // Not started yet (start returned before the state was written).
            return Ok(Seen::Running(0));
        }
        let mut why = describe_code(st.exit_code, tail.last_line());
        if !st.error.is_empty() && st.exit_code != 0 && tail.last_line().is_none() {
            why = format!("exited {}: {}", st.exit_code, one_line(&st.error));
        }
        if st.oom_killed {
            why.push_str(" (out of memory)");
        }
        Ok(Seen::Ended(st.exit_code, why))
    }

    /// One attempt of the check, bounded by `limit`; false on any failure to run it.
    fn attempt(&self, id: &str, pid: u32, limit: Duration) -> Result<bool, ProfileError> {
        Ok(match &self.spec.check {
            Check::ExitZero | Check::StaysUp { .. } => false,
            Check::Http { port, path } => {
                let (port, path) = (*port, path.clone());
                in_netns(pid, move || super::check::http_ok(port, &path, limit)).unwrap_or(false)
            }
            Check::Command { command } => {
                self.exec_ok(id, &["/bin/sh".into(), "-c".into(), command.clone()], limit)?
            }
            Check::Probe(p) => match &p.action {
                ProbeAction::Shell(c) => {
                    self.exec_ok(id, &["/bin/sh".into(), "-c".into(), c.clone()], limit)?
                }
                ProbeAction::Exec(argv) => self.exec_ok(id, argv, limit)?,
                action => {
                    let action = action.clone();
                    in_netns(pid, move || probe::network_ok(&action, limit)).unwrap_or(false)
                }
            },
        })
    }

    /// Runs `argv` in the container; true when it exits 0 within `limit`.
    fn exec_ok(&self, id: &str, argv: &[String], limit: Duration) -> Result<bool, ProfileError> {
        super::exec_in::exec_ok(&self.client, id, argv, limit)
    }

    /// Judges the started workload until `deadline`.
    fn judge(
        &mut self,
        id: &str,
        tail: &Tail,
        ran: Instant,
        deadline: Instant,
        session: &mut Session,
    ) -> Result<(bool, String), ProfileError> {
        let check = self.spec.check.clone();
        // A probe fails when the engine would have declared it unhealthy, if that is sooner.
        let (deadline, gives_up) = match &check {
            Check::Probe(p) => {
                let at = ran + probe::unhealthy_after(p);
                (deadline.min(at), at <= deadline)
            }
            _ => (deadline, false),
        };
        let attempt_limit = match &check {
            Check::Probe(p) => probe::attempt_limit(p),
            _ => ATTEMPT_LIMIT,
        };
        let mut last_pump = Instant::now();
        let mut next_attempt = ran;
        loop {
            interrupt::check()?;
            pump(session, &mut last_pump)?;
            let pid = match self.look(id, tail)? {
                Seen::Ended(_, why) if check.long_running() => {
                    return Ok((false, format!("{why} before the check passed")))
                }
                Seen::Ended(code, why) => return Ok((code == 0, why)),
                Seen::Running(pid) => pid,
            };
            let now = Instant::now();
            if now >= deadline {
                let limit = deadline.saturating_duration_since(ran);
                return Ok((
                    false,
                    if gives_up {
                        format!("unhealthy: the probe did not pass within {}", secs(limit))
                    } else if check.long_running() {
                        format!("check did not pass within {}", secs(limit))
                    } else {
                        format!("timed out after {}", secs(limit))
                    },
                ));
            }
            let ok = match &check {
                Check::ExitZero => false,
                Check::StaysUp { seconds } => ran.elapsed() >= Duration::from_secs(*seconds),
                _ if pid == 0 || now < next_attempt => false,
                _ => {
                    let limit = attempt_limit.min(deadline - now);
                    next_attempt = now + ATTEMPT_GAP;
                    self.attempt(id, pid, limit)?
                }
            };
            if ok {
                self.deadlines.passed(ran.elapsed());
                if pid > 0 {
                    self.low_ports.extend(low_ports(pid));
                }
                return Ok((true, format!("check passed: {}", check.describe())));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Creates, attaches and starts one trial container.
    fn launch(
        &mut self,
        caps: TrialCaps,
        gated: bool,
        tail: &Tail,
    ) -> Result<Launched, ProfileError> {
        self.n += 1;
        let name = format!("{}-{}", self.session, self.n);
        let body = create::body(&self.spec.container, &self.argv, caps, gated, &self.session);
        let id = self
            .client
            .create(&name, &body)
            .map_err(|e| engine_err("create", e))?;
        let mut live = Live {
            remover: self.remover.clone(),
            id,
            stream: None,
        };
        let stream = self
            .client
            .attach(&live.id, gated)
            .map_err(|e| engine_err("attach", e))?;
        if let Ok(r) = stream.try_clone() {
            tail.drain_engine(r);
        }
        live.stream = Some(stream);
        if let Err(e) = self.client.start(&live.id) {
            let text = e.to_string();
            if gated && text.contains("/bin/sh") {
                // No shell in the image: run ungated from now on (the tracer then attaches a
                // moment after the start).
                self.gate_works = false;
                return Ok(Launched::NoShell);
            }
            // A process the runtime cannot exec for want of a capability (a file capability
            // outside the bounding set) is the trial's result, not an error.
            let lower = text.to_ascii_lowercase();
            if lower.contains("operation not permitted") || lower.contains("permission denied") {
                return Ok(Launched::Refused(
                    live,
                    format!("did not start: {}", one_line(&text)),
                ));
            }
            return Err(engine_err("start", e));
        }
        Ok(Launched::Started(live))
    }

    fn trial_inner(
        &mut self,
        caps: TrialCaps,
        mut tracer: Option<&mut dyn Tracer>,
    ) -> Result<TrialResult, ProfileError> {
        let started = Instant::now();
        // Hold the workload when something must happen before it starts: attaching a tracer,
        // or reading the sysctls of its network namespace once.
        let gated = self.gate_works && (tracer.is_some() || self.sysctls.is_none());
        let tail = Tail::default();
        let (mut live, refused) = match self.launch(caps, gated, &tail)? {
            Launched::Started(live) => (live, None),
            Launched::Refused(live, why) => (live, Some(why)),
            Launched::NoShell => return self.trial_inner(caps, tracer),
        };
        let mut session: Session = None;
        let mut late = false;
        let hold_until = Instant::now() + self.spec.timeout;
        let first_pid = loop {
            interrupt::check()?;
            match self.look(&live.id, &tail)? {
                Seen::Running(0) if Instant::now() < hold_until => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Seen::Running(pid) => break Some(pid).filter(|p| *p > 0),
                Seen::Ended(..) => break None,
            }
        };
        if let Some(pid) = first_pid {
            let target = TraceTarget::Container {
                id: live.id.clone(),
                pid,
            };
            if gated {
                if let Some(t) = tracer.as_mut() {
                    session = Some(t.start(&target)?);
                }
                if self.sysctls.is_none() {
                    self.sysctls = Some(
                        SYSCTLS
                            .iter()
                            .filter_map(|k| net_sysctl(pid, k).map(|v| (k.to_string(), v)))
                            .collect(),
                    );
                }
                if let Some(s) = live.stream.as_mut() {
                    let _ = s.write_all(b"go\n");
                    s.close_write();
                }
            } else if let Some(t) = tracer.as_mut() {
                late = true;
                // A workload that already ended leaves no cgroup to attach to: then this
                // trial is simply untraced, and the verification runs decide.
                session = t.start(&target).ok();
            }
        } else if !gated && tracer.is_some() {
            late = true;
        }
        let ran = Instant::now();
        let deadline = ran + self.deadlines.current();
        let (passed, reason) = match refused {
            Some(why) => (false, why),
            None => self.judge(&live.id, &tail, ran, deadline, &mut session)?,
        };
        if passed && !self.spec.check.long_running() {
            self.deadlines.passed(ran.elapsed());
        }
        let mut traced = match session {
            Some(s) => Some(s.stop()?),
            None if late => Some(Traced::default()),
            None => None,
        };
        if let Some(t) = traced.as_mut() {
            t.attached_late = late;
        }
        if let Some(s) = live.stream.take() {
            s.close();
        }
        drop(live);
        Ok(TrialResult {
            passed,
            reason,
            duration: started.elapsed(),
            traced,
        })
    }
}

/// One check attempt's own limit: a request the workload accepts and never answers (nginx's
/// master after its workers died) must not eat the trial.
const ATTEMPT_LIMIT: Duration = Duration::from_secs(2);
/// Pause between two attempts of the check.
const ATTEMPT_GAP: Duration = Duration::from_millis(100);

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 || s.fract() < 0.05 {
        format!("{}s", s.round())
    } else {
        format!("{s:.1}s")
    }
}

fn one_line(s: &str) -> String {
    crate::engine::one_line(s)
}

impl Runner for DockerRunner {
    fn target(&self) -> Target {
        let c = &self.spec.container;
        Target::Image {
            image: c.image.clone(),
            argv: self.argv.clone(),
            cmd: c.cmd.clone(),
            user: c.user.clone(),
            network: c.network.clone(),
            sysctls: c.sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            engine: self.client.describe(),
            session: self.session.clone(),
        }
    }

    fn check(&self) -> &Check {
        &self.spec.check
    }

    fn default_set(&self) -> CapSet {
        match self.client.kind() {
            EngineKind::Docker => CapSet::docker_default(),
            EngineKind::Podman => CapSet::podman_default(),
        }
    }

    fn default_name(&self) -> String {
        match self.client.kind() {
            EngineKind::Docker => "Docker default",
            EngineKind::Podman => "Podman default",
        }
        .to_string()
    }

    fn trial(
        &mut self,
        caps: TrialCaps,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<TrialResult, ProfileError> {
        self.trial_inner(caps, tracer)
    }

    fn sysctls(&self) -> Vec<(String, String)> {
        self.sysctls.clone().unwrap_or_default()
    }

    fn low_ports(&self) -> Vec<u16> {
        self.low_ports.iter().copied().collect()
    }

    fn non_root_user(&self) -> Option<String> {
        self.effective_user()
            .filter(|u| !super::runner::is_root_user(u))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_short() {
        use std::time::Duration;
        assert_eq!(super::secs(Duration::from_secs(30)), "30s");
        assert_eq!(super::secs(Duration::from_millis(3500)), "3.5s");
        assert_eq!(super::secs(Duration::from_millis(12_340)), "12s");
    }
}
