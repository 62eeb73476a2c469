//! Compose files: every service (profiles hide nothing from an audit), `cap_add`, `cap_drop`,
//! `privileged`, `user`, `security_opt`, `sysctls` (map and list forms), `network_mode`,
//! anchors and merge keys (done by the tree), and `extends`, within the file or from another
//! file (`extends: {file: common.yml, service: base}`, relative to the extending file).

use super::tree::{Node, Pos, MAX_EXPANDED};
use super::{suppress, Ctx, Loaded, SourceError};
use crate::workload::{
    CapEntry, Location, Runtime, Setting, SourceKind, StackIgnored, Suppression, Syntax, Workload,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

// The refusal message below spells the budget out.
const _: () = assert!(MAX_EXPANDED == 5_000_000);

/// Longer `extends` chains are refused as a mistake.
const MAX_EXTENDS: usize = 16;

/// Other files read for `extends`, per audited file: a hostile chain cannot open thousands.
const MAX_EXTENDS_FILES: usize = 64;

/// A position in one of the files a compose file draws on: the file itself is 0, files
/// reached through `extends: {file: ...}` follow in [`Files::paths`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct At {
    file: usize,
    pos: Pos,
}

/// What one service block says, before `extends` is applied. Every value keeps the position it
/// was written at, so an inherited `cap_add` entry still points at the base service's line,
/// in the base's own file.
#[derive(Debug, Default, Clone)]
struct Spec {
    image: Option<String>,
    cap_add: Vec<(String, At)>,
    cap_drop: Vec<(String, At)>,
    caps_key: Option<At>,
    privileged: Option<(bool, At)>,
    user: Option<String>,
    no_new_privileges: Option<(bool, At)>,
    sysctls: BTreeMap<String, (String, At)>,
    host_network: Option<bool>,
    /// The `security_opt` key, when it lists anything (`docker stack deploy` ignores it).
    security_opt_key: Option<At>,
    /// The `deploy` key: the service is written for Swarm too.
    deploy_key: Option<At>,
    suppressions: Vec<Suppression>,
    extends: Option<Extends>,
    /// Values of the wrong shape (`cap_add: ALL`, `privileged: "yes"`): compose refuses them,
    /// and reading them as absent would hide what the author meant.
    problems: Vec<(Pos, String)>,
}

#[derive(Debug, Clone)]
struct Extends {
    service: String,
    /// As written, relative to the extending file.
    file: Option<String>,
    /// The `extends` value, where errors about it are reported.
    at: At,
}

/// The files a compose file's `extends` reach, read once each.
struct Files {
    /// Display path of each file; 0 is the audited file.
    paths: Vec<PathBuf>,
    /// Canonical path → index in `paths`, so `./a.yml` and `a.yml` are one file (and a chain
    /// back into the audited file is recognised).
    index: HashMap<PathBuf, usize>,
    /// Services of each file other than 0, or why it could not be read.
    services: Vec<Result<HashMap<String, Spec>, String>>,
}

impl Files {
    fn new(main: &Path) -> Files {
        let mut index = HashMap::new();
        index.insert(canonical(main), 0);
        Files {
            paths: vec![main.to_path_buf()],
            index,
            services: vec![Ok(HashMap::new())],
        }
    }

    fn loc(&self, at: At) -> Location {
        Location {
            file: self.paths.get(at.file).cloned().unwrap_or_default(),
            line: at.pos.line,
            column: at.pos.col,
        }
    }

    fn error(&self, at: At, message: String) -> SourceError {
        let l = self.loc(at);
        SourceError {
            path: l.file.clone(),
            line: Some(l.line),
            column: Some(l.column),
            message,
        }
    }

    /// The file `extends.file` names, read and its services parsed (once).
    fn open(&mut self, from: usize, name: &str) -> Result<usize, String> {
        let base = self.paths[from].parent().unwrap_or(Path::new(""));
        let path = super::display_path(&lexical(&base.join(name)));
        let key = canonical(&path);
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        if self.paths.len() > MAX_EXTENDS_FILES {
            return Err(format!(
                "more than {MAX_EXTENDS_FILES} files reached through `extends`"
            ));
        }
        let i = self.paths.len();
        self.paths.push(path.clone());
        self.index.insert(key, i);
        let services = read_services(&path, i);
        self.services.push(services);
        Ok(i)
    }
}

/// `common/../more.yml` as `more.yml`, as a reader would write it (symlinks are not
/// resolved: this is only the name findings show; [`canonical`] decides identity).
fn lexical(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The unresolved services of a file reached through `extends`. Only what `extends` needs:
/// the file's own findings come from auditing it, when it is audited.
fn read_services(path: &Path, file: usize) -> Result<HashMap<String, Spec>, String> {
    let meta = std::fs::metadata(path).map_err(|e| super::io_reason(&e))?;
    if meta.len() > super::MAX_FILE_BYTES {
        return Err(super::too_large(meta.len()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| super::io_reason(&e))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let ctx = Ctx::new(path, text);
    let doc = match super::tree::documents(text).next() {
        None => return Ok(HashMap::new()),
        Some(Err(e)) => return Err(format!("{}:{}: {}", e.pos.line, e.pos.col, e.message)),
        Some(Ok(d)) => d,
    };
    let Some(services) = doc.root.get("services") else {
        return Ok(HashMap::new());
    };
    Ok(services
        .entries()
        .into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), spec(&ctx, file, k, v))))
        .collect())
}

pub fn read(ctx: &Ctx, root: &Node, out: &mut Loaded) {
    let Some(services) = root.get("services") else {
        return;
    };
    let entries = services.entries();
    if let Some((k, _)) =
        entries.get(super::MAX_WORKLOADS_PER_FILE.saturating_sub(out.workloads.len()))
    {
        // Refused before any service is read: each would cost memory for nothing.
        ctx.refuse(k.pos, super::TOO_MANY_WORKLOADS);
        return;
    }
    let specs: Vec<(&str, &Node, Spec)> = entries
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?, *k, spec(ctx, 0, k, v))))
        .collect();
    let mut problems = Vec::new();
    super::duplicate_keys(services, &mut problems);
    for (pos, message) in problems {
        out.errors.push(SourceError::at(ctx.file, pos, message));
    }
    for (_, _, s) in &specs {
        for (pos, message) in &s.problems {
            out.errors
                .push(SourceError::at(ctx.file, *pos, message.clone()));
        }
    }
    // By name, so resolving `extends` stays linear even in a hostile file with a million
    // services (names are unique: `entries` keeps one value per key).
    let mut by_name: HashMap<&str, &Spec> = HashMap::with_capacity(specs.len());
    for (name, _, spec) in &specs {
        by_name.entry(name).or_insert(spec);
    }
    let mut r = Resolver {
        main: by_name,
        files: Files::new(ctx.file),
        cache: HashMap::new(),
        visiting: Vec::new(),
    };
    // `extends` copies a base's lists into every service that extends it: like aliases, a
    // small file could expand into billions of entries, so the total is budgeted the same way.
    let mut entries_total: u64 = 0;
    for (name, key, own) in &specs {
        if !ctx.room(out, key.pos) {
            return;
        }
        let resolved = match r.resolve(0, own, 0) {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(e);
                continue;
            }
        };
        entries_total +=
            (resolved.cap_add.len() + resolved.cap_drop.len() + resolved.sysctls.len()) as u64;
        if entries_total > MAX_EXPANDED {
            ctx.refuse(
                key.pos,
                "`extends` expands to more than 5000000 capability and sysctl entries",
            );
            return;
        }
        out.workloads
            .push(workload(ctx, &r.files, name, key, resolved));
    }
}

fn workload(ctx: &Ctx, files: &Files, name: &str, key: &Node, s: Spec) -> Workload {
    let mut w = Workload::new(name, SourceKind::Compose, Runtime::Docker, Syntax::Compose);
    w.image = s.image;
    w.location = Some(ctx.loc(key.pos));
    w.caps_location = s.caps_key.map(|p| files.loc(p));
    w.cap_add = entries(ctx, files, &s.cap_add);
    w.cap_drop = entries(ctx, files, &s.cap_drop);
    if let Some((v, p)) = s.privileged {
        w.privileged = Setting {
            value: v,
            location: Some(files.loc(p)),
        };
    }
    w.user = s.user;
    w.no_new_privileges = s.no_new_privileges.map(|(v, p)| Setting {
        value: v,
        location: Some(files.loc(p)),
    });
    w.sysctls = s
        .sysctls
        .into_iter()
        .map(|(k, (v, p))| {
            (
                k,
                Setting {
                    value: v,
                    location: Some(files.loc(p)),
                },
            )
        })
        .collect();
    w.host_network = s.host_network.unwrap_or(false);
    w.suppressions = s.suppressions;
    w.stack.deploy = s.deploy_key.map(|p| files.loc(p));
    if let Some((true, p)) = s.privileged {
        w.stack.ignored.push(StackIgnored {
            key: "privileged",
            location: Some(files.loc(p)),
        });
    }
    if let Some(p) = s.security_opt_key {
        w.stack.ignored.push(StackIgnored {
            key: "security_opt",
            location: Some(files.loc(p)),
        });
    }
    w
}

fn entries(ctx: &Ctx, files: &Files, list: &[(String, At)]) -> Vec<CapEntry> {
    let mut out = ctx.cap_entries(list.iter().map(|(raw, at)| (raw.as_str(), at.pos)));
    // Entries inherited from another file point there.
    for (e, (_, at)) in out.iter_mut().zip(list) {
        if at.file != 0 {
            e.location = Some(files.loc(*at));
        }
    }
    out
}

/// Resolves `extends` the way compose merges: lists like `cap_add` are unions, mappings like
/// `sysctls` merge with the service's own keys winning, scalars are overridden. Each base is
/// resolved once however many services extend it.
struct Resolver<'a> {
    main: HashMap<&'a str, &'a Spec>,
    files: Files,
    cache: HashMap<(usize, String), Result<Spec, SourceError>>,
    /// The chain being resolved, to name a cycle.
    visiting: Vec<(usize, String)>,
}

impl Resolver<'_> {
    fn resolve(&mut self, file: usize, own: &Spec, depth: usize) -> Result<Spec, SourceError> {
        let Some(ext) = own.extends.clone() else {
            return Ok(own.clone());
        };
        if depth >= MAX_EXTENDS {
            return Err(self.files.error(
                ext.at,
                format!("`extends` chain longer than {MAX_EXTENDS} services"),
            ));
        }
        let target = match &ext.file {
            None => file,
            Some(name) => self.files.open(file, name).map_err(|why| {
                self.files
                    .error(ext.at, format!("`extends` file {name}: {why}"))
            })?,
        };
        let key = (target, ext.service.clone());
        if let Some(start) = self.visiting.iter().position(|k| *k == key) {
            let mut chain: Vec<String> = self.visiting[start..]
                .iter()
                .map(|(_, s)| s.clone())
                .collect();
            chain.push(ext.service.clone());
            return Err(self
                .files
                .error(ext.at, format!("`extends` cycle: {}", chain.join(" -> "))));
        }
        let base = match self.cache.get(&key) {
            Some(r) => r.clone()?,
            None => {
                let spec = if target == 0 {
                    self.main.get(ext.service.as_str()).map(|s| (*s).clone())
                } else {
                    match &self.files.services[target] {
                        Ok(m) => m.get(&ext.service).cloned(),
                        Err(why) => {
                            let name = ext.file.as_deref().unwrap_or("");
                            return Err(self
                                .files
                                .error(ext.at, format!("`extends` file {name}: {why}")));
                        }
                    }
                };
                let Some(spec) = spec else {
                    let place = match &ext.file {
                        None => "this file".to_string(),
                        Some(f) => f.clone(),
                    };
                    return Err(self.files.error(
                        ext.at,
                        format!(
                            "`extends` names service `{}`, which {place} does not define",
                            ext.service
                        ),
                    ));
                };
                self.visiting.push(key.clone());
                let r = self.resolve(target, &spec, depth + 1);
                self.visiting.pop();
                self.cache.insert(key, r.clone());
                r?
            }
        };
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
        s.security_opt_key = s.security_opt_key.or(base.security_opt_key);
        s.deploy_key = s.deploy_key.or(base.deploy_key);
        // A suppression on the base applies to what the base contributes, i.e. to the service.
        s.suppressions.extend(base.suppressions);
        Ok(s)
    }
}

fn union(base: Vec<(String, At)>, own: Vec<(String, At)>) -> Vec<(String, At)> {
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

fn spec(ctx: &Ctx, file: usize, key: &Node, svc: &Node) -> Spec {
    let at = |pos: Pos| At { file, pos };
    // Comments on the service key; they travel with `extends` like everything else.
    let mut s = Spec {
        suppressions: ctx.comments(key.pos),
        ..Spec::default()
    };
    super::duplicate_keys(svc, &mut s.problems);
    if !svc.is_null() && !svc.is_map() {
        s.problems
            .push((svc.pos, "a service must be a map of settings".to_string()));
    }
    let located = |v: Vec<(String, Pos)>| -> Vec<(String, At)> {
        v.into_iter().map(|(r, p)| (r, at(p))).collect()
    };
    for (k, v) in svc.entries() {
        let Some(name) = k.as_str() else { continue };
        match name {
            "image" => s.image = v.as_text().map(str::to_string),
            "cap_add" => {
                s.cap_add = located(scalars(v));
                s.caps_key = Some(at(k.pos));
                super::list_shape(name, v, &mut s.problems);
            }
            "cap_drop" => {
                s.cap_drop = located(scalars(v));
                s.caps_key = s.caps_key.or(Some(at(k.pos)));
                super::list_shape(name, v, &mut s.problems);
            }
            "privileged" => {
                s.privileged = v.as_bool().map(|b| (b, at(k.pos)));
                super::bool_shape(name, v, &mut s.problems);
            }
            "user" => s.user = v.as_text().map(str::to_string),
            "security_opt" => {
                if !v.is_null() && !v.is_seq() {
                    s.problems
                        .push((v.pos, "security_opt must be a list of options".to_string()));
                }
                let opts = scalars(v);
                if !opts.is_empty() {
                    s.security_opt_key = Some(at(k.pos));
                }
                for (opt, p) in opts {
                    if let Some(b) = no_new_privileges(&opt) {
                        s.no_new_privileges = Some((b, at(p)));
                    }
                }
            }
            "sysctls" => {
                map_or_list(name, v, &mut s.problems);
                s.sysctls = sysctls(v)
                    .into_iter()
                    .map(|(k, (val, p))| (k, (val, at(p))))
                    .collect();
            }
            "network_mode" => s.host_network = v.as_text().map(|m| m == "host"),
            "deploy" => s.deploy_key = Some(at(k.pos)),
            "labels" => {
                map_or_list(name, v, &mut s.problems);
                s.suppressions.extend(label_suppressions(v));
            }
            "extends" => {
                s.extends = extends(v).map(|(service, file, p)| Extends {
                    service,
                    file,
                    at: at(p),
                });
            }
            _ => {}
        }
    }
    s
}

/// `sysctls` and `labels` take a map or a list of `name=value`; anything else is refused by
/// compose, and reading it as absent would hide what the author meant.
fn map_or_list(key: &str, v: &Node, problems: &mut Vec<(Pos, String)>) {
    if !v.is_null() && !v.is_seq() && !v.is_map() {
        problems.push((
            v.pos,
            format!("{key} must be a map or a list of name=value"),
        ));
    }
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

/// `extends: base` or `extends: {service: base, file: other.yml}`: the service, the file
/// when there is one, and where an error about it belongs (the service name, or the map).
fn extends(v: &Node) -> Option<(String, Option<String>, Pos)> {
    if let Some(name) = v.as_text() {
        return Some((name.to_string(), None, v.pos));
    }
    let file = v.get("file").and_then(Node::as_text).map(str::to_string);
    let svc = v.get("service")?;
    Some((svc.as_text()?.to_string(), file, svc.pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::load_text;
    use std::path::Path;

    fn load(text: &str) -> Loaded {
        load_text(Path::new("c.yaml"), text)
    }

    #[test]
    fn keys_a_stack_ignores_are_recorded() {
        let l = load("x-base: &b\n  deploy: {replicas: 2}\nservices:\n  base:\n    <<: *b\n    privileged: true\n  child:\n    extends: base\n    security_opt: [\"seccomp=unconfined\"]\n  plain:\n    privileged: false\n    security_opt: []\n");
        let by = |n: &str| l.workloads.iter().find(|w| w.name == n).unwrap();
        let child = by("child");
        assert_eq!(child.stack.deploy.as_ref().map(|d| d.line), Some(2));
        let keys: Vec<(&str, u32)> = child
            .stack
            .ignored
            .iter()
            .map(|i| (i.key, i.location.as_ref().unwrap().line))
            .collect();
        assert_eq!(keys, [("privileged", 6), ("security_opt", 9)]);
        let plain = by("plain");
        assert!(plain.stack.ignored.is_empty() && plain.stack.deploy.is_none());
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let l = load("services:\n  a: x\n  b:\n    security_opt: no-new-privileges\n    sysctls: 5\n    labels: [a=b]\n");
        let errs: Vec<String> = l.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errs,
            [
                "c.yaml:2:6: error: a service must be a map of settings",
                "c.yaml:4:19: error: security_opt must be a list of options",
                "c.yaml:5:14: error: sysctls must be a map or a list of name=value",
            ]
        );
    }

    #[test]
    fn repeated_keys_are_errors() {
        let l = load("services:\n  a:\n    cap_add: [ALL]\n    cap_add: []\n  a:\n    image: x\n");
        let errs: Vec<String> = l.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("c.yaml:5:3: error: duplicate key 'a'"),
            "{errs:?}"
        );
        let l = load("services:\n  a:\n    cap_add: [ALL]\n    cap_add: []\n");
        let errs: Vec<String> = l.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("c.yaml:4:5: error: duplicate key 'cap_add'"),
            "{errs:?}"
        );
    }

    #[test]
    fn wrongly_shaped_caps_are_errors_not_silence() {
        let l = load(
            "services:\n  a:\n    cap_add: ALL\n  b:\n    cap_drop: [[NET_RAW]]\n  c:\n    privileged: \"yes\"\n  d:\n    cap_add: [CHOWN]\n    cap_drop:\n",
        );
        let errs: Vec<String> = l.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errs,
            [
                "c.yaml:3:14: error: cap_add must be a list of capability names",
                "c.yaml:5:16: error: cap_drop entries must be capability names",
                "c.yaml:7:17: error: privileged must be true or false",
            ]
        );
        // The services are still audited.
        assert_eq!(l.workloads.len(), 4);
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
    fn extends_expansion_is_budgeted() {
        // A base with N sysctls at the end of an extends chain of 12, and 30,000 services
        // extending it: every service copies the base's entries.
        let build = |n: usize| {
            let sysctls: Vec<String> = (0..n).map(|i| format!("- k{i}=v")).collect();
            let mut text = format!(
                "services:\n  b0:\n    sysctls:\n      {}\n",
                sysctls.join("\n      ")
            );
            for i in 1..12 {
                text.push_str(&format!("  b{i}: {{extends: b{}}}\n", i - 1));
            }
            for i in 0..30_000 {
                text.push_str(&format!("  s{i}: {{extends: b11}}\n"));
            }
            text
        };
        // 30,000 x 20 = 600,000 entries: fine.
        let l = load(&build(20));
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.workloads.len(), 30_012);
        // 30,000 x 200 = 6 million: refused.
        let l = load(&build(200));
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert!(l.errors[0]
            .message
            .contains("`extends` expands to more than"));
        assert!(l.workloads.is_empty());
    }

    #[test]
    fn absurd_files_are_refused() {
        let mut many = String::from("services:\n");
        for i in 0..=crate::sources::MAX_WORKLOADS_PER_FILE {
            many.push_str(&format!("  s{i}: {{}}\n"));
        }
        let l = load(&many);
        assert!(
            l.errors[0].message.contains("more than 100000 workloads"),
            "{:?}",
            l.errors
        );
        assert!(l.workloads.is_empty());

        let long: Vec<String> = (0..300).map(|_| "CHOWN".to_string()).collect();
        let l = load(&format!(
            "services:\n  a:\n    cap_add: [{}]\n",
            long.join(",")
        ));
        assert!(
            l.errors[0].message.contains("more than 256 entries"),
            "{:?}",
            l.errors
        );

        let mut typos = String::from("services:\n");
        for i in 0..20 {
            let bad: Vec<String> = (0..60).map(|j| format!("NOPE{i}_{j}")).collect();
            typos.push_str(&format!("  s{i}:\n    cap_add: [{}]\n", bad.join(",")));
        }
        let l = load(&typos);
        assert!(
            l.errors[0]
                .message
                .contains("more than 1000 capability entries"),
            "{:?}",
            l.errors
        );
        let huge = "X".repeat(1_000_000);
        let l = load(&format!("services:\n  a:\n    cap_add: [{huge}]\n"));
        assert!(l.errors.is_empty());
        assert_eq!(l.workloads[0].cap_add[0].raw.chars().count(), 67);
    }

    #[test]
    fn suppressions_from_comments_and_labels() {
        let l = load(
            "services:\n  # dropcap:ignore DC001 healthcheck uses ping\n  web:\n    labels:\n      dropcap.io/ignore: DC003 reviewed\n  api:  # dropcap:ignore * legacy\n    network_mode: host\n",
        );
        let web = &l.workloads[0];
        let rules: Vec<&str> = web.suppressions.iter().map(|s| s.rule.as_str()).collect();
        assert_eq!(rules, vec!["DC001", "DC003"]);
        assert_eq!(&*web.suppressions[0].reason, "healthcheck uses ping");
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
