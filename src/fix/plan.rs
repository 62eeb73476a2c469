//! Which findings have a mechanical fix, and what it is. The fix is the finding's own `fix:`
//! line (see `rules::remedy`), turned into an action on the workload's definition; a rule
//! whose fix needs knowledge dropcap does not have gets a reason instead, and both are listed
//! in the table of docs/fix.md.

use crate::caps::{parse_cap, Cap, CapParseError, CapSet};
use crate::rules::Finding;
use crate::sources::tree::Pos;
use crate::workload::{CapEntry, Syntax, Workload};

/// One change to a workload's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Take out the capability entry written at this position (`cap_add`/`add`, or an
    /// invalid entry of either list).
    Remove(Pos),
    /// Rewrite the entry at this position (a misspelt or PSS-misspelled name).
    Rename(Pos, String),
    /// Add this capability to the drop list (unless ALL or it is already there).
    Drop(Cap),
    /// `no-new-privileges:true` / `allowPrivilegeEscalation: false`.
    NoNewPrivileges,
}

/// Why DC002, DC007, DC008 and DC012 are listed instead of fixed.
pub const NEEDS_PROFILE: &str = "dropping ALL needs the set the workload really uses: run `dropcap profile` and apply it with `dropcap fix --profile FILE`";
pub const PRIVILEGED: &str = "privileged: true: dropcap cannot know what the workload needs; run `dropcap profile` and apply the proven set with `dropcap fix --profile FILE`, then remove privileged by hand";
pub const DRIFT: &str = "the running container differs from its configuration: recreate it";

fn pos(f: &Finding) -> Option<Pos> {
    f.location.as_ref().map(|l| Pos {
        line: l.line,
        col: l.column,
    })
}

fn entry_at(w: &Workload, p: Pos) -> Option<&CapEntry> {
    w.cap_add.iter().chain(&w.cap_drop).find(|e| {
        e.location
            .as_ref()
            .is_some_and(|l| l.line == p.line && l.column == p.col)
    })
}

fn is_add_entry(w: &Workload, p: Pos) -> bool {
    w.cap_add.iter().any(|e| {
        e.location
            .as_ref()
            .is_some_and(|l| l.line == p.line && l.column == p.col)
    })
}

/// The actions that fix `f`, or the reason there is none.
pub fn actions(f: &Finding, w: &Workload) -> Result<Vec<Action>, String> {
    let a = action(f, w)?;
    // Removing an added NET_RAW leaves the default set's, which is the same finding again:
    // dropping it now saves a round (a parse of the whole file).
    let explicit_net_raw = matches!(f.rule, "DC009" | "DC010") && matches!(a, Action::Remove(_));
    if explicit_net_raw && w.runtime.default_caps().contains(Cap::NET_RAW) {
        return Ok(vec![a, Action::Drop(Cap::NET_RAW)]);
    }
    Ok(vec![a])
}

/// The action that fixes `f`, or the reason there is none.
fn action(f: &Finding, w: &Workload) -> Result<Action, String> {
    let at = pos(f);
    let entry = at.and_then(|p| entry_at(w, p));
    match f.rule {
        "DC001" => {
            let (p, e) = at.zip(entry).ok_or("the entry is not in this file")?;
            match parse_cap(&e.raw) {
                Err(CapParseError::UnknownName {
                    suggestion: Some(to),
                    ..
                }) => Ok(Action::Rename(p, to.to_string())),
                _ => Ok(Action::Remove(p)),
            }
        }
        "DC002" => Err(PRIVILEGED.into()),
        "DC003" | "DC004" | "DC006" | "DC013" => at
            .filter(|p| is_add_entry(w, *p))
            .map(Action::Remove)
            .ok_or_else(|| "the added entry is not in this file".into()),
        "DC005" => {
            let (p, e) = at.zip(entry).ok_or("the entry is not in this file")?;
            match parse_cap(&e.raw) {
                Ok(c) if CapSet::pss_baseline().contains(c) && w.syntax == Syntax::Kubernetes => {
                    Ok(Action::Rename(p, c.name()))
                }
                _ => Ok(Action::Remove(p)),
            }
        }
        "DC007" | "DC008" => Err(NEEDS_PROFILE.into()),
        "DC009" | "DC010" => match at {
            Some(p) if is_add_entry(w, p) => Ok(Action::Remove(p)),
            _ => Ok(Action::Drop(Cap::NET_RAW)),
        },
        "DC011" | "DC014" => Ok(Action::NoNewPrivileges),
        "DC015" => {
            // `CAP_NET_RAW` in Kubernetes names nothing: the name without the prefix.
            let (p, e) = at.zip(entry).ok_or("the entry is not in this file")?;
            let c = parse_cap(&e.raw).map_err(|e| e.to_string())?;
            Ok(Action::Rename(p, c.name()))
        }
        "DC016" => at
            .filter(|p| is_add_entry(w, *p))
            .map(Action::Remove)
            .ok_or_else(|| "the added entry is not in this file".into()),
        "DC012" => Err(DRIFT.into()),
        other => Err(format!("{other} has no mechanical fix")),
    }
}

/// A Kubernetes list must spell names exactly as PSS compares them; compose keeps the file's
/// own spelling (`CAP_` prefix or not) when its entries agree on one.
pub fn spell(w: &Workload, c: Cap) -> String {
    if w.syntax == Syntax::Kubernetes {
        return c.name();
    }
    let prefixed = w
        .cap_add
        .iter()
        .chain(&w.cap_drop)
        .filter(|e| !e.is_all)
        .any(|e| e.raw.trim().to_ascii_uppercase().starts_with("CAP_"));
    if prefixed {
        format!("CAP_{}", c.name())
    } else {
        c.name()
    }
}
