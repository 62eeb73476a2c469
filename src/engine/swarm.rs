//! Swarm services, audited from their spec when the engine is a manager.
//!
//! A service's spec (`GET /services`) says what every task gets, on every node, even when no
//! task runs anywhere (a constraint no node satisfies, a service scaled to 0), so it is the
//! workload; a task container on this node is attached to its service, lending it the real
//! sets of its processes so drift (DC012) is measured against the spec. A worker cannot list
//! services: there, each service is built from its task containers' configuration.

use super::api::{Api, ApiError};
use super::map::{entry, parse_ignore_label, IGNORE_LABEL};
use crate::workload::{
    Runtime, ServiceMode, Setting, SourceKind, SwarmService, Syntax, TaskLabels, Workload,
};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Deserialize)]
struct Info {
    #[serde(rename = "Swarm", default)]
    swarm: Option<SwarmInfo>,
}

#[derive(Debug, Deserialize)]
struct SwarmInfo {
    #[serde(rename = "LocalNodeState", default)]
    state: String,
    #[serde(rename = "ControlAvailable", default)]
    control_available: bool,
}

#[derive(Debug, Deserialize)]
struct Service {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Spec", default)]
    spec: ServiceSpec,
}

#[derive(Debug, Default, Deserialize)]
struct ServiceSpec {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Labels", default)]
    labels: Option<HashMap<String, String>>,
    #[serde(rename = "TaskTemplate", default)]
    task_template: TaskTemplate,
    #[serde(rename = "Mode", default)]
    mode: Option<Mode>,
}

#[derive(Debug, Default, Deserialize)]
struct TaskTemplate {
    /// Absent for plugin and network-attachment services, which run no container.
    #[serde(rename = "ContainerSpec", default)]
    container: Option<ContainerSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct ContainerSpec {
    #[serde(rename = "Image", default)]
    image: Option<String>,
    #[serde(rename = "User", default)]
    user: Option<String>,
    #[serde(rename = "Labels", default)]
    labels: Option<HashMap<String, String>>,
    /// API 1.41+; older engines cannot set capabilities on a service at all.
    #[serde(rename = "CapabilityAdd", default)]
    cap_add: Option<Vec<String>>,
    #[serde(rename = "CapabilityDrop", default)]
    cap_drop: Option<Vec<String>>,
    #[serde(rename = "Sysctls", default)]
    sysctls: Option<HashMap<String, String>>,
    #[serde(rename = "Privileges", default)]
    privileges: Option<Privileges>,
}

#[derive(Debug, Default, Deserialize)]
struct Privileges {
    /// Only newer engines have it; 20.10's spec has no way to say no-new-privileges.
    #[serde(rename = "NoNewPrivileges", default)]
    no_new_privileges: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Mode {
    #[serde(rename = "Replicated", default)]
    replicated: Option<Replicated>,
    #[serde(rename = "ReplicatedJob", default)]
    replicated_job: Option<ReplicatedJob>,
}

#[derive(Debug, Default, Deserialize)]
struct Replicated {
    #[serde(rename = "Replicas", default)]
    replicas: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct ReplicatedJob {
    #[serde(rename = "TotalCompletions", default)]
    total: Option<u64>,
}

/// What the engine said about Swarm.
#[derive(Debug, Default)]
pub struct Services {
    /// One workload per container service, when the engine is a manager.
    pub workloads: Option<Vec<Workload>>,
    /// With `--filter`: the ids of the services the engine itself selects with those filters
    /// (empty when a filter key is one only containers have).
    pub selected: Option<HashSet<String>>,
    pub notes: Vec<String>,
}

/// The `docker ps --filter` keys `GET /services` also takes, with the same meaning for a
/// service (`name` is a prefix there, a substring for containers; both select `web` for
/// `web.1.x`).
const SERVICE_FILTERS: [&str; 3] = ["id", "label", "name"];

/// `GET /info`, then `GET /services` on a manager. An engine outside any swarm costs only
/// the `/info`; errors become notes, since the containers are audited either way.
pub async fn services(
    api: &Api,
    filters: &HashMap<String, Vec<String>>,
) -> Result<Services, ApiError> {
    let info: Info = api.get("/info").await?;
    let mut out = Services::default();
    let Some(swarm) = info.swarm.filter(|s| s.state == "active") else {
        return Ok(out);
    };
    if !swarm.control_available {
        out.notes.push(
            "this engine is a Swarm worker: services are audited from their task containers here; audit a manager to see every service".to_string(),
        );
        return Ok(out);
    }
    let list: Vec<Service> = api.get("/services").await?;
    if !filters.is_empty() {
        let mut selected = HashSet::new();
        if filters
            .keys()
            .all(|k| SERVICE_FILTERS.contains(&k.as_str()))
        {
            let json = serde_json::to_string(filters)
                .map_err(|e| ApiError::Failed(format!("encoding filters: {e}")))?;
            let path = format!("/services?filters={}", super::api::query_escape(&json));
            let matched: Vec<Service> = api.get(&path).await?;
            selected.extend(matched.into_iter().map(|s| s.id));
        }
        out.selected = Some(selected);
    }
    let mut workloads = Vec::with_capacity(list.len());
    for s in list {
        match workload_from_service(s) {
            Ok(w) => workloads.push(w),
            Err(note) => out.notes.push(note),
        }
    }
    out.workloads = Some(workloads);
    Ok(out)
}

/// One service spec → one workload; `Err` says why a service runs no container.
fn workload_from_service(s: Service) -> Result<Workload, String> {
    let name = if s.spec.name.is_empty() {
        s.id.chars().take(12).collect()
    } else {
        s.spec.name.clone()
    };
    let Some(c) = s.spec.task_template.container else {
        return Err(format!(
            "service {name} runs no container (a plugin or network attachment); skipped"
        ));
    };
    let mut w = Workload::new(name, SourceKind::Engine, Runtime::Docker, Syntax::Swarm);
    w.id = Some(s.id);
    w.image = c.image.filter(|i| !i.is_empty());
    w.user = c.user.filter(|u| !u.is_empty());
    let entries =
        |list: Option<Vec<String>>| list.unwrap_or_default().iter().map(|e| entry(e)).collect();
    w.cap_add = entries(c.cap_add);
    w.cap_drop = entries(c.cap_drop);
    w.sysctls = c
        .sysctls
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                Setting {
                    value: v,
                    location: None,
                },
            )
        })
        .collect();
    w.no_new_privileges = c
        .privileges
        .and_then(|p| p.no_new_privileges)
        .map(|value| Setting {
            value,
            location: None,
        });
    // The service's labels first, then the container's, as `docker service create --label`
    // and `--container-label` both can carry the ignore label.
    for labels in [s.spec.labels, c.labels].into_iter().flatten() {
        if let Some(v) = labels.get(IGNORE_LABEL) {
            w.suppressions.extend(parse_ignore_label(v));
        }
    }
    let (mode, replicas) = match s.spec.mode {
        Some(Mode {
            replicated: Some(r),
            ..
        }) => (ServiceMode::Replicated, Some(r.replicas.unwrap_or(1))),
        Some(Mode {
            replicated_job: Some(j),
            ..
        }) => (ServiceMode::Replicated, Some(j.total.unwrap_or(1))),
        Some(_) => (ServiceMode::Global, None),
        None => (ServiceMode::Replicated, Some(1)),
    };
    w.service = Some(SwarmService {
        mode,
        replicas,
        tasks: Vec::new(),
        from_task: false,
    });
    Ok(w)
}

/// Attaches every task container to its service and returns the workloads to report: the
/// services, then the containers that are not tasks. With filters (`selected` is `Some`) a
/// service is reported when the filters select it or one of its tasks.
pub fn attach(
    services: Option<Vec<Workload>>,
    selected: Option<&HashSet<String>>,
    containers: Vec<Workload>,
    notes: &mut Vec<String>,
) -> Vec<Workload> {
    let mut services = services.unwrap_or_default();
    let mut by_id: HashMap<String, usize> = services
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some((w.id.clone()?, i)))
        .collect();
    let mut out = Vec::new();
    for c in containers {
        let Some(task) = c.task.clone() else {
            out.push(c);
            continue;
        };
        match by_id.get(&task.service_id) {
            // Swarm keeps the containers of shut-down tasks as history (5 per slot by
            // default): they run nothing and the spec already speaks for them.
            Some(_) if c.running != Some(true) => {}
            Some(&i) => attach_task(&mut services[i], c, notes),
            None => {
                by_id.insert(task.service_id.clone(), services.len());
                services.push(service_from_task(c, task));
            }
        }
    }
    if let Some(selected) = selected {
        services.retain(|s| {
            s.id.as_ref().is_some_and(|id| selected.contains(id))
                || s.service.as_ref().is_some_and(|i| !i.tasks.is_empty())
        });
    }
    services.extend(out);
    services
}

/// The task's real sets become the service's, so DC012 compares them with the spec.
fn attach_task(service: &mut Workload, task: Workload, notes: &mut Vec<String>) {
    let spec = service.effective();
    let configured = task.effective();
    if configured != spec {
        notes.push(format!(
            "task {} of service {} was created with capabilities {} but the spec now grants {} (a task of an older spec version; `docker service update --force {}` replaces it)",
            task.name,
            service.name,
            shown(configured),
            shown(spec),
            service.name
        ));
    }
    if service.image_files.is_none() {
        service.image_id = task.image_id.clone();
        service.image_files = task.image_files.clone();
    }
    if service.observed_sysctls.is_empty() {
        service.observed_sysctls = task.observed_sysctls;
    }
    service.host_network |= task.host_network;
    if task.running == Some(true) {
        service.running = Some(true);
    }
    service.processes.extend(task.processes);
    if let Some(info) = service.service.as_mut() {
        info.tasks.push(task.name);
    }
}

fn shown(set: crate::caps::CapSet) -> String {
    if set.is_empty() {
        "no capability".to_string()
    } else {
        crate::caps::spell::compact(set)
    }
}

/// A worker's view: the task container's own configuration stands for the service.
fn service_from_task(mut c: Workload, task: TaskLabels) -> Workload {
    let task_name = std::mem::replace(&mut c.name, task.service_name);
    c.id = Some(task.service_id);
    c.syntax = Syntax::Swarm;
    c.service = Some(SwarmService {
        mode: ServiceMode::Replicated,
        replicas: None,
        tasks: vec![task_name],
        from_task: true,
    });
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{Cap, CapSet};
    use crate::workload::ProcessCaps;

    const SERVICES: &str = r#"[
      {"ID": "svc1", "Spec": {"Name": "web", "Labels": {"dropcap.io/ignore": "DC009 legacy"},
        "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "User": "0",
          "CapabilityAdd": ["CAP_NET_ADMIN"], "CapabilityDrop": ["ALL"],
          "Sysctls": {"net.ipv4.ping_group_range": "0 0"}, "ReadOnly": true,
          "Privileges": {"CredentialSpec": null, "SELinuxContext": null}}},
        "Mode": {"Replicated": {"Replicas": 3}}}},
      {"ID": "svc2", "Spec": {"Name": "agent", "TaskTemplate": {"ContainerSpec": {"Image": "x"}},
        "Mode": {"Global": {}}}},
      {"ID": "svc3", "Spec": {"Name": "plug", "TaskTemplate": {"PluginSpec": {}}}}
    ]"#;

    fn parsed() -> (Vec<Workload>, Vec<String>) {
        let list: Vec<Service> = serde_json::from_str(SERVICES).unwrap();
        let mut notes = Vec::new();
        let w = list
            .into_iter()
            .filter_map(|s| workload_from_service(s).map_err(|n| notes.push(n)).ok())
            .collect();
        (w, notes)
    }

    #[test]
    fn specs_become_workloads() {
        let (w, notes) = parsed();
        assert_eq!(w.len(), 2);
        assert!(notes[0].contains("service plug runs no container"));
        let web = &w[0];
        assert_eq!(web.name, "web");
        assert_eq!(web.syntax, Syntax::Swarm);
        assert_eq!(web.cap_add[0].raw, "NET_ADMIN");
        assert!(web.drops_all());
        assert_eq!(web.effective(), CapSet::EMPTY.with(Cap::NET_ADMIN));
        assert_eq!(web.sysctl("net.ipv4.ping_group_range"), Some("0 0"));
        assert_eq!(web.suppressions[0].rule, "DC009");
        let info = web.service.as_ref().unwrap();
        assert_eq!(
            (info.mode, info.replicas),
            (ServiceMode::Replicated, Some(3))
        );
        let agent = w[1].service.as_ref().unwrap();
        assert_eq!((agent.mode, agent.replicas), (ServiceMode::Global, None));
        assert_eq!(w[1].effective(), CapSet::docker_default());
    }

    fn task(service_id: &str, name: &str, add: &[&str]) -> Workload {
        let mut c = Workload::new(name, SourceKind::Engine, Runtime::Docker, Syntax::Docker);
        c.task = Some(TaskLabels {
            service_id: service_id.into(),
            service_name: "web".into(),
            task_name: name.into(),
        });
        c.running = Some(true);
        c.cap_drop.push(crate::workload::CapEntry::new("ALL", None));
        c.cap_add = add
            .iter()
            .map(|a| crate::workload::CapEntry::new(a, None))
            .collect();
        let set = c.effective();
        c.processes.push(ProcessCaps {
            pid: 42,
            command: "sleep 600".into(),
            uid: 0,
            permitted: set,
            effective: set,
            bounding: set,
            ambient: CapSet::EMPTY,
        });
        c
    }

    #[test]
    fn tasks_join_their_service() {
        let (services, _) = parsed();
        let plain = Workload::new("db", SourceKind::Engine, Runtime::Docker, Syntax::Docker);
        let mut notes = Vec::new();
        let out = attach(
            Some(services.clone()),
            None,
            vec![task("svc1", "web.1.a", &["NET_ADMIN"]), plain.clone()],
            &mut notes,
        );
        let names: Vec<&str> = out.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["web", "agent", "db"]);
        assert_eq!(out[0].service.as_ref().unwrap().tasks, ["web.1.a"]);
        assert_eq!(out[0].processes.len(), 1);
        assert!(notes.is_empty(), "{notes:?}");
        assert!(crate::rules::drift::drift(&out[0]).is_empty());
        let mut history = task("svc1", "web.1.old", &["SYS_ADMIN"]);
        history.running = Some(false);
        let out = attach(Some(services.clone()), None, vec![history], &mut notes);
        assert!(out[0].service.as_ref().unwrap().tasks.is_empty());
        assert!(out[0].processes.is_empty() && notes.is_empty());

        // A task of an older spec: a note, and DC012 from its processes.
        let out = attach(
            Some(services.clone()),
            Some(&HashSet::new()),
            vec![task("svc1", "web.1.b", &["NET_ADMIN", "SYS_ADMIN"])],
            &mut notes,
        );
        assert_eq!(
            out.len(),
            1,
            "filters keep only services with a selected task"
        );
        assert!(
            notes[0].contains("task web.1.b of service web"),
            "{notes:?}"
        );
        let d = crate::rules::drift::drift(&out[0]);
        assert_eq!(d[0].capabilities, CapSet::EMPTY.with(Cap::SYS_ADMIN));

        // A worker: no spec, the task stands for its service.
        let selected = HashSet::from(["svc2".to_string()]);
        let out = attach(Some(services), Some(&selected), Vec::new(), &mut notes);
        assert_eq!(
            out[0].name, "agent",
            "a service the filters select, without tasks"
        );
        let out = attach(None, None, vec![task("svc9", "web.1.c", &[])], &mut notes);
        assert_eq!(out[0].name, "web");
        assert_eq!(out[0].syntax, Syntax::Swarm);
        assert!(out[0].service.as_ref().unwrap().from_task);
    }
}
