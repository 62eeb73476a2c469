//! Output settings shared by every command: format and colour.

use std::io::IsTerminal;

/// Machine formats are stable: fields are only ever added, never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    #[default]
    Table,
    /// JSON (JSON lines for streaming commands such as `trace`).
    Json,
    /// SARIF 2.1.0, for code scanning (audit only).
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Colour only when a person is looking: a terminal, and `NO_COLOR` unset.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

/// ANSI styling that collapses to plain text when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    pub fn risk(&self, risk: crate::caps::Risk, text: &str) -> String {
        use crate::caps::Risk;
        let code = match risk {
            Risk::Critical => "1;31",
            Risk::High => "31",
            Risk::Medium => "33",
            Risk::Low => "32",
        };
        self.paint(code, text)
    }
}

/// Text from files, the engine or other processes, made safe for a terminal: control
/// characters (ESC, CR, newlines...) are shown escaped, so a crafted service name or command
/// line cannot recolour, rewrite or erase the lines around it.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A file name as text, the same way in every format: control characters escaped as by
/// [`printable`], and bytes that are not UTF-8 as `\xFF`, so two different names never print
/// alike (a lossy `U+FFFD` would make them) and the name can still be found with `ls -b`.
pub fn path_text(path: &std::path::Path) -> String {
    let mut out = String::new();
    for chunk in path.as_os_str().as_encoded_bytes().utf8_chunks() {
        out.push_str(&printable(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Pads cells to column widths; the last column is left unpadded so lines carry no trailing
/// blanks. Widths count characters, not bytes, and ignore ANSI escapes.
pub fn table(rows: &[Vec<String>]) -> String {
    let visible = |s: &str| {
        let mut n = 0;
        let mut in_esc = false;
        for ch in s.chars() {
            match (in_esc, ch) {
                (false, '\x1b') => in_esc = true,
                (true, 'm') => in_esc = false,
                (true, _) => {}
                (false, _) => n += 1,
            }
        }
        n
    };
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(visible(c));
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(width[i] - visible(c) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// True when `fd` is a pipe or socket whose reader has gone away (`dropcap ps | head -1`
/// after head exits). A broken pipe from anywhere else, such as an engine socket closed under
/// a request, is an error to report, not a reader that left.
pub fn reader_gone(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd for a descriptor the caller borrows; a zero timeout never blocks.
    let ready = unsafe { libc::poll(&mut p, 1, 0) };
    ready == 1 && p.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pipe_without_reader_is_gone_one_with_a_reader_is_not() {
        use std::os::fd::AsFd;
        let (reader, writer) = std::io::pipe().unwrap();
        assert!(!super::reader_gone(writer.as_fd()));
        drop(reader);
        assert!(super::reader_gone(writer.as_fd()));
        let file = tempfile::tempfile().unwrap();
        assert!(!super::reader_gone(file.as_fd()));
    }

    #[test]
    fn printable_escapes_control_characters() {
        assert_eq!(
            super::printable("a\x1b[2Jb\r\nc\u{9b}d é"),
            "a\\u{1b}[2Jb\\r\\nc\\u{9b}d é"
        );
    }

    #[test]
    fn table_aligns_and_ignores_escapes() {
        let rows = vec![
            vec!["A".to_string(), "BB".to_string(), "C".to_string()],
            vec![
                "\x1b[31mlong\x1b[0m".to_string(),
                "x".to_string(),
                "".to_string(),
            ],
        ];
        assert_eq!(super::table(&rows), "A     BB  C\n\x1b[31mlong\x1b[0m  x\n");
    }
}
