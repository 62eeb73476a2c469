//! `dropcap image`: the files of an image that decide whether a capability set works, and
//! what a given set does to them (binaries that cannot exec, setuid binaries that regain it).

use super::CmdError;
use crate::caps::{parse_set, spell, CapSet};
use crate::image::{self, analyse, FileEntry, ImageError, ImageFiles, Verdict};
use crate::output::{printable, Format, Style};
use crate::workload::effective_caps;
use crate::Outcome;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// Images of the local engine (name:tag or id), read through the Engine API's image export.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// A `docker save` archive or an OCI image-layout archive (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub tar: Vec<PathBuf>,
    /// An unpacked root file system (like `getcap -r DIR`).
    #[arg(long, value_name = "DIR")]
    pub rootfs: Vec<PathBuf>,
    /// Judge the files against this bounding set, in any spelling (`'ALL -NET_RAW'`,
    /// `CHOWN,NET_RAW`, `0xa80425fb`, `''` for none).
    #[arg(long, value_name = "SET", allow_hyphen_values = true, conflicts_with_all = ["cap_add", "cap_drop"])]
    pub caps: Option<String>,
    /// Like `docker run --cap-drop` (from Docker's default set); repeatable.
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Like `docker run --cap-add`; repeatable.
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// The container runs with no-new-privileges: setuid binaries regain nothing.
    #[arg(long)]
    pub no_new_privileges: bool,
    /// Engine address (default: DOCKER_HOST, then /var/run/docker.sock).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Seconds to wait for the engine before giving up on an image.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub timeout: u64,
}

/// The bounding set the flags describe, `None` when none was given.
fn bounding(args: &ImageArgs) -> Result<Option<CapSet>, CmdError> {
    if let Some(text) = &args.caps {
        return Ok(Some(parse_set(text)?));
    }
    if args.cap_add.is_empty() && args.cap_drop.is_empty() {
        return Ok(None);
    }
    let is_all = |s: &String| s.trim().eq_ignore_ascii_case("all");
    let named = |list: &[String]| -> Result<CapSet, CmdError> {
        let mut set = CapSet::EMPTY;
        for s in list.iter().filter(|s| !is_all(s)) {
            set = set.union(parse_set(s)?);
        }
        Ok(set)
    };
    Ok(Some(effective_caps(
        CapSet::docker_default(),
        named(&args.cap_add)?,
        args.cap_add.iter().any(is_all),
        named(&args.cap_drop)?,
        args.cap_drop.iter().any(is_all),
        false,
    )))
}

#[derive(Serialize)]
struct FileJson<'a> {
    #[serde(flatten)]
    file: &'a FileEntry,
    setuid: bool,
    setgid: bool,
    /// libcap's text, as `getcap` prints it.
    capability_text: Option<String>,
}

#[derive(Serialize)]
struct ImageJson<'a> {
    image: &'a str,
    id: Option<&'a str>,
    layers: usize,
    files: Vec<FileJson<'a>>,
    notes: &'a [String],
    /// The set judged against; `null` when none was given.
    bounding: Option<CapSet>,
    no_new_privileges: bool,
    verdicts: &'a [Verdict],
}

pub fn run(
    args: &ImageArgs,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> Result<Outcome, CmdError> {
    if args.images.is_empty() && args.tar.is_empty() && args.rootfs.is_empty() {
        return Err(CmdError::Usage(
            "image: name an IMAGE of the engine, --tar FILE or --rootfs DIR".into(),
        ));
    }
    let set = bounding(args)?;
    let mut results: Vec<Result<ImageFiles, ImageError>> = Vec::new();
    if !args.images.is_empty() {
        results.extend(crate::engine::export::read_images_blocking(
            args.host.as_deref(),
            &args.images,
            Duration::from_secs(args.timeout.max(1)),
        ));
    }
    results.extend(args.tar.iter().map(|p| image::read_tar(p, None)));
    results.extend(args.rootfs.iter().map(|p| image::read_rootfs(p)));

    let mut outcome = Outcome::Clean;
    let mut read = Vec::new();
    for r in results {
        match r {
            Ok(files) => read.push(files),
            Err(e) => {
                crate::say!("dropcap: image: {}", printable(&e.to_string()));
                outcome = Outcome::Error;
            }
        }
    }
    let verdicts: Vec<Vec<Verdict>> = read
        .iter()
        .map(|f| set.map_or_else(Vec::new, |b| analyse(f, b, args.no_new_privileges)))
        .collect();
    if verdicts.iter().any(|v| !v.is_empty()) {
        outcome = outcome.worst(Outcome::Findings);
    }
    match format {
        Format::Json => {
            let docs: Vec<ImageJson> = read
                .iter()
                .zip(&verdicts)
                .map(|(f, v)| ImageJson {
                    image: &f.image,
                    id: f.id.as_deref(),
                    layers: f.layers,
                    files: f
                        .files
                        .iter()
                        .map(|file| FileJson {
                            file,
                            setuid: file.setuid(),
                            setgid: file.setgid(),
                            capability_text: file.capability.map(|c| c.text()),
                        })
                        .collect(),
                    notes: &f.notes,
                    bounding: set,
                    no_new_privileges: args.no_new_privileges,
                    verdicts: v,
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &docs)?;
            writeln!(out)?;
        }
        _ => {
            for (f, v) in read.iter().zip(&verdicts) {
                print_table(f, v, set, args.no_new_privileges, style, out)?;
            }
        }
    }
    Ok(outcome)
}

fn print_table(
    f: &ImageFiles,
    verdicts: &[Verdict],
    set: Option<CapSet>,
    nnp: bool,
    style: Style,
    out: &mut dyn Write,
) -> Result<(), CmdError> {
    let mut head = style.bold(&printable(&f.image));
    if let Some(id) = &f.id {
        let short = id.trim_start_matches("sha256:");
        head.push_str(&format!("  id {}", &short[..short.len().min(12)]));
    }
    if f.layers > 0 {
        let s = if f.layers == 1 { "" } else { "s" };
        head.push_str(&format!("  {} layer{s}", f.layers));
    }
    writeln!(out, "{head}")?;
    for file in &f.files {
        let path = printable(&file.path);
        if let Some(c) = &file.capability {
            let mut extra = format!("revision {}", c.revision);
            if let Some(root) = c.rootid {
                extra.push_str(&format!(", rootid {root}"));
                if root != 0 {
                    extra.push_str(": ignored outside a user namespace whose root is that uid");
                }
            }
            writeln!(
                out,
                "  capability  {path}  {}  {}",
                c.text(),
                style.dim(&format!("({extra})"))
            )?;
        }
        if let Some(e) = &file.capability_error {
            writeln!(out, "  bad xattr   {path}  {e}")?;
        }
        if file.setuid() || file.setgid() {
            let label = match (file.setuid(), file.setgid()) {
                (true, true) => "setuid+gid",
                (true, false) => "setuid    ",
                _ => "setgid    ",
            };
            writeln!(
                out,
                "  {label}  {path}  {:04o} {}:{}",
                file.mode,
                printable(&file.owner()),
                printable(&file.group_name())
            )?;
        }
    }
    for note in &f.notes {
        writeln!(out, "  {} {}", style.dim("note:"), printable(note))?;
    }
    let caps = f.capability_files().count();
    let setid = f.setid_files().count();
    let mut summary = format!("{caps} with file capabilities, {setid} setuid/setgid");
    if let Some(b) = set {
        let nnp = if nnp { ", no-new-privileges" } else { "" };
        writeln!(
            out,
            "  against bounding set {} ({}){nnp}:",
            spell::compact(b),
            b.len()
        )?;
        for v in verdicts {
            let label = style.risk(crate::caps::Risk::High, v.kind.as_str());
            writeln!(out, "  {label}  {}: {}", printable(&v.path), v.message)?;
            writeln!(out, "      fix: {}", v.fix)?;
        }
        let fails = verdicts
            .iter()
            .filter(|v| v.kind == image::VerdictKind::ExecFails)
            .count();
        let regain = verdicts
            .iter()
            .filter(|v| v.kind == image::VerdictKind::SetuidRoot)
            .count();
        summary.push_str(&format!(
            "; {fails} will fail to exec, {regain} setuid-root can regain capabilities"
        ));
    }
    writeln!(out, "{summary}")?;
    Ok(())
}
