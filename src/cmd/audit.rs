//! `dropcap audit`: check what containers are given against a policy.
//!
//! With paths, the audit is static: compose files, Kubernetes manifests and saved inspect JSON
//! are read (`-` is standard input, for `helm template ... | dropcap audit -`), and findings
//! point at the exact line and column. Without paths it audits the local engine's containers.
//! Both feed the same rule engine and reporters, so a rule reads the same everywhere.

use crate::output::{printable, Format, Style};
use crate::report::{self, InputError, Report};
use crate::rules::{Policy, Severity};
use crate::sources::{self, walk, DocKind};
use crate::workload::Workload;
use crate::Outcome;
use std::io::Write;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Compose files, Kubernetes manifests (YAML or JSON, `kubectl get -o yaml|json`), saved
    /// `docker inspect` output, or directories (walked recursively, honouring .gitignore).
    /// `-` reads standard input. Without paths: the containers of the local engine.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Rule set to apply.
    #[arg(long, value_enum, default_value_t = Policy::Strict)]
    pub policy: Policy,
    /// Exit with 1 when an unsuppressed finding has at least this severity.
    #[arg(long, value_enum, default_value_t = Severity::Low, value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Also read hidden files and directories (`.github/`, `.devcontainer/`...) in directory
    /// walks; without it dropcap says how many YAML/JSON files it left out.
    #[arg(long)]
    pub hidden: bool,
    /// Say on stderr why each skipped document or object was not audited (a Helm values
    /// file, a Service, an API dump with a `services` key, a `docker ps` list...).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Static audit: also read the images the workloads name, when the local engine has them,
    /// for their file capabilities and setuid binaries (rules DC020, DC021).
    #[arg(long, requires = "paths")]
    pub images: bool,
    /// Compose files are deployed with `docker stack deploy`: judge them as Swarm runs them
    /// (privileged and security_opt are ignored there; rule DC022 says where they are
    /// written). Without it, DC022 still warns for services with a `deploy:` section.
    #[arg(long, requires = "paths")]
    pub stack: bool,
    /// Engine options, used only without paths.
    #[command(flatten)]
    pub engine: super::audit_live::EngineArgs,
}

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

pub fn run(
    args: &AuditArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, AuditError> {
    let report = if args.paths.is_empty() {
        return Ok(super::audit_live::run_engine(
            &args.engine,
            args.policy,
            args.fail_on,
            format,
            style,
            out,
            &mut std::io::stderr(),
        )?);
    } else {
        let (mut workloads, errors) = static_workloads_with(&args.paths, args.hidden, args.verbose);
        if args.images {
            attach_images(&mut workloads, args.engine.host.first().map(String::as_str));
        }
        if args.stack {
            workloads
                .iter_mut()
                .for_each(crate::workload::deploy_as_stack);
        }
        Report::build(args.policy, args.fail_on, None, workloads, errors)
    };
    report::write(&report, format, style, out, &mut std::io::stderr())?;
    Ok(report.outcome())
}

/// Reads every input: a bad file becomes an error next to the other files' workloads, never
/// the end of the audit.
pub fn static_workloads(paths: &[PathBuf]) -> (Vec<Workload>, Vec<InputError>) {
    static_workloads_with(paths, false, false)
}

/// [`static_workloads`] with `--hidden` and `--verbose`.
pub fn static_workloads_with(
    paths: &[PathBuf],
    hidden: bool,
    verbose: bool,
) -> (Vec<Workload>, Vec<InputError>) {
    let (inputs, mut errors, skipped_hidden) = walk::inputs_with(paths, hidden);
    for h in &skipped_hidden {
        let example = h
            .example
            .as_ref()
            .map(|e| format!(", e.g. {}", e.display()))
            .unwrap_or_default();
        crate::say!(
            "dropcap: {}: skipped {} YAML/JSON file{} in hidden files or directories{}; --hidden audits them",
            printable(&h.root.display().to_string()),
            h.files,
            if h.files == 1 { "" } else { "s" },
            printable(&example)
        );
    }
    let mut workloads = Vec::new();
    // Files found in directories that held something to audit, or something to say.
    let mut audited: Vec<&std::path::Path> = Vec::new();
    for input in &inputs {
        let Some(loaded) = walk::load(input) else {
            continue;
        };
        let auditable =
            !loaded.errors.is_empty() || loaded.kinds.iter().any(|k| *k != DocKind::Unknown);
        let name = match input {
            walk::Input::Found(p) => {
                if auditable || !loaded.notes.is_empty() {
                    audited.push(p);
                }
                None
            }
            walk::Input::File(p) => Some(p.display().to_string()),
            walk::Input::Stdin => Some(sources::STDIN_NAME.to_string()),
        };
        // Only for inputs named on the command line: a directory walk is full of such files.
        if let Some(name) = name.filter(|_| !auditable) {
            // Not an error (a Helm values file is fine YAML), but worth saying.
            crate::say!(
                "dropcap: {}: nothing to audit (no compose services, Kubernetes workloads or inspect output)",
                printable(&name)
            );
        }
        for n in &loaded.notes {
            crate::say!("dropcap: {}", printable(n));
        }
        if verbose {
            for n in &loaded.skipped {
                crate::say!("dropcap: {}", printable(n));
            }
        }
        workloads.extend(loaded.workloads);
        errors.extend(loaded.errors);
    }
    // The same note for a named directory: a silent "0 findings" would pass a CI gate that
    // audited nothing.
    for dir in paths.iter().filter(|p| p.as_os_str() != "-" && p.is_dir()) {
        let dir = sources::display_path(dir);
        if !audited.iter().any(|p| p.starts_with(&dir)) {
            crate::say!(
                "dropcap: {}: nothing to audit (no compose files, Kubernetes manifests or inspect output in it)",
                printable(&dir.display().to_string())
            );
        }
    }
    (workloads, errors)
}

/// Reads each image the workloads name from the local engine, once, and says which could not
/// be read (not pulled here, no engine): their workloads are audited without DC020/DC021.
fn attach_images(workloads: &mut [Workload], host: Option<&str>) {
    let mut names: Vec<String> = workloads.iter().filter_map(|w| w.image.clone()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return;
    }
    let read = crate::engine::export::read_images_blocking(
        host,
        &names,
        std::time::Duration::from_secs(600),
    );
    let mut by_name = std::collections::HashMap::new();
    for (name, result) in names.iter().zip(read) {
        match result {
            Ok(files) => {
                by_name.insert(name.clone(), std::sync::Arc::new(files));
            }
            Err(e) => crate::say!(
                "dropcap: note: {}: not read, DC020/DC021 not checked for it",
                printable(&e.to_string())
            ),
        }
    }
    for w in workloads.iter_mut() {
        w.image_files = w.image.as_ref().and_then(|i| by_name.get(i).cloned());
    }
}
