//! Property tests over generated compose files and Kubernetes manifests: the fix touches only
//! capability lines, is a fixed point, and its output parses and re-audits clean of what it
//! fixed.

use super::*;
use proptest::prelude::*;

const CAPS: &[&str] = &[
    "NET_ADMIN",
    "SYS_ADMIN",
    "CHOWN",
    "NET_RAW",
    "NET_BIND_SERVICE",
    "SETUID",
    "CAP_SYS_TIME",
    "net_raw",
    "ALL",
    "MKNOD",
    "NET_ADMN",
];

#[derive(Debug, Clone)]
struct List {
    entries: Vec<&'static str>,
    flow: bool,
    quoted: bool,
    /// Block items at the key's indentation (`add:\n- A`).
    indentless: bool,
    comment: bool,
}

fn list() -> impl Strategy<Value = List> {
    (
        prop::collection::vec(prop::sample::select(CAPS), 0..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(entries, flow, quoted, indentless, comment)| List {
            entries,
            flow,
            quoted,
            indentless,
            comment,
        })
}

fn write_list(out: &mut String, key: &str, l: &List, indent: usize, unit: usize) {
    let pad = " ".repeat(indent);
    let q = |s: &str| {
        if l.quoted {
            format!("\"{s}\"")
        } else {
            s.to_string()
        }
    };
    if l.flow && l.comment && !l.entries.is_empty() {
        // Multi-line flow, a comment on the first entry, a trailing comma or not.
        let ipad = " ".repeat(indent + unit);
        out.push_str(&format!("{pad}{key}: [\n"));
        for (i, e) in l.entries.iter().enumerate() {
            let last = i + 1 == l.entries.len();
            let comma = if last && !l.indentless { "" } else { "," };
            let c = if i == 0 { "  # first" } else { "" };
            out.push_str(&format!("{ipad}{}{comma}{c}\n", q(e)));
        }
        out.push_str(&format!("{pad}]\n"));
        return;
    }
    if l.flow || l.entries.is_empty() {
        let items: Vec<String> = l.entries.iter().map(|s| q(s)).collect();
        out.push_str(&format!("{pad}{key}: [{}]\n", items.join(", ")));
        return;
    }
    out.push_str(&format!("{pad}{key}:\n"));
    let ipad = if l.indentless {
        pad.clone()
    } else {
        " ".repeat(indent + unit)
    };
    if l.comment {
        out.push_str(&format!("{ipad}# between entries\n"));
    }
    for (i, e) in l.entries.iter().enumerate() {
        let c = if l.comment && i == 0 {
            "  # on the entry"
        } else {
            ""
        };
        out.push_str(&format!("{ipad}- {}{c}\n", q(e)));
    }
}

#[derive(Debug, Clone)]
struct Workload {
    add: Option<List>,
    drop: Option<List>,
    /// Compose `security_opt` / Kubernetes allowPrivilegeEscalation: none, false, true.
    nnp: u8,
    /// Kubernetes: 0 no securityContext, 1 one without capabilities, 2 with capabilities.
    sc: u8,
    comment: bool,
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        prop::option::of(list()),
        prop::option::of(list()),
        0u8..3,
        0u8..3,
        any::<bool>(),
    )
        .prop_map(|(add, drop, nnp, sc, comment)| Workload {
            add,
            drop,
            nnp,
            sc,
            comment,
        })
}

fn compose(ws: &[Workload], unit: usize, merge: bool) -> String {
    let mut s = String::new();
    if merge {
        s.push_str("x-base: &base\n");
        s.push_str(&format!(
            "{}cap_add: [NET_ADMIN, CHOWN]\n",
            " ".repeat(unit)
        ));
    }
    s.push_str("services:\n");
    for (i, w) in ws.iter().enumerate() {
        let p1 = " ".repeat(unit);
        let p2 = " ".repeat(unit * 2);
        if w.comment {
            s.push_str(&format!("{p1}# service s{i} (é)\n"));
        }
        s.push_str(&format!("{p1}s{i}:\n"));
        if merge && i == 0 {
            s.push_str(&format!("{p2}<<: *base\n"));
        }
        s.push_str(&format!("{p2}image: example/s{i}:1ı\n"));
        if let Some(l) = &w.add {
            write_list(&mut s, "cap_add", l, unit * 2, unit);
        }
        if let Some(l) = &w.drop {
            write_list(&mut s, "cap_drop", l, unit * 2, unit);
        }
        match w.nnp {
            1 => s.push_str(&format!(
                "{p2}security_opt: [\"no-new-privileges:false\"]\n"
            )),
            2 => s.push_str(&format!("{p2}security_opt:\n{p2}{p1}- label:disable\n")),
            _ => {}
        }
        if w.comment {
            s.push_str(&format!("{p2}# last line of s{i}\n\n"));
        }
    }
    s
}

fn kubernetes(ws: &[Workload], unit: usize) -> String {
    let u = |n: usize| " ".repeat(unit * n);
    let mut s = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n");
    s.push_str(&format!("{}name: p\nspec:\n{}containers:\n", u(1), u(1)));
    for (i, w) in ws.iter().enumerate() {
        // Container keys sit after `- `, two columns in.
        let base = unit + 2;
        let p = " ".repeat(base);
        s.push_str(&format!(
            "{}- name: c{i}\n{p}image: example/c{i}:1ı\n",
            u(1)
        ));
        if w.sc == 0 {
            continue;
        }
        s.push_str(&format!("{p}securityContext:\n"));
        let p2 = " ".repeat(base + unit);
        match w.nnp {
            1 => s.push_str(&format!("{p2}allowPrivilegeEscalation: true\n")),
            2 => s.push_str(&format!("{p2}allowPrivilegeEscalation: false\n")),
            _ => s.push_str(&format!("{p2}runAsUser: 1000\n")),
        }
        if w.sc == 2 {
            s.push_str(&format!("{p2}capabilities:\n"));
            let mut any = false;
            if let Some(l) = &w.add {
                write_list(&mut s, "add", l, base + unit * 2, unit);
                any = true;
            }
            if let Some(l) = &w.drop {
                write_list(&mut s, "drop", l, base + unit * 2, unit);
                any = true;
            }
            if !any {
                s.push_str(&format!("{}drop: []\n", " ".repeat(base + unit * 2)));
            }
        }
    }
    s
}

/// A line a capability fix may add or remove.
fn capability_line(line: &str) -> bool {
    let l = line.split(" #").next().unwrap_or("").trim();
    let keys = [
        "cap_add:",
        "cap_drop:",
        "security_opt:",
        "securityContext:",
        "capabilities:",
        "add:",
        "drop:",
        "allowPrivilegeEscalation:",
    ];
    if keys.iter().any(|k| l.starts_with(k)) || matches!(l, "]" | "}" | "]," | "},") {
        return true;
    }
    let item = l.strip_prefix("- ").unwrap_or(l).trim_end_matches(',');
    let item = item.trim_matches(['"', '\'']);
    item.starts_with("no-new-privileges")
        || item.eq_ignore_ascii_case("all")
        || crate::caps::parse_cap(item).is_ok()
        || CAPS.contains(&item)
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let name = Path::new("gen.yaml");
    let opts = Options::default();
    let loaded = crate::sources::load_text(name, text);
    prop_assume!(loaded.errors.is_empty());
    let once = fix_text(name, text, &opts);
    prop_assert!(once.errors.is_empty(), "{:?}\n{text}", once.errors);
    // Only capability lines change; every other line is kept, in order.
    let diff = similar::TextDiff::from_lines(text, &once.fixed);
    for c in diff.iter_all_changes() {
        if c.tag() != similar::ChangeTag::Equal {
            prop_assert!(
                capability_line(c.value()),
                "changed a line that is not about capabilities: {:?}\n--- in\n{text}--- out\n{}",
                c.value(),
                once.fixed
            );
        }
    }
    // fix ∘ fix = fix.
    let twice = fix_text(name, &once.fixed, &opts);
    prop_assert_eq!(
        &twice.fixed,
        &once.fixed,
        "not idempotent; input:\n{}",
        text
    );
    // The output parses, and audit reports only what was listed as not fixed.
    let after = crate::sources::load_text(name, &once.fixed);
    prop_assert!(
        after.errors.is_empty(),
        "{:?}\n{}",
        after.errors,
        once.fixed
    );
    let listed: HashSet<String> = once.unfixed.iter().map(|u| key(&u.finding)).collect();
    for w in &after.workloads {
        for f in evaluate(w, opts.policy) {
            prop_assert!(
                listed.contains(&key(&f)),
                "{} still reported after fix, not listed:\n{}",
                key(&f),
                once.fixed
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn compose_fix_is_local_idempotent_and_clean(
        ws in prop::collection::vec(workload(), 1..4),
        unit in prop::sample::select(vec![2usize, 4]),
        merge in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let text = compose(&ws, unit, merge);
        let text = if crlf { text.replace('\n', "\r\n") } else { text };
        check(&text)?;
    }

    #[test]
    fn kubernetes_fix_is_local_idempotent_and_clean(
        ws in prop::collection::vec(workload(), 1..4),
        unit in prop::sample::select(vec![2usize, 4]),
    ) {
        check(&kubernetes(&ws, unit))?;
    }
}

/// `text` after removing entry `remove` of the `add` list (under `c` when there is one) and
/// appending `append`.
fn edit_add(text: &str, remove: usize, append: &[&str]) -> String {
    let t = text::Text::new(text);
    let root = if t.json {
        crate::sources::json::documents(text).next()
    } else {
        crate::sources::tree::documents(text).next()
    }
    .unwrap()
    .unwrap()
    .root;
    let map = root.get("c").unwrap_or(&root);
    let (k, v) = ops::own_entry(map, "add").unwrap();
    let plan = ops::ListPlan {
        remove: vec![v.items()[remove].pos],
        append: append.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let edits = ops::edit_list(&t, k, v, &plan, ops::Style::default()).unwrap();
    edit::apply(text, edits).0
}

#[test]
fn unit_detection_and_spans_of_indentless_lists() {
    assert_eq!(ops::indent_unit("a:\n    b: 1\n"), 4);
    assert_eq!(ops::indent_unit("a: 1\n"), 2);
    assert_eq!(
        edit_add("c:\n  add:\n  - NET_ADMIN\n  - CHOWN\n", 0, &["KILL"]),
        "c:\n  add:\n  - CHOWN\n  - KILL\n"
    );
}

#[test]
fn removing_the_last_entry_of_a_multi_line_flow_list_keeps_the_comment_above() {
    assert_eq!(
        edit_add(
            "c:\n  add: [\n    NET_ADMIN,  # why\n    SYS_TIME,\n  ]\n",
            1,
            &[]
        ),
        "c:\n  add: [\n    NET_ADMIN  # why\n  ]\n"
    );
    // JSON: the comma before the removed last entry goes, the indentation stays.
    assert_eq!(
        edit_add("{\"add\": [\n  \"A\",\n  \"B\"\n]}", 1, &[]),
        "{\"add\": [\n  \"A\"\n]}"
    );
}

/// Fixes `text` twice; returns the first result after checking the second changes nothing.
fn fixed_point(text: &str) -> FileFix {
    let name = Path::new("t.yaml");
    let once = fix_text(name, text, &Options::default());
    assert!(once.errors.is_empty(), "{:?}", once.errors);
    let twice = fix_text(name, &once.fixed, &Options::default());
    assert_eq!(twice.fixed, once.fixed, "fix ∘ fix ≠ fix");
    once
}

#[test]
fn entries_for_an_empty_flow_map_after_a_comment_go_before_its_brace() {
    // Inserted right after the last text, they would extend the `#` comment (AFL found this).
    let text = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"},\n \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"i\",\n   \"securityContext\": {\n #   \"privileged\": true\n   }}]}}\n";
    let out = fixed_point(text);
    assert!(
        out.fixed.contains(
            "true\n   \"capabilities\": {\"drop\": [\"NET_RAW\"]}, \"allowPrivilegeEscalation\": false}"
        ),
        "{}",
        out.fixed
    );
    assert!(out.unfixed.iter().all(|u| u.finding.rule == "DC007"));
}

#[test]
fn an_edit_that_does_not_take_effect_is_listed_not_repeated() {
    // The block scalar's odd indentation makes the container's recorded end the end of the
    // file, so the new securityContext would land under dnsConfig (AFL found this); each round
    // used to add it again.
    let text = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: bind\n        command:\n        - |\n         \"cp -Lr /config/* /etc/bind/\n      dnsConfig:\n        options:\n          value: \"1\"";
    let out = fixed_point(text);
    assert_eq!(
        out.fixed, text,
        "nothing that does not take effect is written"
    );
    let mut no_effect: Vec<&str> = out
        .unfixed
        .iter()
        .filter(|u| u.reason == NO_EFFECT)
        .map(|u| u.finding.rule)
        .collect();
    no_effect.sort();
    assert_eq!(no_effect, ["DC009", "DC011"]);
    assert_eq!(out.fixed_findings, 0);
}
