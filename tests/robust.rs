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
    fn start() -> OddlyNamed {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"\xffdropcap-odd"));
        std::fs::copy("/bin/sleep", &exe).unwrap();
        let child = std::process::Command::new(&exe).arg("60").spawn().unwrap();
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
    let odd = OddlyNamed::start();
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
    for args in [
        &["explain"][..],
        &["--format", "json", "explain"],
        &["--format", "json", "decode", "0x3"],
        &["--format", "json", "ps", "--all", "--no-names"],
        &["ps", "--all", "--no-names"],
        &["--format", "json", "audit", "examples"],
        &["--format", "sarif", "audit", "examples"],
        &["audit", "examples"],
    ] {
        let (code, stderr) = into_closed_pipe(args);
        assert_eq!(stderr, "", "{args:?}");
        assert_ne!(code, Some(2), "{args:?}");
        assert_ne!(code, Some(101), "{args:?}");
    }
}
