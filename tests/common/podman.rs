//! Podman's Docker-compatible API for tests: `podman system service` on a socket of the test's
//! own, stopped (by its pid) on drop, and the busybox test image copied into Podman's store.

use std::process::Command;

pub struct PodmanService {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    pub host: String,
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service, or `None` (a loud skip; a failure in CI) without podman.
pub fn service(test: &str) -> Option<PodmanService> {
    let have = Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            !super::in_ci(),
            "{test}: podman is not installed (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED {test}: podman is not installed");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("podman.sock");
    let host = format!("unix://{}", sock.display());
    let child = Command::new("podman")
        .args(["system", "service", "--time=0", &host])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start podman system service");
    let svc = PodmanService {
        child,
        _dir: dir,
        host,
    };
    for _ in 0..100 {
        if sock.exists() {
            return Some(svc);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("podman system service did not create {}", sock.display());
}

/// The Docker test image, copied into Podman's store (no registry here).
pub fn image() -> String {
    let image = super::test_image();
    let name = format!("localhost/{image}");
    let exists = Command::new("podman")
        .args(["image", "exists", &name])
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        let dir = tempfile::tempdir().expect("tempdir");
        let tar = dir.path().join("image.tar");
        let tar = tar.to_str().expect("utf-8 path");
        super::docker(&["save", "-o", tar, image]);
        let loaded = Command::new("podman")
            .args(["load", "-i", tar])
            .output()
            .expect("podman load");
        assert!(loaded.status.success(), "podman load: {loaded:?}");
    }
    name
}

/// Names of Podman containers carrying `label`.
pub fn containers_with(label: &str) -> String {
    let out = Command::new("podman")
        .args(["ps", "-aq", "--filter", &format!("label={label}")])
        .output()
        .expect("podman ps");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
