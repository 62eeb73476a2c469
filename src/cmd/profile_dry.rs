//! `dropcap profile FILE --service/--container NAME --dry-run`: the trial container a
//! definition gives, printed instead of run. It is what to read before trusting a profile
//! (did the image, the user, the environment come out as compose or the kubelet would make
//! them?), and it needs no engine.

use crate::profile::definition::Defined;
use crate::profile::spec::{ContainerSpec, MountKind};
use crate::profile::Check;
use serde_json::{json, Value};
use std::io::Write;

fn pairs(v: &[(String, String)]) -> Value {
    Value::Array(
        v.iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

fn spec_json(s: &ContainerSpec) -> Value {
    let mounts: Vec<Value> = s
        .mounts
        .iter()
        .map(|m| {
            let (kind, source, options) = match &m.kind {
                MountKind::Bind { source } => ("bind", Some(source.display().to_string()), None),
                MountKind::Volume { name } => ("volume", Some(name.clone()), None),
                MountKind::Tmpfs { options } => ("tmpfs", None, Some(options.clone())),
            };
            json!({
                "type": kind,
                "source": source,
                "target": m.target,
                "read_only": m.read_only,
                "options": options,
            })
        })
        .collect();
    let ulimits: Vec<Value> = s
        .ulimits
        .iter()
        .map(|u| json!({ "name": u.name, "soft": u.soft, "hard": u.hard }))
        .collect();
    json!({
        "image": s.image,
        "entrypoint": s.entrypoint,
        "cmd": s.cmd,
        "env": pairs(&s.env),
        "working_dir": s.working_dir,
        "user": s.user,
        "read_only": s.read_only,
        "mounts": mounts,
        "sysctls": pairs(&s.sysctls),
        "no_new_privileges": s.no_new_privileges,
        "security_opt": s.security_opt,
        "ulimits": ulimits,
        "init": s.init,
    })
}

/// The document `--dry-run --format json` prints (keys in docs/profile.md).
pub fn json(d: &Defined, notes: &[String], check: &Check) -> Value {
    let dependencies: Vec<Value> = d
        .dependencies
        .iter()
        .map(|dep| {
            json!({
                "name": dep.name,
                "location": dep.location.to_string(),
                "spec": spec_json(&dep.spec),
                "cap_add": dep.cap_add,
                "cap_drop": dep.cap_drop,
                "privileged": dep.privileged,
            })
        })
        .collect();
    json!({
        "definition": d.definition,
        "location": d.location.to_string(),
        "spec": spec_json(&d.spec),
        "check": check.describe(),
        "probe": d.probe,
        "dependencies": dependencies,
        "missing_env": d.missing_env,
        "notes": notes,
    })
}

/// An argv as a shell would need it typed, so spaces and quotes stay visible.
fn argv(v: &[String]) -> String {
    v.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn spec_rows(s: &ContainerSpec) -> Vec<(&'static str, String)> {
    let mut rows = vec![("image", s.image.clone())];
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(the image's)".into());
    let words = |v: &Option<Vec<String>>| {
        v.as_deref()
            .map(argv)
            .unwrap_or_else(|| "(the image's)".into())
    };
    rows.push(("entrypoint", words(&s.entrypoint)));
    rows.push(("command", words(&s.cmd)));
    rows.push(("user", opt(&s.user)));
    rows.push(("working_dir", opt(&s.working_dir)));
    for (k, v) in &s.env {
        rows.push(("env", format!("{k}={v}")));
    }
    for m in &s.mounts {
        let ro = if m.read_only { " (read-only)" } else { "" };
        let what = match &m.kind {
            MountKind::Bind { source } => {
                format!(
                    "bind {} -> {} (copied per trial){ro}",
                    source.display(),
                    m.target
                )
            }
            MountKind::Volume { name } => {
                format!("volume {name} -> {} (fresh per trial){ro}", m.target)
            }
            MountKind::Tmpfs { options } if options.is_empty() => format!("tmpfs {}", m.target),
            MountKind::Tmpfs { options } => format!("tmpfs {} ({options})", m.target),
        };
        rows.push(("mount", what));
    }
    for (k, v) in &s.sysctls {
        rows.push(("sysctl", format!("{k}={v}")));
    }
    for u in &s.ulimits {
        rows.push(("ulimit", format!("{}={}:{}", u.name, u.soft, u.hard)));
    }
    let mut flags = Vec::new();
    if s.read_only {
        flags.push("read_only".to_string());
    }
    if s.no_new_privileges {
        flags.push("no-new-privileges".to_string());
    }
    if s.init {
        flags.push("init".to_string());
    }
    flags.extend(s.security_opt.iter().map(|o| format!("security_opt {o}")));
    if !flags.is_empty() {
        rows.push(("flags", flags.join(", ")));
    }
    rows
}

/// The human form: one `key  value` row per setting, dependencies and notes after (variables
/// `--env` must supply are among the notes).
pub fn table(
    d: &Defined,
    notes: &[String],
    check: &Check,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "{} would run as:", d.location)?;
    let mut rows = spec_rows(&d.spec);
    rows.push(("check", check.describe()));
    for (k, v) in rows {
        writeln!(out, "  {k:<12} {v}")?;
    }
    for dep in &d.dependencies {
        let mut caps = Vec::new();
        if dep.privileged {
            caps.push("privileged".to_string());
        }
        if !dep.cap_drop.is_empty() {
            caps.push(format!("cap_drop {}", dep.cap_drop.join(",")));
        }
        if !dep.cap_add.is_empty() {
            caps.push(format!("cap_add {}", dep.cap_add.join(",")));
        }
        let caps = if caps.is_empty() {
            "its configured capabilities: the default set".to_string()
        } else {
            format!("its configured capabilities: {}", caps.join(", "))
        };
        writeln!(
            out,
            "depends on {} ({}), started once with {caps}:",
            dep.name, dep.location
        )?;
        for (k, v) in spec_rows(&dep.spec) {
            writeln!(out, "  {k:<12} {v}")?;
        }
    }
    for n in notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}
