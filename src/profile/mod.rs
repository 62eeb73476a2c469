//! Discovering the minimal capability set of a workload, and proving it by real runs.
//!
//! The flow (see `docs/profile.md`): a [`runner::Runner`] runs one trial of the workload with a
//! given set (a container on the local engine, or a local command through `dropcap exec`); a
//! [`trace::Tracer`] watches a trial and reports capability checks; [`driver::profile`] traces a
//! run with the default set, verifies the candidates, and [`search::minimise`] shrinks them by
//! trial. Only a set that passed a real trial is ever reported as proven.

pub mod check;
pub mod create;
pub mod deadline;
pub mod definition;
pub mod docker;
pub mod driver;
pub mod ebpf;
pub mod exec_in;
pub mod file;
pub mod interrupt;
pub mod local;
pub mod permfix;
pub mod probe;
pub mod report;
pub mod runner;
pub mod scratch;
pub mod search;
pub mod spec;
mod tls;
pub mod trace;
pub mod tryfix;
mod words;

pub use check::Check;
pub use driver::{profile, Options};
pub use report::Report;
pub use runner::{Runner, TrialCaps, TrialResult};
pub use trace::{Observation, TraceTarget, Tracer};
pub use words::split_words;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("interrupted; every container and process this run created has been removed")]
    Interrupted,
    #[error("docker {args}: {reason}")]
    Docker { args: String, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("tracer: {0}")]
    Trace(String),
    #[error("{0}")]
    NotProven(String),
}

impl ProfileError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> ProfileError {
        ProfileError::Io {
            what: what.into(),
            source,
        }
    }
}
