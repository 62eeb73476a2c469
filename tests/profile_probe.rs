//! Health probes from definitions (`Check::Probe`): against real servers (Debian's nginx in a
//! trial container, Python's grpcio and ssl servers on loopback), passing and failing.

mod common;

use dropcap::profile::docker::{DockerRunner, DockerSpec};
use dropcap::profile::probe;
use dropcap::profile::spec::{ContainerSpec, Probe, ProbeAction};
use dropcap::profile::{Check, Runner, TrialCaps};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn probe(action: ProbeAction) -> Check {
    Check::Probe(Probe {
        action,
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        retries: 2,
        start_period: Duration::ZERO,
        source: "readinessProbe at test.yaml:1".into(),
    })
}

fn nginx_trial(image: &str, check: Check) -> (bool, String, Duration) {
    let mut r = DockerRunner::new(DockerSpec {
        container: ContainerSpec {
            image: image.into(),
            cmd: Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]),
            network: "none".into(),
            ..ContainerSpec::default()
        },
        check,
        timeout: Duration::from_secs(20),
        host: None,
    })
    .expect("runner");
    let t = r.trial(TrialCaps::Default, None).expect("trial");
    (t.passed, t.reason, t.duration)
}

#[test]
fn probes_pass_and_fail_against_nginx_in_a_trial() {
    let Some(image) = common::debian_image("probes_pass_and_fail_against_nginx_in_a_trial") else {
        return;
    };
    let passing = [
        ProbeAction::Http {
            https: false,
            port: 80,
            path: "/".into(),
            headers: vec![("X-Probe".into(), "dropcap".into())],
        },
        ProbeAction::Tcp { port: 80 },
        ProbeAction::Shell("test -s /run/nginx.pid".into()),
        ProbeAction::Exec(vec!["cat".into(), "/etc/nginx/nginx.conf".into()]),
    ];
    for action in passing {
        let (passed, reason, _) = nginx_trial(image, probe(action.clone()));
        assert!(passed, "{action:?}: {reason}");
        assert!(reason.contains("readinessProbe at test.yaml:1"), "{reason}");
    }
    // 2 retries 1 s apart: unhealthy after about 2 s, long before the 20 s timeout.
    let failing = [
        ProbeAction::Http {
            https: false,
            port: 80,
            path: "/missing".into(),
            headers: vec![],
        },
        ProbeAction::Tcp { port: 81 },
        ProbeAction::Exec(vec!["cat".into(), "/nonexistent".into()]),
    ];
    for action in failing {
        let (passed, reason, took) = nginx_trial(image, probe(action.clone()));
        assert!(!passed, "{action:?}: {reason}");
        assert!(reason.starts_with("unhealthy"), "{reason}");
        assert!(took < Duration::from_secs(10), "{action:?} took {took:?}");
    }
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's python, where `scripts/test.sh` installs python3-grpcio with apt: a `python3`
/// earlier on PATH (pyenv, a virtualenv) does not see apt's modules.
const PYTHON: &str = "/usr/bin/python3";

/// Starts a Python server that prints its port on the first line of stdout.
fn python_server(script: &str, args: &[&str]) -> (Server, u16) {
    use std::io::BufRead;
    let mut child = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    std::io::BufReader::new(out)
        .read_line(&mut line)
        .expect("port line");
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("port: {line:?}"));
    (Server(child), port)
}

fn python_has(module: &str, test: &str) -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !common::in_ci(),
            "{test}: python3 module {module} is installed by scripts/test.sh"
        );
        eprintln!("SKIPPED {test}: no python3 {module}");
    }
    ok
}

/// A real gRPC server (grpcio, C core's HTTP/2) serving grpc.health.v1.Health/Check by hand:
/// "" and "up" are SERVING, "down" NOT_SERVING, anything else NOT_FOUND.
const GRPC_SERVER: &str = r#"
import grpc, sys, time
from concurrent import futures
def check(request, context):
    service = request[2:].decode() if request[:1] == b"\x0a" else ""
    if service in ("", "up"):
        return b"\x08\x01"
    if service == "down":
        return b"\x08\x02"
    context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
    "Check": grpc.unary_unary_rpc_method_handler(check),
})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
time.sleep(60)
"#;

#[test]
fn grpc_health_against_grpcio() {
    if !python_has("grpc", "grpc_health_against_grpcio") {
        return;
    }
    let (_server, port) = python_server(GRPC_SERVER, &[]);
    let limit = Duration::from_secs(3);
    assert!(probe::grpc_ok(port, "", limit));
    assert!(probe::grpc_ok(port, "up", limit));
    assert!(!probe::grpc_ok(port, "down", limit));
    assert!(!probe::grpc_ok(port, "nope", limit));
    let started = Instant::now();
    assert!(!probe::grpc_ok(1, "", limit), "nothing listens on port 1");
    assert!(started.elapsed() < limit);
}

const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ok" else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

#[test]
fn https_probe_accepts_a_self_signed_certificate() {
    if !common::tool("openssl", "https_probe_accepts_a_self_signed_certificate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg("/CN=somewhere.example")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (_server, port) = python_server(
        HTTPS_SERVER,
        &[cert.to_str().unwrap(), key.to_str().unwrap()],
    );
    let limit = Duration::from_secs(3);
    assert!(probe::https_ok(port, "/ok", &[], limit));
    assert!(!probe::https_ok(port, "/missing", &[], limit));
    assert!(
        !probe::http_ok(port, "/ok", &[], limit),
        "plain HTTP to a TLS port"
    );
}
