//! The two layouts docker compose and kubectl (Go's yaml, libyaml) read although YAML 1.2
//! forbids them, which dropcap's copy of saphyr-parser accepts (vendor/saphyr-parser/DROPCAP.md):
//! values and positions must be exactly what a strict parse of the re-indented text gives,
//! and the suite's invalid layouts next to them must stay errors.

use dropcap::sources::tree::{documents, Node, Pos};
use std::rc::Rc;

fn root(text: &str) -> Rc<Node> {
    documents(text)
        .next()
        .expect("a document")
        .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
        .root
}

fn rejects(text: &str) -> bool {
    documents(text).any(|d| d.is_err())
}

#[test]
fn flow_sequence_closed_at_its_keys_column() {
    let r = root("svc:\n  command: [\n    \"serve\",\n    \"--port=80\"\n  ]\n  user: \"1000\"\n");
    let cmd = r.path(&["svc", "command"]).unwrap();
    let items: Vec<&str> = cmd.items().iter().filter_map(|n| n.as_str()).collect();
    assert_eq!(items, ["serve", "--port=80"]);
    assert_eq!(cmd.items()[1].pos, Pos { line: 4, col: 5 });
    // What follows the bracket is still read in its mapping, at its own position.
    let (k, v) = r.get("svc").unwrap().get_entry("user").unwrap();
    assert_eq!((k.pos, v.as_str()), (Pos { line: 6, col: 3 }, Some("1000")));
    // The same for a flow mapping and with a trailing comma (getsentry's healthcheck).
    let r = root("a:\n  b: {\n    x: 1,\n  }\n  c: [\n      \"d\",\n  ]\n");
    assert_eq!(r.path(&["a", "b", "x"]).unwrap().as_str(), Some("1"));
    assert_eq!(r.path(&["a", "c"]).unwrap().items().len(), 1);
}

#[test]
fn quoted_scalar_continued_left_of_its_key() {
    let text =
        "list:\n  - message: m\n    rule: 'a == b\n  && c'\n    other: 'x\n    ]'\nnext: 1\n";
    let r = root(text);
    let item = &r.get("list").unwrap().items()[0];
    // Line folding as YAML defines it: the break becomes a space, leading blanks go.
    assert_eq!(item.get("rule").unwrap().as_str(), Some("a == b && c"));
    assert_eq!(item.get("rule").unwrap().pos, Pos { line: 3, col: 11 });
    assert_eq!(item.get("other").unwrap().as_str(), Some("x ]"));
    assert_eq!(r.get("next").unwrap().pos, Pos { line: 7, col: 7 });
}

#[test]
fn what_the_yaml_test_suite_calls_invalid_stays_invalid() {
    // QB6E: a top-level key's quoted scalar continued at column 0.
    assert!(rejects("---\nquoted: \"a\nb\nc\"\n"));
    // 9C9N: flow sequence content (not its closing bracket) left of the indentation.
    assert!(rejects("---\nflow: [a,\nb,\nc]\n"));
    // Continuation left of the enclosing collection, not only of the key.
    assert!(rejects("a:\n  b:\n    c: 'x\n y'\n"));
}
