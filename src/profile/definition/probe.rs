//! Health checks a definition already carries, as [`Probe`]s: compose `healthcheck` and
//! Kubernetes `startupProbe` / `readinessProbe` / `livenessProbe`. The defaults are each
//! tool's own (compose: 30s interval and timeout, 3 retries; Kubernetes: 10s period, 1s
//! timeout, failureThreshold 3), so a trial judges the workload as its orchestrator would.

use crate::profile::spec::{Probe, ProbeAction};
use crate::sources::tree::{Node, Pos};
use std::time::Duration;

/// A probe problem, at the node that causes it.
pub type Problem = (Pos, String);

/// compose `healthcheck`. `Ok(None)` when there is none or it is disabled (`disable: true`,
/// `test: [NONE]`).
pub fn compose_healthcheck(hc: &Node, source: String) -> Result<Option<Probe>, Problem> {
    if hc.is_null() {
        return Ok(None);
    }
    if !hc.is_map() {
        return Err((hc.pos, "healthcheck must be a map".into()));
    }
    if hc.get("disable").and_then(Node::as_bool) == Some(true) {
        return Ok(None);
    }
    let Some(test) = hc.get("test").filter(|t| !t.is_null()) else {
        // Without `test` compose keeps the image's HEALTHCHECK: not something dropcap runs.
        return Ok(None);
    };
    let action = if let Some(s) = test.as_str() {
        ProbeAction::Shell(s.to_string())
    } else if test.is_seq() {
        let words: Vec<String> = test
            .items()
            .iter()
            .map(|w| w.as_str().map(str::to_string).ok_or(w.pos))
            .collect::<Result<_, _>>()
            .map_err(|p| (p, "healthcheck.test entries must be strings".to_string()))?;
        match words.split_first() {
            Some((first, _)) if first == "NONE" => return Ok(None),
            Some((first, rest)) if first == "CMD" && !rest.is_empty() => {
                ProbeAction::Exec(rest.to_vec())
            }
            Some((first, rest)) if first == "CMD-SHELL" && !rest.is_empty() => {
                ProbeAction::Shell(rest.join(" "))
            }
            _ => {
                return Err((
                    test.pos,
                    "healthcheck.test must start with CMD, CMD-SHELL or NONE".into(),
                ))
            }
        }
    } else {
        return Err((
            test.pos,
            "healthcheck.test must be a string or a list".into(),
        ));
    };
    Ok(Some(Probe {
        action,
        interval: duration(hc, "interval", Duration::from_secs(30))?,
        timeout: duration(hc, "timeout", Duration::from_secs(30))?,
        retries: count(hc, "retries", 3)?,
        start_period: duration(hc, "start_period", Duration::ZERO)?,
        source,
    }))
}

fn duration(hc: &Node, key: &str, default: Duration) -> Result<Duration, Problem> {
    match hc.get(key).filter(|v| !v.is_null()) {
        None => Ok(default),
        Some(v) => v.as_str().and_then(go_duration).ok_or_else(|| {
            (
                v.pos,
                format!("healthcheck.{key}: expected a duration such as 10s, 1m30s or 500ms"),
            )
        }),
    }
}

fn count(n: &Node, key: &str, default: u32) -> Result<u32, Problem> {
    match n.get(key).filter(|v| !v.is_null()) {
        None => Ok(default),
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| (v.pos, format!("{key}: expected a whole number"))),
    }
}

/// Go's `time.ParseDuration` spelling, which compose uses: `1h2m3.5s`, `500ms`, `10us`.
pub fn go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.trim();
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    // A week is more than any health check waits; larger values are typos.
    (total <= 7.0 * 86400.0).then(|| Duration::from_secs_f64(total))
}

/// The probe a Kubernetes container is judged by: the first of startupProbe, readinessProbe,
/// livenessProbe (startup gates the others, readiness is what "serving" means).
pub fn kubernetes_probe(
    container: &Node,
    describe: &dyn Fn(&str, Pos) -> String,
) -> Result<Option<Probe>, Problem> {
    for key in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let Some((k, p)) = container.get_entry(key) else {
            continue;
        };
        if p.is_null() {
            continue;
        }
        return kubernetes_one(container, key, p, describe(key, k.pos)).map(Some);
    }
    Ok(None)
}

fn kubernetes_one(container: &Node, key: &str, p: &Node, source: String) -> Result<Probe, Problem> {
    if !p.is_map() {
        return Err((p.pos, format!("{key} must be a map")));
    }
    let action = if let Some(e) = p.get("exec") {
        let cmd = e.get("command").map(|c| {
            c.items()
                .iter()
                .map(|w| w.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
        });
        match cmd {
            Some(Some(argv)) if !argv.is_empty() => ProbeAction::Exec(argv),
            _ => {
                return Err((
                    e.pos,
                    format!("{key}.exec.command must be a non-empty list of strings"),
                ))
            }
        }
    } else if let Some(h) = p.get("httpGet") {
        let https = match h.get("scheme").and_then(Node::as_text) {
            None => false,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) => {
                return Err((
                    h.pos,
                    format!("{key}.httpGet.scheme '{s}': expected HTTP or HTTPS"),
                ))
            }
        };
        let mut headers = Vec::new();
        if let Some(hs) = h.get("httpHeaders") {
            for item in hs.items() {
                let name = item.get("name").and_then(Node::as_text);
                let value = item.get("value").and_then(Node::as_text).unwrap_or("");
                match name {
                    Some(n) => headers.push((n.to_string(), value.to_string())),
                    None => {
                        return Err((
                            item.pos,
                            format!("{key}.httpGet.httpHeaders entries need a name"),
                        ))
                    }
                }
            }
        }
        let path = h.get("path").and_then(Node::as_text).unwrap_or("/");
        ProbeAction::Http {
            https,
            port: port(container, key, h)?,
            path: if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            },
            headers,
        }
    } else if let Some(t) = p.get("tcpSocket") {
        ProbeAction::Tcp {
            port: port(container, key, t)?,
        }
    } else if let Some(g) = p.get("grpc") {
        // grpc ports are numbers only in the Kubernetes API.
        let port = g
            .get("port")
            .and_then(Node::as_str)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|p| *p > 0)
            .ok_or((g.pos, format!("{key}.grpc.port must be a port number")))?;
        ProbeAction::Grpc {
            port,
            service: g
                .get("service")
                .and_then(Node::as_text)
                .unwrap_or("")
                .to_string(),
        }
    } else {
        return Err((
            p.pos,
            format!("{key} has no exec, httpGet, tcpSocket or grpc action"),
        ));
    };
    Ok(Probe {
        action,
        interval: Duration::from_secs(count(p, "periodSeconds", 10)?.max(1).into()),
        timeout: Duration::from_secs(count(p, "timeoutSeconds", 1)?.max(1).into()),
        retries: count(p, "failureThreshold", 3)?.max(1),
        start_period: Duration::from_secs(count(p, "initialDelaySeconds", 0)?.into()),
        source,
    })
}

/// `port: 8080` or `port: http`, a name resolved from the container's `ports`.
fn port(container: &Node, key: &str, action: &Node) -> Result<u16, Problem> {
    let Some(p) = action.get("port").filter(|p| !p.is_null()) else {
        return Err((action.pos, format!("{key}: the action needs a port")));
    };
    let text = p.as_str().unwrap_or("");
    if let Ok(n) = text.parse::<u16>() {
        if n > 0 {
            return Ok(n);
        }
    }
    let ports = container.get("ports").map(Node::items).unwrap_or(&[]);
    let named = ports
        .iter()
        .find(|q| q.get("name").and_then(Node::as_text) == Some(text));
    match named
        .and_then(|q| q.get("containerPort"))
        .and_then(Node::as_str)
    {
        Some(n) => n.parse::<u16>().ok().filter(|n| *n > 0).ok_or((
            p.pos,
            format!("{key}: port '{text}' has containerPort {n}, not a port number"),
        )),
        None => {
            let names: Vec<&str> = ports
                .iter()
                .filter_map(|q| q.get("name").and_then(Node::as_text))
                .collect();
            Err((
                p.pos,
                if names.is_empty() {
                    format!("{key}: port '{text}' is not a number and the container names no ports")
                } else {
                    format!(
                        "{key}: the container has no port named '{text}' (it names: {})",
                        names.join(", ")
                    )
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tree::documents_whole;

    fn root(text: &str) -> std::rc::Rc<Node> {
        documents_whole(text).next().unwrap().unwrap().root
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(go_duration("0"), Some(Duration::ZERO));
        assert_eq!(go_duration("10"), None);
        assert_eq!(go_duration("5 parsecs"), None);
        assert_eq!(go_duration(""), None);
    }

    #[test]
    fn compose_forms() {
        let r = root(
            "a: {test: [CMD, wget, -q, localhost], interval: 2s, timeout: 1s, retries: 5, start_period: 1m}\n\
             b: {test: [CMD-SHELL, 'curl -f x || exit 1']}\n\
             c: {test: 'pidof nginx'}\n\
             d: {test: [NONE]}\n\
             e: {test: [CMD], interval: 2s}\n\
             f: {disable: true, test: [CMD, x]}\n\
             g: {test: [CMD, x], interval: 2}\n",
        );
        let get = |k: &str| compose_healthcheck(r.get(k).unwrap(), format!("healthcheck {k}"));
        let a = get("a").unwrap().unwrap();
        assert_eq!(
            a.action,
            ProbeAction::Exec(vec!["wget".into(), "-q".into(), "localhost".into()])
        );
        assert_eq!(
            (a.interval, a.timeout, a.retries, a.start_period),
            (
                Duration::from_secs(2),
                Duration::from_secs(1),
                5,
                Duration::from_secs(60)
            )
        );
        let b = get("b").unwrap().unwrap();
        assert_eq!(b.action, ProbeAction::Shell("curl -f x || exit 1".into()));
        assert_eq!(
            (b.interval, b.timeout, b.retries),
            (Duration::from_secs(30), Duration::from_secs(30), 3)
        );
        assert_eq!(
            get("c").unwrap().unwrap().action,
            ProbeAction::Shell("pidof nginx".into())
        );
        assert_eq!(get("d").unwrap(), None);
        assert_eq!(get("e").unwrap_err().0.line, 5);
        assert_eq!(get("f").unwrap(), None);
        let g = get("g").unwrap_err();
        assert_eq!(g.0.line, 7);
        assert!(g.1.contains("interval"), "{g:?}");
    }

    fn k8s(text: &str) -> Result<Option<Probe>, Problem> {
        let r = root(text);
        kubernetes_probe(&r, &|k, p| format!("{k} at {}", p.line))
    }

    #[test]
    fn kubernetes_order_and_actions() {
        let p = k8s(
            "name: web\nports: [{name: http, containerPort: 8080}]\n\
             livenessProbe: {tcpSocket: {port: 1}}\n\
             readinessProbe:\n  httpGet: {path: healthz, port: http, scheme: HTTPS, httpHeaders: [{name: X-A, value: b}]}\n  periodSeconds: 2\n  failureThreshold: 4\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            p.action,
            ProbeAction::Http {
                https: true,
                port: 8080,
                path: "/healthz".into(),
                headers: vec![("X-A".into(), "b".into())]
            }
        );
        assert_eq!(
            (p.interval, p.timeout, p.retries),
            (Duration::from_secs(2), Duration::from_secs(1), 4)
        );
        assert_eq!(p.source, "readinessProbe at 4");
        let s = k8s(
            "startupProbe: {exec: {command: [cat, /ok]}}\nlivenessProbe: {tcpSocket: {port: 80}}\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            s.action,
            ProbeAction::Exec(vec!["cat".into(), "/ok".into()])
        );
        let t = k8s("livenessProbe: {tcpSocket: {port: 6379}, initialDelaySeconds: 5}\n")
            .unwrap()
            .unwrap();
        assert_eq!(t.action, ProbeAction::Tcp { port: 6379 });
        assert_eq!(t.start_period, Duration::from_secs(5));
        let g = k8s("livenessProbe: {grpc: {port: 9000, service: db}}\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            g.action,
            ProbeAction::Grpc {
                port: 9000,
                service: "db".into()
            }
        );
        assert_eq!(k8s("name: x\n").unwrap(), None);
    }

    #[test]
    fn kubernetes_bad_probes_name_the_problem() {
        let e = k8s(
            "ports: [{name: web, containerPort: 80}]\nreadinessProbe: {httpGet: {port: http}}\n",
        )
        .unwrap_err();
        assert_eq!(e.0.line, 2);
        assert!(
            e.1.contains("no port named 'http'") && e.1.contains("web"),
            "{e:?}"
        );
        let e = k8s("readinessProbe: {periodSeconds: 3}\n").unwrap_err();
        assert!(e.1.contains("no exec, httpGet"), "{e:?}");
        let e = k8s("readinessProbe: {exec: {command: []}}\n").unwrap_err();
        assert!(e.1.contains("non-empty"), "{e:?}");
    }
}
