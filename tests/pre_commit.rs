//! The hooks of `.pre-commit-hooks.yaml` run for real: a throw-away git repository whose
//! `.pre-commit-config.yaml` points at this checkout (`repo: <path>`, `rev: <HEAD>`), where a
//! commit with a compose file that has findings fails and one without passes.
//!
//! pre-commit installs hooks from a commit, so what is tested is the committed HEAD (in CI, a
//! fresh clone: always committed). scripts/test.sh installs pre-commit with pip.
//!
//! `dropcap-audit` is `language: rust`: pre-commit runs `cargo install --path .` on a clone of
//! the rev. Its cargo build goes to target/pre-commit/cargo with a light release profile, so
//! after the first run (~2 minutes) only dropcap itself is rebuilt.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn head() -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "this test needs the checkout's git history: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const BAD: &str = "services:\n  web:\n    image: nginx:1.27\n    cap_add: [SYS_ADMIN]\n";
const GOOD: &str = "services:\n  web:\n    image: nginx:1.27\n    cap_drop: [ALL]\n    security_opt: [\"no-new-privileges:true\"]\n";

/// A git repository with pre-commit installed for `hooks` of this checkout's HEAD.
struct Sandbox {
    dir: tempfile::TempDir,
    env: Vec<(String, PathBuf)>,
}

impl Sandbox {
    fn new(hooks: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let cache = repo().join("target/pre-commit");
        let bin_dir = common::dropcap_bin().parent().unwrap().to_path_buf();
        let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let env = vec![
            // pre-commit's own cache (clones, environments) stays with this test run.
            ("PRE_COMMIT_HOME".to_string(), dir.path().join(".cache")),
            // Reused between runs: only dropcap is rebuilt when HEAD moves.
            ("CARGO_TARGET_DIR".to_string(), cache.join("cargo")),
            ("CARGO_PROFILE_RELEASE_LTO".to_string(), "false".into()),
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL".to_string(), "0".into()),
            (
                "CARGO_PROFILE_RELEASE_CODEGEN_UNITS".to_string(),
                "16".into(),
            ),
            (
                "CARGO_PROFILE_RELEASE_INCREMENTAL".to_string(),
                "true".into(),
            ),
            // The -system hooks find the dropcap under test.
            ("PATH".to_string(), PathBuf::from(path)),
        ];
        let sb = Sandbox { dir, env };
        sb.git(&["init", "-q", "-b", "main"]);
        let mut config = format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n",
            repo().display(),
            head()
        );
        for hook in hooks {
            config.push_str(&format!("      - id: {hook}\n"));
        }
        sb.write(".pre-commit-config.yaml", &config);
        let out = sb.run(Command::new("pre-commit").arg("install"));
        assert!(out.status.success(), "pre-commit install: {}", text(&out));
        sb
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).unwrap();
    }

    fn run(&self, cmd: &mut Command) -> Output {
        cmd.current_dir(self.dir.path())
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().expect("run")
    }

    fn git(&self, args: &[&str]) -> Output {
        self.run(
            Command::new("git")
                .args([
                    "-c",
                    "user.name=dropcap test",
                    "-c",
                    "user.email=test@dropcap.invalid",
                ])
                .args(args),
        )
    }

    /// Stages everything and commits through the installed git hook.
    fn commit(&self, message: &str) -> Output {
        let add = self.git(&["add", "-A"]);
        assert!(add.status.success(), "git add: {}", text(&add));
        self.git(&["commit", "-q", "-m", message])
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A compose file with findings fails the commit and names the finding; fixed, it passes.
fn bad_fails_good_passes(hook: &str) {
    let sb = Sandbox::new(&[hook]);
    sb.write("compose.yaml", BAD);
    let out = sb.commit("bad");
    let said = text(&out);
    assert!(
        !out.status.success(),
        "{hook}: a SYS_ADMIN service was committed:\n{said}"
    );
    assert!(
        said.contains("compose.yaml:4:") && said.contains("DC003"),
        "{hook}: the failure does not show the finding:\n{said}"
    );
    sb.write("compose.yaml", GOOD);
    let out = sb.commit("good");
    assert!(
        out.status.success(),
        "{hook}: a clean compose file was refused:\n{}",
        text(&out)
    );
    let log = sb.git(&["log", "--oneline"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1);
}

#[test]
fn the_audit_hook_built_by_pre_commit_blocks_a_bad_compose_file() {
    if !common::tool(
        "pre-commit",
        "the_audit_hook_built_by_pre_commit_blocks_a_bad_compose_file",
    ) {
        return;
    }
    bad_fails_good_passes("dropcap-audit");
}

#[test]
fn the_system_audit_hook_blocks_a_bad_compose_file() {
    if !common::tool(
        "pre-commit",
        "the_system_audit_hook_blocks_a_bad_compose_file",
    ) {
        return;
    }
    bad_fails_good_passes("dropcap-audit-system");
}

#[test]
fn the_audit_hook_passes_args_through() {
    if !common::tool("pre-commit", "the_audit_hook_passes_args_through") {
        return;
    }
    // --fail-on critical lets a file whose worst finding is high through.
    let sb = Sandbox::new(&[]);
    let config = std::fs::read_to_string(sb.dir.path().join(".pre-commit-config.yaml")).unwrap();
    sb.write(
        ".pre-commit-config.yaml",
        &format!("{config}      - id: dropcap-audit-system\n        args: [--fail-on, critical]\n"),
    );
    sb.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n    cap_add: [SYS_TIME]\n",
    );
    let out = sb.commit("high only");
    assert!(out.status.success(), "{}", text(&out));
    sb.write("compose.yaml", BAD);
    let out = sb.commit("critical");
    assert!(!out.status.success(), "{}", text(&out));
}

/// `dropcap-fix-system` (`dropcap fix --check`): a pending fix fails the commit and shows the
/// diff; with `args: [--write]` the commit fails too (pre-commit refuses files a hook changed)
/// but the file now holds the fix, and committing again passes.
#[test]
fn the_fix_hook_fails_on_a_pending_fix_and_writes_with_args() {
    if !common::tool(
        "pre-commit",
        "the_fix_hook_fails_on_a_pending_fix_and_writes_with_args",
    ) {
        return;
    }
    let sb = Sandbox::new(&["dropcap-fix-system"]);
    sb.write("compose.yaml", BAD);
    let out = sb.commit("pending fix");
    let said = text(&out);
    assert!(
        !out.status.success(),
        "a pending fix was committed:\n{said}"
    );
    assert!(
        said.contains("+++ b/compose.yaml"),
        "no diff shown:\n{said}"
    );
    sb.write("compose.yaml", GOOD);
    let out = sb.commit("clean");
    assert!(
        out.status.success(),
        "a clean file was refused:\n{}",
        text(&out)
    );

    let config = std::fs::read_to_string(sb.dir.path().join(".pre-commit-config.yaml")).unwrap();
    sb.write(
        ".pre-commit-config.yaml",
        &config.replace(
            "      - id: dropcap-fix-system\n",
            "      - id: dropcap-fix-system\n        args: [--write]\n",
        ),
    );
    sb.write("compose.yaml", BAD);
    let out = sb.commit("written by the hook");
    assert!(!out.status.success(), "{}", text(&out));
    let fixed = std::fs::read_to_string(sb.dir.path().join("compose.yaml")).unwrap();
    assert!(
        !fixed.contains("SYS_ADMIN") && fixed.contains("no-new-privileges:true"),
        "{fixed}"
    );
    let out = sb.commit("fixed");
    assert!(out.status.success(), "{}", text(&out));
}
