//! Swarm services against a real single-node swarm: the live audit reports each service once,
//! from its spec (also with no task anywhere), attaches its task containers, measures drift
//! against the spec, and speaks `docker service update`; a stack deployed from a compose file
//! with `privileged: true` runs unprivileged, which the static audit says (DC022).
//!
//! Other tests share the engine, and a swarm changes what they see, so the swarm lives only
//! for this one test (a guard leaves it, also on panic) and everything is named with a prefix
//! unique to this run. One test function: the steps share the swarm, and a lock file keeps a
//! second checkout's run from initialising it at the same time.

mod common;

use common::*;
use serde_json::Value;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const STACK_FILE: &str = "tests/fixtures/swarm/stack-privileged.yml";

/// A single-node swarm for the duration of the test; `docker swarm leave --force` on drop.
struct Swarm {
    _lock: std::fs::File,
    /// Task containers named with it are removed after leaving: the engine leaves behind the
    /// ones it had created but not started (seen during a rolling update).
    prefix: String,
}

impl Swarm {
    fn init(prefix: &str) -> Swarm {
        let lock = std::fs::File::create("/tmp/dropcap-swarm-test.lock").expect("lock file");
        // SAFETY: flock on a descriptor this struct owns; released when it is closed.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock");
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        if String::from_utf8_lossy(&state.stdout).trim() != "inactive" {
            // Only this test makes swarms here: one holding nothing but this test's services
            // is the leftover of a run that was killed before its guard could leave.
            let names = docker(&["service", "ls", "--format", "{{.Name}}"]);
            let names = String::from_utf8_lossy(&names.stdout).to_string();
            assert!(
                names.lines().all(|n| n.starts_with("dropcap-test-sw-")),
                "this engine is in a swarm this test did not make (services: {names})"
            );
            docker(&["swarm", "leave", "--force"]);
        }
        let guard = Swarm {
            _lock: lock,
            prefix: prefix.to_string(),
        };
        docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        guard
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["swarm", "leave", "--force"])
            .output();
        let left = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("name={}", self.prefix)])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        for id in left.lines() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
        // `swarm init` made it and `swarm leave` keeps it.
        let _ = Command::new("docker")
            .args(["network", "rm", "docker_gwbridge"])
            .output();
    }
}

/// `docker service create -d` of the test image running `sleep 600`, with `flags`.
fn service(name: &str, flags: &[&str]) {
    let mut args = vec!["service", "create", "-d", "-q", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[test_image(), "sleep", "600"]);
    docker(&args);
}

fn dropcap(args: &[&str]) -> Output {
    Command::new(dropcap_bin())
        .args(args)
        .output()
        .expect("run dropcap")
}

/// A live audit (`--no-images`: the image findings are not what this test is about) or, with
/// a path, a static one.
fn json_audit(args: &[&str]) -> (Value, String) {
    let mut all = vec!["--format", "json", "audit"];
    if args.iter().all(|a| a.starts_with('-') || a.contains('=')) {
        all.push("--no-images");
    }
    all.extend_from_slice(args);
    let out = dropcap(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (v, stderr)
}

/// The findings of one workload, as `RULE` strings in report order.
fn rules_of<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["workload"]["name"] == name)
        .collect()
}

fn ids(findings: &[&Value]) -> Vec<String> {
    let mut ids: Vec<String> = findings
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn services_here() -> Vec<String> {
    let out = Command::new("docker")
        .args(["service", "ls", "--format", "{{.Name}}"])
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Running task containers of a service on this node.
fn running_tasks(service: &str) -> usize {
    let out = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
        "--filter",
        "status=running",
    ]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > Duration::from_secs(90) {
            // Why tasks did not start (e.g. the engine's docker0 bridge is gone).
            let ps = Command::new("docker")
                .args([
                    "service",
                    "ps",
                    "--no-trunc",
                    "--format",
                    "{{.Name}} {{.CurrentState}} {{.Error}}",
                ])
                .args(services_here())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default();
            panic!("timed out waiting for {what}; tasks:\n{ps}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn swarm_services_stacks_and_their_tasks() {
    let test = "swarm_services_stacks_and_their_tasks";
    if !docker_available(test) {
        return;
    }
    let image = test_image();
    let p = unique("sw");
    let net = format!("{p}-net");
    let none = format!("{p}-none");
    let def = format!("{p}-def");
    let glob = format!("{p}-glob");
    let stack = format!("{p}-stk");
    let admin = format!("{stack}_admin");

    let swarm = Swarm::init(&p);
    // Two replicas rolled one at a time, ten minutes apart: after an update, one task of the
    // old spec keeps running, which is the drift the audit must see.
    service(
        &net,
        &[
            "--replicas",
            "2",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "ALL",
            "--update-parallelism",
            "1",
            "--update-delay",
            "10m",
        ],
    );
    service(&none, &["--constraint", "node.labels.dropcap-nowhere==1"]);
    service(&def, &[]);
    service(&glob, &["--mode", "global"]);
    let deploy = docker(&["stack", "deploy", "-c", STACK_FILE, &stack]);
    let said = String::from_utf8_lossy(&deploy.stderr).to_string()
        + &String::from_utf8_lossy(&deploy.stdout);
    assert!(
        said.contains("Ignoring unsupported options: privileged, security_opt"),
        "the docker CLI no longer says which keys it ignores: {said}"
    );
    wait_for("the tasks to run", || {
        running_tasks(&net) == 2
            && running_tasks(&def) == 1
            && running_tasks(&glob) == 1
            && running_tasks(&admin) == 1
    });

    let filter = format!("name={p}");
    let (v, stderr) = json_audit(&["--filter", &filter]);
    assert_eq!(v["summary"]["workloads"], 5, "{v:#}\n{stderr}");
    assert_eq!(v["summary"]["errors"], 0, "{stderr}");
    for f in v["findings"].as_array().expect("findings") {
        let name = f["workload"]["name"].as_str().expect("name");
        assert!(
            [&net, &none, &def, &glob, &admin].contains(&&name.to_string()),
            "a task container reported on its own: {name}"
        );
        assert_eq!(f["workload"]["kind"], "service");
    }

    // NET_ADMIN on a service: DC003, phrased for `docker service update`.
    let f = rules_of(&v, &net);
    assert_eq!(ids(&f), ["DC003", "DC011"], "{f:#?}");
    assert_eq!(f[0]["capabilities"], serde_json::json!(["NET_ADMIN"]));
    assert_eq!(
        f[0]["remediation"],
        format!("docker service update --cap-drop NET_ADMIN {net} (stack file: remove NET_ADMIN from cap_add)")
    );
    assert_eq!(f[0]["workload"]["mode"], "replicated");
    assert_eq!(f[0]["workload"]["replicas"], 2);
    let tasks = f[0]["workload"]["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 2);
    assert!(tasks
        .iter()
        .all(|t| t.as_str().unwrap().starts_with(&format!("{net}."))));

    // No task anywhere: still audited, from the spec alone.
    let f = rules_of(&v, &none);
    assert_eq!(ids(&f), ["DC007", "DC009", "DC010", "DC011"], "{f:#?}");
    assert_eq!(f[0]["workload"]["tasks"], serde_json::json!([]));
    assert_eq!(f[0]["workload"]["replicas"], 1);
    let dc009 = f.iter().find(|f| f["rule"] == "DC009").unwrap();
    assert!(dc009["remediation"]
        .as_str()
        .unwrap()
        .starts_with(&format!("docker service update --cap-drop NET_RAW {none} ")));
    // Defaults with a task: the same findings, and its processes match the spec (no DC012).
    assert_eq!(
        ids(&rules_of(&v, &def)),
        ["DC007", "DC009", "DC010", "DC011"]
    );

    // Global: no replica count, one task here (a single node).
    let f = rules_of(&v, &glob);
    assert_eq!(ids(&f), ["DC007", "DC009", "DC010", "DC011"]);
    assert_eq!(f[0]["workload"]["mode"], "global");
    assert_eq!(f[0]["workload"]["replicas"], Value::Null);
    assert_eq!(f[0]["workload"]["tasks"].as_array().map(Vec::len), Some(1));

    // The stack: privileged was ignored, so the service is judged (and runs) unprivileged,
    // with the same capability findings as the static audit with --stack.
    let live = ids(&rules_of(&v, &admin));
    assert_eq!(live, ["DC003", "DC007", "DC009", "DC010", "DC011"]);
    let (s, _) = json_audit(&["--stack", STACK_FILE]);
    let static_ids: Vec<&str> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    let mut without_dc022: Vec<String> = static_ids
        .iter()
        .filter(|r| **r != "DC022")
        .map(|r| r.to_string())
        .collect();
    without_dc022.sort();
    assert_eq!(without_dc022, live, "static --stack and live disagree");

    // Table and SARIF say the same.
    let out = dropcap(&["audit", "--no-images", "--filter", &filter]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains(&format!(
            "{none}  service replicated 1, no task on this node  image {image}"
        )),
        "{table}"
    );
    assert!(table.contains(&format!(
        "{net}  service replicated 2, 2 tasks on this node"
    )));
    assert!(table.contains(&format!("{glob}  service global, 1 task on this node")));
    let out = dropcap(&[
        "--format",
        "sarif",
        "audit",
        "--no-images",
        "--filter",
        &filter,
    ]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0]["logicalLocations"][0];
        assert_eq!(loc["kind"], "service", "{r:#}");
        assert!(r["message"]["text"]
            .as_str()
            .unwrap()
            .contains(" (service "));
    }

    // Apply the remediation: the spec loses NET_ADMIN at once, the task of the old spec keeps
    // it until the rollout reaches it: drift (DC012) and a note naming the task.
    docker(&[
        "service",
        "update",
        "-d",
        "-q",
        "--cap-drop",
        "NET_ADMIN",
        &net,
    ]);
    let mut last = (Value::Null, String::new());
    wait_for("one task of the new spec", || {
        last = json_audit(&["--filter", &format!("name={net}")]);
        let f = rules_of(&last.0, &net);
        running_tasks(&net) == 2 && ids(&f) == ["DC012"]
    });
    let (v, stderr) = last;
    let f = rules_of(&v, &net);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["severity"], "medium");
    assert_eq!(f[0]["capabilities"], serde_json::json!(["NET_ADMIN"]));
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .ends_with("can use NET_ADMIN, which the service's spec does not grant"));
    assert!(f[0]["remediation"]
        .as_str()
        .unwrap()
        .contains(&format!("docker service update --force {net}")));
    assert!(
        stderr.contains(&format!(
            "of service {net} was created with capabilities NET_ADMIN but the spec now grants no capability"
        )),
        "{stderr}"
    );
    drop(swarm);

    // Without the swarm (and the task containers the guard removes), nothing is left.
    let (v, _) = json_audit(&["--filter", &filter]);
    assert_eq!(v["summary"]["workloads"], 0, "{v:#}");
    // The static audit of the stack file: DC022 at both keys, with or without --stack.
    let (s, _) = json_audit(&[STACK_FILE]);
    let dc022: Vec<(String, u64)> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "DC022")
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(dc022, [("medium".to_string(), 10), ("low".to_string(), 9)]);
    assert!(Path::new(STACK_FILE).exists());
}
