//! `dropcap audit` against the real engine: exact findings per flag combination, the real sets
//! of running processes against the configured ones, observed sysctls, drift, and every way
//! talking to an engine fails. Other tests use the same engine concurrently, so each test
//! labels its containers uniquely and audits only those (`--filter label=…`).

mod common;

use common::*;
use dropcap::caps::{parse_list, Cap, CapSet};
use dropcap::engine::{audit_engine_blocking, EngineAudit, EngineOptions};
use dropcap::workload::Workload;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// A label value unique to one test, and the `--filter` that selects it.
fn label(test: &str) -> (String, String) {
    let l = format!("dropcap-al-test={}", unique(test));
    let f = format!("label={l}");
    (l, f)
}

fn run_audit(args: &[&str]) -> (Value, i32, String) {
    let out = Command::new(dropcap_bin())
        .arg("audit")
        .args(args)
        .output()
        .expect("run dropcap");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        v,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `container name → sorted ["RULE CAP,CAP", …]` from a JSON report.
fn findings(v: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in v["findings"].as_array().expect("findings array") {
        let caps: Vec<&str> = f["capabilities"]
            .as_array()
            .expect("capabilities")
            .iter()
            .map(|c| c.as_str().expect("cap name"))
            .collect();
        out.entry(f["workload"]["name"].as_str().expect("name").to_string())
            .or_default()
            .push(format!(
                "{} {}",
                f["rule"].as_str().expect("rule"),
                caps.join(",")
            ));
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn f(rule: &str, caps: CapSet) -> String {
    format!("{rule} {}", caps.names().join(","))
}

fn set(s: &str) -> CapSet {
    parse_list(s).expect("cap list")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn audit_lib(filter: &str) -> EngineAudit {
    audit_engine_blocking(
        None,
        &EngineOptions {
            filters: vec![filter.to_string()],
            progress: false,
            ..EngineOptions::default()
        },
    )
}

fn by_name<'a>(a: &'a EngineAudit, name: &str) -> &'a Workload {
    a.workloads
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("{name} not audited: {:?}", a.errors))
}

#[test]
fn exact_findings_per_flag_combination() {
    if !docker_available("exact_findings_per_flag_combination") {
        return;
    }
    let image = test_image();
    let (lbl, filter) = label("flags");
    let mk = |prefix: &str, flags: &[&str], start: bool| {
        let mut args = vec!["--label", lbl.as_str()];
        args.extend(flags);
        args.extend([image, "sleep", "600"]);
        container(prefix, &args, start)
    };
    // --privileged and anything with --cap-add ALL cannot start on hosts whose root lacks a
    // capability (this sandbox has no CAP_SYS_RESOURCE), so those are audited stopped.
    let default = mk("default", &[], true);
    let default_stopped = mk("default-stopped", &[], false);
    let drop_raw = mk("drop-raw", &["--cap-drop", "NET_RAW"], true);
    let minimal = mk(
        "minimal",
        &["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"],
        true,
    );
    let sys_admin = mk("sys-admin", &["--cap-add", "SYS_ADMIN"], true);
    let add_raw = mk("add-raw", &["--cap-add", "NET_RAW"], true);
    let privileged = mk("privileged", &["--privileged"], false);
    let all = mk("all", &["--cap-drop", "ALL", "--cap-add", "ALL"], false);

    let (v, code, stderr) = run_audit(&["--format", "json", "--filter", &filter]);
    assert_eq!(code, 1, "findings present → exit 1; stderr: {stderr}");
    assert_eq!(v["engine"]["kind"], "docker");
    assert_eq!(v["summary"]["workloads"], 8);
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0));
    let got = findings(&v);

    let d = CapSet::docker_default();
    let nr = set("NET_RAW");
    let all_caps = CapSet::all_known();
    let expect: Vec<(&ContainerGuard, Vec<String>)> = vec![
        (
            &default,
            vec![f("DC007", d), f("DC009", nr), f("DC010", nr), f("DC011", d)],
        ),
        (
            &default_stopped,
            vec![f("DC007", d), f("DC009", nr), f("DC010", nr), f("DC011", d)],
        ),
        (
            &drop_raw,
            vec![
                f("DC007", d.without(Cap::NET_RAW)),
                f("DC011", d.without(Cap::NET_RAW)),
            ],
        ),
        // Dropping ALL and adding only NET_BIND_SERVICE leaves "no no-new-privileges" and the
        // hint that Docker's ip_unprivileged_port_start=0 makes NET_BIND_SERVICE unneeded.
        (
            &minimal,
            vec![
                f("DC011", set("NET_BIND_SERVICE")),
                f("DC013", set("NET_BIND_SERVICE")),
            ],
        ),
        (
            &sys_admin,
            vec![
                f("DC003", set("SYS_ADMIN")),
                f("DC007", d.with(Cap::SYS_ADMIN)),
                f("DC009", nr),
                f("DC010", nr),
                f("DC011", d.with(Cap::SYS_ADMIN)),
            ],
        ),
        // An explicit add of a default capability is still NET_RAW kept.
        (
            &add_raw,
            vec![f("DC007", d), f("DC009", nr), f("DC010", nr), f("DC011", d)],
        ),
        (&privileged, vec![f("DC002", all_caps)]),
        (
            &all,
            vec![
                f("DC003", all_caps),
                f("DC009", nr),
                f("DC010", nr),
                f("DC011", all_caps),
            ],
        ),
    ];
    for (c, want) in &expect {
        assert_eq!(
            got.get(&c.0).cloned().unwrap_or_default(),
            sorted(want.clone()),
            "findings of {}",
            c.0
        );
    }
    assert_eq!(got.len(), expect.len(), "only our containers: {got:?}");

    // dockerd's state files (the fast path, as root) and the API give identical workloads.
    let both = |state_files: bool| {
        let a = audit_engine_blocking(
            None,
            &EngineOptions {
                filters: vec![filter.clone()],
                progress: false,
                state_files,
                ..EngineOptions::default()
            },
        );
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        // As root next to dockerd every container comes from its files; otherwise none does.
        assert_eq!(a.from_state_files, if state_files { 8 } else { 0 });
        serde_json::to_value(&a.workloads).expect("workloads to JSON")
    };
    let via_api = both(false);
    assert_eq!(via_api.as_array().map(Vec::len), Some(8));
    assert_eq!(both(true), via_api);

    // CIS Docker 5.4 as docker-bench reads it (CapAdd only) misses the kept NET_RAW; dropcap
    // under the cis-docker policy must not.
    let (v, code, _) = run_audit(&[
        "--format",
        "json",
        "--policy",
        "cis-docker",
        "--filter",
        &format!("name={}", default.0),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&v).get(&default.0).cloned().unwrap_or_default(),
        vec![f("DC009", nr), f("DC010", nr)]
    );
    // A clean container exits 0 at --fail-on high.
    let (_, code, _) = run_audit(&[
        "--format",
        "json",
        "--fail-on",
        "high",
        "--filter",
        &format!("name={}", minimal.0),
    ]);
    assert_eq!(code, 0);
}

/// The effective-set model (Moby's TweakCapabilities) against the kernel: every process of a
/// running container has exactly the bounding set the configuration predicts.
#[test]
fn real_bounding_sets_match_the_model() {
    if !docker_available("real_bounding_sets_match_the_model") || !is_root("real_bounding_sets") {
        return;
    }
    let image = test_image();
    let (lbl, filter) = label("bnd");
    let combos: &[&[&str]] = &[
        &[],
        &["--cap-drop", "NET_RAW"],
        &["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"],
        &["--cap-add", "SYS_ADMIN"],
        &["--cap-add", "NET_RAW"],
        &["--cap-add", "NET_RAW", "--cap-drop", "NET_RAW"],
        &[
            "--cap-drop",
            "ALL",
            "--cap-drop",
            "NET_RAW",
            "--cap-add",
            "NET_RAW",
        ],
        &["--cap-add", "cap_sys_admin", "--cap-drop", "chown"],
        // ALL minus what this host's root lacks, so that it starts.
        &["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"],
        &[
            "--cap-add",
            "ALL",
            "--cap-drop",
            "ALL",
            "--cap-drop",
            "SYS_RESOURCE",
        ],
    ];
    let mut guards = Vec::new();
    for (i, flags) in combos.iter().enumerate() {
        let mut args = vec!["--label", lbl.as_str()];
        args.extend(*flags);
        args.extend([image, "sleep", "600"]);
        guards.push((container(&format!("bnd{i}"), &args, true), *flags));
    }
    let audit = audit_lib(&filter);
    assert!(audit.errors.is_empty(), "{:?}", audit.errors);
    // Engines older than Moby 23 do not know PERFMON, BPF, CHECKPOINT_RESTORE: their "ALL"
    // stops at AUDIT_READ (Docker 20.10: CapBnd 0x3ffeffffff with SYS_RESOURCE dropped).
    let newer = set("PERFMON,BPF,CHECKPOINT_RESTORE");
    for (g, flags) in &guards {
        let w = by_name(&audit, &g.0);
        assert_eq!(w.running, Some(true));
        assert!(!w.processes.is_empty(), "{flags:?}: no processes read");
        let model = w.effective();
        for p in &w.processes {
            if flags.contains(&"ALL") && flags[..2] == ["--cap-add", "ALL"] {
                assert!(
                    p.bounding.is_subset(model),
                    "{flags:?}: {} vs {model}",
                    p.bounding
                );
                assert!(
                    model.difference(p.bounding).is_subset(newer),
                    "{flags:?}: kernel {} vs model {model}",
                    p.bounding
                );
                assert!(!p.bounding.contains(Cap::new(24).expect("cap 24")));
            } else {
                assert_eq!(p.bounding, model, "{flags:?}: kernel vs model");
            }
            // Root in the container: permitted = bounding.
            assert_eq!(p.permitted, p.bounding, "{flags:?}");
        }
    }
}

#[test]
fn observed_sysctls_come_from_the_container_netns() {
    if !docker_available("observed_sysctls") || !is_root("observed_sysctls") {
        return;
    }
    let image = test_image();
    let (lbl, filter) = label("sysctl");
    let mk = |prefix: &str, flags: &[&str]| {
        let mut args = vec!["--label", lbl.as_str()];
        args.extend(flags);
        args.extend([image, "sleep", "600"]);
        container(prefix, &args, true)
    };
    let default = mk("default", &[]);
    let narrowed = mk("narrow", &["--sysctl", "net.ipv4.ping_group_range=5 7"]);
    let host = mk("host", &["--network", "host"]);
    let audit = audit_lib(&filter);
    let obs = |g: &ContainerGuard, k: &str| {
        by_name(&audit, &g.0)
            .observed_sysctls
            .get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{}: {k} not observed", g.0))
    };
    // What the container itself sees is the truth the host-side read must match.
    let inside = |g: &ContainerGuard, k: &str| {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        let out = docker(&["exec", &g.0, "cat", &path]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for g in [&default, &narrowed, &host] {
        for k in [
            "net.ipv4.ping_group_range",
            "net.ipv4.ip_unprivileged_port_start",
        ] {
            assert_eq!(obs(g, k), inside(g, k), "{} {k}", g.0);
        }
    }
    assert_eq!(obs(&narrowed, "net.ipv4.ping_group_range"), "5 7");
    // Group 0 is outside 5..7: NET_RAW is kept, but DC010 must not claim ping works without it.
    let (v, _, _) = run_audit(&[
        "--format",
        "json",
        "--filter",
        &format!("name={}", narrowed.0),
    ]);
    let got = findings(&v).remove(&narrowed.0).unwrap_or_default();
    assert!(got.iter().any(|f| f.starts_with("DC009")), "{got:?}");
    assert!(!got.iter().any(|f| f.starts_with("DC010")), "{got:?}");
}

/// A non-root process that gained a capability from a setcap binary is drift (DC012).
#[test]
fn setcap_binary_is_reported_as_drift() {
    if !docker_available("setcap_drift") || !is_root("setcap_drift") {
        return;
    }
    let have_setcap = Command::new("setcap").arg("-h").output().is_ok();
    assert!(
        have_setcap || !in_ci(),
        "setcap missing (apt-get install libcap2-bin)"
    );
    if !have_setcap {
        eprintln!("SKIPPED setcap_drift: no setcap");
        return;
    }
    let image = test_image();
    let (lbl, filter) = label("setcap");
    let g = container(
        "setcap",
        &[
            "--label",
            &lbl,
            "--user",
            "1000:1000",
            image,
            "sleep",
            "600",
        ],
        true,
    );
    docker(&[
        "exec",
        "-u",
        "0",
        &g.0,
        "sh",
        "-c",
        "cp /bin/busybox /tmp/bb && ln -s /tmp/bb /tmp/sleep",
    ]);
    let pid = String::from_utf8_lossy(&docker(&["inspect", "-f", "{{.State.Pid}}", &g.0]).stdout)
        .trim()
        .to_string();
    let st = Command::new("setcap")
        .args([
            "cap_net_bind_service+ep",
            &format!("/proc/{pid}/root/tmp/bb"),
        ])
        .status()
        .expect("setcap");
    assert!(st.success(), "setcap failed");
    docker(&["exec", "-d", "-u", "1000", &g.0, "/tmp/sleep", "600"]);
    // Wait until the exec'd process is there (bounded).
    let mut drift = Vec::new();
    for _ in 0..50 {
        let a = audit_lib(&filter);
        drift = dropcap::rules::drift::drift(by_name(&a, &g.0));
        if !drift.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(
        drift[0].kind,
        dropcap::rules::drift::DriftKind::NonRootHolds
    );
    assert_eq!(drift[0].capabilities, set("NET_BIND_SERVICE"));
    let (v, _, _) = run_audit(&["--format", "json", "--filter", &filter]);
    let got = findings(&v).remove(&g.0).unwrap_or_default();
    assert!(
        got.contains(&f("DC012", set("NET_BIND_SERVICE"))),
        "{got:?}"
    );
}

#[test]
fn adds_for_a_non_root_user_are_confirmed_from_cap_eff() {
    if !docker_available("nonroot_adds") {
        return;
    }
    let image = test_image();
    let (lbl, filter) = label("nonroot");
    let g = container(
        "nonroot",
        &[
            "--label",
            &lbl,
            "--user",
            "1000:1000",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_BIND_SERVICE",
            image,
            "sleep",
            "600",
        ],
        true,
    );
    // The kernel's view: the bounding set has it, the effective set does not.
    let status = docker(&["exec", &g.0, "cat", "/proc/1/status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("CapEff:\t0000000000000000"), "{status}");
    assert!(status.contains("CapBnd:\t0000000000000400"), "{status}");
    let (v, _, stderr) = run_audit(&["--format", "json", "--filter", &filter]);
    let dc016: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "DC016")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(dc016.len(), 1, "{v}\n{stderr}");
    assert!(
        dc016[0].contains("runs as uid 1000: it is not effective (confirmed: none of its"),
        "{}",
        dc016[0]
    );
}

#[test]
fn unreachable_engine_is_one_line_and_exit_2() {
    let (v, code, _) = run_audit(&[
        "--format",
        "json",
        "--host",
        "unix:///nonexistent/dropcap.sock",
    ]);
    assert_eq!(code, 2);
    let errs = v["errors"].as_array().expect("errors");
    assert_eq!(errs.len(), 1);
    let msg = errs[0]["message"].as_str().expect("message");
    assert!(
        msg.contains("no socket at /nonexistent/dropcap.sock"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert_eq!(v["engine"], Value::Null);

    // Table output too, and a refused TCP port (nothing listens on port 1 of loopback).
    let out = Command::new(dropcap_bin())
        .args(["audit", "--host", "tcp://127.0.0.1:1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // Errors go to stderr in every format, the summary to stdout.
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("tcp://127.0.0.1:1: error:"), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 error"));
}

#[test]
fn permission_denied_on_the_socket() {
    if !docker_available("permission_denied") || !is_root("permission_denied") {
        return;
    }
    // nobody is not in the docker group; the socket is root:docker 0660.
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(dropcap_bin())
        .args([
            "audit",
            "--format",
            "json",
            "--host",
            "unix:///var/run/docker.sock",
        ])
        .output()
        .expect("setpriv");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let msg = v["errors"][0]["message"].as_str().expect("message");
    assert!(
        msg.starts_with("permission denied on /var/run/docker.sock"),
        "{msg}"
    );
}

/// A fake engine on a unix socket: one container vanished between list and inspect, one
/// answers garbage, one is fine. The good one is still audited, the vanished one is a note,
/// the garbage one an error.
#[test]
fn removed_and_malformed_containers_do_not_stop_the_audit() {
    use std::io::{BufReader, Write};
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("engine.sock");
    let listener = UnixListener::bind(&sock).expect("bind");
    let good = "a".repeat(64);
    let gone = "b".repeat(64);
    let bad = "c".repeat(64);
    let list = format!(r#"[{{"Id":"{good}"}},{{"Id":"{gone}"}},{{"Id":"{bad}"}}]"#);
    let inspect_good = format!(
        r#"{{"Id":"{good}","Name":"/web","Config":{{"Image":"nginx"}},"State":{{"Running":false}},"HostConfig":{{"CapAdd":["CAP_SYS_ADMIN"],"CapDrop":null,"Privileged":false}}}}"#
    );
    // Detached: it serves until the test process ends.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            let path = common::read_request_path(&mut reader);
            let (status, body) = if path.ends_with("/_ping") {
                ("200 OK\r\nApi-Version: 1.41", "OK".to_string())
            } else if path.ends_with("/version") {
                ("200 OK", r#"{"Version":"20.10.0","ApiVersion":"1.41","Components":[{"Name":"Engine","Version":"20.10.0"}]}"#.to_string())
            } else if path.contains("/containers/json") {
                ("200 OK", list.clone())
            } else if path.contains(&good) {
                ("200 OK", inspect_good.clone())
            } else if path.contains(&gone) {
                (
                    "404 Not Found",
                    format!(r#"{{"message":"No such container: {gone}"}}"#),
                )
            } else {
                ("200 OK", r#"{"Id": 5, "HostConfig": "#.to_string())
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let host = format!("unix://{}", sock.display());
    let out = Command::new(dropcap_bin())
        .args([
            "audit",
            "--format",
            "json",
            "--host",
            &host,
            "--concurrency",
            "1",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "malformed answer is an error; {stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["summary"]["workloads"], 1);
    assert_eq!(
        findings(&v)
            .get("web")
            .map(|f| f.iter().any(|x| x == "DC003 SYS_ADMIN")),
        Some(true)
    );
    let errs = v["errors"].as_array().expect("errors");
    assert_eq!(errs.len(), 1, "{errs:?}");
    let msg = errs[0]["message"].as_str().expect("msg");
    assert!(
        msg.starts_with("container cccccccccccc: malformed answer"),
        "{msg}"
    );
    assert!(
        stderr.contains("note: container bbbbbbbbbbbb was removed while being audited; skipped"),
        "{stderr}"
    );
}

fn podman(args: &[&str]) -> std::process::Output {
    let out = Command::new("podman")
        .args(args)
        .output()
        .expect("run podman");
    assert!(
        out.status.success(),
        "podman {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Removes the named Podman container when dropped.
struct PodmanGuard(String);

impl Drop for PodmanGuard {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-v", &self.0])
            .output();
    }
}

#[test]
fn podman_engine_through_its_docker_compatible_socket() {
    if !docker_available("podman_engine") || !is_root("podman_engine") {
        return;
    }
    let Some(svc) = common::podman::service("podman_engine") else {
        return;
    };
    let image = common::podman::image();
    let (lbl, filter) = label("podman");
    // Podman sets RLIMIT_NOFILE to 1048576 by default, which needs CAP_SYS_RESOURCE this
    // sandbox's root lacks; explicit limits make containers start anywhere.
    let mk = |prefix: &str, flags: &[&str], start: bool| {
        let name = unique(prefix);
        let mut args = vec![if start { "run" } else { "create" }];
        if start {
            args.push("-d");
        }
        args.extend([
            "--name",
            name.as_str(),
            "--label",
            lbl.as_str(),
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ]);
        args.extend(flags);
        args.extend([image.as_str(), "sleep", "600"]);
        let g = PodmanGuard(name.clone());
        podman(&args);
        g
    };
    let default = mk("pm-default", &[], false);
    let running = mk("pm-running", &[], true);
    let add_raw = mk("pm-add-raw", &["--cap-add", "NET_RAW"], false);
    let minimal = mk(
        "pm-minimal",
        &["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"],
        false,
    );
    let sys_admin = mk(
        "pm-sys-admin",
        &["--cap-add", "SYS_ADMIN", "--cap-drop", "CHOWN"],
        false,
    );
    let privileged = mk("pm-privileged", &["--privileged"], false);

    let (v, code, stderr) =
        run_audit(&["--format", "json", "--host", &svc.host, "--filter", &filter]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(v["engine"]["kind"], "podman", "{v}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0), "{v}");
    assert!(!stderr.contains("libpod inspect failed"), "{stderr}");
    let got = findings(&v);
    let p = CapSet::podman_default();
    let nr = set("NET_RAW");
    let expect: Vec<(&PodmanGuard, Vec<String>)> = vec![
        // Podman's default set has no NET_RAW: nothing about it, unlike Docker.
        (&default, vec![f("DC007", p), f("DC011", p)]),
        (&running, vec![f("DC007", p), f("DC011", p)]),
        (
            &add_raw,
            vec![
                f("DC004", nr),
                f("DC007", p.with(Cap::NET_RAW)),
                f("DC009", nr),
                f("DC011", p.with(Cap::NET_RAW)),
            ],
        ),
        (&minimal, vec![f("DC011", set("NET_BIND_SERVICE"))]),
        (
            &sys_admin,
            vec![
                f("DC003", set("SYS_ADMIN")),
                f("DC007", p.with(Cap::SYS_ADMIN).without(Cap::CHOWN)),
                f("DC011", p.with(Cap::SYS_ADMIN).without(Cap::CHOWN)),
            ],
        ),
        (&privileged, vec![f("DC002", CapSet::all_known())]),
    ];
    for (c, want) in &expect {
        assert_eq!(
            got.get(&c.0).cloned().unwrap_or_default(),
            sorted(want.clone()),
            "findings of {}",
            c.0
        );
    }
    assert_eq!(got.len(), expect.len(), "{got:?}");

    // The running container's processes, read from /proc, have Podman's bounding set.
    let audit = audit_engine_blocking(
        Some(&svc.host),
        &EngineOptions {
            filters: vec![format!("name={}", running.0)],
            progress: false,
            ..EngineOptions::default()
        },
    );
    let w = by_name(&audit, &running.0);
    assert!(!w.processes.is_empty(), "no processes read for Podman");
    for pr in &w.processes {
        assert_eq!(pr.bounding, p, "kernel vs Podman default");
    }
    let inside = podman(&[
        "exec",
        &running.0,
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
    ]);
    let inside = String::from_utf8_lossy(&inside.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        w.observed_sysctls.get("net.ipv4.ping_group_range"),
        Some(&inside)
    );
}

/// An engine that accepts connections and never answers ends the audit at --timeout.
#[test]
fn hung_engine_times_out() {
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("hung.sock");
    let listener = UnixListener::bind(&sock).expect("bind");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let start = std::time::Instant::now();
    let out = Command::new(dropcap_bin())
        .args(["audit", "--format", "json", "--timeout", "1", "--host"])
        .arg(format!("unix://{}", sock.display()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let msg = v["errors"][0]["message"].as_str().expect("message");
    assert!(msg.contains("did not answer"), "{msg}");
}

/// A DOCKER_HOST that is not UTF-8 names an engine all the same: the audit must fail on it,
/// never quietly audit the default engine instead.
#[test]
fn non_utf8_docker_host_is_not_the_default_engine() {
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(dropcap_bin())
        .args(["audit", "--format", "json"])
        .env(
            "DOCKER_HOST",
            std::ffi::OsStr::from_bytes(b"unix:///nonexistent/dropcap-\xff.sock"),
        )
        .output()
        .expect("run dropcap");
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let msg = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("no socket at /nonexistent/dropcap-"), "{v}");
}

/// Every engine answer is capped like `/_ping`'s: an inspect that streams without end is an
/// error for that container (exit 2) after 16 MiB, not a process that fills memory until
/// --timeout.
#[test]
fn endless_inspect_answer_is_capped() {
    use std::io::{BufReader, Write};
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("endless.sock");
    let listener = UnixListener::bind(&sock).expect("bind");
    let id = "d".repeat(64);
    let list = format!(r#"[{{"Id":"{id}"}}]"#);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let list = list.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(s.try_clone().expect("clone"));
                let path = common::read_request_path(&mut reader);
                let head =
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n";
                if path.ends_with("/_ping") {
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK");
                } else if path.ends_with("/version") {
                    let body = r#"{"Version":"20.10.0","ApiVersion":"1.41"}"#;
                    let _ = write!(s, "{head}Content-Length: {}\r\n\r\n{body}", body.len());
                } else if path.contains("/containers/json") {
                    let _ = write!(s, "{head}Content-Length: {}\r\n\r\n{list}", list.len());
                } else {
                    // An inspect that never ends: 64 KiB of blanks at a time, up to 64 MiB.
                    let _ = write!(s, "{head}\r\n{{\"Id\":");
                    let chunk = vec![b' '; 1 << 16];
                    for _ in 0..1024 {
                        if s.write_all(&chunk).is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    let out = Command::new(dropcap_bin())
        .args(["audit", "--format", "json", "--timeout", "60", "--host"])
        .arg(format!("unix://{}", sock.display()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let msg = v["errors"][0]["message"].as_str().expect("message");
    assert!(
        msg.starts_with("container dddddddddddd:") && msg.contains("larger than 16 MiB"),
        "{msg}"
    );
}
