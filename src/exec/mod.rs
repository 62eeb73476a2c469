//! Running a command with exactly a given capability set, the way `setpriv` does, so that a
//! profile trial of a local command sees the same five sets a container with
//! `--cap-drop ALL --cap-add LIST` would see.
//!
//! Order matters and is the reason this is its own module: the bounding set can only be cut
//! while we still hold CAP_SETPCAP, the uid change must keep the permitted set (keep-caps),
//! and the ambient set can only be raised after inheritable and permitted hold the caps. The
//! ambient set is what carries LIST across `execve` for a non-root user, and for root it keeps
//! the sets exact even for binaries without file capabilities.

mod syscalls;
pub mod user;

use crate::caps::{Cap, CapSet};
use std::ffi::OsString;
use thiserror::Error;

pub use user::{resolve_user, Identity};

#[derive(Debug, Error)]
pub enum ExecError {
    #[error("cannot grant {missing}: {why}")]
    NotHeld { missing: String, why: String },
    #[error("{step}: {source}")]
    Sys {
        step: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    User(String),
    #[error("no command given")]
    NoCommand,
    #[error("cannot run {program}: {source}")]
    Exec {
        program: String,
        source: std::io::Error,
    },
}

/// What to become before running the command.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub caps: CapSet,
    pub identity: Option<Identity>,
}

/// The highest capability this kernel knows; the bounding set only has bits up to it.
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(crate::caps::LAST_CAP)
}

/// Puts the calling process in exactly `plan.caps` in all five sets (and under the user's uid
/// and gids when given). Call it in the process that will `execve` next: it changes the whole
/// process (capabilities are per thread, so only call it before other threads exist).
pub fn apply(plan: &Plan) -> Result<(), ExecError> {
    let now = syscalls::capget()?;
    let bounding = syscalls::bounding_set(last_cap());
    for (set, held) in [("permitted", now.permitted), ("bounding", bounding)] {
        let missing = plan.caps.difference(held);
        if !missing.is_empty() {
            // With nothing held at all, dropcap runs as an ordinary user: the host is not the
            // reason, and the fix is different.
            let why = if now.permitted.is_empty() {
                "dropcap itself holds no capabilities (run it as root)".to_string()
            } else {
                format!("dropcap's own {set} set lacks it (this host or sandbox never gives it)")
            };
            return Err(ExecError::NotHeld {
                missing: missing.to_string(),
                why,
            });
        }
    }
    // 1. Bounding set first: dropping needs CAP_SETPCAP, which LIST may not contain.
    for n in 0..=last_cap() {
        if let Some(c) = Cap::new(n) {
            if bounding.contains(c) && !plan.caps.contains(c) {
                syscalls::bounding_drop(c)?;
            }
        }
    }
    // 2. Identity, keeping the permitted set across the uid change.
    if let Some(id) = &plan.identity {
        syscalls::set_keepcaps(true)?;
        syscalls::set_identity(id)?;
        syscalls::set_keepcaps(false)?;
    }
    // 3. Effective, permitted and inheritable to exactly LIST; permitted only ever shrinks.
    syscalls::capset(plan.caps, plan.caps, plan.caps)?;
    // 4. Ambient: survives execve of files without capabilities, for root and non-root alike.
    syscalls::ambient_clear()?;
    for c in plan.caps.iter() {
        syscalls::ambient_raise(c)?;
    }
    Ok(())
}

/// Replaces the process image; returns only on failure.
pub fn exec(argv: &[OsString]) -> ExecError {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = argv.split_first() else {
        return ExecError::NoCommand;
    };
    let source = std::process::Command::new(program).args(args).exec();
    ExecError::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    }
}
