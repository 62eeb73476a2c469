//! Swarm: a service audited from its spec, and the compose keys `docker stack deploy` drops.
//!
//! A service is one workload however many tasks it runs, because `docker service update` and
//! the stack file change all of them at once; a task container on this node only lends the
//! service its real sets from `/proc`.

use super::Location;
use serde::Serialize;

/// How Swarm schedules a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceMode {
    /// `replicas` tasks, placed where constraints allow.
    Replicated,
    /// One task on every node that satisfies the constraints.
    Global,
}

/// What a service workload carries beyond the container model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwarmService {
    pub mode: ServiceMode,
    /// The desired count of a replicated service; `None` for global ones.
    pub replicas: Option<u64>,
    /// Names of the service's running task containers on this node; empty when none runs
    /// here, which does not stop the spec from being audited.
    pub tasks: Vec<String>,
    /// Built from a task container because the engine is not a manager (or the service was
    /// gone by the time it was listed): its configuration is the task's, not the spec's.
    pub from_task: bool,
}

impl SwarmService {
    /// `replicated 3, 1 task on this node` or `global, no task on this node`.
    pub fn summary(&self) -> String {
        let mode = match (self.mode, self.replicas) {
            (ServiceMode::Replicated, Some(n)) => format!("replicated {n}"),
            (ServiceMode::Replicated, None) => "replicated".to_string(),
            (ServiceMode::Global, _) => "global".to_string(),
        };
        let tasks = match self.tasks.len() {
            0 => "no task on this node".to_string(),
            1 => "1 task on this node".to_string(),
            n => format!("{n} tasks on this node"),
        };
        format!("{mode}, {tasks}")
    }
}

/// The swarm labels a task container carries (set by the engine, not the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLabels {
    pub service_id: String,
    pub service_name: String,
    /// `web.1.k2j3...`: what `docker ps` shows as the container name.
    pub task_name: String,
}

impl TaskLabels {
    pub const SERVICE_ID: &'static str = "com.docker.swarm.service.id";
    pub const SERVICE_NAME: &'static str = "com.docker.swarm.service.name";
    pub const TASK_NAME: &'static str = "com.docker.swarm.task.name";

    /// `None` for a container that is not a swarm task.
    pub fn from_labels(labels: &std::collections::HashMap<String, String>) -> Option<TaskLabels> {
        Some(TaskLabels {
            service_id: labels.get(Self::SERVICE_ID)?.clone(),
            service_name: labels.get(Self::SERVICE_NAME)?.clone(),
            task_name: labels.get(Self::TASK_NAME).cloned().unwrap_or_default(),
        })
    }
}

/// A compose key `docker stack deploy` does not apply ("Ignoring unsupported options: ..."),
/// among those that change what a container may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackIgnored {
    /// `privileged` or `security_opt`.
    pub key: &'static str,
    pub location: Option<Location>,
}

/// What the compose reader noted for a service that may be deployed as a stack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackUse {
    /// The service has a `deploy:` section: written for Swarm, though `docker compose` reads
    /// part of it too.
    pub deploy: Option<Location>,
    /// `--stack`: the file is deployed with `docker stack deploy`, so the ignored keys are left
    /// out of the model the rules see.
    pub as_stack: bool,
    /// Keys written in the service that a stack deploy would ignore.
    pub ignored: Vec<StackIgnored>,
}

impl StackUse {
    /// Whether DC022 has something to say: the keys matter only for a stack.
    pub fn stack_likely(&self) -> bool {
        self.as_stack || self.deploy.is_some()
    }
}

/// `--stack`: what `docker stack deploy` makes of a compose service. `privileged` and
/// `security_opt` never reach the containers, so the rules judge the service without them
/// (DC022 still points at where they were written).
pub fn deploy_as_stack(w: &mut super::Workload) {
    if w.source != super::SourceKind::Compose {
        return;
    }
    w.stack.as_stack = true;
    w.privileged.value = false;
    w.no_new_privileges = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let mut s = SwarmService {
            mode: ServiceMode::Replicated,
            replicas: Some(3),
            tasks: vec!["web.1.x".into()],
            from_task: false,
        };
        assert_eq!(s.summary(), "replicated 3, 1 task on this node");
        s.mode = ServiceMode::Global;
        s.tasks.clear();
        assert_eq!(s.summary(), "global, no task on this node");
    }

    #[test]
    fn task_labels() {
        let mut l = std::collections::HashMap::new();
        l.insert(TaskLabels::SERVICE_NAME.to_string(), "web".to_string());
        assert_eq!(TaskLabels::from_labels(&l), None);
        l.insert(TaskLabels::SERVICE_ID.to_string(), "abc".to_string());
        let t = TaskLabels::from_labels(&l).unwrap();
        assert_eq!(t.service_name, "web");
        assert_eq!(t.task_name, "");
    }
}
