//! `dropcap fix`: the audit's remediations and a proven profile, written into compose files
//! and Kubernetes manifests as minimal splices of the original text.
//!
//! Why splices and not a YAML library: re-serialising a document loses comments, quoting,
//! key order, flow style, CRLF... A fix here is a pure function text → text: the text is
//! parsed once per round (with the audit's own reader, so the fix sees exactly the findings
//! `audit` reports), each selected finding becomes an [`plan::Action`], each workload's actions
//! become splices at the byte offsets the parser recorded ([`ops`]), and the splices are applied
//! back to front ([`edit`]). Rounds repeat until the text has nothing left to fix (a NET_RAW
//! removed from `cap_add` may still be kept from the default set, which the next round drops),
//! so the result is a fixed point: fixing it again changes nothing, and the last round is the
//! proof that it still parses.

pub mod compose;
pub mod diff;
pub mod edit;
pub mod kubernetes;
pub mod lists;
pub mod ops;
pub mod plan;
pub mod profile;
pub mod text;
pub mod write;

use crate::caps::CapSet;
use crate::rules::{evaluate, Finding, Policy};
use crate::sources::tree::{Kind, Node, Pos};
use crate::sources::{load_text_with, SourceError};
use crate::workload::{SourceKind, Workload};
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub use profile::Profile;

/// What to fix.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub policy: Policy,
    /// Rule ids to fix; empty: every rule of the policy (unless profiles are given).
    pub rules: Vec<String>,
    pub profiles: Vec<Profile>,
    /// `--workload NAME`: apply the profiles to these workloads instead of matching images.
    pub workloads: Vec<String>,
    pub force: bool,
}

impl Options {
    fn selects(&self, f: &Finding) -> bool {
        if f.suppressed.is_some() {
            return false;
        }
        if self.rules.is_empty() {
            self.profiles.is_empty()
        } else {
            self.rules.iter().any(|r| r.eq_ignore_ascii_case(f.rule))
        }
    }
}

/// What one workload should get.
pub struct Request<'a> {
    pub w: &'a Workload,
    pub actions: Vec<plan::Action>,
    /// Exactly `drop: [ALL]` and `add:` this set.
    pub profile: Option<CapSet>,
}

/// A workload's splices, and the actions that could not be made where the workload is
/// written (with why); the others do not wait for them.
pub type Edited = (Vec<edit::Edit>, Vec<(plan::Action, ops::Refusal)>);

/// A selected finding left unfixed, and why.
#[derive(Debug, Clone)]
pub struct Unfixed {
    pub finding: Finding,
    pub reason: String,
}

/// The result for one file.
#[derive(Debug, Default)]
pub struct FileFix {
    pub fixed: String,
    pub unfixed: Vec<Unfixed>,
    pub notes: Vec<String>,
    /// Parse errors and refusals: the file is left as it was.
    pub errors: Vec<SourceError>,
    /// Selected findings the fix removed.
    pub fixed_findings: usize,
    /// Workloads each profile (by index in [`Options::profiles`]) was applied to.
    pub profile_hits: Vec<usize>,
    /// Workloads read (zero: nothing for dropcap in the file).
    pub workloads: usize,
}

/// Rules whose findings `drop: [ALL]` plus the proven `add:` list settle.
const SETTLED_BY_PROFILE: &[&str] = &[
    "DC003", "DC004", "DC005", "DC006", "DC007", "DC008", "DC009", "DC010", "DC013", "DC015",
    "DC016",
];

/// Rounds before giving up on a fixed point (two are enough for every rule today).
const MAX_ROUNDS: usize = 5;

/// Fresh starts after finding edits that do not take effect (each blocks at least one more
/// action, and all that one round shows are blocked together, so one is the usual case).
const MAX_RESTARTS: usize = 3;

/// Why a finding whose edit was made and then found again is listed instead of fixed.
pub const NO_EFFECT: &str = "the edit does not take effect here (the text around it is read differently than it looks): edit it by hand";

/// A finding's identity across rounds: rule and workload, plus what tells apart several
/// findings of one rule on one workload (the entry's capabilities, an invalid entry's text).
/// Not the location (lines move as the text is fixed), nor a workload-wide rule's capability
/// set (DC007's effective set shrinks as NET_RAW is dropped).
fn key(f: &Finding) -> String {
    let detail = match f.rule {
        "DC001" => f.message.clone(),
        "DC003" | "DC004" | "DC005" | "DC006" | "DC013" | "DC015" | "DC016" => {
            format!("{}{}", f.capabilities, f.message)
        }
        _ => String::new(),
    };
    format!(
        "{}|{}|{}|{detail}",
        f.rule,
        f.workload.name,
        f.workload.container.as_deref().unwrap_or("")
    )
}

fn workload_id(name: &str, container: Option<&str>) -> String {
    format!("{name}|{}", container.unwrap_or(""))
}

/// An action taken for a finding (`{finding key}|{action}`, the key naming the workload), or
/// a workload's profile (`{workload}|profile`), named without positions (they move between
/// rounds): the same action planned again means the first one did not take effect.
type ActionId = String;

/// `key`: the finding's [`key`]. Only actions that insert text are named: an edit of an
/// entry in place changes that entry (and a renamed entry may rightly be removed next round,
/// with the same key), while an insertion can land where it is read as something else.
fn action_of(key: &str, a: &plan::Action) -> Option<ActionId> {
    let what = match a {
        plan::Action::Remove(_) | plan::Action::Rename(..) => return None,
        plan::Action::Drop(c) => format!("drop {}", c.name()),
        plan::Action::NoNewPrivileges => "no-new-privileges".into(),
    };
    Some(format!("{key}|{what}"))
}

/// The profile's edits, as one action of the whole workload `wid`.
fn profile_action(wid: &str) -> ActionId {
    format!("{wid}|profile")
}

/// One workload's edits of a round, and the actions they were made for.
struct Acted {
    workload: String,
    actions: Vec<ActionId>,
    edits: Vec<edit::Edit>,
}

impl Acted {
    /// Writes text the previous round (`before`, all of whose edits were made) already wrote.
    /// An action planned again is not enough: one may rightly wait a round for another (a
    /// drop is written once the last added entry is gone), and then its text is new.
    fn repeats(&self, before: &Acted) -> bool {
        self.edits
            .iter()
            .any(|e| !e.text.is_empty() && before.edits.iter().any(|b| b.text == e.text))
    }
}

#[derive(Default)]
struct Round {
    edits: Vec<edit::Edit>,
    acted: Vec<Acted>,
    selected: Vec<Finding>,
    reasons: HashMap<String, String>,
    notes: Vec<String>,
    errors: Vec<SourceError>,
    profile_hits: Vec<usize>,
    workloads: usize,
}

/// Fixes one file's text (a BOM is kept; `name` is only used in messages and to match a
/// profile's recorded definition).
///
/// An edit can land where the parser does not read it as part of the workload (after a `#`
/// that makes the rest of a flow line a comment, inside a mapping that an odd block scalar
/// closed early): the finding is then found again next round, and planned the same way again.
/// Such actions are blocked and the fix starts over from the given text without them, so
/// the result stays a fixed point and the finding is listed as not fixed.
pub fn fix_text(name: &Path, text: &str, opts: &Options) -> FileFix {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let mut blocked: HashSet<ActionId> = HashSet::new();
    for _ in 0..=MAX_RESTARTS {
        match attempt(name, text, bom, body, opts, &blocked) {
            Ok(done) => return done,
            Err(stuck) => blocked.extend(stuck),
        }
    }
    untouched(
        text,
        vec![SourceError::file(
            name,
            "dropcap fix does not reach a fixed point here; the file is left untouched (please report it)",
        )],
        false,
    )
}

/// One fix from the given text with `blocked` actions left out; `Err`: actions whose edits
/// did not take effect (to block on the next attempt).
fn attempt(
    name: &Path,
    text: &str,
    bom: &str,
    body: &str,
    opts: &Options,
    blocked: &HashSet<ActionId>,
) -> Result<FileFix, Vec<ActionId>> {
    let mut cur = body.to_string();
    let mut r = round(name, &cur, opts, blocked);
    if !r.errors.is_empty() {
        return Ok(untouched(text, r.errors, false));
    }
    // The first round sees the file as given: its findings are what `fix` set out to fix,
    // reported at their places in that text (lines move as the text is fixed).
    let first_selected = r.selected.clone();
    let first_reasons = r.reasons.clone();
    let profile_hits = r.profile_hits.clone();
    let workloads = r.workloads;
    let mut notes = std::mem::take(&mut r.notes);
    let mut rounds = 1;
    while !r.edits.is_empty() {
        if rounds == MAX_ROUNDS {
            // Still editing: block what this round would do again.
            return Err(r.acted.into_iter().flat_map(|a| a.actions).collect());
        }
        let (next, skipped) = edit::apply(&cur, std::mem::take(&mut r.edits));
        if next == cur {
            break;
        }
        // A workload all of whose edits were made: if the next round plans one of the same
        // actions for the same finding, that edit did not take effect.
        let made: HashMap<String, Acted> = std::mem::take(&mut r.acted)
            .into_iter()
            .filter(|a| !a.edits.iter().any(|e| skipped.contains(e)))
            .map(|a| (a.workload.clone(), a))
            .collect();
        cur = next;
        r = round(name, &cur, opts, blocked);
        rounds += 1;
        if !r.errors.is_empty() {
            return Ok(untouched(text, r.errors, true));
        }
        let stuck: Vec<ActionId> = r
            .acted
            .iter()
            .filter_map(|a| made.get(&a.workload).map(|before| (a, before)))
            .filter(|(a, before)| a.repeats(before))
            .flat_map(|(a, before)| {
                a.actions
                    .iter()
                    .filter(|p| before.actions.contains(p))
                    .cloned()
            })
            .collect();
        if !stuck.is_empty() {
            return Err(stuck);
        }
        notes.append(&mut r.notes);
    }
    // What the last round still selects is what the fix could not do.
    let remaining: HashSet<String> = r.selected.iter().map(key).collect();
    let fixed_findings = first_selected
        .iter()
        .filter(|f| !remaining.contains(&key(f)))
        .count();
    let original: HashMap<String, &Finding> = first_selected.iter().map(|f| (key(f), f)).collect();
    let unfixed = r
        .selected
        .iter()
        .map(|f| original.get(&key(f)).copied().unwrap_or(f))
        .map(|f| Unfixed {
            reason: r
                .reasons
                .get(&key(f))
                .or_else(|| first_reasons.get(&key(f)))
                .cloned()
                .unwrap_or_else(|| "dropcap could not edit it in place".into()),
            finding: f.clone(),
        })
        .collect();
    notes.sort();
    notes.dedup();
    Ok(FileFix {
        fixed: format!("{bom}{cur}"),
        unfixed,
        notes,
        errors: Vec::new(),
        fixed_findings,
        profile_hits,
        workloads,
    })
}

/// The file as it was, with the errors that stopped its fix. `ours`: the errors come from a
/// later round, i.e. from text the fix itself produced (never expected).
fn untouched(text: &str, mut errors: Vec<SourceError>, ours: bool) -> FileFix {
    if ours {
        for e in &mut errors {
            e.message = format!(
                "dropcap fix would make this unreadable ({}); the file is left untouched (please report it)",
                e.message
            );
        }
    }
    FileFix {
        fixed: text.to_string(),
        errors,
        ..FileFix::default()
    }
}

/// Map nodes by position (Kubernetes containers) and values by their key's position
/// (compose services), for finding a workload's definition in the tree.
#[derive(Default)]
struct Index<'n> {
    maps: HashMap<(u32, u32), &'n Node>,
    keyed: HashMap<(u32, u32), (&'n Node, &'n Node)>,
}

fn index(root: &Node) -> Index<'_> {
    let mut ix = Index::default();
    let mut seen: HashSet<*const Node> = HashSet::new();
    let mut stack: Vec<&Node> = vec![root];
    while let Some(n) = stack.pop() {
        if !seen.insert(n as *const Node) {
            continue;
        }
        match &n.kind {
            Kind::Map(pairs) => {
                ix.maps.insert((n.pos.line, n.pos.col), n);
                for (k, v) in pairs {
                    ix.keyed.insert((k.pos.line, k.pos.col), (k, v));
                    stack.push(v);
                }
            }
            Kind::Seq(items) => stack.extend(items.iter().map(|i| i.as_ref())),
            Kind::Scalar { .. } => {}
        }
    }
    ix
}

fn round(name: &Path, text: &str, opts: &Options, blocked: &HashSet<ActionId>) -> Round {
    let t = text::Text::new(text);
    let style = std::cell::OnceCell::new();
    let style = || {
        *style.get_or_init(|| ops::Style {
            quote: false,
            unit: ops::indent_unit(text),
        })
    };
    let mut r = Round {
        profile_hits: vec![0; opts.profiles.len()],
        ..Round::default()
    };
    let loaded = load_text_with(name, text, &mut |root, workloads| {
        if workloads.is_empty() {
            return;
        }
        // Built only when a workload of this document needs an edit: most need none, and
        // the rounds after the first are there to verify.
        let ix = std::cell::OnceCell::new();
        let ix = || ix.get_or_init(|| index(root));
        for w in workloads {
            workload(name, &t, &ix, w, opts, blocked, &style, &mut r);
        }
    });
    r.errors.extend(loaded.errors);
    r.workloads = loaded.workloads.len();
    r
}

#[allow(clippy::too_many_arguments)]
fn workload<'n>(
    name: &Path,
    t: &text::Text,
    ix: &dyn Fn() -> &'n Index<'n>,
    w: &Workload,
    opts: &Options,
    blocked: &HashSet<ActionId>,
    style: &dyn Fn() -> ops::Style,
    r: &mut Round,
) {
    let wid = workload_id(&w.name, w.container.as_deref());
    let mut profile = None;
    for (i, p) in opts.profiles.iter().enumerate() {
        match p.applies(name, w, &opts.workloads, opts.force) {
            Ok(true) => {
                if profile.is_some() {
                    r.errors
                        .push(at(name, w, "two profiles apply to this workload".into()));
                    return;
                }
                r.profile_hits[i] += 1;
                profile = Some(p.proven);
            }
            Ok(false) => {}
            Err(e) => {
                // Chosen but refused: the refusal is the error, not "matches nothing".
                r.profile_hits[i] += 1;
                r.errors.push(at(name, w, e));
                return;
            }
        }
    }
    if profile.is_some() && blocked.contains(&profile_action(&wid)) {
        r.errors.push(at(
            name,
            w,
            format!("cannot apply the profile: {NO_EFFECT}"),
        ));
        return;
    }
    // A profiled workload's capability findings are the profile's to settle.
    let by_profile = |f: &Finding| profile.is_some() && SETTLED_BY_PROFILE.contains(&f.rule);
    let findings: Vec<Finding> = evaluate(w, opts.policy)
        .into_iter()
        .filter(|f| opts.selects(f) || (f.suppressed.is_none() && by_profile(f)))
        .collect();
    let mut actions = Vec::new();
    // Each acted-on finding, with its action (`None`: the profile's).
    let mut acted: Vec<(Option<plan::Action>, String)> = Vec::new();
    for f in &findings {
        match plan::actions(f, w) {
            _ if by_profile(f) => {
                // Still there once the proven set is written: the workload needs it.
                r.reasons.insert(
                    key(f),
                    "the profile proves the workload needs it: kept".to_string(),
                );
                acted.push((None, key(f)));
            }
            Ok(list) => {
                let list: Vec<plan::Action> = list
                    .into_iter()
                    .filter(|a| action_of(&key(f), a).is_none_or(|id| !blocked.contains(&id)))
                    .collect();
                if list.is_empty() {
                    r.reasons.insert(key(f), NO_EFFECT.to_string());
                }
                for a in list {
                    if !actions.contains(&a) {
                        actions.push(a.clone());
                    }
                    acted.push((Some(a), key(f)));
                }
            }
            Err(reason) => {
                r.reasons.insert(key(f), reason);
            }
        }
    }
    r.selected.extend(findings.iter().cloned());
    if actions.is_empty() && profile.is_none() {
        return;
    }
    let req = Request {
        w,
        actions,
        profile,
    };
    let Some(loc) = &w.location else { return };
    let pos = (loc.line, loc.column);
    let res = match w.source {
        SourceKind::Compose => match ix().keyed.get(&pos) {
            Some((k, v)) => compose::edits(t, k, v, &req, style(), &mut r.notes),
            None => Err("the service's definition was not found".into()),
        },
        SourceKind::Kubernetes => match ix().maps.get(&pos) {
            Some(c) => kubernetes::edits(t, c, &req, style()),
            None => Err("the container's definition was not found".into()),
        },
        _ => Err("saved `docker inspect` output records a container, not its definition: fix the compose file or `docker run` flags that created it".into()),
    };
    match res {
        Ok((edits, refused)) => {
            for (a, reason) in &refused {
                for (_, k) in acted.iter().filter(|(x, _)| x.as_ref() == Some(a)) {
                    r.reasons.insert(k.clone(), reason.clone());
                }
            }
            if !edits.is_empty() {
                // Refused actions made no edit, so they cannot be judged by one.
                let mut actions: Vec<ActionId> = acted
                    .iter()
                    .filter_map(|(a, k)| a.as_ref().map(|a| (a, k)))
                    .filter(|(a, _)| !refused.iter().any(|(x, _)| x == *a))
                    .filter_map(|(a, k)| action_of(k, a))
                    .collect();
                if req.profile.is_some() {
                    actions.push(profile_action(&wid));
                }
                r.acted.push(Acted {
                    workload: wid,
                    actions,
                    edits: edits.clone(),
                });
            }
            r.edits.extend(edits);
        }
        Err(reason) => {
            if profile.is_some() {
                r.errors
                    .push(at(name, w, format!("cannot apply the profile: {reason}")));
            }
            for (_, k) in acted {
                r.reasons.insert(k, reason.clone());
            }
        }
    }
}

fn at(name: &Path, w: &Workload, message: String) -> SourceError {
    match &w.location {
        Some(l) => SourceError::at(
            name,
            Pos {
                line: l.line,
                col: l.column,
            },
            message,
        ),
        None => SourceError::file(name, message),
    }
}

#[cfg(test)]
mod tests;
