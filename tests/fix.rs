//! `dropcap fix`: golden before/after pairs (tests/fixtures/fix/NAME.in.* → NAME.out.*), each
//! checked for idempotence, for a clean re-audit and, for compose files, against the real
//! `docker-compose config -q`; then the command line: exit codes, `--check`, `--write`,
//! symlinks, unparsable files, profiles and refusals. `UPDATE_GOLDEN=1` rewrites the outputs.

mod common;

use assert_cmd::Command;
use dropcap::fix::{fix_text, Options, Profile};
use dropcap::rules::evaluate;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fix")
}

fn profile() -> Profile {
    Profile::read(&dir().join("busybox.profile.json")).unwrap()
}

/// Findings of `text` that `audit` reports (unsuppressed), as `RULE workload/container`.
fn audit(name: &Path, text: &str) -> Vec<String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let loaded = dropcap::sources::load_text(name, body);
    assert!(loaded.errors.is_empty(), "{name:?}: {:?}", loaded.errors);
    let mut out = Vec::new();
    for w in &loaded.workloads {
        for f in evaluate(w, Default::default()) {
            if f.suppressed.is_none() {
                out.push(format!("{} {}", f.rule, f.workload.display_name()));
            }
        }
    }
    out.sort();
    out
}

fn compose_accepts(path: &Path) {
    if !common::docker_compose_available("golden_pairs_are_fixed_points_and_reaudit_clean") {
        return;
    }
    let o = std::process::Command::new("docker-compose")
        .arg("-f")
        .arg(path)
        .args(["config", "-q"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "docker-compose config -q refuses the fixed {path:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn golden_pairs_are_fixed_points_and_reaudit_clean() {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".in."))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 10, "{inputs:?}");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let tmp = tempfile::tempdir().unwrap();
    for input in inputs {
        let file = input.file_name().unwrap().to_string_lossy().to_string();
        let out_path = dir().join(file.replace(".in.", ".out."));
        let text = std::fs::read_to_string(&input).unwrap();
        let opts = if file.starts_with("profile-") {
            Options {
                profiles: vec![profile()],
                ..Options::default()
            }
        } else {
            Options::default()
        };
        let name = Path::new(&file);
        let fixed = fix_text(name, &text, &opts);
        assert!(fixed.errors.is_empty(), "{file}: {:?}", fixed.errors);
        assert_ne!(fixed.fixed, text, "{file}: nothing fixed");
        if update {
            std::fs::write(&out_path, &fixed.fixed).unwrap();
        }
        let want = std::fs::read_to_string(&out_path)
            .unwrap_or_else(|e| panic!("{out_path:?}: {e} (UPDATE_GOLDEN=1 writes it)"));
        assert_eq!(fixed.fixed, want, "{file}: differs from {out_path:?}");

        // fix ∘ fix = fix.
        let again = fix_text(name, &fixed.fixed, &opts);
        assert_eq!(again.fixed, fixed.fixed, "{file}: a second fix changed it");
        assert_eq!(again.fixed_findings, 0, "{file}");

        // audit afterwards reports only what fix listed as having no mechanical fix.
        let listed: Vec<String> = fixed
            .unfixed
            .iter()
            .map(|u| format!("{} {}", u.finding.rule, u.finding.workload.display_name()))
            .collect();
        let before = audit(name, &text);
        let after = audit(name, &fixed.fixed);
        assert!(after.len() < before.len(), "{file}: {before:?} → {after:?}");
        if !file.starts_with("profile-") {
            for f in &after {
                assert!(listed.contains(f), "{file}: {f} still reported, not listed");
            }
        }

        // Line endings, BOM and the final newline are the file's own.
        assert_eq!(
            fixed.fixed.contains("\r\n"),
            text.contains("\r\n"),
            "{file}"
        );
        assert_eq!(
            fixed.fixed.starts_with('\u{feff}'),
            text.starts_with('\u{feff}')
        );
        assert_eq!(fixed.fixed.ends_with('\n'), text.ends_with('\n'), "{file}");

        if file.contains("compose") {
            let p = tmp.path().join(file.replace(".in.", "."));
            std::fs::write(&p, &fixed.fixed).unwrap();
            compose_accepts(&p);
        }
        if file.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&fixed.fixed)
                .unwrap_or_else(|e| panic!("{file}: fixed JSON does not parse: {e}"));
        }
    }
}

#[test]
fn anchors_are_overridden_on_the_service_and_noted() {
    let text = std::fs::read_to_string(dir().join("compose-anchors.in.yaml")).unwrap();
    let fixed = fix_text(Path::new("c.yaml"), &text, &Options::default());
    // The shared anchor keeps NET_ADMIN; each service says what it gets.
    assert!(fixed
        .fixed
        .contains("  cap_add: &caps\n    - NET_ADMIN\n    - CHOWN\n"));
    let unchanged = fixed
        .notes
        .iter()
        .filter(|n| n.contains("anchor is unchanged"))
        .count();
    assert_eq!(unchanged, 3, "{:?}", fixed.notes);
    // The anchored service only ever gets restrictions, which reach `derived` too.
    assert!(
        fixed
            .notes
            .iter()
            .any(|n| n.contains("service base is anchored")),
        "{:?}",
        fixed.notes
    );
}

fn bin() -> Command {
    Command::cargo_bin("dropcap").unwrap()
}

fn copy_fixture(tmp: &Path, name: &str) -> PathBuf {
    let p = tmp.join(name.replace(".in.", "."));
    std::fs::copy(dir().join(name), &p).unwrap();
    p
}

#[test]
fn diff_by_default_check_exits_1_write_applies() {
    let tmp = tempfile::tempdir().unwrap();
    let p = copy_fixture(tmp.path(), "compose-flow.in.yaml");
    let before = std::fs::read(&p).unwrap();
    let o = bin().arg("fix").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let shown = p.display().to_string();
    assert!(
        stdout.starts_with(&format!("--- a/{shown}\n+++ b/{shown}\n@@ ")),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no colour without a terminal");
    assert!(
        stdout.contains("DC007 agent: dropping ALL needs"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&p).unwrap(),
        before,
        "the default changes nothing"
    );

    let o = bin().args(["fix", "--check"]).arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read(&p).unwrap(), before);

    let o = bin().args(["fix", "--write"]).arg(&p).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = std::fs::read_to_string(&p).unwrap();
    let want = std::fs::read_to_string(dir().join("compose-flow.out.yaml")).unwrap();
    assert_eq!(after, want);

    let o = bin().args(["fix", "--check"]).arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "nothing pending after --write");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("--- a/"));
    // `audit` afterwards: only DC007 (needs a profile) remains.
    let o = bin()
        .args(["audit", "--format", "json"])
        .arg(&p)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["DC007", "DC007"]);
}

#[test]
fn stdin_is_refused() {
    let o = bin()
        .args(["fix", "-"])
        .write_stdin("services: {}\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to write back to"));
}

#[test]
fn a_file_that_does_not_parse_is_an_error_and_the_others_are_still_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "services:\n  web:\n    cap_add: [NET_ADMIN\n").unwrap();
    let good = copy_fixture(tmp.path(), "compose-flow.in.yaml");
    let o = bin()
        .args(["fix", "--write"])
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let line = stderr.lines().find(|l| l.contains("bad.yaml")).unwrap();
    assert!(
        regex::Regex::new(r"bad\.yaml:\d+:\d+: error: ")
            .unwrap()
            .is_match(line),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(&bad).unwrap(),
        "services:\n  web:\n    cap_add: [NET_ADMIN\n"
    );
    assert_eq!(
        std::fs::read_to_string(&good).unwrap(),
        std::fs::read_to_string(dir().join("compose-flow.out.yaml")).unwrap()
    );
}

#[test]
fn a_symlink_stays_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let real = copy_fixture(tmp.path(), "k8s-list.in.yaml");
    let link = tmp.path().join("link.yaml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    // The link and the file it points at, named together: one file, fixed once.
    let o = bin()
        .args(["fix", "--write"])
        .arg(&link)
        .arg(&real)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        std::fs::read_to_string(dir().join("k8s-list.out.yaml")).unwrap()
    );
}

#[test]
fn profile_applies_by_image_and_refuses_another_image_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let p = copy_fixture(tmp.path(), "profile-compose.in.yaml");
    let prof = dir().join("busybox.profile.json");
    let o = bin()
        .args(["fix", "--check", "--profile"])
        .arg(&prof)
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("+      - SETGID"), "{stdout}");

    // `other` runs redis: naming it is refused, unless --force.
    let o = bin()
        .args(["fix", "--profile"])
        .arg(&prof)
        .args(["--workload", "other"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = bin()
        .args(["fix", "--force", "--service", "other", "--profile"])
        .arg(&prof)
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("+    cap_drop: [ALL]"));

    // No workload runs the image: a clear error, nothing written.
    let k = copy_fixture(tmp.path(), "compose-block.in.yaml");
    let before = std::fs::read(&k).unwrap();
    let o = bin()
        .args(["fix", "--write", "--profile"])
        .arg(&prof)
        .arg(&k)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("no workload runs image dropcap-test/busybox:latest"));
    assert_eq!(std::fs::read(&k).unwrap(), before);
}

#[test]
fn rule_selects_only_its_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let p = copy_fixture(tmp.path(), "compose-block.in.yaml");
    let o = bin()
        .args(["fix", "--rule", "DC011"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no-new-privileges:true"));
    assert!(!stdout.contains("NET_RAW"), "{stdout}");
    let o = bin()
        .args(["fix", "--rule", "DC999"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_recorded_definition_picks_its_container_and_its_image_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: a\n      image: dropcap-test/busybox:latest\n    - name: b\n      image: dropcap-test/busybox:latest\n",
    )
    .unwrap();
    let write_profile = |image: &str| {
        let p = tmp.path().join("p.json");
        let v = serde_json::json!({
            "schema": "dropcap.profile/v1",
            "target": {"kind": "image", "image": image},
            "proven": ["NET_BIND_SERVICE"],
            "definition": {"file": manifest, "kind": "Pod", "name": "web", "container": "b"},
        });
        std::fs::write(&p, v.to_string()).unwrap();
        Profile::read(&p).unwrap()
    };
    let text = std::fs::read_to_string(&manifest).unwrap();
    let opts = Options {
        profiles: vec![write_profile("dropcap-test/busybox:latest")],
        ..Options::default()
    };
    let fixed = fix_text(&manifest, &text, &opts);
    assert!(fixed.errors.is_empty(), "{:?}", fixed.errors);
    assert_eq!(fixed.profile_hits, [1]);
    let (a, b) = fixed.fixed.split_at(fixed.fixed.find("- name: b").unwrap());
    assert!(
        !a.contains("capabilities"),
        "container a is not the definition:\n{}",
        fixed.fixed
    );
    assert!(
        b.contains("drop: [ALL]") && b.contains("add: [NET_BIND_SERVICE]"),
        "{b}"
    );

    // The definition runs another image than the profile was proven with: refused, or --force.
    let mut opts = Options {
        profiles: vec![write_profile("other/image:1")],
        ..Options::default()
    };
    let refused = fix_text(&manifest, &text, &opts);
    assert_eq!(refused.fixed, text);
    assert!(
        refused.errors[0].message.contains("--force"),
        "{:?}",
        refused.errors
    );
    opts.force = true;
    assert!(fix_text(&manifest, &text, &opts)
        .fixed
        .contains("drop: [ALL]"));
}

/// What a pre-commit hook does: the staged files as paths, a clean one, one with a pending
/// fix and a Helm template (skipped with a note, not an error).
#[test]
fn check_on_staged_paths_like_a_pre_commit_hook() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean.yaml");
    std::fs::write(
        &clean,
        "services:\n  a:\n    image: x\n    cap_drop: [ALL]\n    security_opt: [\"no-new-privileges:true\"]\n",
    )
    .unwrap();
    let template = tmp.path().join("deployment.yaml");
    std::fs::write(
        &template,
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: {{ .Values.replicas }}\n  {{- if .Values.x }}\n",
    )
    .unwrap();
    let o = bin()
        .args(["fix", "--check"])
        .arg(&clean)
        .arg(&template)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped: a template"));
    let pending = copy_fixture(tmp.path(), "k8s.in.json");
    let o = bin()
        .args(["fix", "--check"])
        .arg(&clean)
        .arg(&pending)
        .arg(&template)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("+++ b/{}", pending.display())));
}
