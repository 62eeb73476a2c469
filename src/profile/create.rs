//! A [`ContainerSpec`] as the body of the Engine API's `POST /containers/create`: every field
//! of the definition is applied to every trial, and only the capability sets differ, so a
//! trial that passes proves the set for the workload as it is really run.

use super::runner::TrialCaps;
use super::spec::{ContainerSpec, MountKind};
use crate::engine::client::ImageConfig;
use serde_json::{json, Map, Value};

/// Label on every container dropcap profile creates, valued with the session name.
pub const LABEL: &str = "io.dropcap.profile";

/// Holds the workload until the tracer is attached: the container starts a shell that waits
/// for one line on stdin, then execs the real command line unchanged.
pub const GATE: &str = r#"read -r _ && exec "$@""#;

/// The argv the container runs, as the engine resolves it: an entrypoint override also
/// drops the image's CMD (as `docker run --entrypoint`, compose `entrypoint` and a Kubernetes
/// `command` without `args` do); an empty override clears the image's entrypoint.
pub fn argv(spec: &ContainerSpec, image: &ImageConfig) -> Vec<String> {
    let (entry, default_cmd) = match &spec.entrypoint {
        Some(e) => (e.clone(), Vec::new()),
        None => (
            image.entrypoint.clone().unwrap_or_default(),
            image.cmd.clone().unwrap_or_default(),
        ),
    };
    let mut argv: Vec<String> = entry.into_iter().filter(|a| !a.is_empty()).collect();
    argv.extend(spec.cmd.clone().unwrap_or(default_cmd));
    argv
}

/// Networks a container joins by mode rather than by name, where aliases mean nothing.
fn is_mode(network: &str) -> bool {
    matches!(
        network,
        "" | "none" | "host" | "bridge" | "default" | "private"
    ) || network.starts_with("container:")
        || network.starts_with("ns:")
        || network.starts_with("slirp4netns")
        || network.starts_with("pasta")
}

/// The create body for one trial. `argv` is the resolved command line ([`argv`]); it is
/// always sent in full (entrypoint = its first word) so gated and ungated trials run the same
/// process, and nothing depends on how an engine merges overrides with the image.
pub fn body(
    spec: &ContainerSpec,
    argv: &[String],
    caps: TrialCaps,
    gated: bool,
    session: &str,
) -> Value {
    let (entrypoint, cmd): (Vec<String>, Vec<String>) = if gated {
        (
            vec!["/bin/sh".into(), "-c".into(), GATE.into(), "sh".into()],
            argv.to_vec(),
        )
    } else {
        (
            argv[..argv.len().min(1)].to_vec(),
            argv.iter().skip(1).cloned().collect(),
        )
    };
    let mut host = Map::new();
    host.insert("NetworkMode".into(), json!(spec.network));
    if let TrialCaps::Exactly(set) = caps {
        host.insert("CapDrop".into(), json!(["ALL"]));
        host.insert(
            "CapAdd".into(),
            Value::Array(
                set.iter()
                    .map(|c| json!(format!("CAP_{}", c.name())))
                    .collect(),
            ),
        );
    }
    if spec.read_only {
        host.insert("ReadonlyRootfs".into(), json!(true));
    }
    if spec.init {
        host.insert("Init".into(), json!(true));
    }
    if !spec.sysctls.is_empty() {
        let m: Map<String, Value> = spec
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        host.insert("Sysctls".into(), Value::Object(m));
    }
    let mut security: Vec<String> = Vec::new();
    if spec.no_new_privileges {
        security.push("no-new-privileges".into());
    }
    security.extend(spec.security_opt.iter().cloned());
    if !security.is_empty() {
        host.insert("SecurityOpt".into(), json!(security));
    }
    if !spec.ulimits.is_empty() {
        let u: Vec<Value> = spec
            .ulimits
            .iter()
            .map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard}))
            .collect();
        host.insert("Ulimits".into(), Value::Array(u));
    }
    let mut mounts = Vec::new();
    let mut tmpfs = Map::new();
    for m in &spec.mounts {
        match &m.kind {
            MountKind::Bind { source } => mounts.push(json!({
                "Type": "bind",
                "Source": source.to_string_lossy(),
                "Target": m.target,
                "ReadOnly": m.read_only,
            })),
            MountKind::Volume { name } => mounts.push(json!({
                "Type": "volume",
                "Source": name,
                "Target": m.target,
                "ReadOnly": m.read_only,
            })),
            MountKind::Tmpfs { options } => {
                let mut opts: Vec<&str> = options.split(',').filter(|o| !o.is_empty()).collect();
                if m.read_only {
                    opts.push("ro");
                }
                tmpfs.insert(m.target.clone(), json!(opts.join(",")));
            }
        }
    }
    if !mounts.is_empty() {
        host.insert("Mounts".into(), Value::Array(mounts));
    }
    if !tmpfs.is_empty() {
        host.insert("Tmpfs".into(), Value::Object(tmpfs));
    }
    let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut body = json!({
        "Image": spec.image,
        "Entrypoint": entrypoint,
        "Cmd": cmd,
        "Env": env,
        "Labels": { LABEL: session },
        "AttachStdin": gated,
        "AttachStdout": true,
        "AttachStderr": true,
        "OpenStdin": gated,
        "StdinOnce": gated,
        "Tty": false,
        "HostConfig": Value::Object(host),
    });
    if let Some(u) = &spec.user {
        body["User"] = json!(u);
    }
    if let Some(w) = &spec.working_dir {
        body["WorkingDir"] = json!(w);
    }
    if !spec.network_aliases.is_empty() && !is_mode(&spec.network) {
        body["NetworkingConfig"] = json!({
            "EndpointsConfig": { spec.network.clone(): { "Aliases": spec.network_aliases } }
        });
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{Cap, CapSet};
    use crate::profile::spec::{Mount, Ulimit};
    use std::path::PathBuf;

    fn image() -> ImageConfig {
        ImageConfig {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: Some(vec!["serve".into()]),
            user: None,
        }
    }

    #[test]
    fn overrides_resolve_as_the_engine_does() {
        let mut s = ContainerSpec::default();
        assert_eq!(argv(&s, &image()), ["/entry", "serve"]);
        s.cmd = Some(vec!["run".into(), "x y".into()]);
        assert_eq!(argv(&s, &image()), ["/entry", "run", "x y"]);
        s.cmd = None;
        s.entrypoint = Some(vec!["/bin/other".into()]);
        assert_eq!(argv(&s, &image()), ["/bin/other"]);
        s.entrypoint = Some(vec![]);
        s.cmd = Some(vec!["nginx".into()]);
        assert_eq!(argv(&s, &image()), ["nginx"]);
    }

    fn full() -> ContainerSpec {
        ContainerSpec {
            image: "img:1".into(),
            entrypoint: None,
            cmd: None,
            env: vec![("A".into(), "1".into()), ("B".into(), "x=y".into())],
            working_dir: Some("/srv".into()),
            user: Some("101:101".into()),
            read_only: true,
            mounts: vec![
                Mount {
                    target: "/data".into(),
                    read_only: false,
                    kind: MountKind::Bind {
                        source: PathBuf::from("/tmp/copy-1"),
                    },
                },
                Mount {
                    target: "/var/lib/db".into(),
                    read_only: true,
                    kind: MountKind::Volume {
                        name: "vol-1".into(),
                    },
                },
                Mount {
                    target: "/run".into(),
                    read_only: false,
                    kind: MountKind::Tmpfs {
                        options: "size=64m".into(),
                    },
                },
            ],
            sysctls: vec![("net.ipv4.ip_unprivileged_port_start".into(), "0".into())],
            no_new_privileges: true,
            security_opt: vec!["seccomp=unconfined".into()],
            ulimits: vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }],
            init: true,
            network: "net-1".into(),
            network_aliases: vec!["web".into()],
        }
    }

    #[test]
    fn every_field_reaches_the_body() {
        let set = CapSet::EMPTY.with(Cap::CHOWN).with(Cap::NET_RAW);
        let b = body(
            &full(),
            &["/entry".into(), "serve".into()],
            TrialCaps::Exactly(set),
            false,
            "s-1",
        );
        let expect = json!({
            "Image": "img:1",
            "Entrypoint": ["/entry"],
            "Cmd": ["serve"],
            "Env": ["A=1", "B=x=y"],
            "Labels": {"io.dropcap.profile": "s-1"},
            "AttachStdin": false, "AttachStdout": true, "AttachStderr": true,
            "OpenStdin": false, "StdinOnce": false, "Tty": false,
            "User": "101:101",
            "WorkingDir": "/srv",
            "NetworkingConfig": {"EndpointsConfig": {"net-1": {"Aliases": ["web"]}}},
            "HostConfig": {
                "NetworkMode": "net-1",
                "CapDrop": ["ALL"],
                "CapAdd": ["CAP_CHOWN", "CAP_NET_RAW"],
                "ReadonlyRootfs": true,
                "Init": true,
                "Sysctls": {"net.ipv4.ip_unprivileged_port_start": "0"},
                "SecurityOpt": ["no-new-privileges", "seccomp=unconfined"],
                "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
                "Mounts": [
                    {"Type": "bind", "Source": "/tmp/copy-1", "Target": "/data", "ReadOnly": false},
                    {"Type": "volume", "Source": "vol-1", "Target": "/var/lib/db", "ReadOnly": true}
                ],
                "Tmpfs": {"/run": "size=64m"}
            }
        });
        assert_eq!(b, expect);
    }

    #[test]
    fn the_gate_runs_the_full_argv_and_defaults_add_no_cap_flags() {
        let mut s = ContainerSpec {
            image: "img:1".into(),
            network: "none".into(),
            network_aliases: vec!["ignored".into()],
            ..ContainerSpec::default()
        };
        s.mounts.push(Mount {
            target: "/t".into(),
            read_only: true,
            kind: MountKind::Tmpfs {
                options: String::new(),
            },
        });
        let argv: Vec<String> = vec!["/entry".into(), "ping".into(), "x y".into()];
        let b = body(&s, &argv, TrialCaps::Default, true, "s");
        assert_eq!(b["Entrypoint"], json!(["/bin/sh", "-c", GATE, "sh"]));
        assert_eq!(b["Cmd"], json!(argv));
        assert_eq!(b["OpenStdin"], json!(true));
        assert_eq!(b["StdinOnce"], json!(true));
        assert!(b["HostConfig"].get("CapAdd").is_none());
        assert!(b["HostConfig"].get("CapDrop").is_none());
        assert!(b.get("NetworkingConfig").is_none());
        assert!(b.get("User").is_none());
        assert_eq!(b["HostConfig"]["Tmpfs"], json!({"/t": "ro"}));
        let none = body(&s, &argv, TrialCaps::Exactly(CapSet::EMPTY), false, "s");
        assert_eq!(none["HostConfig"]["CapDrop"], json!(["ALL"]));
        assert_eq!(none["HostConfig"]["CapAdd"], json!([]));
    }
}
