//! `dropcap profile`: find the minimal capability set of an image or a local command, proven
//! by real runs. The algorithm lives in `crate::profile`; this file turns flags into a runner,
//! a check and a tracer, and prints the report.

use super::CmdError;
use crate::output::{Format, Style};
use crate::profile::docker::{DockerRunner, DockerSpec};
use crate::profile::local::{LocalRunner, LocalSpec};
use crate::profile::spec::ContainerSpec;
use crate::profile::{self, file, interrupt, report, tryfix, Check, Options, Runner, Tracer};
use crate::Outcome;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("success").args(["check", "http", "exit_zero", "stays_up"])))]
pub struct ProfileArgs {
    /// Profile this image (local engine; never pulled): each trial is a new container.
    #[arg(
        long,
        conflicts_with_all = ["command", "file"],
        required_unless_present_any = ["command", "file"]
    )]
    pub image: Option<String>,
    /// A compose file or Kubernetes manifest (YAML or JSON) holding the definition to profile
    /// (with --service or --container): trials run it as written, with its own health check.
    #[arg(value_name = "FILE", conflicts_with = "command")]
    pub file: Option<PathBuf>,
    /// The compose service of FILE to profile.
    #[arg(
        long,
        value_name = "NAME",
        requires = "file",
        conflicts_with = "container"
    )]
    pub service: Option<String>,
    /// The Kubernetes container of FILE to profile.
    #[arg(long, value_name = "NAME", requires = "file")]
    pub container: Option<String>,
    /// The object holding --container when FILE has several (`Deployment/web`).
    #[arg(long, value_name = "KIND/NAME", requires = "container")]
    pub workload: Option<String>,
    /// Set or override an environment variable of the definition (repeatable); supplies what
    /// Kubernetes `valueFrom` would have.
    #[arg(long, value_name = "KEY=VALUE", requires = "file")]
    pub env: Vec<String>,
    /// Write the proven set into the definition (the edit `dropcap fix --profile` makes; the
    /// diff is shown; refused if FILE changed during the profile).
    #[arg(long, requires = "file")]
    pub fix: bool,
    /// Print the trial container the definition gives (image, command, environment after
    /// compose's interpolation, user, mounts, check, dependencies) and exit: no engine is
    /// asked, nothing is run.
    #[arg(long, requires = "file", conflicts_with_all = ["fix", "output", "try_fixes"])]
    pub dry_run: bool,
    /// Command line for the container, replacing the image's CMD (shell-style quoting).
    #[arg(long, requires = "image")]
    pub cmd: Option<String>,
    /// Success = the workload stays up and this shell command exits 0 (inside the container
    /// via `docker exec`, or on the host for a local command).
    #[arg(long)]
    pub check: Option<String>,
    /// Success = the workload stays up and answers GET on PORT/PATH with 2xx or 3xx (sent from
    /// the host inside the container's network namespace).
    #[arg(long, value_name = "PORT/PATH")]
    pub http: Option<String>,
    /// Success = the command exits 0 within the timeout (the default).
    #[arg(long)]
    pub exit_zero: bool,
    /// Success = the workload is still running after SECONDS (at least 1: every workload
    /// "stays up" for 0 seconds).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stays_up: Option<u64>,
    /// Run the workload as this user (`name`, `uid`, `uid:gid`).
    #[arg(long)]
    pub user: Option<String>,
    /// Seconds each trial may take before it counts as failed.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// Engine address: unix:///path, tcp://host:port or a socket path [default: $DOCKER_HOST,
    /// then unix:///var/run/docker.sock]. Podman: its `podman system service` socket.
    #[arg(long, short = 'H', value_name = "HOST")]
    pub host: Option<String>,
    /// Container network for trials.
    #[arg(long, default_value = "none", requires = "image")]
    pub network: String,
    /// Set a namespaced sysctl in every trial container (repeatable), e.g.
    /// `net.ipv4.ip_unprivileged_port_start=1024` to profile as production runs.
    #[arg(long, value_name = "KEY=VALUE", requires = "image")]
    pub sysctl: Vec<String>,
    /// Write the profile (JSON, see docs/profile.md) to FILE, to keep or apply later.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not trace: start from the whole default set (more trials, same proof).
    #[arg(long)]
    pub no_trace: bool,
    /// Also print the proven set for services outside an engine (comma-separated): a systemd
    /// drop-in, OCI `process.capabilities`, a setcap line. Default: all three for a local
    /// command, none for an image. JSON always has them.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FORM")]
    pub emit: Vec<super::emit::Emit>,
    /// Prove the proposed permission fixes: build a derived image with them (locally, then
    /// removed), run the check with the smaller set on the image as it is and on the derived
    /// one, and report both. With `--image` only: a definition's environment and volumes are
    /// not carried to the derived image yet.
    #[arg(long, requires = "image")]
    pub try_fixes: bool,
    /// The local command to profile (each trial runs it through `dropcap exec`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

fn check_of(args: &ProfileArgs) -> Result<Check, CmdError> {
    if let Some(c) = &args.check {
        if c.trim().is_empty() {
            return Err(CmdError::Usage("--check: empty command".into()));
        }
        return Ok(Check::Command { command: c.clone() });
    }
    if let Some(h) = &args.http {
        return Check::parse_http(h).map_err(CmdError::Usage);
    }
    if let Some(s) = args.stays_up {
        return Ok(Check::StaysUp { seconds: s });
    }
    Ok(Check::ExitZero)
}

const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// Everything a run needs, checked before the first trial: a mistake found after minutes of
/// trials costs those minutes.
/// `--sysctl KEY=VALUE` flags as pairs (preflight refused any without `=`).
pub(super) fn sysctl_pairs(args: &ProfileArgs) -> Vec<(String, String)> {
    args.sysctl
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn preflight(args: &ProfileArgs) -> Result<Check, CmdError> {
    if args.timeout == 0 {
        return Err(CmdError::Usage(
            "--timeout must be at least 1 second".into(),
        ));
    }
    // Deadlines are `Instant::now() + timeout`, which panics on overflow; a week is plenty.
    if args.timeout > MAX_TIMEOUT_SECS {
        return Err(CmdError::Usage(format!(
            "--timeout {} is too long (at most {MAX_TIMEOUT_SECS} seconds, a week)",
            args.timeout
        )));
    }
    let check = check_of(args)?;
    if let Check::StaysUp { seconds } = check {
        if seconds >= args.timeout {
            return Err(CmdError::Usage(format!(
                "--stays-up {seconds} must be shorter than --timeout {}",
                args.timeout
            )));
        }
    }
    if let Some(bad) = args.sysctl.iter().find(|s| !s.contains('=')) {
        return Err(CmdError::Usage(format!(
            "--sysctl '{bad}': expected KEY=VALUE"
        )));
    }
    if let Some(image) = &args.image {
        if image.trim().is_empty() {
            return Err(CmdError::Usage(
                "--image is empty (give an image name or id)".into(),
            ));
        }
        // The docker CLI would read it as one of its own options (`--image=--privileged`).
        if image.starts_with('-') {
            return Err(CmdError::Usage(format!(
                "--image '{image}' is not a valid image reference (it starts with '-')"
            )));
        }
    }
    if let Some(path) = &args.output {
        file::check_writable(path)?;
    }
    // A missing command fails every trial with exit 127, which would be reported as "the
    // check fails even with the default set": name it up front, as trace does.
    if let (None, Some(first)) = (&args.image, args.command.first()) {
        match crate::trace::launch::resolve(std::ffi::OsStr::new(first)) {
            None => return Err(CmdError::Usage(format!("{first}: command not found"))),
            Some(path) => {
                if let Err(e) = std::fs::metadata(&path) {
                    return Err(CmdError::Usage(format!(
                        "cannot run {first}: {}",
                        crate::sources::io_reason(&e)
                    )));
                }
            }
        }
    }
    // Local trials run `dropcap exec --user`: checked here, a bad user fails every trial with
    // nothing but "no process" from the tracer.
    if let (None, Some(user)) = (&args.image, &args.user) {
        crate::exec::resolve_user(user).map_err(|e| CmdError::Usage(e.to_string()))?;
    }
    Ok(check)
}

/// The binary a setcap line is for: a local command's resolved real path (setcap refuses
/// symbolic links), or an image's command when it is an absolute path (PATH lookups inside an
/// image are not resolved here).
fn binary_of(target: &crate::profile::runner::Target) -> Option<String> {
    match target {
        crate::profile::runner::Target::Command { argv, .. } => {
            let first = argv.first()?;
            let path = crate::trace::launch::resolve(std::ffi::OsStr::new(first))?;
            let real = std::fs::canonicalize(&path).unwrap_or(path);
            Some(real.to_string_lossy().into_owned())
        }
        crate::profile::runner::Target::Image { argv, .. } => {
            argv.first().filter(|a| a.starts_with('/')).cloned()
        }
    }
}

pub fn run(
    args: &ProfileArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, CmdError> {
    let check = preflight(args)?;
    let timeout = Duration::from_secs(args.timeout);
    interrupt::install();
    let selected = super::profile_def::select(args)?;
    if args.dry_run {
        if let Some(sel) = &selected {
            super::profile_def::dry_run(args, sel, check, format, out)?;
            return Ok(Outcome::Clean);
        }
    }
    let mut def_run = None;
    let mut runner: Box<dyn Runner> = match &args.image {
        None if selected.is_some() => {
            let sel = selected.as_ref().ok_or(CmdError::Usage(String::new()))?;
            let (r, d) = super::profile_def::start(args, sel, check.clone(), timeout)?;
            def_run = Some(d);
            r
        }
        Some(image) => {
            let cmd = match &args.cmd {
                Some(c) => Some(
                    profile::split_words(c)
                        .ok_or_else(|| CmdError::Usage(format!("--cmd '{c}': unbalanced quote")))?,
                ),
                None => None,
            }
            // An empty --cmd means the image's own CMD, as `docker run IMAGE` does.
            .filter(|w| !w.is_empty());
            let sysctls = sysctl_pairs(args);
            Box::new(DockerRunner::new(DockerSpec {
                container: ContainerSpec {
                    image: image.clone(),
                    cmd,
                    user: args.user.clone(),
                    network: args.network.clone(),
                    sysctls,
                    ..ContainerSpec::default()
                },
                check: check.clone(),
                timeout,
                host: args.host.clone(),
            })?)
        }
        None => Box::new(LocalRunner::new(LocalSpec {
            argv: args.command.clone(),
            user: args.user.clone(),
            check: check.clone(),
            timeout,
        })?),
    };
    let mut tracer: Option<Box<dyn Tracer>> = None;
    let mut tracer_note = None;
    if !args.no_trace {
        match profile::ebpf::system_tracer() {
            Ok(t) => tracer = Some(t),
            Err(why) => tracer_note = Some(why),
        }
    }
    let live = std::io::stderr().is_terminal();
    if live {
        crate::say!("dropcap profile: {}", report::target_line(&runner.target()));
        if let Some(n) = &tracer_note {
            crate::say!("  no tracer: {n}");
        }
    }
    let mut progress = |t: &report::TrialRecord| {
        if live {
            crate::say!("{}", report::trial_line(t, Style { color: false }));
        }
    };
    // The image's file capabilities, read on a thread of their own while the first trials
    // run (see Options::image_files_later).
    let mut options = Options::default();
    let profiled_image = args
        .image
        .clone()
        .or_else(|| def_run.as_ref().map(|d| d.defined.spec.image.clone()));
    if let Some(image) = &profiled_image {
        let later: profile::driver::ImageFilesLater = Default::default();
        options.image_files_later = Some(later.clone());
        let (host, names) = (args.host.clone(), vec![image.clone()]);
        let limit = timeout.max(Duration::from_secs(60));
        std::thread::spawn(move || {
            let read = crate::engine::export::read_images_blocking(host.as_deref(), &names, limit);
            let _ = later.set(match read.into_iter().next() {
                Some(Ok(files)) => Ok(std::sync::Arc::new(files)),
                Some(Err(e)) => Err(e.to_string()),
                None => Err("the engine gave no answer".to_string()),
            });
        });
    }
    let mut rep = profile::profile(
        runner.as_mut(),
        tracer.as_mut().map(|t| &mut **t as &mut dyn Tracer),
        &options,
        &mut progress,
    )?;
    if let Some(n) = tracer_note {
        rep.notes.insert(0, format!("tracer unavailable: {n}"));
    }
    let image_note = options
        .image_files_later
        .as_ref()
        .and_then(|l| l.get())
        .and_then(|r| r.as_ref().err())
        .map(|e| format!("the image's file capabilities were not read: {e}"));
    if let Some(n) = image_note {
        rep.notes.push(n);
    }
    if let Some(d) = &def_run {
        super::profile_def::finish(d, &mut rep);
    }
    let binary = binary_of(&rep.target);
    rep.recommendation.outside = crate::caps::outside::Outside::new(
        rep.proven,
        &crate::caps::outside::RunAs::from_user(args.user.as_deref()),
        binary.as_deref(),
    );
    let fixes = super::profile_fixes::of(args, &rep, runner.as_mut(), &check, timeout, live)?;
    let whole = tryfix::WithFixes {
        report: &rep,
        permission_fixes: fixes.as_ref(),
    };
    if let Some(path) = &args.output {
        let mut json = serde_json::to_vec_pretty(&whole)?;
        json.push(b'\n');
        file::write_bytes_atomic(path, &json)?;
    }
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &whole)?;
            writeln!(out)?;
        }
        _ => {
            out.write_all(report::render(&rep, style).as_bytes())?;
            // A definition runs an image as much as `--image` does.
            let image = super::profile_fixes::image_of(&rep.target).is_some();
            if let Some(f) = &fixes {
                out.write_all(tryfix::render(f, image, style).as_bytes())?;
            }
            let emit = if args.emit.is_empty() && !image {
                vec![super::emit::Emit::All]
            } else {
                args.emit.clone()
            };
            let extra =
                super::emit::render(&rep.recommendation.outside, &emit, binary.as_deref(), style);
            out.write_all(extra.as_bytes())?;
            if let Some(path) = &args.output {
                writeln!(out, "profile written to {}", path.display())?;
            }
        }
    }
    if let (true, Some(d)) = (args.fix, &def_run) {
        // JSON on stdout stays one document: the diff goes to stderr there.
        if format == Format::Json {
            super::profile_def::write_fix(d, &rep, style, &mut std::io::stderr())?;
        } else {
            writeln!(out)?;
            super::profile_def::write_fix(d, &rep, style, out)?;
        }
    }
    Ok(Outcome::Clean)
}
