//! The promises each fuzz target checks, beyond "no crash". Every function takes the raw
//! input and panics (which AFL records as a crash) when a promise is broken.
//!
//! Without the `afl` feature a target replays the files named on its command line, which is
//! how CI runs the seeds and every saved regression input on each build.

use dropcap::output::{Format, Style};
use dropcap::rules::{Policy, Severity};
use dropcap::sources::{self, tree, Ctx, Loaded};
use std::path::Path;

/// Positions are 1-based and inside the text (a column may point just past a line's end).
fn check_pos(text: &str, line: u32, col: u32, what: &str) {
    assert!(
        line >= 1 && col >= 1,
        "{what}: position {line}:{col} is not 1-based"
    );
    // Lines as YAML counts them: `\r\n`, `\n` and a lone `\r` each end one.
    let lines = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .count() as u32;
    assert!(
        line <= lines + 1,
        "{what}: line {line} past the end ({lines} lines)"
    );
}

/// The YAML/JSON tree reader: documents or one positioned error, never anything else.
pub fn tree(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for doc in tree::documents(text) {
        if let Err(e) = doc {
            check_pos(text, e.pos.line, e.pos.col, "yaml error");
            assert!(!e.message.is_empty(), "an error without a reason");
        }
    }
    for doc in sources::json::documents(text) {
        if let Err(e) = doc {
            check_pos(text, e.pos.line, e.pos.col, "json error");
        }
    }
}

/// The whole static audit of one input, as `dropcap audit FILE` runs it: every error has a
/// position when it has a line, the JSON and SARIF reports are valid JSON, the exit-code class
/// follows from errors and findings.
pub fn audit(data: &[u8]) {
    let loaded = sources::load_bytes(Path::new("fuzz.yaml"), data);
    check_loaded(data, &loaded);
    let errors = loaded.errors.clone();
    let report = dropcap::report::Report::build(
        Policy::Strict,
        Severity::Low,
        None,
        loaded.workloads,
        errors,
    );
    for format in [Format::Json, Format::Sarif, Format::Table] {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        dropcap::report::write(&report, format, Style { color: false }, &mut out, &mut err)
            .expect("writing to memory");
        if format != Format::Table {
            let v: serde_json::Value = serde_json::from_slice(&out).expect("report is valid JSON");
            assert!(v.is_object());
        }
        // Every input error is exactly one line on stderr.
        let lines = err.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines, report.errors.len(), "errors are one line each");
    }
    let code = report.outcome().code();
    if report.errors.is_empty() {
        assert!(code <= 1, "no error but exit {code}");
    } else {
        assert_eq!(code, 2, "an input error must exit 2");
    }
}

fn check_loaded(data: &[u8], loaded: &Loaded) {
    let text = String::from_utf8_lossy(data);
    for e in &loaded.errors {
        assert!(!e.message.is_empty(), "an error without a reason");
        if let Some(line) = e.line {
            check_pos(&text, line, e.column.unwrap_or(1), &e.message);
        }
    }
    for w in &loaded.workloads {
        if let Some(loc) = &w.location {
            check_pos(&text, loc.line, loc.column, "workload");
        }
    }
}

/// One source reader on any parsed document, whatever its detected kind, so each reader sees
/// shapes detection would have sent elsewhere.
fn source(data: &[u8], read: fn(&Ctx, &tree::Node, &mut Loaded)) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    let ctx = Ctx::new(path, text);
    let mut out = Loaded::default();
    for doc in tree::documents(text).take(8) {
        match doc {
            Ok(d) => read(&ctx, &d.root, &mut out),
            Err(_) => break,
        }
    }
    check_loaded(data, &out);
}

pub fn compose(data: &[u8]) {
    source(data, sources::compose::read);
}

pub fn kubernetes(data: &[u8]) {
    source(data, sources::kubernetes::read);
    list_stream(data);
}

/// Hands out a few bytes per read, so the List streamer meets every cut an input can have.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A `kubectl get -o json` List read item by item from a stream must say what reading the
/// whole text says: errors with positions inside the input, and when the stream has no error,
/// neither has the whole text and both found the same workloads. (The other way round does
/// not hold: a small whole text that is not JSON is re-read as YAML, and the stream refuses a
/// duplicate `items` that the whole text reads silently.)
fn list_stream(data: &[u8]) {
    let name = Path::new("fuzz.json");
    let cut = 1 + data.first().map_or(0, |b| usize::from(*b) % 13);
    let streamed = sources::load_reader(name, Trickle(data, cut));
    check_loaded(data, &streamed);
    let whole = sources::load_bytes(name, data);
    if streamed.errors.is_empty() {
        // Valid JSON item by item is valid JSON as a whole.
        assert!(
            whole.errors.is_empty(),
            "only the whole text fails: {:?}",
            whole.errors
        );
        assert_eq!(
            format!("{:?}", streamed.workloads),
            format!("{:?}", whole.workloads),
            "streamed and whole readings differ"
        );
    }
}

pub fn inspect(data: &[u8]) {
    source(data, sources::inspect::read);
}

/// `/proc/PID/status` parsing: any text is an error or a status, and the five sets are
/// capability sets whatever the masks said.
pub fn proc_status(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = dropcap::process::status::ProcStatus::parse(&text, 1, Path::new("/proc/1/status"));
}

/// Capability text as `decode` and `--caps` take it: whatever parses prints back to a form
/// that parses to the same set.
pub fn caps_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    use dropcap::caps::parse;
    let _ = parse::parse_cap(text);
    let _ = parse::parse_mask(text);
    let _ = parse::FileCaps::parse(text);
    if let Ok(set) = parse::parse_list(text) {
        let hex = set.to_hex();
        assert_eq!(
            parse::parse_list(&hex).expect("hex parses"),
            set,
            "{text:?} -> {hex}"
        );
        let lib = dropcap::caps::spell::libcap_text(set);
        assert_eq!(
            parse::parse_list(&lib).expect("libcap text parses"),
            set,
            "{text:?} -> {lib}"
        );
    }
}

/// Suppression comments and annotation values: only catalog ids (or `*`), each once.
pub fn suppress(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let max = dropcap::rules::catalog().len() + 1;
    let s = sources::suppress::parse_value(text);
    assert!(s.len() <= max, "{} suppressions from one value", s.len());
    let lines: Vec<&str> = text.lines().collect();
    for line in 1..=lines.len().min(64) as u32 {
        for s in sources::suppress::comments_at(&lines, line) {
            assert!(
                s.rule == "*" || dropcap::rules::catalog().iter().any(|r| r.id == s.rule),
                "unknown rule kept: {}",
                s.rule
            );
        }
    }
}

/// The `fix` editor: whatever it writes parses again without an error, and fixing the result
/// changes nothing more (fix∘fix = fix).
pub fn fix(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    let opts = dropcap::fix::Options::default();
    let once = dropcap::fix::fix_text(path, text, &opts);
    if !once.errors.is_empty() || once.fixed == text {
        return;
    }
    let reread = sources::load_text(path, &once.fixed);
    assert!(
        reread.errors.is_empty(),
        "fixed text does not parse: {:?}\n{}",
        reread.errors,
        once.fixed
    );
    let twice = dropcap::fix::fix_text(path, &once.fixed, &opts);
    assert_eq!(twice.fixed, once.fixed, "a second fix changed the text");
}

/// Replays files (directories are walked) through `check`, for CI and for reproducing a
/// crash: `target/release/audit crash-file`. Prints a closing count line.
pub fn replay(check: fn(&[u8])) {
    let mut files = Vec::new();
    for arg in std::env::args_os().skip(1) {
        collect(Path::new(&arg), &mut files);
    }
    let mut passed = 0;
    for f in &files {
        let Ok(data) = std::fs::read(f) else {
            continue;
        };
        if data.len() > 1 << 20 {
            continue; // the fuzzers' own size bound
        }
        check(&data);
        passed += 1;
    }
    println!("{passed} passed, 0 failed");
}

fn collect(p: &Path, out: &mut Vec<std::path::PathBuf>) {
    if p.is_dir() {
        if let Ok(rd) = std::fs::read_dir(p) {
            let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            entries.sort();
            for e in entries {
                collect(&e, out);
            }
        }
    } else if p.is_file() {
        out.push(p.to_path_buf());
    }
}
