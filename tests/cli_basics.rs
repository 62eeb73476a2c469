//! End-to-end tests of decode, explain and ps through the real binary.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::collections::HashMap;

fn dropcap() -> Command {
    Command::cargo_bin("dropcap").unwrap()
}

#[test]
fn decode_docker_default_mask() {
    dropcap()
        .args(["decode", "0xa80425fb"])
        .assert()
        .success()
        .stdout("0x00000000a80425fb=CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,NET_RAW,SYS_CHROOT,MKNOD,AUDIT_WRITE,SETFCAP  (Docker default, 14)\n");
}

#[test]
fn decode_json_and_bad_mask_keeps_good_ones() {
    let out = dropcap()
        .args(["--format", "json", "decode", "a80425fb", "nothex", "0x2000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "'nothex' is not a hexadecimal capability mask",
        ))
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["capabilities"].as_array().unwrap().len(), 14);
    assert_eq!(v[0]["well_known"], "Docker default");
    assert_eq!(v[1]["capabilities"], serde_json::json!(["NET_RAW"]));
}

#[test]
fn decode_pid_1_and_self() {
    dropcap()
        .args(["decode", "--pid", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("bounding"))
        .stdout(predicate::str::contains("seccomp"));
    let me = std::process::id().to_string();
    let out = dropcap()
        .args(["--format", "json", "decode", "--pid", &me])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["pid"].as_u64().unwrap().to_string(), me);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = status.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    let mask = u64::from_str_radix(bnd.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(
        v["bounding"].as_array().unwrap().len(),
        mask.count_ones() as usize
    );
}

#[test]
fn decode_missing_pid_is_exit_2() {
    dropcap()
        .args(["decode", "--pid", "4000000000"])
        .assert()
        .code(2)
        .stderr("dropcap: no process with pid 4000000000\n");
}

#[test]
fn explain_net_raw_mentions_ping_group_range() {
    dropcap()
        .args(["explain", "cap_net_raw"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ping_group_range"))
        .stdout(predicate::str::contains(
            "ping: permission denied (are you root?)",
        ));
    dropcap()
        .args(["explain", "NET_BIND_SERVICE"])
        .assert()
        .success()
        .stdout(predicate::str::contains("listen EACCES"))
        .stdout(predicate::str::contains("ip_unprivileged_port_start"));
}

#[test]
fn explain_typo_suggests_and_fails() {
    dropcap()
        .args(["explain", "SYS_ADMN"])
        .assert()
        .code(2)
        .stderr("dropcap: unknown capability 'SYS_ADMN' (did you mean SYS_ADMIN?)\n");
}

#[test]
fn explain_lists_all_41() {
    let out = dropcap()
        .args(["--format", "json", "explain"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 41);
    let docker = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["default_in"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "docker")
        })
        .count();
    assert_eq!(docker, 14);
    dropcap()
        .args(["explain"])
        .assert()
        .success()
        .stdout(predicate::str::contains("CHECKPOINT_RESTORE"));
}

#[test]
fn ps_unknown_container_is_an_error() {
    dropcap()
        .args(["ps", "--no-names", "--container", "nosuchcontainer"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no running container matches 'nosuchcontainer'",
        ));
    dropcap()
        .args(["ps", "--no-names", "--container", ""])
        .assert()
        .code(2);
}

#[test]
fn sarif_is_refused_outside_audit() {
    dropcap()
        .args(["--format", "sarif", "ps"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only for audit"));
}

#[test]
fn sarif_is_refused_by_exec_too() {
    dropcap()
        .args(["--format", "sarif", "exec", "--caps", "", "--", "true"])
        .assert()
        .code(2)
        .stderr("dropcap: --format sarif is only for audit; exec supports table and json\n");
}

#[test]
fn ps_empty_container_filter_is_an_error() {
    dropcap()
        .args(["ps", "--container", ""])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "dropcap: ps: --container is empty",
        ));
}

/// pscap prints `ppid pid user command capabilities [+] [@]` with libcap-ng's lowercase names
/// or `full`; parse it into pid → capability names (or "full").
fn pscap_sets() -> HashMap<u32, String> {
    let out = std::process::Command::new("pscap")
        .arg("-a")
        .output()
        .expect("pscap is installed by scripts/test.sh (libcap-ng-utils)");
    assert!(out.status.success());
    let mut map = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 {
            continue;
        }
        let pid: u32 = cols[1].parse().unwrap();
        // Capabilities start at column 4 and run to the end, minus the markers.
        let caps: Vec<&str> = cols[4..]
            .iter()
            .copied()
            .filter(|c| *c != "+" && *c != "@")
            .collect();
        map.insert(pid, caps.join(" ").replace(',', ""));
    }
    map
}

/// dropcap's permitted set per pid, spelled like pscap (lowercase names or `full`).
fn ps_permitted() -> HashMap<u32, String> {
    let out = dropcap()
        .args(["--format", "json", "ps", "--all"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let groups: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let all = dropcap::caps::CapSet::all_known().len();
    let mut map = HashMap::new();
    for g in groups.as_array().unwrap() {
        for p in g["processes"].as_array().unwrap() {
            let permitted: Vec<String> = p["permitted"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_lowercase())
                .collect();
            let text = if permitted.len() >= all {
                "full".to_string()
            } else {
                permitted.join(" ")
            };
            map.insert(p["pid"].as_u64().unwrap() as u32, text);
        }
    }
    map
}

#[test]
fn ps_agrees_with_pscap() {
    // A container process holding a known partial set, so the comparison covers more than
    // "full" root processes.
    let partial = common::docker_available("ps_agrees_with_pscap").then(|| {
        let image = common::test_image();
        let c = common::container(
            "pscap",
            &[
                "--cap-drop",
                "ALL",
                "--cap-add",
                "CHOWN",
                "--cap-add",
                "NET_RAW",
                image,
                "sleep",
                "300",
            ],
            true,
        );
        let pid = String::from_utf8(
            common::docker(&["inspect", "--format", "{{.State.Pid}}", &c.0]).stdout,
        )
        .unwrap();
        (c, pid.trim().parse::<u32>().unwrap())
    });
    // Other tests start and stop processes concurrently: snapshot dropcap, pscap, dropcap
    // again, and compare only processes whose sets did not change across the snapshots.
    let before = ps_permitted();
    let pscap = pscap_sets();
    let after = ps_permitted();
    let mut compared = Vec::new();
    for (pid, ours) in &before {
        let (Some(theirs), Some(again)) = (pscap.get(pid), after.get(pid)) else {
            continue;
        };
        if again == ours {
            assert_eq!(ours, theirs, "pid {pid}");
            compared.push(*pid);
        }
    }
    assert!(!compared.is_empty(), "no process compared");
    if let Some((_guard, pid)) = &partial {
        assert!(compared.contains(pid), "container pid {pid} not compared");
        assert_eq!(pscap[pid], "chown net_raw");
    }
}

#[test]
fn ps_groups_container_processes() {
    if !common::docker_available("ps_groups_container_processes") {
        return;
    }
    let image = common::test_image();
    let c = common::container(
        "ps",
        &[
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_BIND_SERVICE",
            image,
            "sleep",
            "300",
        ],
        true,
    );
    let id = String::from_utf8(common::docker(&["inspect", "--format", "{{.Id}}", &c.0]).stdout)
        .unwrap();
    let id = id.trim();
    let out = dropcap()
        .args(["--format", "json", "ps", "--all", "--container", &id[..12]])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let groups: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let g = &groups[0];
    assert_eq!(g["container"]["id"], id);
    assert_eq!(g["container"]["runtime"], "docker");
    let sleep = g["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["command"] == "sleep 300")
        .unwrap();
    assert_eq!(sleep["bounding"], serde_json::json!(["NET_BIND_SERVICE"]));
    assert_eq!(sleep["permitted"], serde_json::json!(["NET_BIND_SERVICE"]));
    let table = dropcap()
        .args(["ps", "--container", &id[..12]])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains(&format!("container {} ({}, docker)", c.0, &id[..12])),
        "{table}"
    );
    assert_eq!(g["container"]["name"], c.0.as_str());
    // The name selects the container too; without the engine the id alone is shown.
    let by_name = dropcap()
        .args(["ps", "--all", "--no-names", "--container", &id[..12]])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let by_name = String::from_utf8(by_name).unwrap();
    assert!(
        by_name.contains(&format!("container {} (docker)", &id[..12])),
        "{by_name}"
    );
    dropcap()
        .args(["ps", "--all", "--container", &c.0])
        .assert()
        .success()
        .stdout(predicate::str::contains("sleep 300"));
    assert!(table.contains("NET_BIND_SERVICE"), "{table}");
}

/// Any process, one in a container included, chooses its own command line; `ps` must not let
/// it drive the terminal of whoever runs dropcap.
#[test]
fn ps_escapes_control_characters_in_command_lines() {
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new("sleep")
        .arg0("\x1b[2Kdropcap-esc-test\r")
        .arg("30")
        .spawn()
        .expect("sleep runs");
    let out = dropcap()
        .args(["--color", "never", "ps", "--all"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\\u{1b}[2Kdropcap-esc-test\\r"), "{stdout}");
    assert!(!stdout.contains(['\x1b', '\r']), "{stdout}");
}
