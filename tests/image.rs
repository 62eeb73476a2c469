//! `dropcap image`: crafted archives (layer order, whiteouts, hostile input) need nothing;
//! the real Debian image (scripts/debian-image.sh) is compared with `getcap -r /` and `find`
//! run inside a container of it, and with the `--tar` and `--rootfs` readers.

mod common;

use common::archive::{docker_save, layer, oci, Fake, PING_CAP};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn dropcap(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dropcap"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Vec<Value> {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// `path capability-text` for every file with a capability, and the set-id paths, of the first
/// image in a JSON report.
fn lists(doc: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let files = doc["files"].as_array().unwrap();
    let caps = files
        .iter()
        .filter(|f| !f["capability"].is_null())
        .map(|f| {
            format!(
                "{} {}",
                f["path"].as_str().unwrap(),
                f["capability_text"].as_str().unwrap()
            )
        })
        .collect();
    let setid = files
        .iter()
        .filter(|f| f["setuid"] == true || f["setgid"] == true)
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    (caps, setid)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// The bottom layer has ping's capability and three setuid files; the top layer rewrites
/// ping without it, whites out passwd, makes /opt/x opaque and adds a setgid file.
fn two_layers() -> Vec<Vec<u8>> {
    let bottom = layer(&[
        Fake::Dir("usr/bin/"),
        Fake::File("usr/bin/ping", 0o755, 0, Some(PING_CAP)),
        Fake::Link("usr/bin/ping4", "usr/bin/ping"),
        Fake::File("usr/bin/su", 0o4755, 0, None),
        Fake::File("usr/bin/passwd", 0o4755, 0, None),
        Fake::File("opt/x/tool", 0o4711, 0, None),
        Fake::File("usr/bin/keep", 0o4755, 1000, None),
    ]);
    // A layer that changed nothing is an empty tar in `docker save`.
    let empty = layer(&[]);
    let upper = layer(&[
        Fake::File("usr/bin/ping", 0o755, 0, None),
        Fake::File("usr/bin/.wh.passwd", 0o644, 0, None),
        Fake::File("opt/x/.wh..wh..opq", 0o644, 0, None),
        Fake::File("usr/bin/wall", 0o2755, 0, None),
    ]);
    vec![bottom, empty, upper]
}

#[test]
fn upper_layers_win_whatever_the_order_in_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("first.tar", docker_save(&two_layers(), false)),
        ("last.tar", docker_save(&two_layers(), true)),
        ("oci.tar", oci(&two_layers())),
    ] {
        let path = write(dir.path(), name, &bytes);
        let out = dropcap(&["--format", "json", "image", "--tar", &path], dir.path());
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let docs = json(&out);
        let (caps, setid) = lists(&docs[0]);
        // ping4 is a hard link to the bottom ping: it keeps the capability the upper layer's
        // new ping file no longer has.
        assert_eq!(
            caps,
            BTreeSet::from(["/usr/bin/ping4 cap_net_raw=ep".to_string()]),
            "{name}"
        );
        let want: BTreeSet<String> = ["/usr/bin/keep", "/usr/bin/su", "/usr/bin/wall"]
            .map(String::from)
            .into();
        assert_eq!(setid, want, "{name}");
        assert_eq!(docs[0]["layers"], 3);
    }
    // Nothing was written next to the inputs.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn a_set_judges_file_capabilities_and_setuid_root() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(&[
        Fake::File("usr/bin/ping", 0o755, 0, Some(PING_CAP)),
        Fake::File("usr/bin/su", 0o4755, 0, None),
    ]);
    let path = write(dir.path(), "a.tar", &docker_save(&[l], false));
    let run = |extra: &[&str]| {
        let mut args = vec!["--format", "json", "image", "--tar", &path];
        args.extend(extra);
        dropcap(&args, dir.path())
    };
    let kinds = |o: &Output| -> Vec<String> {
        json(o)[0]["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                format!(
                    "{} {}",
                    v["kind"].as_str().unwrap(),
                    v["path"].as_str().unwrap()
                )
            })
            .collect()
    };
    for spelling in [
        &["--caps", "ALL -NET_RAW"][..],
        &["--cap-drop", "NET_RAW"],
        &["--caps", "0xa80405fb"],
    ] {
        let out = run(spelling);
        assert_eq!(code(&out), 1, "{spelling:?}: {}", stderr(&out));
        assert_eq!(
            kinds(&out),
            ["exec-fails /usr/bin/ping", "setuid-root /usr/bin/su"],
            "{spelling:?}"
        );
    }
    let out = run(&[
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_RAW",
        "--no-new-privileges",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(kinds(&out).is_empty());
    // The empty set: ping cannot exec, and su regains nothing.
    let out = run(&["--caps", ""]);
    assert_eq!(kinds(&out), ["exec-fails /usr/bin/ping"]);
    let table = dropcap(
        &["image", "--tar", &path, "--cap-drop", "NET_RAW"],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("setcap -r /usr/bin/ping"), "{text}");
    assert!(text.contains("no-new-privileges"), "{text}");
}

#[test]
fn broken_xattrs_and_hostile_paths_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("usr/{}/x", "d/".repeat(2100));
    let mut short_cap = PING_CAP.to_vec();
    short_cap.pop();
    let mut rev9 = PING_CAP.to_vec();
    rev9[3] = 0x09;
    let l = layer(&[
        Fake::File("usr/bin/short", 0o755, 0, Some(&short_cap)),
        Fake::File("usr/bin/rev9", 0o755, 0, Some(&rev9)),
        Fake::RawPath(b"../../etc/evil", 0o4755),
        Fake::RawPath(b"/usr/bin/absolute", 0o4755),
        Fake::File(&long, 0o4755, 0, None),
    ]);
    let path = write(dir.path(), "h.tar", &docker_save(&[l], false));
    let out = dropcap(&["--format", "json", "image", "--tar", &path], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = &json(&out)[0];
    let files = doc["files"].as_array().unwrap();
    let errors: Vec<String> = files
        .iter()
        .filter_map(|f| {
            f["capability_error"]
                .as_str()
                .map(|e| format!("{} {e}", f["path"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("/usr/bin/rev9") && errors[0].contains("unknown revision"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("/usr/bin/short") && errors[1].contains("must be 20 bytes"),
        "{errors:?}"
    );
    assert!(files.iter().any(|f| f["path"] == "/usr/bin/absolute"));
    let notes = doc["notes"].to_string();
    assert!(notes.contains("leaves the root"), "{notes}");
    assert!(notes.contains("PATH_MAX"), "{notes}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "something was written"
    );
}

/// Many large blobs that look like JSON documents: they must not all be kept in memory.
fn json_bomb() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut doc = vec![b' '; 4 << 20];
    doc[0] = b'{';
    for i in 0..6 {
        let mut h = tar::Header::new_gnu();
        h.set_size(doc.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("blobs/sha256/{i:064x}"), &doc[..])
            .unwrap();
    }
    b.into_inner().unwrap()
}

/// A layer whose PAX header claims 3 GiB: the tar crate would allocate it whole.
fn pax_bomb() -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(3 << 30);
    h.set_mode(0o644);
    h.set_path("pax").unwrap();
    h.set_cksum();
    let mut bytes = h.as_bytes().to_vec();
    bytes.extend([b'9'; 8192]);
    bytes
}

#[test]
fn unreadable_archives_are_one_line_errors_and_good_ones_still_report() {
    let dir = tempfile::tempdir().unwrap();
    let good_layer = layer(&[Fake::File("usr/bin/ping", 0o755, 0, Some(PING_CAP))]);
    let good = write(
        dir.path(),
        "good.tar",
        &docker_save(std::slice::from_ref(&good_layer), false),
    );
    let full = docker_save(&[good_layer.clone(), good_layer], false);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.tar",
            full[..full.len() / 2 + 100].to_vec(),
            "truncated.tar",
        ),
        (
            "notalayer.tar",
            docker_save(
                &[b"this is not a tar archive at all, just text".repeat(20)],
                false,
            ),
            "not a tar",
        ),
        ("empty.tar", Vec::new(), "empty archive"),
        ("jsonbomb.tar", json_bomb(), "MiB of JSON documents"),
        (
            "paxbomb.tar",
            docker_save(&[pax_bomb()], false),
            "metadata entry",
        ),
        ("text.tar", b"hello\n".to_vec(), "text.tar"),
        (
            "nomanifest.tar",
            layer(&[Fake::File("x", 0o644, 0, None)]),
            "neither manifest.json nor index.json",
        ),
    ];
    for (name, bytes, says) in cases {
        let bad = write(dir.path(), name, &bytes);
        let out = dropcap(
            &["--format", "json", "image", "--tar", &good, "--tar", &bad],
            dir.path(),
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        let docs = json(&out);
        assert_eq!(docs.len(), 1, "{name}: the good archive is still reported");
    }
    let out = dropcap(&["image", "--tar", "/nonexistent/x.tar"], dir.path());
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("/nonexistent/x.tar"),
        "{}",
        stderr(&out)
    );
    let out = dropcap(&["image", "--rootfs", "/nonexistent/dir"], dir.path());
    assert_eq!(code(&out), 2);
    let out = dropcap(&["image"], dir.path());
    assert_eq!(code(&out), 2);
}

#[test]
fn a_missing_image_is_an_error_naming_it() {
    if !common::docker_available("a_missing_image_is_an_error_naming_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dropcap(&["image", "dropcap-test/no-such-image:never"], dir.path());
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-image:never: no such image"),
        "{}",
        stderr(&out)
    );
}

/// `getcap -r /` and `find -perm` inside a container of `image`: the truth to compare with.
fn inside(image: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = common::docker(&[
        "run",
        "--rm",
        "--label",
        "dropcap-test=1",
        image,
        "sh",
        "-c",
        "getcap -r / 2>/dev/null; echo ---; find / -xdev -type f \\( -perm -4000 -o -perm -2000 \\)",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (caps, setid) = text.split_once("---\n").unwrap();
    (
        caps.lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        setid
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    )
}

fn engine_lists(image: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let dir = std::env::temp_dir();
    let out = dropcap(&["--format", "json", "image", image], &dir);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    lists(&json(&out)[0])
}

/// The lists `dropcap image FLAG PATH` reports.
fn read_with(flag: &str, path: &Path, cwd: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = dropcap(
        &["--format", "json", "image", flag, path.to_str().unwrap()],
        cwd,
    );
    assert_eq!(code(&out), 0, "{flag}: {}", stderr(&out));
    lists(&json(&out)[0])
}

/// The same image read from `docker save` (`--tar`) and from `docker export` unpacked with
/// xattrs (`--rootfs`) must give the engine path's answer.
fn assert_tar_and_rootfs_agree(image: &str, want: &(BTreeSet<String>, BTreeSet<String>)) {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.tar");
    common::docker(&["save", "-o", saved.to_str().unwrap(), image]);
    assert_eq!(
        &read_with("--tar", &saved, dir.path()),
        want,
        "--tar disagrees with the engine path"
    );

    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let c = common::container("image-export", &[image, "true"], false);
    let export = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker export {} | tar -x --xattrs --xattrs-include='*' -p -C {} -f -",
            c.0,
            root.display()
        ))
        .status()
        .unwrap();
    assert!(export.success());
    assert_eq!(
        &read_with("--rootfs", &root, dir.path()),
        want,
        "--rootfs disagrees with the engine path"
    );
}

#[test]
fn the_debian_image_matches_getcap_and_find_inside_it() {
    let Some(image) = common::debian_image("the_debian_image_matches_getcap_and_find_inside_it")
    else {
        return;
    };
    let truth = inside(image);
    assert!(
        truth.0.contains("/usr/bin/ping cap_net_raw=ep"),
        "{truth:?}"
    );
    assert!(truth.1.contains("/usr/bin/su"), "{truth:?}");
    let ours = engine_lists(image);
    assert_eq!(ours, truth);
    assert_tar_and_rootfs_agree(image, &ours);
}

#[test]
fn a_docker_build_on_top_of_debian_upper_layers_win() {
    let Some(base) = common::debian_image("a_docker_build_on_top_of_debian_upper_layers_win")
    else {
        return;
    };
    let built = common::build_image(
        "image-build",
        &format!(
            "FROM {base}\n\
             RUN setcap -r /usr/bin/ping\n\
             RUN chmod u-s /usr/bin/chfn\n\
             RUN rm /usr/bin/su\n\
             RUN cp /bin/true /usr/local/bin/bindtool && setcap cap_net_bind_service+ep /usr/local/bin/bindtool\n\
             RUN cp /bin/true /usr/local/bin/suidtool && chmod 4755 /usr/local/bin/suidtool\n"
        ),
    );
    let tag = built.0.clone();
    let (caps, setid) = engine_lists(&tag);
    assert_eq!(
        caps,
        BTreeSet::from(["/usr/local/bin/bindtool cap_net_bind_service=ep".to_string()])
    );
    assert!(
        !setid.contains("/usr/bin/su") && !setid.contains("/usr/bin/chfn"),
        "{setid:?}"
    );
    assert!(
        setid.contains("/usr/local/bin/suidtool") && setid.contains("/usr/bin/passwd"),
        "{setid:?}"
    );
    assert_eq!((caps.clone(), setid.clone()), inside(&tag));
    assert_tar_and_rootfs_agree(&tag, &(caps, setid));
}

#[test]
fn live_audit_reports_ping_that_cannot_exec_only_without_net_raw() {
    let Some(image) =
        common::debian_image("live_audit_reports_ping_that_cannot_exec_only_without_net_raw")
    else {
        return;
    };
    let label = common::unique("image-live");
    let run = |caps: &[&str]| {
        let mut args = vec!["--label", "dropcap-image-live", "--label"];
        let l = format!("dropcap-image-live={label}");
        args.push(&l);
        args.extend(caps);
        args.extend([image, "sleep", "300"]);
        common::container("image-live", &args, true)
    };
    let dropped = run(&["--cap-drop", "NET_RAW"]);
    let kept = run(&[
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_RAW",
        "--security-opt",
        "no-new-privileges",
    ]);
    let filter = format!("label=dropcap-image-live={label}");
    let out = dropcap(
        &["--format", "json", "audit", "--filter", &filter],
        &std::env::temp_dir(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let without = common::rules_of(&report, &dropped.0);
    assert!(without.contains(&"DC020".to_string()), "{without:?}");
    assert!(without.contains(&"DC021".to_string()), "{without:?}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "DC020")
        .unwrap();
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("/usr/bin/ping"),
        "{finding}"
    );
    assert_eq!(finding["capabilities"], serde_json::json!(["NET_RAW"]));
    let with = common::rules_of(&report, &kept.0);
    assert!(
        !with.contains(&"DC020".to_string()) && !with.contains(&"DC021".to_string()),
        "{with:?}"
    );
    // The kernel agrees: ping cannot even start in the first container.
    let exec = Command::new("docker")
        .args(["exec", &dropped.0, "ping", "-c1", "127.0.0.1"])
        .output()
        .unwrap();
    assert!(!exec.status.success());
    let said = String::from_utf8_lossy(&exec.stderr).to_lowercase();
    assert!(said.contains("operation not permitted"), "{exec:?}");
    // --no-images: the image is not read, so neither rule can fire.
    let out = dropcap(
        &[
            "--format",
            "json",
            "audit",
            "--no-images",
            "--filter",
            &filter,
        ],
        &std::env::temp_dir(),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!common::rules_of(&report, &dropped.0).contains(&"DC020".to_string()));
}

#[test]
fn static_audit_reads_local_images_and_names_the_missing_ones() {
    let Some(image) =
        common::debian_image("static_audit_reads_local_images_and_names_the_missing_ones")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let compose = format!(
        "services:\n  pinger:\n    image: {image}\n    cap_drop: [NET_RAW]\n  other:\n    image: dropcap-test/never-built:1\n    cap_drop: [NET_RAW]\n"
    );
    let file = write(dir.path(), "compose.yaml", compose.as_bytes());
    let out = dropcap(
        &["--format", "json", "audit", "--images", &file],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(common::rules_of(&report, "pinger").contains(&"DC020".to_string()));
    assert!(!common::rules_of(&report, "other").contains(&"DC020".to_string()));
    assert!(
        stderr(&out).contains("dropcap-test/never-built:1: no such image"),
        "{}",
        stderr(&out)
    );
    // Without --images the static audit never asks the engine.
    let out = dropcap(&["--format", "json", "audit", &file], dir.path());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!common::rules_of(&report, "pinger").contains(&"DC020".to_string()));
}

#[test]
fn profile_proves_debian_ping_needs_net_raw_in_four_trials_and_says_why() {
    let test = "profile_proves_debian_ping_needs_net_raw_in_four_trials_and_says_why";
    let Some(image) = common::debian_image(test) else {
        return;
    };
    if !common::is_root(test) {
        return;
    }
    let out = dropcap(
        &[
            "--format",
            "json",
            "profile",
            "--timeout",
            "20",
            "--image",
            image,
            "--cmd",
            "ping -c1 127.0.0.1",
        ],
        &std::env::temp_dir(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["proven"], serde_json::json!(["NET_RAW"]), "{v:#}");
    let notes = v["notes"].to_string();
    if notes.contains("tracer unavailable") {
        assert!(
            !common::in_ci(),
            "CI must profile with the eBPF tracer: {notes}"
        );
        eprintln!("SKIPPED the trial count of {test}: no eBPF tracer here");
        return;
    }
    let trials = v["trial_count"].as_u64().unwrap();
    assert!(trials <= 4, "{trials} trials: {v:#}");
    assert!(
        notes.contains("/usr/bin/ping carries the file capability cap_net_raw=ep"),
        "{notes}"
    );
    assert!(notes.contains("setcap -r /usr/bin/ping"), "{notes}");
}

/// An engine whose export stalls halfway: bollard's timeout covers only the answer's headers,
/// so without the idle timeout the read would hang for good.
#[test]
fn an_export_that_stalls_is_an_error_not_a_hang() {
    use std::io::{BufReader, Write};
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("stall.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    // A valid header of a 1 MiB entry, then only part of its data.
    let mut h = tar::Header::new_gnu();
    h.set_path("l00/layer.tar").unwrap();
    h.set_size(1 << 20);
    h.set_mode(0o644);
    h.set_cksum();
    let mut partial = h.as_bytes().to_vec();
    partial.extend([0u8; 1024]);
    // Detached: it serves until the test process ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let path = common::read_request_path(&mut reader);
            if path.ends_with("/get") {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n";
                let _ = write!(s, "{head}{:x}\r\n", partial.len());
                let _ = s.write_all(&partial);
                let _ = s.write_all(b"\r\n");
                held.push(s);
                continue;
            }
            let (status, body) = if path.ends_with("/_ping") {
                ("200 OK\r\nApi-Version: 1.41", "OK".to_string())
            } else {
                ("200 OK", r#"{"Id":"sha256:0123"}"#.to_string())
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let start = std::time::Instant::now();
    let host = format!("unix://{}", sock.display());
    let out = dropcap(
        &["image", "--timeout", "1", "--host", &host, "stalled:1"],
        dir.path(),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        stderr(&out).contains("sent nothing for 1 s"),
        "{}",
        stderr(&out)
    );
}
