//! Trials as containers on the local engine, through the docker CLI (which honours
//! DOCKER_HOST and contexts the way users expect).
//!
//! Every container is named `dropcap-profile-<pid>-<time>-<n>`, labelled
//! `io.dropcap.profile=<session>`, run with `--rm`, and force-removed by a guard when a trial
//! times out, is interrupted, or dropcap unwinds for any other reason.

use super::check::{http_ok, in_netns, low_ports, net_sysctl, Check};
use super::runner::{
    describe_exit, pump, start_trace, wait_until, Runner, Session, Tail, Target, TrialCaps,
    TrialResult, Waited,
};
use super::trace::{TraceTarget, Traced, Tracer};
use super::{interrupt, ProfileError};
use crate::caps::CapSet;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Label on every container dropcap profile creates, valued with the session name.
pub const LABEL: &str = "io.dropcap.profile";

/// Holds the workload until the tracer is attached: the container starts a shell that waits for
/// one line on stdin, then execs the real command line unchanged.
const GATE: &str = r#"read -r _ && exec "$@""#;

/// Sysctls that decide whether a capability is needed at all, read inside a trial container.
pub const SYSCTLS: [&str; 2] = [
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
];

#[derive(Debug, Clone)]
pub struct DockerSpec {
    pub image: String,
    /// Replaces the image's CMD, as `docker run IMAGE ARGS` does.
    pub cmd: Option<Vec<String>>,
    pub user: Option<String>,
    pub network: String,
    /// `--sysctl KEY=VALUE` for every trial, to profile under production's sysctls.
    pub sysctls: Vec<String>,
    pub check: Check,
    pub timeout: Duration,
}

pub struct DockerRunner {
    spec: DockerSpec,
    argv: Vec<String>,
    session: String,
    n: u32,
    engine: String,
    /// False once a gated start failed because the image has no /bin/sh.
    gate_works: bool,
    sysctls: Option<Vec<(String, String)>>,
    low_ports: std::collections::BTreeSet<u16>,
}

/// How dockerd and the CLI say that an image name cannot be parsed.
const BAD_REFERENCE: &str = "invalid reference format";

/// One docker CLI call, killed after `limit`: the CLI itself waits for ever on an engine that
/// accepts the connection and never answers. The child stays ours until it is reaped, so the
/// kill can never reach a recycled pid.
fn docker_out(args: &[&str], limit: Duration) -> Result<String, ProfileError> {
    let mut child = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ProfileError::Docker {
            args: args.join(" "),
            reason: format!("cannot run the docker CLI: {e}"),
        })?;
    // Drained on their own threads so a chatty CLI cannot block on a full pipe meanwhile.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(docker_failed(
                    args,
                    &format!(
                        "no answer within {} s (is the engine hung?)",
                        limit.as_secs_f64()
                    ),
                ));
            }
            Err(e) => return Err(docker_failed(args, &e.to_string())),
        }
    };
    let out = std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    if !out.status.success() {
        return Err(docker_failed(args, &String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Errors are one line: a `--format` template and the CLI's stderr may both hold newlines.
fn docker_failed(args: &[&str], stderr: &str) -> ProfileError {
    let one_line = |s: &str| {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    ProfileError::Docker {
        args: args
            .iter()
            .map(|a| a.replace('\n', "\\n"))
            .collect::<Vec<_>>()
            .join(" "),
        reason: one_line(stderr),
    }
}

/// How long removing one trial container may take before dropcap gives up on it.
const CLEANUP_LIMIT: Duration = Duration::from_secs(30);

/// Removes the container (and kills the CLI that runs it) unless it already ended by itself.
struct Live {
    name: String,
    child: Child,
    clean: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        if self.clean {
            return;
        }
        // Bounded like every other CLI call: a hung engine must not hang the cleanup (and so
        // Ctrl-C) for ever. What could not be removed is said, so it can be removed by hand.
        if let Err(e) = docker_out(&["rm", "-f", "-v", &self.name], CLEANUP_LIMIT) {
            if !e.to_string().contains("No such container") {
                crate::say!(
                    "dropcap: profile: trial container {} may be left: {e}",
                    self.name
                );
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DockerRunner {
    pub fn new(spec: DockerSpec) -> Result<DockerRunner, ProfileError> {
        let version = docker_out(
            &["version", "--format", "{{.Server.Version}}"],
            spec.timeout,
        )?;
        let cfg = docker_out(
            &[
                "image",
                "inspect",
                "--format",
                "{{json .Config.Entrypoint}}\n{{json .Config.Cmd}}",
                &spec.image,
            ],
            spec.timeout,
        )
        .map_err(|e| match e {
            // Checked first: dockerd words this one "no such image: NAME: invalid reference".
            ProfileError::Docker { reason, .. } if reason.contains(BAD_REFERENCE) => {
                let why = reason
                    .split_once(BAD_REFERENCE)
                    .map(|(_, why)| why.trim_start_matches(':').trim())
                    .filter(|why| !why.is_empty())
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default();
                ProfileError::Usage(format!(
                    "--image '{}' is not a valid image reference{why}",
                    spec.image
                ))
            }
            ProfileError::Docker { reason, .. } if reason.contains("No such image") => {
                ProfileError::Usage(format!(
                    "image '{}' is not on the local engine (dropcap profile never pulls; \
                     run `docker pull {}` first)",
                    spec.image, spec.image
                ))
            }
            other => other,
        })?;
        let mut lines = cfg.lines();
        let parse = |l: Option<&str>| -> Vec<String> {
            l.and_then(|l| serde_json::from_str::<Option<Vec<String>>>(l).ok())
                .flatten()
                .unwrap_or_default()
        };
        let mut argv = parse(lines.next());
        let image_cmd = parse(lines.next());
        argv.extend(spec.cmd.clone().unwrap_or(image_cmd));
        if argv.is_empty() {
            return Err(ProfileError::Usage(format!(
                "image '{}' has no ENTRYPOINT or CMD; say what to run with --cmd",
                spec.image
            )));
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000)
            .unwrap_or(0);
        Ok(DockerRunner {
            session: format!("dropcap-profile-{}-{stamp}", std::process::id()),
            spec,
            argv,
            n: 0,
            engine: format!("docker {version}"),
            gate_works: true,
            sysctls: None,
            low_ports: Default::default(),
        })
    }

    fn run_args(&self, name: &str, caps: TrialCaps, gated: bool) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            "--rm".into(),
            "--name".into(),
            name.into(),
            "--label".into(),
            format!("{LABEL}={}", self.session),
            "--network".into(),
            self.spec.network.clone(),
        ];
        if let Some(u) = &self.spec.user {
            a.extend(["--user".into(), u.clone()]);
        }
        for kv in &self.spec.sysctls {
            a.extend(["--sysctl".into(), kv.clone()]);
        }
        if let TrialCaps::Exactly(set) = caps {
            a.extend(["--cap-drop".into(), "ALL".into()]);
            for c in set.iter() {
                a.extend(["--cap-add".into(), c.name()]);
            }
        }
        if gated {
            a.extend([
                "-i".into(),
                "--entrypoint".into(),
                "/bin/sh".into(),
                self.spec.image.clone(),
                "-c".into(),
                GATE.into(),
                "sh".into(),
            ]);
            a.extend(self.argv.iter().cloned());
        } else {
            a.push(self.spec.image.clone());
            if let Some(cmd) = &self.spec.cmd {
                a.extend(cmd.iter().cloned());
            }
        }
        a
    }

    fn spawn(&self, args: &[String], gated: bool, tail: &Tail) -> Result<Child, ProfileError> {
        let mut child = Command::new("docker")
            .args(args)
            .stdin(if gated { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Our own process group: the terminal's Ctrl-C reaches dropcap only, which then
            // removes the container itself.
            .process_group(0)
            .spawn()
            .map_err(|e| ProfileError::Docker {
                args: "run".into(),
                reason: format!("cannot run the docker CLI: {e}"),
            })?;
        if let Some(o) = child.stdout.take() {
            tail.drain_stdout(o);
        }
        if let Some(e) = child.stderr.take() {
            tail.drain_stderr(e);
        }
        Ok(child)
    }

    /// Waits until the held container runs; `None` when the CLI ended first.
    fn wait_running(
        &self,
        live: &mut Live,
        deadline: Instant,
    ) -> Result<Option<(String, u32)>, ProfileError> {
        loop {
            interrupt::check()?;
            if live.child.try_wait().ok().flatten().is_some() {
                return Ok(None);
            }
            if let Ok(s) = docker_out(
                &[
                    "inspect",
                    "--format",
                    "{{.Id}} {{.State.Pid}} {{.State.Running}}",
                    &live.name,
                ],
                self.spec.timeout,
            ) {
                let f: Vec<&str> = s.split_whitespace().collect();
                if let [id, pid, "true"] = f[..] {
                    if let Ok(pid) = pid.parse::<u32>() {
                        if pid > 0 {
                            return Ok(Some((id.to_string(), pid)));
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn container_pid(name: &str, limit: Duration) -> Option<u32> {
        docker_out(&["inspect", "--format", "{{.State.Pid}}", name], limit)
            .ok()?
            .parse()
            .ok()
            .filter(|p| *p > 0)
    }

    /// Judges a long-running workload: passes when the check passes while it runs.
    fn judge_running(
        &mut self,
        live: &mut Live,
        tail: &Tail,
        deadline: Instant,
        started: Instant,
        session: &mut Session,
    ) -> Result<(bool, String), ProfileError> {
        let mut pid: Option<u32> = None;
        let mut last = Instant::now();
        loop {
            interrupt::check()?;
            pump(session, &mut last)?;
            if let Some(st) = live
                .child
                .try_wait()
                .map_err(|e| ProfileError::io("waiting for docker run", e))?
            {
                live.clean = true;
                return Ok((
                    false,
                    format!(
                        "{} before the check passed",
                        describe_exit(st, tail.last_line())
                    ),
                ));
            }
            if Instant::now() >= deadline {
                return Ok((
                    false,
                    format!("check did not pass within {}s", self.spec.timeout.as_secs()),
                ));
            }
            let ok = match &self.spec.check {
                Check::ExitZero => false,
                Check::StaysUp { seconds } => started.elapsed() >= Duration::from_secs(*seconds),
                Check::Http { port, path } => {
                    if pid.is_none() {
                        pid = Self::container_pid(&live.name, self.spec.timeout);
                    }
                    match pid {
                        Some(p) => in_netns(p, || http_ok(*port, path)).unwrap_or(false),
                        None => false,
                    }
                }
                Check::Command { command } => self.exec_check(&live.name, command, deadline)?,
            };
            if ok {
                if let Some(p) = pid.or_else(|| Self::container_pid(&live.name, self.spec.timeout))
                {
                    self.low_ports.extend(low_ports(p));
                }
                return Ok((
                    true,
                    format!("check passed: {}", self.spec.check.describe()),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn exec_check(
        &self,
        name: &str,
        command: &str,
        deadline: Instant,
    ) -> Result<bool, ProfileError> {
        let mut child = match Command::new("docker")
            .args(["exec", name, "/bin/sh", "-c", command])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
        {
            Ok(c) => c,
            Err(_) => return Ok(false),
        };
        match wait_until(&mut child, deadline, &mut None) {
            Ok(Waited::Exited(st)) => Ok(st.success()),
            Ok(Waited::TimedOut) => {
                let _ = child.kill();
                let _ = child.wait();
                Ok(false)
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    fn trial_inner(
        &mut self,
        caps: TrialCaps,
        mut tracer: Option<&mut dyn Tracer>,
    ) -> Result<TrialResult, ProfileError> {
        let started = Instant::now();
        self.n += 1;
        let name = format!("{}-{}", self.session, self.n);
        // Hold the workload when something must happen before it starts: attaching a tracer,
        // or reading the sysctls of its network namespace once.
        let gated = self.gate_works && (tracer.is_some() || self.sysctls.is_none());
        let args = self.run_args(&name, caps, gated);
        let tail = Tail::default();
        let child = self.spawn(&args, gated, &tail)?;
        let mut live = Live {
            name: name.clone(),
            child,
            clean: false,
        };
        let mut session = None;
        let mut late = false;
        if gated {
            let hold_deadline = Instant::now() + self.spec.timeout;
            match self.wait_running(&mut live, hold_deadline)? {
                Some((id, pid)) => {
                    session = start_trace(&mut tracer, &TraceTarget::Container { id, pid })?;
                    if self.sysctls.is_none() {
                        self.sysctls = Some(
                            SYSCTLS
                                .iter()
                                .filter_map(|k| net_sysctl(pid, k).map(|v| (k.to_string(), v)))
                                .collect(),
                        );
                    }
                    if let Some(mut stdin) = live.child.stdin.take() {
                        let _ = stdin.write_all(b"go\n");
                    }
                }
                None => {
                    let st = live.child.try_wait().ok().flatten();
                    live.clean = st.is_some();
                    let msg = tail
                        .docker_error()
                        .or_else(|| tail.last_line())
                        .unwrap_or_default();
                    if msg.contains("/bin/sh") {
                        // No shell in the image: run ungated from now on (the tracer then
                        // attaches a moment after the start).
                        self.gate_works = false;
                        drop(live);
                        self.n -= 1;
                        return self.trial_inner(caps, tracer);
                    }
                    return Err(ProfileError::Docker {
                        args: "run".into(),
                        reason: format!("the trial container did not start: {msg}"),
                    });
                }
            }
        } else if let Some(t) = tracer {
            late = true;
            let hold = Instant::now() + self.spec.timeout;
            if let Some((id, pid)) = self.wait_running(&mut live, hold)? {
                // A workload that already ended leaves no cgroup to attach to: then this
                // trial is simply untraced, and the verification runs decide.
                session = t.start(&TraceTarget::Container { id, pid }).ok();
            }
        }
        let deadline = Instant::now() + self.spec.timeout;
        let (passed, reason) = if self.spec.check.long_running() {
            self.judge_running(&mut live, &tail, deadline, started, &mut session)?
        } else {
            match wait_until(&mut live.child, deadline, &mut session)? {
                Waited::Exited(st) => {
                    live.clean = true;
                    if st.code() == Some(125) {
                        return Err(ProfileError::Docker {
                            args: "run".into(),
                            reason: tail
                                .docker_error()
                                .or_else(|| tail.last_line())
                                .unwrap_or_else(|| "exit 125".into()),
                        });
                    }
                    (st.success(), describe_exit(st, tail.last_line()))
                }
                Waited::TimedOut => (
                    false,
                    format!("timed out after {}s", self.spec.timeout.as_secs()),
                ),
            }
        };
        let mut traced = match session {
            Some(s) => Some(s.stop()?),
            None if late => Some(Traced::default()),
            None => None,
        };
        if let Some(t) = traced.as_mut() {
            t.attached_late = late;
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

impl Runner for DockerRunner {
    fn target(&self) -> Target {
        Target::Image {
            image: self.spec.image.clone(),
            argv: self.argv.clone(),
            cmd: self.spec.cmd.clone(),
            user: self.spec.user.clone(),
            network: self.spec.network.clone(),
            sysctls: self.spec.sysctls.clone(),
            engine: self.engine.clone(),
            session: self.session.clone(),
        }
    }

    fn check(&self) -> &Check {
        &self.spec.check
    }

    fn default_set(&self) -> CapSet {
        CapSet::docker_default()
    }

    fn default_name(&self) -> String {
        "Docker default".to_string()
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap;

    #[test]
    fn docker_errors_are_one_line() {
        let e = docker_failed(
            &["image", "inspect", "--format", "{{.A}}\n{{.B}}", "Bad!"],
            "Error response from daemon: no such image\n\n  hint: lowercase\n",
        );
        let text = e.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with("no such image; hint: lowercase"), "{text}");
    }

    fn runner() -> DockerRunner {
        DockerRunner {
            spec: DockerSpec {
                image: "img:1".into(),
                cmd: Some(vec!["ping".into(), "-c1".into(), "x y".into()]),
                user: Some("app".into()),
                network: "none".into(),
                sysctls: vec!["net.ipv4.ip_unprivileged_port_start=1024".into()],
                check: Check::ExitZero,
                timeout: Duration::from_secs(5),
            },
            argv: vec!["/entry".into(), "ping".into(), "-c1".into(), "x y".into()],
            session: "dropcap-profile-1-2".into(),
            n: 0,
            engine: "docker test".into(),
            gate_works: true,
            sysctls: None,
            low_ports: Default::default(),
        }
    }

    #[test]
    fn exact_sets_drop_all_and_add_back() {
        let r = runner();
        let a = r.run_args(
            "n1",
            TrialCaps::Exactly(CapSet::EMPTY.with(Cap::NET_RAW).with(Cap::CHOWN)),
            false,
        );
        let s = a.join(" ");
        assert!(s.starts_with("run --rm --name n1 --label io.dropcap.profile=dropcap-profile-1-2 --network none --user app --sysctl net.ipv4.ip_unprivileged_port_start=1024 "), "{s}");
        assert!(
            s.contains("--cap-drop ALL --cap-add CHOWN --cap-add NET_RAW img:1 ping -c1"),
            "{s}"
        );
        assert_eq!(a.last().map(String::as_str), Some("x y"));
        let d = r.run_args("n2", TrialCaps::Default, false).join(" ");
        assert!(!d.contains("--cap-"), "{d}");
    }

    #[test]
    fn the_gate_runs_the_full_original_argv() {
        let a = runner().run_args("n1", TrialCaps::Default, true);
        let at = a.iter().position(|x| x == "img:1").unwrap();
        assert_eq!(&a[at - 3..at], ["-i", "--entrypoint", "/bin/sh"]);
        assert_eq!(
            &a[at + 1..],
            ["-c", GATE, "sh", "/entry", "ping", "-c1", "x y"]
        );
    }
}
