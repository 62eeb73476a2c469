//! The live audit of several engines at once, against real daemons: the machine's dockerd, a
//! second dockerd on its own socket, a third listening on `tcp://127.0.0.1:PORT` with TLS
//! (certificates made with openssl), reached through a docker context made by the real docker
//! CLI, and an address that accepts connections but never answers.

mod common;

use common::dockerd::Dockerd;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MAIN: &str = "unix:///var/run/docker.sock";

/// dropcap with a private DOCKER_CONFIG and none of the user's docker variables.
fn run(config: &Path, env: &[(&str, &str)], args: &[&str]) -> (String, String, i32) {
    let mut c = Command::new(dropcap_bin());
    for k in [
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CERT_PATH",
        "DOCKER_TLS_VERIFY",
        "DOCKER_TLS",
    ] {
        c.env_remove(k);
    }
    c.env("DOCKER_CONFIG", config).envs(env.iter().copied());
    let out = c.args(args).output().expect("run dropcap");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `(engine, workload name, rule)` for every finding.
fn by_engine(v: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["workload"]["engine"].as_str().unwrap_or("-").to_string(),
                f["workload"]["name"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn has(v: &Value, engine: &str, name: &str, rule: &str) -> bool {
    by_engine(v)
        .iter()
        .any(|(e, n, r)| e == engine && n == name && r == rule)
}

#[test]
fn many_engines_contexts_and_tls() {
    let test = "many_engines_contexts_and_tls";
    if !docker_available(test) || !is_root(test) {
        return;
    }
    let image = test_image();
    let plain = Dockerd::start("plain", false);
    let tls = Dockerd::start("tls", true);
    plain.load_image(image);
    tls.load_image(image);
    let certs = tls.certs.as_ref().unwrap();
    let tcp = tls.tcp.clone().unwrap();

    let label = unique("engines");
    let lab = format!("dropcap-engines={label}");
    let filter = format!("label={lab}");
    let on_main = container(
        "engines-main",
        &["--label", &lab, "--cap-add", "SYS_ADMIN", image, "true"],
        false,
    );
    let (plain_name, tls_name) = (format!("{label}-plain"), format!("{label}-tls"));
    let create = |d: &Dockerd, name: &str, flags: &[&str]| {
        let mut a = vec![
            "create",
            "--network",
            "none",
            "--label",
            &lab,
            "--name",
            name,
        ];
        a.extend(flags);
        a.extend([image, "true"]);
        d.docker(&a);
    };
    create(&plain, &plain_name, &["--cap-add", "NET_ADMIN"]);
    create(&tls, &tls_name, &["--privileged"]);

    // A context made by the real docker CLI, in a private config directory.
    let config = tempfile::tempdir().unwrap();
    let endpoint = format!(
        "host={tcp},ca={},cert={},key={}",
        certs.ca().display(),
        certs.cert().display(),
        certs.key().display()
    );
    let ctx = Command::new("docker")
        .env("DOCKER_CONFIG", config.path())
        .args(["context", "create", "dc15e-tls", "--docker", &endpoint])
        .output()
        .unwrap();
    assert!(
        ctx.status.success(),
        "{}",
        String::from_utf8_lossy(&ctx.stderr)
    );

    // Accepts connections (the kernel completes them into the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = format!("tcp://{}", silent.local_addr().unwrap());

    // 1. Four engines at once: three answer, one never does.
    let args = |format: &'static str| {
        vec![
            "--format".to_string(),
            format.to_string(),
            "audit".into(),
            "-H".into(),
            MAIN.into(),
            "-H".into(),
            plain.sock.clone(),
            "--context".into(),
            "dc15e-tls".into(),
            "-H".into(),
            silent_addr.clone(),
            "--timeout".into(),
            "3".into(),
            "--filter".into(),
            filter.clone(),
        ]
    };
    let started = Instant::now();
    let a: Vec<String> = args("json");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, err, code) = run(config.path(), &[], &a);
    let took = started.elapsed();
    assert_eq!(code, 2, "{err}");
    let v = json(&out);
    let names: Vec<&str> = v["engines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [MAIN, plain.sock.as_str(), "dc15e-tls"]);
    assert_eq!(v["engines"][2]["host"], tcp.as_str());
    assert_eq!(v["engine"]["name"], MAIN);
    assert!(has(&v, MAIN, &on_main.0, "DC003"), "{:?}", by_engine(&v));
    assert!(
        has(&v, &plain.sock, &plain_name, "DC003"),
        "{:?}",
        by_engine(&v)
    );
    assert!(
        has(&v, "dc15e-tls", &tls_name, "DC002"),
        "{:?}",
        by_engine(&v)
    );
    assert_eq!(v["summary"]["workloads"], 3);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], silent_addr.as_str());
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer GET /_ping in time"),
        "{errors:?}"
    );
    assert!(err.contains(&silent_addr), "{err}");
    // Bounded by --timeout, not hung on the silent engine.
    assert!(took < Duration::from_secs(40), "took {took:?}");

    // 2. The table: a header per engine, each followed by its own containers.
    let a: Vec<String> = args("table");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, err, code) = run(config.path(), &[], &a);
    assert_eq!(code, 2, "{err}");
    let header = |host: &str, extra: &str| format!("at {host}{extra}: 1 container");
    let h1 = out.find(&header(MAIN, "")).expect(&out);
    let h2 = out.find(&header(&plain.sock, "")).expect(&out);
    let h3 = out.find(&header(&tcp, " (context dc15e-tls)")).expect(&out);
    assert!(h1 < h2 && h2 < h3, "{out}");
    let w1 = out.find(&format!("{}  image", on_main.0)).expect(&out);
    let w2 = out.find(&format!("{plain_name}  image")).expect(&out);
    let w3 = out.find(&format!("{tls_name}  image")).expect(&out);
    assert!(h1 < w1 && w1 < h2 && h2 < w2 && w2 < h3 && h3 < w3, "{out}");

    // 3. SARIF: one logical location per engine, every live result under its engine's.
    let a: Vec<String> = args("sarif");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, _, code) = run(config.path(), &[], &a);
    assert_eq!(code, 2);
    let s = json(&out);
    let run0 = &s["runs"][0];
    let engines: Vec<&str> = run0["logicalLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["fullyQualifiedName"].as_str().unwrap())
        .collect();
    assert_eq!(engines, [MAIN, plain.sock.as_str(), tcp.as_str()]);
    for r in run0["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["logicalLocations"][0];
        let parent = loc["parentIndex"].as_u64().expect("parentIndex") as usize;
        let expected = if loc["name"] == on_main.0.as_str() {
            0
        } else if loc["name"] == plain_name.as_str() {
            1
        } else {
            assert_eq!(loc["name"], tls_name.as_str());
            2
        };
        assert_eq!(parent, expected, "{r}");
    }

    // 4. TLS from flags, and from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH.
    let (ca, cert, key) = (
        certs.ca().display().to_string(),
        certs.cert().display().to_string(),
        certs.key().display().to_string(),
    );
    let base = ["--format", "json", "audit", "--filter", &filter];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let flags = with(&[
        "-H",
        &tcp,
        "--tlsverify",
        "--tlscacert",
        &ca,
        "--tlscert",
        &cert,
        "--tlskey",
        &key,
    ]);
    let (out, err, code) = run(config.path(), &[], &as_strs(&flags));
    assert_eq!(code, 1, "{err}");
    assert!(has(&json(&out), &tcp, &tls_name, "DC002"));
    let env = [
        ("DOCKER_HOST", tcp.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", certs.dir.to_str().unwrap()),
    ];
    let (out, err, code) = run(config.path(), &env, &base);
    assert_eq!(code, 1, "{err}");
    assert!(has(&json(&out), &tcp, &tls_name, "DC002"));
    // dockerd --tlsverify wants a client certificate.
    let no_cert = with(&["-H", &tcp, "--tlsverify", "--tlscacert", &ca]);
    let (_, err, code) = run(config.path(), &[], &as_strs(&no_cert));
    assert_eq!(code, 2);
    assert!(err.contains("client certificate"), "{err}");
    // A CA that did not sign the engine's certificate.
    let wrong_ca = with(&[
        "-H",
        &tcp,
        "--tlsverify",
        "--tlscacert",
        &cert,
        "--tlscert",
        &cert,
        "--tlskey",
        &key,
    ]);
    let (_, err, code) = run(config.path(), &[], &as_strs(&wrong_ca));
    assert_eq!(code, 2);
    assert!(err.contains("not signed by the CA"), "{err}");

    // 5. No flags: the current context of config.json, unless DOCKER_HOST says otherwise.
    std::fs::write(
        config.path().join("config.json"),
        r#"{"currentContext": "dc15e-tls"}"#,
    )
    .unwrap();
    let (out, err, code) = run(config.path(), &[], &base);
    assert_eq!(code, 1, "{err}");
    let v = json(&out);
    assert_eq!(v["engine"]["name"], "dc15e-tls");
    assert!(has(&v, "dc15e-tls", &tls_name, "DC002"));
    let (out, _, _) = run(config.path(), &[("DOCKER_HOST", &plain.sock)], &base);
    assert!(has(&json(&out), &plain.sock, &plain_name, "DC003"));

    // 6. A broken context is an error at its file:line:col; the other engine is still audited.
    let bad = config
        .path()
        .join("contexts/meta")
        .join(dropcap::engine::context::context_dir_name("dc15e-bad"));
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("meta.json"),
        "{\"Name\": \"dc15e-bad\",\n \"Endpoints\": [}",
    )
    .unwrap();
    let mixed = with(&["--context", "dc15e-bad", "-H", &plain.sock]);
    let (out, err, code) = run(config.path(), &[], &as_strs(&mixed));
    assert_eq!(code, 2);
    assert!(has(&json(&out), &plain.sock, &plain_name, "DC003"));
    let line = err.lines().find(|l| l.contains("meta.json")).expect(&err);
    assert!(line.contains("meta.json:2:"), "{line}");
    assert!(
        line.contains(": error: not a context's meta.json"),
        "{line}"
    );
    drop(silent);
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
