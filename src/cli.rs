//! Command-line definition. Each subcommand's flags live with the command in `dropcap::cmd`.

use clap::{Parser, Subcommand};
use dropcap::cmd;
use dropcap::output::{ColorChoice, Format};

/// The version and the commit it was built from (build.rs; "unknown" outside a git checkout),
/// so a bug report names the exact code.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DROPCAP_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "dropcap",
    version = VERSION,
    about = "Find the Linux capabilities a container really needs, and drop the rest",
    propagate_version = true,
    subcommand_value_name = "COMMAND"
)]
pub struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// When to colour human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Neither read nor write the image-analysis cache ($XDG_CACHE_HOME/dropcap, else
    /// ~/.cache/dropcap): every image is exported from the engine again [env:
    /// DROPCAP_NO_CACHE=1].
    #[arg(long, global = true)]
    pub no_cache: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// `allow_negative_numbers`: `--pid -1` is a bad value to be named as such, not an unknown
/// flag `-1`. Not for ping, whose HOST must not become `-1`: its options take hyphenated
/// values the way iputils' getopt does.
///
/// One `Command` is parsed per run, so the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit compose files, Kubernetes manifests or saved inspect JSON (or, without paths,
    /// the local engine's containers) against a capability policy.
    #[command(allow_negative_numbers = true)]
    Audit(cmd::audit::AuditArgs),
    /// Write the audit's remediations and a proven profile into compose files and Kubernetes
    /// manifests (prints a diff; --write applies it, --check exits 1 when changes are pending).
    Fix(cmd::fix::FixArgs),
    /// Decode capability masks to names, or show the five sets of a process.
    #[command(allow_negative_numbers = true)]
    Decode(cmd::decode::DecodeArgs),
    /// Explain what a capability allows, what fails without it, and the safer alternative.
    #[command(allow_negative_numbers = true)]
    Explain(cmd::explain::ExplainArgs),
    /// File capabilities and setuid/setgid binaries of an image, and what a capability set
    /// does to them (binaries that cannot exec, setuid binaries that regain capabilities).
    #[command(allow_negative_numbers = true)]
    Image(cmd::image::ImageArgs),
    /// List processes holding capabilities, grouped by container.
    #[command(allow_negative_numbers = true)]
    Ps(cmd::ps::PsArgs),
    /// Run a command with exactly the given capabilities in all five sets (like setpriv).
    #[command(allow_negative_numbers = true)]
    Exec(cmd::exec::ExecArgs),
    /// Find the minimal capability set of an image or command, and prove it by real runs.
    #[command(allow_negative_numbers = true)]
    Profile(cmd::profile::ProfileArgs),
    /// Watch every capability check of a command, process tree, container or the host (eBPF).
    #[command(allow_negative_numbers = true)]
    Trace(cmd::trace::TraceArgs),
    /// ICMP echo without NET_RAW, through a datagram socket (iputils options and output).
    Ping(cmd::ping::PingArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::completions::CompletionsArgs),
    /// Print the manual page (roff): every command in one page, or one command's page.
    Man(cmd::man::ManArgs),
}
