//! Compose files: every service (profiles hide nothing from an audit), `cap_add`, `cap_drop`,
//! `privileged`, `user`, `security_opt`, `sysctls` (map and list forms), `network_mode`,
//! anchors and merge keys (done by the tree), and `extends` within the same file.

use super::tree::{Node, Pos};
use super::{suppress, Ctx, Loaded, SourceError};
use crate::workload::{CapEntry, Runtime, Setting, SourceKind, Suppression, Syntax, Workload};
use std::collections::{BTreeMap, HashMap};

/// Longer `extends` chains are refused as a cycle or a mistake.
const MAX_EXTENDS: usize = 16;

/// What one service block says, before `extends` is applied. Every value keeps the position it
/// was written at, so an inherited `cap_add` entry still points at the base service's line.
#[derive(Default, Clone)]
struct Spec {
    image: Option<String>,
    cap_add: Vec<(String, Pos)>,
    cap_drop: Vec<(String, Pos)>,
    caps_key: Option<Pos>,
    privileged: Option<(bool, Pos)>,
    user: Option<String>,
    no_new_privileges: Option<(bool, Pos)>,
    sysctls: BTreeMap<String, (String, Pos)>,
    host_network: Option<bool>,
    suppressions: Vec<Suppression>,
    extends: Option<(String, Pos)>,
}

pub fn read(ctx: &Ctx, root: &Node, out: &mut Loaded) {
    let Some(services) = root.get("services") else {
        return;
    };
    let entries = services.entries();
    let specs: Vec<(&str, &Node, Spec)> = entries
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?, *k, spec(ctx, k, v))))
        .collect();
    // By name, so resolving `extends` stays linear even in a hostile file with a million
    // services (names are unique: `entries` keeps one value per key).
    let mut by_name: HashMap<&str, &Spec> = HashMap::with_capacity(specs.len());
    for (name, _, spec) in &specs {
        by_name.entry(name).or_insert(spec);
    }
    for (name, key, own) in &specs {
        let resolved = match resolve(ctx, own, &by_name, 0) {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(e);
                continue;
            }
        };
        out.workloads.push(workload(ctx, name, key, resolved));
    }
}

fn workload(ctx: &Ctx, name: &str, key: &Node, s: Spec) -> Workload {
    let mut w = Workload::new(name, SourceKind::Compose, Runtime::Docker, Syntax::Compose);
    w.image = s.image;
    w.location = Some(ctx.loc(key.pos));
    w.caps_location = s.caps_key.map(|p| ctx.loc(p));
    w.cap_add = entries(ctx, &s.cap_add);
    w.cap_drop = entries(ctx, &s.cap_drop);
    if let Some((v, p)) = s.privileged {
        w.privileged = Setting {
            value: v,
            location: Some(ctx.loc(p)),
        };
    }
    w.user = s.user;
    w.no_new_privileges = s.no_new_privileges.map(|(v, p)| Setting {
        value: v,
        location: Some(ctx.loc(p)),
    });
    w.sysctls = s
        .sysctls
        .into_iter()
        .map(|(k, (v, p))| {
            (
                k,
                Setting {
                    value: v,
                    location: Some(ctx.loc(p)),
                },
            )
        })
        .collect();
    w.host_network = s.host_network.unwrap_or(false);
    w.suppressions = s.suppressions;
    w
}

fn entries(ctx: &Ctx, list: &[(String, Pos)]) -> Vec<CapEntry> {
    list.iter()
        .map(|(raw, p)| CapEntry::new(raw, Some(ctx.loc(*p))))
        .collect()
}

/// Applies `extends` the way compose merges: lists like `cap_add` are unions, mappings like
/// `sysctls` merge with the service's own keys winning, scalars are overridden.
fn resolve(
    ctx: &Ctx,
    own: &Spec,
    specs: &HashMap<&str, &Spec>,
    depth: usize,
) -> Result<Spec, SourceError> {
    let Some((base_name, pos)) = &own.extends else {
        return Ok(own.clone());
    };
    if depth >= MAX_EXTENDS {
        return Err(SourceError::at(
            ctx.file,
            *pos,
            format!("`extends` chain longer than {MAX_EXTENDS} services (a cycle?)"),
        ));
    }
    let Some(base) = specs.get(base_name.as_str()) else {
        return Err(SourceError::at(
            ctx.file,
            *pos,
            format!("`extends` names service `{base_name}`, which this file does not define"),
        ));
    };
    let base = resolve(ctx, base, specs, depth + 1)?;
    let mut s = own.clone();
    s.image = s.image.or(base.image);
    s.cap_add = union(base.cap_add, s.cap_add);
    s.cap_drop = union(base.cap_drop, s.cap_drop);
    s.caps_key = s.caps_key.or(base.caps_key);
    s.privileged = s.privileged.or(base.privileged);
    s.user = s.user.or(base.user);
    s.no_new_privileges = s.no_new_privileges.or(base.no_new_privileges);
    for (k, v) in base.sysctls {
        s.sysctls.entry(k).or_insert(v);
    }
    s.host_network = s.host_network.or(base.host_network);
    // A suppression on the base applies to what the base contributes, i.e. to the service.
    s.suppressions.extend(base.suppressions);
    Ok(s)
}

fn union(base: Vec<(String, Pos)>, own: Vec<(String, Pos)>) -> Vec<(String, Pos)> {
    let mut seen: std::collections::HashSet<String> =
        base.iter().map(|(r, _)| r.to_ascii_uppercase()).collect();
    let mut out = base;
    for e in own {
        if seen.insert(e.0.to_ascii_uppercase()) {
            out.push(e);
        }
    }
    out
}

fn spec(ctx: &Ctx, key: &Node, svc: &Node) -> Spec {
    // Comments on the service key; they travel with `extends` like everything else.
    let mut s = Spec {
        suppressions: ctx.comments(key.pos),
        ..Spec::default()
    };
    for (k, v) in svc.entries() {
        let Some(name) = k.as_str() else { continue };
        match name {
            "image" => s.image = v.as_text().map(str::to_string),
            "cap_add" => {
                s.cap_add = scalars(v);
                s.caps_key = Some(k.pos);
            }
            "cap_drop" => {
                s.cap_drop = scalars(v);
                s.caps_key = s.caps_key.or(Some(k.pos));
            }
            "privileged" => s.privileged = v.as_bool().map(|b| (b, k.pos)),
            "user" => s.user = v.as_text().map(str::to_string),
            "security_opt" => {
                for (opt, p) in scalars(v) {
                    if let Some(b) = no_new_privileges(&opt) {
                        s.no_new_privileges = Some((b, p));
                    }
                }
            }
            "sysctls" => s.sysctls = sysctls(v),
            "network_mode" => s.host_network = v.as_text().map(|m| m == "host"),
            "labels" => s.suppressions.extend(label_suppressions(v)),
            "extends" => s.extends = extends(v),
            _ => {}
        }
    }
    s
}

fn scalars(list: &Node) -> Vec<(String, Pos)> {
    list.items()
        .iter()
        .filter_map(|n| n.as_text().map(|t| (t.to_string(), n.pos)))
        .collect()
}

/// `no-new-privileges`, `no-new-privileges:true`, `no-new-privileges=false`.
fn no_new_privileges(opt: &str) -> Option<bool> {
    let opt = opt.trim();
    let rest = opt.strip_prefix("no-new-privileges")?;
    match rest.trim_start_matches([':', '=']) {
        "" | "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn sysctls(v: &Node) -> BTreeMap<String, (String, Pos)> {
    let mut out = BTreeMap::new();
    if v.is_map() {
        for (k, val) in v.entries() {
            if let Some(key) = k.as_str() {
                let value = val.as_text().unwrap_or("").to_string();
                out.insert(key.to_string(), (value, k.pos));
            }
        }
    } else {
        for (item, pos) in scalars(v) {
            let (k, val) = item.split_once('=').unwrap_or((item.as_str(), ""));
            out.insert(k.trim().to_string(), (val.trim().to_string(), pos));
        }
    }
    out
}

fn label_suppressions(v: &Node) -> Vec<Suppression> {
    let mut out = Vec::new();
    if v.is_map() {
        for (k, val) in v.entries() {
            if k.as_str() == Some(super::kubernetes::IGNORE_ANNOTATION) {
                out.extend(suppress::parse_value(val.as_text().unwrap_or("")));
            }
        }
    } else {
        for (item, _) in scalars(v) {
            if let Some((k, val)) = item.split_once('=') {
                if k.trim() == super::kubernetes::IGNORE_ANNOTATION {
                    out.extend(suppress::parse_value(val));
                }
            }
        }
    }
    out
}

/// `extends: base` or `extends: {service: base}`; another file is not followed.
fn extends(v: &Node) -> Option<(String, Pos)> {
    if let Some(name) = v.as_text() {
        return Some((name.to_string(), v.pos));
    }
    if v.get("file").and_then(Node::as_text).is_some() {
        return None;
    }
    let svc = v.get("service")?;
    Some((svc.as_text()?.to_string(), svc.pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::load_text;
    use std::path::Path;

    fn load(text: &str) -> Loaded {
        load_text(Path::new("c.yaml"), text)
    }

    fn raws(e: &[CapEntry]) -> Vec<(String, u32, u32)> {
        e.iter()
            .map(|e| {
                let l = e.location.as_ref().unwrap();
                (e.raw.clone(), l.line, l.column)
            })
            .collect()
    }

    #[test]
    fn services_caps_and_positions() {
        let l = load(
            "services:\n  web:\n    image: nginx\n    cap_drop: [ALL]\n    cap_add:\n      - NET_BIND_SERVICE\n    privileged: false\n  db:\n    profiles: [debug]\n    cap_add: [CAP_SYS_ADMIN]\n",
        );
        assert!(l.errors.is_empty());
        assert_eq!(l.workloads.len(), 2, "profiles do not hide services");
        let web = &l.workloads[0];
        assert_eq!(web.name, "web");
        assert_eq!(web.location.as_ref().unwrap().line, 2);
        assert_eq!(web.location.as_ref().unwrap().column, 3);
        assert_eq!(raws(&web.cap_drop), vec![("ALL".into(), 4, 16)]);
        assert_eq!(raws(&web.cap_add), vec![("NET_BIND_SERVICE".into(), 6, 9)]);
        assert_eq!(web.caps_location.as_ref().unwrap().line, 5);
        assert!(!web.privileged.value);
        assert_eq!(web.privileged.location.as_ref().unwrap().line, 7);
        assert_eq!(
            raws(&l.workloads[1].cap_add),
            vec![("CAP_SYS_ADMIN".into(), 10, 15)]
        );
        assert_eq!(web.runtime, Runtime::Docker);
        assert_eq!(web.syntax, Syntax::Compose);
    }

    #[test]
    fn anchors_merge_keys_and_extends() {
        let l = load(
            "x-hard: &hard\n  cap_drop: [ALL]\n  security_opt: [\"no-new-privileges:true\"]\nservices:\n  base:\n    <<: *hard\n    user: \"1000:1000\"\n    sysctls:\n      net.ipv4.ping_group_range: \"0 2147483647\"\n  child:\n    extends: base\n    cap_add: [NET_RAW]\n    sysctls:\n      - net.core.somaxconn=1024\n",
        );
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let child = l.workloads.iter().find(|w| w.name == "child").unwrap();
        assert_eq!(raws(&child.cap_drop), vec![("ALL".into(), 2, 14)]);
        assert_eq!(raws(&child.cap_add), vec![("NET_RAW".into(), 12, 15)]);
        assert_eq!(child.user.as_deref(), Some("1000:1000"));
        let nnp = child.no_new_privileges.as_ref().unwrap();
        assert!(nnp.value);
        assert_eq!(nnp.location.as_ref().unwrap().line, 3);
        assert_eq!(child.sysctls.len(), 2);
        assert_eq!(child.sysctls["net.core.somaxconn"].value, "1024");
        assert_eq!(
            child.sysctls["net.ipv4.ping_group_range"].value,
            "0 2147483647"
        );
    }

    #[test]
    fn extends_errors_are_located() {
        let l = load("services:\n  a:\n    extends: {service: nope}\n  b:\n    extends: b\n  c: {image: x}\n");
        assert_eq!(l.workloads.len(), 1);
        assert_eq!(l.errors.len(), 2);
        assert_eq!((l.errors[0].line, l.errors[0].column), (Some(3), Some(24)));
        assert!(l.errors[1].message.contains("cycle"));
    }

    #[test]
    fn suppressions_from_comments_and_labels() {
        let l = load(
            "services:\n  # dropcap:ignore DC001 healthcheck uses ping\n  web:\n    labels:\n      dropcap.io/ignore: DC003 reviewed\n  api:  # dropcap:ignore * legacy\n    network_mode: host\n",
        );
        let web = &l.workloads[0];
        let rules: Vec<&str> = web.suppressions.iter().map(|s| s.rule.as_str()).collect();
        assert_eq!(rules, vec!["DC001", "DC003"]);
        assert_eq!(web.suppressions[0].reason, "healthcheck uses ping");
        assert_eq!(l.workloads[1].suppressions[0].rule, "*");
        assert!(l.workloads[1].host_network);
    }

    #[test]
    fn security_opt_spellings() {
        assert_eq!(no_new_privileges("no-new-privileges"), Some(true));
        assert_eq!(no_new_privileges("no-new-privileges=false"), Some(false));
        assert_eq!(no_new_privileges("seccomp=unconfined"), None);
    }
}
