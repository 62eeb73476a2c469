//! A fix is a list of splices (replace bytes `start..end` with `text`) applied back to front,
//! so no splice moves another's offsets and every byte outside them stays as it was.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }
    pub fn replace(start: usize, end: usize, text: impl Into<String>) -> Edit {
        Edit {
            start,
            end,
            text: text.into(),
        }
    }
    pub fn delete(start: usize, end: usize) -> Edit {
        Edit::replace(start, end, "")
    }
}

/// Applies the edits that do not overlap an earlier one (by start); the others are returned,
/// to be planned again on the new text (two workloads sharing a node through an alias).
pub fn apply(text: &str, mut edits: Vec<Edit>) -> (String, Vec<Edit>) {
    // Insertions at one place: the deeper-indented first, so lines added to a nested block
    // stay inside it and the parent's new keys follow (stable otherwise).
    edits.sort_by_key(|e| (e.start, e.end, std::cmp::Reverse(indent_of(&e.text))));
    let mut kept: Vec<Edit> = Vec::with_capacity(edits.len());
    let mut skipped = Vec::new();
    for e in edits {
        let overlaps = kept.last().is_some_and(|k| {
            e.start < k.end || (e.start == k.start && e.end > e.start && k.end > k.start)
        });
        if overlaps
            || e.end > text.len()
            || !text.is_char_boundary(e.start)
            || !text.is_char_boundary(e.end)
        {
            skipped.push(e);
        } else if !kept.contains(&e) {
            kept.push(e);
        }
    }
    let mut out = text.to_string();
    for e in kept.iter().rev() {
        out.replace_range(e.start..e.end, &e.text);
    }
    (out, skipped)
}

/// Leading spaces of an inserted line (after a leading line break, if any).
fn indent_of(text: &str) -> usize {
    let t = text.trim_start_matches(['\r', '\n']);
    t.len() - t.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_back_to_front_and_skips_overlaps() {
        let (out, skipped) = apply(
            "abcdef",
            vec![
                Edit::replace(1, 3, "X"),
                Edit::insert(6, "!"),
                Edit::delete(2, 4),
                Edit::insert(0, ">"),
            ],
        );
        assert_eq!(out, ">aXdef!");
        assert_eq!(skipped, vec![Edit::delete(2, 4)]);
    }
}
