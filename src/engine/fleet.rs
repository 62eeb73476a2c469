//! Several engines in one audit. Each engine is audited by its own task, so the audit takes
//! about as long as the slowest engine rather than the sum of all of them; an engine that
//! cannot be reached, or stops answering within `--timeout`, becomes an error next to the
//! reports of the engines that did answer.

use super::context::Target;
use super::{engine_error, fetch, EngineInfo, EngineOptions, InputError};
use crate::workload::Workload;

/// What the audit of every target learned, engines in the order they were named.
#[derive(Debug, Clone, Default)]
pub struct FleetAudit {
    /// The engines that answered.
    pub engines: Vec<EngineInfo>,
    /// Grouped by engine (in target order), sorted by name within each.
    pub workloads: Vec<Workload>,
    pub errors: Vec<InputError>,
    pub notes: Vec<String>,
    pub from_state_files: usize,
}

/// Audits every target at once with `options` (its `host`, `tls` and `name` are each
/// target's own).
pub async fn audit_fleet(targets: &[Target], options: &EngineOptions) -> FleetAudit {
    let several = targets.len() > 1;
    let tasks: Vec<_> = targets
        .iter()
        .map(|t| {
            let mut o = options.clone();
            o.host = Some(t.host.clone());
            o.tls = t.tls.clone();
            o.name = Some(t.name.clone());
            // Several bars on one terminal overwrite each other.
            o.progress &= !several;
            tokio::spawn(async move { fetch::audit(&o).await })
        })
        .collect();
    let mut fleet = FleetAudit::default();
    for (t, task) in targets.iter().zip(tasks) {
        let from = |msg: String| match &t.context {
            Some(c) if *c != t.host => format!("context {c}: {msg}"),
            _ => msg,
        };
        match task.await {
            Ok(a) => {
                fleet.engines.extend(a.engine);
                fleet.workloads.extend(a.workloads);
                fleet.from_state_files += a.from_state_files;
                for mut e in a.errors {
                    e.message = from(e.message);
                    fleet.errors.push(e);
                }
                fleet
                    .notes
                    .extend(a.notes.into_iter().map(|n| match several {
                        true => format!("{}: {n}", t.name),
                        false => n,
                    }));
            }
            Err(e) => fleet.errors.push(engine_error(
                &t.host,
                from(format!("the audit failed: {e}")),
            )),
        }
    }
    fleet
}

/// [`audit_fleet`] for the synchronous CLI.
pub fn audit_fleet_blocking(targets: &[Target], options: &EngineOptions) -> FleetAudit {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match rt {
        Ok(rt) => rt.block_on(audit_fleet(targets, options)),
        Err(e) => FleetAudit {
            errors: targets
                .iter()
                .map(|t| engine_error(&t.host, format!("cannot start the async runtime: {e}")))
                .collect(),
            ..FleetAudit::default()
        },
    }
}
