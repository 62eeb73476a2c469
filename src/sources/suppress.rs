//! Inline suppressions: `# dropcap:ignore RULE[,RULE...] reason` comments and
//! `dropcap.io/ignore` annotations or labels.
//!
//! YAML parsers drop comments, so comments are found in the raw text instead: on the line that
//! declares the service or container (a trailing comment), or on the comment-only lines right
//! above it. That is where people put them, and it keeps a suppression visibly attached to the
//! thing it silences.

use crate::workload::Suppression;
use std::sync::Arc;

const MARK: &str = "dropcap:ignore";

/// Suppressions written as comments on `line` (1-based) or on the comment lines just above.
pub fn comments_at(lines: &[&str], line: u32) -> Vec<Suppression> {
    comments_with(&|i| lines.get(i).copied(), line)
}

/// [`comments_at`] over any way of fetching line `i` (0-based).
pub fn comments_with<'a>(
    line_at: &dyn Fn(usize) -> Option<&'a str>,
    line: u32,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    let idx = (line as usize).saturating_sub(1);
    if let Some(l) = line_at(idx) {
        if let Some(c) = trailing_comment(l) {
            parse_into(c, &mut out);
        }
    }
    let mut i = idx;
    while i > 0 {
        i -= 1;
        let t = line_at(i).map(|l| l.trim_start()).unwrap_or("");
        let Some(c) = t.strip_prefix('#') else {
            break;
        };
        parse_into(c, &mut out);
    }
    out
}

/// The comment part of a line: a `#` at the start or after a blank, outside quotes.
fn trailing_comment(line: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut prev_blank = true;
    for (i, ch) in line.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if prev_blank => quote = Some(ch),
            (None, '#') if prev_blank => return Some(&line[i + 1..]),
            _ => {}
        }
        prev_blank = ch == ' ' || ch == '\t' || ch == '-' || ch == '[' || ch == '{' || ch == ',';
    }
    None
}

fn parse_into(comment: &str, out: &mut Vec<Suppression>) {
    let c = comment.trim_start_matches('#').trim();
    if let Some(rest) = c.strip_prefix(MARK) {
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            out.extend(parse_value(rest));
        }
    }
}

/// `DC001,DC003 the reason` (also `DC001: reason`, or `*` for every rule).
///
/// Only ids of the rule catalog (any case) and `*` are kept, each once, and the reason is
/// stored once for all of them: a comment listing 20,000 ids with a long reason must not cost
/// 20,000 copies of it. Ids this version does not know are ignored rather than refused, so a
/// file can already name a rule of a newer dropcap.
pub fn parse_value(value: &str) -> Vec<Suppression> {
    let v = value.trim();
    let (ids, reason) = match v.find(char::is_whitespace) {
        Some(i) => (&v[..i], v[i..].trim()),
        None => (v, ""),
    };
    let ids = ids.trim_end_matches(':');
    let reason = reason.trim_start_matches(['-', ':']).trim();
    // A suppression is a reviewed decision; one without a reason still counts but says so.
    let reason: Arc<str> = Arc::from(if reason.is_empty() {
        "(no reason given)"
    } else {
        reason
    });
    let mut out: Vec<Suppression> = Vec::new();
    for id in ids.split(',').map(str::trim) {
        let Some(rule) = canonical_rule(id) else {
            continue;
        };
        if !out.iter().any(|s| s.rule == rule) {
            out.push(Suppression {
                rule: rule.to_string(),
                reason: Arc::clone(&reason),
            });
        }
    }
    out
}

/// The catalog's spelling of a rule id, or `*`.
pub fn canonical_rule(id: &str) -> Option<&'static str> {
    if id == "*" {
        return Some("*");
    }
    crate::rules::catalog()
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id))
        .map(|r| r.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_and_above() {
        let text = "services:\n  # keeps NET_RAW\n  # dropcap:ignore DC001 healthcheck pings\n  web:  # dropcap:ignore DC002,DC003: reviewed\n";
        let lines: Vec<&str> = text.lines().collect();
        let s = comments_at(&lines, 4);
        let got: Vec<(&str, &str)> = s.iter().map(|s| (s.rule.as_str(), &*s.reason)).collect();
        assert_eq!(
            got,
            vec![
                ("DC002", "reviewed"),
                ("DC003", "reviewed"),
                ("DC001", "healthcheck pings")
            ]
        );
    }

    #[test]
    fn hash_inside_quotes_is_not_a_comment() {
        let lines = vec!["  cmd: \"echo # dropcap:ignore DC001 x\""];
        assert!(comments_at(&lines, 1).is_empty());
        assert!(comments_at(&["web: x"], 1).is_empty());
        // A blank line detaches a comment from the service below it.
        assert!(comments_at(&["# dropcap:ignore DC001 x", "", "web:"], 3).is_empty());
    }

    #[test]
    fn other_comments_ignored() {
        assert!(comments_at(&["# dropcap:ignored", "web:"], 2).is_empty());
        let s = comments_at(&["# dropcap:ignore *", "web:"], 2);
        assert_eq!(
            (s[0].rule.as_str(), &*s[0].reason),
            ("*", "(no reason given)")
        );
    }

    #[test]
    fn unknown_ids_ignored_known_ones_kept_once_with_one_shared_reason() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("DC{i:03}")).collect();
        let value = format!("{},dc009,DC009,* {}", ids.join(","), "long ".repeat(10_000));
        let s = parse_value(&value);
        let rules: Vec<&str> = s.iter().map(|s| s.rule.as_str()).collect();
        assert_eq!(rules.len(), crate::rules::catalog().len() + 1, "{rules:?}");
        assert!(rules.contains(&"DC009") && rules.contains(&"*"));
        assert!(s
            .windows(2)
            .all(|w| Arc::ptr_eq(&w[0].reason, &w[1].reason)));
        assert!(parse_value("DC999,NOPE typo").is_empty());
    }
}
