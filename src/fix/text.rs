//! The text being fixed: character offsets (what the parser records) to byte offsets, lines,
//! columns and the file's own line ending, so every splice lands where the parser saw the node.

pub struct Text<'a> {
    pub s: &'a str,
    /// Byte offset of each character, built on first use (most rounds edit nothing); empty
    /// for ASCII text, where the two are equal.
    bytes: std::cell::OnceCell<Vec<usize>>,
    /// `\r\n` when the file uses it, so inserted lines match their neighbours.
    pub eol: &'static str,
    /// JSON is edited as JSON: keys and strings quoted, flow syntax only.
    pub json: bool,
}

impl<'a> Text<'a> {
    pub fn new(s: &'a str) -> Text<'a> {
        Text {
            s,
            bytes: std::cell::OnceCell::new(),
            eol: if s.contains("\r\n") { "\r\n" } else { "\n" },
            json: crate::sources::json::starts_like_json(s),
        }
    }

    /// The byte offset of character `c` (clamped to the text).
    pub fn byte(&self, c: usize) -> usize {
        let v = self.bytes.get_or_init(|| {
            if self.s.is_ascii() {
                return Vec::new();
            }
            let mut v: Vec<usize> = self.s.char_indices().map(|(i, _)| i).collect();
            v.push(self.s.len());
            v
        });
        if v.is_empty() {
            c.min(self.s.len())
        } else {
            v.get(c).copied().unwrap_or(self.s.len())
        }
    }

    // Byte-wise (a line break is one byte in UTF-8), so any offset is safe, even one inside
    // a multi-byte character (`end - 1` after a non-ASCII scalar).

    pub fn line_start(&self, b: usize) -> usize {
        let b = b.min(self.s.len());
        self.s.as_bytes()[..b]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1)
    }

    /// The end of the line holding byte `b`, before its line break.
    pub fn line_end(&self, b: usize) -> usize {
        let bytes = self.s.as_bytes();
        let b = b.min(bytes.len());
        let end = bytes[b..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |i| b + i);
        if end > b && end < bytes.len() && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// Just past the line break of the line holding byte `b` (or the end of the text).
    pub fn next_line(&self, b: usize) -> usize {
        let bytes = self.s.as_bytes();
        let b = b.min(bytes.len());
        bytes[b..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |i| b + i + 1)
    }

    /// Spaces as wide as the column of byte `b` (YAML indentation is spaces only).
    pub fn indent_at(&self, b: usize) -> String {
        let b = b.min(self.s.len());
        let ls = self.line_start(b);
        let chars = self.s.as_bytes()[ls..b]
            .iter()
            .filter(|&&c| c & 0xC0 != 0x80)
            .count();
        " ".repeat(chars)
    }

    /// Whether only spaces precede byte `b` on its line.
    pub fn starts_line(&self, b: usize) -> bool {
        let b = b.min(self.s.len());
        self.s.as_bytes()[self.line_start(b)..b]
            .iter()
            .all(|&c| c == b' ')
    }

    /// Moves back over blanks and line breaks: a block scalar's span ends after its trailing
    /// blank lines, and an insertion belongs right after the content.
    pub fn trim_back(&self, mut b: usize) -> usize {
        while b > 0 && matches!(self.s.as_bytes()[b - 1], b' ' | b'\t' | b'\r' | b'\n') {
            b -= 1;
        }
        b
    }

    /// The first byte of `s` that is not a blank, from `b` on.
    pub fn skip_blanks(&self, mut b: usize) -> usize {
        while b < self.s.len() && matches!(self.s.as_bytes()[b], b' ' | b'\t') {
            b += 1;
        }
        b
    }

    pub fn at(&self, b: usize) -> Option<u8> {
        self.s.as_bytes().get(b).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_map_to_bytes_and_lines_keep_crlf() {
        let t = Text::new("é: x\r\n  b: y\r\n");
        assert_eq!(t.byte(3), 4);
        assert_eq!(t.eol, "\r\n");
        assert_eq!(t.line_end(0), 5);
        assert_eq!(t.next_line(0), 7);
        assert_eq!(t.indent_at(9), "  ");
        assert!(t.starts_line(9));
        assert!(!t.json);
    }
}
