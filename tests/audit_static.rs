//! `dropcap audit PATH...` end to end: every bundled example and fixture against a golden file
//! that pins each finding's rule, severity and exact line:column; exit codes; stdin; SARIF and
//! JSON structure.
//!
//! Golden files live in `tests/golden/audit_static/`. After an intended change, regenerate
//! them with `UPDATE_GOLDEN=1 cargo test --test audit_static` and review the diff: every line
//! is a claim about where a finding points.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dropcap() -> Command {
    let mut c = Command::cargo_bin("dropcap").expect("binary built");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn audit_json(args: &[&str]) -> (Value, i32, String) {
    let out = dropcap()
        .args(["audit", "--format", "json"])
        .args(args)
        .output()
        .expect("run dropcap");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json: {e}\n{}", String::from_utf8_lossy(&out.stdout)));
    (v, out.status.code().unwrap_or(-1), stderr)
}

/// One line per finding and error, in report order: the human-checkable essence of a run.
fn digest(v: &Value, code: i32) -> String {
    let mut s = String::new();
    for e in v["errors"].as_array().unwrap() {
        s.push_str(&format!(
            "{}:{}:{}: error: {}\n",
            e["path"].as_str().unwrap(),
            e["line"],
            e["column"],
            e["message"].as_str().unwrap()
        ));
    }
    for f in v["findings"].as_array().unwrap() {
        let loc = &f["location"];
        let w = &f["workload"];
        let mut name = w["name"].as_str().unwrap().to_string();
        if let Some(c) = w["container"].as_str() {
            name.push_str(&format!(" ({c})"));
        }
        let caps: Vec<&str> = f["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        s.push_str(&format!(
            "{}:{}:{} {} {} {} [{}]",
            loc["file"].as_str().unwrap(),
            loc["line"],
            loc["column"],
            f["severity"].as_str().unwrap(),
            f["rule"].as_str().unwrap(),
            name,
            caps.join(",")
        ));
        if let Some(r) = f["suppressed"].as_str() {
            s.push_str(&format!(" suppressed: {r}"));
        }
        s.push('\n');
    }
    s.push_str(&format!("exit {code}\n"));
    s
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/audit_static")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual,
        expected,
        "{name}: output differs from {}",
        path.display()
    );
}

fn files_under(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn every_example_and_fixture_matches_its_golden_file() {
    let mut files = files_under("examples");
    files.extend(files_under("tests/fixtures/audit"));
    files.retain(|f| f.extension().is_some_and(|e| e != "md"));
    assert!(files.len() >= 12, "{files:?}");
    for f in files {
        let path = rel(&f);
        let (v, code, _) = audit_json(&[&path]);
        golden(&path.replace('/', "__"), &digest(&v, code));
    }
}

#[test]
fn policies_change_the_rule_set() {
    for policy in ["cis-docker", "pss-baseline", "pss-restricted", "strict"] {
        let (v, code, _) = audit_json(&["--policy", policy, "examples"]);
        assert_eq!(v["policy"], policy);
        golden(&format!("examples-{policy}"), &digest(&v, code));
    }
}

#[test]
fn quick_start_shows_a_mix_of_findings_and_exits_1() {
    let out = dropcap().args(["audit", "examples/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "critical DC002",
        "critical DC003",
        "high DC009",
        "medium DC008",
        "examples/compose/web-stack.yaml:28:3: high DC009",
        "suppressed",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(text.lines().any(|l| l.contains("fix:")), "{text}");
}

#[test]
fn dot_is_the_current_directory_and_paths_stay_relative() {
    let out = dropcap()
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .args(["audit", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("compose/healthcheck-ping.yaml:5:3: gateway"),
        "{text}"
    );
    assert!(
        text.contains("\nkubernetes/deployment-fuse.yaml:40:19: critical DC003"),
        "{text}"
    );
}

#[test]
fn clean_input_exits_0() {
    dropcap()
        .args(["audit", "examples/kubernetes/restricted-pod.yaml"])
        .assert()
        .code(0);
}

#[test]
fn fail_on_threshold() {
    // cronjob-backup has high, medium and low findings but nothing critical.
    let f = "examples/kubernetes/cronjob-backup.yaml";
    dropcap()
        .args(["audit", "--fail-on", "critical", f])
        .assert()
        .code(0);
    dropcap()
        .args(["audit", "--fail-on", "high", f])
        .assert()
        .code(1);
}

#[test]
fn bad_file_is_reported_and_the_others_still_audited() {
    let out = dropcap()
        .args([
            "audit",
            "tests/fixtures/audit/broken.yaml",
            "examples/kubernetes/deployment-fuse.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("tests/fixtures/audit/broken.yaml:8:55: error: while parsing a flow sequence"),
        "{err}"
    );
    assert!(!text.contains(": error:"), "errors go to stderr: {text}");
    assert!(
        text.contains("examples/kubernetes/deployment-fuse.yaml:40:19: critical DC003"),
        "{text}"
    );
}

#[test]
fn errors_go_to_stderr_in_every_format() {
    for format in ["table", "json", "sarif"] {
        let out = dropcap()
            .args([
                "audit",
                "--format",
                format,
                "tests/fixtures/audit/broken.yaml",
                "examples/kubernetes/restricted-pod.yaml",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            err,
            "tests/fixtures/audit/broken.yaml:8:55: error: while parsing a flow sequence, expected ',' or ']'\n",
            "{format}"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if format != "table" {
            // The document keeps them too.
            assert!(
                text.contains("while parsing a flow sequence"),
                "{format}: {text}"
            );
        }
    }
}

#[test]
fn pss_restricted_requires_allow_privilege_escalation_false_everywhere() {
    let f = "tests/fixtures/audit/pss-restricted-escalation.yaml";
    let (v, code, _) = audit_json(&["--policy", "pss-restricted", f]);
    golden("pss-restricted-escalation", &digest(&v, code));
    let dc014: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "DC014")
        .map(|f| f["workload"]["container"].as_str().unwrap())
        .collect();
    // init, unset, explicit-true, no-context and the ephemeral debug container; not compliant.
    assert_eq!(
        dc014,
        ["init", "unset", "explicit-true", "no-context", "debug"],
        "{v}"
    );
}

#[test]
fn hidden_directories_are_counted_and_audited_with_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".deploy/k8s")).unwrap();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    std::fs::write(d.join("compose.yaml"), "services:\n  web:\n    image: x\n    cap_drop: [ALL]\n    security_opt: [no-new-privileges]\n").unwrap();
    std::fs::write(
        d.join(".deploy/k8s/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    securityContext: {privileged: true}\n",
    )
    .unwrap();
    std::fs::write(
        d.join(".deploy/k8s/svc.yml"),
        "apiVersion: v1\nkind: Service\n",
    )
    .unwrap();
    std::fs::write(d.join(".git/config.yaml"), "services: {}\n").unwrap();
    let out = dropcap().args(["audit"]).arg(d).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("skipped 2 YAML/JSON files in hidden files or directories, e.g. ")
            && err.contains(".deploy/k8s/pod.yaml; --hidden audits them"),
        "{err}"
    );
    let out = dropcap()
        .args(["audit", "--hidden"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("critical DC002"), "{text}");
    assert!(!String::from_utf8(out.stderr).unwrap().contains("hidden"));
}

#[test]
fn verbose_says_why_a_document_was_skipped() {
    let out = dropcap()
        .args([
            "audit",
            "--verbose",
            "tests/fixtures/audit/services-api-dump.json",
            "tests/fixtures/audit/docker-ps-list.json",
            "tests/fixtures/audit/pod-template-kinds.yaml",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    for needle in [
        "services-api-dump.json:1:1: skipped: a `services` key, but `routers` is not a compose top-level key",
        "docker-ps-list.json:1:1: skipped: a container list (GET /containers/json",
        "pod-template-kinds.yaml:28:1: skipped: kind Service has no pod template",
        "pod-template-kinds.yaml:15:1: note: Rollout is not a kind dropcap knows",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
    // Without --verbose only the note (an audited object) is said.
    let out = dropcap()
        .args(["audit", "tests/fixtures/audit/pod-template-kinds.yaml"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("skipped"), "{err}");
    assert!(err.contains("note: Rollout"), "{err}");
}

#[test]
fn missing_file_is_an_error() {
    let (v, code, _) = audit_json(&["no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert_eq!(v["errors"][0]["path"], "no/such/file.yaml");
    assert!(v["errors"][0]["line"].is_null());
}

#[test]
fn helm_output_on_stdin() {
    let text = std::fs::read_to_string("examples/kubernetes/helm-output.yaml").unwrap();
    let out = dropcap()
        .args(["audit", "--format", "json", "-"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {}",
                f["location"]["file"].as_str().unwrap(),
                f["location"]["line"],
                f["location"]["column"],
                f["rule"].as_str().unwrap()
            )
        })
        .collect();
    assert!(got.contains(&"<stdin>:65:21 DC003".to_string()), "{got:?}");
    assert!(got.contains(&"<stdin>:47:13 DC007".to_string()), "{got:?}");
}

#[test]
fn directory_walk_skips_gitignored_and_non_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join(".gitignore"), "generated/\n").unwrap();
    std::fs::create_dir(d.join("generated")).unwrap();
    std::fs::write(
        d.join("generated/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: hidden}\nspec:\n  containers: [{name: c, securityContext: {privileged: true}}]\n",
    )
    .unwrap();
    std::fs::write(d.join("notes.md"), "services: not yaml: [\n").unwrap();
    std::fs::write(
        d.join("stack"),
        "services:\n  web:\n    image: nginx\n    privileged: true\n",
    )
    .unwrap();
    // JSON with comments (not a manifest) and a Helm template: neither is dropcap's to judge.
    std::fs::write(d.join("tsconfig.json"), "{ // comment\n \"a\": 1 }\n").unwrap();
    let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  {{- with .Values.x }}\n  x: {{ . }}\n  {{- end }}\n";
    std::fs::write(d.join("deploy.yaml"), template).unwrap();
    let (v, code, stderr) = audit_json(&[d.to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
    assert!(
        stderr.contains("deploy.yaml: skipped: a template"),
        "{stderr}"
    );
    let names: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["workload"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"web"), "{names:?}");
    assert!(!names.contains(&"Pod/hidden"), "{names:?}");
    // Named explicitly, the template is an error, with a hint.
    let (v, code, _) = audit_json(&[d.join("deploy.yaml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("helm template CHART"),
        "{v}"
    );
}

#[test]
fn sarif_is_what_github_code_scanning_accepts() {
    let out = dropcap()
        .args([
            "audit",
            "--format",
            "sarif",
            "examples",
            "tests/fixtures/audit",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "broken.yaml is in the fixtures");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 20);
    let mut suppressed = 0;
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(ids[idx], id);
        assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let pl = &r["locations"][0]["physicalLocation"];
        let uri = pl["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            !uri.starts_with('/') && !uri.contains(':') && !uri.starts_with("./"),
            "uri must be repository-relative: {uri}"
        );
        assert!(
            uri.starts_with("examples/") || uri.starts_with("tests/fixtures/audit/"),
            "{uri}"
        );
        assert!(pl["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(pl["region"]["startColumn"].as_u64().unwrap() >= 1);
        if r.get("suppressions").is_some() {
            assert_eq!(r["suppressions"][0]["kind"], "inSource");
            suppressed += 1;
        }
    }
    assert!(suppressed >= 3, "{suppressed}");
    // The parse error is reported as a tool notification at its position.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    // The parse error of broken.yaml, the five type errors of wrong-shapes.yaml and the four
    // `extends` errors of extends-file/ are reported as tool notifications at their positions
    // (flow-yaml-error.yaml does not look like a manifest, so a walk does not report it).
    let at: Vec<(String, u64, u64)> = notes
        .iter()
        .map(|n| {
            let pl = &n["locations"][0]["physicalLocation"];
            (
                pl["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                pl["region"]["startLine"].as_u64().unwrap(),
                pl["region"]["startColumn"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(at.len(), 10, "{at:?}");
    assert!(
        at.contains(&("tests/fixtures/audit/broken.yaml".to_string(), 8, 55)),
        "{at:?}"
    );
    assert!(
        at.contains(&("tests/fixtures/audit/wrong-shapes.yaml".to_string(), 13, 21)),
        "{at:?}"
    );
}

#[test]
fn json_findings_carry_location_and_canonical_capabilities() {
    let (v, _, _) = audit_json(&["examples/compose/monitoring.yaml"]);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "DC003" && f["capabilities"][0] == "SYS_PTRACE")
        .expect("cap_sys_ptrace is recognised");
    assert_eq!(f["location"]["line"], 33);
    assert_eq!(f["location"]["column"], 9);
    assert_eq!(f["workload"]["source"], "compose");
    assert_eq!(f["workload"]["runtime"], "docker");
    assert!(f["remediation"].as_str().unwrap().contains("cap_add"));
}
