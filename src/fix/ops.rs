//! Edit operations on one node of the positioned tree: remove, rename and append list
//! entries, set a key, insert a missing block. Each returns splices at the offsets the parser
//! recorded; styles come from the text around them (flow stays flow, block stays block, the
//! indentation and quoting of the neighbours, JSON stays JSON).

use super::edit::Edit;
use super::text::Text;
use crate::sources::tree::{Kind, Node, Pos};

/// Why a requested edit cannot be made mechanically; shown next to the finding.
pub type Refusal = String;

/// What to change in one list (`cap_add`, `capabilities.drop`, `security_opt`...).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListPlan {
    /// Entries to take out, by the position the parser gave them.
    pub remove: Vec<Pos>,
    /// Entries to rewrite (quoting kept).
    pub rename: Vec<(Pos, String)>,
    /// Entries to add at the end, as plain text (quoted here when the style needs it).
    pub append: Vec<String>,
}

impl ListPlan {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.rename.is_empty() && self.append.is_empty()
    }
}

/// How new text is spelled.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Quote new list entries with `"` (the neighbours do, or the value needs it).
    pub quote: bool,
    /// The file's indentation unit for new nested blocks.
    pub unit: usize,
}

/// The value of `key` written in `map` itself (merge keys not followed; the last repeat wins,
/// as the reader takes it).
pub fn own_entry<'n>(map: &'n Node, key: &str) -> Option<(&'n Node, &'n Node)> {
    let Kind::Map(pairs) = &map.kind else {
        return None;
    };
    pairs
        .iter()
        .rev()
        .find(|(k, _)| !k.is_merge_key() && k.as_str() == Some(key))
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
}

/// An alias value is the anchored node itself, written before its key.
pub fn is_alias(key: &Node, value: &Node) -> bool {
    value.span.start < key.span.end
}

/// A node carrying an anchor (`&name`) may be shared: editing it would edit every alias.
pub fn is_anchored(t: &Text, n: &Node) -> bool {
    t.at(t.byte(n.span.start)) == Some(b'&')
}

/// Whether a collection is written in flow style (`[a, b]`, `{a: b}`, JSON).
pub fn is_flow(t: &Text, n: &Node) -> bool {
    let mut b = t.byte(n.span.start);
    // Skip an anchor or a tag before the bracket.
    while matches!(t.at(b), Some(b'&' | b'!')) {
        while t
            .at(b)
            .is_some_and(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
        {
            b += 1;
        }
        while matches!(t.at(b), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            b += 1;
        }
    }
    matches!(t.at(b), Some(b'[' | b'{'))
}

/// Byte just past the last character of a node's content (a block collection's last entry,
/// not the blank lines or comments after it).
pub fn end_of(t: &Text, n: &Node) -> usize {
    match &n.kind {
        Kind::Map(pairs) if !is_flow(t, n) => {
            let mut end = t.byte(n.span.start);
            for (k, v) in pairs {
                end = end.max(t.trim_back(t.byte(k.span.end)));
                if !is_alias(k, v) && v.span.end > v.span.start {
                    end = end.max(end_of(t, v));
                } else if is_alias(k, v) {
                    // `key: *alias`: the alias token ends its line.
                    end = end.max(t.trim_back(alias_token_end(t, k)));
                }
            }
            end
        }
        Kind::Seq(items) if !is_flow(t, n) => {
            let mut end = t.byte(n.span.start) + 1;
            for i in items {
                end = end.max(end_of(t, i));
            }
            end
        }
        Kind::Scalar { .. } => {
            quoted_end(t, t.byte(n.span.start)).unwrap_or_else(|| t.trim_back(t.byte(n.span.end)))
        }
        _ => t.trim_back(t.byte(n.span.end)),
    }
}

/// Just past the closing quote of a quoted scalar starting at `b`: read from the text, since
/// a parser's end mark may include what follows the quote (blanks, a comment).
fn quoted_end(t: &Text, b: usize) -> Option<usize> {
    let q = t.at(b).filter(|c| matches!(c, b'"' | b'\''))?;
    let bytes = t.s.as_bytes();
    let mut i = b + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q => {
                // `''` inside single quotes is an escaped quote.
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn alias_token_end(t: &Text, key: &Node) -> usize {
    let mut b = after_colon(t, key).unwrap_or(t.byte(key.span.end));
    b = t.skip_blanks(b);
    while t
        .at(b)
        .is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'}' | b']'))
    {
        b += 1;
    }
    b
}

/// Just past the `:` that follows a key.
pub fn after_colon(t: &Text, key: &Node) -> Option<usize> {
    let b = t.skip_blanks(t.byte(key.span.end));
    (t.at(b) == Some(b':')).then_some(b + 1)
}

/// A scalar spelled like `old` was: same quotes.
fn requote(t: &Text, old: &Node, new: &str) -> String {
    match t.at(t.byte(old.span.start)) {
        Some(b'"') => format!("\"{new}\""),
        Some(b'\'') => format!("'{new}'"),
        _ => new.to_string(),
    }
}

/// A new scalar: JSON and quoted neighbours get double quotes; YAML that would not read back
/// as the same string gets them too.
pub fn scalar(t: &Text, style: Style, s: &str) -> String {
    let needs = s.is_empty()
        || s.contains([':', '#', ',', '[', ']', '{', '}', '"', '\'', '&', '*', '!'])
        || s.starts_with(['-', '?', '|', '>', '%', '@', '`', ' ']);
    if t.json || style.quote || needs {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn key_text(t: &Text, k: &str) -> String {
    if t.json {
        format!("\"{k}\"")
    } else {
        k.to_string()
    }
}

/// Whether the items of a list are quoted (then new ones are too).
pub fn quoted_items(t: &Text, list: &Node) -> bool {
    list.items()
        .first()
        .is_some_and(|i| matches!(t.at(t.byte(i.span.start)), Some(b'"' | b'\'')))
}

/// Splices for `plan` on a list written in the file itself (not an alias).
pub fn edit_list(
    t: &Text,
    key: &Node,
    list: &Node,
    plan: &ListPlan,
    style: Style,
) -> Result<Vec<Edit>, Refusal> {
    let items = list.items();
    let mut out = Vec::new();
    if list.is_null() {
        if !plan.append.is_empty() {
            let value = flow_list(t, style, &plan.append);
            if list.span.end > list.span.start {
                // `null` or `~` written out.
                let (s, e) = (t.byte(list.span.start), end_of(t, list));
                out.push(Edit::replace(s, e, value));
            } else {
                let at = after_colon(t, key).ok_or("no ':' after the key")?;
                out.push(Edit::insert(at, format!(" {value}")));
            }
        }
        return Ok(out);
    }
    if !list.is_seq() {
        return Err(format!(
            "{} is not a list",
            key.as_str().unwrap_or("the value")
        ));
    }
    let removed: Vec<bool> = items.iter().map(|i| plan.remove.contains(&i.pos)).collect();
    for (pos, to) in &plan.rename {
        if let Some(i) = items.iter().find(|i| i.pos == *pos) {
            if !plan.remove.contains(pos) {
                let (s, e) = (t.byte(i.span.start), end_of(t, i));
                out.push(Edit::replace(s, e, requote(t, i, to)));
            }
        }
    }
    let all_gone = removed.iter().all(|r| *r);
    let flow = is_flow(t, list);
    if flow && all_gone && !items.is_empty() {
        // Every entry goes: `[]`, whatever lines and comments the entries had (a bracket left
        // alone on its line is refused by some parsers).
        let open = t.s[t.byte(list.span.start)..]
            .find('[')
            .map(|i| t.byte(list.span.start) + i + 1);
        let close = t.byte(list.span.end).saturating_sub(1);
        if let Some(open) = open.filter(|o| *o <= close) {
            out.push(Edit::delete(open, close));
        }
    } else if flow {
        // Maximal runs of removed items go with the separator before them (or after them, for
        // a run at the start), so `[A, B, C]` minus B is `[A, C]`.
        let mut i = 0;
        while i < items.len() {
            if !removed[i] {
                i += 1;
                continue;
            }
            let a = i;
            while i < items.len() && removed[i] {
                i += 1;
            }
            let b = i - 1;
            if a > 0 {
                if let Some(lines) = own_lines(t, &items[a], &items[b]) {
                    // `[A,  # why\n  B\n]` minus B: B's lines go, A keeps its comment; the
                    // comma before them goes too when nothing follows (JSON forbids a trailing
                    // one).
                    out.push(Edit::delete(lines.0, lines.1));
                    if i == items.len() {
                        let comma = t.skip_blanks(end_of(t, &items[a - 1]));
                        if t.at(comma) == Some(b',') {
                            out.push(Edit::delete(comma, comma + 1));
                        }
                    }
                    continue;
                }
            }
            let (start, end) = if a > 0 {
                (end_of(t, &items[a - 1]), end_of(t, &items[b]))
            } else if i < items.len() {
                (t.byte(items[a].span.start), t.byte(items[i].span.start))
            } else {
                (t.byte(items[a].span.start), end_of(t, &items[b]))
            };
            out.push(Edit::delete(start, end));
        }
    } else {
        for (item, _) in items.iter().zip(&removed).filter(|(_, r)| **r) {
            let s = t.byte(item.span.start);
            let ls = t.line_start(s);
            let dash = t.s.get(ls..s).unwrap_or("").trim();
            let end = end_of(t, item);
            if dash != "-" || t.line_start(end) != ls {
                return Err("a list entry that shares its line with other content".into());
            }
            out.push(Edit::delete(ls, t.next_line(end)));
        }
        if all_gone && plan.append.is_empty() {
            let at = after_colon(t, key).ok_or("no ':' after the key")?;
            out.push(Edit::insert(at, " []"));
        }
    }
    if plan.append.is_empty() {
        return Ok(out);
    }
    let style = Style {
        quote: style.quote || quoted_items(t, list),
        ..style
    };
    let news: Vec<String> = plan.append.iter().map(|s| scalar(t, style, s)).collect();
    if flow {
        let kept_last = items.iter().zip(&removed).rev().find(|(_, r)| !**r);
        match kept_last {
            None => {
                // Empty, or every entry removed (the removal starts where the first one did).
                let at = match items.first() {
                    Some(i) => t.byte(i.span.start),
                    None => t.trim_back(t.byte(list.span.end).saturating_sub(1)),
                };
                out.push(Edit::insert(at, news.join(", ")));
            }
            Some((last, _)) => {
                let at = end_of(t, last);
                if t.line_start(at) == t.line_start(t.byte(list.span.start)) {
                    out.push(Edit::insert(at, format!(", {}", news.join(", "))));
                } else {
                    // One entry a line: the new ones go on lines of their own after the last
                    // entry's line, so a comment there stays with its entry; a trailing comma
                    // (YAML allows one) is kept as the list's style.
                    let indent = t.indent_at(t.byte(last.span.start));
                    let after = t.skip_blanks(at);
                    let trailing = t.at(after) == Some(b',');
                    let end = if trailing || t.at(after) == Some(b'#') {
                        t.line_end(after)
                    } else {
                        at
                    };
                    let mut text = String::new();
                    if !trailing && end == at {
                        text.push(',');
                    } else if !trailing {
                        out.push(Edit::insert(at, ","));
                    }
                    for (i, n) in news.iter().enumerate() {
                        text.push_str(t.eol);
                        text.push_str(&indent);
                        text.push_str(n);
                        if trailing || i + 1 < news.len() {
                            text.push(',');
                        }
                    }
                    out.push(Edit::insert(end, text));
                }
            }
        }
    } else {
        let indent = t.indent_at(dash(t, list));
        let mut text = String::new();
        for n in &news {
            text.push_str(t.eol);
            text.push_str(&indent);
            text.push_str("- ");
            text.push_str(n);
        }
        out.push(after_last_line(t, end_of(t, list), text));
    }
    Ok(out)
}

/// The lines a run of flow entries has to itself (`first` starts a line; after `last` come only
/// its comma, blanks and a comment), as a byte range from line start to the next line.
fn own_lines(t: &Text, first: &Node, last: &Node) -> Option<(usize, usize)> {
    let s = t.byte(first.span.start);
    if !t.starts_line(s) {
        return None;
    }
    let mut e = t.skip_blanks(end_of(t, last));
    if t.at(e) == Some(b',') {
        e = t.skip_blanks(e + 1);
    }
    match t.at(e) {
        None | Some(b'\n' | b'\r' | b'#') => Some((t.line_start(s), t.next_line(e))),
        _ => None,
    }
}

/// The byte of a block list's first `-`: the parser puts an indentless list (`add:\n- A`)
/// at its first entry, after the dash.
fn dash(t: &Text, list: &Node) -> usize {
    let b = t.byte(list.span.start);
    if t.at(b) == Some(b'-') {
        return b;
    }
    let ls = t.line_start(b);
    t.s.get(ls..b)
        .unwrap_or("")
        .rfind('-')
        .map_or(b, |i| ls + i)
}

/// A flow list of new entries.
pub fn flow_list(t: &Text, style: Style, entries: &[String]) -> String {
    let v: Vec<String> = entries.iter().map(|s| scalar(t, style, s)).collect();
    format!("[{}]", v.join(", "))
}

/// New content for keys a map lacks: nested maps, a list, or a scalar written as is.
#[derive(Debug, Clone)]
pub enum NewVal {
    Map(Vec<(String, NewVal)>),
    List(Vec<String>),
    Raw(String),
}

fn render_flow(t: &Text, style: Style, v: &NewVal) -> String {
    match v {
        NewVal::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", key_text(t, k), render_flow(t, style, v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        NewVal::List(l) => flow_list(t, style, l),
        NewVal::Raw(s) => s.clone(),
    }
}

fn render_block(
    t: &Text,
    out: &mut String,
    entries: &[(String, NewVal)],
    indent: &str,
    style: Style,
    block_list: Option<usize>,
) {
    for (k, v) in entries {
        out.push_str(t.eol);
        out.push_str(indent);
        out.push_str(&key_text(t, k));
        out.push(':');
        match (v, block_list) {
            (NewVal::Map(m), _) => {
                let deeper = format!("{indent}{}", " ".repeat(style.unit));
                render_block(t, out, m, &deeper, style, block_list);
            }
            (NewVal::List(l), Some(off)) if !l.is_empty() => {
                for s in l {
                    out.push_str(t.eol);
                    out.push_str(indent);
                    out.push_str(&" ".repeat(off));
                    out.push_str("- ");
                    out.push_str(&scalar(t, style, s));
                }
            }
            _ => {
                out.push(' ');
                out.push_str(&render_flow(t, style, v));
            }
        }
    }
}

/// Adds `entries` to `map`, which lacks each of their keys, after its last entry with the
/// indentation of its keys (or, in a flow map or JSON, before its closing brace).
/// `block_list`: the item offset of a new block list (from a sibling list), else flow.
pub fn insert_entries(
    t: &Text,
    key: Option<&Node>,
    map: &Node,
    entries: &[(String, NewVal)],
    style: Style,
    block_list: Option<usize>,
) -> Result<Edit, Refusal> {
    if map.is_null() {
        // `securityContext:` with nothing (or `null`) after it.
        let value = render_flow(t, style, &NewVal::Map(entries.to_vec()));
        if map.span.end > map.span.start {
            let (s, e) = (t.byte(map.span.start), end_of(t, map));
            return Ok(Edit::replace(s, e, value));
        }
        let at = key
            .and_then(|k| after_colon(t, k))
            .ok_or("no ':' after the key")?;
        return Ok(Edit::insert(at, format!(" {value}")));
    }
    let Kind::Map(pairs) = &map.kind else {
        return Err("not a map".into());
    };
    if is_flow(t, map) {
        let parts: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{}: {}", key_text(t, k), render_flow(t, style, v)))
            .collect();
        let close = t.byte(map.span.end).saturating_sub(1);
        let Some((lk, _)) = pairs.last() else {
            // Right after the last text, unless a line break lies between: that text may be a
            // `# comment`, which would swallow the entries; then just before the brace.
            let after = t.trim_back(close);
            let at = if t.s[after..close].contains('\n') {
                close
            } else {
                after
            };
            return Ok(Edit::insert(at, parts.join(", ")));
        };
        let at = end_of(t, map_last_value(map).unwrap_or(lk)).min(close);
        let multiline = t.line_start(t.byte(lk.span.start)) != t.line_start(t.byte(map.span.start));
        let sep = if multiline {
            format!(",{}{}", t.eol, t.indent_at(t.byte(lk.span.start)))
        } else {
            ", ".to_string()
        };
        return Ok(Edit::insert(at, format!("{sep}{}", parts.join(&sep))));
    }
    let Some((first, _)) = pairs.first() else {
        return Err("an empty map".into());
    };
    let indent = t.indent_at(t.byte(first.span.start));
    let mut text = String::new();
    render_block(t, &mut text, entries, &indent, style, block_list);
    Ok(after_last_line(t, end_of(t, map), text))
}

/// Inserts lines (`text` starts with a line break) after the line holding the byte before
/// `end`: at the start of the next line when there is one, so that an insertion into a nested
/// block and one into its parent at the same place come out in order (see [`super::edit`]).
fn after_last_line(t: &Text, end: usize, text: String) -> Edit {
    let next = t.next_line(end.saturating_sub(1));
    if next > 0 && t.s.as_bytes()[next - 1] == b'\n' {
        let body = text.strip_prefix(t.eol).unwrap_or(&text);
        Edit::insert(next, format!("{body}{}", t.eol))
    } else {
        Edit::insert(t.line_end(end.saturating_sub(1)), text)
    }
}

fn map_last_value(map: &Node) -> Option<&Node> {
    match &map.kind {
        Kind::Map(pairs) => pairs
            .last()
            .filter(|(k, v)| !is_alias(k, v) && v.span.end > v.span.start)
            .map(|(_, v)| v.as_ref()),
        _ => None,
    }
}

/// Replaces a scalar value (`allowPrivilegeEscalation: true` → `false`).
pub fn set_scalar(t: &Text, key: &Node, value: &Node, new: &str) -> Result<Edit, Refusal> {
    if is_alias(key, value) {
        return Err("the value is an alias".into());
    }
    if value.span.end == value.span.start {
        let at = after_colon(t, key).ok_or("no ':' after the key")?;
        return Ok(Edit::insert(at, format!(" {new}")));
    }
    if value.as_str().is_none() {
        return Err("the value is not a scalar".into());
    }
    let (s, e) = (t.byte(value.span.start), end_of(t, value));
    Ok(Edit::replace(s, e, new))
}

/// The item offset of block lists in `map` (column of `-` minus column of the key), so a new
/// block list looks like its siblings; `None` when no sibling is a block list.
pub fn sibling_block_offset(t: &Text, map: &Node) -> Option<usize> {
    let Kind::Map(pairs) = &map.kind else {
        return None;
    };
    pairs.iter().find_map(|(k, v)| {
        if is_alias(k, v) || !v.is_seq() || v.items().is_empty() || is_flow(t, v) {
            return None;
        }
        let kc = t.indent_at(t.byte(k.span.start)).len();
        let dc = t.indent_at(dash(t, v)).len();
        Some(dc.saturating_sub(kc))
    })
}

/// The indentation unit of a YAML text: the smallest step between a key line and a deeper
/// line below it, 2 when the text has none.
pub fn indent_unit(text: &str) -> usize {
    let mut prev: Option<usize> = None;
    let mut best: Option<usize> = None;
    for line in text.lines().take(2000) {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let ind = line.len() - body.len();
        if let Some(p) = prev {
            if ind > p {
                best = Some(best.map_or(ind - p, |b: usize| b.min(ind - p)));
            }
        }
        prev = if body.trim_end().ends_with(':') {
            Some(ind)
        } else {
            None
        };
    }
    best.filter(|b| *b > 0 && *b <= 8).unwrap_or(2)
}
