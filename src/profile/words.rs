//! Splitting `--cmd 'ARGS'` and `--check 'CMD'` the way a POSIX shell splits words (quotes and
//! backslashes, no expansion), so what users paste from a `docker run` line means the same here.

/// `None` when a quote is left open.
pub fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => cur.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => {
                            let n = chars.next()?;
                            if !matches!(n, '"' | '\\' | '$' | '`') {
                                cur.push('\\');
                            }
                            cur.push(n);
                        }
                        ch => cur.push(ch),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            split_words(r#"ping -c1 '127.0.0.1'  "a b" c\ d ''"#).unwrap(),
            vec!["ping", "-c1", "127.0.0.1", "a b", "c d", ""]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words(r#""x\"y\n""#).unwrap(), vec!["x\"y\\n"]);
        assert!(split_words("'open").is_none());
        assert!(split_words("\"open").is_none());
    }
}
