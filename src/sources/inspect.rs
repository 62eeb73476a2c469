//! Saved `docker inspect` (or `podman inspect`) output: an array of inspect objects, or one.
//!
//! Docker writes `CapAdd`/`CapDrop` with the `CAP_` prefix and `null` when unset; Podman drops
//! the prefix and adds `EffectiveCaps`, which is how its runtime is told apart (its default
//! set is smaller).

use super::tree::Node;
use super::{Ctx, Loaded, SourceError};
use crate::workload::{CapEntry, Runtime, Setting, SourceKind, Syntax, Workload};

pub fn read(ctx: &Ctx, root: &Node, out: &mut Loaded) {
    if root.is_seq() {
        for item in root.items() {
            if item.get("HostConfig").is_some() {
                container(ctx, item, out);
            }
        }
    } else {
        container(ctx, root, out);
    }
}

fn container(ctx: &Ctx, c: &Node, out: &mut Loaded) {
    if !ctx.room(out, c.pos) {
        return;
    }
    // Engine ids are hex; anything else is not an id (and would be cut mid-character by
    // reporters that shorten ids to 12 bytes).
    let id = c
        .get("Id")
        .and_then(Node::as_text)
        .filter(|i| i.bytes().all(|b| b.is_ascii_alphanumeric()));
    let short_id: Option<String> = id.map(|i| i.chars().take(12).collect());
    let name = c
        .get("Name")
        .and_then(Node::as_text)
        .map(|n| n.trim_start_matches('/'))
        .filter(|n| !n.is_empty())
        .or(short_id.as_deref())
        .unwrap_or("<unnamed>");
    let runtime = if c.get("EffectiveCaps").is_some() || c.get("OCIRuntime").is_some() {
        Runtime::Podman
    } else {
        Runtime::Docker
    };
    let mut w = Workload::new(name, SourceKind::DockerInspect, runtime, Syntax::Docker);
    w.id = id.map(str::to_string);
    w.image = c
        .path(&["Config", "Image"])
        .and_then(Node::as_text)
        .map(str::to_string);
    w.location = Some(ctx.loc(c.pos));
    w.running = c.path(&["State", "Running"]).and_then(Node::as_bool);
    w.user = c
        .path(&["Config", "User"])
        .and_then(Node::as_text)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    if let Some(hc) = c.get("HostConfig") {
        let mut problems = Vec::new();
        shape(hc, &mut problems);
        for (pos, message) in problems {
            out.errors.push(SourceError::at(ctx.file, pos, message));
        }
        if let Some((k, v)) = hc.get_entry("CapAdd") {
            w.caps_location = Some(ctx.loc(k.pos));
            w.cap_add = entries(ctx, v);
        }
        if let Some((k, v)) = hc.get_entry("CapDrop") {
            w.caps_location = w.caps_location.take().or(Some(ctx.loc(k.pos)));
            w.cap_drop = entries(ctx, v);
        }
        if let Some((k, v)) = hc.get_entry("Privileged") {
            w.privileged = Setting {
                value: v.as_bool().unwrap_or(false),
                location: Some(ctx.loc(k.pos)),
            };
        }
        for opt in hc.get("SecurityOpt").map(Node::items).unwrap_or(&[]) {
            let Some(o) = opt.as_text() else { continue };
            if let Some(rest) = o.strip_prefix("no-new-privileges") {
                let v = matches!(rest.trim_start_matches([':', '=']), "" | "true");
                w.no_new_privileges = Some(Setting {
                    value: v,
                    location: Some(ctx.loc(opt.pos)),
                });
            }
        }
        if let Some(sysctls) = hc.get("Sysctls") {
            for (k, v) in sysctls.entries() {
                if let Some(key) = k.as_str() {
                    w.sysctls.insert(
                        key.to_string(),
                        Setting {
                            value: v.as_text().unwrap_or("").to_string(),
                            location: Some(ctx.loc(k.pos)),
                        },
                    );
                }
            }
        }
        w.host_network = hc.get("NetworkMode").and_then(Node::as_text) == Some("host");
    }
    w.suppressions = ctx.comments(c.pos);
    out.workloads.push(w);
}

/// The engine writes lists and booleans; an edited or hand-made file that writes
/// `"CapAdd": "NET_ADMIN"` must be an error, not a container that silently adds nothing.
fn shape(hc: &Node, problems: &mut Vec<(super::tree::Pos, String)>) {
    super::duplicate_keys(hc, problems);
    for key in ["CapAdd", "CapDrop"] {
        if let Some(v) = hc.get(key) {
            super::list_shape(key, v, problems);
        }
    }
    if let Some(v) = hc.get("SecurityOpt") {
        super::list_of(
            "SecurityOpt",
            "strings (like no-new-privileges)",
            v,
            problems,
        );
    }
    if let Some(v) = hc.get("Privileged") {
        super::bool_shape("Privileged", v, problems);
    }
    if let Some(v) = hc.get("Sysctls") {
        if !v.is_null() && !v.is_map() {
            problems.push((
                v.pos,
                "Sysctls must be a map of names to values".to_string(),
            ));
        }
    }
}

fn entries(ctx: &Ctx, list: &Node) -> Vec<CapEntry> {
    ctx.cap_entries(
        list.items()
            .iter()
            .filter_map(|n| Some((n.as_text()?, n.pos))),
    )
}

#[cfg(test)]
mod tests {
    use crate::sources::load_text;
    use crate::workload::Runtime;
    use std::path::Path;

    #[test]
    fn odd_ids_are_not_ids() {
        let l = load_text(
            Path::new("i.json"),
            r#"[{"Id": "aééééééééééé", "HostConfig": {}}]"#,
        );
        assert_eq!(l.workloads[0].name, "<unnamed>");
        assert_eq!(l.workloads[0].id, None);
    }

    #[test]
    fn wrong_shapes_are_errors_with_positions() {
        let l = load_text(
            Path::new("i.json"),
            "[{\"Id\": \"ab\",\n \"HostConfig\": {\"CapAdd\": \"NET_ADMIN\",\n  \"Privileged\": \"yes\", \"CapDrop\": [{}]}}]",
        );
        let got: Vec<_> = l
            .errors
            .iter()
            .map(|e| (e.line, e.column, e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some(2),
                    Some(27),
                    "CapAdd must be a list of capability names"
                ),
                (
                    Some(3),
                    Some(36),
                    "CapDrop entries must be capability names"
                ),
                (Some(3), Some(17), "Privileged must be true or false"),
            ]
        );
        // The container is still audited with what could be read.
        assert_eq!(l.workloads.len(), 1);
    }

    #[test]
    fn security_opt_shape_error_names_what_it_holds() {
        let l = load_text(
            Path::new("i.json"),
            "[{\"Id\": \"ab\", \"HostConfig\": {\"SecurityOpt\": [1, {}]}}]",
        );
        assert_eq!(
            l.errors[0].message,
            "SecurityOpt entries must be strings (like no-new-privileges)"
        );
    }

    #[test]
    fn docker_inspect_array() {
        let text = r#"[
  {
    "Id": "0123456789abcdef",
    "Name": "/web",
    "State": {"Running": true},
    "Config": {"User": "", "Image": "nginx:1"},
    "HostConfig": {
      "CapAdd": ["CAP_NET_ADMIN"],
      "CapDrop": null,
      "Privileged": false,
      "SecurityOpt": ["no-new-privileges:true"],
      "Sysctls": {"net.ipv4.ping_group_range": "0 0"},
      "NetworkMode": "host"
    }
  }
]"#;
        let l = load_text(Path::new("i.json"), text);
        assert!(l.errors.is_empty());
        let w = &l.workloads[0];
        assert_eq!(w.name, "web");
        assert_eq!(w.runtime, Runtime::Docker);
        assert_eq!(w.location.as_ref().unwrap().line, 2);
        assert_eq!(w.cap_add[0].raw, "CAP_NET_ADMIN");
        assert!(w.cap_add[0].caps.is_some());
        let loc = w.cap_add[0].location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (8, 18));
        assert!(w.cap_drop.is_empty());
        assert!(w.user.is_none());
        assert!(w.no_new_privileges.as_ref().unwrap().value);
        assert_eq!(w.sysctls["net.ipv4.ping_group_range"].value, "0 0");
        assert!(w.host_network);
        assert_eq!(w.running, Some(true));
    }
}
