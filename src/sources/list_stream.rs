//! `kubectl get ... -o json` of a whole cluster, read one item at a time.
//!
//! Why: a 50,000-pod `kubectl get pods -A -o json` is about 550 MB of pretty-printed JSON.
//! Holding it (or its tree) would take gigabytes, and the file size limit would refuse it. Its
//! shape is always the same, `{"apiVersion": "v1", "items": [ ... ], "kind": "List", ...}`, so
//! when an input starts that way, each item is cut out of the stream ([`Splitter`]), parsed
//! alone by the JSON reader at its real position, audited, and dropped. Memory is one item
//! plus the workloads found; positions, errors and findings are exactly those of reading the
//! whole text.
//!
//! Anything else (YAML, an array, an object whose first keys are not scalars followed by
//! `items`) is read whole as before: [`open`] hands back everything it looked at.

use super::tree::Pos;
use super::{json, Ctx, DocKind, Loaded, SourceError, MAX_FILE_BYTES};
use std::io::Read;
use std::path::Path;

/// How far into an input the `items` key is looked for: kubectl prints it second.
const PREFIX_LOOKAHEAD: usize = 64 * 1024;

const OTHER: u8 = 0;
const QUOTE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE: u8 = 3;
const SEPARATOR: u8 = 4;

/// What each byte means to the item splitter outside strings.
const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    t[b'"' as usize] = QUOTE;
    t[b'{' as usize] = OPEN;
    t[b'[' as usize] = OPEN;
    t[b'}' as usize] = CLOSE;
    t[b']' as usize] = CLOSE;
    t[b',' as usize] = SEPARATOR;
    t[b' ' as usize] = SEPARATOR;
    t[b'\t' as usize] = SEPARATOR;
    t[b'\r' as usize] = SEPARATOR;
    t[b'\n' as usize] = SEPARATOR;
    t
};

/// Bytes read from the input at a time once the list streams.
const CHUNK: usize = 256 * 1024;

/// What [`open`] found at the start of an input.
pub enum Opened<R> {
    /// A List: stream it with [`read_items`].
    List(Splitter<R>),
    /// Anything else: these bytes were read, and `rest` holds the remainder.
    Whole { head: Vec<u8>, rest: R },
}

/// Looks at the start of `reader` for `{ "k": scalar, ..., "items": [`.
pub fn open<R: Read>(mut reader: R) -> std::io::Result<Opened<R>> {
    let mut head = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        match list_start(&head) {
            Start::Items(at, kind) => {
                // A byte order mark is not part of the text (the whole-text path strips it).
                let bom = if head.starts_with("\u{feff}".as_bytes()) {
                    3
                } else {
                    0
                };
                let mut s = Splitter {
                    r: reader,
                    end: head.len(),
                    buf: head,
                    i: bom,
                    eof: false,
                    at: Cursor::start(),
                    kind,
                };
                s.advance(at - bom);
                return Ok(Opened::List(s));
            }
            Start::No => break,
            Start::NeedMore if head.len() >= PREFIX_LOOKAHEAD => break,
            Start::NeedMore => {}
        }
        let n = read_some(&mut reader, &mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(Opened::Whole { head, rest: reader })
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

enum Start {
    /// The `[` of `items` ends at this byte offset.
    /// The `[` of `items` ends at this byte offset; `kind` came before it (`jq -S` order).
    Items(usize, Option<String>),
    No,
    NeedMore,
}

/// Recognises the List prefix without building anything: scalar members, then `"items": [`.
fn list_start(b: &[u8]) -> Start {
    let mut i = 0;
    let ws = |i: &mut usize| {
        while matches!(b.get(*i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            *i += 1;
        }
    };
    if b.starts_with("\u{feff}".as_bytes()) {
        i = 3;
    }
    ws(&mut i);
    match b.get(i) {
        None => return Start::NeedMore,
        Some(b'{') => i += 1,
        Some(_) => return Start::No,
    }
    let mut api_version = false;
    let mut kind = None;
    for _ in 0..16 {
        ws(&mut i);
        let Some(key) = string_at(b, &mut i) else {
            return if i >= b.len() {
                Start::NeedMore
            } else {
                Start::No
            };
        };
        ws(&mut i);
        match b.get(i) {
            None => return Start::NeedMore,
            Some(b':') => i += 1,
            Some(_) => return Start::No,
        }
        ws(&mut i);
        if key == b"items" {
            // Streamed only what the whole-text path would read as a List: `apiVersion`, and
            // a `kind` ending in `List` (checked after the items when it comes later).
            let is_list = kind.as_deref().is_none_or(|k: &str| k.ends_with("List"));
            return match b.get(i) {
                None => Start::NeedMore,
                Some(b'[') if api_version && is_list => Start::Items(i + 1, kind),
                Some(_) => Start::No,
            };
        }
        api_version |= key == b"apiVersion";
        // Only strings, numbers and literals may come before `items`.
        match b.get(i) {
            None => return Start::NeedMore,
            Some(b'"') => {
                let Some(value) = string_at(b, &mut i) else {
                    return if i >= b.len() {
                        Start::NeedMore
                    } else {
                        Start::No
                    };
                };
                if key == b"kind" {
                    // Escapes are not decoded: a kind that needs them is no List kubectl
                    // wrote, and is read whole.
                    if value.contains(&b'\\') {
                        return Start::No;
                    }
                    kind = Some(String::from_utf8_lossy(value).into_owned());
                }
            }
            Some(_) if key == b"kind" => return Start::No,
            Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || b".+-".contains(c))
                {
                    i += 1;
                }
            }
            Some(_) => return Start::No,
        }
        ws(&mut i);
        match b.get(i) {
            None => return Start::NeedMore,
            Some(b',') => i += 1,
            Some(_) => return Start::No,
        }
    }
    Start::No
}

/// The raw bytes of a JSON string starting at `b[*i]` (its quote); `None` when it is not a
/// string or is cut off (then `*i` is past the end).
fn string_at<'b>(b: &'b [u8], i: &mut usize) -> Option<&'b [u8]> {
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    let start = *i + 1;
    let mut j = start;
    loop {
        match b.get(j) {
            None => {
                *i = b.len();
                return None;
            }
            Some(b'"') => {
                *i = j + 1;
                return b.get(start..j);
            }
            Some(b'\\') => j += 2,
            Some(_) => j += 1,
        }
    }
}

/// Cuts the items of a List out of a stream, keeping the position of each.
pub struct Splitter<R> {
    r: R,
    buf: Vec<u8>,
    /// Bytes of `buf` that hold input.
    end: usize,
    /// Bytes of `buf` already consumed.
    i: usize,
    eof: bool,
    /// Position of `buf[i]` in the whole input.
    at: Cursor,
    /// The List's `kind` when it came before `items`.
    kind: Option<String>,
}

/// One item of the list: its text and where it starts.
pub struct Item {
    pub bytes: Vec<u8>,
    pub pos: Pos,
    pub chars: usize,
    /// For an empty item: what stands where the value should be.
    found: String,
}

impl<R: Read> Splitter<R> {
    fn advance(&mut self, n: usize) {
        let end = (self.i + n).min(self.end);
        for &c in self.buf.get(self.i..end).unwrap_or(&[]) {
            self.at.step(c);
        }
        self.i = end;
    }

    /// Puts the cursor where the reader ended an item: the item's bytes were consumed
    /// without counting them.
    fn skip_to(&mut self, pos: Pos, chars: usize) {
        self.at = Cursor {
            pos,
            chars,
            after_cr: false,
        };
    }

    /// Makes at least one more unconsumed byte available; false at the end of the input.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.i < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        if self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        let n = read_some(&mut self.r, &mut self.buf)?;
        self.i = 0;
        self.end = n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(if self.fill()? {
            self.buf.get(self.i).copied()
        } else {
            None
        })
    }

    fn skip_ws(&mut self) -> std::io::Result<()> {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek()? {
            self.advance(1);
        }
        Ok(())
    }

    /// The next item, `None` after the closing `]`. An error is positioned where the list
    /// stops being well formed.
    fn next_item(&mut self, first: bool) -> Result<Option<Item>, Cut> {
        self.skip_ws()?;
        match self.peek()? {
            Some(b']') => {
                self.advance(1);
                return Ok(None);
            }
            Some(b',') if !first => {
                self.advance(1);
                self.skip_ws()?;
            }
            _ if first => {}
            Some(c) => {
                return Err(Cut::Syntax(
                    self.at.pos,
                    format!("expected ',' or ']' in an array, found {:?}", c as char),
                ))
            }
            None => {
                return Err(Cut::Syntax(
                    self.at.pos,
                    "expected ',' or ']' in an array, found the end of the input".into(),
                ))
            }
        }
        let (pos, chars) = (self.at.pos, self.at.chars);
        let mut bytes = Vec::new();
        // Bracket depth and string state: enough to find the item's end. The JSON reader
        // checks everything else when it parses the item, and its end position moves the
        // cursor past the item (see [`Splitter::skip_to`]), so item bytes are not counted here.
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            if !self.fill()? {
                // The reader reports what is cut off, at its real position.
                break;
            }
            let chunk = self.buf.get(self.i..self.end).unwrap_or(&[]);
            let mut end = None;
            let mut k = 0;
            while k < chunk.len() {
                if in_string && escaped {
                    escaped = false;
                    k += 1;
                    continue;
                }
                if in_string {
                    // Most item bytes are string content: jump to the next quote or escape.
                    match memchr::memchr2(b'"', b'\\', &chunk[k..]) {
                        None => break,
                        Some(at) => k += at,
                    }
                    if chunk[k] == b'\\' {
                        // The escaped byte is skipped next, in this chunk or the next one.
                        escaped = true;
                    } else {
                        in_string = false;
                    }
                    k += 1;
                    continue;
                }
                let c = chunk[k];
                match CLASS[usize::from(c)] {
                    QUOTE => in_string = true,
                    OPEN => depth += 1,
                    CLOSE if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(k + 1);
                            break;
                        }
                    }
                    // A scalar item ends at a separator, a bracket or white space.
                    CLOSE | SEPARATOR if depth == 0 => {
                        end = Some(k);
                        break;
                    }
                    _ => {}
                }
                k += 1;
            }
            let take = end.unwrap_or(chunk.len());
            if (bytes.len() + take) as u64 > MAX_FILE_BYTES {
                return Err(Cut::Syntax(
                    pos,
                    format!(
                        "a List item larger than {} MiB; dropcap refuses it",
                        MAX_FILE_BYTES / 1048576
                    ),
                ));
            }
            bytes.extend_from_slice(chunk.get(..take).unwrap_or(&[]));
            self.i += take;
            if end.is_some() {
                break;
            }
        }
        let found = match self.peek()? {
            _ if !bytes.is_empty() => String::new(),
            Some(c) => format!("expected a JSON value, found {:?}", c as char),
            None => "expected a JSON value, found the end of the input".to_string(),
        };
        Ok(Some(Item {
            bytes,
            pos,
            chars,
            found,
        }))
    }

    /// Everything after the list's `]`, for the reader to check (`"kind": "List", ...}`).
    fn rest(&mut self) -> Result<Vec<u8>, Cut> {
        let mut out = self.buf.get(self.i..self.end).unwrap_or(&[]).to_vec();
        self.i = self.end;
        let room = MAX_FILE_BYTES.saturating_sub(out.len() as u64);
        (&mut self.r).take(room + 1).read_to_end(&mut out)?;
        if out.len() as u64 > MAX_FILE_BYTES {
            return Err(Cut::Syntax(
                self.at.pos,
                "more than 64 MiB after the List's items; dropcap refuses it".into(),
            ));
        }
        Ok(out)
    }
}

/// A position in the whole input, moved byte by byte as the readers count: LF, CRLF and a
/// lone CR each end a line; columns and `chars` count characters (UTF-8 lead bytes).
#[derive(Debug, Clone, Copy)]
struct Cursor {
    pos: Pos,
    chars: usize,
    /// The last byte was a CR: an LF right after it ends no second line.
    after_cr: bool,
}

impl Cursor {
    fn start() -> Cursor {
        Cursor {
            pos: Pos { line: 1, col: 1 },
            chars: 0,
            after_cr: false,
        }
    }

    fn step(&mut self, c: u8) {
        let lf_of_crlf = c == b'\n' && self.after_cr;
        self.after_cr = c == b'\r';
        if c & 0xC0 == 0x80 {
            return;
        }
        self.chars += 1;
        if c == b'\r' || (c == b'\n' && !lf_of_crlf) {
            self.pos.line = self.pos.line.saturating_add(1);
            self.pos.col = 1;
        } else if c != b'\n' {
            self.pos.col = self.pos.col.saturating_add(1);
        }
    }
}

/// Why the list could not be read to its end.
enum Cut {
    Io(std::io::Error),
    Syntax(Pos, String),
}

impl From<std::io::Error> for Cut {
    fn from(e: std::io::Error) -> Cut {
        Cut::Io(e)
    }
}

/// Audits every item of the list as a Kubernetes object, then checks the rest of the input.
/// `each` sees each item's workloads as they are added (for progress).
pub fn read_items<R: Read>(name: &Path, mut s: Splitter<R>, each: &mut dyn FnMut(usize)) -> Loaded {
    let ctx = Ctx::new(name, "");
    let mut out = Loaded::default();
    out.kinds.push(DocKind::Kubernetes);
    let mut first = true;
    let mut items = 0usize;
    loop {
        let item = match s.next_item(first) {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(cut) => {
                push_cut(&mut out, name, cut);
                return out;
            }
        };
        first = false;
        let text = match std::str::from_utf8(&item.bytes) {
            Ok(t) => t,
            Err(e) => {
                let pos = offset_pos(item.pos, item.bytes.get(..e.valid_up_to()).unwrap_or(&[]));
                out.errors.push(SourceError::at(name, pos, "invalid UTF-8"));
                return out;
            }
        };
        let mut docs = json::documents_at(text, item.pos, item.chars);
        let root = match docs.next() {
            Some(Ok(doc)) => {
                let (end, end_chars) = docs.end();
                s.skip_to(end, end_chars);
                doc.root
            }
            Some(Err(e)) => {
                out.errors.push(SourceError::at(name, e.pos, e.message));
                return out;
            }
            None => {
                out.errors.push(SourceError::at(name, item.pos, item.found));
                return out;
            }
        };
        super::kubernetes::list_item(&ctx, &root, &mut out);
        if let Some(pos) = ctx.refused_at() {
            out.errors.push(SourceError::at(
                name,
                pos,
                format!(
                    "{}; dropcap refuses the rest of the file",
                    ctx.refused_reason()
                ),
            ));
            return out;
        }
        items += 1;
        each(items);
    }
    // `, "kind": "List", "metadata": {...} }` and anything after: checked by the JSON reader,
    // as the members of an object that already had `items`.
    let (pos, chars) = (s.at.pos, s.at.chars);
    let rest = match s.rest() {
        Ok(r) => r,
        Err(cut) => {
            push_cut(&mut out, name, cut);
            return out;
        }
    };
    let text = match std::str::from_utf8(&rest) {
        Ok(t) => t,
        Err(e) => {
            let pos = offset_pos(pos, rest.get(..e.valid_up_to()).unwrap_or(&[]));
            out.errors.push(SourceError::at(name, pos, "invalid UTF-8"));
            return out;
        }
    };
    match json::rest_of_object(text, pos, chars) {
        Ok((_, rest)) if rest.items_again => out.errors.push(SourceError::at(
            name,
            rest.items_at,
            "duplicate key 'items' in a List (kubectl never writes one); dropcap refuses it",
        )),
        // Documents after the List (several JSON values in one input) are audited too.
        Ok((docs, rest)) => {
            let kind = rest.kind.or(s.kind);
            if !kind.as_deref().is_some_and(|k| k.ends_with("List")) {
                // Not a List after all: the whole-text path reads no items of it either.
                let why = match kind {
                    Some(k) => format!("kind {k} is not a List"),
                    None => "no kind".to_string(),
                };
                out.workloads.clear();
                out.kinds = vec![DocKind::Unknown];
                out.skipped.push(format!(
                    "{}: skipped: an object with items but {why}",
                    name.display()
                ));
            }
            for doc in docs {
                match doc {
                    Ok(doc) => {
                        if !super::dispatch(&ctx, &doc, None, &mut out, &mut |_, _| {}) {
                            break;
                        }
                    }
                    Err(e) => {
                        out.errors.push(SourceError::at(name, e.pos, e.message));
                        break;
                    }
                }
            }
        }
        Err(e) => out.errors.push(SourceError::at(name, e.pos, e.message)),
    }
    out
}

fn push_cut(out: &mut Loaded, name: &Path, cut: Cut) {
    out.errors.push(match cut {
        Cut::Io(e) => SourceError::file(name, super::io_reason(&e)),
        Cut::Syntax(pos, m) => SourceError::at(name, pos, m),
    });
}

/// The position after `bytes`, which start at `start`.
fn offset_pos(start: Pos, bytes: &[u8]) -> Pos {
    let mut at = Cursor {
        pos: start,
        ..Cursor::start()
    };
    bytes.iter().for_each(|&c| at.step(c));
    at.pos
}

#[cfg(test)]
mod tests {
    use super::super::{load_reader, load_text, Loaded};
    use std::path::Path;

    fn pod(name: &str, caps: &str) -> String {
        format!(
            "{{\n        \"apiVersion\": \"v1\",\n        \"kind\": \"Pod\",\n        \"metadata\": {{\"name\": \"{name}\", \"namespace\": \"ns\", \"annotations\": {{\"dropcap.io/ignore\": \"DC009 ok\"}}}},\n        \"spec\": {{\"containers\": [{{\"name\": \"c\", \"image\": \"é:1\", \"securityContext\": {{\"capabilities\": {{\"add\": [{caps}]}}}}, \"env\": [{{\"name\": \"A\"}}]}}]}},\n        \"status\": {{\"phase\": \"Running\", \"x\": [1, 2.5, true, null, \"\\u00e9\"]}}\n    }}"
        )
    }

    fn list(items: &[String]) -> String {
        format!(
            "{{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n    {}\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {{\"resourceVersion\": \"\"}}\n}}\n",
            items.join(",\n    ")
        )
    }

    /// What an audit sees of a load: every workload and error, positions included.
    fn seen(l: &Loaded) -> (String, Vec<String>) {
        (
            format!("{:?}", l.workloads),
            l.errors.iter().map(|e| e.to_string()).collect(),
        )
    }

    /// Streams through a reader that hands out a few bytes at a time, so items and even
    /// characters are cut at every possible place.
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn both(text: &str) -> ((String, Vec<String>), (String, Vec<String>)) {
        let name = Path::new("l.json");
        let whole = seen(&load_text(
            name,
            text.strip_prefix('\u{feff}').unwrap_or(text),
        ));
        let streamed = seen(&load_reader(name, Trickle(text.as_bytes(), 7)));
        (whole, streamed)
    }

    #[test]
    fn streamed_lists_read_like_whole_ones() {
        let good = list(&[
            pod("a", "\"NET_ADMIN\""),
            pod("b", "\"SYS_ADMIN\", \"BOGUS\""),
            pod("c", ""),
        ]);
        let variants = [
            good.clone(),
            good.replace('\n', "\r\n"),
            format!("\u{feff}{good}"),
            good.replace("\n", ""),
            format!("{good}{{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"name\": \"after\"}}, \"spec\": {{\"containers\": [{{\"name\": \"d\", \"image\": \"x\"}}]}}}}"),
        ];
        for text in &variants {
            let (whole, streamed) = both(text);
            assert!(whole.0.contains("NET_ADMIN"), "{text}");
            assert_eq!(whole, streamed, "{text}");
        }
        // Not a List after all: no items are audited, as when read whole.
        for text in [
            good.replace("\"kind\": \"List\"", "\"kind\": \"Pod\""),
            good.replace("\"kind\": \"List\",", ""),
        ] {
            let (whole, streamed) = both(&text);
            assert_eq!(whole, streamed, "{text}");
            assert_eq!(streamed.0, "[]");
        }
        let twice = good.replace("\"kind\": \"List\"", "\"items\": [], \"kind\": \"List\"");
        let l = load_reader(Path::new("l.json"), twice.as_bytes());
        assert!(
            l.errors[0].message.contains("duplicate key 'items'"),
            "{:?}",
            l.errors
        );
        // Lone CRs end lines too.
        let (whole, streamed) = both(&good.replace('\n', "\r"));
        assert_eq!(whole, streamed);
    }

    #[test]
    fn streamed_errors_are_where_whole_reading_puts_them() {
        // Over 1 MiB, so the whole-text path does not retry broken JSON as YAML (which accepts
        // some of these); the streamed path never does.
        let pad = pod("pad", "").replace("\"Running\"", &format!("\"{}\"", "a".repeat(1 << 20)));
        let good = list(&[pod("a", "\"NET_ADMIN\""), pod("b", "\"NET_RAW\""), pad]);
        let broken = [
            good.replacen("\"Running\"", "\"Run\nning\"", 1),
            good.replacen("2.5", "2.5.1", 2),
            good.replacen("\"kind\": \"List\"", "\"kind\" \"List\"", 1),
            good.replacen("    },\n    {", "    }\n    {", 1),
            good.replacen("    }\n    ],", "    },\n    ],", 1),
            good[..good.len() / 2].to_string(),
            good[..good.len() - 3].to_string(),
            format!("{good} x"),
        ];
        for text in &broken {
            let name = Path::new("l.json");
            let whole = load_text(name, text);
            let streamed = load_reader(name, Trickle(text.as_bytes(), 7));
            assert_eq!(whole.errors.len(), 1, "{text}");
            assert_eq!(seen(&whole).1, seen(&streamed).1, "{text}");
            // The whole text is one document, lost with its error; streamed, the items read
            // before the error are kept (as documents before an error are).
            let bad_line = whole.errors[0].line.unwrap();
            assert!(streamed
                .workloads
                .iter()
                .all(|w| w.location.as_ref().unwrap().line < bad_line));
        }
    }

    #[test]
    fn only_lists_stream() {
        // `metadata` (an object) before `items`: read whole, same result.
        let text = "{\"metadata\": {}, \"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": []}";
        assert!(matches!(
            super::list_start(text.as_bytes()),
            super::Start::No
        ));
        assert!(matches!(
            super::list_start(b"{\"apiVersion\": \"v1\", \"items\": ["),
            super::Start::Items(31, None)
        ));
        assert!(matches!(
            super::list_start(b"{\"apiVersion\": \"v"),
            super::Start::NeedMore
        ));
        assert!(matches!(
            super::list_start(b"[{\"a\": 1}]"),
            super::Start::No
        ));
        assert!(matches!(super::list_start(b"a: {}"), super::Start::No));
        // No apiVersion, or a kind that is no List: not a List to stream.
        assert!(matches!(
            super::list_start(b"{\"items\": ["),
            super::Start::No
        ));
        assert!(matches!(
            super::list_start(b"{\"apiVersion\": 1, \"kind\": \"Pod\", \"items\": ["),
            super::Start::No
        ));
    }
}
