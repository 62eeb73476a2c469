//! Thin entry point: parse, dispatch, map the outcome to an exit code (0 clean, 1 findings,
//! 2 error), the way ripgrep's `main` does.

mod cli;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use dropcap::output::{Format, Style};
use dropcap::{cmd, Outcome};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_error(e),
    };
    match run(&cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            // A reader that went away (`dropcap ps | head`) is not an error worth reporting;
            // a broken pipe elsewhere (the engine's socket) is.
            if is_broken_pipe(&err)
                && dropcap::output::reader_gone(std::os::fd::AsFd::as_fd(&std::io::stdout()))
            {
                return ExitCode::SUCCESS;
            }
            dropcap::say!("dropcap: {}", one_line(&err));
            ExitCode::from(Outcome::Error.code())
        }
    }
}

/// A value that fails its check (a number out of range, seconds that are not a number) or is
/// not UTF-8 is one line like every other dropcap error, for scripts and health checks that
/// log a single line. Usage errors keep clap's own format, whose usage and hints help there.
fn parse_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::ValueValidation => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            dropcap::say!("dropcap: {}", first.strip_prefix("error: ").unwrap_or(first));
        }
        // clap does not say which argument; the user needs to know.
        ErrorKind::InvalidUtf8 => match std::env::args_os().find(|a| a.to_str().is_none()) {
            Some(bad) => dropcap::say!(
                "dropcap: argument '{}' is not valid UTF-8 (only paths and commands may hold any bytes)",
                dropcap::output::printable(&bad.to_string_lossy())
            ),
            None => e.exit(),
        },
        _ => e.exit(),
    }
    ExitCode::from(Outcome::Error.code())
}

/// serde_json wraps the io error of a JSON write in its own error and does not expose it as
/// a source, so a closed pipe under `--format json` must be recognised through serde_json too.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            Some(io.kind())
        } else {
            cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, skipping a cause the message above already quotes:
/// library errors often print their io source themselves, and `{:#}` would say it twice.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

fn run(cli: &Cli) -> anyhow::Result<Outcome> {
    let style = Style {
        color: cli.color.enabled(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let format = cli.format;
    if cli.no_cache {
        dropcap::image::cache::disable();
    }
    let outcome = match &cli.command {
        Command::Audit(a) => cmd::audit::run(a, format, style, &mut out)?,
        Command::Fix(a) => cmd::fix::run(a, format, style, &mut out)?,
        Command::Decode(a) => {
            no_sarif(format, "decode")?;
            cmd::decode::run(a, format, style, &mut out)?
        }
        Command::Explain(a) => {
            no_sarif(format, "explain")?;
            cmd::explain::run(a, format, style, &mut out)?
        }
        Command::Image(a) => {
            no_sarif(format, "image")?;
            cmd::image::run(a, format, style, &mut out)?
        }
        Command::Ps(a) => {
            no_sarif(format, "ps")?;
            cmd::ps::run(a, format, style, &mut out)?
        }
        // exec replaces the process; it returns only with an error, and with the command's
        // own convention for exit codes (127 not found, 126 cannot run).
        Command::Exec(a) => {
            no_sarif(format, "exec")?;
            let err = cmd::exec::run(a);
            dropcap::say!("dropcap: exec: {err}");
            std::process::exit(i32::from(err.exit_code()));
        }
        Command::Profile(a) => {
            no_sarif(format, "profile")?;
            cmd::profile::run(a, format, style, &mut out)?
        }
        Command::Trace(a) => {
            no_sarif(format, "trace")?;
            cmd::trace::run(a, format, style, &mut out)?
        }
        Command::Ping(a) => cmd::ping::run(a, format, style, &mut out)?,
        Command::Completions(a) => {
            only_text(format, "completions", "a shell script")?;
            cmd::completions::run(a, Cli::command(), &mut out)?
        }
        Command::Man(a) => {
            only_text(format, "man", "a roff page")?;
            cmd::man::run(a, Cli::command(), &mut out)?
        }
    };
    out.flush()?;
    Ok(outcome)
}

/// A format that cannot apply is an error rather than silently ignored.
fn only_text(format: Format, command: &str, what: &str) -> anyhow::Result<()> {
    if format != Format::Table {
        let name = clap::ValueEnum::to_possible_value(&format)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        anyhow::bail!("--format {name}: {command} prints {what}, nothing else");
    }
    Ok(())
}

fn no_sarif(format: Format, command: &str) -> anyhow::Result<()> {
    if format == Format::Sarif {
        anyhow::bail!("--format sarif is only for audit; {command} supports table and json");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::one_line;
    use std::io;

    #[derive(Debug, thiserror::Error)]
    #[error("writing {path}: {source}")]
    struct Quoting {
        path: String,
        source: io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading config")]
    struct Silent(#[source] io::Error);

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = anyhow::Error::new(Quoting {
            path: "/x/out.json".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        });
        assert_eq!(one_line(&e), "writing /x/out.json: no such file");
    }

    #[test]
    fn a_cause_not_in_the_message_is_appended() {
        let e = anyhow::Error::new(Silent(io::Error::other("denied")));
        assert_eq!(one_line(&e), "reading config: denied");
    }
}
