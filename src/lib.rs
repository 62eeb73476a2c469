//! dropcap: find the Linux capabilities a container really needs, and drop the rest.
//!
//! The library holds every stage; `main.rs` only parses arguments, dispatches to a command's
//! `run` and maps its [`Outcome`] or error to an exit code.

/// `eprintln!` panics when stderr is a closed pipe (`dropcap … 2>&1 | head -1` once head has
/// exited); a message nobody can read must not turn exit 2 into a panic's 101.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod caps;
pub mod cmd;
pub mod engine;
pub mod exec;
pub mod fix;
pub mod image;
pub mod output;
pub mod ping;
pub mod process;
pub mod profile;
pub mod report;
pub mod rules;
pub mod sources;
pub mod trace;
pub mod workload;

/// What a command concluded, mapped to exit codes the way ripgrep does: 0 clean, 1 findings
/// (at or above the user's threshold), 2 an error. A command that processed some inputs but
/// failed on others returns `Error` after reporting what it could, so good inputs next to a
/// bad one are never lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean = 0,
    Findings = 1,
    Error = 2,
}

impl Outcome {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The worse of two outcomes, for commands that process many inputs.
    pub fn worst(self, other: Outcome) -> Outcome {
        if other.code() > self.code() {
            other
        } else {
            self
        }
    }
}
