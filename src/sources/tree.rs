//! A small YAML/JSON document tree that remembers where every node was written.
//!
//! Why not a serde model: findings must point at the exact `NET_RAW` item or `privileged: true`
//! key, and serde-based YAML crates only give spans through wrapper types on a fixed schema,
//! while compose and Kubernetes files are read loosely (unknown keys, anchors, merge keys).
//! saphyr-parser gives a marker for every event; this module turns those events into a tree.
//!
//! JSON gets the same tree from [`super::json`] (saphyr's scanner buffers flow content far
//! ahead, so large JSON would cost many times its size there).
//!
//! Resource limits, because inputs may be hostile (a manifest from a pull request):
//! - aliases are shared (`Rc`), never copied, so an alias bomb costs no memory while it is
//!   built; its *expanded* size is still counted per node, and a document whose expansion
//!   exceeds [`MAX_EXPANDED`] nodes is refused, so no later walk over it can explode;
//! - nesting deeper than [`MAX_DEPTH`] is refused (the tree is dropped recursively);
//! - an anchor is registered only once its node is complete, so aliases cannot form cycles.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;
use std::rc::Rc;

/// Deeper than any real manifest (a CronJob's container capability is 12 levels down).
pub const MAX_DEPTH: usize = 128;
/// Expanded node count per document; a large `kubectl get -o yaml` document stays far below.
pub const MAX_EXPANDED: u64 = 5_000_000;
/// Nodes built per document, including those dropped right away (see [`is_bulk_key`]): bounds
/// memory when a file is nothing but tiny nodes (`[1,1,1,...]`). A node of such a list costs
/// about 150 bytes (measured: a list of 1,000,000 one-character items grows the heap by
/// 150 MB), so a document stays under about 450 MB plus its text. A `kubectl get -o json`
/// list of 4,000 pods with full status stays below it.
pub const MAX_NODES: u64 = 3_000_000;
/// Scalar bytes per document once every alias is expanded: no more than a file may hold
/// ([`super::MAX_FILE_BYTES`]). Counting nodes alone let one 1 MiB string aliased by 400
/// services pass as 800 nodes and then cost 2 GiB of findings and output.
pub const MAX_EXPANDED_BYTES: u64 = super::MAX_FILE_BYTES;

/// The error for a document with more than [`MAX_NODES`] nodes.
pub fn too_many_nodes(pos: Pos) -> TreeError {
    TreeError {
        pos,
        message: format!(
            "document has more than {MAX_NODES} nodes; dropcap refuses it (split the file)"
        ),
    }
}

/// 1-based line and column (in characters), as editors and SARIF count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Where a node was written, as character offsets from the start of the text (saphyr-parser
/// counts characters, not bytes): `start` is the node's first character (its anchor or opening
/// quote/bracket included), `end` is one past its last (a flow collection's closing bracket; a
/// block collection's last child). `dropcap fix` splices the text at these offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug)]
pub enum Kind {
    Scalar { text: String, plain: bool },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

#[derive(Debug)]
pub struct Node {
    pub kind: Kind,
    pub pos: Pos,
    pub span: Span,
    /// Nodes this one stands for once every alias below it is expanded.
    pub expanded: u64,
}

/// A parse failure with the parser's own reason and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The scalar as text unless it is YAML's null.
    pub fn as_text(&self) -> Option<&str> {
        if self.is_null() {
            None
        } else {
            self.as_str()
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// YAML 1.2 booleans; quoted `"true"` is accepted too, since compose's own loader does.
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Rc<Node>] {
        match &self.kind {
            Kind::Seq(v) => v,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }
    pub fn is_seq(&self) -> bool {
        matches!(self.kind, Kind::Seq(_))
    }

    /// Key/value pairs with merge keys (`<<: *base`, `<<: [*a, *b]`) applied: the map's own
    /// keys win, then earlier merged maps win over later ones, like YAML 1.1's merge spec and
    /// every compose implementation. A repeated key keeps its last value.
    pub fn entries(&self) -> Vec<(&Node, &Node)> {
        let mut out: Vec<(&Node, &Node)> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        self.collect_entries(&mut out, &mut seen, 0);
        out
    }

    fn collect_entries<'a>(
        &'a self,
        out: &mut Vec<(&'a Node, &'a Node)>,
        seen: &mut HashMap<&'a str, usize>,
        depth: usize,
    ) {
        let Kind::Map(pairs) = &self.kind else {
            return;
        };
        // Keys already present came from a map that wins over this one.
        let mut own: HashMap<&'a str, usize> = HashMap::new();
        let mut merges: Vec<&Node> = Vec::new();
        for (k, v) in pairs {
            if k.is_merge_key() {
                merges.push(v);
                continue;
            }
            let key = k.as_str().unwrap_or("");
            if let Some(&i) = own.get(key) {
                out[i] = (k, v);
            } else if !seen.contains_key(key) {
                own.insert(key, out.len());
                seen.insert(key, out.len());
                out.push((k, v));
            }
        }
        if depth >= MAX_DEPTH {
            return;
        }
        for m in merges {
            if m.is_seq() {
                for src in m.items() {
                    src.collect_entries(out, seen, depth + 1);
                }
            } else {
                m.collect_entries(out, seen, depth + 1);
            }
        }
    }

    pub fn is_merge_key(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true } if text == "<<")
    }

    /// The value and key of `key`, honouring merge keys.
    pub fn get_entry(&self, key: &str) -> Option<(&Node, &Node)> {
        let Kind::Map(pairs) = &self.kind else {
            return None;
        };
        if let Some((k, v)) = pairs
            .iter()
            .rev()
            .find(|(k, _)| !k.is_merge_key() && k.as_str() == Some(key))
        {
            return Some((k, v));
        }
        if !pairs.iter().any(|(k, _)| k.is_merge_key()) {
            return None;
        }
        self.entries()
            .into_iter()
            .find(|(k, _)| k.as_str() == Some(key))
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, v)| v)
    }

    /// `a.b.c` lookups through nested maps.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }
}

/// Keys whose values no source reads and which make up most of `kubectl get -o json|yaml` and
/// `docker inspect` output. Their subtrees are parsed (so syntax errors are still reported)
/// but replaced by a null as soon as they are complete, so a 40 MB list is held at a fraction
/// of its size. A YAML subtree that defines an anchor is kept: an alias elsewhere may use it.
pub fn is_bulk_key(key: &str) -> bool {
    matches!(
        key,
        "status"
            | "managedFields"
            | "env"
            | "envFrom"
            | "volumeMounts"
            | "volumes"
            | "volumeDevices"
            | "livenessProbe"
            | "readinessProbe"
            | "startupProbe"
            | "lifecycle"
            | "resources"
            | "affinity"
            | "tolerations"
            | "topologySpreadConstraints"
            | "data"
            | "binaryData"
            | "Env"
            | "GraphDriver"
            | "NetworkSettings"
            | "Mounts"
    )
}

/// One document of a stream: the root node and where the document starts.
pub struct Doc {
    pub root: Rc<Node>,
}

enum Frame {
    Seq {
        items: Vec<Rc<Node>>,
        pos: Pos,
        span: Span,
        anchor: usize,
        size: u64,
        /// Scalar bytes below, aliases expanded (see [`MAX_EXPANDED_BYTES`]).
        bytes: u64,
        /// An anchor is defined somewhere inside: the subtree must be kept.
        anchored: bool,
    },
    Map {
        pairs: Vec<(Rc<Node>, Rc<Node>)>,
        key: Option<Rc<Node>>,
        pos: Pos,
        span: Span,
        anchor: usize,
        size: u64,
        bytes: u64,
        anchored: bool,
    },
}

/// Streams documents one at a time, so a long multi-document file is never held as a whole
/// tree. After an error the iterator ends: the parser cannot resynchronise.
pub struct Docs<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Each anchor's node with its expanded scalar bytes.
    anchors: HashMap<usize, (Rc<Node>, u64)>,
    done: bool,
    /// Keep the values of [`is_bulk_key`] keys (see [`documents_whole`]).
    whole: bool,
}

pub fn documents(text: &str) -> Docs<'_> {
    Docs {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        done: false,
        whole: false,
    }
}

/// [`documents`] keeping every value: `dropcap profile` reads one definition whole
/// (environment, volumes, probes), where the audit drops them to save memory.
pub fn documents_whole(text: &str) -> Docs<'_> {
    Docs {
        whole: true,
        ..documents(text)
    }
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

fn scan_error(e: &ScanError) -> TreeError {
    // saphyr's scanner reads flow content ahead and stops at its own depth limit (256)
    // before the tree sees level 128: one limit, one message.
    let message = match e.info() {
        "recursion limit exceeded" => nesting_message(),
        other => other.to_string(),
    };
    TreeError {
        pos: pos_of(e.marker()),
        message,
    }
}

fn nesting_message() -> String {
    format!("nesting deeper than {MAX_DEPTH} levels")
}

impl Iterator for Docs<'_> {
    type Item = Result<Doc, TreeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_doc();
        match r {
            Ok(Some(d)) => Some(Ok(d)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Docs<'_> {
    fn next_doc(&mut self) -> Result<Option<Doc>, TreeError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut root: Option<Rc<Node>> = None;
        let mut created: u64 = 0;
        loop {
            let Some(ev) = self.parser.next_event() else {
                return Ok(None);
            };
            let (ev, span) = ev.map_err(|e| scan_error(&e))?;
            let pos = pos_of(&span.start);
            let here = Span {
                start: span.start.index(),
                end: span.end.index(),
            };
            // The finished node, its anchor id, whether it or anything in it is anchored, and
            // its expanded scalar bytes.
            let finished: Option<(Rc<Node>, usize, bool, u64)> = match ev {
                Event::StreamStart | Event::Nothing => None,
                Event::StreamEnd => return Ok(None),
                Event::DocumentStart(_) => {
                    self.anchors.clear();
                    None
                }
                Event::DocumentEnd => {
                    return Ok(root.map(|root| Doc { root }).or_else(|| {
                        // `---` with nothing after it: an empty document, a null root.
                        Some(Doc {
                            root: Rc::new(Node {
                                kind: Kind::Scalar {
                                    text: String::new(),
                                    plain: true,
                                },
                                pos,
                                span: here,
                                expanded: 1,
                            }),
                        })
                    }));
                }
                Event::Alias(id) => {
                    let Some((node, bytes)) = self.anchors.get(&id).cloned() else {
                        // Anchors are registered once complete, so an alias inside its own
                        // anchor's node is not found either: say what it really is.
                        let recursive = stack.iter().any(|f| match f {
                            Frame::Seq { anchor, .. } | Frame::Map { anchor, .. } => *anchor == id,
                        });
                        return Err(TreeError {
                            pos,
                            message: if recursive {
                                "recursive alias: an anchor's node refers to itself".into()
                            } else {
                                "alias to an unknown anchor".into()
                            },
                        });
                    };
                    Some((node, 0, false, bytes))
                }
                Event::Scalar(text, style, anchor, _tag) => {
                    created += 1;
                    if created > MAX_NODES {
                        return Err(too_many_nodes(pos));
                    }
                    // saphyr's scanner hands out scalars with 129 bytes of capacity, which made
                    // a node of a long list of short items cost 230 bytes instead of 110.
                    let mut text = text.into_owned();
                    text.shrink_to_fit();
                    let bytes = text.len() as u64;
                    let node = Node {
                        kind: Kind::Scalar {
                            text,
                            plain: style == ScalarStyle::Plain,
                        },
                        pos,
                        span: here,
                        expanded: 1,
                    };
                    Some((Rc::new(node), anchor, anchor != 0, bytes))
                }
                Event::SequenceStart(anchor, _) => {
                    created += 1;
                    if created > MAX_NODES {
                        return Err(too_many_nodes(pos));
                    }
                    push(&mut stack, pos)?;
                    stack.push(Frame::Seq {
                        items: Vec::new(),
                        pos,
                        span: here,
                        anchor,
                        size: 1,
                        bytes: 0,
                        anchored: false,
                    });
                    None
                }
                Event::MappingStart(anchor, _) => {
                    created += 1;
                    if created > MAX_NODES {
                        return Err(too_many_nodes(pos));
                    }
                    push(&mut stack, pos)?;
                    stack.push(Frame::Map {
                        pairs: Vec::new(),
                        key: None,
                        pos,
                        span: here,
                        anchor,
                        size: 1,
                        bytes: 0,
                        anchored: false,
                    });
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                    Some(Frame::Seq {
                        items,
                        pos,
                        span: open,
                        anchor,
                        size,
                        bytes,
                        anchored,
                    }) => Some((
                        Rc::new(Node {
                            kind: Kind::Seq(items),
                            pos,
                            span: closed(open, here),
                            expanded: size,
                        }),
                        anchor,
                        anchored || anchor != 0,
                        bytes,
                    )),
                    Some(Frame::Map {
                        pairs,
                        pos,
                        span: open,
                        anchor,
                        size,
                        bytes,
                        anchored,
                        ..
                    }) => Some((
                        Rc::new(Node {
                            kind: Kind::Map(pairs),
                            pos,
                            span: closed(open, here),
                            expanded: size,
                        }),
                        anchor,
                        anchored || anchor != 0,
                        bytes,
                    )),
                    None => None,
                },
            };
            let Some((node, anchor, has_anchor, node_bytes)) = finished else {
                continue;
            };
            if anchor != 0 {
                self.anchors.insert(anchor, (node.clone(), node_bytes));
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq {
                    items,
                    size,
                    bytes,
                    anchored,
                    span,
                    ..
                }) => {
                    span.end = span.end.max(node.span.end);
                    *anchored |= has_anchor;
                    *size = grow(*size, node.expanded, node.pos)?;
                    *bytes = grow_bytes(*bytes, node_bytes, node.pos)?;
                    items.push(node);
                }
                Some(Frame::Map {
                    pairs,
                    key,
                    size,
                    bytes,
                    anchored,
                    span,
                    ..
                }) => {
                    span.end = span.end.max(node.span.end);
                    *anchored |= has_anchor;
                    *bytes = grow_bytes(*bytes, node_bytes, node.pos)?;
                    match key.take() {
                        None => {
                            *size = grow(*size, node.expanded, node.pos)?;
                            *key = Some(node);
                        }
                        Some(k) => {
                            let node = if !self.whole
                                && !has_anchor
                                && k.as_str().is_some_and(is_bulk_key)
                            {
                                null(node.pos, node.span)
                            } else {
                                node
                            };
                            *size = grow(*size, node.expanded, node.pos)?;
                            pairs.push((k, node));
                        }
                    }
                }
            }
        }
    }
}

fn null(pos: Pos, span: Span) -> Rc<Node> {
    Rc::new(Node {
        kind: Kind::Scalar {
            text: String::new(),
            plain: true,
        },
        pos,
        span,
        expanded: 1,
    })
}

/// A collection's span: a flow collection ends with its closing bracket (the end event's own
/// span); a block one has an empty end event far below (at the next token), so it ends with
/// its last child, which the frame has tracked in `open.end`.
fn closed(open: Span, end_event: Span) -> Span {
    if end_event.end > end_event.start {
        Span {
            start: open.start,
            end: end_event.end,
        }
    } else {
        open
    }
}

fn push(stack: &mut [Frame], pos: Pos) -> Result<(), TreeError> {
    if stack.len() >= MAX_DEPTH {
        return Err(TreeError {
            pos,
            message: nesting_message(),
        });
    }
    Ok(())
}

fn grow_bytes(bytes: u64, add: u64, pos: Pos) -> Result<u64, TreeError> {
    let n = bytes.saturating_add(add);
    if n > MAX_EXPANDED_BYTES {
        return Err(TreeError {
            pos,
            message: format!(
                "aliases expand to more than {} MiB of text (an alias bomb?); refusing the document",
                MAX_EXPANDED_BYTES / 1_048_576
            ),
        });
    }
    Ok(n)
}

fn grow(size: u64, add: u64, pos: Pos) -> Result<u64, TreeError> {
    let n = size.saturating_add(add);
    if n > MAX_EXPANDED {
        return Err(TreeError {
            pos,
            message: format!(
                "aliases expand to more than {MAX_EXPANDED} nodes (an alias bomb?); refusing the document"
            ),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Rc<Node> {
        documents(text).next().unwrap().unwrap().root
    }

    #[test]
    fn positions_are_one_based() {
        let r = one("a:\n  b: [x, y]\n");
        let b = r.path(&["a", "b"]).unwrap();
        assert_eq!(b.pos, Pos { line: 2, col: 6 });
        assert_eq!(b.items()[1].pos, Pos { line: 2, col: 10 });
        let (k, _) = r.get("a").unwrap().get_entry("b").unwrap();
        assert_eq!(k.pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn spans_cover_each_node_in_characters() {
        let text = "é: &c [A, \"B\"]\nb:\n  - X # c\n  - Y\n";
        let r = one(text);
        let chars: Vec<char> = text.chars().collect();
        let cut = |s: Span| chars[s.start..s.end].iter().collect::<String>();
        assert_eq!(cut(r.get("é").unwrap().span), "&c [A, \"B\"]");
        assert_eq!(cut(r.get("é").unwrap().items()[1].span), "\"B\"");
        assert_eq!(cut(r.get("b").unwrap().span), "- X # c\n  - Y");
        assert_eq!(r.span.start, 0);
    }

    #[test]
    fn merge_keys_own_keys_win_and_earlier_merges_win() {
        let r = one("x: &x {a: 1, b: 1}\ny: &y {b: 2, c: 2}\nz:\n  <<: [*x, *y]\n  a: 9\n");
        let z = r.get("z").unwrap();
        assert_eq!(z.get("a").unwrap().as_str(), Some("9"));
        assert_eq!(z.get("b").unwrap().as_str(), Some("1"));
        assert_eq!(z.get("c").unwrap().as_str(), Some("2"));
        assert_eq!(z.entries().len(), 3);
    }

    #[test]
    fn multi_documents_stream_and_json_parses() {
        let docs: Vec<_> = documents("a: 1\n---\n{\"b\": [1, null]}\n---\n")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(docs.len(), 3);
        let b = docs[1].root.get("b").unwrap();
        assert!(b.items()[1].is_null());
        assert!(docs[2].root.is_null());
    }

    #[test]
    fn syntax_error_has_position() {
        let e = documents("a: [1, 2\nb: c\n")
            .collect::<Result<Vec<_>, _>>()
            .err()
            .unwrap();
        assert!(e.pos.line >= 1 && e.pos.col >= 1, "{e:?}");
        assert!(!e.message.is_empty());
    }

    #[test]
    fn alias_bomb_refused() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = documents(&s).collect::<Result<Vec<_>, _>>().err().unwrap();
        assert!(e.message.contains("alias"), "{e:?}");
    }

    #[test]
    fn bulk_values_dropped_unless_they_define_an_anchor() {
        let r = one("status: {phase: Running}\nenv: &e [{name: A}]\nspec:\n  env: *e\n  x: 1\n");
        assert!(r.get("status").unwrap().is_null());
        assert!(r.get("env").unwrap().is_seq(), "anchored: kept");
        // An alias under a bulk key is dropped; the anchor it names is unaffected.
        assert!(r.path(&["spec", "env"]).unwrap().is_null());
        assert_eq!(r.path(&["spec", "x"]).unwrap().as_str(), Some("1"));
    }

    #[test]
    fn deep_nesting_refused() {
        let s = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = documents(&s).collect::<Result<Vec<_>, _>>().err().unwrap();
        assert!(e.message.contains("nesting"), "{e:?}");
    }

    #[test]
    fn deep_flow_input_gets_the_same_message_as_other_deep_input() {
        let s = format!("x: {}{}", "[".repeat(1000), "]".repeat(1000));
        let e = documents(&s).collect::<Result<Vec<_>, _>>().err().unwrap();
        assert_eq!(e.message, "nesting deeper than 128 levels");
    }

    #[test]
    fn recursive_alias_is_named_as_such() {
        let e = documents("a: &a [1, *a]\n")
            .collect::<Result<Vec<_>, _>>()
            .err()
            .unwrap();
        assert!(e.message.starts_with("recursive alias"), "{e:?}");
        let e = documents("a: *b\n")
            .collect::<Result<Vec<_>, _>>()
            .err()
            .unwrap();
        assert!(e.message.contains("unknown anchor"), "{e:?}");
    }

    #[test]
    fn aliased_bytes_are_counted_against_a_limit() {
        let big = "a".repeat(1 << 20);
        let mut s = format!("x: &big {big}\nl:\n");
        for _ in 0..70 {
            s.push_str("- *big\n");
        }
        let e = documents(&s).collect::<Result<Vec<_>, _>>().err().unwrap();
        assert!(e.message.contains("64 MiB of text"), "{e:?}");
        // The same aliases 60 times stay under the limit.
        let ok = s.replacen("- *big\n", "", 10);
        assert!(documents(&ok).all(|d| d.is_ok()));
    }

    #[test]
    fn scalars_do_not_keep_the_scanner_capacity() {
        let r = one("a: x\n");
        let Kind::Scalar { text, .. } = &r.get("a").unwrap().kind else {
            panic!("scalar")
        };
        assert_eq!(text.capacity(), 1);
    }
}
