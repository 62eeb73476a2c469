//! Kubernetes manifests: one [`Workload`] per container (regular, init and ephemeral) of every
//! pod-bearing object, from plain YAML, multi-document Helm output, `List` objects and
//! `kubectl get -o yaml|json`. Unknown kinds are skipped quietly: a chart also holds Services
//! and ConfigMaps, which have nothing to audit.
//!
//! Pod-level `securityContext` has no `capabilities`, `privileged` or
//! `allowPrivilegeEscalation`; it does carry `sysctls` and `runAsUser`/`runAsGroup`, which
//! containers inherit unless they set their own.

use super::tree::Node;
use super::{suppress, Ctx, Loaded, SourceError};
use crate::workload::{CapEntry, Runtime, Setting, SourceKind, Suppression, Syntax, Workload};
use std::collections::HashMap;

/// Annotation (and compose label) holding suppressions: `DC001,DC003 reason`. The form
/// `dropcap.io/ignore.<container>` applies to one container only.
pub const IGNORE_ANNOTATION: &str = "dropcap.io/ignore";

/// `List` objects inside `List` objects are not something kubectl produces; a small bound
/// keeps a hostile file from recursing.
const MAX_LIST_DEPTH: usize = 4;

pub fn read(ctx: &Ctx, root: &Node, out: &mut Loaded) {
    if root.is_seq() {
        for item in root.items() {
            object(ctx, item, out, 0);
        }
    } else {
        object(ctx, root, out, 0);
    }
}

/// One item of a `List` that is read item by item (see `list_stream`).
pub(crate) fn list_item(ctx: &Ctx, item: &Node, out: &mut Loaded) {
    object(ctx, item, out, 1);
}

fn object(ctx: &Ctx, obj: &Node, out: &mut Loaded, depth: usize) {
    let Some(kind) = obj.get("kind").and_then(Node::as_text) else {
        return;
    };
    if kind == "List" || kind.ends_with("List") {
        if depth < MAX_LIST_DEPTH {
            if let Some(items) = obj.get("items") {
                for item in items.items() {
                    object(ctx, item, out, depth + 1);
                }
            }
        }
        return;
    }
    let template = match template_path(kind, obj) {
        Some((path, true)) => path,
        Some((path, false)) => {
            out.notes.push(format!(
                "{}: note: {kind} is not a kind dropcap knows; audited the pod template at its spec.template.spec",
                ctx.loc(obj.pos)
            ));
            path
        }
        None => {
            out.skipped.push(format!(
                "{}: skipped: kind {kind} has no pod template",
                ctx.loc(obj.pos)
            ));
            return;
        }
    };
    let (pod, pod_meta) = if template.is_empty() {
        (obj.get("spec"), None)
    } else {
        let t = obj.path(template);
        (
            t.and_then(|t| t.get("spec")),
            t.and_then(|t| t.get("metadata")),
        )
    };
    let Some(pod) = pod else { return };
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Node::as_text)
        .unwrap_or("<unnamed>");
    // `kubectl get -A` lists every namespace: the same name in two of them is two workloads.
    let name = match meta
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_text)
    {
        Some(ns) => format!("{ns}/{kind}/{name}"),
        None => format!("{kind}/{name}"),
    };

    // A comment right above the object (`apiVersion:`) applies to all its containers.
    let object_comments = ctx.comments(obj.pos);
    let annotations: Vec<&Node> = [meta, pod_meta]
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("annotations"))
        .collect();
    let ignore = annotation_suppressions(&annotations);

    let mut problems = Vec::new();
    let pod_sc = pod.get("securityContext");
    if let Some(v) = pod_sc {
        super::map_shape("pod securityContext", v, &mut problems);
    }
    let pod_user = pod_sc.and_then(|s| s.get("runAsUser"));
    let pod_group = pod_sc.and_then(|s| s.get("runAsGroup"));
    let host_network = pod
        .get("hostNetwork")
        .and_then(Node::as_bool)
        .unwrap_or(false);

    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(containers) = pod.get(list) else {
            continue;
        };
        if !containers.is_null() && !containers.is_seq() {
            problems.push((
                containers.pos,
                format!("{list} must be a list of containers"),
            ));
        }
        for c in containers.items() {
            if !c.is_map() {
                problems.push((c.pos, format!("{list} entries must be containers (maps)")));
                continue;
            }
            if !ctx.room(out, c.pos) {
                break;
            }
            let cname = c.get("name").and_then(Node::as_text).unwrap_or("<unnamed>");
            let mut w = Workload::new(
                name.clone(),
                SourceKind::Kubernetes,
                Runtime::Containerd,
                Syntax::Kubernetes,
            );
            w.container = Some(cname.to_string());
            w.image = c.get("image").and_then(Node::as_text).map(str::to_string);
            w.location = Some(ctx.loc(c.pos));
            w.host_network = host_network;

            let sc_entry = c.get_entry("securityContext");
            w.context_location = sc_entry.map(|(k, _)| ctx.loc(k.pos));
            let sc = sc_entry.map(|(_, v)| v);
            if let Some(v) = sc {
                super::map_shape("securityContext", v, &mut problems);
            }
            if let Some((ck, caps)) = sc.and_then(|s| s.get_entry("capabilities")) {
                w.has_caps_block = !caps.is_null();
                w.caps_location = Some(ctx.loc(ck.pos));
                w.cap_add = cap_entries(ctx, caps.get("add"));
                w.cap_drop = cap_entries(ctx, caps.get("drop"));
                super::map_shape("securityContext.capabilities", caps, &mut problems);
                super::duplicate_keys(caps, &mut problems);
                for (key, label) in [("add", "capabilities.add"), ("drop", "capabilities.drop")] {
                    if let Some(v) = caps.get(key) {
                        super::list_shape(label, v, &mut problems);
                    }
                }
            }
            if let Some((pk, pv)) = sc.and_then(|s| s.get_entry("privileged")) {
                if let Some(b) = pv.as_bool() {
                    w.privileged = Setting {
                        value: b,
                        location: Some(ctx.loc(pk.pos)),
                    };
                }
                super::bool_shape("securityContext.privileged", pv, &mut problems);
            }
            if let Some((ak, av)) = sc.and_then(|s| s.get_entry("allowPrivilegeEscalation")) {
                w.no_new_privileges = av.as_bool().map(|allow| Setting {
                    value: !allow,
                    location: Some(ctx.loc(ak.pos)),
                });
                super::bool_shape(
                    "securityContext.allowPrivilegeEscalation",
                    av,
                    &mut problems,
                );
            }
            w.run_as_non_root = sc
                .and_then(|s| s.get("runAsNonRoot"))
                .or(pod_sc.and_then(|s| s.get("runAsNonRoot")))
                .and_then(Node::as_bool)
                .unwrap_or(false);
            let uid = sc.and_then(|s| s.get("runAsUser")).or(pod_user);
            let gid = sc.and_then(|s| s.get("runAsGroup")).or(pod_group);
            w.user = match (uid.and_then(Node::as_text), gid.and_then(Node::as_text)) {
                (Some(u), Some(g)) => Some(format!("{u}:{g}")),
                (Some(u), None) => Some(u.to_string()),
                _ => None,
            };
            if let Some(sysctls) = pod_sc.and_then(|s| s.get("sysctls")) {
                for item in sysctls.items() {
                    let Some(key) = item.get("name").and_then(Node::as_text) else {
                        continue;
                    };
                    let value = item.get("value").and_then(Node::as_text).unwrap_or("");
                    w.sysctls.insert(
                        key.to_string(),
                        Setting {
                            value: value.to_string(),
                            location: Some(ctx.loc(item.pos)),
                        },
                    );
                }
            }
            w.suppressions = ctx.comments(c.pos);
            w.suppressions.extend(object_comments.iter().cloned());
            w.suppressions.extend(ignore.all.iter().cloned());
            if let Some(own) = ignore.per_container.get(cname) {
                w.suppressions.extend(own.iter().cloned());
            }
            out.workloads.push(w);
        }
    }
    if let Some(sysctls) = pod_sc.and_then(|s| s.get("sysctls")) {
        if !sysctls.is_null() && !sysctls.is_seq() {
            problems.push((
                sysctls.pos,
                "securityContext.sysctls must be a list of {name, value}".to_string(),
            ));
        }
    }
    problems.sort_by_key(|(pos, _)| (pos.line, pos.col));
    for (pos, message) in problems {
        out.errors.push(SourceError::at(ctx.file, pos, message));
    }
}

/// Where an object of `kind` keeps its pod template (empty: the object is a Pod), and whether
/// the kind is one dropcap knows (`false`: a custom resource with a Deployment-like
/// `spec.template.spec.containers`). `None`: the kind runs no containers.
pub(crate) fn template_path(kind: &str, obj: &Node) -> Option<(&'static [&'static str], bool)> {
    match kind {
        "Pod" => Some((&[], true)),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some((&["spec", "template"], true)),
        // OpenShift's DeploymentConfig has the same pod template as a Deployment.
        "DeploymentConfig" => Some((&["spec", "template"], true)),
        "CronJob" => Some((&["spec", "jobTemplate", "spec", "template"], true)),
        "PodTemplate" => Some((&["template"], true)),
        // Argo Rollouts, Knative Services and other custom resources that embed a pod
        // template where a Deployment has it: their containers run like a Deployment's.
        _ if obj
            .path(&["spec", "template", "spec"])
            .is_some_and(|p| p.get("containers").is_some()) =>
        {
            Some((&["spec", "template"], false))
        }
        _ => None,
    }
}

fn cap_entries(ctx: &Ctx, list: Option<&Node>) -> Vec<CapEntry> {
    let items = list.map(Node::items).unwrap_or(&[]);
    let mut entries = ctx.cap_entries(items.iter().filter_map(|n| Some((n.as_text()?, n.pos))));
    for e in &mut entries {
        e.cri_prefixed = e.caps.is_some()
            && e.raw
                .trim()
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("cap_"));
    }
    entries
}

/// Suppressions from annotations, read once per object (not once per container: a hostile
/// object with many annotations and many containers must stay linear).
#[derive(Default)]
struct Ignore {
    all: Vec<Suppression>,
    per_container: HashMap<String, Vec<Suppression>>,
}

fn annotation_suppressions(annotations: &[&Node]) -> Ignore {
    let mut out = Ignore::default();
    for a in annotations {
        for (k, v) in a.entries() {
            let Some(rest) = k.as_str().and_then(|k| k.strip_prefix(IGNORE_ANNOTATION)) else {
                continue;
            };
            let value = suppress::parse_value(v.as_text().unwrap_or(""));
            if rest.is_empty() {
                out.all.extend(value);
            } else if let Some(c) = rest.strip_prefix('.') {
                out.per_container
                    .entry(c.to_string())
                    .or_default()
                    .extend(value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::sources::load_text;
    use std::path::Path;

    #[test]
    fn wrong_shapes_are_errors_in_line_order() {
        let text = "\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: x
  containers:
  - name: a
    securityContext:
      allowPrivilegeEscalation: maybe
      capabilities: [NET_ADMIN]
  - name: b
    securityContext: 5
  - c
";
        let l = load_text(Path::new("p.yaml"), text);
        let got: Vec<_> = l
            .errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.line.unwrap(), e.column.unwrap(), e.message))
            .collect();
        assert_eq!(
            got,
            [
                "5:20: pod securityContext must be a map",
                "9:33: securityContext.allowPrivilegeEscalation must be true or false",
                "10:21: securityContext.capabilities must be a map",
                "12:22: securityContext must be a map",
                "13:5: containers entries must be containers (maps)",
            ]
        );
        // The well-formed parts are still audited.
        assert_eq!(l.workloads.len(), 2);
    }

    #[test]
    fn deployment_containers_and_contexts() {
        let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    dropcap.io/ignore.sidecar: DC002 needs it
spec:
  template:
    spec:
      hostNetwork: true
      securityContext:
        runAsUser: 1000
        sysctls:
        - name: net.ipv4.ping_group_range
          value: \"0 65535\"
      initContainers:
      - name: init
        image: busybox
      containers:
      - name: app # dropcap:ignore DC001 pings
        image: app:1
        securityContext:
          allowPrivilegeEscalation: false
          runAsGroup: 3000
          capabilities:
            drop: [\"ALL\"]
            add:
            - NET_BIND_SERVICE
      - name: sidecar
        securityContext:
          privileged: true
---
apiVersion: v1
kind: Service
metadata: {name: web}
";
        let l = load_text(Path::new("d.yaml"), text);
        assert!(l.errors.is_empty());
        let names: Vec<_> = l
            .workloads
            .iter()
            .map(|w| (w.name.as_str(), w.container.as_deref().unwrap()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Deployment/web", "init"),
                ("Deployment/web", "app"),
                ("Deployment/web", "sidecar")
            ]
        );
        let init = &l.workloads[0];
        assert!(!init.has_caps_block);
        assert_eq!(init.user.as_deref(), Some("1000"));
        assert!(init.host_network);
        let app = &l.workloads[1];
        assert_eq!(app.location.as_ref().unwrap().line, 20);
        assert_eq!(app.location.as_ref().unwrap().column, 9);
        assert!(app.has_caps_block);
        assert_eq!(app.caps_location.as_ref().unwrap().line, 25);
        assert_eq!(app.cap_drop[0].raw, "ALL");
        assert_eq!(app.cap_drop[0].location.as_ref().unwrap().column, 20);
        assert_eq!(app.cap_add[0].location.as_ref().unwrap().line, 28);
        assert!(app.no_new_privileges.as_ref().unwrap().value);
        assert_eq!(app.user.as_deref(), Some("1000:3000"));
        assert_eq!(app.sysctls["net.ipv4.ping_group_range"].value, "0 65535");
        assert_eq!(app.suppressions.len(), 1);
        let side = &l.workloads[2];
        assert!(side.privileged.value);
        assert_eq!(side.privileged.location.as_ref().unwrap().line, 31);
        assert_eq!(side.suppressions[0].rule, "DC002");
    }

    #[test]
    fn comment_above_the_object_applies_to_every_container() {
        let text = "# Source: chart/job.yaml\n# dropcap:ignore DC008 short-lived job\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n      - name: b\n";
        let l = load_text(Path::new("j.yaml"), text);
        assert_eq!(l.workloads.len(), 2);
        for w in &l.workloads {
            assert_eq!(w.suppressions.len(), 1);
            assert_eq!(w.suppressions[0].rule, "DC008");
            assert_eq!(&*w.suppressions[0].reason, "short-lived job");
        }
    }

    #[test]
    fn lists_cronjobs_and_json() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup"},
   "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
     {"name": "b", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}}}}}},
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
   "spec": {"containers": [{"name": "c"}], "ephemeralContainers": [{"name": "debug"}]}},
  {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
   "template": {"spec": {"containers": [{"name": "x"}]}}},
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
]}"#;
        let l = load_text(Path::new("l.json"), text);
        let got: Vec<_> = l
            .workloads
            .iter()
            .map(|w| format!("{}:{}", w.name, w.container.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                "CronJob/backup:b",
                "Pod/p:c",
                "Pod/p:debug",
                "PodTemplate/t:x"
            ]
        );
        let add = &l.workloads[0].cap_add[0];
        assert_eq!(add.raw, "SYS_ADMIN");
        let loc = add.location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (4, 65));
    }

    #[test]
    fn wrongly_shaped_capabilities_are_errors_not_silence() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    securityContext:\n      privileged: \"yes\"\n      capabilities:\n        add: SYS_ADMIN\n        drop: [{all: true}]\n";
        let l = load_text(Path::new("k.yaml"), text);
        let errs: Vec<String> = l.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errs,
            [
                "k.yaml:8:19: error: securityContext.privileged must be true or false",
                "k.yaml:10:14: error: capabilities.add must be a list of capability names",
                "k.yaml:11:16: error: capabilities.drop entries must be capability names",
            ]
        );
        assert_eq!(l.workloads.len(), 1, "the container is still audited");
    }
}
