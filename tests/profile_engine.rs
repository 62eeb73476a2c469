//! The profile runner on the real engine: every field of a `ContainerSpec` reaches the trial
//! container, capability sets are exactly what a trial asks for, and nothing is left behind.

mod common;

use dropcap::caps::{Cap, CapSet};
use dropcap::profile::docker::{DockerRunner, DockerSpec};
use dropcap::profile::spec::{ContainerSpec, Mount, MountKind, Ulimit};
use dropcap::profile::{Check, Runner, TrialCaps};
use std::time::Duration;

fn sh(script: &str) -> Option<Vec<String>> {
    Some(vec!["sh".into(), "-c".into(), script.into()])
}

fn runner(container: ContainerSpec, check: Check) -> DockerRunner {
    DockerRunner::new(DockerSpec {
        container,
        check,
        timeout: Duration::from_secs(20),
        host: None,
    })
    .expect("runner")
}

/// Drops the runner (which waits for its removals) and looks for its containers.
fn assert_nothing_left(r: DockerRunner) {
    let session = match r.target() {
        dropcap::profile::runner::Target::Image { session, .. } => session,
        other => panic!("{other:?}"),
    };
    drop(r);
    let left = common::docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.dropcap.profile={session}"),
    ]);
    assert!(left.stdout.is_empty(), "trial containers left: {session}");
}

struct RmVolume(String);
impl Drop for RmVolume {
    fn drop(&mut self) {
        let _ = common::docker(&["volume", "rm", "-f", &self.0]);
    }
}

#[test]
fn every_spec_field_reaches_the_trial_container() {
    if !common::docker_available("every_spec_field_reaches_the_trial_container") {
        return;
    }
    let image = common::test_image();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("hello"), "hi").unwrap();
    let volume = common::unique("p11-vol");
    let _rm = RmVolume(volume.clone());
    // Each line fails with its own message, which becomes the trial's reason.
    let script = r#"
        fail() { echo "FAILED: $1" >&2; exit 1; }
        [ "$A" = 1 ] && [ "$B" = "x=y" ] || fail env
        [ "$(pwd)" = /var/www ] || fail working_dir
        [ "$(id -u):$(id -g)" = 1000:1000 ] || fail user
        touch /x 2>/dev/null && fail read_only
        touch /t/x || fail tmpfs
        grep -q " /t tmpfs .*size=1024k" /proc/mounts || fail tmpfs-options
        [ "$(cat /data/hello)" = hi ] || fail bind
        touch /data/new 2>/dev/null && fail bind-read-only
        grep -q " /vol " /proc/mounts || fail volume
        [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 99 ] || fail sysctls
        grep -q "^NoNewPrivs:.*1" /proc/self/status || fail no_new_privileges
        grep -q "^Seccomp:.*0" /proc/self/status || fail security_opt
        [ "$(ulimit -n)" = 1000 ] || fail ulimits
        [ "$(cat /proc/1/comm)" != sh ] || fail init
        [ "$(ls /sys/class/net)" = lo ] || fail network
        exit 0
    "#;
    let spec = ContainerSpec {
        image: image.into(),
        entrypoint: Some(vec![]),
        cmd: sh(script),
        env: vec![("A".into(), "1".into()), ("B".into(), "x=y".into())],
        working_dir: Some("/var/www".into()),
        user: Some("1000:1000".into()),
        read_only: true,
        mounts: vec![
            Mount {
                target: "/t".into(),
                read_only: false,
                kind: MountKind::Tmpfs {
                    options: "size=1m".into(),
                },
            },
            Mount {
                target: "/data".into(),
                read_only: true,
                kind: MountKind::Bind {
                    source: data.path().to_path_buf(),
                },
            },
            Mount {
                target: "/vol".into(),
                read_only: false,
                kind: MountKind::Volume {
                    name: volume.clone(),
                },
            },
        ],
        sysctls: vec![("net.ipv4.ip_unprivileged_port_start".into(), "99".into())],
        no_new_privileges: true,
        security_opt: vec!["seccomp=unconfined".into()],
        ulimits: vec![Ulimit {
            name: "nofile".into(),
            soft: 1000,
            hard: 1000,
        }],
        init: true,
        network: "none".into(),
        network_aliases: vec![],
    };
    let mut r = runner(spec, Check::ExitZero);
    let t = r.trial(TrialCaps::Default, None).unwrap();
    assert!(t.passed, "{}", t.reason);
    // What the trial used can be removed once its container is gone.
    r.wait_removed();
    common::docker(&["volume", "rm", &volume]);
    assert_nothing_left(r);
    assert_eq!(
        std::fs::read_to_string(data.path().join("hello")).unwrap(),
        "hi"
    );
}

#[test]
fn trials_get_exactly_the_asked_bounding_set() {
    if !common::docker_available("trials_get_exactly_the_asked_bounding_set") {
        return;
    }
    let spec = ContainerSpec {
        image: common::test_image().into(),
        cmd: sh("grep CapBnd /proc/self/status; grep -q '^CapBnd:.*0000000000002001$' /proc/self/status"),
        network: "none".into(),
        ..ContainerSpec::default()
    };
    let mut r = runner(spec, Check::ExitZero);
    let set = CapSet::EMPTY.with(Cap::NET_RAW).with(Cap::CHOWN);
    let t = r.trial(TrialCaps::Exactly(set), None).unwrap();
    assert!(t.passed, "{}", t.reason);
    let t = r
        .trial(TrialCaps::Exactly(CapSet::EMPTY.with(Cap::NET_RAW)), None)
        .unwrap();
    assert!(!t.passed);
    assert!(t.reason.starts_with("exited 1: CapBnd:"), "{}", t.reason);
    assert_nothing_left(r);
}

/// The same runner against Podman's Docker-compatible API: Podman's own default set, a
/// proven set, and nothing left in Podman's store.
#[test]
fn podman_compatible_api_profiles_too() {
    if !common::docker_available("podman_compatible_api_profiles_too")
        || !common::is_root("podman_compatible_api_profiles_too")
    {
        return;
    }
    let Some(svc) = common::podman::service("podman_compatible_api_profiles_too") else {
        return;
    };
    let spec = ContainerSpec {
        image: common::podman::image(),
        cmd: sh("touch /tmp/file && chown 1:1 /tmp/file"),
        network: "none".into(),
        // Podman's default RLIMIT_NOFILE and NPROC need CAP_SYS_RESOURCE, which this
        // sandbox's root lacks: explicit limits start anywhere.
        ulimits: ["nofile", "nproc"]
            .map(|name| Ulimit {
                name: name.into(),
                soft: 1024,
                hard: 1024,
            })
            .to_vec(),
        ..ContainerSpec::default()
    };
    let mut r = DockerRunner::new(DockerSpec {
        container: spec,
        check: Check::ExitZero,
        timeout: Duration::from_secs(20),
        host: Some(svc.host.clone()),
    })
    .expect("runner on podman");
    assert_eq!(r.default_set(), CapSet::podman_default());
    assert_eq!(r.default_name(), "Podman default");
    let mut tracer = dropcap::profile::ebpf::system_tracer().ok();
    let report = dropcap::profile::profile(
        &mut r,
        tracer
            .as_mut()
            .map(|t| &mut **t as &mut dyn dropcap::profile::Tracer),
        &dropcap::profile::Options::default(),
        &mut |_| {},
    )
    .expect("profile on podman");
    assert_eq!(report.proven, CapSet::EMPTY.with(Cap::CHOWN));
    let session = match r.target() {
        dropcap::profile::runner::Target::Image {
            session, engine, ..
        } => {
            assert!(engine.starts_with("podman "), "{engine}");
            session
        }
        other => panic!("{other:?}"),
    };
    drop(r);
    assert_eq!(
        common::podman::containers_with(&format!("io.dropcap.profile={session}")),
        ""
    );
}

/// A non-root workload denied a capability: no set can make it pass, and the error says
/// plainly that adding the capability will not work for that user, with the alternatives.
#[test]
fn non_root_workload_is_told_cap_add_will_not_work() {
    if !common::docker_available("non_root_workload_is_told_cap_add_will_not_work") {
        return;
    }
    let out = assert_cmd::Command::cargo_bin("dropcap")
        .unwrap()
        .args([
            "profile",
            "--timeout",
            "10",
            "--image",
            common::test_image(),
        ])
        .args([
            "--cmd",
            "httpd -f -p 80 -h /var/www",
            "--http",
            "80/index.html",
        ])
        .args(["--user", "app"])
        .args(["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for want in [
        "The workload runs as user 'app', not root",
        "adding ",
        "will not work for that user",
        "cap_add: [",
        "setcap ",
        "net.ipv4.ip_unprivileged_port_start",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(err.contains("NET_BIND_SERVICE"), "{err}");
}
