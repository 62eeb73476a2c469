//! `dropcap fix`: write the audit's remediations and a proven profile into compose files and
//! Kubernetes manifests. By default it only prints the unified diff; `--write` applies it,
//! `--check` exits 1 when something would change (for CI and pre-commit hooks).

use crate::fix::{self, Options, Profile};
use crate::output::{printable, Format, Style};
use crate::report::InputError;
use crate::rules::Policy;
use crate::sources::{self, detect, walk};
use crate::Outcome;
use serde::Serialize;
use std::io::{Read, Write};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Compose files, Kubernetes manifests (YAML or JSON) or directories (walked recursively,
    /// honouring .gitignore). `-` is refused: there is nothing to write back to.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Fix the findings of this rule (repeatable). Without --rule and --profile: every finding
    /// of the policy that has a mechanical fix.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// A profile written by `dropcap profile -o FILE` (repeatable): its workload gets exactly
    /// drop: [ALL] and add: the proven set.
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// Apply the profiles to this workload (compose service, Kubernetes `Kind/name` or
    /// container name; repeatable) instead of to the workloads running the profile's image.
    #[arg(long = "workload", visible_aliases = ["service", "container"], value_name = "NAME")]
    pub workloads: Vec<String>,
    /// Apply a profile even to a workload whose image differs from the one it was proven with.
    #[arg(long)]
    pub force: bool,
    /// Rule set whose findings are fixed.
    #[arg(long, value_enum, default_value_t = Policy::Strict)]
    pub policy: Policy,
    /// Write the fixes into the files (default: only print the diff).
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Print the diff and exit 1 when any change is pending (0 when none).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Error)]
pub enum FixError {
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Serialize)]
struct JsonFile {
    path: String,
    diff: String,
}

#[derive(Serialize)]
struct JsonUnfixed {
    rule: &'static str,
    workload: String,
    container: Option<String>,
    location: Option<crate::workload::Location>,
    reason: String,
}

#[derive(Serialize)]
struct JsonSummary {
    files_changed: usize,
    findings_fixed: usize,
    unfixed: usize,
    errors: usize,
}

#[derive(Serialize)]
struct JsonReport {
    schema_version: u32,
    mode: &'static str,
    files: Vec<JsonFile>,
    notes: Vec<String>,
    unfixed: Vec<JsonUnfixed>,
    errors: Vec<InputError>,
    summary: JsonSummary,
}

/// One input's bytes, or `None` when a file found in a directory is not configuration dropcap
/// reads (the same choice `audit` makes: extension, binary content, a manifest's look).
fn read_input(input: &walk::Input) -> Option<Result<(PathBuf, Vec<u8>), InputError>> {
    let (p, found) = match input {
        walk::Input::Stdin => return None,
        walk::Input::File(p) => (p, false),
        walk::Input::Found(p) => (p, true),
    };
    let by_name = detect::has_config_extension(p);
    if found && !by_name && p.extension().is_some() {
        return None;
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(p)
        .and_then(|f| f.take(sources::MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Some(Err(InputError::file(p, sources::io_reason(&e))));
    }
    if bytes.len() as u64 > sources::MAX_FILE_BYTES {
        return Some(Err(InputError::file(
            p,
            "larger than 64 MiB, the most dropcap reads",
        )));
    }
    if found {
        if detect::binary_offset(&bytes).is_some() {
            return None;
        }
        if !by_name && !detect::looks_like_config(&String::from_utf8_lossy(&bytes)) {
            return None;
        }
    }
    Some(Ok((p.clone(), bytes)))
}

struct Done {
    path: PathBuf,
    before: String,
    fix: fix::FileFix,
}

/// One input fixed in memory; `None` when it is not dropcap's business.
fn fix_input(input: &walk::Input, opts: &Options) -> Option<Result<Done, Vec<InputError>>> {
    let (path, bytes) = match read_input(input)? {
        Ok(x) => x,
        Err(e) => return Some(Err(vec![e])),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        // The audit's reader names the position of the bad byte.
        Err(e) => return Some(Err(sources::load_bytes(&path, e.as_bytes()).errors)),
    };
    let fix = fix::fix_text(&path, &text, opts);
    if !fix.errors.is_empty() && fix.workloads == 0 && text.contains("{{") && text.contains("}}") {
        // A Helm template has nothing to fix until rendered; a pre-commit hook hands `fix
        // --check` every staged manifest, templates included, and must not fail on them.
        crate::say!(
            "dropcap: {}: skipped: a template ({{{{ ... }}}}); fix its values or the rendered output instead",
            printable(&path.display().to_string())
        );
        return None;
    }
    if matches!(input, walk::Input::Found(_)) && !fix.errors.is_empty() && fix.workloads == 0 {
        // A walked file that is not dropcap's business (a tsconfig.json with comments, a
        // Helm template) is skipped, as `audit` skips it.
        if walk::load(input).is_none_or(|l| l.errors.is_empty()) {
            return None;
        }
    }
    Some(Ok(Done {
        path,
        before: text,
        fix,
    }))
}

/// `f(0..n)` on every available core, results in order.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .clamp(1, 16)
        .min(n.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            return mine;
                        }
                        mine.push((i, f(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut all: Vec<(usize, T)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

pub fn run(
    args: &FixArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, FixError> {
    let mut errors: Vec<InputError> = Vec::new();
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        crate::say!("dropcap: fix: `-` (standard input) is refused: fix edits files in place and has nothing to write back to; give the file's path");
        return Ok(Outcome::Error);
    }
    if format == Format::Sarif {
        crate::say!("dropcap: fix: --format sarif is for audit; use table or json");
        return Ok(Outcome::Error);
    }
    let mut profiles = Vec::new();
    for p in &args.profiles {
        match Profile::read(p) {
            Ok(p) => profiles.push(p),
            Err(e) => {
                crate::say!("dropcap: {}", printable(&e.to_string()));
                return Ok(Outcome::Error);
            }
        }
    }
    for r in &args.rules {
        if !crate::rules::catalog()
            .iter()
            .any(|i| i.id.eq_ignore_ascii_case(r))
        {
            crate::say!("dropcap: fix: --rule {}: no such rule (see `dropcap audit --help` or README's rule table)", printable(r));
            return Ok(Outcome::Error);
        }
    }
    let opts = Options {
        policy: args.policy,
        rules: args.rules.clone(),
        profiles,
        workloads: args.workloads.clone(),
        force: args.force,
    };
    let (mut inputs, walk_errors) = walk::inputs(&args.paths);
    errors.extend(walk_errors);
    // A file reached twice (named and in a named directory, or through a symlink) is fixed
    // once: a second write would find it changed on disk by the first.
    let mut seen = std::collections::HashSet::new();
    inputs.retain(|i| match i {
        walk::Input::File(p) | walk::Input::Found(p) => {
            seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        }
        walk::Input::Stdin => true,
    });
    // Files are fixed on every core: each is independent, and a fix parses its file at least
    // twice (the last round proves the result parses and has nothing left to fix).
    let results = parallel(inputs.len(), |i| fix_input(&inputs[i], &opts));
    let mut done: Vec<Done> = Vec::new();
    let mut hits = vec![0usize; opts.profiles.len()];
    for r in results.into_iter().flatten() {
        match r {
            Err(e) => errors.extend(e),
            Ok(d) => {
                for (h, n) in hits.iter_mut().zip(&d.fix.profile_hits) {
                    *h += n;
                }
                errors.extend(d.fix.errors.iter().cloned());
                done.push(d);
            }
        }
    }
    for (p, n) in opts.profiles.iter().zip(&hits) {
        if *n == 0 {
            let what = match (&p.definition, &p.image) {
                (Some(d), _) => format!("its definition ({}) is not among them", d.file.display()),
                (None, Some(img)) => format!("no workload runs image {img}"),
                (None, None) => "it profiled a local command, not an image".to_string(),
            };
            let how = if opts.workloads.is_empty() {
                "; name the workload with --workload NAME (and --force if its image differs)"
            } else {
                ""
            };
            errors.push(InputError::file(
                &p.path,
                format!("profile matches no workload in the given paths: {what}{how}"),
            ));
        }
    }
    let profile_failed = hits.contains(&0);
    // JSON carries the diff as plain text, whatever the terminal.
    let diff_style = if format == Format::Json {
        Style { color: false }
    } else {
        style
    };
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let mut unfixed = Vec::new();
    let mut fixed_findings = 0;
    let mut changed = 0;
    for d in &done {
        let name = d.path.display().to_string();
        for n in &d.fix.notes {
            notes.push(format!("{name}: {n}"));
        }
        unfixed.extend(d.fix.unfixed.iter().cloned());
        if profile_failed || !d.fix.errors.is_empty() || d.fix.fixed == d.before {
            continue;
        }
        changed += 1;
        fixed_findings += d.fix.fixed_findings;
        files.push(JsonFile {
            path: name.clone(),
            diff: fix::diff::unified(&name, &d.before, &d.fix.fixed, diff_style),
        });
        if args.write {
            if let Err(e) =
                fix::write::replace(&d.path, d.before.as_bytes(), d.fix.fixed.as_bytes())
            {
                errors.push(InputError::file(&d.path, e.reason()));
            }
        }
    }
    let mode = if args.write {
        "write"
    } else if args.check {
        "check"
    } else {
        "diff"
    };
    if format == Format::Json {
        let report = JsonReport {
            schema_version: 1,
            mode,
            summary: JsonSummary {
                files_changed: files.len(),
                findings_fixed: fixed_findings,
                unfixed: unfixed.len(),
                errors: errors.len(),
            },
            files,
            notes,
            unfixed: unfixed
                .iter()
                .map(|u| JsonUnfixed {
                    rule: u.finding.rule,
                    workload: u.finding.workload.name.clone(),
                    container: u.finding.workload.container.clone(),
                    location: u.finding.location.clone(),
                    reason: u.reason.clone(),
                })
                .collect(),
            errors: errors.clone(),
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        for f in &files {
            out.write_all(f.diff.as_bytes())?;
        }
        for n in &notes {
            writeln!(out, "note: {}", printable(n))?;
        }
        if !unfixed.is_empty() {
            writeln!(out, "{}", style.bold("not fixed:"))?;
            for u in &unfixed {
                let f = &u.finding;
                let loc = f
                    .location
                    .as_ref()
                    .map_or(String::new(), |l| format!("{l}: "));
                writeln!(
                    out,
                    "{}{} {}: {}",
                    printable(&loc),
                    f.rule,
                    printable(&f.workload.display_name()),
                    printable(&u.reason)
                )?;
            }
        }
        let verb = if args.write {
            "changed"
        } else {
            "would change"
        };
        writeln!(
            out,
            "{changed} file{} {verb}, {fixed_findings} finding{} fixed; {} without a mechanical fix; {} error{}",
            if changed == 1 { "" } else { "s" },
            if fixed_findings == 1 { "" } else { "s" },
            unfixed.len(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
        )?;
    }
    for e in &errors {
        crate::say!("{}", printable(&e.to_string()));
    }
    Ok(if !errors.is_empty() {
        Outcome::Error
    } else if args.check && changed > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
