//! The systemd, OCI and setcap forms of a proven set, each checked by the tool that consumes
//! it: systemd-analyze parses the drop-in, runc runs a process with the OCI capabilities and
//! the kernel's five sets are read back, setcap writes the file capability and getcap and
//! `dropcap image --rootfs` read it back. The sets come from real `dropcap profile` runs.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A proven profile of `chown 2:2 FILE` (CHOWN), as root or as `user` (not uid 2), on a new
/// file in a directory anyone may search.
fn chown_profile(dir: &Path, user: Option<&str>) -> Value {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join(format!("owned-by-{}", user.unwrap_or("root")));
    std::fs::write(&file, "").unwrap();
    let mut args = vec!["--format", "json", "profile"];
    if let Some(u) = user {
        args.extend(["--user", u]);
    }
    args.extend(["--", "chown", "2:2", file.to_str().unwrap()]);
    let doc: Value = serde_json::from_str(&common::dropcap_ok(&args)).unwrap();
    assert_eq!(doc["proven"], serde_json::json!(["CHOWN"]), "{doc}");
    doc
}

fn systemd_dump(unit: &Path) -> (String, String) {
    let quiet = Command::new("systemd-analyze")
        .args(["verify", unit.to_str().unwrap()])
        .output()
        .unwrap();
    let debug = Command::new("systemd-analyze")
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .args(["verify", unit.to_str().unwrap()])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&quiet.stderr).into_owned()
            + &String::from_utf8_lossy(&quiet.stdout),
        String::from_utf8_lossy(&debug.stderr).into_owned()
            + &String::from_utf8_lossy(&debug.stdout),
    )
}

/// The value of `Key:` in systemd-analyze's debug dump of the unit's execution context.
fn dumped<'a>(dump: &'a str, key: &str) -> Option<&'a str> {
    dump.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(str::trim)
}

#[test]
fn systemd_drop_in_is_what_systemd_parses() {
    if !common::is_root("systemd_drop_in_is_what_systemd_parses")
        || !common::tool("systemd-analyze", "systemd_drop_in_is_what_systemd_parses")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for user in [None, Some("daemon")] {
        let doc = chown_profile(dir.path(), user);
        let fragment = doc["recommendation"]["systemd"].as_str().unwrap();
        let unit = dir.path().join("dropcap-emit-test.service");
        // The drop-in's own [Service] header continues the unit's section.
        std::fs::write(
            &unit,
            format!("[Unit]\nDescription=emit test\n\n[Service]\nExecStart=/bin/true\n{fragment}"),
        )
        .unwrap();
        let (quiet, dump) = systemd_dump(&unit);
        assert!(
            !quiet.contains("dropcap-emit-test.service:"),
            "systemd-analyze warned about the drop-in:\n{quiet}\n{fragment}"
        );
        assert_eq!(
            dumped(&dump, "CapabilityBoundingSet"),
            Some("cap_chown"),
            "{fragment}"
        );
        let ambient = dumped(&dump, "AmbientCapabilities");
        match user {
            None => assert_eq!(ambient, None, "root needs no ambient set:\n{fragment}"),
            Some(u) => {
                assert_eq!(ambient, Some("cap_chown"), "{fragment}");
                assert_eq!(dumped(&dump, "User"), Some(u));
            }
        }
        assert!(fragment.contains("NoNewPrivileges=yes\n"));
    }
    // The check above would notice a name systemd does not know: it drops it from the set.
    let unit = dir.path().join("dropcap-emit-test.service");
    std::fs::write(
        &unit,
        "[Service]\nExecStart=/bin/true\nCapabilityBoundingSet=CAP_NOT_A_CAP\n",
    )
    .unwrap();
    assert_eq!(
        dumped(&systemd_dump(&unit).1, "CapabilityBoundingSet"),
        Some("")
    );
}

/// `CapX:` of /proc/self/status as printed inside the runc container.
fn cap_line(status: &str, set: &str) -> u64 {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("Cap{set}:")))
        .unwrap_or_else(|| panic!("no Cap{set} in {status}"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

#[test]
fn oci_capabilities_run_under_runc_with_exactly_the_set() {
    let test = "oci_capabilities_run_under_runc_with_exactly_the_set";
    if !common::is_root(test) || !common::tool("runc", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for user in [None, Some("65534")] {
        let doc = chown_profile(dir.path(), user);
        let mask = u64::from_str_radix(
            doc["proven_mask"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap();
        let bundle = tempfile::tempdir().unwrap();
        let rootfs = bundle.path().join("rootfs/bin");
        std::fs::create_dir_all(&rootfs).unwrap();
        std::fs::copy("/bin/busybox", rootfs.join("busybox")).unwrap();
        let spec = Command::new("runc")
            .args(["spec", "--bundle", bundle.path().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(spec.status.success(), "{spec:?}");
        let path = bundle.path().join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let process = &mut config["process"];
        process["capabilities"] = doc["recommendation"]["oci"].clone();
        process["terminal"] = Value::Bool(false);
        process["args"] = serde_json::json!(["/bin/busybox", "grep", "^Cap", "/proc/self/status"]);
        let uid: u32 = user.map_or(0, |u| u.parse().unwrap());
        process["user"] = serde_json::json!({"uid": uid, "gid": uid});
        std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
        let id = common::unique("emit-oci");
        let state = bundle.path().join("state");
        let out = Command::new("runc")
            .args(["--root", state.to_str().unwrap(), "run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .output()
            .unwrap();
        let _ = Command::new("runc")
            .args(["--root", state.to_str().unwrap(), "delete", "-f", &id])
            .output();
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "runc: {}\n{status}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(cap_line(&status, "Eff"), mask, "{status}");
        assert_eq!(cap_line(&status, "Prm"), mask, "{status}");
        assert_eq!(cap_line(&status, "Bnd"), mask, "{status}");
        let carried = if user.is_some() { mask } else { 0 };
        assert_eq!(cap_line(&status, "Amb"), carried, "{status}");
        assert_eq!(cap_line(&status, "Inh"), carried, "{status}");
    }
}

#[test]
fn setcap_line_sets_what_getcap_and_dropcap_image_read_back() {
    let test = "setcap_line_sets_what_getcap_and_dropcap_image_read_back";
    if !common::is_root(test) || !common::tool("setcap", test) || !common::tool("getcap", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = chown_profile(dir.path(), None);
    let line = doc["recommendation"]["setcap"].as_str().unwrap();
    let real = std::fs::canonicalize(common_chown()).unwrap();
    assert!(line.ends_with(&format!(" {}", real.display())), "{line}");
    // The same line, pointed at a copy of the binary in an otherwise empty root.
    let root = tempfile::tempdir().unwrap();
    let copy = root.path().join("chown");
    std::fs::copy(&real, &copy).unwrap();
    let cmd = line.replace(&real.display().to_string(), copy.to_str().unwrap());
    let set = Command::new("sh").args(["-c", &cmd]).output().unwrap();
    assert!(set.status.success(), "{cmd}: {set:?}");
    let got = Command::new("getcap").arg(&copy).output().unwrap();
    assert!(
        String::from_utf8_lossy(&got.stdout).contains("cap_chown=ep"),
        "{got:?}"
    );
    let image: Value = serde_json::from_str(&common::dropcap_ok(&[
        "--format",
        "json",
        "image",
        "--rootfs",
        root.path().to_str().unwrap(),
    ]))
    .unwrap();
    let file = &image[0]["files"][0];
    assert_eq!(file["path"], "/chown");
    assert_eq!(file["capability_text"], "cap_chown=ep");
}

fn common_chown() -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("chown"))
        .find(|p| p.is_file())
        .unwrap()
}

#[test]
fn trace_emits_the_granted_set() {
    if !common::is_root("trace_emits_the_granted_set") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("owned");
    std::fs::write(&file, "").unwrap();
    let out = common::dropcap_ok(&[
        "trace",
        "--emit",
        "systemd,setcap",
        "--",
        "chown",
        "1:1",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.contains("CapabilityBoundingSet=CAP_CHOWN\nNoNewPrivileges=yes\n"),
        "{out}"
    );
    assert!(out.contains("setcap 'cap_chown+ep' /"), "{out}");
    assert!(!out.contains("OCI runtime spec"), "{out}");
}
