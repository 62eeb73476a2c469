//! Reaching the engine and telling Docker from Podman.

use super::EngineInfo;
use bollard::models::SystemVersion;
use bollard::{ClientVersion, Docker};
use std::time::Duration;

/// The default socket of both dockerd and rootful Podman's Docker-compatible service.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Which engine answered: Podman's compatible API differs in ways that change the audit
/// (its own default set, `CAP_`-less names, `ALL` expanded), so everything downstream asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }

    /// Podman names itself in `/version` as a component ("Podman Engine"); Docker's component
    /// is "Engine" and its platform "Docker Engine - Community" or similar.
    pub fn detect(v: &SystemVersion) -> EngineKind {
        let podman_component = v
            .components
            .iter()
            .flatten()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"));
        let podman_platform = v
            .platform
            .as_ref()
            .is_some_and(|p| p.name.to_ascii_lowercase().contains("podman"));
        if podman_component || podman_platform {
            EngineKind::Podman
        } else {
            EngineKind::Docker
        }
    }
}

/// `--host`, else `DOCKER_HOST`, else the default socket. A bare path means a unix socket.
pub fn resolve_host(flag: Option<&str>) -> String {
    let raw = flag
        .map(str::to_string)
        // `var_os`: a DOCKER_HOST that is not UTF-8 must fail to connect (saying where), not
        // quietly fall back to the default engine, which is another engine than asked for.
        .or_else(|| {
            std::env::var_os("DOCKER_HOST")
                .filter(|h| !h.is_empty())
                .map(|h| h.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    if raw.starts_with('/') {
        format!("unix://{raw}")
    } else {
        raw
    }
}

/// The socket path of a `unix://` host, for the raw libpod requests and for messages.
pub fn unix_path(host: &str) -> Option<&str> {
    host.strip_prefix("unix://")
}

pub fn connect(host: &str, timeout: Duration) -> Result<Docker, String> {
    let docker = match Docker::connect_with_host(host) {
        Ok(d) => d,
        Err(e) => return Err(describe(host, &e)),
    };
    Ok(docker.with_timeout(timeout))
}

/// bollard's timeout covers only the wait for an answer's headers: an engine that starts an
/// answer and never finishes it would otherwise hang the audit past `--timeout`.
pub async fn bounded<T>(
    timeout: Duration,
    request: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, bollard::errors::Error> {
    tokio::time::timeout(timeout, request)
        .await
        .unwrap_or(Err(bollard::errors::Error::RequestTimeoutError))
}

/// A client speaking the engine's API version. dockerd 20.10 refuses bollard's newer default,
/// and bollard's own negotiation costs a `/version` call (~11 ms on dockerd, which asks
/// containerd and runc for theirs); `/_ping` states the version in a header for ~1 ms.
pub async fn open(host: &str, timeout: Duration) -> Result<Docker, String> {
    open_with(host, timeout, timeout).await
}

/// [`open`], with the first request (`/_ping`) bounded by `ping_within` instead of
/// `timeout`: `profile` gives later requests at least 30 s (a busy engine starting a
/// container), but an engine that does not answer a ping within `--timeout` is hung.
pub async fn open_with(
    host: &str,
    ping_within: Duration,
    timeout: Duration,
) -> Result<Docker, String> {
    if let Some(v) = ping_version(host, ping_within).await? {
        let secs = timeout.as_secs().max(1);
        let versioned = if host.starts_with("unix://") {
            Docker::connect_with_unix(host, secs, &v).ok()
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(host, secs, &v).ok()
        } else {
            None
        };
        if let Some(d) = versioned {
            return Ok(d);
        }
    }
    bounded(timeout, connect(host, timeout)?.negotiate_version())
        .await
        .map_err(|e| describe(host, &e))
}

/// The API version to speak to `endpoint`, and a bollard client for what only bollard
/// reads (image exports) when one can be made: over TLS bollard needs a CA, a client
/// certificate and its key, and always verifies.
pub async fn open_via(
    endpoint: &super::raw::Endpoint,
    timeout: Duration,
) -> Result<(ClientVersion, Option<Docker>), String> {
    let Some(tls) = &endpoint.tls else {
        let docker = open(&endpoint.host, timeout).await?;
        return Ok((docker.client_version(), Some(docker)));
    };
    let host = endpoint.host.as_str();
    let ping = super::raw::get_via(endpoint, "/_ping", timeout)
        .await
        .map_err(|e| describe_raw(host, &e))?;
    let version = match version_header(&ping) {
        Some(v) => v,
        None => version_from_body(endpoint, timeout).await?,
    };
    let f = &tls.files;
    let docker = match (&f.ca, &f.cert, &f.key, f.verify) {
        (Some(ca), Some(cert), Some(key), true) => {
            let secs = timeout.as_secs().max(1);
            Docker::connect_with_ssl(host, key, cert, ca, secs, &version)
                .ok()
                .map(|d| d.with_timeout(timeout))
        }
        _ => None,
    };
    Ok((version, docker))
}

/// `/version`'s `ApiVersion`, for an engine whose `/_ping` does not say it.
async fn version_from_body(
    endpoint: &super::raw::Endpoint,
    timeout: Duration,
) -> Result<ClientVersion, String> {
    let host = endpoint.host.as_str();
    let answer = super::raw::get_via(endpoint, "/version", timeout)
        .await
        .map_err(|e| describe_raw(host, &e))?;
    let v: SystemVersion = serde_json::from_slice(answer.ok_body("/version")?)
        .map_err(|e| format!("malformed answer from the engine: {e}"))?;
    let (major, minor) = v
        .api_version
        .as_deref()
        .and_then(|a| a.split_once('.'))
        .ok_or_else(|| format!("the engine at {host} states no API version"))?;
    let parsed = ClientVersion {
        major_version: major.parse().map_err(|_| "bad API version".to_string())?,
        minor_version: minor.parse().map_err(|_| "bad API version".to_string())?,
    };
    Ok(at_most_ours(parsed))
}

/// The engine's version, or bollard's own when the engine is newer than bollard knows.
fn at_most_ours(server: ClientVersion) -> ClientVersion {
    let ours = bollard::API_DEFAULT_VERSION;
    let newer =
        (server.major_version, server.minor_version) > (ours.major_version, ours.minor_version);
    if newer {
        *ours
    } else {
        server
    }
}

/// A raw client's error as one line a person can act on.
pub fn describe_raw(host: &str, e: &str) -> String {
    if e.contains("BadCertificate") || e.contains("CertificateRequired") {
        format!(
            "the engine at {host} refused our TLS client certificate or wants one ({}): give --tlscert and --tlskey, or a context with cert.pem and key.pem",
            one_line(e)
        )
    } else if e.contains("Connection refused") {
        format!("cannot reach the engine at {host}: connection refused (is it running?)")
    } else if e.contains("did not answer") || e.starts_with("TLS with") {
        e.to_string()
    } else {
        format!("cannot talk to the engine at {host}: {}", one_line(e))
    }
}

/// `Ok(None)` when `/_ping` gives no usable version (bollard then negotiates); `Err` only
/// when the engine accepted the connection and then never answered, or answered without end.
pub(crate) async fn ping_version(
    host: &str,
    timeout: Duration,
) -> Result<Option<ClientVersion>, String> {
    match super::raw::get(host, "/_ping", timeout).await {
        Ok(a) if a.status == 200 => Ok(version_header(&a)),
        Ok(_) => Ok(None),
        // After an endless answer bollard would read the next one without any limit.
        Err(e) if e.contains("did not answer") || e.contains(super::raw::TOO_LARGE) => Err(e),
        Err(_) => Ok(None),
    }
}

fn version_header(answer: &super::raw::Answer) -> Option<ClientVersion> {
    let (major, minor) = answer.header("Api-Version")?.split_once('.')?;
    let server = ClientVersion {
        major_version: major.trim().parse().ok()?,
        minor_version: minor.trim().parse().ok()?,
    };
    Some(at_most_ours(server))
}

/// What `/version` says, for the report, and which engine it is.
pub fn engine_info(v: &SystemVersion, host: &str) -> (EngineInfo, EngineKind) {
    let kind = EngineKind::detect(v);
    let version = match kind {
        EngineKind::Podman => v
            .components
            .iter()
            .flatten()
            .find(|c| c.name.to_ascii_lowercase().contains("podman"))
            .map(|c| c.version.clone())
            .or(v.version.clone()),
        EngineKind::Docker => v.version.clone(),
    }
    .unwrap_or_else(|| "unknown".to_string());
    let info = EngineInfo {
        kind: kind.as_str().to_string(),
        version,
        api_version: v
            .api_version
            .clone()
            .unwrap_or_else(|| "unknown".to_string()),
        host: host.to_string(),
        name: host.to_string(),
    };
    (info, kind)
}

/// One line a person can act on, for the failures people actually hit.
pub fn describe(host: &str, e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::SocketNotFoundError(path) if path.is_empty() => {
            format!("engine address '{host}' has no socket path (use unix:///path/to/docker.sock)")
        }
        E::SocketNotFoundError(path) => format!(
            "cannot reach the engine: no socket at {path} (is dockerd or `podman system service` running? set DOCKER_HOST or --host)"
        ),
        E::UnsupportedURISchemeError { uri } => {
            format!("unsupported engine address '{uri}' (use unix:///path or tcp://host:port)")
        }
        E::RequestTimeoutError => format!("the engine at {host} did not answer in time"),
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("the engine answered {status_code}: {}", one_line(message)),
        E::JsonDataError { message, .. } => {
            format!("malformed answer from the engine: {}", one_line(message))
        }
        other => {
            let text = chain(other);
            if text.to_ascii_lowercase().contains("permission denied") {
                let what = super::connect::unix_path(host).unwrap_or(host);
                format!("permission denied on {what} (run as root or as a member of the docker group)")
            } else if text.contains("Connection refused") || text.contains("connection refused") {
                match unix_path(host).and_then(|p| not_a_socket(std::path::Path::new(p))) {
                    Some(what) => format!(
                        "cannot reach the engine: {} is {what}, not a socket (set DOCKER_HOST or --host to the engine's socket)",
                        unix_path(host).unwrap_or(host)
                    ),
                    None => format!(
                        "cannot reach the engine at {host}: connection refused (is it running?)"
                    ),
                }
            } else {
                format!("cannot talk to the engine at {host}: {}", one_line(&text))
            }
        }
    }
}

/// connect(2) refuses a regular file or a directory with the same ECONNREFUSED as a socket
/// nobody listens on; what the path really is tells the user which mistake they made.
pub(crate) fn not_a_socket(path: &std::path::Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path).ok()?.file_type();
    if kind.is_socket() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_file() {
        Some("a regular file")
    } else {
        Some("a special file")
    }
}

/// The error and its causes on one line: hyper wraps the interesting io error deep down.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{SystemVersionComponents, SystemVersionPlatform};

    #[test]
    fn hosts() {
        assert_eq!(
            resolve_host(Some("/run/podman/podman.sock")),
            "unix:///run/podman/podman.sock"
        );
        assert_eq!(
            resolve_host(Some("tcp://127.0.0.1:2375")),
            "tcp://127.0.0.1:2375"
        );
        assert_eq!(unix_path("unix:///x.sock"), Some("/x.sock"));
        assert_eq!(unix_path("tcp://h:1"), None);
    }

    #[test]
    fn kinds() {
        let podman = SystemVersion {
            platform: Some(SystemVersionPlatform {
                name: "linux/amd64/debian-12".into(),
            }),
            components: Some(vec![SystemVersionComponents {
                name: "Podman Engine".into(),
                version: "4.3.1".into(),
                details: None,
            }]),
            ..Default::default()
        };
        assert_eq!(EngineKind::detect(&podman), EngineKind::Podman);
        let docker = SystemVersion {
            platform: Some(SystemVersionPlatform {
                name: "Docker Engine - Community".into(),
            }),
            components: Some(vec![SystemVersionComponents {
                name: "Engine".into(),
                version: "20.10.24".into(),
                details: None,
            }]),
            ..Default::default()
        };
        assert_eq!(EngineKind::detect(&docker), EngineKind::Docker);
        assert_eq!(
            EngineKind::detect(&SystemVersion::default()),
            EngineKind::Docker
        );
    }

    #[test]
    fn messages() {
        let m = describe(
            DEFAULT_HOST,
            &bollard::errors::Error::SocketNotFoundError("/var/run/docker.sock".into()),
        );
        assert!(m.contains("no socket at /var/run/docker.sock"), "{m}");
        assert!(!m.contains('\n'));
    }
}
