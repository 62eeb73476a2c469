//! Adapter from the eBPF tracer (`crate::trace`) to the profiler's [`super::trace::Tracer`]:
//! a container is followed through its cgroup v2 id (every process in it, also those started
//! by `docker exec`), a local trial through its pid and everything it forks.

use super::trace::{Observation, TraceSession, TraceTarget, Traced, Tracer};
use super::ProfileError;
use crate::trace::{self as bpf, TraceEvent};
use std::time::Duration;

pub struct Ebpf;

/// The tracer of this machine, or why there is none (the profile then starts from the whole
/// default set and says so). Checks privileges, BTF and the tracepoint up front, so a missing
/// piece is reported once instead of failing the first trial.
pub fn system_tracer() -> Result<Box<dyn Tracer>, String> {
    match bpf::privs::preflight() {
        Ok(()) => Ok(Box::new(Ebpf)),
        Err(bpf::privs::Missing::Btf) => Err("this kernel has no BTF".into()),
        Err(bpf::privs::Missing::Tracepoint) => {
            Err("this kernel has no capability:cap_capable tracepoint".into())
        }
        Err(bpf::privs::Missing::Privilege(what)) => Err(format!(
            "tracing needs root or CAP_BPF and CAP_PERFMON; this process lacks {what}"
        )),
    }
}

fn err(e: impl std::fmt::Display) -> ProfileError {
    ProfileError::Trace(e.to_string())
}

impl Tracer for Ebpf {
    fn name(&self) -> &'static str {
        "ebpf"
    }

    fn start(&mut self, target: &TraceTarget) -> Result<Box<dyn TraceSession>, ProfileError> {
        let t = match target {
            TraceTarget::Container { pid, .. } => {
                bpf::Target::Cgroup(bpf::cgroup::of_pid(*pid).map_err(err)?)
            }
            TraceTarget::Process(pid) => bpf::Target::Pids(vec![*pid]),
        };
        let tracer = bpf::Tracer::attach(t).map_err(err)?;
        Ok(Box::new(Session {
            tracer,
            events: Vec::new(),
        }))
    }
}

struct Session {
    tracer: bpf::Tracer,
    events: Vec<TraceEvent>,
}

fn observation(e: TraceEvent) -> Option<Observation> {
    // Checks made with someone else's credentials (overlayfs uses the mounter's) say
    // nothing about what the workload needs.
    e.own_cred.then(|| Observation {
        pid: e.pid,
        comm: e.comm,
        cap: e.cap,
        granted: e.granted,
        audit: e.audit,
        syscall: e.syscall.map(str::to_string),
        object: e.object,
    })
}

impl TraceSession for Session {
    fn pump(&mut self) -> Result<(), ProfileError> {
        let got = self.tracer.poll(Duration::ZERO).map_err(err)?;
        self.events.extend(got);
        Ok(())
    }

    fn stop(mut self: Box<Self>) -> Result<Traced, ProfileError> {
        self.pump()?;
        let Session { tracer, mut events } = *self;
        let (rest, summary) = tracer.stop().map_err(err)?;
        events.extend(rest);
        Ok(Traced {
            observations: events.into_iter().filter_map(observation).collect(),
            lost: summary.lost,
            attached_late: false,
        })
    }
}
