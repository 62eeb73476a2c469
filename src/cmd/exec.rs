//! `dropcap exec --caps LIST [--user U] -- CMD ARGS`: run a command with exactly LIST in the
//! bounding, permitted, effective, inheritable and ambient sets (like `setpriv`). It is the
//! primitive behind `dropcap profile -- CMD`, and handy alone to test a set by hand.

use crate::caps::parse_list;
use crate::exec::{self, ExecError, Plan};
use std::ffi::OsString;

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Capabilities to keep, in any spelling (`NET_RAW,CHOWN`, `cap_net_raw`, a mask); `''`
    /// or `-` for none.
    #[arg(long, allow_hyphen_values = true)]
    pub caps: String,
    /// Become this user (`name`, `uid`, `name:group`, `uid:gid`) and keep the capabilities.
    #[arg(long)]
    pub user: Option<String>,
    /// Internal: wait for one byte on this file descriptor after the sets are in place and
    /// before `execve`, so `profile` can attach its tracer to a process that has not started
    /// the workload yet.
    #[arg(long, hide = true)]
    pub gate_fd: Option<i32>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecCmdError {
    #[error("--caps: {0}")]
    Caps(#[from] crate::caps::CapParseError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl ExecCmdError {
    /// 127 when the command cannot be found or run, as `env` and shells do; 2 for dropcap's
    /// own errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            ExecCmdError::Exec(ExecError::Exec { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                127
            }
            ExecCmdError::Exec(ExecError::Exec { .. }) => 126,
            _ => 2,
        }
    }
}

/// Never returns on success: the process becomes the command.
pub fn run(args: &ExecArgs) -> ExecCmdError {
    match prepare(args) {
        Ok(()) => exec::exec(&args.command).into(),
        Err(e) => e,
    }
}

fn prepare(args: &ExecArgs) -> Result<(), ExecCmdError> {
    let caps = parse_list(&args.caps)?;
    let identity = args.user.as_deref().map(exec::resolve_user).transpose()?;
    exec::apply(&Plan { caps, identity })?;
    if let Some(fd) = args.gate_fd {
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into a local buffer; a closed or bad fd only returns
        // an error or 0, either of which releases the gate.
        unsafe {
            libc::read(fd, b.as_mut_ptr().cast(), 1);
            libc::close(fd);
        }
    }
    Ok(())
}
