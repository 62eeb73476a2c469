//! `dropcap profile FILE --service NAME` / `--container NAME [--workload KIND/NAME]`: the
//! trials run the definition as written (see `crate::profile::definition`), inside the
//! scratch copies and fresh volumes of `crate::profile::scratch`, judged by the definition's
//! own health check unless `--check`/`--http`/`--exit-zero`/`--stays-up` says otherwise.

use super::profile::ProfileArgs;
use super::CmdError;
use crate::fix;
use crate::output::Style;
use crate::profile::definition::{self, Defined, Select};
use crate::profile::docker::{DockerRunner, DockerSpec};
use crate::profile::scratch::{Scratch, ScratchRunner};
use crate::profile::{report::Report, Check, Runner};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// "Stays up" seconds for a definition without a health check and without `--stays-up`.
pub const DEFAULT_STAYS_UP: u64 = 5;

/// What the report and `--fix` need to know about the definition once the trials are done.
pub struct DefinitionRun {
    pub defined: Defined,
    /// The file as read before the first trial: `--fix` refuses to write over a file that
    /// changed since.
    pub before: Vec<u8>,
    pub notes: Vec<String>,
}

/// The selection the flags make, `None` for the `--image` and `-- CMD` forms.
pub fn select(args: &ProfileArgs) -> Result<Option<Select>, CmdError> {
    let Some(file) = &args.file else {
        return Ok(None);
    };
    match (&args.service, &args.container) {
        (Some(s), None) => Ok(Some(Select::Service(s.clone()))),
        (None, Some(c)) => Ok(Some(Select::Container {
            name: c.clone(),
            workload: args.workload.clone(),
        })),
        _ => Err(CmdError::Usage(format!(
            "{}: say which definition to profile: --service NAME (compose) or --container NAME (Kubernetes)",
            file.display()
        ))),
    }
}

fn env_overrides(args: &ProfileArgs) -> Result<Vec<(String, String)>, CmdError> {
    args.env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| CmdError::Usage(format!("--env '{kv}': expected KEY=VALUE")))
        })
        .collect()
}

/// Whether the command line names the check itself.
fn check_given(args: &ProfileArgs) -> bool {
    args.check.is_some() || args.http.is_some() || args.exit_zero || args.stays_up.is_some()
}

/// Reads the definition, prepares its scratch copies, volumes and dependencies, and returns
/// the runner for its trials. Nothing is created before the definition and its image are
/// known to be good.
pub fn start(
    args: &ProfileArgs,
    sel: &Select,
    flags_check: Check,
    timeout: Duration,
) -> Result<(Box<dyn Runner>, DefinitionRun), CmdError> {
    let file = args.file.as_deref().unwrap_or(Path::new(""));
    let before = std::fs::read(file).unwrap_or_default();
    let (defined, notes, check) = resolve(args, sel, flags_check)?;
    let mut notes = notes;
    let mut spec = defined.spec.clone();
    let scratch = Scratch::prepare(
        &mut spec,
        &defined.dependencies,
        args.host.as_deref(),
        timeout,
        &defined.location.to_string(),
    )?;
    notes.extend(scratch.notes.iter().cloned());
    let inner = DockerRunner::new(DockerSpec {
        container: spec,
        check,
        timeout,
        host: args.host.clone(),
    })?;
    Ok((
        Box::new(ScratchRunner::new(Box::new(inner), scratch)),
        DefinitionRun {
            defined,
            before,
            notes,
        },
    ))
}

/// `--dry-run`: what [`start`] would run, printed instead of run.
pub fn dry_run(
    args: &ProfileArgs,
    sel: &Select,
    flags_check: Check,
    format: crate::output::Format,
    out: &mut dyn Write,
) -> Result<(), CmdError> {
    let (defined, notes, check) = resolve(args, sel, flags_check)?;
    let w = |r: std::io::Result<()>| r.map_err(CmdError::Io);
    if format == crate::output::Format::Json {
        let doc = super::profile_dry::json(&defined, &notes, &check);
        w(serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::other))?;
        return w(writeln!(out));
    }
    w(super::profile_dry::table(&defined, &notes, &check, out))
}

/// The definition with `--env` and `--user` applied, its notes, and the check trials use.
fn resolve(
    args: &ProfileArgs,
    sel: &Select,
    flags_check: Check,
) -> Result<(Defined, Vec<String>, Check), CmdError> {
    let file = args.file.as_deref().unwrap_or(Path::new(""));
    let mut defined = definition::read(file, sel, &env_overrides(args)?)
        .map_err(|e| CmdError::Usage(e.to_string()))?;
    let mut notes = std::mem::take(&mut defined.notes);
    if !defined.missing_env.is_empty() {
        notes.push(format!(
            "{}: not set (valueFrom is not resolved; give them with --env KEY=VALUE): {}",
            defined.location,
            defined.missing_env.join(", ")
        ));
    }
    if let Some(u) = &args.user {
        defined.spec.user = Some(u.clone());
    }
    let check = if check_given(args) {
        flags_check
    } else {
        match &defined.probe {
            Some(p) => Check::Probe(p.clone()),
            None => {
                notes.push(format!(
                    "{}: no health check in the definition: success is \"stays up for {DEFAULT_STAYS_UP}s\" (--stays-up SECONDS changes it)",
                    defined.location
                ));
                Check::StaysUp {
                    seconds: DEFAULT_STAYS_UP,
                }
            }
        }
    };
    Ok((defined, notes, check))
}

/// Names the definition in the report, with its notes.
pub fn finish(run: &DefinitionRun, rep: &mut Report) {
    let mut d = run.defined.definition.clone();
    d.line = Some(run.defined.location.line);
    rep.definition = Some(d);
    rep.notes.extend(run.notes.iter().cloned());
}

/// `--fix`: the proven set written into the definition by `dropcap fix`'s own code (the
/// same edit, the same diff, the same temp file + atomic rename), refused when the file
/// changed on disk since the profile read it.
pub fn write_fix(
    run: &DefinitionRun,
    rep: &Report,
    style: Style,
    out: &mut dyn Write,
) -> Result<(), CmdError> {
    let file = &run.defined.definition.file;
    let image = Some(run.defined.spec.image.clone());
    let opts = fix::Options {
        policy: crate::rules::Policy::Strict,
        rules: Vec::new(),
        profiles: vec![fix::Profile {
            path: file.clone(),
            image,
            proven: rep.proven,
            definition: Some(run.defined.definition.clone()),
        }],
        workloads: Vec::new(),
        force: false,
    };
    let text = String::from_utf8_lossy(&run.before).into_owned();
    let fixed = fix::fix_text(file, &text, &opts);
    if let Some(e) = fixed.errors.first() {
        return Err(CmdError::Usage(e.to_string()));
    }
    let name = file.display().to_string();
    if fixed.fixed == text {
        writeln!(out, "{name}: already sets exactly the proven capabilities")?;
        return Ok(());
    }
    out.write_all(fix::diff::unified(&name, &text, &fixed.fixed, style).as_bytes())?;
    fix::write::replace(file, &run.before, fixed.fixed.as_bytes())
        .map_err(|e| CmdError::Usage(e.to_string()))?;
    writeln!(out, "{name}: written")?;
    Ok(())
}
