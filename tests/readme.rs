//! README must stay true: every rule of the catalog appears in its rules table exactly as the
//! code defines it, and every subcommand has a section.

use dropcap::rules::catalog;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The README row for each rule, generated from the catalog.
fn rule_rows() -> Vec<String> {
    catalog()
        .iter()
        .map(|r| {
            let standards = if r.standards.is_empty() {
                "—".to_string()
            } else {
                r.standards.join(", ")
            };
            let policies: Vec<&str> = r.policies.iter().map(|p| p.as_str()).collect();
            format!(
                "| {} | {} | {} | {} | {} |",
                r.id,
                r.title,
                r.severity.as_str(),
                standards,
                policies.join(", ")
            )
        })
        .collect()
}

#[test]
fn readme_rules_table_matches_catalog() {
    let text = readme();
    let rows = rule_rows();
    let missing: Vec<&String> = rows.iter().filter(|r| !text.contains(r.as_str())).collect();
    assert!(
        missing.is_empty(),
        "README rules table is out of date; expected rows:\n{}",
        rows.join("\n")
    );
}

#[test]
fn readme_has_a_section_per_command() {
    let text = readme();
    for cmd in [
        "audit", "decode", "explain", "ps", "trace", "profile", "exec", "ping",
    ] {
        assert!(
            text.contains(&format!("### `dropcap {cmd}")),
            "README has no section for {cmd}"
        );
    }
}
