//! A small JSON reader that builds the same positioned [`Node`] tree as the YAML path.
//!
//! Why not the YAML parser for JSON too: JSON is all flow syntax, where saphyr-parser's scanner
//! buffers tokens far ahead (a 38 MB `kubectl get -o json` list peaked at 585 MB in the parser
//! alone), while block YAML streams in constant memory. This reader is iterative (no recursion),
//! enforces the same depth limit, and keeps positions identical to what the YAML path reports
//! (a string at its opening quote, a container at its bracket).
//!
//! Whitespace-separated values in one file (several `docker inspect` outputs appended) are read
//! as successive documents.

use super::tree::{
    is_bulk_key, too_many_nodes, Doc, Kind, Node, Pos, Span, TreeError, MAX_DEPTH, MAX_NODES,
};
use std::rc::Rc;

/// Whether a text should be read as JSON: its first significant character opens an object or
/// an array. Flow-style YAML that is not JSON falls back to the YAML parser (see `sources`).
pub fn starts_like_json(text: &str) -> bool {
    matches!(
        text.trim_start_matches([' ', '\t', '\r', '\n'])
            .as_bytes()
            .first(),
        Some(b'{' | b'[')
    )
}

pub struct Docs<'a> {
    p: Reader<'a>,
    done: bool,
}

pub fn documents(text: &str) -> Docs<'_> {
    documents_at(text, Pos { line: 1, col: 1 }, 0)
}

/// [`documents`] of a text that is a piece of a larger input starting at `start` (`chars`
/// characters into it), so that positions and spans are the larger input's: the List streamer
/// ([`super::list_stream`]) parses one item at a time this way.
pub fn documents_at(text: &str, start: Pos, chars: usize) -> Docs<'_> {
    Docs {
        p: Reader::at(text, start, chars),
        done: false,
    }
}

/// [`documents`] keeping every value: `dropcap profile` reads one definition whole
/// (environment, volumes, probes), where the audit drops them to save memory.
pub fn documents_whole(text: &str) -> Docs<'_> {
    let mut d = documents(text);
    d.p.whole = true;
    d
}

impl Docs<'_> {
    /// Where reading stopped: just after the last value read.
    pub fn end(&self) -> (Pos, usize) {
        (self.p.pos(), self.p.chars)
    }
}

impl Iterator for Docs<'_> {
    type Item = Result<Doc, TreeError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.p.skip_ws();
        if self.p.i >= self.p.b.len() {
            self.done = true;
            return None;
        }
        let r = self.p.value().map(|root| Doc { root });
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

/// Checks the members that follow an object's first members, which were read elsewhere
/// (the List streamer reads `{"apiVersion": ..., "items": [...]` itself): `, "kind": "List"
/// ... }`. Returns the documents that follow the object, positioned as in the whole input.
pub fn rest_of_object(
    text: &str,
    start: Pos,
    chars: usize,
) -> Result<(Docs<'_>, RestKeys), TreeError> {
    let mut p = Reader::at(text, start, chars);
    let mut keys = RestKeys::default();
    loop {
        p.skip_ws();
        match p.peek() {
            Some(b',') => {
                p.bump();
                p.skip_ws();
                let key_pos = p.pos();
                let key = p.read_key()?;
                match key.as_str() {
                    Some("kind") => {
                        let v = p.value()?;
                        keys.kind = v.as_str().map(str::to_string);
                    }
                    Some("items") if !keys.items_again => {
                        keys.items_again = true;
                        keys.items_at = key_pos;
                        p.skip_value(1)?;
                    }
                    _ => p.skip_value(1)?,
                }
            }
            Some(b'}') => {
                p.bump();
                return Ok((Docs { p, done: false }, keys));
            }
            _ => return p.err(format!("expected ',' or '}}' in an object, {}", p.found())),
        }
    }
}

/// What [`rest_of_object`] saw of the members it checked.
#[derive(Debug, Default)]
pub struct RestKeys {
    /// The last `kind` (the whole-text path reads the last of duplicate keys).
    pub kind: Option<String>,
    /// Another `items` key, and where.
    pub items_again: bool,
    pub items_at: Pos,
}

struct Reader<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
    /// Characters before `i`: spans count characters, as the YAML parser's do.
    chars: usize,
    line: u32,
    col: u32,
    /// Keep the values of [`is_bulk_key`] keys (see [`documents_whole`]).
    whole: bool,
}

enum Frame {
    Seq {
        items: Vec<Rc<Node>>,
        pos: Pos,
        start: usize,
        size: u64,
    },
    Map {
        pairs: Vec<(Rc<Node>, Rc<Node>)>,
        key: Option<Rc<Node>>,
        pos: Pos,
        start: usize,
        size: u64,
    },
}

impl<'a> Reader<'a> {
    /// A reader of `text`, which starts at `start` (`chars` characters into the input).
    fn at(text: &'a str, start: Pos, chars: usize) -> Reader<'a> {
        Reader {
            b: text.as_bytes(),
            s: text,
            i: 0,
            chars,
            line: start.line,
            col: start.col,
            whole: false,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) {
        if let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            // YAML's line breaks, so both readers agree on positions: LF, CRLF (the LF ends
            // the line) and a lone CR (old Mac files).
            let lone_cr = c == b'\r' && self.b.get(self.i) != Some(&b'\n');
            if c == b'\n' || lone_cr {
                self.line = self.line.saturating_add(1);
                self.col = 1;
            } else if c == b'\r' {
            } else if c & 0xC0 != 0x80 {
                // Columns count characters: only a UTF-8 lead byte starts one.
                self.col = self.col.saturating_add(1);
            }
            if c & 0xC0 != 0x80 {
                self.chars += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        // Pretty-printed JSON is mostly indentation: spaces and newlines are counted here
        // directly; only a CR goes through `bump`'s line-break rules.
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' => {
                    // Indentation comes in runs.
                    let run = self.b[self.i..]
                        .iter()
                        .position(|&c| c != b' ')
                        .unwrap_or(self.b.len() - self.i);
                    self.i += run;
                    self.chars += run;
                    self.col = self
                        .col
                        .saturating_add(u32::try_from(run).unwrap_or(u32::MAX));
                }
                b'\t' => {
                    self.i += 1;
                    self.chars += 1;
                    self.col = self.col.saturating_add(1);
                }
                b'\n' => {
                    self.i += 1;
                    self.chars += 1;
                    self.line = self.line.saturating_add(1);
                    self.col = 1;
                }
                b'\r' => self.bump(),
                _ => break,
            }
        }
    }

    /// Moves over the run of string content up to the next quote, backslash or control
    /// character (none of which is in the run, so it holds no line break), counting its
    /// characters at once.
    fn plain_run(&mut self) -> usize {
        let rest = self.b.get(self.i..).unwrap_or(&[]);
        let n = rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .unwrap_or(rest.len());
        let chars = rest[..n].iter().filter(|&&c| c & 0xC0 != 0x80).count();
        self.i += n;
        self.chars += chars;
        self.col = self
            .col
            .saturating_add(u32::try_from(chars).unwrap_or(u32::MAX));
        n
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, TreeError> {
        Err(TreeError {
            pos: self.pos(),
            message: message.into(),
        })
    }

    fn found(&self) -> String {
        match self.s.get(self.i..).and_then(|r| r.chars().next()) {
            Some(c) => format!("found {c:?}"),
            None => "found the end of the input".to_string(),
        }
    }

    /// One complete value, iteratively: `stack` holds the open containers.
    fn value(&mut self) -> Result<Rc<Node>, TreeError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut created: u64 = 0;
        'value: loop {
            self.skip_ws();
            let pos = self.pos();
            created += 1;
            if created > MAX_NODES {
                return Err(too_many_nodes(pos));
            }
            let bulk = !self.whole
                && matches!(stack.last(), Some(Frame::Map { key: Some(k), .. })
                if k.as_str().is_some_and(is_bulk_key));
            let mut node = if bulk {
                // Checked but not built: most of a `kubectl get -o json` list is bulk.
                let from = self.chars;
                self.skip_value(stack.len())?;
                scalar(String::new(), true, pos, self.since(from))
            } else {
                match self.peek() {
                    Some(b'{') => {
                        self.open(&stack)?;
                        stack.push(Frame::Map {
                            pairs: Vec::new(),
                            key: None,
                            pos,
                            start: self.chars,
                            size: 1,
                        });
                        self.bump();
                        self.skip_ws();
                        if self.peek() == Some(b'}') {
                            self.bump();
                            close(&mut stack, self.chars)
                        } else {
                            self.key(&mut stack)?;
                            // Keys are nodes too.
                            created += 1;
                            continue 'value;
                        }
                    }
                    Some(b'[') => {
                        self.open(&stack)?;
                        stack.push(Frame::Seq {
                            items: Vec::new(),
                            pos,
                            start: self.chars,
                            size: 1,
                        });
                        self.bump();
                        self.skip_ws();
                        if self.peek() == Some(b']') {
                            self.bump();
                            close(&mut stack, self.chars)
                        } else {
                            continue 'value;
                        }
                    }
                    Some(b'"') => self.string()?,
                    Some(b't' | b'f' | b'n') => self.literal()?,
                    Some(b'-' | b'0'..=b'9') => self.number()?,
                    _ => return self.err(format!("expected a JSON value, {}", self.found())),
                }
            };
            // Attach the finished node; close every container that ends right after it.
            loop {
                match stack.last_mut() {
                    None => return Ok(node),
                    Some(Frame::Seq { items, size, .. }) => {
                        *size = size.saturating_add(node.expanded);
                        items.push(node);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.bump();
                                continue 'value;
                            }
                            Some(b']') => {
                                self.bump();
                                node = close(&mut stack, self.chars);
                            }
                            _ => {
                                return self.err(format!(
                                    "expected ',' or ']' in an array, {}",
                                    self.found()
                                ))
                            }
                        }
                    }
                    Some(Frame::Map {
                        pairs, key, size, ..
                    }) => {
                        if let Some(k) = key.take() {
                            *size = size.saturating_add(node.expanded);
                            pairs.push((k, node));
                        }
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.bump();
                                self.key(&mut stack)?;
                                created += 1;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.bump();
                                node = close(&mut stack, self.chars);
                            }
                            _ => {
                                return self.err(format!(
                                    "expected ',' or '}}' in an object, {}",
                                    self.found()
                                ))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Checks one value as [`Reader::value`] would, without building it: same errors at the
    /// same positions, no allocation. `depth` is the number of containers already open.
    fn skip_value(&mut self, depth: usize) -> Result<(), TreeError> {
        // Open containers: `true` for an object.
        let mut open: Vec<bool> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(c @ (b'{' | b'[')) => {
                    if depth + open.len() >= MAX_DEPTH {
                        return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
                    }
                    let object = c == b'{';
                    self.bump();
                    self.skip_ws();
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.bump();
                    } else {
                        open.push(object);
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => self.skip_string()?,
                Some(b't' | b'f' | b'n') => self.skip_literal()?,
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                _ => return self.err(format!("expected a JSON value, {}", self.found())),
            }
            // A value ended: close what ends right after it.
            loop {
                let Some(&object) = open.last() else {
                    return Ok(());
                };
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.bump();
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    Some(b']') if !object => {
                        self.bump();
                        open.pop();
                    }
                    Some(b'}') if object => {
                        self.bump();
                        open.pop();
                    }
                    _ if object => {
                        return self.err(format!(
                            "expected ',' or '}}' in an object, {}",
                            self.found()
                        ))
                    }
                    _ => {
                        return self
                            .err(format!("expected ',' or ']' in an array, {}", self.found()))
                    }
                }
            }
        }
    }

    fn skip_key(&mut self) -> Result<(), TreeError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return self.err(format!("expected a string key, {}", self.found()));
        }
        self.skip_string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return self.err(format!("expected ':' after a key, {}", self.found()));
        }
        self.bump();
        Ok(())
    }

    fn skip_string(&mut self) -> Result<(), TreeError> {
        self.bump(); // opening quote
        loop {
            self.plain_run();
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(());
                }
                Some(b'\\') => {
                    self.bump();
                    match self.peek() {
                        None => return self.err("unterminated string"),
                        Some(b'u') => {
                            self.bump();
                            self.unicode_escape()?;
                        }
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.bump(),
                        Some(_) => {
                            self.bump();
                            return self.err("invalid escape in a string");
                        }
                    }
                }
                Some(_) => return self.err("control character in a string"),
                None => return self.err("unterminated string"),
            }
        }
    }

    fn skip_literal(&mut self) -> Result<(), TreeError> {
        for word in ["true", "false", "null"] {
            if self.s.get(self.i..self.i + word.len()) == Some(word) {
                for _ in 0..word.len() {
                    self.bump();
                }
                return Ok(());
            }
        }
        self.err(format!("expected a JSON value, {}", self.found()))
    }

    fn skip_number(&mut self) -> Result<(), TreeError> {
        let pos = self.pos();
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.bump();
        }
        let text = self.s.get(start..self.i).unwrap_or("");
        if text.parse::<f64>().is_err() {
            return Err(TreeError {
                pos,
                message: format!("invalid number {text:?}"),
            });
        }
        Ok(())
    }

    fn open(&self, stack: &[Frame]) -> Result<(), TreeError> {
        if stack.len() >= MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// `"key" :` inside an object; the value follows.
    fn key(&mut self, stack: &mut [Frame]) -> Result<(), TreeError> {
        let k = self.read_key()?;
        if let Some(Frame::Map { key, .. }) = stack.last_mut() {
            *key = Some(k);
        }
        Ok(())
    }

    /// `"key" :`, returning the key's node.
    fn read_key(&mut self) -> Result<Rc<Node>, TreeError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return self.err(format!("expected a string key, {}", self.found()));
        }
        let k = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return self.err(format!("expected ':' after a key, {}", self.found()));
        }
        self.bump();
        Ok(k)
    }

    fn string(&mut self) -> Result<Rc<Node>, TreeError> {
        let pos = self.pos();
        let from = self.chars;
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            self.plain_run();
            out.push_str(self.s.get(start..self.i).unwrap_or(""));
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(scalar(out, false, pos, self.since(from)));
                }
                Some(b'\\') => {
                    self.bump();
                    let Some(e) = self.peek() else {
                        return self.err("unterminated string");
                    };
                    self.bump();
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                        }
                        _ => return self.err("invalid escape in a string"),
                    }
                }
                Some(_) => return self.err("control character in a string"),
                None => return self.err("unterminated string"),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, TreeError> {
        let h = self.s.get(self.i..self.i + 4).unwrap_or("");
        let v = u32::from_str_radix(h, 16).ok().filter(|_| h.len() == 4);
        let Some(v) = v else {
            return self.err("invalid \\u escape");
        };
        for _ in 0..4 {
            self.bump();
        }
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, TreeError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s.get(self.i..self.i + 2) == Some("\\u") {
            self.bump();
            self.bump();
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }

    fn literal(&mut self) -> Result<Rc<Node>, TreeError> {
        let pos = self.pos();
        let from = self.chars;
        for word in ["true", "false", "null"] {
            if self.s.get(self.i..self.i + word.len()) == Some(word) {
                for _ in 0..word.len() {
                    self.bump();
                }
                return Ok(scalar(word.to_string(), true, pos, self.since(from)));
            }
        }
        self.err(format!("expected a JSON value, {}", self.found()))
    }

    fn number(&mut self) -> Result<Rc<Node>, TreeError> {
        let pos = self.pos();
        let from = self.chars;
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.bump();
        }
        let text = self.s.get(start..self.i).unwrap_or("");
        if text.parse::<f64>().is_err() {
            return Err(TreeError {
                pos,
                message: format!("invalid number {text:?}"),
            });
        }
        Ok(scalar(text.to_string(), true, pos, self.since(from)))
    }

    fn since(&self, start: usize) -> Span {
        Span {
            start,
            end: self.chars,
        }
    }
}

fn scalar(text: String, plain: bool, pos: Pos, span: Span) -> Rc<Node> {
    Rc::new(Node {
        kind: Kind::Scalar { text, plain },
        pos,
        span,
        expanded: 1,
    })
}

/// The innermost container, ending at `end` (just past its closing bracket).
fn close(stack: &mut Vec<Frame>, end: usize) -> Rc<Node> {
    let (kind, pos, start, size) = match stack.pop() {
        Some(Frame::Seq {
            items,
            pos,
            start,
            size,
        }) => (Kind::Seq(items), pos, start, size),
        Some(Frame::Map {
            pairs,
            pos,
            start,
            size,
            ..
        }) => (Kind::Map(pairs), pos, start, size),
        None => (Kind::Seq(Vec::new()), Pos::default(), end, 1),
    };
    Rc::new(Node {
        kind,
        pos,
        span: Span { start, end },
        expanded: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tree;

    /// Same positions and values as the YAML parser gives for the same JSON.
    fn shape(n: &Node, out: &mut Vec<String>) {
        let p = format!("{}:{}", n.pos.line, n.pos.col);
        match &n.kind {
            Kind::Scalar { text, .. } => out.push(format!("{p} {text}")),
            Kind::Seq(items) => {
                out.push(format!("{p} ["));
                items.iter().for_each(|i| shape(i, out));
            }
            Kind::Map(pairs) => {
                out.push(format!("{p} {{"));
                for (k, v) in pairs {
                    shape(k, out);
                    shape(v, out);
                }
            }
        }
    }

    #[test]
    fn spans_match_the_yaml_parser() {
        let text = "{\"é\": [\"A\", 1, true],\n \"b\": {\"c\": null}}";
        let j = documents(text).next().unwrap().unwrap().root;
        let y = super::super::tree::documents(text)
            .next()
            .unwrap()
            .unwrap()
            .root;
        for key in ["é", "b"] {
            assert_eq!(j.get(key).unwrap().span, y.get(key).unwrap().span, "{key}");
        }
        assert_eq!(
            j.get("é").unwrap().items()[2].span,
            y.get("é").unwrap().items()[2].span
        );
        assert_eq!(j.span, y.span);
    }

    #[test]
    fn positions_match_the_yaml_parser() {
        let text = "[\n  {\"Id\": \"x\", \"n\": -1.5e3, \"ok\": true,\n   \"caps\": [\"CAP_NET_RAW\", null], \"é\": \"\\u00e9\"},\n  {}, []\n]\n";
        let mut a = Vec::new();
        shape(&documents(text).next().unwrap().unwrap().root, &mut a);
        let mut b = Vec::new();
        shape(&tree::documents(text).next().unwrap().unwrap().root, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn bulk_values_are_dropped_but_still_checked() {
        let d = documents("{\"status\": {\"a\": [1, 2]}, \"spec\": {\"x\": 1}}")
            .next()
            .unwrap()
            .unwrap();
        assert!(d.root.get("status").unwrap().is_null());
        assert_eq!(d.root.path(&["spec", "x"]).unwrap().as_str(), Some("1"));
        let e = documents("{\"status\": {\"a\": [1 2]}}").next().unwrap();
        assert!(e.is_err());
    }

    /// A bulk value is skipped, not built, yet fails exactly where a built one would.
    #[test]
    fn skipped_values_fail_like_built_ones() {
        let cases = [
            "{\"a\": 1,}",
            "[1 2]",
            "{\"a\" 1}",
            "[\"x\n\"]",
            "[tru]",
            "[1.2.3]",
            "[\"\\q\"]",
            "[\"\\u12\"]",
            "{\"é\": [\n  2",
            "[{}, [], {\"a\": [1, {\"b\": null}]}, ]",
            "\"unterminated",
        ];
        for case in cases {
            let built = documents(&format!("{{\"spec\": {case}}}")).next().unwrap();
            let skipped = documents(&format!("{{\"data\": {case}}}")).next().unwrap();
            let (b, s) = (built.err().unwrap(), skipped.err().unwrap());
            assert_eq!((b.pos, &b.message), (s.pos, &s.message), "{case}");
        }
        let deep = |key: &str| {
            let text = format!("{{\"{key}\": {}}}", "[".repeat(200));
            documents(&text).next().unwrap().err().unwrap()
        };
        let (b, s) = (deep("spec"), deep("data"));
        assert!(s.message.contains("nesting deeper than"), "{s:?}");
        assert_eq!((b.pos, b.message), (s.pos, s.message));
        let ok = "{\"status\": {\"a\": [1, -2.5e3, true, false, null, \"\\u00e9\\n\", {}]}, \"x\": \"é\"}";
        let d = documents(ok).next().unwrap().unwrap();
        let y = tree::documents(ok).next().unwrap().unwrap();
        assert_eq!(d.root.get("x").unwrap().span, y.root.get("x").unwrap().span);
        assert_eq!(d.root.get("x").unwrap().pos, y.root.get("x").unwrap().pos);
        assert_eq!(
            d.root.get("status").unwrap().span.end,
            y.root.get("status").unwrap().span.end
        );
    }

    #[test]
    fn surrogate_pairs_decode() {
        let d = documents("[\"\\ud83d\\ude00\"]").next().unwrap().unwrap();
        assert_eq!(d.root.items()[0].as_str(), Some("\u{1f600}"));
    }

    #[test]
    fn several_values_are_several_documents() {
        let docs: Vec<_> = documents("[1]\n[2] {\"a\": 3}")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(docs.len(), 3);
    }

    #[test]
    fn errors_have_positions() {
        let cases = [
            ("{\"a\": 1,}", 1, 9, "expected a string key"),
            ("[1 2]", 1, 4, "expected ',' or ']'"),
            ("{\"a\" 1}", 1, 6, "expected ':'"),
            ("[\"x\n\"]", 1, 4, "control character"),
            ("[tru]", 1, 2, "expected a JSON value"),
            ("[1.2.3]", 1, 2, "invalid number"),
            ("{\"a\": [1,\n  2", 2, 4, "expected ',' or ']'"),
        ];
        for (text, line, col, msg) in cases {
            let e = documents(text).next().unwrap().err().unwrap();
            assert_eq!((e.pos.line, e.pos.col), (line, col), "{text}: {e:?}");
            assert!(e.message.contains(msg), "{text}: {e:?}");
        }
    }

    #[test]
    fn node_count_is_limited() {
        let n = MAX_NODES as usize + 10;
        let text = format!("[{}1]", "1,".repeat(n));
        let e = documents(&text).next().unwrap().err().unwrap();
        assert!(e.message.contains("nodes"), "{e:?}");
    }

    #[test]
    fn depth_is_limited() {
        let text = "[".repeat(10_000);
        let e = documents(&text).next().unwrap().err().unwrap();
        assert!(e.message.contains("nesting deeper than"));
        assert_eq!(e.pos.col, MAX_DEPTH as u32 + 1);
    }
}
