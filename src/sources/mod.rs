//! Static audit sources: compose files, Kubernetes manifests (YAML or JSON, `kubectl get`
//! output, Helm output on stdin) and saved `docker inspect` JSON, each turned into
//! [`Workload`]s whose locations point at the exact line and column of what was written.
//!
//! Files are classified by content, per document ([`detect`]), never only by name: a compose
//! file called `stack.yml` and a manifest called `web` are both found. A file that fails to
//! parse yields a [`SourceError`] with the parser's position and reason, and the documents
//! read before the error are kept, so a bad file never hides findings in good ones.

pub mod compose;
pub mod detect;
mod fifo;
pub mod inspect;
pub mod interpolate;
pub mod json;
pub mod kubernetes;
mod list_stream;
pub mod suppress;
pub mod tree;
pub mod walk;

use crate::workload::{CapEntry, Location, Suppression, Workload};
use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};
use tree::Pos;

pub use detect::DocKind;

/// Larger inputs are refused before they are read: real manifests are kilobytes, and even
/// `kubectl get all -A -o yaml` of a large cluster stays well below this.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Name shown for standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// An input that could not be read or parsed; the reporter prints it as
/// `path:line:col: error: message`. The same type the live audit reports.
pub use crate::report::InputError as SourceError;

impl SourceError {
    pub fn file(path: &Path, message: impl Into<String>) -> SourceError {
        SourceError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
    pub fn at(path: &Path, pos: Pos, message: impl Into<String>) -> SourceError {
        SourceError {
            path: path.to_path_buf(),
            line: Some(pos.line),
            column: Some(pos.col),
            message: message.into(),
        }
    }
}

/// What one input produced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub workloads: Vec<Workload>,
    pub errors: Vec<SourceError>,
    /// Documents of each kind seen (unknown documents are skipped quietly).
    pub kinds: Vec<DocKind>,
    /// Things worth saying that are not errors (a skipped template).
    pub notes: Vec<String>,
    /// The text failed to parse and holds `{{ ... }}`: most likely an unrendered template.
    pub template: bool,
    /// Documents and objects skipped as not auditable, and why (`--verbose` prints them).
    pub skipped: Vec<String>,
}

impl Loaded {
    fn error(e: SourceError) -> Loaded {
        Loaded {
            errors: vec![e],
            ..Loaded::default()
        }
    }
}

/// Per-file context the sources use to turn parser positions into [`Location`]s and to find
/// suppression comments.
pub struct Ctx<'a> {
    pub file: &'a Path,
    text: &'a str,
    /// Byte offset of each line start, built on the first suppression lookup: most files
    /// never need it, and 4 bytes a line keeps a multi-million-line list cheap.
    line_starts: std::cell::OnceCell<Vec<u32>>,
    /// Capability entries that are not capabilities, so far in this file.
    invalid: Cell<usize>,
    /// Set when the file is hostile or absurd (see [`Ctx::cap_entries`], [`Ctx::room`]): the
    /// current document is dropped and the rest of the file is not read.
    refused: Cell<Option<Pos>>,
    refused_why: Cell<&'static str>,
    comment_cache: std::cell::RefCell<std::collections::HashMap<u32, Vec<Suppression>>>,
}

/// 41 capabilities exist; a longer list is not configuration anyone wrote by hand.
pub const MAX_CAP_LIST: usize = 256;
/// Each entry that is not a capability costs a fuzzy "did you mean" search: a few typos are
/// worth reporting, thousands are not a manifest.
pub const MAX_INVALID_CAPS: usize = 1000;
/// Names longer than this cannot be capabilities; they are shortened before parsing.
const MAX_CAP_NAME: usize = 64;
/// Workloads per file: each costs about a kilobyte with its findings, so this bounds memory
/// for a file of a million empty services.
pub const MAX_WORKLOADS_PER_FILE: usize = 100_000;
pub(crate) const TOO_MANY_WORKLOADS: &str = "more than 100000 workloads in one file (split it)";
const _: () = assert!(MAX_WORKLOADS_PER_FILE == 100_000);

impl<'a> Ctx<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Ctx<'a> {
        Ctx {
            file,
            text,
            line_starts: std::cell::OnceCell::new(),
            invalid: Cell::new(0),
            refused: Cell::new(None),
            refused_why: Cell::new(""),
            comment_cache: std::cell::RefCell::default(),
        }
    }

    /// Where the file was refused (see [`Ctx::refuse`]), if it was.
    pub(crate) fn refused_at(&self) -> Option<Pos> {
        self.refused.get()
    }

    pub(crate) fn refused_reason(&self) -> &'static str {
        self.refused_why.get()
    }

    pub(crate) fn refuse(&self, pos: Pos, why: &'static str) {
        if self.refused.get().is_none() {
            self.refused.set(Some(pos));
            self.refused_why.set(why);
        }
    }

    /// Whether another workload may be added; refuses the file once it holds too many.
    pub fn room(&self, out: &Loaded, pos: Pos) -> bool {
        if out.workloads.len() >= MAX_WORKLOADS_PER_FILE {
            self.refuse(pos, TOO_MANY_WORKLOADS);
            return false;
        }
        self.refused.get().is_none()
    }

    /// Capability list entries with their locations, within the limits above.
    pub fn cap_entries<'t>(&self, items: impl Iterator<Item = (&'t str, Pos)>) -> Vec<CapEntry> {
        let mut out = Vec::new();
        for (raw, pos) in items {
            if out.len() >= MAX_CAP_LIST {
                self.refuse(pos, "a capability list with more than 256 entries");
                break;
            }
            let location = Some(self.loc(pos));
            if self.invalid.get() >= MAX_INVALID_CAPS {
                self.refuse(
                    pos,
                    "more than 1000 capability entries that are not capabilities",
                );
                break;
            }
            let entry = if raw.chars().count() > MAX_CAP_NAME {
                let short: String = raw.chars().take(MAX_CAP_NAME).collect();
                CapEntry::new(&format!("{short}..."), location)
            } else {
                CapEntry::new(raw, location)
            };
            if entry.caps.is_none() {
                self.invalid.set(self.invalid.get() + 1);
            }
            out.push(entry);
        }
        out
    }

    /// Line `i` (0-based) without its line break.
    fn line(&self, i: usize) -> Option<&'a str> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(
                    self.text
                        .bytes()
                        .enumerate()
                        .filter(|&(_, b)| b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect()
        });
        let start = *starts.get(i)? as usize;
        let end = starts.get(i + 1).map_or(self.text.len(), |&e| e as usize);
        let l = self.text.get(start..end)?;
        Some(l.trim_end_matches(['\n', '\r']))
    }
    pub fn loc(&self, pos: Pos) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line: pos.line,
            column: pos.col,
        }
    }
    /// Suppression comments for a workload declared on `pos.line`. Cached per line: in a
    /// minified `kubectl get -o json` list every pod sits on the same multi-megabyte line, and
    /// scanning it once per pod made 12,000 pods take minutes.
    pub fn comments(&self, pos: Pos) -> Vec<Suppression> {
        self.comment_cache
            .borrow_mut()
            .entry(pos.line)
            .or_insert_with(|| suppress::comments_with(&|i| self.line(i), pos.line))
            .clone()
    }
}

/// A capability list (`cap_add`, `add`...) must be a list of names, or empty: compose and
/// Kubernetes refuse anything else, and reading it as absent would hide what was meant.
pub(crate) fn list_shape(key: &str, v: &tree::Node, problems: &mut Vec<(Pos, String)>) {
    list_of(key, "capability names", v, problems);
}

/// A list of scalars (`what` says of which kind, for the message), or empty.
pub(crate) fn list_of(key: &str, what: &str, v: &tree::Node, problems: &mut Vec<(Pos, String)>) {
    if v.is_null() {
        return;
    }
    if !v.is_seq() {
        problems.push((v.pos, format!("{key} must be a list of {what}")));
        return;
    }
    if let Some(bad) = v.items().iter().find(|n| n.as_str().is_none()) {
        problems.push((bad.pos, format!("{key} entries must be {what}")));
    }
}

/// A field typed as a boolean: compose, kubectl and the engine refuse anything else, and
/// reading `privileged: "yes"` as false would hide what was meant.
pub(crate) fn bool_shape(key: &str, v: &tree::Node, problems: &mut Vec<(Pos, String)>) {
    if !v.is_null() && v.as_bool().is_none() {
        problems.push((v.pos, format!("{key} must be true or false")));
    }
}

/// A field typed as an object, for the same reason as [`bool_shape`].
pub(crate) fn map_shape(key: &str, v: &tree::Node, problems: &mut Vec<(Pos, String)>) {
    if !v.is_null() && !v.is_map() {
        problems.push((v.pos, format!("{key} must be a map")));
    }
}

/// Keys a mapping repeats. Compose and kubectl refuse such files; dropcap reads the last value
/// (see [`tree::Node::entries`]) but must say so, or a repeated service or `cap_add` could hide
/// the one the reader sees first.
pub(crate) fn duplicate_keys(map: &tree::Node, problems: &mut Vec<(Pos, String)>) {
    let tree::Kind::Map(pairs) = &map.kind else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    for (k, _) in pairs {
        if let Some(key) = k.as_str() {
            if !k.is_merge_key() && !seen.insert(key) {
                problems.push((
                    k.pos,
                    format!("duplicate key '{key}' (compose and kubectl refuse it; dropcap read the last one)"),
                ));
            }
        }
    }
}

/// Audits one file on disk.
pub fn load_file(path: &Path) -> Loaded {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Loaded::error(SourceError::file(path, io_reason(&e))),
    };
    if meta.is_file() && meta.len() > MAX_FILE_BYTES {
        // Only a List is read past the limit: item by item, never whole.
        let f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return Loaded::error(SourceError::file(path, io_reason(&e))),
        };
        return match list_stream::open(f) {
            Ok(list_stream::Opened::List(items)) => read_list(path, items),
            Ok(list_stream::Opened::Whole { .. }) => {
                Loaded::error(SourceError::file(path, too_large(meta.len())))
            }
            Err(e) => Loaded::error(SourceError::file(path, io_reason(&e))),
        };
    }
    let opened = if std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) {
        fifo::open(path)
    } else {
        std::fs::File::open(path)
    };
    match opened {
        Ok(f) => load_reader(path, f),
        Err(e) => Loaded::error(SourceError::file(path, io_reason(&e))),
    }
}

/// Audits a stream (standard input, a pipe), reading at most [`MAX_FILE_BYTES`], except a
/// `kubectl get -o json` List, which is read item by item at any size.
pub fn load_reader(name: &Path, reader: impl Read) -> Loaded {
    let (mut bytes, rest) = match list_stream::open(reader) {
        Ok(list_stream::Opened::List(items)) => return read_list(name, items),
        Ok(list_stream::Opened::Whole { head, rest }) => (head, rest),
        Err(e) => return Loaded::error(SourceError::file(name, io_reason(&e))),
    };
    let room = (MAX_FILE_BYTES + 1).saturating_sub(bytes.len() as u64);
    if let Err(e) = rest.take(room).read_to_end(&mut bytes) {
        return Loaded::error(SourceError::file(name, io_reason(&e)));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Loaded::error(SourceError::file(
            name,
            format!(
                "input is larger than {} MiB, the most dropcap reads (split it into smaller files)",
                MAX_FILE_BYTES / 1048576
            ),
        ));
    }
    load_bytes(name, &bytes)
}

/// Audits a List's items as they are read; on a terminal, says how far it got every few
/// thousand items (a cluster's list takes seconds).
fn read_list(name: &Path, items: list_stream::Splitter<impl Read>) -> Loaded {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let shown = std::cell::Cell::new(false);
    let out = list_stream::read_items(name, items, &mut |n| {
        if tty && n % 5000 == 0 {
            shown.set(true);
            eprint!("\rdropcap: {}: {n} List items read", name.display());
        }
    });
    if shown.get() {
        eprint!("\r\x1b[K");
    }
    out
}

/// Audits bytes: refuses binary data and invalid UTF-8 with a position, then parses.
pub fn load_bytes(name: &Path, bytes: &[u8]) -> Loaded {
    if let Some(decoded) = detect::decode_wide(bytes) {
        return match decoded {
            Ok(text) => load_text(name, &text),
            Err((pos, message)) => Loaded::error(SourceError::at(name, pos, message)),
        };
    }
    if let Some(i) = detect::binary_offset(bytes) {
        let pos = byte_pos(&bytes[..i]);
        return Loaded::error(SourceError::at(
            name,
            pos,
            "binary data (a NUL byte), not YAML or JSON",
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let pos = byte_pos(&bytes[..e.valid_up_to()]);
            return Loaded::error(SourceError::at(name, pos, "invalid UTF-8"));
        }
    };
    // A UTF-8 byte order mark is legal in YAML but would shift nothing we care about.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    load_text(name, text)
}

/// Parses every document of `text` and hands each to the source its content calls for.
pub fn load_text(name: &Path, text: &str) -> Loaded {
    load_text_with(name, text, &mut |_, _| {})
}

/// [`load_text`], also showing each document's tree with the workloads read from it, while
/// the tree is alive (documents are streamed): `dropcap fix` edits at the tree's positions
/// without parsing the text a second time.
pub fn load_text_with(
    name: &Path,
    text: &str,
    visit: &mut dyn FnMut(&tree::Node, &[Workload]),
) -> Loaded {
    load_documents(name, text, documents(text, false), visit)
}

/// [`load_text_with`] on trees that keep every value (environment, volumes, probes), which the
/// audit drops: `dropcap profile` runs a definition as it is written.
/// `vars`: interpolate compose documents with them first, as `docker compose up` does.
pub fn load_text_whole(
    name: &Path,
    text: &str,
    vars: Option<&interpolate::Vars>,
    visit: &mut dyn FnMut(&tree::Node, &[Workload]),
) -> Loaded {
    load_documents_with(name, text, documents(text, true), vars, visit)
}

fn load_documents(
    name: &Path,
    text: &str,
    docs: Box<dyn Iterator<Item = Result<tree::Doc, tree::TreeError>> + '_>,
    visit: &mut dyn FnMut(&tree::Node, &[Workload]),
) -> Loaded {
    load_documents_with(name, text, docs, None, visit)
}

fn load_documents_with(
    name: &Path,
    text: &str,
    docs: Box<dyn Iterator<Item = Result<tree::Doc, tree::TreeError>> + '_>,
    vars: Option<&interpolate::Vars>,
    visit: &mut dyn FnMut(&tree::Node, &[Workload]),
) -> Loaded {
    let ctx = Ctx::new(name, text);
    let mut out = Loaded::default();
    for doc in docs {
        let doc = match doc {
            Ok(d) => d,
            Err(e) => {
                out.errors.push(SourceError::at(name, e.pos, e.message));
                out.template = has_template_expressions(text);
                break;
            }
        };
        if !dispatch(&ctx, &doc, vars, &mut out, visit) {
            break;
        }
    }
    if !out.workloads.is_empty() && has_template_expressions(text) {
        // Valid YAML with `{{ }}` only inside strings: audited as written, but the rendered
        // chart may differ, and the reader must know the findings are about the template.
        out.notes.push(format!(
            "{}: note: holds template expressions ({{{{ ... }}}}); audited as written, audit the rendered output too",
            name.display()
        ));
    }
    out
}

/// Hands one document to the source its content calls for; false once the file is refused
/// (nothing more of it is read).
fn dispatch(
    ctx: &Ctx,
    doc: &tree::Doc,
    vars: Option<&interpolate::Vars>,
    out: &mut Loaded,
    visit: &mut dyn FnMut(&tree::Node, &[Workload]),
) -> bool {
    let (kind, why) = detect::classify_why(&doc.root);
    if let Some(why) = why {
        out.skipped
            .push(format!("{}: skipped: {why}", ctx.loc(doc.root.pos)));
    }
    let interpolated = match (kind, vars) {
        (DocKind::Compose, Some(vars)) => {
            let mut report = interpolate::Report::default();
            match interpolate::tree(&doc.root, vars, &mut report) {
                Ok(root) => {
                    for name in report.unset {
                        out.notes.push(format!(
                            "{}: variable {name} is not set; it becomes a blank string, as in compose",
                            ctx.file.display()
                        ));
                    }
                    Some(root)
                }
                Err((pos, message)) => {
                    out.errors.push(SourceError::at(ctx.file, pos, message));
                    return true;
                }
            }
        }
        _ => None,
    };
    let root = interpolated.as_deref().unwrap_or(&doc.root);
    let before = out.workloads.len();
    match kind {
        DocKind::Compose => compose::read(ctx, root, out),
        DocKind::Kubernetes => kubernetes::read(ctx, &doc.root, out),
        DocKind::Inspect => inspect::read(ctx, &doc.root, out),
        DocKind::Unknown => {}
    }
    out.kinds.push(kind);
    if let Some(pos) = ctx.refused.get() {
        out.workloads.truncate(before);
        out.errors.push(SourceError::at(
            ctx.file,
            pos,
            format!(
                "{}; dropcap refuses this document and the rest of the file",
                ctx.refused_why.get()
            ),
        ));
        return false;
    }
    visit(root, &out.workloads[before..]);
    true
}

fn has_template_expressions(text: &str) -> bool {
    text.find("{{").is_some_and(|i| text[i..].contains("}}"))
}

/// Flow-style YAML that is not JSON is only re-read with the YAML parser when small: the
/// YAML scanner's memory grows with flow content (see [`json`]).
const YAML_FALLBACK_MAX: usize = 1024 * 1024;

/// JSON goes to the JSON reader, everything else (and small flow YAML that is not JSON) to the
/// YAML parser; both produce the same positioned tree.
fn documents(
    text: &str,
    whole: bool,
) -> Box<dyn Iterator<Item = Result<tree::Doc, tree::TreeError>> + '_> {
    let yaml = if whole {
        tree::documents_whole
    } else {
        tree::documents
    };
    if !json::starts_like_json(text) {
        return Box::new(yaml(text));
    }
    Box::new(JsonFirst {
        text,
        json: Some(if whole {
            json::documents_whole(text)
        } else {
            json::documents(text)
        }),
        yaml: None,
        read: 0,
        whole,
    })
}

/// A text that starts like JSON: read with the JSON reader while it is JSON, and when it stops
/// being JSON (flow YAML such as `{a: 1}`, or a JSON document followed by `---` and YAML
/// documents), re-read with the YAML parser from the start, skipping the documents already
/// read, so nothing after the first non-JSON byte is lost. Only small texts are re-read (the
/// YAML scanner's memory grows with flow content); a large one gets the JSON reader's error.
struct JsonFirst<'a> {
    text: &'a str,
    json: Option<json::Docs<'a>>,
    yaml: Option<tree::Docs<'a>>,
    /// Documents already handed out.
    read: usize,
    whole: bool,
}

impl Iterator for JsonFirst<'_> {
    type Item = Result<tree::Doc, tree::TreeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(yaml) = self.yaml.as_mut() {
            return yaml.next();
        }
        let json = self.json.as_mut()?;
        let json_err = match json.next()? {
            Ok(d) => {
                self.read += 1;
                return Some(Ok(d));
            }
            Err(e) => e,
        };
        self.json = None;
        if self.text.len() > YAML_FALLBACK_MAX {
            return Some(Err(json_err));
        }
        let mut yaml = if self.whole {
            tree::documents_whole(self.text)
        } else {
            tree::documents(self.text)
        };
        for _ in 0..self.read {
            match yaml.next() {
                Some(Ok(_)) => {}
                // The YAML parser reads the same prefix differently (JSON values separated
                // only by whitespace): the JSON reader's account stands.
                _ => return Some(Err(json_err)),
            }
        }
        match yaml.next() {
            // Neither reader accepts it: the one that got further knows where it breaks
            // (`{a: [}` fails at its second byte as JSON, at the `}` as YAML).
            Some(Err(yaml_err)) => {
                let later =
                    (yaml_err.pos.line, yaml_err.pos.col) > (json_err.pos.line, json_err.pos.col);
                Some(Err(if later { yaml_err } else { json_err }))
            }
            Some(Ok(d)) => {
                self.yaml = Some(yaml);
                Some(Ok(d))
            }
            None => Some(Err(json_err)),
        }
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    // The OS message without Rust's " (os error N)" suffix.
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub(crate) fn too_large(len: u64) -> String {
    format!(
        "file is {:.1} MiB; dropcap reads inputs up to {} MiB (split it into smaller files)",
        len as f64 / 1048576.0,
        MAX_FILE_BYTES / 1048576
    )
}

/// Line and column (1-based, in characters) just after `prefix`.
fn byte_pos(prefix: &[u8]) -> Pos {
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&prefix[start..]).chars().count() + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

/// A path as the user will see it in findings: relative paths stay relative (SARIF wants
/// them relative to the repository root), `./` is dropped.
pub fn display_path(p: &Path) -> PathBuf {
    match p.strip_prefix(".") {
        // `.` itself must stay `.`: an empty path names nothing.
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// YAML-ish token soup reaches far more parser states than random bytes do.
    fn soup() -> impl Strategy<Value = String> {
        let tok = prop::sample::select(vec![
            "services:",
            "apiVersion: v1",
            "kind: Pod",
            "kind: List",
            "items:",
            "spec:",
            "containers:",
            "- ",
            "name: x",
            "cap_add:",
            "capabilities:",
            "add:",
            "[",
            "]",
            "{",
            "}",
            ",",
            ": ",
            "&a ",
            "*a",
            "<<: *a",
            "---",
            "...",
            "\n",
            "\n  ",
            "\n    ",
            "# dropcap:ignore DC001 x",
            "\"",
            "'",
            "NET_RAW",
            "ALL",
            "true",
            "null",
            "|",
            ">",
            "!!str ",
            "%YAML 1.2",
            "\t",
            "HostConfig:",
            "CapAdd:",
            "extends: x",
            "x:",
            // JSON, for the JSON reader (a soup starting with `{` or `[` goes there).
            "\"apiVersion\": \"v1\"",
            "\"kind\": \"Pod\"",
            "\"containers\":",
            "\"HostConfig\":",
            "\"status\":",
            "\\u00e9",
            "\\ud83d",
            "\\",
            "1e5",
            "-0.5",
            "é",
        ]);
        prop::collection::vec(tok, 0..80).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panics_on_token_soup(text in soup()) {
            let l = load_text(Path::new("f.yaml"), &text);
            for e in &l.errors {
                prop_assert!(e.line.unwrap_or(1) >= 1 && e.column.unwrap_or(1) >= 1);
            }
        }

        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = load_bytes(Path::new("f.yaml"), &bytes);
        }
    }

    #[test]
    fn display_paths() {
        for (given, shown) in [
            (".", "."),
            ("./", "./"),
            ("./a/b.yaml", "a/b.yaml"),
            ("a/./b", "a/b"),
            ("/abs/x", "/abs/x"),
            ("-", "-"),
        ] {
            assert_eq!(
                display_path(Path::new(given)),
                PathBuf::from(shown),
                "{given}"
            );
        }
    }

    #[test]
    fn a_json_document_followed_by_yaml_documents_loses_none() {
        let text = "{\"a\": 1}\n---\nb: [x]\n---\nc: 3\n";
        let docs: Vec<_> = documents(text, false).collect::<Result<_, _>>().unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[2].root.get("c").unwrap().pos, Pos { line: 5, col: 4 });
    }

    #[test]
    fn flow_yaml_errors_are_where_the_yaml_breaks() {
        let e = documents("{a: 1,\n b: [x}\n", false)
            .find_map(Result::err)
            .unwrap();
        assert_eq!(e.pos.line, 2, "{e:?}");
        // Broken JSON keeps the JSON reader's position when it got further.
        let e = documents("{\"a\": [1, 2,, 3]}", false)
            .find_map(Result::err)
            .unwrap();
        assert_eq!((e.pos.line, e.pos.col), (1, 13), "{e:?}");
    }

    #[test]
    fn cr_only_json_counts_lines_like_yaml() {
        let text = "{\"a\":\r \"x\",\r\"b\": [\r\r  1]}";
        let json = json::documents(text).next().unwrap().unwrap().root;
        let yaml = tree::documents(text).next().unwrap().unwrap().root;
        for r in [&json, &yaml] {
            assert_eq!(r.get("a").unwrap().pos, Pos { line: 2, col: 2 });
            assert_eq!(r.get("b").unwrap().items()[0].pos, Pos { line: 5, col: 3 });
        }
    }

    #[test]
    fn positions_of_invalid_utf8_and_nul() {
        let l = load_bytes(Path::new("f"), b"a: 1\nb: \xff\n");
        assert_eq!(l.errors[0].line, Some(2));
        assert_eq!(l.errors[0].column, Some(4));
        assert_eq!(l.errors[0].message, "invalid UTF-8");
        let l = load_bytes(Path::new("f"), b"ab\0");
        assert_eq!((l.errors[0].line, l.errors[0].column), (Some(1), Some(3)));
    }
}
