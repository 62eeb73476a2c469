//! `dropcap trace` on the real kernel, as root (CI always runs these).

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn busybox() -> &'static str {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("busybox-static is not installed")
}

/// Runs `dropcap --format json trace ARGS` and returns (exit code, JSON lines, stderr).
fn trace_json(args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(common::dropcap_bin())
        .args(["--format", "json", "trace"])
        .args(args)
        .output()
        .expect("run dropcap");
    parse(out)
}

fn parse(out: std::process::Output) -> (i32, Vec<Value>, String) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn events(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["type"] == "event").collect()
}

fn summary(lines: &[Value]) -> &Value {
    let s = lines.last().expect("no output");
    assert_eq!(s["type"], "summary", "last line must be the summary: {s}");
    s
}

fn has(lines: &[Value], cap: &str, verdict: &str, audit: bool) -> bool {
    events(lines)
        .iter()
        .any(|e| e["cap"] == cap && e["verdict"] == verdict && e["audit"] == audit)
}

fn dump(lines: &[Value]) -> String {
    lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn ping_shows_net_raw_granted() {
    if !common::is_root("ping_shows_net_raw_granted") {
        return;
    }
    let (code, lines, err) = trace_json(&["--", busybox(), "ping", "-c1", "127.0.0.1"]);
    assert_eq!(code, 0, "stderr: {err}\n{}", dump(&lines));
    let ev = events(&lines);
    let raw = ev
        .iter()
        .find(|e| e["cap"] == "NET_RAW")
        .unwrap_or_else(|| panic!("no NET_RAW check:\n{}", dump(&lines)));
    assert_eq!(raw["verdict"], "granted");
    assert_eq!(raw["audit"], true);
    assert_eq!(raw["syscall"], "socket");
    assert_eq!(raw["comm"], "busybox");
    let s = summary(&lines);
    assert!(s["granted"].as_array().unwrap().contains(&"NET_RAW".into()));
    assert_eq!(s["lost"], 0);
    assert_eq!(s["seen"], s["delivered"]);
    assert_eq!(s["exit_code"], 0);
}

#[test]
fn ping_without_net_raw_in_bounding_set_shows_denied() {
    if !common::is_root("ping_without_net_raw_in_bounding_set_shows_denied") {
        return;
    }
    let cmd = format!(
        "exec {} --format json trace -- {} ping -c1 127.0.0.1",
        common::dropcap_bin().display(),
        busybox()
    );
    let out = Command::new("capsh")
        .args(["--drop=cap_net_raw", "--", "-c", &cmd])
        .output()
        .expect("run capsh (apt-get install libcap2-bin)");
    let (code, lines, err) = parse(out);
    assert!(
        has(&lines, "NET_RAW", "denied", true),
        "stderr: {err}\n{}",
        dump(&lines)
    );
    assert!(!has(&lines, "NET_RAW", "granted", true));
    let s = summary(&lines);
    assert!(s["denied"].as_array().unwrap().contains(&"NET_RAW".into()));
    assert_eq!(s["exit_code"], 1, "busybox ping fails without NET_RAW");
    assert_eq!(code, 1, "a denied audited check is a finding");
}

#[test]
fn chown_shows_chown() {
    if !common::is_root("chown_shows_chown") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let (code, lines, err) = trace_json(&["--", "chown", "1:1", file.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    let chown = events(&lines)
        .into_iter()
        .find(|e| e["cap"] == "CHOWN")
        .unwrap_or_else(|| panic!("no CHOWN check:\n{}", dump(&lines)));
    assert_eq!(chown["verdict"], "granted");
    assert_eq!(chown["own_cred"], true);
    assert!(
        ["chown", "fchownat", "lchown", "fchown"].contains(&chown["syscall"].as_str().unwrap()),
        "{chown}"
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().uid(),
        1,
        "the command really ran"
    );
}

#[test]
fn bind_below_1024_shows_net_bind_service() {
    if !common::is_root("bind_below_1024_shows_net_bind_service") {
        return;
    }
    // A fresh network namespace: nothing can reach the listener and no port can collide.
    let (_code, lines, err) = trace_json(&[
        "--",
        "unshare",
        "-n",
        "timeout",
        "0.5",
        busybox(),
        "nc",
        "-l",
        "-p",
        "80",
    ]);
    let ev = events(&lines);
    let bind = ev
        .iter()
        .find(|e| e["cap"] == "NET_BIND_SERVICE")
        .unwrap_or_else(|| panic!("no NET_BIND_SERVICE check: {err}\n{}", dump(&lines)));
    assert_eq!(bind["verdict"], "granted");
    assert_eq!(bind["syscall"], "bind");
    assert_eq!(bind["audit"], true);
}

#[test]
fn noaudit_probes_are_marked_and_hidden_by_audit_only() {
    if !common::is_root("noaudit_probes_are_marked_and_hidden_by_audit_only") {
        return;
    }
    let (_, all, _) = trace_json(&["--", busybox(), "true"]);
    let probes: Vec<_> = events(&all)
        .into_iter()
        .filter(|e| e["cap"] == "SYS_ADMIN" && e["audit"] == false)
        .collect();
    assert!(
        !probes.is_empty(),
        "exec and mmap make vm_enough_memory's CAP_SYS_ADMIN probe:\n{}",
        dump(&all)
    );
    assert!(
        !has(&all, "SYS_ADMIN", "granted", true),
        "busybox true needs no CAP_SYS_ADMIN, so no audited check:\n{}",
        dump(&all)
    );
    let s = summary(&all);
    assert!(s["noaudit_only"]
        .as_array()
        .unwrap()
        .contains(&"SYS_ADMIN".into()));
    assert!(!s["granted"]
        .as_array()
        .unwrap()
        .contains(&"SYS_ADMIN".into()));

    let (_, filtered, _) = trace_json(&["--audit-only", "--", busybox(), "true"]);
    assert!(
        events(&filtered).iter().all(|e| e["audit"] == true),
        "{}",
        dump(&filtered)
    );
    assert_eq!(summary(&filtered)["type"], "summary");
}

#[test]
fn unique_prints_each_check_once() {
    if !common::is_root("unique_prints_each_check_once") {
        return;
    }
    let (_, lines, _) = trace_json(&["--unique", "--", busybox(), "true"]);
    let mut keys: Vec<String> = events(&lines)
        .iter()
        .map(|e| format!("{} {} {}", e["pid"], e["cap"], e["verdict"]))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(n, keys.len(), "{}", dump(&lines));
    assert!(n > 0);
    // The summary still counts every check.
    let s = summary(&lines);
    assert!(s["delivered"].as_u64().unwrap() >= n as u64);
}

#[test]
fn command_that_cannot_start_is_a_clean_error() {
    if !common::is_root("command_that_cannot_start_is_a_clean_error") {
        return;
    }
    let out = Command::new(common::dropcap_bin())
        .args(["trace", "--", "dropcap-no-such-command"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dropcap-no-such-command: command not found"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, b"\x7fELF-not-really").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(common::dropcap_bin())
        .args(["trace", "--"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot run"), "{err}");
}

#[test]
fn missing_privilege_is_named() {
    if !common::is_root("missing_privilege_is_named") {
        return;
    }
    let cmd = format!("exec {} trace -- true", common::dropcap_bin().display());
    let out = Command::new("capsh")
        .args(["--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c", &cmd])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs root, or CAP_BPF and CAP_PERFMON"),
        "{err}"
    );
    assert!(
        err.contains("CAP_BPF") && err.contains("CAP_PERFMON"),
        "{err}"
    );
}

/// Spawns `dropcap --format json trace ARGS` and waits for its `start` line.
struct Live {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Live {
    fn start(args: &[&str]) -> Live {
        let mut child = Command::new(common::dropcap_bin())
            .args(["--format", "json", "trace"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("dropcap printed no start line");
        let v: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(v["type"], "start", "{first}");
        Live { child, lines: rx }
    }

    /// Reads until dropcap ends by itself (30 s at most).
    fn collect_until_exit(mut self) -> (i32, Vec<Value>) {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(l) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(serde_json::from_str(&l).unwrap());
        }
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), out)
    }

    fn interrupt_and_collect(self) -> (i32, Vec<Value>) {
        self.signal_and_collect(libc::SIGINT)
    }

    fn signal_and_collect(mut self, sig: i32) -> (i32, Vec<Value>) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(l) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(serde_json::from_str(&l).unwrap());
        }
        // Already exited when its stdout closed; a dropcap that hangs must not hang the test.
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), out)
    }
}

#[test]
fn container_trace_sees_docker_exec() {
    if !common::is_root("container_trace_sees_docker_exec")
        || !common::docker_available("container_trace_sees_docker_exec")
    {
        return;
    }
    let image = common::test_image();
    let c = common::container("trace", &[image, "sleep", "120"], true);
    let id = String::from_utf8(common::docker(&["inspect", "-f", "{{.Id}}", &c.0]).stdout)
        .unwrap()
        .trim()
        .to_string();
    let live = Live::start(&["--container", &c.0]);
    common::docker(&["exec", &c.0, "chown", "1:1", "/tmp"]);
    let (code, lines) = live.interrupt_and_collect();
    let chown = events(&lines)
        .into_iter()
        .find(|e| e["cap"] == "CHOWN" && e["comm"] == "chown" && e["own_cred"] == true)
        .unwrap_or_else(|| panic!("no CHOWN check from docker exec:\n{}", dump(&lines)));
    assert_eq!(chown["verdict"], "granted");
    assert_eq!(chown["container"], id.as_str());
    // Only the container's processes: nothing from the host's docker CLI.
    assert!(
        events(&lines).iter().all(|e| e["container"] == id.as_str()),
        "{}",
        dump(&lines)
    );
    let s = summary(&lines);
    assert_eq!(s["lost"], 0);
    assert_eq!(code, 0);
}

#[test]
fn tracer_keeps_only_cap_kill_while_tracing_a_command() {
    if !common::is_root("tracer_keeps_only_cap_kill_while_tracing_a_command") {
        return;
    }
    let live = Live::start(&["--", "sleep", "30"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", live.child.id())).unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim()
        .to_string();
    let bnd = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    // CAP_KILL is bit 5.
    assert_eq!(eff, "0000000000000020", "{status}");
    assert_eq!(bnd, "0000000000000020", "{status}");
    // SIGTERM rather than SIGINT: a shell may start tests with SIGINT ignored, which `sleep`
    // would inherit.
    let (code, lines) = live.signal_and_collect(libc::SIGTERM);
    let s = summary(&lines);
    // The signal was passed on to sleep, which died of it; the summary still came.
    assert_eq!(s["exit_signal"], libc::SIGTERM);
    assert_eq!(code, 0);
}

#[test]
fn pid_trace_follows_children_forked_later_and_ends_with_them() {
    if !common::is_root("pid_trace_follows_children_forked_later_and_ends_with_them") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    let go = dir.path().join("go");
    std::fs::write(&file, b"x").unwrap();
    // The shell forks chown only once the test says go, i.e. after dropcap has attached.
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.05; done; chown 2:2 {file}",
        go = go.display(),
        file = file.display()
    );
    let mut target = Command::new("sh").args(["-c", &script]).spawn().unwrap();
    let pid = target.id().to_string();
    let live = Live::start(&["--pid", &pid]);
    std::fs::write(&go, b"").unwrap();
    target.wait().unwrap();
    let (code, lines) = live.collect_until_exit();
    assert_eq!(
        code, 0,
        "dropcap ends by itself once the process tree is gone"
    );
    let chown = events(&lines)
        .into_iter()
        .find(|e| e["cap"] == "CHOWN")
        .unwrap_or_else(|| panic!("no CHOWN from the forked child:\n{}", dump(&lines)));
    assert_eq!(chown["ppid"].to_string(), pid, "{chown}");
    assert_eq!(chown["comm"], "chown");
    assert_eq!(summary(&lines)["lost"], 0);
}

#[test]
fn pid_trace_of_an_exited_process_is_an_error() {
    if !common::is_root("pid_trace_of_an_exited_process_is_an_error") {
        return;
    }
    // Not reaped yet: a zombie still has its /proc entry but will never exit again.
    let mut zombie = Command::new("true").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(common::dropcap_bin())
        .args(["trace", "--pid", &zombie.id().to_string()])
        .output()
        .unwrap();
    zombie.wait().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no process with pid"), "{err}");
}

#[test]
fn all_sees_any_process_but_not_itself() {
    if !common::is_root("all_sees_any_process_but_not_itself") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let live = Live::start(&["--all"]);
    let tracer_pid = live.child.id();
    let mut chown = Command::new("chown").arg("3:3").arg(&file).spawn().unwrap();
    let chown_pid = chown.id();
    assert!(chown.wait().unwrap().success());
    // Give the 100 ms poll a chance, then stop.
    std::thread::sleep(Duration::from_millis(300));
    let (_code, lines) = live.interrupt_and_collect();
    assert!(
        events(&lines)
            .iter()
            .any(|e| e["pid"] == chown_pid && e["cap"] == "CHOWN" && e["verdict"] == "granted"),
        "no CHOWN from pid {chown_pid}:\n{}",
        dump(&lines)
    );
    assert!(
        events(&lines).iter().all(|e| e["pid"] != tracer_pid),
        "dropcap traced itself"
    );
    assert_eq!(summary(&lines)["type"], "summary");
}

#[test]
fn library_run_records_a_command() {
    if !common::is_root("library_run_records_a_command") {
        return;
    }
    use dropcap::caps::Cap;
    use dropcap::trace::Tracer;
    let cmd: Vec<std::ffi::OsString> = [busybox(), "ping", "-c1", "127.0.0.1"]
        .iter()
        .map(Into::into)
        .collect();
    let rec = Tracer::run(&cmd).expect("trace busybox ping");
    assert!(rec.status.success());
    assert!(
        rec.summary.granted().contains(Cap::NET_RAW),
        "{:?}",
        rec.summary
    );
    assert!(
        !rec.summary.granted().contains(Cap::SYS_ADMIN),
        "{:?}",
        rec.summary
    );
    assert_eq!(rec.summary.lost, 0);
    assert_eq!(rec.summary.delivered, rec.events.len() as u64);
    assert_eq!(rec.summary.seen, rec.summary.delivered);
    let raw = rec.events.iter().find(|e| e.cap == Cap::NET_RAW).unwrap();
    assert!(raw.granted && raw.audit && raw.own_cred);
    assert_eq!(raw.syscall, Some("socket"));
}

/// The way `profile` can catch a container from its very first check: follow the whole
/// Docker cgroup subtree, then keep the events of the container's own cgroup.
#[test]
fn library_cgroup_subtree_sees_a_new_container() {
    if !common::is_root("library_cgroup_subtree_sees_a_new_container")
        || !common::docker_available("library_cgroup_subtree_sees_a_new_container")
    {
        return;
    }
    use dropcap::caps::Cap;
    use dropcap::trace::{cgroup, Target, Tracer};
    let image = common::test_image();
    // A running container makes sure the engine's parent cgroup exists.
    let first = common::container("subtree-a", &[image, "sleep", "60"], true);
    let pid: u32 =
        String::from_utf8(common::docker(&["inspect", "-f", "{{.State.Pid}}", &first.0]).stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
    let own = cgroup::of_pid(pid).unwrap();
    let parent_rel = own
        .path
        .parent()
        .unwrap()
        .strip_prefix(cgroup::v2_mount().unwrap())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let parent = cgroup::at(&cgroup::v2_mount().unwrap(), &parent_rel).unwrap();
    assert_eq!(parent.level + 1, own.level);
    let mut tracer = Tracer::attach(Target::Cgroup(parent)).unwrap();
    // A new container's first process: busybox ping needs NET_RAW.
    let second = common::container("subtree-b", &[image, "ping", "-c1", "127.0.0.1"], true);
    let status = common::docker(&["wait", &second.0]);
    assert_eq!(String::from_utf8_lossy(&status.stdout).trim(), "0");
    let mut events = tracer.poll(Duration::from_millis(200)).unwrap();
    let (rest, summary) = tracer.stop().unwrap();
    events.extend(rest);
    assert_eq!(summary.lost, 0);
    let raw = events
        .iter()
        .find(|e| e.cap == Cap::NET_RAW && e.comm == "ping")
        .unwrap_or_else(|| panic!("no NET_RAW from the new container: {events:?}"));
    assert!(raw.granted && raw.audit);
    assert_ne!(
        raw.cgroup_id, own.id,
        "the event is the new container's, not the first's"
    );
}

/// One `clone(CLONE_NEWNS)` makes both kinds of CAP_SYS_ADMIN check: noaudit overcommit
/// probes while copying the memory map, and the audited namespace check. The in-kernel
/// per-path cache must keep them apart (it once keyed on a private-stack address and did not).
#[test]
fn audited_and_noaudit_checks_in_one_syscall_stay_apart() {
    if !common::is_root("audited_and_noaudit_checks_in_one_syscall_stay_apart") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("clonens.c");
    std::fs::write(
        &src,
        r#"#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
static char stack[65536];
static int child(void *a) { return 0; }
int main(void) {
    char *p = malloc(1 << 20); p[0] = 1;
    int pid = clone(child, stack + sizeof stack, CLONE_NEWNS | SIGCHLD, 0);
    if (pid < 0) return 1;
    waitpid(pid, 0, 0);
    return 0;
}
"#,
    )
    .unwrap();
    let bin = dir.path().join("clonens");
    let cc = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc (the Rust toolchain's linker) is needed for this test");
    assert!(cc.success());
    // Twice: the second run hits the warm cache.
    for _ in 0..2 {
        let (code, lines, err) = trace_json(&["--", bin.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let in_clone: Vec<_> = events(&lines)
            .into_iter()
            .filter(|e| e["cap"] == "SYS_ADMIN" && e["syscall"] == "clone")
            .collect();
        assert!(
            in_clone.iter().any(|e| e["audit"] == true),
            "the CLONE_NEWNS check is audited:\n{}",
            dump(&lines)
        );
        assert!(
            in_clone.iter().any(|e| e["audit"] == false),
            "copying the memory map probes vm_enough_memory:\n{}",
            dump(&lines)
        );
    }
}

/// An unreadable (non-UTF-8) DOCKER_HOST is still a host the user chose: refused when it is
/// not a unix socket, never replaced by the default socket.
#[test]
fn non_utf8_docker_host_is_not_the_default_socket() {
    if !common::is_root("non_utf8_docker_host_is_not_the_default_socket") {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(common::dropcap_bin())
        .args(["trace", "--container", "dropcap-no-such-container"])
        .env(
            "DOCKER_HOST",
            std::ffi::OsStr::from_bytes(b"tcp://\xff:2375"),
        )
        .output()
        .expect("run dropcap");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a unix socket"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
