//! The object of each capability check (`event.object`), against what a small C program
//! (tests/fixtures/trace/objects.c) did: paths (plain, relative to a dirfd, not UTF-8, exactly
//! the copy bound, longer than it), addresses, a raw socket, a signal, uids, gids and a pointer
//! that faults. Real eBPF, as root (CI always runs these).

mod common;

use serde_json::Value;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bytes of a path the kernel program copies, without the NUL (`OBJ_MAX - 1`).
const COPIED: usize = 255;

fn compile(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trace/objects.c");
    let bin = dir.join("objects");
    let cc = Command::new("cc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc (the Rust toolchain's linker) is needed for this test");
    assert!(cc.success(), "compiling {}", src.display());
    bin
}

/// A 0600 file owned by another uid: root opening it needs DAC_READ_SEARCH.
fn secret(path: &Path) {
    std::fs::write(path, b"x").unwrap();
    std::os::unix::fs::chown(path, Some(1234), Some(1234)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A path of exactly `len` bytes under `dir`, made of directories of at most 200 bytes.
fn path_of_len(dir: &Path, tag: char, len: usize) -> PathBuf {
    let mut p = dir.to_path_buf();
    loop {
        let have = p.as_os_str().len();
        let left = len - have - 1; // the next '/'
        if left <= 200 {
            p.push(tag.to_string().repeat(left));
            return p;
        }
        p.push(tag.to_string().repeat(150));
        std::fs::create_dir(&p).unwrap();
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    bin: PathBuf,
    /// Name (as objects.c knows it) -> the full path it opens.
    paths: Vec<(&'static str, Vec<u8>)>,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let bin = compile(&dir);
    let non_utf8 = dir.join(std::ffi::OsStr::from_bytes(b"\xff\xfe-secret"));
    let exact = path_of_len(&dir, 'e', COPIED);
    let long = path_of_len(&dir, 'l', COPIED + 60);
    let mut paths = Vec::new();
    for (name, path) in [
        ("secret", dir.join("secret")),
        ("\u{fffd}", non_utf8),
        ("exact", exact),
        ("long", long),
    ] {
        secret(&path);
        let file = if name == "\u{fffd}" {
            dir.join(std::ffi::OsStr::from_bytes(b"\xff\xfe-secret.path"))
        } else {
            dir.join(format!("{name}.path"))
        };
        std::fs::write(&file, path.as_os_str().as_bytes()).unwrap();
        paths.push((name, path.as_os_str().as_bytes().to_vec()));
    }
    std::fs::write(dir.join("mine"), b"").unwrap();
    Setup {
        _dir: tmp,
        dir,
        bin,
        paths,
    }
}

/// Traces objects.c in a network namespace of its own (it binds low ports); returns the
/// JSON lines and what the program printed on stdout (it shares the tracer's stdout: the
/// lines that are not JSON).
fn trace(s: &Setup) -> (Vec<Value>, Vec<String>) {
    let out = Command::new(common::dropcap_bin())
        .args(["--format", "json", "trace", "--", "unshare", "-n"])
        .arg(&s.bin)
        .arg(&s.dir)
        .output()
        .expect("run dropcap");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut json = Vec::new();
    let mut did = Vec::new();
    for l in stdout.lines() {
        if l.starts_with('{') {
            json.push(serde_json::from_str(l).unwrap());
        } else {
            did.push(l.to_string());
        }
    }
    (json, did)
}

fn events(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["type"] == "event").collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The exact bytes of a path object: `path_hex` when present, else the UTF-8 `path`.
fn path_bytes(o: &Value) -> Vec<u8> {
    match o["path_hex"].as_str() {
        Some(h) => unhex(h),
        None => o["path"].as_str().unwrap().as_bytes().to_vec(),
    }
}

fn find<'a>(ev: &[&'a Value], what: &str, f: impl Fn(&Value) -> bool) -> &'a Value {
    ev.iter().copied().find(|e| f(e)).unwrap_or_else(|| {
        panic!(
            "no event for {what} among:\n{}",
            ev.iter()
                .map(|e| format!("{} {} {}", e["cap"], e["syscall"], e["object"]))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

#[test]
fn each_object_kind_matches_what_the_program_did() {
    if !common::is_root("each_object_kind_matches_what_the_program_did") {
        return;
    }
    let s = setup();
    let (lines, did) = trace(&s);
    let ev = events(&lines);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["lost"], 0, "no event may be lost");
    // objects.c prints a line per step; all of them ran.
    assert_eq!(
        did.last().map(String::as_str),
        Some("setgroups-fault"),
        "{did:?}"
    );

    let dac = |e: &Value| e["cap"] == "DAC_READ_SEARCH" || e["cap"] == "DAC_OVERRIDE";
    for line in &did {
        let w: Vec<&str> = line.split(' ').collect();
        match w[0] {
            "path" => {
                let want = unhex(w[1]);
                let truncated = want.len() > COPIED;
                let e = find(&ev, line, |e| {
                    dac(e)
                        && e["object"]["kind"] == "path"
                        && e["object"]["dirfd"].is_null()
                        && path_bytes(&e["object"]) == want[..want.len().min(COPIED)]
                });
                assert_eq!(e["syscall"], "openat", "{e}");
                assert_eq!(e["object"]["truncated"], truncated, "{e}");
                if std::str::from_utf8(&want).is_err() {
                    // Escaped for display, exact in path_hex.
                    assert_eq!(e["object"]["path_hex"], hex(&want), "{e}");
                    assert!(e["object"]["path"]
                        .as_str()
                        .unwrap()
                        .ends_with("/\\xff\\xfe-secret"));
                } else {
                    assert!(e["object"].get("path_hex").is_none(), "{e}");
                }
            }
            "dirfd" => {
                let fd: i64 = w[1].parse().unwrap();
                find(&ev, line, |e| {
                    dac(e)
                        && e["syscall"] == "openat"
                        && e["object"]["path"] == w[2]
                        && e["object"]["dirfd"] == fd
                });
            }
            "chown" => {
                let e = find(&ev, line, |e| e["cap"] == "CHOWN");
                assert_eq!(e["object"]["kind"], "path", "{e}");
                assert_eq!(e["object"]["path"], w[1], "{e}");
            }
            "bind" | "bind6" => {
                let port: u16 = w[1].parse().unwrap();
                let (family, addr) = if w[0] == "bind" {
                    ("inet", "0.0.0.0")
                } else {
                    ("inet6", "::")
                };
                let e = find(&ev, line, |e| {
                    e["cap"] == "NET_BIND_SERVICE" && e["object"]["family"] == family
                });
                assert_eq!(e["syscall"], "bind");
                assert_eq!(e["object"]["kind"], "address");
                assert_eq!(e["object"]["call"], "bind");
                assert_eq!(e["object"]["addr"], addr, "{e}");
                assert_eq!(e["object"]["port"], port, "{e}");
            }
            "raw" => {
                let e = find(&ev, line, |e| e["cap"] == "NET_RAW");
                assert_eq!(e["object"]["kind"], "socket");
                assert_eq!(e["object"]["family"], "inet");
                assert_eq!(e["object"]["type"], "raw");
                assert_eq!(e["object"]["protocol"], "icmp");
            }
            "setresuid" => {
                let want: Vec<i64> = w[1..].iter().map(|v| v.parse().unwrap()).collect();
                let e = find(&ev, line, |e| {
                    e["cap"] == "SETUID" && e["syscall"] == "setresuid"
                });
                assert_eq!(e["object"]["kind"], "ids");
                assert_eq!(e["object"]["values"], serde_json::json!(want), "{e}");
            }
            "kill" => {
                let pid: i64 = w[1].parse().unwrap();
                let e = find(&ev, line, |e| e["cap"] == "KILL");
                assert_eq!(e["syscall"], "kill");
                assert_eq!(e["object"]["kind"], "signal");
                assert_eq!(e["object"]["pid"], pid, "{e}");
                assert_eq!(e["object"]["signal"], w[2].parse::<i64>().unwrap(), "{e}");
            }
            "setgroups" => {
                let want: Vec<i64> = w[1..].iter().map(|v| v.parse().unwrap()).collect();
                let e = find(&ev, line, |e| {
                    e["cap"] == "SETGID"
                        && e["syscall"] == "setgroups"
                        && e["object"]["kind"] == "ids"
                });
                assert_eq!(e["object"]["values"], serde_json::json!(want), "{e}");
                assert_eq!(e["object"]["truncated"], false);
            }
            "setgroups-fault" => {
                // The same check with a pointer that faults: unknown, and still delivered.
                let e = find(&ev, line, |e| {
                    e["cap"] == "SETGID"
                        && e["syscall"] == "setgroups"
                        && e["object"]["kind"] == "unknown"
                });
                assert!(
                    e["object"]["reason"].as_str().unwrap().contains("EFAULT"),
                    "{e}"
                );
            }
            other => panic!("objects.c printed an unknown step {other:?}"),
        }
    }
    // No event claims a path the program never used: every path object is one of its files,
    // a prefix of the long one, a relative name, or the programs it ran.
    let known: Vec<&[u8]> = s.paths.iter().map(|(_, p)| p.as_slice()).collect();
    for e in &ev {
        let o = &e["object"];
        if o["kind"] == "path" && dac(e) {
            let b = path_bytes(o);
            assert!(
                known.iter().any(|k| k.starts_with(&b)) || b == b"secret",
                "a path the program did not open: {e}"
            );
        }
    }
}

#[test]
fn execve_after_the_point_of_no_return_is_unknown_not_a_guess() {
    if !common::is_root("execve_after_the_point_of_no_return_is_unknown_not_a_guess") {
        return;
    }
    // Every check in execve names the program that was started, or says unknown: the checks
    // made once the new program's memory is in place must not read the old pointer there.
    let true_bin = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    let out = Command::new(common::dropcap_bin())
        .args(["--format", "json", "trace", "--", true_bin])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let execs: Vec<&Value> = events(&lines)
        .into_iter()
        .filter(|e| e["syscall"] == "execve")
        .collect();
    assert!(!execs.is_empty(), "exec makes vm_enough_memory probes");
    let mut unknown = 0;
    for e in &execs {
        match e["object"]["kind"].as_str() {
            Some("path") => assert_eq!(e["object"]["path"], true_bin, "{e}"),
            Some("unknown") => unknown += 1,
            _ => panic!("{e}"),
        }
    }
    assert!(unknown > 0, "the new program's own setup checks: {execs:?}");
}

#[test]
fn table_shows_the_object_column_escaped() {
    if !common::is_root("table_shows_the_object_column_escaped") {
        return;
    }
    let s = setup();
    let out = Command::new(common::dropcap_bin())
        .args(["trace", "--audit-only", "--", "unshare", "-n"])
        .arg(&s.bin)
        .arg(&s.dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let header = text.lines().next().unwrap();
    assert!(header.ends_with("SYSCALL     OBJECT"), "{header}");
    let row = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle:?}:\n{text}"))
    };
    assert!(
        row("NET_BIND_SERVICE").ends_with("bind        inet 0.0.0.0:80"),
        "{text}"
    );
    row("inet6 [::]:443");
    row("inet raw icmp");
    row("SIGTERM to pid ");
    row("ids 4321 4321 4321");
    row("ids 7 8 9");
    // Not UTF-8: escaped, never replaced by U+FFFD.
    row("/\\xff\\xfe-secret");
    assert!(!text.contains('\u{fffd}'));
    row("… (truncated)");
}

#[test]
fn profile_evidence_names_the_file() {
    if !common::is_root("profile_evidence_names_the_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("owned");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let out = common::dropcap_ok(&["--format", "json", "profile", "--", "chown", "1:1", file]);
    let p: Value = serde_json::from_str(&out).unwrap();
    let chown = p["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["cap"] == "CHOWN")
        .unwrap_or_else(|| panic!("CHOWN is proven: {p}"));
    let seen = chown["seen"].as_array().unwrap();
    assert!(
        seen.iter()
            .any(|s| s["object"]["kind"] == "path" && s["object"]["path"] == file),
        "{seen:?}"
    );
}
