//! Shared fixtures for integration tests that need the real Docker engine, root or the kernel.
//!
//! Rules: in CI (`CI` set) a missing engine is a hard failure, never a skip. Locally a test may
//! skip, but only with a visible message on stderr. Everything a test creates is removed by a
//! guard, also when the test panics.
#![allow(dead_code)]

pub mod archive;
pub mod dockerd;
pub mod podman;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Image with a static busybox, its applet links and the host's glibc, so the dynamically
/// linked `dropcap` test binary can be bind-mounted and run inside it.
pub const TEST_IMAGE: &str = "dropcap-test/busybox:latest";

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// True when the engine answers. Without it: panic in CI, skip loudly elsewhere.
pub fn docker_available(test: &str) -> bool {
    static UP: OnceLock<bool> = OnceLock::new();
    let up = *UP.get_or_init(|| {
        Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    if !up {
        assert!(
            !in_ci(),
            "{test}: the Docker engine is not reachable, and CI must never skip engine tests"
        );
        eprintln!("SKIPPED {test}: no Docker engine here (run scripts/test.sh to start one)");
    }
    up
}

/// True when the real `docker-compose` (installed by scripts/test.sh) runs. Without it: panic
/// in CI, skip loudly elsewhere.
pub fn docker_compose_available(test: &str) -> bool {
    let have = Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(!in_ci(), "docker-compose is installed by scripts/test.sh");
        eprintln!("SKIPPED {test}: no docker-compose");
    }
    have
}

/// True when running as root (eBPF, namespaces). Without it: panic in CI, skip loudly elsewhere.
pub fn is_root(test: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(!in_ci(), "{test}: CI must run as root");
        eprintln!("SKIPPED {test}: needs root");
    }
    root
}

/// Runs docker and returns its output; panics with stderr on failure (test setup must work).
pub fn docker(args: &[&str]) -> Output {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Builds [`TEST_IMAGE`] with `docker import` once per test binary (no registry here).
pub fn test_image() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let have = Command::new("docker")
            .args(["image", "inspect", TEST_IMAGE])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !have {
            build_test_image();
        }
    });
    TEST_IMAGE
}

fn build_test_image() {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("busybox-static is not installed (apt-get install busybox-static)");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc",
        "tmp",
        "lib/x86_64-linux-gnu",
        "lib64",
        "root",
        "var/www",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::copy(busybox, root.join("bin/busybox")).expect("copy busybox");
    let list = Command::new(busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
    }
    // glibc for the dynamically linked dropcap test binary.
    for lib in [
        "libc.so.6",
        "libm.so.6",
        "libgcc_s.so.1",
        "ld-linux-x86-64.so.2",
    ] {
        let src = Path::new("/lib/x86_64-linux-gnu").join(lib);
        std::fs::copy(&src, root.join("lib/x86_64-linux-gnu").join(lib))
            .unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
    std::os::unix::fs::symlink(
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        root.join("lib64/ld-linux-x86-64.so.2"),
    )
    .expect("ld symlink");
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000:app:/:/bin/sh\n",
    )
    .expect("passwd");
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n",
    )
    .expect("group");
    std::fs::write(root.join("var/www/index.html"), "ok\n").expect("index");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["-c", "."])
        .output()
        .expect("tar");
    assert!(tar.status.success(), "tar failed");
    let mut child = Command::new("docker")
        .args(["import", "-", TEST_IMAGE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("docker import");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&tar.stdout).expect("write tar");
    }
    assert!(
        child.wait().expect("wait").success(),
        "docker import failed"
    );
}

/// The dropcap binary under test, for bind-mounting into containers.
pub fn dropcap_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dropcap"))
}

/// `-v` arguments that make `/usr/local/bin/dropcap` available inside a [`TEST_IMAGE`] container.
pub fn dropcap_mount() -> String {
    format!("{}:/usr/local/bin/dropcap:ro", dropcap_bin().display())
}

/// A unique name for resources a test creates, so parallel tests never collide.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "dropcap-test-{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the named container when dropped, also when the test panics.
pub struct ContainerGuard(pub String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .output();
    }
}

/// `docker run -d --name NAME ARGS...` (or `docker create` when `start` is false), guarded.
pub fn container(prefix: &str, args: &[&str], start: bool) -> ContainerGuard {
    let guard = ContainerGuard(unique(prefix));
    let mut full = vec![if start { "run" } else { "create" }];
    if start {
        full.push("-d");
    }
    full.extend(["--name", guard.0.as_str(), "--label", "dropcap-test=1"]);
    full.extend(args);
    docker(&full);
    guard
}

/// For the fake engines of tests: reads one HTTP request's line and headers from `reader` and
/// returns its path (`/v1.41/containers/json`, ...), or "" on a closed connection.
pub fn read_request_path(reader: &mut impl std::io::BufRead) -> String {
    let mut first = String::new();
    let _ = reader.read_line(&mut first);
    loop {
        let mut l = String::new();
        if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
            break;
        }
    }
    first.split_whitespace().nth(1).unwrap_or("").to_string()
}

/// True when `program` is on PATH. scripts/test.sh installs every tool a test asks for, so in
/// CI a missing one fails; elsewhere the test skips loudly.
pub fn tool(program: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        assert!(
            !in_ci(),
            "{test}: `{program}` is missing (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED {test}: `{program}` is not installed (run scripts/test.sh)");
    }
    found
}

/// Runs the dropcap under test with `args`; panics with its stderr unless it exits 0, and
/// returns its stdout.
pub fn dropcap_ok(args: &[&str]) -> String {
    let out = Command::new(dropcap_bin())
        .args(args)
        .output()
        .expect("run dropcap");
    assert!(
        out.status.success(),
        "dropcap {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The Debian image with real file capabilities and setuid binaries that
/// `scripts/debian-image.sh` builds (scripts/test.sh runs it). Built here when missing and
/// mmdebstrap is installed; otherwise a failure in CI and a loud skip elsewhere.
pub const DEBIAN_IMAGE: &str = "dropcap-test/debian:bookworm";

pub fn debian_image(test: &str) -> Option<&'static str> {
    if !docker_available(test) {
        return None;
    }
    static READY: OnceLock<bool> = OnceLock::new();
    let ready = *READY.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/debian-image.sh");
        Command::new("bash")
            .arg(script)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    });
    if !ready {
        assert!(
            !in_ci(),
            "{test}: {DEBIAN_IMAGE} could not be built (scripts/debian-image.sh)"
        );
        eprintln!("SKIPPED {test}: {DEBIAN_IMAGE} is missing and could not be built");
        return None;
    }
    Some(DEBIAN_IMAGE)
}

/// Removes the image when dropped, also when the test panics.
pub struct BuiltImage(pub String);

impl Drop for BuiltImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

/// `docker build` (the legacy builder: no registry here) of `dockerfile`, tagged with a unique
/// name from `prefix`; the guard removes it.
pub fn build_image(prefix: &str, dockerfile: &str) -> BuiltImage {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let guard = BuiltImage(format!("{}:latest", unique(prefix)));
    let status = Command::new("docker")
        .args(["build", "-q", "-t", &guard.0, "."])
        .env("DOCKER_BUILDKIT", "0")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "docker build failed");
    guard
}

/// Rule ids of the unsuppressed findings for workload `name` in an audit JSON report.
pub fn rules_of(report: &serde_json::Value, name: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["workload"]["name"] == name)
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}
