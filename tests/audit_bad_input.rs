//! Hostile and broken inputs to `dropcap audit`: each must end quickly with a clear message,
//! no panic and bounded memory. Large inputs are generated here, never committed.
//!
//! Memory is checked with `getrusage(RUSAGE_CHILDREN)`: the peak RSS of the largest dropcap
//! child this test binary has waited for, so every test in this file shares the bound.

use assert_cmd::Command;
use std::io::Write;
use std::path::Path;

/// Generous: dropcap refuses these inputs long before it could use this much.
const MAX_CHILD_RSS_KIB: i64 = 160 * 1024;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn audit(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut c = Command::cargo_bin("dropcap").expect("binary built");
    c.arg("audit").args(args);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().expect("run dropcap");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("overflow"),
        "{}",
        run.stderr
    );
    let rss = children_peak_rss_kib();
    assert!(
        rss < MAX_CHILD_RSS_KIB,
        "a dropcap child peaked at {rss} KiB"
    );
    run
}

fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn empty_files_are_clean_not_errors() {
    let d = tempfile::tempdir().unwrap();
    let files = [
        write(d.path(), "empty.yaml", b""),
        write(d.path(), "blank.yaml", b"\n\n   \n"),
        write(d.path(), "comments.yaml", b"# nothing here\n"),
        write(d.path(), "docs.yaml", b"---\n---\n...\n"),
        write(d.path(), "empty.json", b""),
    ];
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let r = audit(&args, None);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("0 findings in 0 workloads"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("nothing to audit"), "{}", r.stderr);
}

#[test]
fn binary_junk_is_an_error_with_a_position() {
    let d = tempfile::tempdir().unwrap();
    // Deterministic pseudo-random bytes (xorshift), with NULs and invalid UTF-8.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let junk: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let bin = write(d.path(), "junk.yaml", &junk);
    let no_nul: Vec<u8> = junk.iter().map(|&b| b.max(1)).collect();
    let latin = write(d.path(), "latin1.yaml", &no_nul);
    let good = write(
        d.path(),
        "good.yaml",
        b"services:\n  web:\n    privileged: true\n",
    );
    let r = audit(&[&bin, &latin, &good], None);
    assert_eq!(r.code, Some(2));
    // Errors go to stderr (in every format), findings to stdout.
    assert!(
        r.stderr.contains(&format!("{bin}:")) && r.stderr.contains("binary data"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("invalid UTF-8"), "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("{good}:3:5: critical DC002")),
        "{}",
        r.stdout
    );
    // Binary junk inside a directory walk is skipped the way ripgrep skips it.
    std::fs::remove_file(&latin).unwrap();
    std::fs::rename(&bin, d.path().join("junk")).unwrap();
    let r = audit(&[d.path().to_str().unwrap()], None);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
}

#[test]
fn hundred_megabyte_file_is_refused_without_reading_it() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("huge.yaml");
    let mut f = std::fs::File::create(&p).unwrap();
    let line = b"- {apiVersion: v1, kind: Pod, metadata: {name: x}, spec: {containers: []}}\n";
    let mut written = 0;
    while written < 100 * 1024 * 1024 {
        f.write_all(line).unwrap();
        written += line.len();
    }
    drop(f);
    let r = audit(&[p.to_str().unwrap()], None);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("huge.yaml: error: file is 100.0 MiB; dropcap reads inputs up to 64 MiB"),
        "{}",
        r.stderr
    );
}

#[test]
fn hundred_megabytes_on_stdin_are_refused() {
    // Streamed in 1 MiB chunks: a test process holding 100 MB would be counted in the RSS of
    // every child it spawns (the kernel records the pre-exec memory of a vfork child).
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dropcap"))
        .args(["audit", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let chunk = vec![b'#'; 1024 * 1024];
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..100 {
        // dropcap stops reading once it has seen too much: a broken pipe is the expected end.
        if stdin.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("<stdin>: error: input is larger than 64 MiB"),
        "{stdout}{stderr}"
    );
    let rss = children_peak_rss_kib();
    assert!(
        rss < MAX_CHILD_RSS_KIB,
        "a dropcap child peaked at {rss} KiB"
    );
}

#[test]
fn ten_thousand_deep_nesting_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let n = 10_000;
    let json = format!("{}1{}", "{\"a\": ".repeat(n), "}".repeat(n));
    let flow = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let block = format!("{}x\n", "- ".repeat(n));
    let files = [
        write(d.path(), "deep.json", json.as_bytes()),
        write(d.path(), "flow.yaml", flow.as_bytes()),
        write(d.path(), "block.yaml", block.as_bytes()),
    ];
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let r = audit(&args, None);
    assert_eq!(r.code, Some(2));
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains(": error: "))
        .collect();
    assert_eq!(errors.len(), 3, "{}", r.stderr);
    for (e, f) in errors.iter().zip(&files) {
        assert!(e.starts_with(&format!("{f}:1:")), "{e}");
        // Our depth limit, or the parser's own flow-level limit when it scans ahead first.
        assert!(
            e.contains("nesting deeper than 128 levels") || e.contains("recursion limit exceeded"),
            "{e}"
        );
    }
}

#[test]
fn billion_laughs_alias_bomb_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut s = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let (p, n) = (w[0], w[1]);
        s.push_str(&format!(
            "{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        ));
    }
    // A compose file whose services are the bomb, so a naive walk would expand it.
    s.push_str("services:\n  web:\n    cap_add: *i\n    <<: {x: *i}\n");
    let bomb = write(d.path(), "lol.yaml", s.as_bytes());
    let good = write(
        d.path(),
        "ok.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    securityContext: {capabilities: {add: [SYS_ADMIN]}}\n",
    );
    let r = audit(&[&bomb, &good], None);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains(&format!("{bomb}:"))
            && r.stderr
                .contains("aliases expand to more than 5000000 nodes"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("critical DC003"), "{}", r.stdout);
}

#[test]
fn non_ascii_container_id_in_inspect_json() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "inspect.json",
        "[{\"Id\": \"a\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\", \"Name\": \"/x\", \"HostConfig\": {\"Privileged\": true}}]".as_bytes(),
    );
    let r = audit(&[&f], None);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.contains("critical DC002"), "{}", r.stdout);
}

/// A crafted name must not drive the reviewer's terminal: no raw ESC, CR or BEL reaches the
/// table, and every finding stays on its own line.
#[test]
fn terminal_escapes_in_names_are_shown_escaped() {
    let yaml = "services:\n  \"web\\e[2K\\e[1A\\r\":\n    image: \"img\\e]0;x\\a\"\n    cap_add: [\"\\e[8mSYS_ADMIN\"]\n";
    let run = audit(&["--color", "never", "-"], Some(yaml.as_bytes().to_vec()));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for bad in ['\x1b', '\r', '\x07'] {
        assert!(!run.stdout.contains(bad), "{bad:?} in {}", run.stdout);
    }
    assert!(run.stdout.contains("web\\u{1b}[2K"), "{}", run.stdout);
}
