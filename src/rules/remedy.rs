//! Remediation text in the workload's own syntax, so it can be applied as written.

use crate::caps::{spell, Cap, CapSet};
use crate::workload::{Syntax, Workload};

fn quoted_list(set: CapSet) -> String {
    let names: Vec<String> = set.iter().map(|c| format!("\"{c}\"")).collect();
    format!("[{}]", names.join(", "))
}

fn plain_list(set: CapSet) -> String {
    let names: Vec<String> = set.iter().map(|c| c.name()).collect();
    format!("[{}]", names.join(", "))
}

fn container_ref(w: &Workload) -> String {
    match &w.container {
        Some(c) => format!("container {c}"),
        None => "the container".to_string(),
    }
}

/// Take one entry out of the add list.
pub fn remove_add(w: &Workload, raw: &str) -> String {
    match w.syntax {
        Syntax::Docker => {
            format!("remove --cap-add={raw} from docker run (compose: remove {raw} from cap_add)")
        }
        Syntax::Compose => format!("remove {raw} from cap_add of service {}", w.name),
        Syntax::Kubernetes => format!(
            "remove \"{raw}\" from securityContext.capabilities.add of {}",
            container_ref(w)
        ),
        Syntax::Swarm => format!(
            "docker service update --cap-drop {raw} {} (stack file: remove {raw} from cap_add)",
            w.name
        ),
    }
}

/// Drop capabilities the container keeps from the default set.
pub fn drop_caps(w: &Workload, caps: CapSet) -> String {
    let flags: Vec<String> = caps.iter().map(|c| format!("--cap-drop={c}")).collect();
    match w.syntax {
        Syntax::Docker => format!(
            "docker run {} (compose: cap_drop: {}), or better {}",
            flags.join(" "),
            plain_list(caps),
            spell::docker_flags(keep_set(w))
        ),
        Syntax::Compose => format!(
            "add cap_drop: {} to service {} (or cap_drop: [ALL])",
            plain_list(caps),
            w.name
        ),
        Syntax::Kubernetes => format!(
            "set securityContext.capabilities.drop: [\"ALL\"] on {} (or at least {})",
            container_ref(w),
            quoted_list(caps)
        ),
        Syntax::Swarm => {
            let flags: Vec<String> = caps.iter().map(|c| format!("--cap-drop {c}")).collect();
            format!(
                "docker service update {} {} (stack file: cap_drop: {}), or better docker service update {} {}",
                flags.join(" "),
                w.name,
                plain_list(caps),
                service_flags(w),
                w.name
            )
        }
    }
}

/// `docker service update` flags that leave the service with exactly [`keep_set`]. The CLI
/// edits the lists in place (measured with CLI 28 against Engine 20.10: `--cap-drop X` also
/// takes X out of CapabilityAdd), so every other named add is dropped by name.
fn service_flags(w: &Workload) -> String {
    let keep = keep_set(w);
    let mut flags = vec!["--cap-drop ALL".to_string()];
    let others = w
        .cap_add
        .iter()
        .filter(|e| e.is_all || e.caps.is_none_or(|c| !c.difference(keep).is_empty()));
    flags.extend(others.map(|e| format!("--cap-drop {}", e.raw)));
    flags.extend(keep.iter().map(|c| format!("--cap-add {c}")));
    flags.join(" ")
}

/// Podman takes the same flags as Docker; say the command the user actually runs.
pub fn for_engine(w: &Workload, text: String) -> String {
    if w.runtime == crate::workload::Runtime::Podman {
        text.replace("docker run", "podman run")
    } else {
        text
    }
}

/// The capabilities worth keeping when rewriting to "drop ALL, add back": what the user added
/// on purpose, minus what the audit flags as dangerous or as NET_RAW.
pub fn keep_set(w: &Workload) -> CapSet {
    // `ALL` says nothing about intent, so only named adds are kept.
    let named = w
        .cap_add
        .iter()
        .filter(|e| !e.is_all)
        .filter_map(|e| e.caps)
        .fold(CapSet::EMPTY, CapSet::union);
    named
        .intersect(w.effective())
        .difference(CapSet::dangerous())
        .without(Cap::NET_RAW)
        .intersect(CapSet::all_known())
}

/// `cap_drop: [ALL], cap_add: [...]` on one line, for a compose or stack file.
fn drop_all_keys(keep: CapSet) -> String {
    if keep.is_empty() {
        "cap_drop: [ALL]".to_string()
    } else {
        format!("cap_drop: [ALL], cap_add: {}", plain_list(keep))
    }
}

/// Rewrite to drop ALL and add back `keep`.
pub fn drop_all(w: &Workload) -> String {
    let keep = keep_set(w);
    let tail = " and add back only what `dropcap profile` proves is needed";
    match w.syntax {
        Syntax::Docker => format!(
            "docker run {} (compose: {}){tail}",
            spell::docker_flags(keep),
            drop_all_keys(keep)
        ),
        Syntax::Compose => {
            let add = if keep.is_empty() {
                String::new()
            } else {
                format!(" and cap_add: {}", plain_list(keep))
            };
            format!("set cap_drop: [ALL]{add} on service {}{tail}", w.name)
        }
        Syntax::Kubernetes => {
            let add = if keep.is_empty() {
                String::new()
            } else {
                format!(", add: {}", quoted_list(keep))
            };
            format!(
                "set securityContext.capabilities: {{drop: [\"ALL\"]{add}}} on {}{tail}",
                container_ref(w)
            )
        }
        Syntax::Swarm => format!(
            "docker service update {} {} (stack file: {}){tail}",
            service_flags(w),
            w.name,
            drop_all_keys(keep)
        ),
    }
}

pub fn unprivileged(w: &Workload) -> String {
    match w.syntax {
        Syntax::Docker => format!(
            "run without --privileged (compose: remove privileged: true): {}",
            drop_all(w)
        ),
        Syntax::Compose => format!(
            "remove privileged: true from service {}; {}",
            w.name,
            drop_all(w)
        ),
        Syntax::Kubernetes => format!(
            "set securityContext.privileged: false on {}; {}",
            container_ref(w),
            drop_all(w)
        ),
        // A service spec has no privileged setting; only a task read on a worker gets here.
        Syntax::Swarm => format!(
            "remove what makes the task containers of service {} privileged; {}",
            w.name,
            drop_all(w)
        ),
    }
}

pub fn rename(w: &Workload, raw: &str, to: &str) -> String {
    match w.syntax {
        Syntax::Docker => format!("write --cap-add={to} instead of {raw}"),
        Syntax::Compose => format!("write {to} instead of {raw} in service {}", w.name),
        Syntax::Kubernetes => format!(
            "write \"{to}\" instead of \"{raw}\" in {}",
            container_ref(w)
        ),
        Syntax::Swarm => format!(
            "docker service update --cap-drop {raw} --cap-add {to} {} (stack file: write {to} instead of {raw})",
            w.name
        ),
    }
}

pub fn no_new_privileges(w: &Workload) -> String {
    match w.syntax {
        Syntax::Docker => "docker run --security-opt=no-new-privileges:true (compose: security_opt: [\"no-new-privileges:true\"])".to_string(),
        // `docker stack deploy` ignores security_opt (DC022).
        Syntax::Compose if w.stack.as_stack => format!(
            "service {} cannot set no-new-privileges in a stack (security_opt is ignored): {}",
            w.name,
            drop_all(w)
        ),
        Syntax::Compose => format!(
            "add security_opt: [\"no-new-privileges:true\"] to service {}",
            w.name
        ),
        Syntax::Kubernetes => format!(
            "set securityContext.allowPrivilegeEscalation: false on {}",
            container_ref(w)
        ),
        // `docker service create/update` have no such flag and `docker stack deploy` ignores
        // security_opt, so the fix has to leave nothing to regain instead.
        Syntax::Swarm => format!(
            "service {} cannot set no-new-privileges (no docker service flag; a stack file's security_opt is ignored): remove setuid and file-capability binaries from the image, or {}",
            w.name,
            drop_all(w)
        ),
    }
}
