//! `dropcap profile FILE --service NAME` / `--container NAME`: real trials of compose and
//! Kubernetes definitions on the local engine, with their own health checks, and the
//! guarantees around them: the user's bind-mounted files are never touched, every trial gets
//! a fresh volume, dependencies are reachable, and nothing is left on the engine.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs dropcap and returns its output with the pid it ran as (every container, volume and
/// network a profile makes is named `dropcap-profile-<pid>-...`).
fn profile(args: &[&str]) -> (Output, u32) {
    let child = Command::new(common::dropcap_bin())
        .arg("profile")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dropcap runs");
    let pid = child.id();
    (child.wait_with_output().expect("dropcap ends"), pid)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Containers, volumes and networks still on the engine from the dropcap run `pid`.
fn leftovers(pid: u32) -> Vec<String> {
    let prefix = format!("dropcap-profile-{pid}-");
    let mut left = Vec::new();
    for args in [
        &["ps", "-a", "--format", "{{.Names}}"][..],
        &["volume", "ls", "--format", "{{.Name}}"][..],
        &["network", "ls", "--format", "{{.Name}}"][..],
    ] {
        let o = common::docker(args);
        left.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with(&prefix))
                .map(str::to_string),
        );
    }
    left
}

/// Every entry under `dir` with its type, mode, owner and bytes (or link target).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, u32, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let bytes = if m.file_type().is_symlink() {
            std::fs::read_link(&p)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            Vec::new()
        } else {
            std::fs::read(&p).unwrap()
        };
        out.insert(p, (m.mode(), m.uid(), m.gid(), bytes));
    }
    out
}

fn ready(test: &str) -> Option<&'static str> {
    if !common::docker_available(test) || !common::is_root(test) {
        return None;
    }
    Some(common::test_image())
}

#[test]
fn a_compose_service_is_profiled_as_defined_and_leaves_nothing() {
    let test = "a_compose_service_is_profiled_as_defined_and_leaves_nothing";
    let Some(image) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), "hello\n").unwrap();
    std::fs::set_permissions(
        site.join("index.html"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("index.html", site.join("link")).unwrap();
    std::os::unix::fs::chown(&site, Some(1234), Some(1234)).unwrap();
    std::os::unix::fs::chown(site.join("index.html"), Some(1234), Some(1234)).unwrap();
    std::fs::write(dir.path().join("web.env"), "# greeting\nGREETING=hi\n").unwrap();
    // The workload proves each piece of its definition reached it: the env_file variable
    // (`$$`: compose itself would interpolate `$GREETING`, from dropcap's environment),
    // the dependency by its service name, the volume it shares with the dependency, an empty
    // named volume (a reused one would hold the
    // mark of an earlier trial), and the bind mount, which it changes (chown, append: CHOWN
    // and DAC_OVERRIDE, since the file belongs to uid 1234) in its copy only.
    let compose = format!(
        r#"services:
  web:
    image: {image}
    command:
      - sh
      - -c
      - >-
        test "$$GREETING" = hi && nc -w 2 db 7000 </dev/null && test -s /shared/token &&
        test ! -e /data/mark && touch /data/mark &&
        chown 1:1 /srv/site/index.html && echo trial >> /srv/site/index.html &&
        exec httpd -f -p 8080 -h /srv/site
    env_file: web.env
    volumes:
      - ./site:/srv/site
      - data:/data
      - shared:/shared
    healthcheck:
      test: [CMD, wget, -q, -O-, http://127.0.0.1:8080/index.html]
      interval: 1s
      timeout: 2s
      retries: 3
    depends_on: [db]
  db:
    image: {image}
    command: [sh, -c, 'echo t > /shared/token && exec nc -ll -p 7000 -e true']
    volumes: [shared:/shared]
    healthcheck:
      test: [CMD-SHELL, "nc -w 1 127.0.0.1 7000 </dev/null"]
volumes:
  data: {{}}
  shared: {{}}
"#
    );
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, &compose).unwrap();
    let before = snapshot(&site);
    let out_json = dir.path().join("web.profile.json");
    let (o, pid) = profile(&[
        file.to_str().unwrap(),
        "--service",
        "web",
        "--timeout",
        "20",
        "-o",
        out_json.to_str().unwrap(),
        "--fix",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("proven minimal set: CHOWN,DAC_OVERRIDE "), "{t}");
    assert!(t.contains("compose.yaml:2 (service web)"), "{t}");
    assert!(t.contains("(healthcheck at "), "{t}");
    assert_eq!(
        snapshot(&site),
        before,
        "the user's bind-mounted directory changed"
    );
    assert_eq!(leftovers(pid), Vec::<String>::new());
    // --fix wrote the proven set into the service, showing the diff; the profile records
    // the definition, and `dropcap fix --profile` makes the same edit.
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert!(t.contains("+    cap_drop:\n+      - ALL\n"), "{t}");
    assert!(t.contains("compose.yaml: written"), "{t}");
    assert!(
        fixed.contains("    cap_add:\n      - CHOWN\n      - DAC_OVERRIDE\n  db:"),
        "{fixed}"
    );
    std::fs::write(&file, &compose).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_json).unwrap()).unwrap();
    assert_eq!(json["definition"]["service"], "web");
    assert_eq!(json["definition"]["line"], 2);
    let fix = Command::new(common::dropcap_bin())
        .args(["fix", file.to_str().unwrap(), "--profile"])
        .arg(&out_json)
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&fix.stdout);
    assert!(
        diff.contains(
            "+    cap_drop:\n+      - ALL\n+    cap_add:\n+      - CHOWN\n+      - DAC_OVERRIDE\n"
        ),
        "{diff}"
    );
}

const MANIFESTS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: httpd
        image: IMAGE
        command: [sh, -c, 'echo ok > /www/index.html && chown 1 /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /index.html, port: http}
          periodSeconds: 1
        volumeMounts: [{name: www, mountPath: /www}]
      volumes: [{name: www, emptyDir: {}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers:
      - name: db
        image: IMAGE
        command: [sh, -c, 'touch /tmp/ready && chown 1 /tmp/ready && exec sleep 300']
        livenessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  containers:
  - name: cache
    image: IMAGE
    command: [sh, -c, 'chown 1 /tmp && exec nc -ll -p 6379 -e true']
    readinessProbe: {tcpSocket: {port: 6379}, periodSeconds: 1}
"#;

#[test]
fn kubernetes_containers_are_judged_by_their_probes() {
    let test = "kubernetes_containers_are_judged_by_their_probes";
    let Some(image) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(&file, MANIFESTS.replace("IMAGE", image)).unwrap();
    let f = file.to_str().unwrap();
    for (container, definition, probe) in [
        (
            "httpd",
            "app.yaml:8 (Deployment/web, container httpd)",
            "readinessProbe at ",
        ),
        (
            "db",
            "app.yaml:25 (StatefulSet/db, container db)",
            "livenessProbe at ",
        ),
        (
            "cache",
            "app.yaml:35 (Pod/cache, container cache)",
            "readinessProbe at ",
        ),
    ] {
        let (o, pid) = profile(&[f, "--container", container, "--timeout", "20"]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{container}: {t}");
        assert!(t.contains("proven minimal set: CHOWN "), "{container}: {t}");
        assert!(t.contains(definition), "{container}: {t}");
        assert!(t.contains(probe), "{container}: {t}");
        assert_eq!(leftovers(pid), Vec::<String>::new());
    }
}

/// One line naming the definition, exit 2, nothing on the engine.
fn refused(args: &[&str], expect: &str) {
    let (o, pid) = profile(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(expect), "{args:?}: {err}");
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    if common::docker_available("refused") {
        assert_eq!(leftovers(pid), Vec::<String>::new());
    }
}

#[test]
fn bad_definitions_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let compose = dir.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "services:\n  web: {image: dropcap-test/no-such-image:1}\n  db: {image: x}\n",
    )
    .unwrap();
    let c = compose.to_str().unwrap();
    refused(
        &[c, "--service", "api"],
        "compose.yaml: error: no service 'api' (services: web, db)",
    );
    let k8s = dir.path().join("app.yaml");
    std::fs::write(&k8s, MANIFESTS.replace("IMAGE", "x")).unwrap();
    let k = k8s.to_str().unwrap();
    std::fs::write(
        &k8s,
        format!(
            "{MANIFESTS}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: two}}\nspec:\n  containers: [{{name: db, image: x}}]\n"
        ),
    )
    .unwrap();
    refused(
        &[k, "--container", "db"],
        "container 'db' is in StatefulSet/db, Pod/two: choose one with --workload KIND/NAME",
    );
    refused(
        &[k, "--container", "nope"],
        "no container 'nope' (containers: Deployment/web:httpd",
    );
    refused(&[k, "--service", "db"], "select with --container NAME");
    if !common::docker_available("bad_definitions_are_one_line_and_exit_2") {
        return;
    }
    refused(
        &[c, "--service", "web"],
        "compose.yaml:2:3: image 'dropcap-test/no-such-image:1' is not on the local engine",
    );
}

#[test]
fn compose_variables_are_interpolated_as_docker_compose_does() {
    let test = "compose_variables_are_interpolated_as_docker_compose_does";
    let Some(image) = ready(test) else { return };
    let (repo, tag) = image.rsplit_once(':').unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The repository from the project's .env, the tag from dropcap's environment, which wins
    // over .env; `$$` is a literal dollar. The workload proves what reached it.
    std::fs::write(
        dir.path().join(".env"),
        format!("DROPCAP_T_REPO={repo}\nDROPCAP_T_TAG=not-this-one\nDROPCAP_T_PORT=8080\n"),
    )
    .unwrap();
    let compose = "services:\n  web:\n    image: ${DROPCAP_T_REPO}:${DROPCAP_T_TAG:-latest}\n    environment:\n      MODE: ${DROPCAP_T_MODE:-prod}\n      PRICE: $$5\n    command: [sh, -c, 'test \"$$MODE\" = prod && test \"$${#PRICE}\" = 2 && chown 1 /tmp && exec httpd -f -p ${DROPCAP_T_PORT}']\n    healthcheck:\n      test: [CMD-SHELL, 'nc -w 1 127.0.0.1 ${DROPCAP_T_PORT} </dev/null']\n      interval: 1s\n";
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, compose).unwrap();
    let out_json = dir.path().join("web.profile.json");
    let child = Command::new(common::dropcap_bin())
        .args([
            "profile",
            file.to_str().unwrap(),
            "--service",
            "web",
            "--timeout",
            "20",
            "-o",
        ])
        .arg(&out_json)
        .arg("--fix")
        .env("DROPCAP_T_TAG", tag)
        .output()
        .unwrap();
    let t = text(&child);
    assert_eq!(child.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!("image {image}")) || t.contains(image),
        "{t}"
    );
    assert!(t.contains("proven minimal set: CHOWN "), "{t}");
    // The file keeps its variables; only the capabilities were added.
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert!(
        fixed.starts_with(
            "services:\n  web:\n    image: ${DROPCAP_T_REPO}:${DROPCAP_T_TAG:-latest}\n"
        ),
        "{fixed}"
    );
    assert!(
        fixed.ends_with("    cap_drop: [ALL]\n    cap_add: [CHOWN]\n"),
        "{fixed}"
    );
    // `fix --profile` matches the proven image through the same variables.
    std::fs::write(&file, compose).unwrap();
    let fix = Command::new(common::dropcap_bin())
        .args(["fix", file.to_str().unwrap(), "--profile"])
        .arg(&out_json)
        .env("DROPCAP_T_TAG", tag)
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&fix.stdout);
    assert!(
        diff.contains("+    cap_drop: [ALL]\n+    cap_add: [CHOWN]\n"),
        "{diff}{}",
        String::from_utf8_lossy(&fix.stderr)
    );
}

#[test]
fn a_health_check_that_never_passes_is_refused() {
    let test = "a_health_check_that_never_passes_is_refused";
    let Some(image) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("data");
    std::fs::create_dir(&site).unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  web:\n    image: {image}\n    command: [sleep, '60']\n    volumes: [./data:/data, cache:/cache]\n    healthcheck: {{test: [CMD, 'false'], interval: 1s, timeout: 1s, retries: 1}}\nvolumes: {{cache: {{}}}}\n"
        ),
    )
    .unwrap();
    let (o, pid) = profile(&[file.to_str().unwrap(), "--service", "web", "--timeout", "8"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("fails even with the Docker default set"), "{t}");
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

#[test]
fn ctrl_c_removes_dependencies_volumes_and_copies() {
    let test = "ctrl_c_removes_dependencies_volumes_and_copies";
    let Some(image) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  web:\n    image: {image}\n    command: [sleep, '600']\n    volumes: [./data:/data, cache:/cache]\n    healthcheck: {{test: [CMD, 'false'], interval: 1s, retries: 100}}\n    depends_on: [db]\n  db:\n    image: {image}\n    command: [sleep, '600']\nvolumes: {{cache: {{}}}}\n"
        ),
    )
    .unwrap();
    let child = Command::new(common::dropcap_bin())
        .args([
            "profile",
            file.to_str().unwrap(),
            "--service",
            "web",
            "--timeout",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the trial is running (its dependency, network and volume exist), then Ctrl-C.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while leftovers(pid).len() < 4 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let seen = leftovers(pid);
    assert!(
        seen.len() >= 4,
        "dependency, network, volume and trial: {seen:?}"
    );
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("interrupted"), "{t}");
    assert_eq!(leftovers(pid), Vec::<String>::new());
    let scratch: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("dropcap-profile-{pid}-"))
        })
        .collect();
    assert!(scratch.is_empty(), "{scratch:?}");
}

/// Real software: Debian's nginx from a Deployment, judged by its readinessProbe on the named
/// port `http` (with a header), needs exactly what it needs as root in its default config.
#[test]
fn debian_nginx_from_its_deployment() {
    let test = "debian_nginx_from_its_deployment";
    if ready(test).is_none() {
        return;
    }
    let Some(image) = common::debian_image(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nginx.yaml");
    std::fs::write(
        &file,
        format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      containers:
      - name: nginx
        image: {image}
        command: [nginx, -g, daemon off;]
        ports: [{{name: http, containerPort: 80}}]
        readinessProbe:
          httpGet: {{path: /, port: http, httpHeaders: [{{name: Host, value: example.test}}]}}
          periodSeconds: 1
"#
        ),
    )
    .unwrap();
    let (o, pid) = profile(&[file.to_str().unwrap(), "--container", "nginx"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("proven minimal set: CHOWN,DAC_OVERRIDE,SETGID,SETUID "),
        "{t}"
    );
    assert!(
        t.contains("nginx.yaml:8 (Deployment/web, container nginx)"),
        "{t}"
    );
    assert!(t.contains("(readinessProbe at "), "{t}");
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

/// `--dry-run` shows the trial container without an engine (DOCKER_HOST points nowhere):
/// interpolated values, mounts as trials get them, the check, dependencies; JSON keys are the
/// documented ones.
#[test]
fn dry_run_prints_the_trial_container_without_an_engine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "DROPCAP_T_TAG=1.2\n").unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  web:\n    image: example/web:${DROPCAP_T_TAG}\n    command: [sh, -c, 'echo \"$$HOME\"']\n    environment: {MODE: '${DROPCAP_T_MODE:-prod}', EMPTY: '${DROPCAP_T_UNSET}'}\n    volumes: [./site:/srv:ro, cache:/cache]\n    tmpfs: [/run]\n    healthcheck: {test: [CMD, 'true'], interval: 2s}\n    depends_on: [db]\n  db:\n    image: example/db:1\n    cap_add: [NET_ADMIN]\nvolumes: {cache: {}}\n",
    )
    .unwrap();
    let run = |format: &str| {
        Command::new(common::dropcap_bin())
            .args([
                "profile",
                file.to_str().unwrap(),
                "--service",
                "web",
                "--dry-run",
            ])
            .args(["--format", format])
            .env("DOCKER_HOST", "unix:///nonexistent/dropcap-test.sock")
            .output()
            .unwrap()
    };
    let o = run("table");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    for row in [
        "  image        example/web:1.2\n",
        "  command      sh -c 'echo \"$HOME\"'\n",
        "  env          MODE=prod\n",
        "  env          EMPTY=\n",
        "  mount        tmpfs /run\n",
        "(copied per trial) (read-only)\n",
        "  mount        volume cache -> /cache (fresh per trial)\n",
        "  check        stays up and `true` exits 0 (healthcheck at ",
        "depends on db (",
        "started once with its configured capabilities: cap_add NET_ADMIN:\n",
        "variable DROPCAP_T_UNSET is not set",
    ] {
        assert!(t.contains(row), "missing {row:?} in\n{t}");
    }
    let o = run("json");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "check",
            "definition",
            "dependencies",
            "location",
            "missing_env",
            "notes",
            "probe",
            "spec"
        ]
    );
    assert_eq!(v["spec"]["image"], "example/web:1.2");
    assert_eq!(v["spec"]["env"][1]["name"], "EMPTY");
    assert_eq!(v["spec"]["env"][1]["value"], "");
    assert_eq!(v["spec"]["mounts"][1]["type"], "bind");
    assert_eq!(v["dependencies"][0]["cap_add"][0], "NET_ADMIN");
    assert_eq!(v["definition"]["service"], "web");
    // Nothing to write, nothing to record: --fix and -o make no sense with it.
    let o = Command::new(common::dropcap_bin())
        .args([
            "profile",
            file.to_str().unwrap(),
            "--service",
            "web",
            "--dry-run",
            "--fix",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
