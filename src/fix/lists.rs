//! List plans shared by the compose and Kubernetes editors: what the actions and a proven
//! profile ask of a `cap_add`/`cap_drop` (or `add`/`drop`) list as it is written now.

use super::ops::ListPlan;
use super::plan::{self, Action};
use super::Request;
use crate::caps::{parse_cap, Cap, CapSet};
use crate::sources::tree::Node;
use std::rc::Rc;

/// The entries as the reader sees them (the text of each scalar item).
fn texts(list: Option<&Node>) -> Vec<&Node> {
    list.map(|l| l.items().iter().map(Rc::as_ref).collect())
        .unwrap_or_default()
}

pub fn holds(list: Option<&Node>, pos: crate::sources::tree::Pos) -> bool {
    texts(list).iter().any(|i| i.pos == pos)
}

/// Whether the drop list (with what the plan appends) already takes `c` away. `exact`:
/// Kubernetes, where only the exact name counts (containerd prefixes `CAP_` itself, so
/// `CAP_NET_RAW` there drops nothing).
pub fn drops(list: Option<&Node>, plan: &ListPlan, c: Cap, exact: bool) -> bool {
    let hit = |s: &str| {
        if exact {
            s == "ALL" || s == c.name()
        } else {
            s.trim().eq_ignore_ascii_case("all") || parse_cap(s).is_ok_and(|x| x == c)
        }
    };
    // An entry counts as the plan leaves it (renamed `CAP_NET_RAW` → `NET_RAW` drops it).
    texts(list)
        .iter()
        .filter(|i| !plan.remove.contains(&i.pos))
        .any(|i| match plan.rename.iter().find(|(p, _)| *p == i.pos) {
            Some((_, to)) => hit(to),
            None => i.as_str().is_some_and(hit),
        })
        || plan.append.iter().any(|s| hit(s))
}

/// Exactly `ALL`: the first entry that says so stays (with its comment), every other goes.
/// `exact`: Kubernetes compares the text (`all` is not `ALL`).
pub fn drop_all(list: Option<&Node>, exact: bool) -> ListPlan {
    let mut plan = ListPlan::default();
    let mut kept = false;
    for i in texts(list) {
        let s = i.as_str().unwrap_or("").trim();
        let is_all = if exact {
            s == "ALL"
        } else {
            s.eq_ignore_ascii_case("all")
        };
        if is_all && !kept {
            kept = true;
        } else {
            plan.remove.push(i.pos);
        }
    }
    if !kept {
        plan.append.push("ALL".into());
    }
    plan
}

/// Exactly `want`: entries already naming a wanted capability (spelled acceptably) stay,
/// the others go, the missing ones are appended as `spell` writes them.
pub fn exactly(
    list: Option<&Node>,
    want: CapSet,
    exact: bool,
    spell: &dyn Fn(Cap) -> String,
) -> ListPlan {
    let mut plan = ListPlan::default();
    let mut kept = CapSet::EMPTY;
    for i in texts(list) {
        let s = i.as_str().unwrap_or("");
        match parse_cap(s) {
            Ok(c) if want.contains(c) && !kept.contains(c) && (!exact || s == c.name()) => {
                kept = kept.with(c);
            }
            _ => plan.remove.push(i.pos),
        }
    }
    for c in want.difference(kept).iter() {
        plan.append.push(spell(c));
    }
    plan
}

/// The list a shared (aliased or merged) node would have after `plan`, written out in full
/// on the workload itself.
pub fn result(list: Option<&Node>, plan: &ListPlan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in texts(list) {
        if plan.remove.contains(&i.pos) {
            continue;
        }
        match plan.rename.iter().find(|(p, _)| *p == i.pos) {
            Some((_, to)) => out.push(to.clone()),
            None => out.push(i.as_str().unwrap_or("").to_string()),
        }
    }
    out.extend(plan.append.iter().cloned());
    out
}

/// What a workload's actions and profile ask of its add and drop lists.
pub struct Plans {
    pub add: ListPlan,
    pub drop: ListPlan,
    /// `no-new-privileges` / `allowPrivilegeEscalation: false` is asked for.
    pub nnp: bool,
}

/// The plans for `req` on the lists as written, and the actions whose entry is in neither
/// list (it comes from elsewhere: an `extends` base), which the other actions do not wait for.
/// `exact`: Kubernetes spelling (PSS compares the text).
pub fn plans(
    req: &Request,
    add: Option<&Node>,
    drop: Option<&Node>,
    exact: bool,
) -> (Plans, Vec<Action>) {
    let mut p = Plans {
        add: ListPlan::default(),
        drop: ListPlan::default(),
        nnp: false,
    };
    let mut elsewhere = Vec::new();
    // Drops last, so they see what the removals and renames leave.
    let ordered = req
        .actions
        .iter()
        .filter(|a| !matches!(a, Action::Drop(_)))
        .chain(req.actions.iter().filter(|a| matches!(a, Action::Drop(_))));
    for a in ordered {
        match a {
            Action::Remove(at) if holds(add, *at) => p.add.remove.push(*at),
            Action::Remove(at) if holds(drop, *at) => p.drop.remove.push(*at),
            Action::Rename(at, to) if holds(add, *at) => p.add.rename.push((*at, to.clone())),
            Action::Rename(at, to) if holds(drop, *at) => p.drop.rename.push((*at, to.clone())),
            Action::Remove(_) | Action::Rename(..) => elsewhere.push(a.clone()),
            Action::Drop(c) => {
                if !drops(drop, &p.drop, *c, exact) {
                    p.drop.append.push(plan::spell(req.w, *c));
                }
            }
            Action::NoNewPrivileges => p.nnp = true,
        }
    }
    if let Some(set) = req.profile {
        p.add = exactly(add, set, exact, &|c| plan::spell(req.w, c));
        p.drop = drop_all(drop, exact);
    }
    (p, elsewhere)
}
