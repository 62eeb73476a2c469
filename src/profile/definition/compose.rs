//! A compose service as a trial container: everything `docker compose up` would give the
//! container except its capabilities, which the trials choose.

use super::{env, host_path, last_line, loc, probe, Defined, DefinitionError, Dependency};
use crate::profile::report::Definition;
use crate::profile::spec::{ContainerSpec, Mount, MountKind, Ulimit};
use crate::sources::tree::{Node, Pos};
use crate::workload::Workload;
use std::path::Path;

/// `depends_on` chains longer than this are refused as a mistake (compose has no limit, but
/// no real stack is this deep).
const MAX_DEPENDS_DEPTH: usize = 16;

/// The service names of a compose document, for "no service 'x' (services: ...)".
pub fn names(root: &Node) -> Vec<String> {
    root.get("services")
        .map(|s| {
            s.entries()
                .iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The service `name`, or `Ok(None)` when this document has no such service.
pub fn service(
    file: &Path,
    root: &Node,
    workloads: &[Workload],
    name: &str,
) -> Result<Option<Defined>, DefinitionError> {
    let Some(services) = root.get("services") else {
        return Ok(None);
    };
    let Some((key, svc)) = services.get_entry(name) else {
        return Ok(None);
    };
    let (spec, probe_, notes) = container(file, services, key, svc, workloads, name)?;
    let mut dependencies = Vec::new();
    let mut visiting = vec![name.to_string()];
    depends_on(
        file,
        services,
        workloads,
        svc,
        &mut visiting,
        &mut dependencies,
    )?;
    let mut spec = spec;
    if !dependencies.is_empty() && spec.network == "none" {
        // Filled in by the runner with the profile's private network.
        spec.network = String::new();
    }
    Ok(Some(Defined {
        spec,
        probe: probe_,
        definition: Definition {
            file: file.to_path_buf(),
            service: Some(name.to_string()),
            kind: None,
            name: None,
            container: None,
            line: Some(key.pos.line),
        },
        location: loc(file, key.pos),
        missing_env: Vec::new(),
        dependencies,
        notes,
        last_line: last_line(svc),
    }))
}

fn depends_on(
    file: &Path,
    services: &Node,
    workloads: &[Workload],
    svc: &Node,
    visiting: &mut Vec<String>,
    out: &mut Vec<Dependency>,
) -> Result<(), DefinitionError> {
    let Some(d) = svc.get("depends_on").filter(|d| !d.is_null()) else {
        return Ok(());
    };
    let names: Vec<(String, Pos)> = if d.is_seq() {
        d.items()
            .iter()
            .map(|i| {
                i.as_text().map(|s| (s.to_string(), i.pos)).ok_or_else(|| {
                    DefinitionError::at(file, i.pos, "depends_on entries must be service names")
                })
            })
            .collect::<Result<_, _>>()?
    } else if d.is_map() {
        d.entries()
            .iter()
            .filter_map(|(k, _)| k.as_str().map(|s| (s.to_string(), k.pos)))
            .collect()
    } else {
        return Err(DefinitionError::at(
            file,
            d.pos,
            "depends_on must be a list or a map",
        ));
    };
    for (dep, pos) in names {
        if out.iter().any(|o| o.name == dep) {
            continue;
        }
        if visiting.contains(&dep) {
            return Err(DefinitionError::at(
                file,
                pos,
                format!("depends_on cycle: {} -> {dep}", visiting.join(" -> ")),
            ));
        }
        if visiting.len() > MAX_DEPENDS_DEPTH {
            return Err(DefinitionError::at(
                file,
                pos,
                "depends_on chain is too deep",
            ));
        }
        let Some((key, node)) = services.get_entry(&dep) else {
            return Err(DefinitionError::at(
                file,
                pos,
                format!("depends_on names '{dep}', which is not a service of this file"),
            ));
        };
        visiting.push(dep.clone());
        depends_on(file, services, workloads, node, visiting, out)?;
        visiting.pop();
        let (mut spec, probe_, _) = container(file, services, key, node, workloads, &dep)?;
        spec.network = String::new();
        let w = workload(workloads, &dep, key.pos);
        out.push(Dependency {
            name: dep.clone(),
            spec,
            probe: probe_,
            cap_add: w
                .map(|w| w.cap_add.iter().map(|c| c.raw.clone()).collect())
                .unwrap_or_default(),
            cap_drop: w
                .map(|w| w.cap_drop.iter().map(|c| c.raw.clone()).collect())
                .unwrap_or_default(),
            privileged: w.is_some_and(|w| w.privileged.value),
            location: loc(file, key.pos),
        });
    }
    Ok(())
}

/// The audit's reading of the service (it resolves `extends` for image, user, sysctls,
/// no-new-privileges and capabilities).
fn workload<'a>(workloads: &'a [Workload], name: &str, pos: Pos) -> Option<&'a Workload> {
    workloads.iter().find(|w| {
        w.name == name
            && w.location
                .as_ref()
                .is_some_and(|l| l.line == pos.line && l.column == pos.col)
    })
}

type Parts = (
    ContainerSpec,
    Option<crate::profile::spec::Probe>,
    Vec<String>,
);

fn container(
    file: &Path,
    services: &Node,
    key: &Node,
    svc: &Node,
    workloads: &[Workload],
    name: &str,
) -> Result<Parts, DefinitionError> {
    let at = |pos: Pos, m: String| DefinitionError::at(file, pos, m);
    if !svc.is_map() {
        return Err(at(svc.pos, format!("service '{name}' must be a map")));
    }
    let w = workload(workloads, name, key.pos);
    let mut notes = Vec::new();
    let chain = extends_chain(services, svc, name, &mut notes);
    // A key of the service, else of the service it extends (compose overrides scalars).
    let get = |k: &str| chain.iter().find_map(|n| n.get(k));
    let image = w
        .and_then(|w| w.image.clone())
        .or_else(|| get("image").and_then(Node::as_text).map(str::to_string))
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| match get("image").filter(|i| !i.is_null()) {
            // Written but blank: mostly `image: $IMAGE` with the variable unset.
            Some(i) => at(
                i.pos,
                format!(
                    "service '{name}': the image is blank once interpolated (set the variables it uses in the environment or the .env file)"
                ),
            ),
            None => at(
                key.pos,
                format!(
                    "service '{name}' has no image (dropcap never builds or pulls: build it, then give the service an image:)"
                ),
            ),
        })?;
    let mut spec = ContainerSpec {
        image,
        network: "none".to_string(),
        network_aliases: vec![name.to_string()],
        ..ContainerSpec::default()
    };
    spec.entrypoint = words(file, get("entrypoint"), "entrypoint")?;
    spec.cmd = words(file, get("command"), "command")?;
    // Environment merges along `extends` (the base first, so the service's own wins), and
    // `environment` wins over `env_file`, as compose does.
    for n in chain.iter().rev() {
        if let Some(ef) = n.get("env_file").filter(|v| !v.is_null()) {
            spec.env.extend(env_files(file, ef)?);
        }
    }
    for n in chain.iter().rev() {
        if let Some(e) = n.get("environment") {
            let vars = env::compose_environment(e).map_err(|(p, m)| at(p, m))?;
            spec.env.extend(vars);
        }
    }
    let text = |k: &str| get(k).and_then(Node::as_text).map(str::to_string);
    spec.working_dir = text("working_dir");
    spec.user = w.and_then(|w| w.user.clone()).or_else(|| text("user"));
    spec.read_only = flag(file, get("read_only"), "read_only")?;
    spec.init = flag(file, get("init"), "init")?;
    if let Some(t) = get("tmpfs").filter(|v| !v.is_null()) {
        let items: Vec<&Node> = if t.is_seq() {
            t.items().iter().map(|r| &**r).collect()
        } else {
            vec![t]
        };
        for item in items {
            let s = item
                .as_text()
                .ok_or_else(|| at(item.pos, "tmpfs entries must be paths".into()))?;
            let (target, options) = s.split_once(':').unwrap_or((s, ""));
            spec.mounts.push(Mount {
                target: target.to_string(),
                read_only: false,
                kind: MountKind::Tmpfs {
                    options: options.to_string(),
                },
            });
        }
    }
    // Volumes merge along `extends` by target, the service's own winning.
    for n in chain.iter().rev() {
        let Some(v) = n.get("volumes").filter(|v| !v.is_null()) else {
            continue;
        };
        if !v.is_seq() {
            return Err(at(v.pos, "volumes must be a list".into()));
        }
        for item in v.items() {
            let m = volume(file, item)?;
            spec.mounts.retain(|o| o.target != m.target);
            spec.mounts.push(m);
        }
    }
    if let Some(w) = w {
        spec.sysctls = w
            .sysctls
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        spec.no_new_privileges = w.no_new_privileges.as_ref().is_some_and(|s| s.value);
    }
    if let Some(opts) = get("security_opt") {
        for o in opts.items() {
            let Some(s) = o.as_text() else { continue };
            let lower = s.to_ascii_lowercase();
            if lower.starts_with("no-new-privileges") || lower.starts_with("no_new_privileges") {
                continue;
            }
            spec.security_opt.push(s.to_string());
        }
    }
    if let Some(u) = get("ulimits").filter(|v| !v.is_null()) {
        spec.ulimits = ulimits(file, u)?;
    }
    if let Some(mode) = text("network_mode") {
        if mode == "host" || mode == "none" {
            spec.network = mode;
        }
    }
    let probe_ = match chain.iter().find_map(|n| n.get_entry("healthcheck")) {
        Some((hk, hc)) => {
            probe::compose_healthcheck(hc, format!("healthcheck at {}", loc(file, hk.pos)))
                .map_err(|(p, m)| at(p, m))?
        }
        None => None,
    };
    Ok((spec, probe_, notes))
}

/// The service, then the services it extends within this file (compose `extends:
/// {service: base}` or `extends: base`). A base in another file is left to the audit's
/// reading (image, user, sysctls, no-new-privileges) and said in a note.
fn extends_chain<'a>(
    services: &'a Node,
    svc: &'a Node,
    name: &str,
    notes: &mut Vec<String>,
) -> Vec<&'a Node> {
    let mut chain = vec![svc];
    let mut seen = vec![name.to_string()];
    let mut cur = svc;
    while let Some(ext) = cur.get("extends").filter(|e| !e.is_null()) {
        if ext.get("file").is_some_and(|f| !f.is_null()) {
            notes.push(format!(
                "service '{name}': extends from another file: only its image, user, sysctls and no-new-privileges are inherited here"
            ));
            break;
        }
        let Some(base) = ext
            .as_text()
            .or_else(|| ext.get("service").and_then(Node::as_text))
        else {
            break;
        };
        // A cycle or a long chain is the audit's error to report; stop here.
        if seen.iter().any(|s| s == base) || chain.len() > MAX_DEPENDS_DEPTH {
            break;
        }
        let Some(node) = services.get(base) else {
            break;
        };
        seen.push(base.to_string());
        chain.push(node);
        cur = node;
    }
    chain
}

fn flag(file: &Path, v: Option<&Node>, key: &str) -> Result<bool, DefinitionError> {
    match v.filter(|v| !v.is_null()) {
        None => Ok(false),
        Some(v) => v.as_bool().ok_or_else(|| {
            DefinitionError::at(file, v.pos, format!("{key} must be true or false"))
        }),
    }
}

/// `entrypoint`/`command`: a list is argv; a string is split as a shell would, without
/// expansion (compose does the same).
fn words(file: &Path, v: Option<&Node>, key: &str) -> Result<Option<Vec<String>>, DefinitionError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if let Some(s) = v.as_str() {
        return crate::profile::split_words(s)
            .map(Some)
            .ok_or_else(|| DefinitionError::at(file, v.pos, format!("{key}: unbalanced quote")));
    }
    v.items()
        .iter()
        .map(|i| i.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .map(Some)
        .ok_or_else(|| {
            DefinitionError::at(
                file,
                v.pos,
                format!("{key} must be a string or a list of strings"),
            )
        })
}

/// `env_file: a.env`, `[a.env, b.env]`, `[{path: a.env, required: false}]`, relative to the
/// compose file; later files win.
fn env_files(file: &Path, v: &Node) -> Result<Vec<(String, String)>, DefinitionError> {
    let items: Vec<&Node> = if v.is_seq() {
        v.items().iter().map(|r| &**r).collect()
    } else {
        vec![v]
    };
    let mut out = Vec::new();
    for item in items {
        let (written, required) = if let Some(s) = item.as_text() {
            (s, true)
        } else if let Some(p) = item.get("path").and_then(Node::as_text) {
            (
                p,
                item.get("required").and_then(Node::as_bool).unwrap_or(true),
            )
        } else {
            return Err(DefinitionError::at(
                file,
                item.pos,
                "env_file entries must be paths",
            ));
        };
        let path = host_path(file, written);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) => {
                return Err(DefinitionError::at(
                    file,
                    item.pos,
                    format!(
                        "env_file {}: {}",
                        path.display(),
                        crate::sources::io_reason(&e)
                    ),
                ))
            }
        };
        let vars = env::parse_env_file(&text)
            .map_err(|(line, m)| DefinitionError::at(&path, Pos { line, col: 1 }, m))?;
        out.extend(vars);
    }
    Ok(out)
}

/// Short (`./data:/data:ro`, `cache:/cache`, `/anon`) and long (`{type, source, target}`)
/// volume syntax. A source that looks like a path is a bind; anything else names a volume.
fn volume(file: &Path, item: &Node) -> Result<Mount, DefinitionError> {
    let at = |m: &str| DefinitionError::at(file, item.pos, m.to_string());
    if let Some(s) = item.as_text() {
        let parts: Vec<&str> = s.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [t] => (None, *t, ""),
            [s, t] => (Some(*s), *t, ""),
            [s, t, m] => (Some(*s), *t, *m),
            _ => return Err(at("volume: expected SOURCE:TARGET[:MODE]")),
        };
        let read_only = mode.split(',').any(|m| m == "ro");
        return Ok(Mount {
            target: target.to_string(),
            read_only,
            kind: match source {
                None => MountKind::Volume {
                    name: String::new(),
                },
                Some(src) if is_path(src) => MountKind::Bind {
                    source: host_path(file, src),
                },
                Some(src) => MountKind::Volume {
                    name: src.to_string(),
                },
            },
        });
    }
    if !item.is_map() {
        return Err(at("volumes entries must be strings or maps"));
    }
    let target = item
        .get("target")
        .and_then(Node::as_text)
        .ok_or_else(|| at("volume: needs a target"))?
        .to_string();
    let read_only = item
        .get("read_only")
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let source = item.get("source").and_then(Node::as_text);
    let kind = match item.get("type").and_then(Node::as_text).unwrap_or("volume") {
        "bind" => MountKind::Bind {
            source: host_path(
                file,
                source.ok_or_else(|| at("bind volume: needs a source"))?,
            ),
        },
        "volume" => MountKind::Volume {
            name: source.unwrap_or("").to_string(),
        },
        "tmpfs" => MountKind::Tmpfs {
            options: item
                .path(&["tmpfs", "size"])
                .and_then(Node::as_text)
                .map(|s| format!("size={s}"))
                .unwrap_or_default(),
        },
        other => {
            return Err(at(&format!(
                "volume type '{other}' is not one dropcap can run (bind, volume, tmpfs)"
            )))
        }
    };
    Ok(Mount {
        target,
        read_only,
        kind,
    })
}

fn is_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with('.') || s.starts_with('~')
}

/// `nofile: {soft: 1024, hard: 2048}` or `nproc: 65535`.
fn ulimits(file: &Path, u: &Node) -> Result<Vec<Ulimit>, DefinitionError> {
    if !u.is_map() {
        return Err(DefinitionError::at(file, u.pos, "ulimits must be a map"));
    }
    let num = |n: Option<&Node>| n.and_then(Node::as_str).and_then(|s| s.parse::<i64>().ok());
    let mut out = Vec::new();
    for (k, v) in u.entries() {
        let name = k.as_str().unwrap_or("").to_string();
        let (soft, hard) = if v.is_map() {
            (num(v.get("soft")), num(v.get("hard")))
        } else {
            (num(Some(v)), num(Some(v)))
        };
        match (soft, hard) {
            (Some(soft), Some(hard)) => out.push(Ulimit { name, soft, hard }),
            _ => {
                return Err(DefinitionError::at(
                    file,
                    v.pos,
                    format!("ulimits.{name}: expected a number or {{soft, hard}}"),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{read, Select};
    use crate::profile::spec::{MountKind, ProbeAction};
    use std::time::Duration;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const STACK: &str = "\
services:
  web:
    image: busybox:dc
    entrypoint: [/bin/sh, -c]
    command: 'httpd -f -p 8080'
    env_file: [web.env]
    environment:
      - MODE=prod
      - EMPTY=
    working_dir: /srv
    user: '101:101'
    read_only: true
    init: true
    tmpfs: [/run, '/tmp:size=8m']
    volumes:
      - ./site:/srv/site:ro
      - cache:/cache
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1m}
    sysctls: {net.ipv4.ip_unprivileged_port_start: '80'}
    security_opt: [no-new-privileges:true, 'label=disable']
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 64}
    healthcheck:
      test: [CMD, wget, -q, -O-, http://127.0.0.1:8080/]
      interval: 1s
      timeout: 2s
      retries: 4
    depends_on: [db]
  db:
    image: busybox:dc
    cap_add: [NET_ADMIN]
    depends_on:
      cache: {condition: service_started}
  cache:
    image: busybox:dc
    cap_drop: [ALL]
volumes: {cache: {}}
";

    #[test]
    fn variables_are_interpolated_from_the_environment_and_dot_env() {
        // Names no real environment sets, so the test is the same everywhere.
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            ".env",
            "DROPCAP_T_TAG=1.2\nDROPCAP_T_UID=\"101\"\n",
        );
        let f = write(
            dir.path(),
            "compose.yaml",
            "services:\n  web:\n    image: ${DROPCAP_T_REG:-busybox}:${DROPCAP_T_TAG}\n    user: ${DROPCAP_T_UID}:${DROPCAP_T_UID}\n    environment: ['MODE=${DROPCAP_T_MODE}', COST=$$5]\n    command: echo ${DROPCAP_T_UNSET_2}\n",
        );
        let d = read(&f, &Select::Service("web".into()), &[]).unwrap();
        assert_eq!(d.spec.image, "busybox:1.2");
        assert_eq!(d.spec.user.as_deref(), Some("101:101"));
        let env: Vec<String> = d.spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(env, ["MODE=", "COST=$5"]);
        let notes = d.notes.join("\n");
        assert!(
            notes.contains("variable DROPCAP_T_MODE is not set"),
            "{notes}"
        );
        assert!(
            notes.contains("variable DROPCAP_T_UNSET_2 is not set"),
            "{notes}"
        );

        let f = write(
            dir.path(),
            "required.yaml",
            "services:\n  web:\n    image: busybox\n    environment:\n      DB: ${DROPCAP_T_DB:?set DROPCAP_T_DB in .env}\n",
        );
        let e = read(&f, &Select::Service("web".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("required.yaml:5:11: error: required variable DROPCAP_T_DB is missing a value: set DROPCAP_T_DB in .env"),
            "{e}"
        );
        // `image: $VAR` with VAR set nowhere: the reason, at the image's value.
        let f2 = write(
            dir.path(),
            "blank.yaml",
            "services:\n  web:\n    image: \"$DROPCAP_T_NO_IMAGE\"\n",
        );
        let e = read(&f2, &Select::Service("web".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "blank.yaml:3:12: error: service 'web': the image is blank once interpolated"
            ),
            "{e}"
        );
        write(dir.path(), ".env", "OK=1\nnot valid=2\n");
        let e = read(&f, &Select::Service("web".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(".env:2:1: error: 'not valid' is not a variable name"),
            "{e}"
        );
    }

    #[test]
    fn a_dot_env_that_is_not_a_small_regular_file_never_blocks_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "compose.yaml",
            "services:\n  web:\n    image: busybox:${DROPCAP_T_FIFO_TAG:-fallback}\n",
        );
        // A FIFO nobody writes to: reading it would wait for ever; it is skipped, as compose
        // skips what is not an env file.
        let fifo = dir.path().join(".env");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let d = read(&f, &Select::Service("web".into()), &[]).unwrap();
        assert_eq!(d.spec.image, "busybox:fallback");
        // Larger than an env file can sensibly be: refused by its size, before it is read.
        std::fs::remove_file(&fifo).unwrap();
        let big = std::fs::File::create(&fifo).unwrap();
        big.set_len(super::super::MAX_DOTENV + 1).unwrap();
        let e = read(&f, &Select::Service("web".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains(".env: error: is larger than 1024 KiB"), "{e}");
    }

    #[test]
    fn a_service_becomes_its_container() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        write(dir.path(), "web.env", "# env\nFROM_FILE=1\nMODE=dev\n");
        let f = write(dir.path(), "compose.yaml", STACK);
        let d = read(
            &f,
            &Select::Service("web".into()),
            &[("EXTRA".into(), "x".into())],
        )
        .unwrap();
        let s = &d.spec;
        assert_eq!(s.image, "busybox:dc");
        assert_eq!(s.entrypoint, Some(vec!["/bin/sh".to_string(), "-c".into()]));
        assert_eq!(
            s.cmd,
            Some(vec![
                "httpd".to_string(),
                "-f".into(),
                "-p".into(),
                "8080".into()
            ])
        );
        let env: Vec<String> = s.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            env,
            ["FROM_FILE=1", "MODE=dev", "MODE=prod", "EMPTY=", "EXTRA=x"]
        );
        assert_eq!(s.working_dir.as_deref(), Some("/srv"));
        assert_eq!(s.user.as_deref(), Some("101:101"));
        assert!(s.read_only && s.init && s.no_new_privileges);
        assert_eq!(s.security_opt, ["label=disable"]);
        assert_eq!(
            s.sysctls,
            [(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "80".to_string()
            )]
        );
        assert_eq!(s.ulimits.len(), 2);
        assert_eq!(
            (s.ulimits[0].soft, s.ulimits[0].hard, s.ulimits[1].hard),
            (1024, 2048, 64)
        );
        let kinds: Vec<(&str, &MountKind, bool)> = s
            .mounts
            .iter()
            .map(|m| (m.target.as_str(), &m.kind, m.read_only))
            .collect();
        assert_eq!(
            kinds[0],
            (
                "/run",
                &MountKind::Tmpfs {
                    options: String::new()
                },
                false
            )
        );
        assert_eq!(
            kinds[1].1,
            &MountKind::Tmpfs {
                options: "size=8m".into()
            }
        );
        let site = std::fs::canonicalize(dir.path().join("site")).unwrap();
        assert_eq!(
            kinds[2],
            ("/srv/site", &MountKind::Bind { source: site }, true)
        );
        assert_eq!(
            kinds[3].1,
            &MountKind::Volume {
                name: "cache".into()
            }
        );
        assert_eq!(
            kinds[4].1,
            &MountKind::Tmpfs {
                options: "size=1m".into()
            }
        );
        let p = d.probe.unwrap();
        assert_eq!(
            p.action,
            ProbeAction::Exec(vec![
                "wget".into(),
                "-q".into(),
                "-O-".into(),
                "http://127.0.0.1:8080/".into()
            ])
        );
        assert_eq!(
            (p.interval, p.timeout, p.retries),
            (Duration::from_secs(1), Duration::from_secs(2), 4)
        );
        assert!(
            p.source.starts_with("healthcheck at ") && p.source.ends_with("compose.yaml:24:5"),
            "{}",
            p.source
        );
        assert_eq!((d.location.line, d.location.column), (2, 3));
        assert_eq!(d.definition.service.as_deref(), Some("web"));
        // Dependencies first, each with its own capabilities.
        let deps: Vec<(&str, &[String])> = d
            .dependencies
            .iter()
            .map(|x| (x.name.as_str(), x.cap_add.as_slice()))
            .collect();
        assert_eq!(deps[0].0, "cache");
        assert_eq!(deps[1], ("db", &["NET_ADMIN".to_string()][..]));
        assert_eq!(d.dependencies[0].cap_drop, ["ALL"]);
        assert_eq!(s.network, "", "trials join the profile's private network");
        assert_eq!(s.network_aliases, ["web"]);
    }

    #[test]
    fn bad_selections_say_what_exists() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "compose.yaml",
            "services:\n  a: {image: x}\n  b: {build: .}\n",
        );
        let e = read(&f, &Select::Service("c".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("compose.yaml: error: no service 'c' (services: a, b)"),
            "{e}"
        );
        let e = read(&f, &Select::Service("b".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("compose.yaml:3:3: error: service 'b' has no image"),
            "{e}"
        );
        let e = read(
            &f,
            &Select::Container {
                name: "a".into(),
                workload: None,
            },
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("is a compose file: select with --service"),
            "{e}"
        );
        let f = write(
            dir.path(),
            "bad.yaml",
            "services:\n  a:\n    image: x\n    healthcheck: {test: [CMD]}\n",
        );
        let e = read(&f, &Select::Service("a".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.yaml:4:25: error: healthcheck.test must start with CMD"),
            "{e}"
        );
        let f = write(
            dir.path(),
            "cycle.yaml",
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
        );
        let e = read(&f, &Select::Service("a".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("depends_on cycle: a -> b -> a"), "{e}");
        let f = write(
            dir.path(),
            "envf.yaml",
            "services:\n  a: {image: x, env_file: missing.env}\n",
        );
        let e = read(&f, &Select::Service("a".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("envf.yaml:2:27: error: env_file") && e.contains("missing.env"),
            "{e}"
        );
    }

    #[test]
    fn extends_and_anchors_resolve_like_the_audit() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "compose.yaml",
            "x-base: &base\n  image: base:1\n  user: '5'\nservices:\n  base:\n    image: b:2\n    sysctls: [net.core.somaxconn=1024]\n    command: [serve]\n    environment: {A: '1', B: '1'}\n    volumes: [/a:/x, /b:/y]\n    healthcheck: {test: [CMD, ok]}\n  app:\n    <<: *base\n  ext:\n    extends: {service: base}\n    environment: [B=2]\n    volumes: [/c:/y]\n",
        );
        let d = read(&f, &Select::Service("app".into()), &[]).unwrap();
        assert_eq!(
            (d.spec.image.as_str(), d.spec.user.as_deref()),
            ("base:1", Some("5"))
        );
        let d = read(&f, &Select::Service("ext".into()), &[]).unwrap();
        assert_eq!(d.spec.image, "b:2");
        assert_eq!(d.spec.cmd, Some(vec!["serve".to_string()]));
        let env: Vec<String> = d.spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            env,
            ["A=1", "B=1", "B=2"],
            "the service's own value comes last and wins"
        );
        let binds: Vec<(String, String)> = d
            .spec
            .mounts
            .iter()
            .map(|m| match &m.kind {
                MountKind::Bind { source } => (source.display().to_string(), m.target.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            binds,
            [
                ("/a".to_string(), "/x".to_string()),
                ("/c".into(), "/y".into())
            ]
        );
        assert!(d.probe.is_some(), "healthcheck inherited");
        assert_eq!(
            d.spec.sysctls,
            [("net.core.somaxconn".to_string(), "1024".to_string())]
        );
        assert_eq!(d.spec.network, "none");
    }
}
