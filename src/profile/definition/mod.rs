//! A compose service or a Kubernetes container, read as the trial container it defines
//! ([`ContainerSpec`]) and the health check it already carries ([`Probe`]).
//!
//! Files are read with the audit's own sources (`crate::sources`): the same parser, the same
//! file:line:col errors, the same handling of anchors, merge keys and compose `extends` for the
//! fields the audit resolves (image, user, sysctls, no-new-privileges, capabilities). The tree
//! is read whole here ([`crate::sources::load_text_whole`]): the audit drops environment,
//! volumes and probes, which a trial needs.

pub mod compose;
pub mod env;
pub mod kubernetes;
pub mod probe;

use crate::profile::report::Definition;
use crate::profile::spec::{ContainerSpec, Probe};
use crate::sources::{tree::Pos, SourceError};
use crate::workload::Location;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Which definition in the file to profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    /// `--service NAME` (compose).
    Service(String),
    /// `--container NAME [--workload KIND/NAME]` (Kubernetes).
    Container {
        name: String,
        workload: Option<String>,
    },
}

/// A definition as trials run it.
#[derive(Debug, Clone)]
pub struct Defined {
    /// Bind sources are the user's own paths here; [`crate::profile::scratch`] replaces them
    /// with per-trial copies before any trial sees them.
    pub spec: ContainerSpec,
    pub probe: Option<Probe>,
    pub definition: Definition,
    /// The service's key or the container's entry.
    pub location: Location,
    /// `valueFrom` variables `--env` did not supply.
    pub missing_env: Vec<String>,
    /// compose `depends_on`, transitively, dependencies first.
    pub dependencies: Vec<Dependency>,
    /// Things the trials cannot reproduce (a configMap mounted empty), said in the report.
    pub notes: Vec<String>,
    /// The definition's last line: problems the audit finds between `location` and here are
    /// problems of this definition.
    pub last_line: u32,
}

/// A service the profiled one depends on: started once, as configured, for the whole profile.
#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    pub spec: ContainerSpec,
    pub probe: Option<Probe>,
    /// Its own configured capabilities, as written (`NET_ADMIN`, `ALL`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub location: Location,
}

/// Why a definition cannot be profiled, as `file:line:col: error: ...` (exit 2).
#[derive(Debug, Error)]
#[error("{0}")]
pub struct DefinitionError(pub SourceError);

impl DefinitionError {
    pub fn at(file: &Path, pos: Pos, message: impl Into<String>) -> DefinitionError {
        DefinitionError(SourceError::at(file, pos, message))
    }
    pub fn file(file: &Path, message: impl Into<String>) -> DefinitionError {
        DefinitionError(SourceError::file(file, message))
    }
}

pub(crate) fn loc(file: &Path, pos: Pos) -> Location {
    Location {
        file: file.to_path_buf(),
        line: pos.line,
        column: pos.col,
    }
}

/// What one document offered for the selection.
enum Found {
    Compose(Box<Result<Option<Defined>, DefinitionError>>, Vec<String>),
    Kubernetes(Vec<kubernetes::Hit>, Vec<String>),
}

/// Reads `path` and returns the selected definition with `--env` applied.
pub fn read(
    path: &Path,
    select: &Select,
    env_overrides: &[(String, String)],
) -> Result<Defined, DefinitionError> {
    let bytes = read_limited(path)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| DefinitionError::file(path, "invalid UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let vars = compose_vars(path)?;
    let mut found: Vec<Found> = Vec::new();
    let loaded =
        crate::sources::load_text_whole(path, text, Some(&vars), &mut |root, workloads| {
            let (kind, _) = crate::sources::detect::classify_why(root);
            match kind {
                crate::sources::DocKind::Compose => {
                    if let Select::Service(name) = select {
                        let got = compose::service(path, root, workloads, name);
                        found.push(Found::Compose(Box::new(got), compose::names(root)));
                    } else {
                        found.push(Found::Compose(Box::new(Ok(None)), Vec::new()));
                    }
                }
                crate::sources::DocKind::Kubernetes => {
                    if let Select::Container { name, .. } = select {
                        let (got, all) = kubernetes::containers(path, root, workloads, name);
                        found.push(Found::Kubernetes(got, all));
                    } else {
                        found.push(Found::Kubernetes(Vec::new(), Vec::new()));
                    }
                }
                _ => {}
            }
        });
    let mut chosen = choose(path, select, found, &loaded.errors)?;
    // Problems the audit found inside the chosen definition make the trial unfaithful.
    let (first, last) = (chosen.location.line, chosen.last_line);
    if let Some(e) = loaded
        .errors
        .iter()
        .find(|e| e.line.is_some_and(|l| l >= first && l <= last))
    {
        return Err(DefinitionError(e.clone()));
    }
    chosen.missing_env =
        env::apply_overrides(&mut chosen.spec.env, &chosen.missing_env, env_overrides);
    if chosen.definition.kind.is_some() {
        // The kubelet expands `$(VAR)` before the runtime sees the container (compose's
        // `${VAR}` was interpolated when the file was read).
        let spec = &mut chosen.spec;
        env::kubernetes_expand_container(&mut spec.env, &mut [&mut spec.entrypoint, &mut spec.cmd]);
    }
    if chosen.definition.service.is_some() {
        // Unset variables: compose's warnings, said in the report.
        chosen.notes.extend(loaded.notes.iter().cloned());
    }
    Ok(chosen)
}

/// `value` interpolated as compose would for the compose file `file`; `None` when that fails
/// (a required variable unset, a bad `.env`).
pub fn interpolate_in(file: &Path, value: &str) -> Option<String> {
    let vars = compose_vars(file).ok()?;
    crate::sources::interpolate::string(value, &vars, &mut Default::default()).ok()
}

/// A `.env` file larger than this is refused (real ones hold a few dozen lines).
pub(crate) const MAX_DOTENV: u64 = 1 << 20;

/// The variables compose interpolates with: dropcap's environment, then the `.env` file next
/// to the compose file (the project directory), as `docker compose` does without
/// `--project-directory` or `--env-file`.
fn compose_vars(path: &Path) -> Result<crate::sources::interpolate::Vars, DefinitionError> {
    use crate::sources::interpolate::{parse_dotenv, Vars};
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let dotenv_path = host_path(path, ".env");
    // Only a regular file of sane size (a FIFO would block, a device would never end), and
    // its size is checked before it is read. Absent, not a regular file or unreadable:
    // compose reads none either (a directory named .env is not an env file).
    let dotenv = match std::fs::metadata(&dotenv_path) {
        Ok(m) if m.is_file() && m.len() > MAX_DOTENV => {
            return Err(DefinitionError::file(
                &dotenv_path,
                format!("is larger than {} KiB; not an env file", MAX_DOTENV / 1024),
            ))
        }
        Ok(m) if m.is_file() => match std::fs::read(&dotenv_path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| DefinitionError::file(&dotenv_path, "invalid UTF-8"))?;
                parse_dotenv(&text).map_err(|(line, m)| {
                    DefinitionError::at(&dotenv_path, Pos { line, col: 1 }, m)
                })?
            }
            Err(_) => Default::default(),
        },
        _ => Default::default(),
    };
    Ok(Vars::new(env, dotenv))
}

fn choose(
    path: &Path,
    select: &Select,
    found: Vec<Found>,
    errors: &[SourceError],
) -> Result<Defined, DefinitionError> {
    let any_compose = found.iter().any(|f| matches!(f, Found::Compose(..)));
    let any_k8s = found.iter().any(|f| matches!(f, Found::Kubernetes(..)));
    if !any_compose && !any_k8s {
        // A file that did not parse says where; one that parsed is simply the wrong kind.
        if let Some(e) = errors.first() {
            return Err(DefinitionError(e.clone()));
        }
        return Err(DefinitionError::file(
            path,
            "neither a compose file nor a Kubernetes manifest",
        ));
    }
    match select {
        Select::Service(name) => {
            if !any_compose {
                return Err(DefinitionError::file(
                    path,
                    "is a Kubernetes manifest: select with --container NAME, not --service",
                ));
            }
            let mut names = Vec::new();
            for f in found {
                if let Found::Compose(got, n) = f {
                    if let Some(d) = (*got)? {
                        return Ok(d);
                    }
                    names.extend(n);
                }
            }
            if let Some(e) = errors.first() {
                return Err(DefinitionError(e.clone()));
            }
            Err(DefinitionError::file(
                path,
                format!("no service '{name}' (services: {})", list_or_none(&names)),
            ))
        }
        Select::Container { name, workload } => {
            if !any_k8s {
                return Err(DefinitionError::file(
                    path,
                    "is a compose file: select with --service NAME, not --container",
                ));
            }
            let mut matches = Vec::new();
            let mut all = Vec::new();
            for f in found {
                if let Found::Kubernetes(got, a) = f {
                    matches.extend(got);
                    all.extend(a);
                }
            }
            let mut hits: Vec<kubernetes::Hit> = match workload {
                Some(w) => matches
                    .into_iter()
                    .filter(|(obj, _)| same_workload(obj, w))
                    .collect(),
                None => matches,
            };
            match hits.len() {
                1 => hits.remove(0).1,
                0 => {
                    if let Some(e) = errors.first() {
                        return Err(DefinitionError(e.clone()));
                    }
                    let what = match workload {
                        Some(w) => format!("no container '{name}' in {w}"),
                        None => format!("no container '{name}'"),
                    };
                    Err(DefinitionError::file(
                        path,
                        format!("{what} (containers: {})", list_or_none(&all)),
                    ))
                }
                _ => {
                    let objs: Vec<String> = hits.iter().map(|(o, _)| o.clone()).collect();
                    Err(DefinitionError::file(
                        path,
                        format!(
                            "container '{name}' is in {}: choose one with --workload KIND/NAME",
                            objs.join(", ")
                        ),
                    ))
                }
            }
        }
    }
}

/// `deployment/web` names `Deployment/web`: kinds are case-insensitive on the command line,
/// as kubectl takes them.
fn same_workload(obj: &str, wanted: &str) -> bool {
    match (obj.split_once('/'), wanted.split_once('/')) {
        (Some((k1, n1)), Some((k2, n2))) => k1.eq_ignore_ascii_case(k2) && n1 == n2,
        _ => false,
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, DefinitionError> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| DefinitionError::file(path, crate::sources::io_reason(&e)))?;
    let mut bytes = Vec::new();
    f.take(crate::sources::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DefinitionError::file(path, crate::sources::io_reason(&e)))?;
    if bytes.len() as u64 > crate::sources::MAX_FILE_BYTES {
        return Err(DefinitionError::file(
            path,
            "larger than 64 MiB, the most dropcap reads",
        ));
    }
    Ok(bytes)
}

/// A host path as a definition writes it, made absolute against the definition's directory
/// (compose resolves relative binds against the compose file; `~` is the user's home).
pub(crate) fn host_path(file: &Path, written: &str) -> PathBuf {
    if let Some(rest) = written.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let p = Path::new(written);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // `./site` under `.` is `./site`, not `././site`.
    let rel: PathBuf = p
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect();
    let joined = dir.join(rel);
    std::fs::canonicalize(&joined).unwrap_or(joined)
}

/// The last line any node of `n` is on.
pub(crate) fn last_line(n: &crate::sources::tree::Node) -> u32 {
    use crate::sources::tree::Kind;
    let below = match &n.kind {
        Kind::Scalar { .. } => 0,
        Kind::Seq(items) => items.last().map(|i| last_line(i)).unwrap_or(0),
        Kind::Map(pairs) => pairs.last().map(|(_, v)| last_line(v)).unwrap_or(0),
    };
    below.max(n.pos.line)
}
