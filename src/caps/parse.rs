//! Reading every spelling of a capability or a set that people and tools use.
//!
//! Inputs come from shell flags, YAML, JSON, `/proc` and libcap, so the parser is liberal in
//! what it accepts (any case, with or without `CAP_`, numbers, masks, libcap text) but never
//! guesses silently: an unknown name is an error that suggests the nearest real one.

use super::{Cap, CapSet, TABLE};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CapParseError {
    #[error("empty capability name")]
    Empty,
    #[error("unknown capability '{name}'{}", suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownName {
        name: String,
        suggestion: Option<&'static str>,
    },
    /// The digits as typed: a number too big for u64 must not be reported as another number.
    #[error("capability number {0} is out of range (0..=63)")]
    OutOfRange(String),
    #[error("'{0}' is not a hexadecimal capability mask")]
    BadMask(String),
    #[error("'{0}' is wider than 64 bits (a capability mask has at most 16 hex digits)")]
    MaskTooWide(String),
    #[error("bad libcap text '{text}': {reason}")]
    BadLibcap { text: String, reason: &'static str },
}

/// One capability in any spelling: `CAP_NET_RAW`, `NET_RAW`, `net_raw`, `cap_net_raw`,
/// `13`, or libcap's `cap_41` for numbers past the table.
pub fn parse_cap(input: &str) -> Result<Cap, CapParseError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(CapParseError::Empty);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return parse_number(s);
    }
    let upper = s.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if let Some(info) = TABLE.iter().find(|i| i.name == bare) {
        return Ok(Cap(info.number));
    }
    if !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()) && upper.starts_with("CAP_") {
        return parse_number(bare);
    }
    Err(CapParseError::UnknownName {
        name: s.to_string(),
        suggestion: suggest(bare),
    })
}

fn parse_number(s: &str) -> Result<Cap, CapParseError> {
    s.parse::<u8>()
        .ok()
        .and_then(Cap::new)
        .ok_or_else(|| CapParseError::OutOfRange(s.to_string()))
}

/// A hexadecimal mask with or without `0x`, as `/proc/PID/status` and `capsh --decode` use.
pub fn parse_mask(input: &str) -> Result<CapSet, CapParseError> {
    let s = input.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    // Leading zeros do not count against the 16 digits of a u64.
    let significant = hex.trim_start_matches('0');
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CapParseError::BadMask(s.to_string()));
    }
    if significant.len() > 16 {
        return Err(CapParseError::MaskTooWide(s.to_string()));
    }
    u64::from_str_radix(hex, 16)
        .map(CapSet)
        .map_err(|_| CapParseError::BadMask(s.to_string()))
}

/// A set in any list spelling: names separated by commas or spaces, `ALL`, numbers, `0x`
/// masks, or libcap text (`cap_chown,cap_net_raw+ep`, `=ep cap_sys_admin-ep`). For libcap text
/// the result is every capability in any of the three sets, which is what a caller asking
/// "which capabilities does this grant" wants. An empty string or `-` (how dropcap prints the
/// empty set) is the empty set, so `--caps ''` can mean "none".
pub fn parse_list(input: &str) -> Result<CapSet, CapParseError> {
    let s = input.trim();
    if s.is_empty() || s == "-" {
        return Ok(CapSet::EMPTY);
    }
    if looks_like_libcap(s) {
        return FileCaps::parse(s).map(FileCaps::any);
    }
    let mut set = CapSet::EMPTY;
    for token in s.split(|c: char| c == ',' || c.is_whitespace()) {
        let t = token.trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']');
        if !t.is_empty() {
            set = set.union(parse_token(t)?);
        }
    }
    Ok(set)
}

/// [`parse_list`], plus the form dropcap prints for near-full sets: `ALL -NET_RAW -SYS_ADMIN`
/// (start from the named ones, then take away each `-NAME` and add each `+NAME`, in order).
pub fn parse_set(input: &str) -> Result<CapSet, CapParseError> {
    let tokens: Vec<&str> = input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    let arithmetic = !input.contains('=')
        && tokens
            .iter()
            .skip(1)
            .any(|t| t.starts_with('-') || t.starts_with('+'))
        && !tokens.first().is_some_and(|t| t.starts_with('-'));
    if !arithmetic {
        return parse_list(input);
    }
    let mut set = CapSet::EMPTY;
    for t in tokens {
        if let Some(name) = t.strip_prefix('-') {
            set = set.difference(parse_token(name)?);
        } else {
            set = set.union(parse_token(t.strip_prefix('+').unwrap_or(t))?);
        }
    }
    Ok(set)
}

fn parse_token(t: &str) -> Result<CapSet, CapParseError> {
    if t.eq_ignore_ascii_case("all") || t.eq_ignore_ascii_case("cap_all") {
        return Ok(CapSet::all_known());
    }
    if t.starts_with("0x") || t.starts_with("0X") {
        return parse_mask(t);
    }
    match parse_cap(t) {
        Ok(c) => Ok(CapSet::EMPTY.with(c)),
        // A bare hex mask such as `a80425fb` (what capsh prints without 0x): accept it only when
        // it cannot be a number or a name, so "13" stays capability 13.
        Err(e @ CapParseError::UnknownName { .. }) => {
            if t.len() >= 3 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                parse_mask(t)
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

fn looks_like_libcap(s: &str) -> bool {
    s.contains('=') || s.contains('+') || s.split_whitespace().any(|w| w.contains('-'))
}

/// The three file/process capability sets libcap text describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileCaps {
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
}

impl FileCaps {
    pub fn any(self) -> CapSet {
        self.effective.union(self.permitted).union(self.inheritable)
    }

    /// libcap's `cap_from_text` grammar: whitespace-separated clauses `[caps]op flags[op flags]...`
    /// where op is `=` (reset the listed caps, then raise), `+` or `-`, and flags are `e`, `i`,
    /// `p`. An empty list with `=` means all capabilities.
    pub fn parse(text: &str) -> Result<FileCaps, CapParseError> {
        let bad = |reason| CapParseError::BadLibcap {
            text: text.to_string(),
            reason,
        };
        let mut out = FileCaps::default();
        let mut any_clause = false;
        for clause in text.split_whitespace() {
            any_clause = true;
            let op_at = clause
                .find(['=', '+', '-'])
                .ok_or_else(|| bad("a clause has no operator (=, + or -)"))?;
            let (list, mut rest) = clause.split_at(op_at);
            let caps = if list.is_empty() {
                None
            } else {
                let mut s = CapSet::EMPTY;
                for name in list.split(',') {
                    s = s.union(parse_token(name)?);
                }
                Some(s)
            };
            while let Some(op) = rest.chars().next() {
                rest = &rest[1..];
                let flag_end = rest.find(['=', '+', '-']).unwrap_or(rest.len());
                let (flags, tail) = rest.split_at(flag_end);
                rest = tail;
                let target = match (op, caps) {
                    (_, Some(c)) => c,
                    ('=', None) => CapSet::all_known(),
                    _ => return Err(bad("'+' and '-' need a capability list before them")),
                };
                if op == '=' {
                    out.effective = out.effective.difference(target);
                    out.permitted = out.permitted.difference(target);
                    out.inheritable = out.inheritable.difference(target);
                }
                for f in flags.chars() {
                    let set = match f {
                        'e' | 'E' => &mut out.effective,
                        'p' | 'P' => &mut out.permitted,
                        'i' | 'I' => &mut out.inheritable,
                        _ => return Err(bad("flags must be e, i or p")),
                    };
                    *set = if op == '-' {
                        set.difference(target)
                    } else {
                        set.union(target)
                    };
                }
                if flags.is_empty() && op != '=' {
                    return Err(bad("an operator needs flags (e, i, p) after it"));
                }
            }
        }
        if !any_clause {
            return Err(CapParseError::Empty);
        }
        Ok(out)
    }
}

const MAX_TYPO_LEN: usize = 40;

/// The closest table name to a misspelling, if one is close enough to be a plausible typo.
fn suggest(bare_upper: &str) -> Option<&'static str> {
    // No capability name is longer than 18 characters: a longer input is no typo of one, and
    // the edit distance costs its length times every name (a fuzzer fed whole files here).
    if bare_upper.len() > MAX_TYPO_LEN {
        return None;
    }
    let candidate = bare_upper.replace('-', "_");
    let (best, dist) = TABLE
        .iter()
        .map(|i| (i.name, levenshtein(&candidate, i.name)))
        .min_by_key(|(_, d)| *d)?;
    if dist <= (best.len() / 3).max(2) {
        return Some(best);
    }
    // "RAW" or "ADMIN": a fragment of exactly one name is a good hint too.
    let mut hits = TABLE.iter().filter(|i| {
        candidate.len() >= 3 && (i.name.contains(&*candidate) || candidate.contains(i.name))
    });
    match (hits.next(), hits.next()) {
        (Some(h), None) => Some(h.name),
        _ => None,
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_inputs_get_no_suggestion() {
        let long = format!("NET_RAW{}", "x".repeat(100_000));
        match parse_cap(&long) {
            Err(CapParseError::UnknownName { suggestion, .. }) => assert_eq!(suggestion, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_arithmetic_and_every_list_spelling() {
        let all = CapSet::all_known();
        assert_eq!(parse_set("ALL -NET_RAW"), Ok(all.without(Cap::NET_RAW)));
        assert_eq!(parse_set("ALL -NET_RAW +13"), Ok(all));
        assert_eq!(parse_set(""), Ok(CapSet::EMPTY));
        assert_eq!(parse_set("cap_net_raw=ep"), parse_list("cap_net_raw=ep"));
        assert_eq!(parse_set("CHOWN,NET_RAW"), parse_list("CHOWN,NET_RAW"));
        assert!(parse_set("ALL -NOPE").is_err());
    }

    #[test]
    fn every_spelling_of_one_cap() {
        for s in [
            "CAP_NET_RAW",
            "NET_RAW",
            "net_raw",
            "cap_net_raw",
            "Cap_Net_Raw",
            "13",
            " NET_RAW ",
        ] {
            assert_eq!(parse_cap(s), Ok(Cap::NET_RAW), "{s}");
        }
        assert_eq!(parse_cap("cap_41").map(Cap::number), Ok(41));
        assert_eq!(parse_cap("63").map(Cap::number), Ok(63));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(parse_cap(""), Err(CapParseError::Empty));
        assert_eq!(parse_cap("64"), Err(CapParseError::OutOfRange("64".into())));
        assert_eq!(
            parse_cap("18446744073709551616").unwrap_err().to_string(),
            "capability number 18446744073709551616 is out of range (0..=63)"
        );
        assert_eq!(parse_mask(&format!("0x{}1", "0".repeat(20))), Ok(CapSet(1)));
        assert!(parse_mask("1ffffffffffffffff").is_err());
        let e = parse_cap("NET_RWA").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown capability 'NET_RWA' (did you mean NET_RAW?)"
        );
        let e = parse_cap("cap_sys_admn").unwrap_err();
        assert!(e.to_string().contains("did you mean SYS_ADMIN?"), "{e}");
        let e = parse_cap("net-raw").unwrap_err();
        assert!(e.to_string().contains("did you mean NET_RAW?"), "{e}");
        let e = parse_cap("ptrace").unwrap_err();
        assert!(e.to_string().contains("did you mean SYS_PTRACE?"), "{e}");
        let e = parse_cap("banana_split_sundae").unwrap_err();
        assert_eq!(
            e,
            CapParseError::UnknownName {
                name: "banana_split_sundae".into(),
                suggestion: None
            }
        );
    }

    #[test]
    fn masks_with_and_without_prefix() {
        assert_eq!(parse_mask("0xa80425fb").unwrap(), CapSet::docker_default());
        assert_eq!(parse_mask("a80425fb").unwrap(), CapSet::docker_default());
        assert_eq!(
            parse_mask("00000000a80425fb").unwrap(),
            CapSet::docker_default()
        );
        assert_eq!(parse_mask("0X0").unwrap(), CapSet::EMPTY);
        assert_eq!(parse_mask("ffffffffffffffff").unwrap(), CapSet(u64::MAX));
        for bad in ["", "0x", "xyz", "-1", "0x 1"] {
            assert!(
                matches!(parse_mask(bad), Err(CapParseError::BadMask(_))),
                "{bad}"
            );
        }
        // Valid hex, just too many bits: saying "not hexadecimal" would send the user looking
        // for a typo.
        assert_eq!(
            parse_mask("0x1ffffffffffffffff").unwrap_err().to_string(),
            "'0x1ffffffffffffffff' is wider than 64 bits (a capability mask has at most 16 hex digits)"
        );
    }

    #[test]
    fn lists_in_every_form() {
        let want = CapSet::EMPTY.with(Cap::CHOWN).with(Cap::NET_RAW);
        for s in [
            "CHOWN,NET_RAW",
            "chown net_raw",
            "CAP_CHOWN, CAP_NET_RAW",
            "[\"CHOWN\", \"NET_RAW\"]",
            "0,13",
            "0x2001",
            "cap_chown,cap_net_raw+ep",
            "cap_chown,cap_net_raw=ep",
        ] {
            assert_eq!(parse_list(s).unwrap(), want, "{s}");
        }
        assert_eq!(parse_list("ALL").unwrap(), CapSet::all_known());
        assert_eq!(parse_list("all").unwrap(), CapSet::all_known());
        assert_eq!(parse_list("a80425fb").unwrap(), CapSet::docker_default());
        assert_eq!(parse_list(" , "), Ok(CapSet::EMPTY));
        assert_eq!(parse_list(""), Ok(CapSet::EMPTY));
        assert_eq!(parse_list("-"), Ok(CapSet::EMPTY));
        assert!(parse_list("CHOWN,NET_RAWW").is_err());
    }

    #[test]
    fn libcap_text() {
        let f = FileCaps::parse("=ep cap_sys_admin-ep").unwrap();
        assert_eq!(f.effective, CapSet::all_known().without(Cap::SYS_ADMIN));
        assert_eq!(f.permitted, f.effective);
        assert_eq!(f.inheritable, CapSet::EMPTY);
        let f = FileCaps::parse("cap_net_raw+p cap_net_raw+e-p").unwrap();
        assert_eq!(f.effective, CapSet::EMPTY.with(Cap::NET_RAW));
        assert_eq!(f.permitted, CapSet::EMPTY);
        let f = FileCaps::parse("cap_chown=eip cap_chown=p").unwrap();
        assert_eq!(f.permitted, CapSet::EMPTY.with(Cap::CHOWN));
        assert_eq!(f.effective, CapSet::EMPTY);
        assert_eq!(FileCaps::parse("=").unwrap(), FileCaps::default());
        for bad in ["+ep", "cap_chown+x", "cap_chown+", "cap_nope+ep"] {
            assert!(FileCaps::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_list("cap_nett_raw+ep")
            .unwrap_err()
            .to_string()
            .contains("NET_RAW"));
    }
}
