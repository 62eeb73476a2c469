//! `dropcap man` renders with man(1) without a warning, has the sections people look for, and
//! documents every command and flag that `--help` lists. scripts/test.sh installs man-db.

mod common;

use regex::Regex;
use std::io::Write;
use std::process::{Command, Stdio};

use common::dropcap_ok as dropcap;

/// The page as `man -l -` shows it at 80 columns in an ASCII locale (as in most containers);
/// `extra` are more man options. Panics when man writes anything to stderr (groff's warnings
/// land there) or fails.
fn render(page: &str, extra: &[&str]) -> String {
    render_in(page, extra, "C")
}

fn render_in(page: &str, extra: &[&str], locale: &str) -> String {
    let mut child = Command::new("man")
        .args(extra)
        .args(["--warnings", "-l", "-"])
        .env("MANWIDTH", "80")
        .env("LC_ALL", locale)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "man: {}\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Commands under `Commands:` of `dropcap --help`.
fn commands() -> Vec<String> {
    let help = dropcap(&["--help"]);
    let re = Regex::new(r"^  ([a-z][a-z-]*)\s").unwrap();
    let list: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| re.captures(l).map(|c| c[1].to_string()))
        .collect();
    assert!(list.len() >= 10, "too few commands in --help: {list:?}");
    list
}

/// Flags (`-c`, `--fail-on`) under `Options:` of `dropcap [CMD] --help`.
fn flags(cmd: Option<&str>) -> Vec<String> {
    let mut args: Vec<&str> = cmd.into_iter().collect();
    args.push("--help");
    let help = dropcap(&args);
    let re = Regex::new(r"^\s+(?:(-[A-Za-z0-9])(?:, )?)?(--[a-z0-9-]+)?").unwrap();
    let mut found = Vec::new();
    for line in help.split("Options:").nth(1).unwrap().lines() {
        if let Some(c) = re.captures(line) {
            found.extend(c.iter().skip(1).flatten().map(|m| m.as_str().to_string()));
        }
    }
    assert!(found.contains(&"--help".to_string()), "{help}");
    found
}

/// The text between a `   dropcap CMD` subsection heading and the next heading.
fn block<'a>(text: &'a str, cmd: &str) -> &'a str {
    let head = format!("\n   dropcap {cmd}\n");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("no subsection for {cmd}"))
        + head.len();
    let rest = &text[start..];
    let end = rest
        .find("\n   dropcap ")
        .into_iter()
        .chain(rest.find("\nEXIT STATUS"))
        .min()
        .unwrap();
    &rest[..end]
}

fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("\n{name}\n"))
        .unwrap_or_else(|| panic!("no {name} section:\n{text}"));
    let rest = &text[start + name.len() + 2..];
    let end = Regex::new(r"\n[A-Z]")
        .unwrap()
        .find(rest)
        .map_or(rest.len(), |m| m.start());
    &rest[..end]
}

fn has_token(text: &str, token: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '|')
        .any(|w| w == token)
}

#[test]
fn the_whole_manual_renders_and_documents_every_command_and_flag() {
    if !common::tool(
        "man",
        "the_whole_manual_renders_and_documents_every_command_and_flag",
    ) {
        return;
    }
    let page = dropcap(&["man"]);
    render(&page, &[]);
    render_in(&page, &[], "C.UTF-8");
    // Without hyphenation, so a flag is never split at a line end.
    let text = render(&page, &["--nh", "--nj"]);
    for name in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(!section(&text, name).trim().is_empty(), "{name} is empty");
    }
    let exit = section(&text, "EXIT STATUS");
    for code in ["0", "1", "2", "126", "127"] {
        assert!(has_token(exit, code), "exit status {code} missing:\n{exit}");
    }
    let env = section(&text, "ENVIRONMENT");
    assert!(
        env.contains("DOCKER_HOST") && env.contains("NO_COLOR"),
        "{env}"
    );
    let see = section(&text, "SEE ALSO");
    for r in ["capabilities(7)", "pscap(8)", "capsh(1)", "getcap(8)"] {
        assert!(see.contains(r), "SEE ALSO lacks {r}");
    }
    let global = section(&text, "OPTIONS");
    for flag in flags(None) {
        assert!(has_token(global, &flag), "global {flag} not under OPTIONS");
    }
    let synopsis = section(&text, "SYNOPSIS");
    for cmd in commands() {
        assert!(
            synopsis.contains(&format!("dropcap {cmd}")),
            "{cmd} not in SYNOPSIS"
        );
        let own = block(&text, &cmd);
        if cmd == "help" {
            continue;
        }
        for flag in flags(Some(&cmd)) {
            assert!(
                has_token(own, &flag) || has_token(global, &flag),
                "dropcap {cmd} {flag} is not in the manual"
            );
        }
    }
}

#[test]
fn each_command_page_renders_with_its_flags() {
    if !common::tool("man", "each_command_page_renders_with_its_flags") {
        return;
    }
    for cmd in commands() {
        if cmd == "help" {
            continue;
        }
        let page = dropcap(&["man", &cmd]);
        render(&page, &[]);
        let text = render(&page, &["--nh", "--nj"]);
        let title = format!("DROPCAP-{}(1)", cmd.to_uppercase());
        assert!(
            text.starts_with(&title),
            "{cmd}: {}",
            &text[..80.min(text.len())]
        );
        for flag in flags(Some(&cmd)) {
            assert!(has_token(&text, &flag), "dropcap man {cmd} lacks {flag}");
        }
        let exit = section(&text, "EXIT STATUS");
        if cmd == "exec" {
            assert!(has_token(exit, "126") && has_token(exit, "127"), "{exit}");
        }
        assert!(section(&text, "SEE ALSO").contains("dropcap(1)"));
    }
}

#[test]
fn an_unknown_command_is_one_line_and_exit_2() {
    let out = Command::new(common::dropcap_bin())
        .args(["man", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("'nosuch'") && err.contains("audit"), "{err}");
}
