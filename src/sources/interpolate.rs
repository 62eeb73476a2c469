//! Compose variable interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?error}`,
//! `${VAR:+alternative}` and their forms without `:`, `$$` for a literal `$`), as
//! `docker compose` applies it to every value after loading the YAML and before reading it.
//!
//! Why here: a profile runs the service as `docker compose up` would, and most real compose
//! files spell the image, the user or a volume through variables (`image:
//! ${REGISTRY}/app:${TAG:-latest}`); taken as written, the trial would ask the engine for an
//! image named `${REGISTRY}/app`. The static audit reads files as written (its findings must
//! not depend on the shell it runs in), so only `profile` interpolates.

use super::tree::{Kind, Node, Pos};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Where values come from: the environment first, then the project's `.env` file, as compose
/// reads them.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    env: HashMap<String, String>,
    dotenv: HashMap<String, String>,
}

impl Vars {
    pub fn new(env: HashMap<String, String>, dotenv: HashMap<String, String>) -> Vars {
        Vars { env, dotenv }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }
}

/// What interpolating a document found: variables used but set nowhere (compose defaults them
/// to a blank string and warns).
#[derive(Debug, Default)]
pub struct Report {
    pub unset: Vec<String>,
}

/// An error in one value, with the value's position.
pub type Error = (Pos, String);

/// Nested `${A:-${B:-...}}` deeper than this is refused (compose has no limit; no real value
/// nests more than two or three).
const MAX_NESTING: usize = 16;

/// A copy of `root` with every scalar value interpolated; keys are kept as written, as
/// compose does. Shared nodes (anchors) stay shared, so an alias bomb costs no more than it
/// did in the tree.
pub fn tree(root: &Node, vars: &Vars, report: &mut Report) -> Result<Rc<Node>, Error> {
    let mut memo: HashMap<*const Node, Rc<Node>> = HashMap::new();
    let mut unset = HashSet::new();
    let out = copy(root, vars, &mut memo, &mut unset)?;
    let mut unset: Vec<String> = unset.into_iter().collect();
    unset.sort();
    report.unset = unset;
    Ok(out)
}

fn copy(
    n: &Node,
    vars: &Vars,
    memo: &mut HashMap<*const Node, Rc<Node>>,
    unset: &mut HashSet<String>,
) -> Result<Rc<Node>, Error> {
    if let Some(done) = memo.get(&(n as *const Node)) {
        return Ok(done.clone());
    }
    let kind = match &n.kind {
        Kind::Scalar { text, plain } if text.contains('$') => {
            // A value made by interpolation is a string, as in compose: `KEY: ${UNSET}` is
            // set to "", not YAML's null (which would take the variable from the shell).
            let new = string(text, vars, unset).map_err(|m| (n.pos, m))?;
            let plain = *plain && new == *text;
            Kind::Scalar { text: new, plain }
        }
        Kind::Scalar { text, plain } => Kind::Scalar {
            text: text.clone(),
            plain: *plain,
        },
        Kind::Seq(items) => Kind::Seq(
            items
                .iter()
                .map(|i| copy(i, vars, memo, unset))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Map(pairs) => Kind::Map(
            pairs
                .iter()
                .map(|(k, v)| Ok((k.clone(), copy(v, vars, memo, unset)?)))
                .collect::<Result<_, Error>>()?,
        ),
    };
    let out = Rc::new(Node {
        kind,
        pos: n.pos,
        span: n.span,
        expanded: n.expanded,
    });
    memo.insert(n as *const Node, out.clone());
    Ok(out)
}

/// One value interpolated; `Err` for `${VAR:?message}` with VAR unset (or empty) and for
/// malformed references, as compose refuses them.
pub fn string(s: &str, vars: &Vars, unset: &mut HashSet<String>) -> Result<String, String> {
    expand(s, vars, unset, 0)
}

fn expand(
    s: &str,
    vars: &Vars,
    unset: &mut HashSet<String>,
    depth: usize,
) -> Result<String, String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "variables nested more than {MAX_NESTING} deep in '{s}'"
        ));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = closing_brace(inner)
                .ok_or_else(|| format!("'${{' without its closing '}}' in '{s}'"))?;
            out.push_str(&braced(&inner[..end], vars, unset, depth)?);
            rest = &inner[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                // A lone `$` (before a space, a digit, the end): compose keeps it.
                out.push('$');
                rest = after;
            } else {
                out.push_str(&lookup(&after[..len], vars, unset));
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The byte offset of the `}` closing a `${`, skipping nested `${...}` in a default.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Length of the variable name at the start of `s` (`[A-Za-z_][A-Za-z0-9_]*`).
fn name_len(s: &str) -> usize {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            1 + b[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count()
        }
        _ => 0,
    }
}

fn lookup(name: &str, vars: &Vars, unset: &mut HashSet<String>) -> String {
    match vars.get(name) {
        Some(v) => v.to_string(),
        None => {
            unset.insert(name.to_string());
            String::new()
        }
    }
}

/// The inside of `${...}`.
fn braced(
    inner: &str,
    vars: &Vars,
    unset: &mut HashSet<String>,
    depth: usize,
) -> Result<String, String> {
    let len = name_len(inner);
    let (name, op) = inner.split_at(len);
    if name.is_empty() {
        return Err(format!(
            "'${{{inner}}}' does not start with a variable name"
        ));
    }
    let value = vars.get(name);
    // With `:`, an empty value counts as unset.
    let (colon, op) = match op.strip_prefix(':') {
        Some(o) => (true, o),
        None => (false, op),
    };
    let set = value.is_some_and(|v| !colon || !v.is_empty());
    let Some(kind) = op.chars().next() else {
        if colon {
            return Err(format!("'${{{inner}}}' has ':' without -, ? or +"));
        }
        return Ok(lookup(name, vars, unset));
    };
    let arg = &op[kind.len_utf8()..];
    match kind {
        '-' => match value.filter(|_| set) {
            Some(v) => Ok(v.to_string()),
            None => expand(arg, vars, unset, depth + 1),
        },
        '+' => {
            if set {
                expand(arg, vars, unset, depth + 1)
            } else {
                Ok(String::new())
            }
        }
        '?' => match value.filter(|_| set) {
            Some(v) => Ok(v.to_string()),
            None => {
                let why = expand(arg, vars, unset, depth + 1)?;
                Err(format!(
                    "required variable {name} is missing a value{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                ))
            }
        },
        _ => Err(format!(
            "'${{{inner}}}': unknown operator after the variable name (compose knows :-, -, :?, ?, :+ and +)"
        )),
    }
}

/// The project's `.env` file as compose reads it: `KEY=VALUE` lines (`export ` allowed),
/// `#` comment lines, values in double quotes (with `\n`, `\"` and `\\` escapes) or single
/// quotes (literal), and unquoted values ending at ` #`. `Err`: the 1-based line and why.
pub fn parse_dotenv(text: &str) -> Result<HashMap<String, String>, (u32, String)> {
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").map(str::trim_start).unwrap_or(l);
        let (key, raw) = l.split_once('=').unwrap_or((l, ""));
        let key = key.trim_end();
        if name_len(key) != key.len() || key.is_empty() {
            return Err((line_no, format!("'{key}' is not a variable name")));
        }
        let raw = raw.trim_start();
        let value = if let Some(q) = raw.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.chars();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some('n') => v.push('\n'),
                        Some('t') => v.push('\t'),
                        Some(o) => v.push(o),
                        None => v.push('\\'),
                    },
                    c => v.push(c),
                }
            }
            if !closed {
                return Err((line_no, format!("the value of {key} has no closing '\"'")));
            }
            v
        } else if let Some(q) = raw.strip_prefix('\'') {
            match q.find('\'') {
                Some(end) => q[..end].to_string(),
                None => return Err((line_no, format!("the value of {key} has no closing \"'\""))),
            }
        } else {
            let v = match raw.find(" #") {
                Some(c) => &raw[..c],
                None => raw,
            };
            v.trim_end().to_string()
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let env = [("TAG", "1.2"), ("EMPTY", ""), ("REG", "registry.local")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dotenv = [("TAG", "from-dotenv"), ("USER_ID", "1000")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Vars::new(env, dotenv)
    }

    fn ok(s: &str) -> String {
        string(s, &vars(), &mut HashSet::new()).unwrap()
    }

    #[test]
    fn dotenv_files_read_as_compose_reads_them() {
        let text = "# comment\n\nTAG=1.2\nexport REG = r.local\nQ=\"a b\\n\\\"c\\\"\" # note\nS='$x y'\nU=plain # note\nE=\n";
        let v = parse_dotenv(text).unwrap();
        assert_eq!(v["TAG"], "1.2");
        assert_eq!(v["REG"], "r.local");
        assert_eq!(v["Q"], "a b\n\"c\"");
        assert_eq!(v["S"], "$x y");
        assert_eq!(v["U"], "plain");
        assert_eq!(v["E"], "");
        assert_eq!(parse_dotenv("A=1\nnot a var=2\n").unwrap_err().0, 2);
        assert!(parse_dotenv("A=\"open\n")
            .unwrap_err()
            .1
            .contains("closing"));
    }

    #[test]
    fn every_form_compose_documents() {
        assert_eq!(ok("${REG}/app:${TAG:-latest}"), "registry.local/app:1.2");
        assert_eq!(ok("$REG/app:$TAG"), "registry.local/app:1.2");
        assert_eq!(ok("${NOPE:-latest}"), "latest");
        assert_eq!(ok("${NOPE-latest}"), "latest");
        assert_eq!(ok("${EMPTY:-d}"), "d", ":- treats empty as unset");
        assert_eq!(ok("${EMPTY-d}"), "", "- keeps an empty value");
        assert_eq!(ok("${TAG:+set}"), "set");
        assert_eq!(ok("${EMPTY:+set}"), "");
        assert_eq!(ok("${EMPTY+set}"), "set");
        assert_eq!(ok("${NOPE+set}"), "");
        assert_eq!(
            ok("${USER_ID}:${USER_ID}"),
            "1000:1000",
            ".env fills the gaps"
        );
        assert_eq!(
            ok("${NOPE:-${REG:-x}}/a"),
            "registry.local/a",
            "nested default"
        );
        assert_eq!(ok("$$HOME and $$${TAG}"), "$HOME and $1.2");
        assert_eq!(ok("cost: 5 $ or $1"), "cost: 5 $ or $1");
        assert_eq!(ok("ünï ${TAG} çødé"), "ünï 1.2 çødé");
    }

    #[test]
    fn unset_variables_are_blank_and_reported() {
        let mut unset = HashSet::new();
        assert_eq!(string("a${X}b$Y", &vars(), &mut unset).unwrap(), "ab");
        let mut names: Vec<_> = unset.into_iter().collect();
        names.sort();
        assert_eq!(names, ["X", "Y"]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |s: &str| string(s, &vars(), &mut HashSet::new()).unwrap_err();
        assert_eq!(
            err("${DB_PASSWORD:?set it in .env}"),
            "required variable DB_PASSWORD is missing a value: set it in .env"
        );
        assert_eq!(
            err("${EMPTY:?}"),
            "required variable EMPTY is missing a value"
        );
        assert!(err("${TAG").contains("without its closing"));
        assert!(err("${1abc}").contains("variable name"));
        assert!(err("${TAG:}").contains("':' without"));
        assert!(err("${TAG/x/y}").contains("unknown operator"));
        let deep = format!("{}x{}", "${N:-".repeat(40), "}".repeat(40));
        assert!(err(&deep).contains("nested more than"));
    }

    #[test]
    fn a_tree_keeps_keys_positions_and_sharing() {
        let text = "services:\n  web:\n    image: &img ${REG}/web:${TAG}\n    labels:\n      ${KEY}: a\n  db:\n    image: *img\n";
        let doc = crate::sources::tree::documents(text)
            .next()
            .unwrap()
            .unwrap();
        let mut report = Report::default();
        let root = tree(&doc.root, &vars(), &mut report).unwrap();
        let web = root.get("services").unwrap().get("web").unwrap();
        let img = web.get("image").unwrap();
        assert_eq!(img.as_str(), Some("registry.local/web:1.2"));
        assert_eq!((img.pos.line, img.pos.col), (3, 12));
        let labels = web.get("labels").unwrap();
        assert_eq!(labels.entries()[0].0.as_str(), Some("${KEY}"));
        let db_img = root
            .get("services")
            .unwrap()
            .get("db")
            .unwrap()
            .get("image")
            .unwrap();
        assert!(std::ptr::eq(img, db_img), "an alias stays one node");
        assert!(report.unset.is_empty());
        let bad = crate::sources::tree::documents("a:\n  b: ${X:?needed}\n")
            .next()
            .unwrap()
            .unwrap();
        let e = tree(&bad.root, &vars(), &mut Report::default()).unwrap_err();
        assert_eq!((e.0.line, e.0.col), (2, 6));
    }
}
