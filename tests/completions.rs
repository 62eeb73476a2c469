//! The completion scripts load in their shells and complete what they should: subcommands,
//! capability names, policy values. Each shell really completes (bash through the generated
//! function, zsh through its completion system in a pseudo-terminal, fish through
//! `complete -C`); scripts/test.sh installs zsh and fish.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn script(shell: &str, dir: &Path) -> PathBuf {
    let text = common::dropcap_ok(&["completions", shell]);
    assert!(!text.is_empty(), "{shell}: empty script");
    let name = if shell == "zsh" {
        "_dropcap".to_string()
    } else {
        format!("dropcap.{shell}")
    };
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Candidates bash offers for `words`, the last being the word under the cursor, through the
/// generated function called the way `complete -F` calls it.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let code = format!(
        "source '{}' || exit 3\n\
         COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}\n\
         complete -p dropcap >/dev/null || exit 4\n\
         _dropcap dropcap '{}' '{}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    run(Command::new("bash").arg("-c").arg(code))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_script_loads_and_completes() {
    if !common::tool("bash", "bash_script_loads_and_completes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = script("bash", dir.path());
    run(Command::new("bash").arg("-n").arg(&s));
    assert_eq!(bash_complete(&s, &["dropcap", "pro"]), ["profile"]);
    assert_eq!(
        bash_complete(&s, &["dropcap", "exec", "--caps", "NET_R"]),
        ["NET_RAW"]
    );
    assert_eq!(
        bash_complete(&s, &["dropcap", "explain", "NET_R"]),
        ["NET_RAW"]
    );
    assert_eq!(bash_complete(&s, &["dropcap", "man", "pro"]), ["profile"]);
    assert_eq!(
        bash_complete(&s, &["dropcap", "audit", "--policy", "pss-"]),
        ["pss-baseline", "pss-restricted"]
    );
    assert_eq!(
        bash_complete(&s, &["dropcap", "audit", "--fail-on", "cr"]),
        ["critical"]
    );
    assert_eq!(
        bash_complete(&s, &["dropcap", "audit", "--format", "sa"]),
        ["sarif"]
    );
}

/// Types `input` then Tab into an interactive zsh whose completion system loaded the script,
/// runs the completed line with a `dropcap` function that prints its arguments, and returns them.
fn zsh_complete(dir: &Path, input: &str) -> String {
    let driver = format!(
        r#"zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z 'PS1="> "; fpath=({dir} $fpath); autoload -U compinit; compinit -u -D; dropcap() {{ print -r -- "GOT:$* END"; }}; print RE""ADY'
zpty -r z out '*READY*' || exit 4
zpty -w -n z $'{input}\t'
sleep 1
zpty -w z ' ;'
zpty -r z out '*GOT:*END*' || exit 5
print -r -- "$out"
zpty -d z
"#,
        dir = dir.display()
    );
    let out = run(Command::new("timeout")
        .args(["30", "zsh", "-f", "-c"])
        .arg(driver));
    let got = out
        .split("GOT:")
        .nth(1)
        .and_then(|s| s.split(" END").next())
        .unwrap_or_else(|| panic!("zsh printed no completed line:\n{out}"));
    got.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn zsh_script_loads_and_completes() {
    if !common::tool("zsh", "zsh_script_loads_and_completes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = script("zsh", dir.path());
    run(Command::new("zsh").arg("-n").arg(&s));
    assert_eq!(zsh_complete(dir.path(), "dropcap pro"), "profile");
    assert_eq!(
        zsh_complete(dir.path(), "dropcap exec --caps NET_R"),
        "exec --caps NET_RAW"
    );
    assert_eq!(
        zsh_complete(dir.path(), "dropcap audit --fail-on cr"),
        "audit --fail-on critical"
    );
}

fn fish_complete(script: &Path, line: &str) -> Vec<String> {
    let code = format!("source '{}'; complete -C '{line}'", script.display());
    run(Command::new("fish").arg("--no-config").arg("-c").arg(code))
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn fish_script_loads_and_completes() {
    if !common::tool("fish", "fish_script_loads_and_completes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = script("fish", dir.path());
    run(Command::new("fish").arg("--no-execute").arg(&s));
    assert_eq!(fish_complete(&s, "dropcap pro"), ["profile"]);
    assert_eq!(fish_complete(&s, "dropcap exec --caps NET_R"), ["NET_RAW"]);
    assert_eq!(
        fish_complete(&s, "dropcap audit --policy pss-"),
        ["pss-baseline", "pss-restricted"]
    );
}

/// Elvish reads its completers from the interactive editor (`edit:`), which `elvish -c` does
/// not have: the script is loaded with that one name bound to a map and a candidate function
/// of its own, then its completer is called as the editor would and its output filtered by the
/// prefix as elvish's default matcher does.
#[test]
fn elvish_script_loads_and_completes() {
    if !common::tool("elvish", "elvish_script_loads_and_completes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(script("elvish", dir.path())).unwrap();
    let body = text
        .replace("edit:completion:arg-completer", "completers")
        .replace("edit:complex-candidate", "candidate");
    let (uses, rest) = body
        .split_once("use str;\n")
        .expect("the script imports str");
    let harness = format!(
        "var completers = [&]\n{uses}use str;\n\
         fn candidate {{|text &display=''| put $text }}\n{rest}\n\
         for c [($completers[dropcap] dropcap pro)] {{ if (str:has-prefix $c pro) {{ echo $c }} }}\n"
    );
    let path = dir.path().join("harness.elv");
    std::fs::write(&path, harness).unwrap();
    run(Command::new("elvish").arg("-compileonly").arg(&path));
    assert_eq!(
        run(Command::new("elvish").arg("-norc").arg(&path)),
        "profile\n"
    );
}

#[test]
fn the_powershell_script_names_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(script("powershell", dir.path())).unwrap();
    for cmd in ["audit", "profile", "exec", "ping", "completions", "man"] {
        assert!(
            text.contains(&format!("'dropcap;{cmd}'")),
            "powershell: no {cmd}"
        );
    }
}

/// The candidates live only in the scripts: every other spelling still parses and runs.
#[test]
fn completed_arguments_still_take_every_spelling() {
    for cap in ["cap_net_raw", "CAP_NET_RAW", "net_raw", "13"] {
        common::dropcap_ok(&["explain", cap]);
    }
    if !common::is_root("completed_arguments_still_take_every_spelling") {
        return;
    }
    for caps in ["0x2000", "cap_net_raw+ep", "net_raw,chown", "13"] {
        common::dropcap_ok(&["exec", "--caps", caps, "--", "true"]);
    }
}

#[test]
fn an_unknown_shell_or_a_json_format_is_an_error() {
    for args in [
        &["completions", "tcsh"][..],
        &["--format", "json", "completions", "bash"],
        &["--format", "json", "man"],
    ] {
        let out = Command::new(common::dropcap_bin())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
