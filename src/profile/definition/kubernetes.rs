//! A Kubernetes container as a trial container: what its pod spec gives the container
//! (command, args, env, workingDir, securityContext, volumes) except its capabilities.
//! Pod-level `securityContext` (runAsUser, runAsGroup, sysctls) applies unless the container
//! sets its own, as in the cluster.

use super::{env, host_path, last_line, loc, probe, Defined, DefinitionError};
use crate::profile::report::Definition;
use crate::profile::spec::{ContainerSpec, Mount, MountKind};
use crate::sources::kubernetes::template_path;
use crate::sources::tree::Node;
use crate::workload::Workload;
use std::path::Path;

const MAX_LIST_DEPTH: usize = 4;

/// A container of the wanted name: its object (`KIND/NAME`) and its definition.
pub type Hit = (String, Result<Defined, DefinitionError>);

/// Every container named `name` in the document, as `(KIND/NAME, its definition)`, and
/// every container of the document as `KIND/NAME:CONTAINER` for "no container" messages.
pub fn containers(
    file: &Path,
    root: &Node,
    workloads: &[Workload],
    name: &str,
) -> (Vec<Hit>, Vec<String>) {
    let mut hits = Vec::new();
    let mut all = Vec::new();
    let objects: Vec<&Node> = if root.is_seq() {
        root.items().iter().map(|r| &**r).collect()
    } else {
        vec![root]
    };
    for obj in objects {
        object(file, obj, workloads, name, &mut hits, &mut all, 0);
    }
    (hits, all)
}

fn object(
    file: &Path,
    obj: &Node,
    workloads: &[Workload],
    want: &str,
    hits: &mut Vec<Hit>,
    all: &mut Vec<String>,
    depth: usize,
) {
    let Some(kind) = obj.get("kind").and_then(Node::as_text) else {
        return;
    };
    if kind.ends_with("List") {
        if depth < MAX_LIST_DEPTH {
            for item in obj.get("items").map(Node::items).unwrap_or(&[]) {
                object(file, item, workloads, want, hits, all, depth + 1);
            }
        }
        return;
    }
    let Some((path, _)) = template_path(kind, obj) else {
        return;
    };
    let pod = if path.is_empty() {
        obj.get("spec")
    } else {
        obj.path(path).and_then(|t| t.get("spec"))
    };
    let Some(pod) = pod else { return };
    let oname = obj
        .path(&["metadata", "name"])
        .and_then(Node::as_text)
        .unwrap_or("<unnamed>");
    let label = format!("{kind}/{oname}");
    for c in pod.get("containers").map(Node::items).unwrap_or(&[]) {
        let cname = c.get("name").and_then(Node::as_text).unwrap_or("<unnamed>");
        all.push(format!("{label}:{cname}"));
        if cname != want {
            continue;
        }
        let w = workloads.iter().find(|w| {
            w.container.as_deref() == Some(cname)
                && w.location
                    .as_ref()
                    .is_some_and(|l| l.line == c.pos.line && l.column == c.pos.col)
        });
        let d = container(file, kind, oname, pod, c, w);
        hits.push((label.clone(), d));
    }
}

fn container(
    file: &Path,
    kind: &str,
    oname: &str,
    pod: &Node,
    c: &Node,
    w: Option<&Workload>,
) -> Result<Defined, DefinitionError> {
    let at = |pos, m: String| DefinitionError::at(file, pos, m);
    let cname = c.get("name").and_then(Node::as_text).unwrap_or("<unnamed>");
    let image = c
        .get("image")
        .and_then(Node::as_text)
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| at(c.pos, format!("container '{cname}' has no image")))?;
    let mut notes = Vec::new();
    let mut spec = ContainerSpec {
        image: image.to_string(),
        network: if pod.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
            "host".to_string()
        } else {
            "none".to_string()
        },
        ..ContainerSpec::default()
    };
    spec.entrypoint = argv(file, c, "command")?;
    spec.cmd = argv(file, c, "args")?;
    let mut missing = Vec::new();
    if let Some(e) = c.get("env") {
        let (set, m) = env::kubernetes_env(e).map_err(|(p, m)| at(p, m))?;
        spec.env = set;
        missing = m;
    }
    if c.get("envFrom").is_some_and(|e| !e.is_null()) {
        notes.push(format!(
            "container '{cname}': envFrom is not resolved (it names cluster objects); give its variables with --env"
        ));
    }
    spec.working_dir = c
        .get("workingDir")
        .and_then(Node::as_text)
        .map(str::to_string);
    let sc = c.get("securityContext");
    let pod_sc = pod.get("securityContext");
    // The audit's reading: container over pod for runAsUser/runAsGroup, pod sysctls,
    // allowPrivilegeEscalation: false as no-new-privileges.
    if let Some(w) = w {
        spec.user = w.user.clone();
        spec.no_new_privileges = w.no_new_privileges.as_ref().is_some_and(|s| s.value);
        spec.sysctls = w
            .sysctls
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
    }
    if spec.user.is_none() {
        // runAsGroup alone keeps the image's user with that group; docker needs a user for
        // `:gid`, and root is the image default a group-only context implies most often.
        let gid = sc
            .and_then(|s| s.get("runAsGroup"))
            .or(pod_sc.and_then(|s| s.get("runAsGroup")))
            .and_then(Node::as_text);
        if let Some(g) = gid {
            spec.user = Some(format!("0:{g}"));
        }
    }
    spec.read_only = sc
        .and_then(|s| s.get("readOnlyRootFilesystem"))
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let volumes = pod.get("volumes").map(Node::items).unwrap_or(&[]);
    for m in c.get("volumeMounts").map(Node::items).unwrap_or(&[]) {
        let vname = m.get("name").and_then(Node::as_text).unwrap_or("");
        let target = m
            .get("mountPath")
            .and_then(Node::as_text)
            .ok_or_else(|| at(m.pos, "volumeMounts entries need a mountPath".into()))?;
        let read_only = m.get("readOnly").and_then(Node::as_bool).unwrap_or(false);
        let Some(v) = volumes
            .iter()
            .find(|v| v.get("name").and_then(Node::as_text) == Some(vname))
        else {
            return Err(at(
                m.pos,
                format!("volumeMounts names '{vname}', which is not a volume of the pod"),
            ));
        };
        let kind = if let Some(e) = v.get("emptyDir") {
            MountKind::Tmpfs {
                options: e
                    .get("sizeLimit")
                    .and_then(Node::as_text)
                    .and_then(docker_size)
                    .map(|s| format!("size={s}"))
                    .unwrap_or_default(),
            }
        } else if let Some(h) = v.get("hostPath") {
            let p = h
                .get("path")
                .and_then(Node::as_text)
                .ok_or_else(|| at(h.pos, "hostPath needs a path".into()))?;
            MountKind::Bind {
                source: host_path(file, p),
            }
        } else {
            if v.get("persistentVolumeClaim").is_none() {
                notes.push(format!(
                    "volume '{vname}' at {target} is mounted as a fresh empty volume (dropcap does not read the cluster)"
                ));
            }
            MountKind::Volume {
                name: vname.to_string(),
            }
        };
        spec.mounts.push(Mount {
            target: target.to_string(),
            read_only,
            kind,
        });
    }
    let probe_ = probe::kubernetes_probe(c, &|key, pos| format!("{key} at {}", loc(file, pos)))
        .map_err(|(p, m)| at(p, m))?;
    Ok(Defined {
        spec,
        probe: probe_,
        definition: Definition {
            file: file.to_path_buf(),
            service: None,
            kind: Some(kind.to_string()),
            name: Some(oname.to_string()),
            container: Some(cname.to_string()),
            line: Some(c.pos.line),
        },
        location: loc(file, c.pos),
        missing_env: missing,
        dependencies: Vec::new(),
        notes,
        last_line: last_line(c),
    })
}

fn argv(file: &Path, c: &Node, key: &str) -> Result<Option<Vec<String>>, DefinitionError> {
    let Some(v) = c.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    v.items()
        .iter()
        .map(|i| i.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .filter(|_| v.is_seq())
        .map(Some)
        .ok_or_else(|| DefinitionError::at(file, v.pos, format!("{key} must be a list of strings")))
}

/// `64Mi` → `64m`: Kubernetes quantities as `docker run --tmpfs size=`.
fn docker_size(q: &str) -> Option<String> {
    let q = q.trim();
    let digits = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (n, unit) = q.split_at(digits);
    if n.is_empty() {
        return None;
    }
    let u = match unit {
        "" => "",
        "Ki" | "k" => "k",
        "Mi" | "M" => "m",
        "Gi" | "G" => "g",
        _ => return None,
    };
    Some(format!("{n}{u}"))
}

#[cfg(test)]
mod tests {
    use super::super::{read, Select};
    use crate::profile::spec::{MountKind, ProbeAction};

    const MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext: {runAsUser: 101, runAsGroup: 102, sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: '0'}]}
      volumes:
      - {name: scratch, emptyDir: {sizeLimit: 64Mi}}
      - {name: site, hostPath: {path: /srv/site}}
      - {name: conf, configMap: {name: web-conf}}
      containers:
      - name: nginx
        image: nginx:dc
        command: [nginx]
        args: [-g, daemon off;]
        workingDir: /etc/nginx
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: MODE, value: prod}
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: s, key: t}}
        securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsUser: 0}
        volumeMounts:
        - {name: scratch, mountPath: /tmp}
        - {name: site, mountPath: /usr/share/nginx/html, readOnly: true}
        - {name: conf, mountPath: /etc/nginx/conf.d}
        readinessProbe: {httpGet: {path: /, port: http}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers:
      - name: nginx
        image: other:1
      - name: db
        image: busybox:dc
        livenessProbe: {exec: {command: [cat, /tmp/ok]}, periodSeconds: 1}
";

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.yaml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    fn sel(name: &str, w: Option<&str>) -> Select {
        Select::Container {
            name: name.into(),
            workload: w.map(str::to_string),
        }
    }

    #[test]
    fn references_in_env_command_and_args_are_expanded_as_the_kubelet_does() {
        let (_d, f) = file(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: busybox:dc\n    command: [sh, -c]\n    args: ['echo $(URL) $$(HOST) && sleep $(SECS)']\n    env:\n    - {name: HOST, value: db}\n    - {name: URL, value: 'http://$(HOST)/'}\n    - {name: SECS, valueFrom: {configMapKeyRef: {name: c, key: k}}}\n",
        );
        let d = read(&f, &sel("app", None), &[("SECS".into(), "30".into())]).unwrap();
        assert_eq!(
            d.spec.cmd,
            Some(vec!["echo http://db/ $(HOST) && sleep 30".to_string()])
        );
        assert_eq!(d.spec.env[1], ("URL".to_string(), "http://db/".to_string()));
        // Without --env the reference stays as written, as the kubelet leaves it.
        let d = read(&f, &sel("app", None), &[]).unwrap();
        assert_eq!(
            d.spec.cmd,
            Some(vec!["echo http://db/ $(HOST) && sleep $(SECS)".to_string()])
        );
    }

    #[test]
    fn a_container_becomes_its_trial_container() {
        let (_d, f) = file(MANIFEST);
        let d = read(&f, &sel("nginx", Some("deployment/web")), &[]).unwrap();
        let s = &d.spec;
        assert_eq!(s.image, "nginx:dc");
        assert_eq!(s.entrypoint, Some(vec!["nginx".to_string()]));
        assert_eq!(s.cmd, Some(vec!["-g".to_string(), "daemon off;".into()]));
        assert_eq!(s.env, [("MODE".to_string(), "prod".to_string())]);
        assert_eq!(d.missing_env, ["TOKEN"]);
        assert_eq!(s.working_dir.as_deref(), Some("/etc/nginx"));
        assert_eq!(
            s.user.as_deref(),
            Some("0:102"),
            "container runAsUser over the pod's"
        );
        assert!(s.read_only && s.no_new_privileges);
        assert_eq!(
            s.sysctls,
            [(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "0".to_string()
            )]
        );
        assert_eq!(
            s.mounts[0].kind,
            MountKind::Tmpfs {
                options: "size=64m".into()
            }
        );
        assert_eq!(
            s.mounts[1].kind,
            MountKind::Bind {
                source: "/srv/site".into()
            }
        );
        assert!(s.mounts[1].read_only);
        assert_eq!(
            s.mounts[2].kind,
            MountKind::Volume {
                name: "conf".into()
            }
        );
        assert!(
            d.notes.iter().any(|n| n.contains("fresh empty volume")),
            "{:?}",
            d.notes
        );
        let p = d.probe.unwrap();
        assert!(
            matches!(p.action, ProbeAction::Http { port: 8080, .. }),
            "{p:?}"
        );
        assert!(
            p.source.starts_with("readinessProbe at ") && p.source.ends_with("app.yaml:28:9"),
            "{}",
            p.source
        );
        assert_eq!((d.location.line, d.location.column), (13, 9));
        assert_eq!(d.definition.kind.as_deref(), Some("Deployment"));
        assert_eq!(d.definition.name.as_deref(), Some("web"));
        // --env supplies what valueFrom would have.
        let d = read(
            &f,
            &sel("nginx", Some("Deployment/web")),
            &[("TOKEN".into(), "t".into())],
        )
        .unwrap();
        assert!(d.missing_env.is_empty());
        let d = read(&f, &sel("db", None), &[]).unwrap();
        assert_eq!(
            d.probe.unwrap().action,
            ProbeAction::Exec(vec!["cat".into(), "/tmp/ok".into()])
        );
        assert_eq!(d.spec.user, None);
    }

    #[test]
    fn ambiguous_and_missing_containers_are_named() {
        let (_d, f) = file(MANIFEST);
        let e = read(&f, &sel("nginx", None), &[]).unwrap_err().to_string();
        assert!(e.ends_with("app.yaml: error: container 'nginx' is in Deployment/web, StatefulSet/db: choose one with --workload KIND/NAME"), "{e}");
        let e = read(&f, &sel("redis", None), &[]).unwrap_err().to_string();
        assert!(e.contains("no container 'redis' (containers: Deployment/web:nginx, StatefulSet/db:nginx, StatefulSet/db:db)"), "{e}");
        let e = read(&f, &sel("db", Some("Deployment/web")), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no container 'db' in Deployment/web"), "{e}");
        let e = read(&f, &Select::Service("web".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is a Kubernetes manifest: select with --container"),
            "{e}"
        );
    }

    #[test]
    fn pods_tcp_probes_and_json() {
        let (_d, f) = file(
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cache"},
  "spec": {"containers": [{"name": "redis", "image": "busybox:dc",
    "livenessProbe": {"tcpSocket": {"port": 6379}, "timeoutSeconds": 2}}]}}"#,
        );
        let d = read(&f, &sel("redis", None), &[]).unwrap();
        let p = d.probe.unwrap();
        assert_eq!(p.action, ProbeAction::Tcp { port: 6379 });
        assert_eq!(p.timeout, std::time::Duration::from_secs(2));
        assert_eq!(d.definition.kind.as_deref(), Some("Pod"));
    }

    #[test]
    fn broken_definitions_are_located() {
        let (_d, f) = file("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    volumeMounts: [{name: nope, mountPath: /x}]\n");
        let e = read(&f, &sel("c", None), &[]).unwrap_err().to_string();
        assert!(
            e.contains("app.yaml:8:20: error: volumeMounts names 'nope'"),
            "{e}"
        );
        let (_d, f) = file("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: maybe}\n");
        let e = read(&f, &sel("c", None), &[]).unwrap_err().to_string();
        assert!(e.contains("app.yaml:8:35: error:"), "{e}");
    }
}
