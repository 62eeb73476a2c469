//! Which engines to audit, chosen the way the docker CLI chooses: `-H` and `DOCKER_HOST` name an
//! address (with TLS from `--tls*` flags, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), and a
//! context name is looked up in Docker's context store, so `--context prod` reaches the same
//! engine, with the same certificates, as `docker --context prod ps`.
//!
//! The store (docker/cli `cli/context/store`): `$DOCKER_CONFIG` (default `~/.docker`) holds
//! `contexts/meta/<sha256(name)>/meta.json` with the endpoint, and
//! `contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem` with its TLS material. Without
//! flags the current context applies: `DOCKER_HOST` first, then `DOCKER_CONTEXT`, then
//! `currentContext` of `config.json`, then the default socket.

use super::tls::TlsFiles;
use crate::report::InputError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The context that stands for "DOCKER_HOST or the default socket"; it is never in the store.
pub const DEFAULT_CONTEXT: &str = "default";

/// One engine to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// How the report names this engine: the context's name, or the address itself.
    pub name: String,
    /// `unix:///path` or `tcp://host:port`.
    pub host: String,
    /// TLS for a `tcp://` address; `None` speaks plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The context this engine came from (`None` for `-H`, `DOCKER_HOST` and the default).
    pub context: Option<String>,
}

/// The TLS flags, as the docker CLI spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFlags {
    pub tls: bool,
    pub verify: bool,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// The environment the docker CLI reads, captured once so that tests can give their own.
#[derive(Debug, Clone, Default)]
pub struct DockerEnv {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub docker_config: Option<PathBuf>,
    pub cert_path: Option<PathBuf>,
    pub tls_verify: bool,
    pub tls: bool,
    pub home: Option<PathBuf>,
}

impl DockerEnv {
    pub fn from_process() -> DockerEnv {
        let text = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        };
        let path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        DockerEnv {
            docker_host: text("DOCKER_HOST"),
            docker_context: text("DOCKER_CONTEXT"),
            docker_config: path("DOCKER_CONFIG"),
            cert_path: path("DOCKER_CERT_PATH"),
            // The docker CLI tests only for non-empty, so DOCKER_TLS_VERIFY=0 turns it on too.
            tls_verify: text("DOCKER_TLS_VERIFY").is_some(),
            tls: text("DOCKER_TLS").is_some(),
            home: path("HOME"),
        }
    }

    /// `$DOCKER_CONFIG`, else `~/.docker`.
    pub fn config_dir(&self) -> PathBuf {
        self.docker_config.clone().unwrap_or_else(|| {
            self.home
                .clone()
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".docker")
        })
    }
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Endpoints", default)]
    endpoints: HashMap<String, EndpointMeta>,
}

#[derive(Deserialize)]
struct EndpointMeta {
    #[serde(rename = "Host")]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(rename = "currentContext")]
    current_context: Option<String>,
}

/// The engines named by `-H` (in order) and `--context` (in order), or the current one when
/// neither is given. A context that cannot be read is an error next to the others' targets.
pub fn resolve(
    hosts: &[String],
    contexts: &[String],
    flags: &TlsFlags,
    env: &DockerEnv,
) -> (Vec<Target>, Vec<InputError>) {
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    let add = |t: Target, targets: &mut Vec<Target>| {
        if !targets.iter().any(|o: &Target| o.name == t.name) {
            targets.push(t);
        }
    };
    for h in hosts {
        add(address_target(h, flags, env), &mut targets);
    }
    for name in contexts {
        match context_target(name, flags, env) {
            Ok(t) => add(t, &mut targets),
            Err(e) => errors.push(e),
        }
    }
    if hosts.is_empty() && contexts.is_empty() {
        let current = if env.docker_host.is_some() {
            None
        } else {
            env.docker_context.clone().map(Ok).or_else(|| {
                current_context(&env.config_dir())
                    .transpose()
                    .map(|r| r.map_err(|e| *e))
            })
        };
        match current {
            Some(Ok(name)) => match context_target(&name, flags, env) {
                Ok(t) => targets.push(t),
                Err(e) => errors.push(e),
            },
            Some(Err(e)) => errors.push(e),
            None => {
                let host = super::connect::resolve_host(env.docker_host.as_deref());
                targets.push(address_target(&host, flags, env));
            }
        }
    }
    (targets, errors)
}

/// An address from `-H` or `DOCKER_HOST`: TLS from the flags and the environment.
fn address_target(raw: &str, flags: &TlsFlags, env: &DockerEnv) -> Target {
    let tls = cli_tls(flags, env);
    let host = with_default_port(&super::connect::resolve_host(Some(raw)), tls.is_some());
    let tls = tls.filter(|_| host.starts_with("tcp://"));
    Target {
        name: host.clone(),
        host,
        tls,
        context: None,
    }
}

/// `tcp://host` without a port means dockerd's 2376 with TLS and 2375 without, as for docker.
fn with_default_port(host: &str, tls: bool) -> String {
    let Some(rest) = host.strip_prefix("tcp://") else {
        return host.to_string();
    };
    let rest = rest.trim_end_matches('/');
    let has_port = match rest.rsplit_once(']') {
        Some((_, after)) => after.starts_with(':'),
        None => rest.contains(':'),
    };
    if has_port || rest.is_empty() {
        host.to_string()
    } else {
        format!("tcp://{rest}:{}", if tls { 2376 } else { 2375 })
    }
}

/// `--tls`/`--tlsverify` and their environment twins; each file defaults to
/// `$DOCKER_CERT_PATH/{ca,cert,key}.pem` when that file exists, as in the docker CLI.
fn cli_tls(flags: &TlsFlags, env: &DockerEnv) -> Option<TlsFiles> {
    let verify = flags.verify || env.tls_verify;
    if !(verify || flags.tls || env.tls) {
        return None;
    }
    let dir = env.cert_path.clone().unwrap_or_else(|| env.config_dir());
    let pick = |given: &Option<PathBuf>, file: &str| {
        given
            .clone()
            .or_else(|| Some(dir.join(file)).filter(|p| p.exists()))
    };
    Some(TlsFiles {
        ca: pick(&flags.ca, "ca.pem"),
        cert: pick(&flags.cert, "cert.pem"),
        key: pick(&flags.key, "key.pem"),
        verify,
    })
}

/// The store's directory name for a context: the hex SHA-256 of its name.
pub fn context_dir_name(name: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn context_target(name: &str, flags: &TlsFlags, env: &DockerEnv) -> Result<Target, InputError> {
    if name == DEFAULT_CONTEXT {
        let host = super::connect::resolve_host(env.docker_host.as_deref());
        let mut t = address_target(&host, flags, env);
        t.name = DEFAULT_CONTEXT.to_string();
        t.context = Some(DEFAULT_CONTEXT.to_string());
        return Ok(t);
    }
    let store = env.config_dir().join("contexts");
    let hash = context_dir_name(name);
    let meta_path = store.join("meta").join(&hash).join("meta.json");
    let text = match std::fs::read(&meta_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(error(
                &meta_path,
                None,
                format!(
                "context \"{name}\" does not exist (no {}; `docker context ls` lists the contexts)",
                meta_path.display()
            ),
            ))
        }
        Err(e) => return Err(error(&meta_path, None, format!("cannot read: {e}"))),
    };
    let meta: Meta = serde_json::from_slice(&text).map_err(|e| {
        error(
            &meta_path,
            Some((e.line(), e.column())),
            format!("not a context's meta.json: {}", strip_position(&e)),
        )
    })?;
    if meta.name.as_deref().is_some_and(|n| n != name) {
        return Err(error(
            &meta_path,
            None,
            format!(
                "names context \"{}\", not \"{name}\"",
                meta.name.unwrap_or_default()
            ),
        ));
    }
    let Some(endpoint) = meta.endpoints.get("docker") else {
        return Err(error(
            &meta_path,
            None,
            format!("context \"{name}\" has no docker endpoint"),
        ));
    };
    let host = match endpoint.host.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None => super::connect::DEFAULT_HOST.to_string(),
    };
    if !(host.starts_with("unix://") || host.starts_with("tcp://")) {
        return Err(error(
            &meta_path,
            None,
            format!("context \"{name}\" points at {host}: only unix:// and tcp:// engines are supported"),
        ));
    }
    let tls_dir = store.join("tls").join(&hash).join("docker");
    let file = |f: &str| Some(tls_dir.join(f)).filter(|p| p.is_file());
    let (ca, cert, key) = (file("ca.pem"), file("cert.pem"), file("key.pem"));
    let has_material = ca.is_some() || cert.is_some() || key.is_some();
    // docker/cli `tlsConfig`: no material and verification on means plain HTTP.
    let tls = (has_material || endpoint.skip_tls_verify).then_some(TlsFiles {
        ca,
        cert,
        key,
        verify: !endpoint.skip_tls_verify,
    });
    Ok(Target {
        name: name.to_string(),
        host: with_default_port(&host, tls.is_some()),
        tls: tls.filter(|_| host.starts_with("tcp://")),
        context: Some(name.to_string()),
    })
}

/// `currentContext` of `config.json`; `None` when the file or the key is absent.
fn current_context(dir: &Path) -> Result<Option<String>, Box<InputError>> {
    let path = dir.join("config.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Box::new(error(&path, None, format!("cannot read: {e}")))),
    };
    let config: ConfigFile = serde_json::from_slice(&text).map_err(|e| {
        Box::new(error(
            &path,
            Some((e.line(), e.column())),
            format!("not a docker config.json: {}", strip_position(&e)),
        ))
    })?;
    Ok(config
        .current_context
        .filter(|c| !c.is_empty() && c != DEFAULT_CONTEXT))
}

fn error(path: &Path, at: Option<(usize, usize)>, message: String) -> InputError {
    InputError {
        path: path.to_path_buf(),
        line: at.map(|(l, _)| u32::try_from(l).unwrap_or(u32::MAX)),
        column: at.map(|(_, c)| u32::try_from(c).unwrap_or(u32::MAX)),
        message,
    }
}

/// serde_json appends " at line L column C", which the error's position already says.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path) -> DockerEnv {
        DockerEnv {
            docker_config: Some(dir.to_path_buf()),
            ..DockerEnv::default()
        }
    }

    fn write_context(dir: &Path, name: &str, meta: &str, tls: &[&str]) {
        let hash = context_dir_name(name);
        let m = dir.join("contexts/meta").join(&hash);
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("meta.json"), meta).unwrap();
        let t = dir.join("contexts/tls").join(&hash).join("docker");
        for f in tls {
            std::fs::create_dir_all(&t).unwrap();
            std::fs::write(t.join(f), "pem").unwrap();
        }
    }

    #[test]
    fn store_directory_is_the_sha256_of_the_name() {
        // `printf default | sha256sum`; the docker CLI names the directory the same way.
        assert_eq!(
            context_dir_name("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn contexts_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        write_context(
            dir.path(),
            "remote",
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":false}}}"#,
            &["ca.pem", "cert.pem", "key.pem"],
        );
        write_context(
            dir.path(),
            "local",
            r#"{"Name":"local","Endpoints":{"docker":{"Host":"unix:///run/other.sock"}}}"#,
            &[],
        );
        write_context(dir.path(), "broken", "{\n  \"Name\": 5\n}", &[]);
        let (t, e) = resolve(
            &[],
            &[
                "remote".into(),
                "local".into(),
                "broken".into(),
                "missing".into(),
            ],
            &TlsFlags::default(),
            &env(dir.path()),
        );
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].name, "remote");
        assert_eq!(t[0].host, "tcp://127.0.0.1:2376");
        let tls = t[0].tls.as_ref().unwrap();
        assert!(tls.verify);
        assert!(tls.ca.as_ref().unwrap().ends_with("docker/ca.pem"));
        assert!(tls.key.is_some() && tls.cert.is_some());
        assert_eq!(t[1].host, "unix:///run/other.sock");
        assert_eq!(t[1].tls, None);
        assert_eq!(e.len(), 2);
        assert!(e[0].path.ends_with("meta.json"));
        assert_eq!((e[0].line, e[0].column), (Some(2), Some(11)), "at the 5");
        assert!(e[0]
            .message
            .starts_with("not a context's meta.json: invalid type"));
        assert!(e[1].message.contains("context \"missing\" does not exist"));
    }

    #[test]
    fn current_context_and_its_overrides() {
        let dir = tempfile::tempdir().unwrap();
        write_context(
            dir.path(),
            "cur",
            r#"{"Name":"cur","Endpoints":{"docker":{"Host":"tcp://10.0.0.1","SkipTLSVerify":true}}}"#,
            &[],
        );
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"cur"}"#,
        )
        .unwrap();
        let mut e = env(dir.path());
        let (t, _) = resolve(&[], &[], &TlsFlags::default(), &e);
        assert_eq!(t[0].name, "cur");
        // SkipTLSVerify without material: TLS that checks nothing, on dockerd's TLS port.
        assert_eq!(t[0].host, "tcp://10.0.0.1:2376");
        assert!(!t[0].tls.as_ref().unwrap().verify);
        e.docker_host = Some("unix:///x.sock".into());
        let (t, _) = resolve(&[], &[], &TlsFlags::default(), &e);
        assert_eq!(
            (t[0].name.as_str(), t[0].context.as_ref()),
            ("unix:///x.sock", None)
        );
        e.docker_host = None;
        e.docker_context = Some("default".into());
        let (t, _) = resolve(&[], &[], &TlsFlags::default(), &e);
        assert_eq!(t[0].name, "default");
        assert_eq!(t[0].host, super::super::connect::DEFAULT_HOST);
        std::fs::write(dir.path().join("config.json"), "{\"currentContext\": }").unwrap();
        e.docker_context = None;
        let (t, errs) = resolve(&[], &[], &TlsFlags::default(), &e);
        assert!(t.is_empty());
        assert_eq!(
            (errs[0].line, errs[0].column),
            (Some(1), Some(20)),
            "at the closing brace"
        );
    }

    #[test]
    fn hosts_take_tls_from_flags_and_cert_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "x").unwrap();
        let e = DockerEnv {
            cert_path: Some(dir.path().to_path_buf()),
            tls_verify: true,
            ..DockerEnv::default()
        };
        let flags = TlsFlags {
            key: Some("/k.pem".into()),
            ..TlsFlags::default()
        };
        let (t, _) = resolve(
            &[
                "tcp://127.0.0.1:9".into(),
                "/run/a.sock".into(),
                "tcp://127.0.0.1:9".into(),
            ],
            &[],
            &flags,
            &e,
        );
        assert_eq!(t.len(), 2, "the same address twice is one engine");
        let tls = t[0].tls.as_ref().unwrap();
        assert_eq!(tls.ca.as_deref(), Some(dir.path().join("ca.pem").as_path()));
        assert_eq!(tls.cert, None, "cert.pem does not exist there");
        assert_eq!(tls.key.as_deref(), Some(Path::new("/k.pem")));
        assert!(tls.verify);
        assert_eq!(t[1].host, "unix:///run/a.sock");
        assert_eq!(t[1].tls, None, "TLS is for tcp:// only");
        assert_eq!(with_default_port("tcp://h", false), "tcp://h:2375");
        assert_eq!(with_default_port("tcp://[::1]", true), "tcp://[::1]:2376");
        assert_eq!(with_default_port("tcp://[::1]:5", true), "tcp://[::1]:5");
    }
}
