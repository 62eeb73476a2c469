//! One module per subcommand: each owns its clap `Args` and a `run` that writes to `out` and
//! returns an [`crate::Outcome`]. Commands write to a `Write` instead of stdout so tests can
//! capture output and `main` can treat a closed pipe as success.

pub mod audit;
pub mod audit_live;
pub mod completions;
pub mod decode;
pub mod emit;
pub mod exec;
pub mod explain;
pub mod fix;
pub mod image;
pub mod man;
pub mod ping;
pub mod profile;
pub mod profile_def;
pub mod profile_dry;
mod profile_fixes;
pub mod ps;
pub mod trace;

use thiserror::Error;

/// Errors shared by the simple commands; each names what failed and why, in one line.
#[derive(Debug, Error)]
pub enum CmdError {
    #[error(transparent)]
    Caps(#[from] crate::caps::CapParseError),
    #[error(transparent)]
    Proc(#[from] crate::process::ProcError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}
