//! Permission fixes instead of capabilities (`dropcap profile`, issue 17): proposed from the
//! evidence's paths and the files' owner and mode, proven with `--try-fixes` on a derived
//! image, and never proposed for a capability no file change can replace.

mod common;

use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn profile(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json", "profile"];
    all.extend(args);
    serde_json::from_str(&common::dropcap_ok(&all)).unwrap()
}

fn image_id(image: &str) -> String {
    let out = common::docker(&["image", "inspect", "--format", "{{.Id}}", image]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn debian_nginx_keeps_dac_override_only_for_its_logs_and_the_fix_proves_it() {
    let test = "debian_nginx_keeps_dac_override_only_for_its_logs_and_the_fix_proves_it";
    if !common::is_root(test) {
        return;
    }
    let Some(image) = common::debian_image(test) else {
        return;
    };
    let before = image_id(image);
    // Trials without SETUID or SETGID hang on the HTTP check until the timeout: keep it short.
    let doc = profile(&[
        "--image",
        image,
        "--cmd",
        "nginx -g 'daemon off;'",
        "--http",
        "80/",
        "--timeout",
        "4",
        "--try-fixes",
    ]);
    assert_eq!(
        doc["proven"],
        json!(["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]),
        "{doc:#}"
    );
    let fixes = &doc["permission_fixes"];
    assert_eq!(fixes["replaces"], json!(["DAC_OVERRIDE"]), "{fixes:#}");
    assert_eq!(fixes["smaller_set"], json!(["CHOWN", "SETGID", "SETUID"]));
    assert_eq!(
        fixes["dockerfile"],
        "RUN chown 0 /var/log/nginx/access.log /var/log/nginx/error.log"
    );
    let files = fixes["files"].as_array().unwrap();
    assert!(files
        .iter()
        .all(|f| f["owner"] == "www-data:adm" && f["mode"] == "0640" && f["process"] == "nginx"));
    // CHOWN gives /var/lib/nginx/* to www-data: no file change can replace that.
    assert_eq!(fixes["without_fix"][0]["cap"], "CHOWN");
    let tried = &fixes["tried"];
    assert_eq!(tried["caps"], json!(["CHOWN", "SETGID", "SETUID"]));
    assert_eq!(tried["without_fix"]["passed"], false, "{tried:#}");
    assert!(
        tried["without_fix"]["reason"]
            .as_str()
            .unwrap()
            .contains("/var/log/nginx/error.log"),
        "{tried:#}"
    );
    assert_eq!(tried["with_fix"]["passed"], true, "{tried:#}");
    assert_eq!(tried["proven"], true);
    assert_eq!(tried["removed"], true);
    let derived = tried["with_fix"]["image"].as_str().unwrap();
    let gone = Command::new("docker")
        .args(["image", "inspect", derived])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "{derived} is still there");
    assert_eq!(image_id(image), before, "the user's image changed");
}

/// A file only its owner (uid 1) may read, in a directory anyone may search.
fn private_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, "s3cret\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&file, Some(1), Some(1)).unwrap();
    file
}

#[test]
fn a_local_fix_applied_by_hand_leaves_nothing_to_keep() {
    let test = "a_local_fix_applied_by_hand_leaves_nothing_to_keep";
    if !common::is_root(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = private_file(dir.path());
    let path = file.to_str().unwrap();
    let doc = profile(&["--", "cat", path]);
    let fixes = &doc["permission_fixes"];
    let kept = doc["proven"].as_array().unwrap().clone();
    assert_eq!(kept.len(), 1, "{doc:#}");
    assert_eq!(fixes["replaces"], json!(kept), "{fixes:#}");
    assert_eq!(fixes["commands"], json!([format!("chown 0 {path}")]));
    // On the host the fix is a command to run, never a Dockerfile line, and never tried.
    assert_eq!(fixes["dockerfile"], Value::Null);
    assert_eq!(fixes["tried"], Value::Null);
    assert_eq!(fixes["run_as"], "1");
    // Apply it as proposed: the same command now needs nothing.
    let status = Command::new("sh")
        .args(["-c", fixes["commands"][0].as_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let again = profile(&["--", "cat", path]);
    assert_eq!(again["proven"], json!([]), "{again:#}");
    assert_eq!(again["permission_fixes"], Value::Null);
}

#[test]
fn no_permission_fix_for_mknod_net_raw_or_a_chown_to_someone() {
    let test = "no_permission_fix_for_mknod_net_raw_or_a_chown_to_someone";
    if !common::is_root(test) || !common::tool("busybox", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    // Every trial makes the node anew.
    let mknod = format!("rm -f {0}; busybox mknod {0} c 1 3", node.display());
    let doc = profile(&["--", "sh", "-c", &mknod]);
    assert_eq!(doc["proven"], json!(["MKNOD"]), "{doc:#}");
    assert_eq!(doc["permission_fixes"], Value::Null, "{doc:#}");
    let doc = profile(&["--", "busybox", "ping", "-c1", "127.0.0.1"]);
    assert_eq!(doc["proven"], json!(["NET_RAW"]), "{doc:#}");
    assert_eq!(doc["permission_fixes"], Value::Null, "{doc:#}");
    // CHOWN is a file-permission capability, but giving a file away needs it whatever the
    // file's owner and mode: listed without a fix, nothing proposed.
    let file = dir.path().join("given");
    std::fs::write(&file, "").unwrap();
    let doc = profile(&["--", "chown", "2:2", file.to_str().unwrap()]);
    let fixes = &doc["permission_fixes"];
    assert_eq!(fixes["replaces"], json!([]), "{fixes:#}");
    assert_eq!(fixes["commands"], json!([]));
    assert_eq!(fixes["without_fix"][0]["cap"], "CHOWN");
}

#[test]
fn a_definitions_fixes_come_from_its_image_on_the_engine_it_ran_on() {
    let test = "a_definitions_fixes_come_from_its_image_on_the_engine_it_ran_on";
    if !common::is_root(test) || !common::docker_available(test) {
        return;
    }
    let Some(image) = common::debian_image(test) else {
        return;
    };
    // The log belongs to www-data:adm 0640 in the image; the host has no such file, so a fix
    // read from the host (as a local command's is) would call it "made at run time".
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  logger:\n    image: {image}\n    command: [sh, -c, 'echo x >> /var/log/nginx/error.log']\n"
        ),
    )
    .unwrap();
    // The engine only through -H: the image is read where the trials ran, not at DOCKER_HOST.
    let engine = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
    let nowhere = format!("unix://{}", dir.path().join("no-engine.sock").display());
    let out = Command::new(common::dropcap_bin())
        .args(["profile", file.to_str().unwrap(), "--service", "logger"])
        .args(["--exit-zero", "-H", &engine])
        .env("DOCKER_HOST", &nowhere)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("proven minimal set: DAC_OVERRIDE "), "{text}");
    assert!(
        text.contains(
            "DAC_OVERRIDE     /var/log/nginx/error.log (www-data:adm 0640; sh openat): chown 0 /var/log/nginx/error.log"
        ),
        "{text}"
    );
    assert!(
        text.contains("Dockerfile:  RUN chown 0 /var/log/nginx/error.log"),
        "{text}"
    );
    // Like `--image`, a definition prints the forms for services outside an engine only when
    // asked (`--emit`).
    assert!(!text.contains("systemd (drop-in"), "{text}");
    assert!(!text.contains("setcap:"), "{text}");
}
