//! Records the git commit dropcap is built from, for `dropcap --version`.
//!
//! A build from a tarball (no `.git`, or git missing) says "unknown" rather than failing;
//! packagers can name the commit with `DROPCAP_COMMIT`. Cargo reruns this script only when
//! HEAD or the branch it points to moves, not on every build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DROPCAP_COMMIT");
    let commit = match std::env::var("DROPCAP_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env=DROPCAP_COMMIT={commit}");
}

fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn git_commit() -> Option<String> {
    // Only this repository's own .git: a tarball unpacked inside another checkout must not
    // report that checkout's commit.
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != manifest.canonicalize().ok()? {
        return None;
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    watch_head();
    Some(commit)
}

/// HEAD (a checkout or a switch), the branch file it names (a commit) and packed-refs. A path
/// cargo cannot find counts as changed on every build, so only existing ones are named; a
/// branch that lives only in packed-refs is watched through its directory, where the next
/// commit creates it.
fn watch_head() {
    let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) else {
        return;
    };
    let git_dir = PathBuf::from(git_dir);
    let common = git(&["rev-parse", "--git-common-dir"])
        .map(|c| {
            let c = PathBuf::from(c);
            if c.is_absolute() {
                c
            } else {
                PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join(c)
            }
        })
        .unwrap_or_else(|| git_dir.clone());
    watch(&git_dir.join("HEAD"));
    watch(&common.join("packed-refs"));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        let loose = common.join(&branch);
        if loose.exists() {
            watch(&loose);
        } else if let Some(parent) = loose.parent() {
            watch(parent);
        }
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
