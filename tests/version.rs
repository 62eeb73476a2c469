//! `dropcap --version` names the commit it was built from (build.rs), so a bug report points at
//! the exact code.

mod common;

use std::process::Command;

#[test]
fn version_names_the_commit_of_the_build() {
    let line = common::dropcap_ok(&["--version"]);
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string())
    };
    // cargo reruns build.rs when HEAD moves, so the binary under test is from HEAD; a source
    // tree that is not itself a checkout says "unknown".
    let own = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        std::fs::canonicalize(top).ok() == std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).ok()
    });
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) if own => c,
        _ => "unknown".to_string(),
    };
    assert_eq!(
        line.trim(),
        format!("dropcap {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
    // Every command says the same.
    let sub = common::dropcap_ok(&["audit", "--version"]);
    assert!(sub.contains(&format!("(commit {commit})")), "{sub}");
}
