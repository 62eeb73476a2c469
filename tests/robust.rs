//! Adversarial inputs through the real binary: every command must answer bad input with one
//! line naming the problem and exit 2, never a panic, and keep going for the good inputs.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::os::unix::ffi::OsStrExt;

fn dropcap() -> Command {
    Command::cargo_bin("dropcap").unwrap()
}

/// A running `sleep` whose file name, and so whose `comm`, is not UTF-8.
struct OddlyNamed {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl OddlyNamed {
    fn start(seconds: &str) -> OddlyNamed {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"\xffdropcap-odd"));
        // A symlink, not a copy: comm is the name exec was given, and a freshly written copy
        // can fail with ETXTBSY when another test thread forks while its write fd is open.
        std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
        let child = std::process::Command::new(&exe)
            .arg(seconds)
            .spawn()
            .unwrap();
        // comm is set at exec; wait until the kernel shows the new name.
        let status = format!("/proc/{}/status", child.id());
        for _ in 0..200 {
            if std::fs::read(&status).is_ok_and(|s| s.windows(4).any(|w| w == b"\xffdro")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        OddlyNamed { child, _dir: dir }
    }
}

impl Drop for OddlyNamed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_process_name_that_is_not_utf8_breaks_neither_ps_nor_decode() {
    let odd = OddlyNamed::start("60");
    let pid = odd.child.id().to_string();
    dropcap()
        .args(["--format", "json", "ps", "--all", "--no-names"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("\"pid\": {pid},")));
    dropcap()
        .args(["decode", "--pid", &pid])
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{fffd}dropcap-odd"));
}

/// trace follows a pid through `/proc/PID/status` and `stat`, which quote `comm` as is.
#[test]
fn trace_follows_a_process_whose_name_is_not_utf8() {
    if !common::is_root("trace_follows_a_process_whose_name_is_not_utf8") {
        return;
    }
    // Long enough for trace to attach on a loaded machine (it took 1.1 s once, and a
    // 1-second sleep had exited by then); trace ends when the process does.
    let odd = OddlyNamed::start("4");
    let pid = odd.child.id().to_string();
    dropcap()
        .args(["trace", "--pid", &pid])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains("events:"));
}

/// Runs dropcap with its stdout a pipe nobody reads any more (`dropcap … | head -1` once head
/// has exited) and returns the exit code and stderr.
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(common::dropcap_bin())
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A reader that went away is not an error, whatever the output format: JSON output reaches
/// the pipe through serde_json, which wraps the io error in its own.
#[test]
fn a_closed_stdout_is_silent_in_every_format() {
    let mut cases = vec![
        &["explain"][..],
        &["--format", "json", "explain"],
        &["--format", "json", "decode", "0x3"],
        &["--format", "json", "ps", "--all", "--no-names"],
        &["ps", "--all", "--no-names"],
        &["--format", "json", "audit", "examples"],
        &["--format", "sarif", "audit", "examples"],
        &["audit", "examples"],
    ];
    // Output past the 8 KiB buffer: the pipe error comes from inside serde_json. Root, since
    // this host's ping_group_range may allow no datagram ICMP.
    if common::is_root("a_closed_stdout_is_silent_in_every_format (ping)") {
        cases.push(&[
            "--format",
            "json",
            "ping",
            "-c",
            "200",
            "-i",
            "0.002",
            "127.0.0.1",
        ]);
    }
    for args in cases {
        let (code, stderr) = into_closed_pipe(args);
        assert_eq!(stderr, "", "{args:?}");
        assert_ne!(code, Some(2), "{args:?}");
        assert_ne!(code, Some(101), "{args:?}");
    }
}

/// A fake engine on a unix socket of its own: `/_ping`, `/version` and the container list
/// answer normally, except that any path containing `trickle` gets its headers and then a
/// body that never completes (one byte now and then). It serves until the test process ends.
fn trickling_engine(
    trickle: &'static str,
    list: String,
    inspect: String,
) -> (tempfile::TempDir, String) {
    use std::io::{BufReader, Write};
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("engine.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let list = list.clone();
            let inspect = inspect.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(s.try_clone().unwrap());
                let path = common::read_request_path(&mut reader);
                let body = if path.ends_with("/_ping") {
                    "OK".to_string()
                } else if path.ends_with("/version") {
                    r#"{"Version":"20.10.0","ApiVersion":"1.41","Components":[{"Name":"Engine","Version":"20.10.0"}]}"#.to_string()
                } else if path.contains("/containers/json") {
                    list
                } else {
                    inspect
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    if path.contains(trickle) { 1_000_000 } else { body.len() }
                );
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                if !path.contains(trickle) {
                    let _ = s.write_all(body.as_bytes());
                    return;
                }
                let _ = s.write_all(b"[");
                while s.write_all(b" ").is_ok() {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
        }
    });
    let host = format!("unix://{}", sock.display());
    (dir, host)
}

/// `audit --host HOST --timeout 1` as JSON, which must end with exit 2.
fn audit_json_with_timeout_1(host: &str) -> serde_json::Value {
    let out = dropcap()
        .args([
            "--format",
            "json",
            "audit",
            "--host",
            host,
            "--timeout",
            "1",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// bollard's own timeout covers only the wait for the headers; an engine that starts an
/// answer and never finishes it must still end the audit at --timeout, with one line.
#[test]
fn an_engine_that_never_finishes_its_answer_times_out() {
    let (_dir, host) = trickling_engine("/containers/json", String::new(), String::new());
    let v = audit_json_with_timeout_1(&host);
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("did not answer"), "{msg}");
    assert!(msg.contains("in time"), "{msg}");

    // The same for one container's inspect: the others are still audited.
    let good = "a".repeat(64);
    let slow = format!("trickle{}", "b".repeat(57));
    let list = format!(r#"[{{"Id":"{good}"}},{{"Id":"{slow}"}}]"#);
    let inspect = format!(
        r#"{{"Id":"{good}","Name":"/web","Config":{{"Image":"nginx"}},"State":{{"Running":false}},"HostConfig":{{"CapAdd":["CAP_SYS_ADMIN"],"CapDrop":null,"Privileged":false}}}}"#
    );
    let (_dir, host) = trickling_engine("/containers/trickle", list, inspect);
    let v = audit_json_with_timeout_1(&host);
    assert_eq!(v["summary"]["workloads"], 1, "{v}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("container trickle"), "{msg}");
    assert!(msg.contains("in time"), "{msg}");
}

/// connect(2) answers ECONNREFUSED for a regular file or a directory just as for a socket
/// nobody listens on; "is it running?" would send the user to look for a dead daemon.
#[test]
fn an_engine_address_that_is_not_a_socket_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker.sock");
    std::fs::write(&file, "").unwrap();
    for (path, what) in [
        (&file, "a regular file"),
        (&dir.path().to_path_buf(), "a directory"),
    ] {
        let host = format!("unix://{}", path.display());
        let out = dropcap()
            .args(["--format", "json", "audit", "--host", &host])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let msg = v["errors"][0]["message"].as_str().unwrap();
        assert_eq!(
            msg,
            format!(
                "cannot reach the engine: {} is {what}, not a socket (set DOCKER_HOST or --host to the engine's socket)",
                path.display()
            )
        );
    }
    let out = dropcap()
        .args(["--format", "json", "audit", "--host", "unix://"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["errors"][0]["message"],
        "engine address 'unix://' has no socket path (use unix:///path/to/docker.sock)"
    );
}

/// Run as a user without capabilities, dropcap cannot grant any: the message must say that,
/// not blame the host's bounding set.
#[test]
fn exec_without_capabilities_of_its_own_says_so() {
    if !common::is_root("exec_without_capabilities_of_its_own_says_so") {
        return;
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(common::dropcap_bin())
        .args(["exec", "--caps", "chown", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "dropcap: exec: cannot grant CHOWN: dropcap itself holds no capabilities (run it as root)\n"
    );
}

/// An empty or malformed --image is a mistake in the argument, not a missing image to pull.
#[test]
fn profile_names_a_bad_image_argument() {
    dropcap()
        .args(["profile", "--image", " ", "--exit-zero"])
        .assert()
        .code(2)
        .stderr("dropcap: --image is empty (give an image name or id)\n");
    dropcap()
        .args(["profile", "--image=--privileged", "--exit-zero"])
        .assert()
        .code(2)
        .stderr(
            "dropcap: --image '--privileged' is not a valid image reference (it starts with '-')\n",
        );
    if !common::docker_available("profile_names_a_bad_image_argument") {
        return;
    }
    dropcap()
        .args(["profile", "--image", "Bad Image", "--exit-zero"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "dropcap: --image 'Bad Image' is not a valid image reference",
        ))
        .stderr(predicate::str::contains("docker image inspect").not())
        .stderr(predicate::function(|e: &str| e.lines().count() == 1));
}

/// `ALL` and lists are real spellings elsewhere in dropcap; explain takes one capability, and
/// "did you mean KILL?" for ALL would be nonsense.
#[test]
fn explain_says_it_takes_one_capability() {
    for arg in ["ALL", "cap_all", "NET_RAW,CHOWN", "chown net_raw"] {
        dropcap()
            .args(["explain", arg])
            .assert()
            .code(2)
            .stderr(format!(
                "dropcap: explain takes one capability, not '{arg}' (run `dropcap explain` without one to list them all)\n"
            ));
    }
    // One name with stray spaces is still one name, and a split name is a typo.
    dropcap().args(["explain", " net_raw "]).assert().success();
    dropcap()
        .args(["explain", "net raw"])
        .assert()
        .code(2)
        .stderr("dropcap: unknown capability 'net raw' (did you mean NET_RAW?)\n");
}

/// File names need not be UTF-8 and JSON strings must be: the report escapes the bytes that
/// are not UTF-8 as `\xFF` (two different names never print alike, as a lossy U+FFFD made
/// them), and SARIF percent-encodes the same bytes the same way for results and errors.
#[test]
fn audit_reports_of_files_whose_names_are_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::ffi::OsStr::from_bytes(b"\xffcompose.yaml");
    let bad = std::ffi::OsStr::from_bytes(b"\xfecompose.yaml");
    std::fs::write(
        dir.path().join(good),
        "services:\n  web:\n    image: x\n    cap_add: [NET_ADMIN]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(bad), "services: [\n").unwrap();
    for format in ["json", "sarif", "table"] {
        let out = dropcap()
            .current_dir(dir.path())
            .args(["--format", format, "audit"])
            .arg(good)
            .arg(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let (good, bad) = match format {
            "sarif" => ("\"%FFcompose.yaml\"", "\"%FEcompose.yaml\""),
            "json" => ("\"\\\\xFFcompose.yaml\"", "\"\\\\xFEcompose.yaml\""),
            _ => ("\\xFFcompose.yaml:2:3: web", "\\xFEcompose.yaml:2:1: error"),
        };
        if format != "table" {
            let _: serde_json::Value = serde_json::from_str(&text).unwrap();
        }
        assert!(text.contains(good), "{format}: {text}");
        assert!(
            text.contains(bad) || String::from_utf8_lossy(&out.stderr).contains(bad),
            "{format}: {text}"
        );
    }
}

/// `dropcap … 2>&1 | head -1` once head has exited: stderr is a closed pipe too. The message
/// cannot be read, but the exit code still must be 2, not a panic's 101.
#[test]
fn errors_into_a_closed_stderr_still_exit_2() {
    for args in [
        &["decode", "zz"][..],
        &["explain", "bogus"],
        &["ps", "--container", "dropcap-no-such-container"],
        &["exec", "--caps", "bogus", "--", "true"],
        &["trace", "--", "/nonexistent/dropcap-robust"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = std::process::Command::new(common::dropcap_bin())
            .args(args)
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}

/// Values dropcap checks itself (numbers, ranges, seconds) fail in one line like every other
/// dropcap error; clap's usage errors (unknown flags, missing arguments) keep clap's format.
#[test]
fn bad_values_are_one_line() {
    for (args, line) in [
        (
            &["ping", "-i", "nan", "127.0.0.1"][..],
            "dropcap: invalid value 'nan' for '-i <INTERVAL>': 'nan' is not a non-negative number of seconds\n",
        ),
        (
            &["ping", "-c", "0", "127.0.0.1"],
            "dropcap: invalid value '0' for '-c <COUNT>': 0 is not in 1..18446744073709551615\n",
        ),
        (
            &["decode", "--pid", "4294967296"],
            "dropcap: invalid value '4294967296' for '--pid <PID>': 4294967296 is not in 0..=4294967295\n",
        ),
        (
            &["decode", "--pid", ""],
            "dropcap: invalid value '' for '--pid <PID>': cannot parse integer from empty string\n",
        ),
        (
            &["audit", "--timeout", "0"],
            "dropcap: invalid value '0' for '--timeout <SECONDS>': 0 is not in 1..=86400\n",
        ),
        (
            &["audit", "--concurrency", "0"],
            "dropcap: invalid value '0' for '--concurrency <N>': 0 is not in 1..=1024\n",
        ),
    ] {
        dropcap().args(args).assert().code(2).stderr(line);
    }
    // Engine flags with paths would be silently ignored by the static audit.
    for flag in [
        &["--host", "unix:///x"][..],
        &["--filter", "name=web"],
        &["--api-only"],
    ] {
        dropcap()
            .arg("audit")
            .args(flag)
            .arg("examples")
            .assert()
            .code(2)
            .stderr(predicates::str::contains("cannot be used with '[PATH]...'"));
    }
    // A negative number is a bad value, not an unknown flag.
    for (args, line) in [
        (
            &["ping", "-i", "-1", "127.0.0.1"][..],
            "dropcap: invalid value '-1' for '-i <INTERVAL>': '-1' is not a non-negative number of seconds\n",
        ),
        (
            &["decode", "--pid", "-1"],
            "dropcap: invalid value '-1' for '--pid <PID>': -1 is not in 0..=4294967295\n",
        ),
        (
            &["audit", "--timeout", "-5"],
            "dropcap: invalid value '-5' for '--timeout <SECONDS>': invalid digit found in string\n",
        ),
        (
            &["ping", "-c", "-3", "127.0.0.1"],
            "dropcap: invalid value '-3' for '-c <COUNT>': invalid digit found in string\n",
        ),
        (
            &["decode", "-1"],
            "dropcap: decode: '-1' is not a hexadecimal capability mask\n",
        ),
    ] {
        dropcap().args(args).assert().code(2).stderr(line);
    }
    // clap does not say which argument; dropcap does.
    for args in [
        &["explain"][..],
        &["ping", "-c", "1"],
        &["ps", "--container"],
    ] {
        dropcap()
            .args(args)
            .arg(std::ffi::OsStr::from_bytes(b"a\xffb"))
            .assert()
            .code(2)
            .stderr(
                "dropcap: argument 'a\u{fffd}b' is not valid UTF-8 (only paths and commands may hold any bytes)\n",
            );
    }
    dropcap()
        .args(["decode", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage:"));
    dropcap()
        .args(["--format", "nope", "decode", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

/// A profile can take minutes of trials: an --output that cannot be written is refused before
/// the first one, not after the last (which also lost the report).
#[test]
fn profile_checks_its_output_file_before_the_trials() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/p.json");
    for (path, why) in [
        (dir.path().to_path_buf(), "is a directory"),
        (missing, "No such file or directory"),
    ] {
        let out = dropcap()
            .args(["profile", "--exit-zero", "-o"])
            .arg(&path)
            .args(["--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("dropcap: --output {}: ", path.display())),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temp file left"
    );
}

/// Every workload is "still running after 0 seconds", even one that exits 3 at once: that
/// check would print a vacuous "proven minimal set".
#[test]
fn profile_refuses_stays_up_0() {
    dropcap()
        .args(["profile", "--stays-up", "0", "--", "sh", "-c", "exit 3"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("dropcap: invalid value '0' for '--stays-up <SECONDS>': 0 is not in 1..18446744073709551615\n");
}

/// The docker CLI waits for ever on an engine that accepts and never answers; profile's calls
/// to it must end at --timeout with a message naming the engine, not hang.
#[test]
fn profile_with_a_hung_engine_ends_at_its_timeout() {
    if !common::docker_available("profile_with_a_hung_engine_ends_at_its_timeout") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("hung.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let started = std::time::Instant::now();
    let out = dropcap()
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args([
            "profile",
            "--image",
            "dropcap-test/busybox:latest",
            "--cmd",
            "true",
        ])
        .args(["--exit-zero", "--timeout", "2"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // The first request is bounded by --timeout (it was bounded by the 30 s per-request
    // limit a busy engine gets); 20 s leaves room for a loaded machine.
    assert!(
        took < std::time::Duration::from_secs(20),
        "took {took:?} to give up"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    // One line naming the engine and that it did not answer (trials talk to the Engine API).
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("the engine at unix://{}", sock.display()))
            && err.contains("did not answer"),
        "{err}"
    );
}

/// A directory named on the command line that holds nothing dropcap reads (templates with
/// other extensions, a typo'd path to the wrong folder) is said, as for a single file: a
/// silent "0 findings" would pass a CI gate without auditing anything.
#[test]
fn audit_says_when_a_named_directory_has_nothing_to_audit() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("charts");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("deploy.yaml.j2"), "services: {{ x }}\n").unwrap();
    let good = dir.path().join("compose");
    std::fs::create_dir(&good).unwrap();
    std::fs::write(
        good.join("compose.yaml"),
        "services:\n  web:\n    image: x\n    cap_drop: [ALL]\n    security_opt: [\"no-new-privileges:true\"]\n",
    )
    .unwrap();
    dropcap()
        .current_dir(dir.path())
        .args(["audit", "charts", "compose"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("in 1 workload"))
        .stderr(
            "dropcap: charts: nothing to audit (no compose files, Kubernetes manifests or inspect output in it)\n",
        );
}

/// A local command that does not exist fails every trial with exit 127; said up front, as
/// `trace` does, it is one plain line instead of a verdict about capabilities.
#[test]
fn profile_names_a_command_that_does_not_exist() {
    dropcap()
        .args([
            "profile",
            "--exit-zero",
            "--",
            "dropcap-no-such-command-xyz",
            "-v",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr("dropcap: dropcap-no-such-command-xyz: command not found\n");
    dropcap()
        .args([
            "profile",
            "--exit-zero",
            "--",
            "/nonexistent/dropcap-robust",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr("dropcap: cannot run /nonexistent/dropcap-robust: No such file or directory\n");
}

/// Notes on stderr name files too, and a file name may hold control characters: they are shown
/// escaped there as they are in the report.
#[test]
fn audit_notes_escape_control_characters_in_names() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a\x1b[2Kb");
    std::fs::create_dir(&odd).unwrap();
    let values = odd.join("values\r.yaml");
    std::fs::write(&values, "replicas: 3\n").unwrap();
    let out = dropcap()
        .current_dir(dir.path())
        .args(["audit", "a\x1b[2Kb", "a\x1b[2Kb/values\r.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(['\x1b', '\r']), "{err:?}");
    assert!(
        err.contains("a\\u{1b}[2Kb/values\\r.yaml: nothing to audit"),
        "{err}"
    );
}

/// `dropcap trace --pid N | head -1`: once head has its line and exits, trace must end even
/// when the traced process is idle and no further write could fail.
#[test]
fn trace_ends_when_its_reader_goes_away_while_idle() {
    if !common::is_root("trace_ends_when_its_reader_goes_away_while_idle") {
        return;
    }
    use std::io::BufRead;
    let mut idle = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    let mut trace = std::process::Command::new(common::dropcap_bin())
        .args(["trace", "--pid", &idle.id().to_string()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(reader)
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("TIME"), "{first}");
    // The BufReader and the pipe's read end are gone here.
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = trace.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = trace.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = idle.kill();
    let _ = idle.wait();
    let status = status.expect("trace still running 30 s after its reader left");
    assert_eq!(status.code(), Some(0));
}

/// trace's own engine client names a DOCKER_HOST that is not a socket the way audit does.
#[test]
fn trace_container_with_docker_host_not_a_socket() {
    if !common::is_root("trace_container_with_docker_host_not_a_socket") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker.sock");
    std::fs::write(&file, "").unwrap();
    dropcap()
        .env("DOCKER_HOST", format!("unix://{}", file.display()))
        .args(["trace", "--container", "web"])
        .assert()
        .code(2)
        .stderr(format!(
            "dropcap: Docker engine at {}: a regular file, not a socket (set DOCKER_HOST to the engine's socket)\n",
            file.display()
        ));
}
