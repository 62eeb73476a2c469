//! Compose services: `cap_add`, `cap_drop` and `security_opt` of one service, edited in place;
//! a list the service gets through a merge key or an alias is written out on the service
//! itself (compose lets the service's own key win), never in the shared anchor.

use super::edit::Edit;
use super::lists;
use super::ops::{self, ListPlan, NewVal, Refusal, Style};
use super::plan::Action;
use super::text::Text;
use super::{Edited, Request};
use crate::sources::tree::Node;

pub fn edits(
    t: &Text,
    key: &Node,
    svc: &Node,
    req: &Request,
    style: Style,
    notes: &mut Vec<String>,
) -> Result<Edited, Refusal> {
    let name = &req.w.name;
    if ops::is_alias(key, svc) {
        return Err(format!(
            "service {name} is an alias of another definition; dropcap does not edit a shared node"
        ));
    }
    if ops::is_anchored(t, svc) {
        // Services that merge this one (`<<: *web`) see its keys unless they set their own. A
        // change that only takes powers away is what they need too; anything else (a profile's
        // add list, a rename that makes an entry valid) could hand them powers.
        let restricting = req.profile.is_none()
            && req.actions.iter().all(|a| {
                matches!(
                    a,
                    Action::Remove(_) | Action::Drop(_) | Action::NoNewPrivileges
                )
            });
        if !restricting {
            return Err(format!(
                "service {name} is anchored and shared through aliases or merge keys; dropcap does not widen a shared node"
            ));
        }
        notes.push(format!(
            "service {name} is anchored: services that merge or alias it get these restrictions too, unless they set the key themselves"
        ));
    }
    if !svc.is_map() {
        return Err(format!("service {name} is not a map"));
    }
    let add = svc.get("cap_add");
    let drop = svc.get("cap_drop");
    let opts = svc.get("security_opt");
    let (plans, elsewhere) = lists::plans(req, add, drop, false);
    let from_base = format!("the entry comes from the service that {name} `extends`; fix it there");
    let refused: Vec<(Action, Refusal)> = elsewhere
        .into_iter()
        .map(|a| (a, from_base.clone()))
        .collect();
    let (add_plan, drop_plan) = (plans.add, plans.drop);
    let mut opt_plan = ListPlan::default();
    if plans.nnp {
        nnp(opts, &mut opt_plan);
    }
    let block = ops::sibling_block_offset(t, svc);
    let mut out = Vec::new();
    for (k, list, p) in [
        ("cap_drop", drop, &drop_plan),
        ("cap_add", add, &add_plan),
        ("security_opt", opts, &opt_plan),
    ] {
        if p.is_empty() {
            continue;
        }
        let style = Style {
            quote: style.quote || list.is_some_and(|l| ops::quoted_items(t, l)),
            ..style
        };
        out.extend(list_edits(t, svc, k, list, p, style, block, name, notes)?);
    }
    Ok((out, refused))
}

/// `no-new-privileges:false` becomes `:true`; without any, `no-new-privileges:true` is added.
fn nnp(opts: Option<&Node>, plan: &mut ListPlan) {
    let items = opts.map(Node::items).unwrap_or_default();
    let mut found = false;
    for i in items {
        let s = i.as_str().unwrap_or("").trim();
        if let Some(rest) = s.strip_prefix("no-new-privileges") {
            found = true;
            if rest.ends_with("false") {
                let fixed = format!("{}true", &s[..s.len() - "false".len()]);
                plan.rename.push((i.pos, fixed));
            }
        }
    }
    if !found
        && !plan
            .append
            .iter()
            .any(|s| s.starts_with("no-new-privileges"))
    {
        plan.append.push("no-new-privileges:true".into());
    }
}

#[allow(clippy::too_many_arguments)]
fn list_edits(
    t: &Text,
    svc: &Node,
    key: &str,
    list: Option<&Node>,
    p: &ListPlan,
    style: Style,
    block: Option<usize>,
    service: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Edit>, Refusal> {
    match ops::own_entry(svc, key) {
        Some((k, v)) if !ops::is_alias(k, v) => {
            if ops::is_anchored(t, v) {
                return Err(format!(
                    "{key} of service {service} is anchored and shared through aliases; dropcap does not edit a shared node"
                ));
            }
            ops::edit_list(t, k, v, p, style)
        }
        Some((k, v)) => {
            // `cap_add: *caps`: the alias token is replaced by the service's own list.
            let start = ops::after_colon(t, k).ok_or("no ':' after the key")?;
            let start = t.skip_blanks(start);
            let mut end = start;
            while t
                .at(end)
                .is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'}'))
            {
                end += 1;
            }
            notes.push(format!(
                "service {service}: {key} was an alias of a shared list; the fixed list is written on the service itself, the anchor is unchanged"
            ));
            let full = lists::result(Some(v), p);
            Ok(vec![Edit::replace(
                start,
                end,
                ops::flow_list(t, style, &full),
            )])
        }
        None => {
            let full = lists::result(list, p);
            if list.is_some() {
                notes.push(format!(
                    "service {service}: {key} came from a merge key (<<); the fixed list is written on the service itself, the shared anchor is unchanged"
                ));
            } else if full.is_empty() {
                return Ok(Vec::new());
            }
            let entry = vec![(key.to_string(), NewVal::List(full))];
            Ok(vec![ops::insert_entries(
                t, None, svc, &entry, style, block,
            )?])
        }
    }
}
