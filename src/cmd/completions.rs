//! `dropcap completions SHELL`: a completion script generated from the clap definition at run
//! time, so it cannot drift from the flags the binary really has.
//!
//! Arguments that take a rule id or a capability name get the catalog's ids and the capability
//! table's names as candidates, but only in the copy of the definition the script is generated
//! from: the real parser keeps accepting every spelling (`0x2000`, `cap_net_raw+ep`, `13`).

use super::CmdError;
use crate::caps::Cap;
use crate::rules::catalog;
use crate::Outcome;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::Command;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments whose values are rule ids (`audit`/`fix --rule`), by clap id or long flag.
const RULE_ARGS: &[&str] = &["rule", "rules"];
/// Arguments whose values are capabilities (`exec --caps`, `explain CAP`), by id or long flag.
const CAP_ARGS: &[&str] = &["caps", "cap", "capability", "capabilities"];
/// The argument of `dropcap man`, whose values are the other commands.
const MAN_COMMAND: (&str, &str) = ("man", "command");

pub fn run(args: &CompletionsArgs, cli: Command, out: &mut dyn Write) -> Result<Outcome, CmdError> {
    let mut cmd = with_candidates(cli);
    let name = cmd.get_name().to_string();
    // Generated into memory first: clap_complete panics when its writer fails, and a closed
    // pipe must stay an ordinary write error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    out.write_all(&script)?;
    Ok(Outcome::Clean)
}

/// The definition with completion candidates attached, for generating scripts only.
pub fn with_candidates(cli: Command) -> Command {
    let commands: Vec<PossibleValue> = super::man::paged(&cli)
        .map(|c| {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            PossibleValue::new(c.get_name().to_string()).help(about)
        })
        .collect();
    let mut cmd = attach(cli);
    if cmd.find_subcommand(MAN_COMMAND.0).is_some() {
        cmd = cmd.mut_subcommand(MAN_COMMAND.0, |man| {
            man.mut_arg(MAN_COMMAND.1, |a| {
                a.value_parser(PossibleValuesParser::new(commands))
            })
        });
    }
    cmd
}

fn attach(mut cmd: Command) -> Command {
    let named = |a: &clap::Arg, names: &[&str]| {
        names.contains(&a.get_id().as_str()) || a.get_long().is_some_and(|l| names.contains(&l))
    };
    let found: Vec<(String, Vec<PossibleValue>)> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| {
            let values = if named(a, RULE_ARGS) {
                rule_ids()
            } else if named(a, CAP_ARGS) {
                cap_names()
            } else {
                return None;
            };
            Some((a.get_id().to_string(), values))
        })
        .collect();
    for (id, values) in found {
        cmd = cmd.mut_arg(&id, |a| a.value_parser(PossibleValuesParser::new(values)));
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for sub in subs {
        cmd = cmd.mut_subcommand(sub, attach);
    }
    cmd
}

fn rule_ids() -> Vec<PossibleValue> {
    catalog()
        .iter()
        .map(|r| PossibleValue::new(r.id).help(r.title))
        .collect()
}

fn cap_names() -> Vec<PossibleValue> {
    let mut names: Vec<PossibleValue> = Cap::all_known()
        .filter_map(|c| c.info())
        .map(|i| PossibleValue::new(i.name).help(i.summary))
        .collect();
    names.push(PossibleValue::new("ALL").help("Every capability."));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    fn fish(cmd: Command) -> String {
        let mut cmd = with_candidates(cmd);
        let mut buf = Vec::new();
        clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "x", &mut buf);
        String::from_utf8(buf).unwrap()
    }

    /// Found by its long flag, whatever the field is called (`fix --rule` is still to come).
    #[test]
    fn a_rule_flag_completes_every_catalog_id_with_its_title() {
        let script = fish(
            Command::new("x").subcommand(
                Command::new("fix").arg(
                    Arg::new("rules")
                        .long("rule")
                        .action(clap::ArgAction::Append),
                ),
            ),
        );
        for rule in catalog() {
            assert!(
                script.contains(&format!("{}\\t'{}'", rule.id, rule.title)),
                "{} missing:\n{script}",
                rule.id
            );
        }
    }

    #[test]
    fn a_caps_flag_completes_every_capability_of_the_table() {
        let script = fish(Command::new("x").arg(Arg::new("caps").long("caps")));
        for cap in Cap::all_known() {
            assert!(script.contains(&cap.name()), "{} missing", cap.name());
        }
        assert!(script.contains("ALL"));
    }

    #[test]
    fn candidates_do_not_restrict_what_the_real_parser_accepts() {
        // Only the generated copy carries the candidates; the definition parsed at run time
        // is never passed through `with_candidates`.
        let real = Command::new("x").arg(Arg::new("caps").long("caps"));
        let copy = with_candidates(real.clone());
        assert!(real
            .clone()
            .try_get_matches_from(["x", "--caps", "cap_net_raw+ep"])
            .is_ok());
        assert!(copy
            .try_get_matches_from(["x", "--caps", "0x2000"])
            .is_err());
    }
}
