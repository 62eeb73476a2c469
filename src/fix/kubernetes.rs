//! Kubernetes containers (regular, init, ephemeral; JSON or YAML): the container's
//! `securityContext.capabilities.add`/`drop` and `allowPrivilegeEscalation`, edited in place;
//! a missing `securityContext` or `capabilities` block is inserted with the container's
//! indentation. Kubernetes YAML has no override for a shared node, so a securityContext
//! reached through an alias is listed instead of edited.

use super::lists;
use super::ops::{self, NewVal, Refusal, Style};
use super::text::Text;
use super::{Edited, Request};
use crate::sources::tree::Node;

/// The value of `key` in `map` if written there, refusing shared nodes.
fn own<'n>(
    t: &Text,
    map: &'n Node,
    key: &str,
    what: &str,
) -> Result<Option<(&'n Node, &'n Node)>, Refusal> {
    match ops::own_entry(map, key) {
        Some((k, v)) if ops::is_alias(k, v) || ops::is_anchored(t, v) => Err(format!(
            "{what} is shared through an anchor or alias; dropcap does not edit a shared node"
        )),
        Some(kv) => Ok(Some(kv)),
        None if map.get(key).is_some() => Err(format!(
            "{what} comes from a merge key (<<); dropcap does not edit a shared node"
        )),
        None => Ok(None),
    }
}

pub fn edits(t: &Text, c: &Node, req: &Request, style: Style) -> Result<Edited, Refusal> {
    let who = req.w.container.as_deref().unwrap_or("<unnamed>");
    if ops::is_anchored(t, c) {
        return Err(format!(
            "container {who} is anchored and may be shared through aliases; dropcap does not edit a shared node"
        ));
    }
    let sc = own(t, c, "securityContext", "securityContext")?;
    let caps = match sc {
        Some((_, v)) if v.is_map() => own(t, v, "capabilities", "securityContext.capabilities")?,
        _ => None,
    };
    let list = |name: &str| -> Result<Option<(&Node, &Node)>, Refusal> {
        match caps {
            Some((_, v)) if v.is_map() => own(t, v, name, "the capability list"),
            _ => Ok(None),
        }
    };
    let add = list("add")?;
    let drop = list("drop")?;
    let (addv, dropv) = (add.map(|(_, v)| v), drop.map(|(_, v)| v));
    let (plans, elsewhere) = lists::plans(req, addv, dropv, true);
    let refused = elsewhere
        .into_iter()
        .map(|a| {
            (
                a,
                "the entry is not in this container's own list".to_string(),
            )
        })
        .collect();
    let (add_plan, drop_plan, nnp) = (plans.add, plans.drop, plans.nnp);
    let quote = [addv, dropv]
        .into_iter()
        .flatten()
        .any(|l| ops::quoted_items(t, l));
    let style = Style {
        quote: style.quote || quote,
        ..style
    };
    let mut out = Vec::new();
    // New lists: drop before add, as `dropcap profile` prints them.
    let mut new_lists: Vec<(String, NewVal)> = Vec::new();
    for (name, kv, p) in [("drop", drop, &drop_plan), ("add", add, &add_plan)] {
        match kv {
            Some((k, v)) if !p.is_empty() => out.extend(ops::edit_list(t, k, v, p, style)?),
            Some(_) => {}
            None if !p.append.is_empty() => {
                new_lists.push((name.to_string(), NewVal::List(p.append.clone())))
            }
            None => {}
        }
    }
    let mut sc_new: Vec<(String, NewVal)> = Vec::new();
    if !new_lists.is_empty() {
        match caps {
            Some((ck, cv)) => {
                let block = ops::sibling_block_offset(t, cv).or(ops::sibling_block_offset(t, c));
                out.push(ops::insert_entries(
                    t,
                    Some(ck),
                    cv,
                    &new_lists,
                    style,
                    block,
                )?);
            }
            None => sc_new.push(("capabilities".into(), NewVal::Map(new_lists))),
        }
    }
    if nnp {
        match sc
            .and_then(|(_, v)| own(t, v, "allowPrivilegeEscalation", "securityContext").transpose())
        {
            Some(r) => {
                let (k, v) = r?;
                if v.as_bool() != Some(false) {
                    out.push(ops::set_scalar(t, k, v, "false")?);
                }
            }
            None => sc_new.push((
                "allowPrivilegeEscalation".into(),
                NewVal::Raw("false".into()),
            )),
        }
    }
    if !sc_new.is_empty() {
        let block = ops::sibling_block_offset(t, c);
        match sc {
            Some((sk, sv)) => {
                out.push(ops::insert_entries(t, Some(sk), sv, &sc_new, style, block)?)
            }
            None => {
                let entry = vec![("securityContext".to_string(), NewVal::Map(sc_new))];
                out.push(ops::insert_entries(t, None, c, &entry, style, block)?);
            }
        }
    }
    Ok((out, refused))
}
