//! The repository's Dockerfile builds a `FROM scratch` image holding the static binary, an
//! application image copies dropcap out of it, and `dropcap ping --check` as its HEALTHCHECK
//! turns it healthy with every capability dropped, as nobody.
//!
//! The static binary is README's `crt-static` build, but a debug one without debug info in its
//! own target dir (`target/static`), which cargo reuses when it is up to date. Measured from
//! nothing on the shared 2-core machine: 1 min 54 s (67 s CPU), against 11 min 50 s (3 min 8 s
//! CPU) for the release build; 27 MB against 9.9 MB, which only the build context notices. The application image is busybox alone (`docker import`,
//! no registry): no libc in it, so only a static dropcap can run there.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TRIPLE: &str = "x86_64-unknown-linux-gnu";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README's static build, in debug, into target/static (the path .dockerignore lets through).
fn static_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo())
        .args([
            "build",
            "--bin",
            "dropcap",
            "--target",
            TRIPLE,
            "--target-dir",
        ])
        .arg(repo().join("target/static"))
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        // Debug info only makes the build context bigger.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "static build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = repo().join(format!("target/static/{TRIPLE}/debug/dropcap"));
    let file = Command::new("file").arg(&bin).output();
    if let Ok(f) = file {
        let text = String::from_utf8_lossy(&f.stdout);
        assert!(text.contains("static"), "not a static binary: {text}");
    }
    bin
}

/// Removes the images a test built, also when it panics.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in self.0.iter().rev() {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
    }
}

fn build(args: &[&str], context: &Path) {
    let out = Command::new("docker")
        .args(["build", "-q", "--force-rm"])
        .args(args)
        .arg(context)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    assert!(
        out.status.success(),
        "docker build {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An image of /bin/busybox and the two applets the application needs, nothing else.
fn busybox_image(tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).expect("busybox-static is installed");
    for applet in ["sh", "sleep", "grep"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    let rootfs = dir.path().join("rootfs.tar");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .arg("-cf")
        .arg(&rootfs)
        .arg("bin")
        .status()
        .unwrap();
    assert!(tar.success());
    common::docker(&[
        "import",
        "-c",
        "ENV PATH=/usr/local/bin:/bin",
        &rootfs.display().to_string(),
        tag,
    ]);
}

#[test]
fn the_dropcap_image_gives_an_application_a_capless_health_check() {
    if !common::docker_available("the_dropcap_image_gives_an_application_a_capless_health_check") {
        return;
    }
    let bin = static_binary();
    let id = std::process::id();
    let dropcap_image = format!("dropcap-eco-dropcap:{id}");
    let base_image = format!("dropcap-eco-busybox:{id}");
    let app_image = format!("dropcap-eco-app:{id}");
    let _images = Images(vec![
        dropcap_image.clone(),
        base_image.clone(),
        app_image.clone(),
    ]);

    // The repository's Dockerfile, from the repository root as README says.
    let rel = bin.strip_prefix(repo()).unwrap().display().to_string();
    build(
        &[
            "-t",
            &dropcap_image,
            "--build-arg",
            &format!("DROPCAP_BIN={rel}"),
        ],
        repo(),
    );
    busybox_image(&base_image);

    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("Dockerfile"),
        format!(
            "FROM {base_image}\n\
             COPY --from={dropcap_image} /dropcap /usr/local/bin/dropcap\n\
             HEALTHCHECK --interval=1s --timeout=3s --retries=3 CMD [\"dropcap\", \"ping\", \"--check\", \"127.0.0.1\"]\n\
             CMD [\"sleep\", \"3600\"]\n"
        ),
    )
    .unwrap();
    build(&["-t", &app_image], app.path());

    let c = common::ContainerGuard(format!("dropcap-eco-health-{id}"));
    common::docker(&[
        "run",
        "-d",
        "--name",
        &c.0,
        "--cap-drop",
        "ALL",
        "--user",
        "65534",
        &app_image,
    ]);
    // Nothing held: the health check runs with the container's (empty) sets.
    let status = common::docker(&["exec", &c.0, "grep", "Cap", "/proc/self/status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    for set in ["CapPrm", "CapEff", "CapBnd"] {
        assert!(
            status.contains(&format!("{set}:\t0000000000000000")),
            "{set} not empty:\n{status}"
        );
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = common::docker(&["inspect", "-f", "{{.State.Health.Status}}", &c.0]);
        let health = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if health == "healthy" {
            break;
        }
        if health == "unhealthy" || Instant::now() > deadline {
            let log = common::docker(&["inspect", "-f", "{{json .State.Health}}", &c.0]);
            panic!(
                "container is {health}, not healthy: {}",
                String::from_utf8_lossy(&log.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
