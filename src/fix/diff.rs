//! The unified diff `fix` prints (`--- a/PATH` / `+++ b/PATH`, as git and patch read it),
//! coloured only when the output style says so.

use crate::output::Style;
use similar::TextDiff;

pub fn unified(path: &str, old: &str, new: &str, style: Style) -> String {
    let diff = TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    if !style.color {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let painted = if body.starts_with("+++") || body.starts_with("---") {
            style.bold(body)
        } else if body.starts_with("@@") {
            style.paint("36", body)
        } else if body.starts_with('+') {
            style.paint("32", body)
        } else if body.starts_with('-') {
            style.paint("31", body)
        } else {
            body.to_string()
        };
        out.push_str(&painted);
        out.push_str(nl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_both_sides_and_colour_is_optional() {
        let plain = unified("c.yaml", "a\nb\n", "a\nc\n", Style { color: false });
        assert!(
            plain.starts_with("--- a/c.yaml\n+++ b/c.yaml\n@@ -1,2 +1,2 @@\n"),
            "{plain}"
        );
        assert!(plain.contains("-b\n+c\n"));
        assert!(!plain.contains('\x1b'));
        let colored = unified("c.yaml", "a\nb\n", "a\nc\n", Style { color: true });
        assert!(colored.contains("\x1b[32m+c\x1b[0m"));
    }
}
