//! `dropcap profile` on real workloads: each must come out exactly, and leave nothing behind.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn profile(args: &[&str]) -> Value {
    let out = Command::cargo_bin("dropcap")
        .unwrap()
        .args(["--format", "json", "profile", "--timeout", "20"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dropcap profile {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_common(&v);
    v
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Invariants every report keeps, whatever the workload.
fn assert_common(v: &Value) {
    assert_eq!(v["schema"], "dropcap.profile/v1");
    let proven = names(&v["proven"]);
    let by = v["proven_by_trial"].as_u64().unwrap() as usize;
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), v["trial_count"].as_u64().unwrap() as usize);
    // Proven means: a real trial passed with exactly this set.
    let t = &trials[by - 1];
    assert_eq!(t["number"].as_u64().unwrap() as usize, by);
    assert!(t["passed"].as_bool().unwrap(), "{t}");
    assert_eq!(names(&t["caps"]), proven);
    // Every kept capability has a failed trial without it; every removed one a passed trial.
    for k in v["evidence"].as_array().unwrap() {
        let n = k["failed_without_trial"].as_u64().unwrap() as usize;
        let ft = &trials[n - 1];
        assert!(!ft["passed"].as_bool().unwrap());
        assert!(!names(&ft["caps"]).contains(&k["cap"].as_str().unwrap().to_string()));
    }
    for r in v["removed"].as_array().unwrap() {
        let n = r["passed_without_trial"].as_u64().unwrap() as usize;
        let pt = &trials[n - 1];
        assert!(pt["passed"].as_bool().unwrap());
        assert!(!names(&pt["caps"]).contains(&r["cap"].as_str().unwrap().to_string()));
    }
    // CI runs as root on a kernel with the tracepoint: the tracer must really be used there.
    if common::in_ci() {
        assert!(
            !v["notes"].to_string().contains("tracer unavailable"),
            "CI must profile with the eBPF tracer: {}",
            v["notes"]
        );
    }
    // Noaudit probes (vm_enough_memory's CAP_SYS_ADMIN) are never candidates.
    if !v["tracer"].is_null() {
        assert!(!names(&v["candidates"]).contains(&"SYS_ADMIN".to_string()));
    }
    assert!(!proven.contains(&"SYS_ADMIN".to_string()));
    // Nothing left behind on the engine.
    if let Some(session) = v["target"]["session"].as_str() {
        let left = common::docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.dropcap.profile={session}"),
        ]);
        assert!(left.stdout.is_empty(), "containers left behind: {session}");
    }
}

fn image_case(test: &str, cmd: &str, extra: &[&str], expect: &[&str]) -> Value {
    let image = common::test_image();
    let mut args = vec!["--image", image, "--cmd", cmd];
    args.extend(extra);
    let v = profile(&args);
    assert_eq!(names(&v["proven"]), expect, "{test}: {v:#}");
    v
}

#[test]
fn image_ping_needs_net_raw() {
    if !common::docker_available("image_ping_needs_net_raw") {
        return;
    }
    image_case("ping", "ping -c1 127.0.0.1", &[], &["NET_RAW"]);
}

#[test]
fn image_chown_needs_chown() {
    if !common::docker_available("image_chown_needs_chown") {
        return;
    }
    image_case(
        "chown",
        "sh -c 'touch /file && chown 1:1 /file'",
        &[],
        &["CHOWN"],
    );
}

#[test]
fn image_true_needs_nothing() {
    if !common::docker_available("image_true_needs_nothing") {
        return;
    }
    let v = image_case("true", "true", &[], &[]);
    assert_eq!(v["recommendation"]["docker_run"], "--cap-drop=ALL", "{v:#}");
}

#[test]
fn image_su_needs_setuid_and_setgid() {
    if !common::docker_available("image_su_needs_setuid_and_setgid") {
        return;
    }
    image_case(
        "su",
        "su -s /bin/sh app -c true",
        &[],
        &["SETGID", "SETUID"],
    );
}

/// Port 80 as root needs NET_BIND_SERVICE, unless the engine sets
/// `net.ipv4.ip_unprivileged_port_start=0` in the container, which it reports and explains.
#[test]
fn image_httpd_port_80() {
    if !common::docker_available("image_httpd_port_80") {
        return;
    }
    let image = common::test_image();
    let start = String::from_utf8(
        common::docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--label",
            "dropcap-test=1",
            image,
            "cat",
            "/proc/sys/net/ipv4/ip_unprivileged_port_start",
        ])
        .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let expect: &[&str] = if start.parse::<u32>().unwrap() <= 80 {
        &[]
    } else {
        &["NET_BIND_SERVICE"]
    };
    let v = image_case(
        "httpd",
        "httpd -f -p 80 -h /var/www",
        &["--http", "80/index.html"],
        expect,
    );
    assert_eq!(
        v["sysctls"]["net.ipv4.ip_unprivileged_port_start"], start,
        "{v:#}"
    );
    if start == "0" {
        let notes = v["notes"].to_string();
        assert!(
            notes.contains("NET_BIND_SERVICE is not needed here"),
            "{notes}"
        );
    }
}

/// Without the tracer the candidates are the whole default set: more trials, same answer.
#[test]
fn no_trace_fallback_still_proves_the_same_set() {
    if !common::docker_available("no_trace_fallback_still_proves_the_same_set") {
        return;
    }
    let v = image_case(
        "ping --no-trace",
        "ping -c1 127.0.0.1",
        &["--no-trace"],
        &["NET_RAW"],
    );
    assert!(v["tracer"].is_null());
    assert_eq!(names(&v["candidates"]).len(), 14);
    assert!(v["notes"].to_string().contains("no capability tracer"));
}

/// The same httpd under production's sysctl (ports below 1024 privileged) needs
/// NET_BIND_SERVICE, found by the trace (bind) and proven by a failed trial without it.
#[test]
fn image_httpd_port_80_with_privileged_ports() {
    if !common::docker_available("image_httpd_port_80_with_privileged_ports") {
        return;
    }
    let v = image_case(
        "httpd sysctl",
        "httpd -f -p 80 -h /var/www",
        &[
            "--http",
            "80/index.html",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=1024",
        ],
        &["NET_BIND_SERVICE"],
    );
    assert_eq!(
        v["sysctls"]["net.ipv4.ip_unprivileged_port_start"], "1024",
        "{v:#}"
    );
}

/// `--check` runs inside the container with `docker exec`; the runtime's own checks while
/// starting it (runc init: SETPCAP, SETUID, SETGID) must not become candidates.
#[test]
fn image_check_command_does_not_leak_runtime_checks() {
    if !common::docker_available("image_check_command_does_not_leak_runtime_checks") {
        return;
    }
    let v = image_case(
        "httpd --check",
        "httpd -f -p 80 -h /var/www",
        &[
            "--check",
            "wget -q -O /dev/null http://127.0.0.1/index.html",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=1024",
        ],
        &["NET_BIND_SERVICE"],
    );
    if !v["tracer"].is_null() {
        assert_eq!(names(&v["observed"]), ["NET_BIND_SERVICE"], "{v:#}");
    }
}

#[test]
fn output_file_is_the_json_report() {
    if !common::docker_available("output_file_is_the_json_report") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.json");
    let image = common::test_image();
    let out = Command::cargo_bin("dropcap")
        .unwrap()
        .args([
            "profile",
            "--image",
            image,
            "--cmd",
            "ping -c1 127.0.0.1",
            "-o",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "proven minimal set: NET_RAW",
        "--cap-drop=ALL --cap-add=NET_RAW",
        "cap_drop:",
        "add: [\"NET_RAW\"]",
        "LABEL io.dropcap.cap-drop=\"ALL\" io.dropcap.cap-add=\"NET_RAW\"",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_common(&v);
    assert_eq!(names(&v["proven"]), ["NET_RAW"]);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file left"
    );
}

#[test]
fn failing_workload_is_never_proven() {
    if !common::docker_available("failing_workload_is_never_proven") {
        return;
    }
    let image = common::test_image();
    let out = Command::cargo_bin("dropcap")
        .unwrap()
        .args(["profile", "--image", image, "--cmd", "false"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fails"));
}

#[test]
fn missing_image_is_a_one_line_error() {
    if !common::docker_available("missing_image_is_a_one_line_error") {
        return;
    }
    let out = Command::cargo_bin("dropcap")
        .unwrap()
        .args([
            "profile",
            "--image",
            "dropcap-test/does-not-exist:never",
            "--cmd",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not on the local engine"), "{err}");
}

fn local_case(test: &str, argv: &[&str], expect: &[&str]) {
    if !common::is_root(test) {
        return;
    }
    let mut args = vec!["--"];
    args.extend(argv);
    let v = profile(&args);
    assert_eq!(names(&v["proven"]), expect, "{test}: {v:#}");
    assert_eq!(v["target"]["kind"], "command");
}

#[test]
fn local_ping_needs_net_raw() {
    local_case(
        "local_ping_needs_net_raw",
        &["/bin/busybox", "ping", "-c1", "127.0.0.1"],
        &["NET_RAW"],
    );
}

#[test]
fn local_chown_needs_chown() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("file");
    std::fs::write(&f, "x").unwrap();
    local_case(
        "local_chown_needs_chown",
        &["/bin/busybox", "chown", "1:1", f.to_str().unwrap()],
        &["CHOWN"],
    );
}

#[test]
fn local_true_needs_nothing() {
    local_case("local_true_needs_nothing", &["/bin/busybox", "true"], &[]);
}

/// Ctrl-C in the middle of a trial: dropcap exits promptly and removes its container.
#[test]
fn interrupt_removes_trial_containers() {
    if !common::docker_available("interrupt_removes_trial_containers") {
        return;
    }
    let image = common::test_image();
    let child = std::process::Command::new(common::dropcap_bin())
        .args([
            "profile",
            "--image",
            image,
            "--cmd",
            "sleep 120",
            "--check",
            "false",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("name=dropcap-profile-{}-", child.id());
    // Wait until the trial container exists, then interrupt.
    let mut seen = false;
    for _ in 0..100 {
        if !common::docker(&["ps", "-aq", "--filter", &prefix])
            .stdout
            .is_empty()
        {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(seen, "no trial container appeared");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let left = common::docker(&["ps", "-aq", "--filter", &prefix]);
    assert!(left.stdout.is_empty(), "trial container left after Ctrl-C");
}

/// A big allocation makes the kernel probe CAP_SYS_ADMIN without auditing (vm_enough_memory):
/// the tracer sees it, the profile must not propose it.
#[test]
fn image_noaudit_sys_admin_probe_is_ignored() {
    if !common::docker_available("image_noaudit_sys_admin_probe_is_ignored") {
        return;
    }
    let v = image_case(
        "dd",
        "dd if=/dev/zero of=/dev/null bs=64M count=1",
        &[],
        &[],
    );
    if !v["tracer"].is_null() {
        assert!(
            names(&v["noaudit_only"]).contains(&"SYS_ADMIN".to_string()),
            "{v:#}"
        );
    }
}

/// An image without /bin/sh cannot be held for the tracer: dropcap runs it ungated, says so,
/// and the verification runs still prove the right set.
#[test]
fn image_without_shell_is_still_proven() {
    if !common::docker_available("image_without_shell_is_still_proven") {
        return;
    }
    struct RmImage(String);
    impl Drop for RmImage {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", &self.0])
                .output();
        }
    }
    let image = format!("dropcap-test/nosh-{}:latest", std::process::id());
    let _guard = RmImage(image.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("bin/busybox")).unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .args(["-c", "."])
        .output()
        .unwrap();
    let mut child = std::process::Command::new("docker")
        .args(["import", "-c", "ENTRYPOINT [\"/bin/busybox\"]", "-", &image])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    }
    assert!(child.wait().unwrap().success());
    let v = profile(&["--image", &image, "--cmd", "ping -c1 127.0.0.1"]);
    assert_eq!(names(&v["proven"]), ["NET_RAW"], "{v:#}");
    if !v["tracer"].is_null() {
        assert!(v["notes"].to_string().contains("no /bin/sh"), "{v:#}");
    }
}

/// A deadline is `now + timeout`; an absurd --timeout must be refused, not overflow the clock.
#[test]
fn absurd_timeout_is_a_usage_error() {
    let out = Command::cargo_bin("dropcap")
        .unwrap()
        .args([
            "profile",
            "--timeout",
            "18446744073709551615",
            "--no-trace",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("--timeout 18446744073709551615 is too long"),
        "{err}"
    );
}

#[test]
fn bad_local_user_is_named_before_any_trial() {
    for user in ["", "no-such-user-here", "4294967295"] {
        let out = Command::cargo_bin("dropcap")
            .unwrap()
            .args(["profile", "--user", user, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{user}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("dropcap: --user '{user}'")),
            "{err}"
        );
    }
}
