//! `dropcap man [COMMAND]`: the manual page in roff, generated from the clap definition.
//!
//! `dropcap man` is one page, dropcap(1), holding every command with its synopsis and options:
//! a single file to install, and one place to search with `/`. `dropcap man COMMAND` prints
//! that command alone as dropcap-COMMAND(1), for those who keep git's `man git-log` habit.
//! The synopses and options come from the definition (so they cannot drift); the sections clap
//! does not know (exit status, environment, files, examples) are written here.

use super::CmdError;
use crate::Outcome;
use clap::Command;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Print only this command's page, dropcap-COMMAND(1), instead of the whole manual.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// Options every command takes; the whole manual documents them once, under OPTIONS.
const GLOBAL: &[&str] = &["format", "color", "help", "version"];

pub fn run(args: &ManArgs, mut cli: Command, out: &mut dyn Write) -> Result<Outcome, CmdError> {
    // Sets the subcommands' `dropcap audit` bin names and propagates the global options.
    cli.build();
    let page = match &args.command {
        None => whole(&cli)?,
        Some(name) => {
            let Some(sub) = paged(&cli).find(|s| s.get_name() == name) else {
                let names: Vec<&str> = paged(&cli).map(|s| s.get_name()).collect();
                return Err(CmdError::Usage(format!(
                    "man: no command '{}' (commands: {})",
                    crate::output::printable(name),
                    names.join(", ")
                )));
            };
            single(sub)?
        }
    };
    out.write_all(finish(&String::from_utf8_lossy(&page)).as_bytes())?;
    Ok(Outcome::Clean)
}

/// Help texts use a few typographic characters that groff's ASCII device (man in a C locale,
/// as in most containers) has no glyph for and warns about; they get their ASCII spelling.
/// Another such character fails `tests/manpage.rs`, so it gets added here.
const ASCII: &[(char, &str)] = &[
    ('\u{2026}', "..."),
    ('\u{2013}', "-"),
    ('\u{2014}', "--"),
    ('\u{2192}', "->"),
    ('\u{2265}', ">="),
    ('\u{2264}', "<="),
    ('\u{00d7}', "x"),
    ('\u{222a}', "+"),
    ('\u{2018}', "'"),
    ('\u{2019}', "'"),
];

/// The page as printed: roff's quote-string preamble (two lines every rendered piece starts
/// with) only once, and typographic characters in their ASCII spelling.
fn finish(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut preamble_lines = 0;
    for line in page.lines() {
        if is_preamble(line) {
            preamble_lines += 1;
            if preamble_lines > 2 {
                continue;
            }
        }
        for c in line.chars() {
            match ASCII.iter().find(|(from, _)| *from == c) {
                Some((_, to)) => out.push_str(to),
                None => out.push(c),
            }
        }
        out.push('\n');
    }
    out
}

fn visible(cli: &Command) -> impl Iterator<Item = &Command> {
    cli.get_subcommands().filter(|s| !s.is_hide_set())
}

/// Commands that get a page of their own: not clap's `help`, which has nothing to say there.
pub fn paged(cli: &Command) -> impl Iterator<Item = &Command> {
    visible(cli).filter(|s| s.get_name() != "help")
}

/// dropcap(1): every command in one page.
fn whole(cli: &Command) -> std::io::Result<Vec<u8>> {
    let man = Man::new(cli.clone())
        .title("DROPCAP")
        .manual("dropcap manual");
    let mut w = Vec::new();
    man.render_title(&mut w)?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    // The global options are listed once, under OPTIONS.
    let subs: Vec<Man> = visible(cli).map(|s| Man::new(without_globals(s))).collect();
    for sub in &subs {
        w.extend(body(sub, Man::render_synopsis_section)?);
    }
    write_roff(&mut w, &description())?;
    man.render_options_section(&mut w)?;
    let mut commands = Roff::new();
    commands.control("SH", ["COMMANDS"]);
    write_roff(&mut w, &commands)?;
    for (sub, man) in visible(cli).zip(&subs) {
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
        let mut head = Roff::new();
        head.control("SS", [name]);
        write_roff(&mut w, &head)?;
        w.extend(body(man, Man::render_synopsis_section)?);
        w.extend(body(man, Man::render_description_section)?);
        w.extend(body(man, Man::render_options_section)?);
    }
    write_roff(&mut w, &tail(None))?;
    Ok(w)
}

/// A copy of `sub` with the global options hidden: the whole manual lists them once.
fn without_globals(sub: &Command) -> Command {
    let mut own = sub.clone();
    for id in GLOBAL {
        if own.get_arguments().any(|a| a.get_id() == id) {
            own = own.mut_arg(id, |a| a.hide(true));
        }
    }
    own
}

/// dropcap-COMMAND(1): one command, with its own and the global options.
fn single(sub: &Command) -> std::io::Result<Vec<u8>> {
    let title = format!("DROPCAP-{}", sub.get_name().to_uppercase());
    let man = Man::new(sub.clone()).title(title).manual("dropcap manual");
    let mut w = Vec::new();
    man.render_title(&mut w)?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    man.render_description_section(&mut w)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut w)?;
    }
    write_roff(&mut w, &tail(Some(sub.get_name())))?;
    Ok(w)
}

/// A section's content without its `.SH` heading and roff's preamble, to nest it under a
/// command's `.SS`. Any further heading (an option group) becomes a bold paragraph title.
fn body(
    man: &Man,
    section: fn(&Man, &mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    section(man, &mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let mut out = String::new();
    let mut headed = false;
    for line in text.lines() {
        if is_preamble(line) {
            continue;
        }
        if let Some(heading) = line.strip_prefix(".SH ") {
            if headed {
                out.push_str(".PP\n.B ");
                out.push_str(heading);
                out.push('\n');
            }
            headed = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !out.is_empty() {
        out.insert_str(0, ".PP\n");
    }
    Ok(out.into_bytes())
}

/// The two lines roff puts before every rendered piece (they define the quote string).
fn is_preamble(line: &str) -> bool {
    line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq")
}

fn write_roff(w: &mut Vec<u8>, roff: &Roff) -> std::io::Result<()> {
    roff.to_writer(w)
}

fn para(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.text([roman(text)]);
}

/// A `.TP` entry: a bold term and its explanation.
fn item(roff: &mut Roff, term: Vec<Inline>, text: &str) {
    roff.control("TP", []);
    roff.text(term);
    roff.text([roman(text)]);
}

fn description() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["DESCRIPTION"]);
    r.text([roman(
        "dropcap audits, traces and profiles the Linux capabilities of containers. Docker starts \
         every container with 14 capabilities and most services need none of them; dropcap \
         shows what containers are given and what they hold, proves the smallest set that works \
         by running the workload, and says exactly what to drop.",
    )]);
    para(
        &mut r,
        "audit checks compose files, Kubernetes manifests, saved docker inspect output or the \
         containers of the local engine against a policy (CIS Docker, Pod Security Standards \
         baseline or restricted, or strict), with the exact file:line:col of every finding and \
         its fix. decode, explain and ps read capability masks, the capability table and the \
         live processes; trace watches every capability check the kernel makes (eBPF); profile \
         finds and proves the minimal set; exec runs a command with exactly a given set; ping \
         answers health checks without NET_RAW.",
    );
    para(
        &mut r,
        "Every command takes --format table|json (audit also sarif) and --color. Capabilities \
         are accepted in every spelling people use: NET_RAW, CAP_NET_RAW, net_raw, 13, hex \
         masks such as 0x2000, and libcap text such as cap_net_raw+ep.",
    );
    r
}

/// The sections clap does not know. `command` narrows them to one command's page.
fn tail(command: Option<&str>) -> Roff {
    let mut r = Roff::new();
    exit_status(&mut r, command);
    environment(&mut r);
    files(&mut r);
    if command.is_none() {
        examples(&mut r);
    }
    see_also(&mut r, command);
    r
}

fn exit_status(r: &mut Roff, command: Option<&str>) {
    r.control("SH", ["EXIT STATUS"]);
    if command == Some("exec") {
        r.text([roman(
            "exec replaces itself with the command, so its exit status is the command's own, \
             with these exceptions:",
        )]);
        item(
            r,
            vec![bold("126")],
            "The command was found but cannot be run.",
        );
        item(r, vec![bold("127")], "The command was not found.");
        item(
            r,
            vec![bold("2")],
            "dropcap's own error, before the command started (a bad --caps or --user, \
             capabilities it cannot grant).",
        );
        return;
    }
    item(
        r,
        vec![bold("0")],
        "Clean: no finding at or above --fail-on, a ping reply, a passed check.",
    );
    item(
        r,
        vec![bold("1")],
        "Findings at or above --fail-on (audit), an audited capability check that was denied \
         (trace), no reply (ping).",
    );
    item(
        r,
        vec![bold("2")],
        "An error: bad input (named as file:line:col), a missing process, an unreachable engine, \
         missing privileges. Good inputs next to a bad one are still processed.",
    );
    if command.is_none() {
        item(
            r,
            vec![bold("126"), roman(", "), bold("127")],
            "exec only: the command cannot be run, or was not found. Otherwise exec exits with \
             the command's own status.",
        );
    }
}

fn environment(r: &mut Roff) {
    r.control("SH", ["ENVIRONMENT"]);
    item(
        r,
        vec![bold("DOCKER_HOST")],
        "The engine to talk to (unix:///path or tcp://host:port) for audit without paths, ps \
         names, trace --container and profile --image; -H/--host overrides it. Default \
         unix:///var/run/docker.sock.",
    );
    item(
        r,
        vec![bold("DROPCAP_NO_CACHE")],
        "When set to anything but empty or 0, the image-analysis cache is neither read nor \
         written, as with --no-cache.",
    );
    item(
        r,
        vec![bold("NO_COLOR")],
        "When set, --color auto never colours; --color always still does.",
    );
    item(
        r,
        vec![bold("PATH")],
        "Where exec, trace -- CMD and profile -- CMD look up the command, and profile looks up \
         the docker client.",
    );
    item(
        r,
        vec![bold("XDG_CACHE_HOME")],
        "Where the image-analysis cache lives (dropcap/images/ under it; only an absolute path \
         counts); default ~/.cache.",
    );
}

fn files(r: &mut Roff) {
    r.control("SH", ["FILES"]);
    let entries: [(&str, &str); 9] = [
        ("/var/run/docker.sock", "The Docker engine's socket, unless DOCKER_HOST or --host say otherwise (Podman: /run/podman/podman.sock)."),
        ("/var/lib/docker/containers/ID/config.v2.json, hostconfig.json", "Read directly by a live audit running as root next to dockerd (checked against the API; --api-only turns it off)."),
        ("$XDG_CACHE_HOME/dropcap/images/ (else ~/.cache/dropcap/images/)", "Each image's analysis (file capabilities, setuid/setgid files), one file per image id, written by rename and checked on reading; a damaged or foreign entry is ignored and rewritten. --no-cache or DROPCAP_NO_CACHE=1 bypasses it; deleting it is always safe."),
        ("/var/lib/docker/image/overlay2/, /var/lib/docker/overlay2/", "A local dockerd's layer store: image configs, layer tar-split records and layer directories, read by root instead of the image export when the data root is proven to be that dockerd's."),
        ("/proc/PID/status", "The five capability sets of a process (decode --pid, ps, live audit)."),
        ("/proc/sys/net/ipv4/ping_group_range", "Whether ping (and a workload) can use ICMP datagram sockets without NET_RAW; read in each container's network namespace."),
        ("/proc/sys/net/ipv4/ip_unprivileged_port_start", "Whether binding ports below 1024 needs NET_BIND_SERVICE."),
        ("/sys/kernel/btf/vmlinux, /proc/kallsyms", "Kernel type information and symbols that trace and profile need."),
        (".gitignore", "Honoured when audit walks a directory, as ripgrep does."),
    ];
    for (path, text) in entries {
        item(r, vec![italic(path)], text);
    }
}

fn examples(r: &mut Roff) {
    r.control("SH", ["EXAMPLES"]);
    let entries: [(&str, &str); 10] = [
        (
            "Audit every compose file and manifest under a directory:",
            "dropcap audit deploy/",
        ),
        (
            "Gate CI on the Pod Security Standards, failing only on high and critical findings:",
            "dropcap audit --policy pss-restricted --fail-on high k8s/",
        ),
        (
            "Audit Helm output, and write SARIF for code scanning:",
            "helm template . | dropcap audit --format sarif - > dropcap.sarif",
        ),
        (
            "Audit every container of the local engine:",
            "dropcap audit",
        ),
        (
            "Decode the mask of /proc/PID/status, and explain a capability:",
            "dropcap decode 00000000a80425fb; dropcap explain NET_RAW",
        ),
        ("Who holds which capabilities now:", "dropcap ps"),
        (
            "Every capability check of a command:",
            "dropcap trace --unique -- ping -c1 127.0.0.1",
        ),
        (
            "Prove the minimal set of an image and keep the result:",
            "dropcap profile --image nginx:1.27 --http 80/ -o nginx.json",
        ),
        (
            "Run a command with exactly one capability:",
            "dropcap exec --caps NET_BIND_SERVICE -- httpd -f -p 80",
        ),
        (
            "A health check with every capability dropped (Dockerfile):",
            "HEALTHCHECK CMD [\"dropcap\", \"ping\", \"--check\", \"127.0.0.1\"]",
        ),
    ];
    for (what, example) in entries {
        r.control("PP", []);
        r.text([roman(what)]);
        r.control("RS", ["4"]);
        r.control("nf", []);
        r.text([bold(example)]);
        r.control("fi", []);
        r.control("RE", []);
    }
    r.control("PP", []);
    r.text([roman("Install shell completions and this page:")]);
    r.control("RS", ["4"]);
    r.control("nf", []);
    r.text([bold(
        "dropcap completions bash > ~/.local/share/bash-completion/completions/dropcap",
    )]);
    r.text([bold("dropcap man > ~/.local/share/man/man1/dropcap.1")]);
    r.control("fi", []);
    r.control("RE", []);
}

fn see_also(r: &mut Roff, command: Option<&str>) {
    r.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<Inline> = Vec::new();
    if command.is_some() {
        refs.extend([bold("dropcap"), roman("(1), ")]);
    }
    for (i, (name, section)) in [
        ("capabilities", "7"),
        ("pscap", "8"),
        ("capsh", "1"),
        ("getcap", "8"),
        ("setcap", "8"),
        ("getpcaps", "8"),
        ("setpriv", "1"),
        ("docker-run", "1"),
        ("ping", "8"),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(name));
        refs.push(roman(format!("({section})")));
    }
    r.text(refs);
}
