//! README and docs must stay true: every rule of the catalog appears in README's rules table
//! exactly as the code defines it, every subcommand has a section with a run, the JSON/SARIF
//! key tables of README.md and docs/*.md list exactly the keys the real binary emits, and the
//! documented runs that depend only on this repository print what the docs show.

mod common;

use dropcap::rules::catalog;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The README row for each rule, generated from the catalog.
fn rule_rows() -> Vec<String> {
    catalog()
        .iter()
        .map(|r| {
            let standards = if r.standards.is_empty() {
                "—".to_string()
            } else {
                r.standards.join(", ")
            };
            let policies: Vec<&str> = r.policies.iter().map(|p| p.as_str()).collect();
            format!(
                "| {} | {} | {} | {} | {} |",
                r.id,
                r.title,
                r.severity.as_str(),
                standards,
                policies.join(", ")
            )
        })
        .collect()
}

#[test]
fn readme_rules_table_matches_catalog() {
    let text = readme();
    let rows = rule_rows();
    let missing: Vec<&String> = rows.iter().filter(|r| !text.contains(r.as_str())).collect();
    assert!(
        missing.is_empty(),
        "README rules table is out of date; expected rows:\n{}",
        rows.join("\n")
    );
}

#[test]
fn readme_has_a_section_per_command_with_an_example_run() {
    let text = readme();
    for cmd in [
        "audit",
        "decode",
        "explain",
        "ps",
        "trace",
        "profile",
        "exec",
        "ping",
        "completions",
        "man",
        "fix",
    ] {
        let heading = format!("### `dropcap {cmd}");
        let start = text
            .find(&heading)
            .unwrap_or_else(|| panic!("README has no section for {cmd}"));
        let rest = &text[start + heading.len()..];
        let end = ["\n## ", "\n### "]
            .iter()
            .filter_map(|h| rest.find(h))
            .min()
            .unwrap_or(rest.len());
        let section = &rest[..end];
        // A run: a `$ ... dropcap CMD` line followed by at least one line of output.
        let lines: Vec<&str> = section.lines().collect();
        let has_run = lines.windows(2).any(|w| {
            w[0].starts_with("$ ")
                && w[0].contains(&format!("dropcap {cmd}"))
                && !w[1].trim().is_empty()
                && !w[1].starts_with("```")
                && !w[1].starts_with("$ ")
        });
        assert!(
            has_run,
            "README's {cmd} section shows no run of `dropcap {cmd}` with its output"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JSON / SARIF schemas: the keys the documentation lists are exactly the keys dropcap emits.
//
// Notation (parsed here, so keep it): a schema table is the first Markdown table after a line
// `<!-- json-keys: NAME -->` in README.md or docs/*.md. The first cell of each row holds one or
// more key paths in backticks: `a.b` is key `b` of object `a`, `a[].b` is key `b` of the objects
// in array `a`, and `<name>` stands for a key whose name is data (a capability, a sysctl). A top
// level array is left out of the path (`input`, not `[].input`); for JSON lines the first
// segment is the line's `type` (`start.pid`). Listing `a.b.c` also documents `a` and `a.b`.
// ---------------------------------------------------------------------------------------------

type KeyPath = Vec<String>;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown file that may hold a schema table: README.md and docs/*.md.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The key paths documented for schema `name`, and the file that documents them.
fn documented(name: &str) -> (Vec<String>, String) {
    let marker = format!("<!-- json-keys: {name} -->");
    let mut found: Vec<(Vec<String>, String)> = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(repo()).unwrap().display().to_string();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != marker {
                continue;
            }
            let rows: Vec<&str> = lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .skip_while(|l| l.is_empty())
                .take_while(|l| l.starts_with('|'))
                .collect();
            assert!(
                !rows.is_empty(),
                "{rel}:{}: `{marker}` is not followed by a table",
                i + 1
            );
            let mut keys = Vec::new();
            for row in rows {
                let first = row[1..].split('|').next().unwrap_or("");
                keys.extend(first.split('`').skip(1).step_by(2).map(|k| k.to_string()));
            }
            assert!(!keys.is_empty(), "{rel}: `{marker}` table lists no keys");
            found.push((keys, rel.clone()));
        }
    }
    assert_eq!(
        found.len(),
        1,
        "expected exactly one `{marker}` in README.md or docs/*.md, found {}",
        found.len()
    );
    found.pop().unwrap()
}

/// Splits a documented path into segments, refusing anything outside the notation so a typo
/// cannot quietly match nothing.
fn parse_pattern(key: &str, file: &str) -> KeyPath {
    let segments: KeyPath = key.split('.').map(str::to_string).collect();
    for s in &segments {
        let base = s.strip_suffix("[]").unwrap_or(s);
        let placeholder = base.len() > 2
            && base.starts_with('<')
            && base.ends_with('>')
            && base[1..base.len() - 1]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
        let plain = !base.is_empty()
            && base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
        assert!(
            placeholder || plain,
            "{file}: `{key}` is not a key path (segments like `name`, `list[]`, `<cap>`)"
        );
    }
    segments
}

/// One segment: equal, or a `<placeholder>`; `list[]` also documents the key `list` itself.
fn segment_matches(pattern: &str, actual: &str) -> bool {
    if pattern == actual || pattern.strip_suffix("[]") == Some(actual) {
        return true;
    }
    let (p, p_list) = match pattern.strip_suffix("[]") {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let (a, a_list) = match actual.strip_suffix("[]") {
        Some(a) => (a, true),
        None => (actual, false),
    };
    p_list == a_list && p.starts_with('<') && p.ends_with('>') && !a.is_empty()
}

/// `pattern` documents `path` when `path` is the pattern itself or one of its ancestors.
fn covers(pattern: &[String], path: &[String]) -> bool {
    pattern.len() >= path.len() && path.iter().zip(pattern).all(|(a, p)| segment_matches(p, a))
}

/// Every key path of a JSON value (see the notation above).
fn key_paths(value: &Value, prefix: &mut KeyPath, out: &mut BTreeSet<KeyPath>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(k.clone());
                out.insert(prefix.clone());
                key_paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|i| i.is_object() || i.is_array()) {
                match prefix.pop() {
                    Some(last) => {
                        prefix.push(format!("{last}[]"));
                        key_paths(item, prefix, out);
                        prefix.pop();
                        prefix.push(last);
                    }
                    None => key_paths(item, prefix, out),
                }
            }
        }
        _ => {}
    }
}

/// A JSON line `{"type": "start", "pid": 1}` as `{"type": "start", "start": {"pid": 1}}`.
fn typed_line(line: Value) -> Value {
    let Value::Object(mut map) = line else {
        panic!("a JSON line is not an object: {line}")
    };
    let kind = match map.remove("type") {
        Some(Value::String(kind)) => kind,
        other => panic!("a JSON line has no string `type`: {other:?}"),
    };
    let mut out = serde_json::Map::new();
    out.insert("type".into(), Value::String(kind.clone()));
    out.insert(kind, Value::Object(map));
    Value::Object(out)
}

/// Runs the dropcap under test from the repository root; the exit code must be one of `codes`.
fn dropcap(args: &[&str], codes: &[i32]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dropcap"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "dropcap {}: exit {code}, expected one of {codes:?}\nstdout: {}\nstderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str], codes: &[i32]) -> Value {
    let text = dropcap(args, codes);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("dropcap {}: not JSON ({e}):\n{text}", args.join(" ")))
}

fn json_lines(args: &[&str], codes: &[i32]) -> Vec<Value> {
    dropcap(args, codes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| typed_line(serde_json::from_str(l).unwrap()))
        .collect()
}

/// What a schema test compares: the documents dropcap printed, and whether they are all the
/// runs the documentation covers (false when a run needing the engine was skipped here: then a
/// documented key may legitimately be missing, but an undocumented one is still an error).
struct Emitted {
    docs: Vec<Value>,
    complete: bool,
}

/// The difference between documented and emitted keys, as a readable report (empty = same).
fn schema_diff(name: &str, emitted: &Emitted) -> String {
    let (keys, file) = documented(name);
    let patterns: Vec<KeyPath> = keys.iter().map(|k| parse_pattern(k, &file)).collect();
    let mut paths = BTreeSet::new();
    for doc in &emitted.docs {
        key_paths(doc, &mut Vec::new(), &mut paths);
    }
    let undocumented: Vec<String> = paths
        .iter()
        .filter(|p| !patterns.iter().any(|pat| covers(pat, p)))
        .map(|p| p.join("."))
        .collect();
    let mut never_emitted = Vec::new();
    if emitted.complete {
        for (key, pattern) in keys.iter().zip(&patterns) {
            let seen = paths
                .iter()
                .any(|p| p.len() == pattern.len() && covers(pattern, p));
            if !seen {
                never_emitted.push(key.clone());
            }
        }
    }
    let mut report = String::new();
    if !undocumented.is_empty() {
        report += &format!(
            "emitted by dropcap but not in the `json-keys: {name}` table of {file}:\n  {}\n",
            undocumented.join("\n  ")
        );
    }
    if !never_emitted.is_empty() {
        report += &format!(
            "documented in the `json-keys: {name}` table of {file} but never emitted:\n  {}\n",
            never_emitted.join("\n  ")
        );
    }
    report
}

fn assert_schema(name: &str, emitted: Emitted) {
    let diff = schema_diff(name, &emitted);
    assert!(
        diff.is_empty(),
        "{name}: documentation and output disagree\n{diff}"
    );
    if !emitted.complete {
        eprintln!(
            "PARTIAL {name}: only undocumented keys were checked (a run needing the engine or root was skipped)"
        );
    }
}

/// A running test container with a unique label, for the runs that need the engine.
fn labelled_container(prefix: &str) -> (common::ContainerGuard, String) {
    let label = common::unique(prefix);
    let guard = common::container(
        prefix,
        &[
            "--label",
            &format!("dropcap-readme={label}"),
            common::test_image(),
            "sleep",
            "600",
        ],
        true,
    );
    (guard, format!("label=dropcap-readme={label}"))
}

/// Static audit of every example plus a broken file (so `errors[]` is filled), and, with the
/// engine, a live audit of one container (so `engine` and logical locations are filled).
fn audit_runs(test: &str, format: &str) -> (Vec<Value>, bool) {
    let mut docs = vec![json(
        &[
            "--format",
            format,
            "audit",
            "examples/",
            "tests/fixtures/audit/broken.yaml",
        ],
        &[2],
    )];
    let live = common::docker_available(test);
    if live {
        let (_guard, filter) = labelled_container("readme-audit");
        docs.push(json(
            &["--format", format, "audit", "--filter", &filter],
            &[1],
        ));
    }
    (docs, live)
}

#[test]
fn audit_json_keys_match_the_readme() {
    let (docs, complete) = audit_runs("audit_json_keys_match_the_readme", "json");
    assert_schema("audit", Emitted { docs, complete });
}

#[test]
fn audit_sarif_keys_match_the_docs() {
    let (docs, complete) = audit_runs("audit_sarif_keys_match_the_docs", "sarif");
    assert_schema("audit-sarif", Emitted { docs, complete });
}

#[test]
fn decode_json_keys_match_the_readme() {
    let docs = vec![json(
        &["--format", "json", "decode", "a80425fb", "0x3000"],
        &[0],
    )];
    assert_schema(
        "decode",
        Emitted {
            docs,
            complete: true,
        },
    );
    let pid = std::process::id().to_string();
    let docs = vec![json(&["--format", "json", "decode", "--pid", &pid], &[0])];
    assert_schema(
        "decode-pid",
        Emitted {
            docs,
            complete: true,
        },
    );
}

#[test]
fn explain_json_keys_match_the_readme() {
    let docs = vec![
        json(&["--format", "json", "explain"], &[0]),
        json(&["--format", "json", "explain", "net_raw"], &[0]),
    ];
    assert_schema(
        "explain",
        Emitted {
            docs,
            complete: true,
        },
    );
}

#[test]
fn ps_json_keys_match_the_readme() {
    // Exit 2 only says a process could not be read; the others are still listed.
    let mut docs = vec![json(
        &["--format", "json", "ps", "--all", "--no-names"],
        &[0, 2],
    )];
    let live = common::docker_available("ps_json_keys_match_the_readme");
    if live {
        let (guard, _) = labelled_container("readme-ps");
        docs.push(json(
            &["--format", "json", "ps", "--container", &guard.0],
            &[0, 2],
        ));
    }
    assert_schema(
        "ps",
        Emitted {
            docs,
            complete: live,
        },
    );
}

#[test]
fn trace_json_keys_match_the_docs() {
    if !common::is_root("trace_json_keys_match_the_docs") {
        return;
    }
    // chown to another owner is always one audited CHOWN check: every line type appears.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("owned");
    std::fs::write(&file, "").unwrap();
    let docs = json_lines(
        &[
            "--format",
            "json",
            "trace",
            "--emit",
            "all",
            "--",
            "chown",
            "1:1",
            file.to_str().unwrap(),
        ],
        &[0],
    );
    assert_schema(
        "trace",
        Emitted {
            docs,
            complete: true,
        },
    );
}

#[test]
fn profile_json_keys_match_the_docs() {
    if !common::is_root("profile_json_keys_match_the_docs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("owned");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let p = ["--format", "json", "profile"];
    let mut docs = vec![
        // CHOWN proven (evidence[].seen[]).
        json(&[&p[..], &["--", "chown", "1:1", file]].concat(), &[0]),
        // CHOWN seen but not needed (removed[].seen[]).
        json(
            &[
                &p[..],
                &["--", "sh", "-c", &format!("chown 2:2 {file}; true")],
            ]
            .concat(),
            &[0],
        ),
        // chown is only tried without a full set: CHOWN is proven from a denial
        // (evidence[].denied[]).
        json(
            &[
                &p[..],
                &[
                    "--",
                    "sh",
                    "-c",
                    &format!("grep -q '^CapEff:.*ffffff' /proc/self/status || chown 3:3 {file}"),
                ],
            ]
            .concat(),
            &[0],
        ),
        json(
            &[&p[..], &["--stays-up", "1", "--", "sleep", "30"]].concat(),
            &[0],
        ),
        json(
            &[&p[..], &["--check", "true", "--", "sleep", "30"]].concat(),
            &[0],
        ),
    ];
    // A file only uid 1 may read: a permission fix (permission_fixes.files[]...).
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&secret, Some(1), Some(1)).unwrap();
    }
    docs.push(json(
        &[&p[..], &["--", "cat", secret.to_str().unwrap()]].concat(),
        &[0],
    ));
    // An image (target.image..., sysctls) checked over HTTP (check.port, check.path).
    let live = common::docker_available("profile_json_keys_match_the_docs");
    let mut _secret_image = None;
    if live {
        // The same permission fix in an image, proven by --try-fixes (permission_fixes.tried).
        let guard = secret_image();
        docs.push(json(
            &[
                &p[..],
                &["--image", &guard.0, "--cmd", "cat /secret", "--try-fixes"],
            ]
            .concat(),
            &[0],
        ));
        _secret_image = Some(guard);
        let image = common::test_image();
        docs.push(json(
            &[
                &p[..],
                &[
                    "--image",
                    image,
                    "--cmd",
                    "httpd -f -p 80 -h /var/www",
                    "--http",
                    "80/index.html",
                ],
            ]
            .concat(),
            &[0],
        ));
    }
    assert_schema(
        "profile",
        Emitted {
            docs,
            complete: live,
        },
    );
}

/// Removes the image when dropped.
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["image", "rm", "-f", &self.0])
            .output();
    }
}

/// The busybox test image plus /secret, readable only by uid 1000: root keeps DAC_OVERRIDE to
/// read it, and `chown 0 /secret` replaces that.
fn secret_image() -> ImageGuard {
    let guard = ImageGuard(format!("{}:latest", common::unique("readme-secret")));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN echo s > /secret && chown 1000:1000 /secret && chmod 600 /secret\n",
            common::test_image()
        ),
    )
    .unwrap();
    let out = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "--network", "none", "-t", &guard.0])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    guard
}

#[test]
fn fix_json_keys_match_the_docs() {
    // The bundled examples have diffs, notes-free fixes, unfixed findings; a bad file adds an
    // error. Nothing is written (no --write).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "services:\n  a: [\n").unwrap();
    let anchors = repo().join("tests/fixtures/fix/compose-anchors.in.yaml");
    let docs = vec![json(
        &[
            "--format",
            "json",
            "fix",
            "examples",
            anchors.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        &[2],
    )];
    assert_schema(
        "fix",
        Emitted {
            docs,
            complete: true,
        },
    );
}

#[test]
fn ping_json_keys_match_the_docs() {
    if !common::is_root("ping_json_keys_match_the_docs") {
        return;
    }
    let replies = json(
        &[
            "--format",
            "json",
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "127.0.0.1",
        ],
        &[0],
    );
    // An address on a link where nobody answers ARP, in a network namespace of our own that
    // vanishes with the process: the kernel reports "Destination Host Unreachable".
    let bin = env!("CARGO_BIN_EXE_dropcap");
    let script = format!(
        "ip link set lo up && ip link add dcr0 type veth peer name dcr1 && \
         ip addr add 10.251.79.2/24 dev dcr0 && ip link set dcr0 up && ip link set dcr1 up && \
         exec '{bin}' --format json ping -c 1 -W 5 10.251.79.9"
    );
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let errors: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema(
        "ping",
        Emitted {
            docs: vec![replies, errors],
            complete: true,
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Examples: every `$ dropcap ...` run shown in README.md and docs/*.md whose output depends only
// on files in this repository (audit of paths, decode of masks, explain) is run again and must
// print what the documentation shows. A line `...` stands for any number of lines; a following
// `$ echo $?` and its line give the exit code.
// ---------------------------------------------------------------------------------------------

/// One documented run: where it is, the arguments, the lines shown, the exit code if shown.
struct Example {
    place: String,
    args: Vec<String>,
    output: Vec<String>,
    code: Option<i32>,
}

/// Splits a documented command line into words (plain words and '...' quoting only).
fn words(line: &str, place: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            '"' | '\\' | '|' | '>' | '<' | '$' | '#' | '*' | '`' if !quoted => {
                panic!("{place}: `{line}` uses shell syntax this test does not replay")
            }
            _ => {
                cur.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "{place}: unbalanced quote in `{line}`");
    if any {
        out.push(cur);
    }
    out
}

/// Runs whose output depends only on this repository: no engine, no root, no host state.
fn replayable(args: &[String]) -> bool {
    match args.first().map(String::as_str) {
        // `--context` reads the user's docker config, and several `-H` reach several engines.
        Some("audit") => {
            !args.iter().any(|a| a == "--context")
                && args.iter().filter(|a| *a == "-H" || *a == "--host").count() < 2
                && args[1..].iter().any(|a| !a.starts_with('-'))
        }
        Some("decode") => !args.iter().any(|a| a == "--pid"),
        Some("explain") => true,
        // The diff only (`--write` would change the bundled examples); a `--profile` run needs
        // the profile of a real run on the engine.
        Some("fix") => !args.iter().any(|a| a == "--write" || a == "--profile"),
        _ => false,
    }
}

fn examples() -> Vec<Example> {
    let mut found = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(repo()).unwrap().display().to_string();
        let mut in_block = false;
        let mut current: Option<Example> = None;
        // `$ echo $?` right after a replayed run: its next line is that run's exit code.
        let mut expect_code = false;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("```") {
                in_block = !in_block;
                found.extend(current.take());
                continue;
            }
            if !in_block {
                continue;
            }
            if let Some(cmd) = line.strip_prefix("$ ") {
                let replayed = current.is_some();
                found.extend(current.take());
                expect_code = cmd.trim() == "echo $?" && replayed;
                let sub = cmd.split_whitespace().nth(1).unwrap_or("");
                if let (Some(rest), true) = (
                    cmd.strip_prefix("dropcap "),
                    ["audit", "decode", "explain", "fix"].contains(&sub),
                ) {
                    let place = format!("{rel}:{}", n + 1);
                    let args = words(rest, &place);
                    if replayable(&args) {
                        current = Some(Example {
                            place,
                            args,
                            output: Vec::new(),
                            code: None,
                        });
                    }
                }
                continue;
            }
            if expect_code {
                expect_code = false;
                if let Some(last) = found.last_mut() {
                    last.code = Some(line.trim().parse().unwrap());
                }
                continue;
            }
            if let Some(ex) = current.as_mut() {
                ex.output.push(line.to_string());
            }
        }
    }
    found
}

/// Whether `actual` lines match `expected`, where an `...` line matches any run of lines.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| a == first && lines_match(rest, more)),
    }
}

#[test]
fn documented_runs_print_what_the_docs_show() {
    let examples = examples();
    assert!(
        examples.len() >= 6,
        "expected the audit, decode and explain examples of README.md and docs/audit-static.md, found {}",
        examples.len()
    );
    let mut failures = Vec::new();
    for ex in &examples {
        let out = Command::new(env!("CARGO_BIN_EXE_dropcap"))
            .args(&ex.args)
            .env("NO_COLOR", "1")
            .current_dir(repo())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let actual: Vec<&str> = text.lines().collect();
        if !lines_match(&ex.output, &actual) {
            failures.push(format!(
                "{}: `dropcap {}` printed:\n{}\n--- the docs show:\n{}",
                ex.place,
                ex.args.join(" "),
                text.trim_end(),
                ex.output.join("\n")
            ));
        }
        if let Some(code) = ex.code {
            if out.status.code() != Some(code) {
                failures.push(format!(
                    "{}: `dropcap {}` exited {:?}, the docs say {code}",
                    ex.place,
                    ex.args.join(" "),
                    out.status.code()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn image_json_keys_match_the_readme() {
    use common::archive::{docker_save, layer, Fake, PING_CAP};
    // Every key: a valid capability (revision 3 for rootid), a broken one, a setuid file, a
    // skipped entry (notes) and a set (bounding, verdicts).
    let rev3 = [
        0x01, 0, 0, 0x03, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe8, 0x03, 0, 0,
    ];
    let l = layer(&[
        Fake::File("usr/bin/ping", 0o755, 0, Some(PING_CAP)),
        Fake::File("usr/bin/ns", 0o755, 0, Some(&rev3)),
        Fake::File("usr/bin/broken", 0o755, 0, Some(&[1, 2, 3])),
        Fake::File("usr/bin/su", 0o4755, 0, None),
        Fake::RawPath(b"../escape", 0o4755),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    std::fs::write(&path, docker_save(&[l], true)).unwrap();
    let path = path.to_str().unwrap();
    let docs = vec![
        json(&["--format", "json", "image", "--tar", path], &[0]),
        json(
            &[
                "--format",
                "json",
                "image",
                "--tar",
                path,
                "--caps",
                "ALL -NET_RAW",
            ],
            &[1],
        ),
    ];
    assert_schema(
        "image",
        Emitted {
            docs,
            complete: true,
        },
    );
}
