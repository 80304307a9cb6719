//! TOML syntax errors in weir's words. The parser's messages are good at
//! saying what it expected next (`unclosed table, expected ']'`); a few
//! read like its internals instead, and those are rewritten with what the
//! file holds at the error: the key set twice, the unquoted word, the
//! value missing after `=`, the string left open.

/// Rewrites one syntax error; `at` is the file's text from the error's
/// position to the end of its line.
pub(crate) fn explain(message: &str, at: &str) -> String {
    let word: String = at
        .chars()
        .take_while(|c| !c.is_whitespace() && !"=,]}#".contains(*c))
        .collect();
    match message {
        "duplicate key" => {
            let key = at
                .split(['=', ']', ' ', '\t'])
                .next()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim();
            // In a `[section]` header, `]` comes before any `=`.
            let header = at
                .find(']')
                .is_some_and(|b| at.find('=').is_none_or(|e| b < e));
            match (key.is_empty(), header) {
                (true, _) => "duplicate key: a key may be set once in a table".into(),
                (false, true) => {
                    format!("duplicate section `{key}`: a section is defined once in a file")
                }
                (false, false) => {
                    format!("duplicate key `{key}`: a key may be set once in a table")
                }
            }
        }
        "string values must be quoted, expected literal string" if word.is_empty() => {
            "missing value after `=`".into()
        }
        "string values must be quoted, expected literal string" => format!(
            "`{word}` is not a TOML value: strings must be quoted (\"{word}\"); \
             numbers, true and false are written bare"
        ),
        "invalid basic string, expected `\"`" => {
            "unterminated string: the closing `\"` is missing".into()
        }
        "invalid literal string, expected `'`" => {
            "unterminated string: the closing `'` is missing".into()
        }
        "invalid boolean, expected `true`" | "invalid boolean, expected `false`" => {
            format!("`{word}` is not a boolean: write true or false")
        }
        m => m.trim_end_matches(", expected nothing").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn reworded() {
        assert_eq!(
            explain("duplicate key", "nbproc = 2"),
            "duplicate key `nbproc`: a key may be set once in a table"
        );
        assert_eq!(
            explain("duplicate key", "global]"),
            "duplicate section `global`: a section is defined once in a file"
        );
        assert_eq!(
            explain("duplicate key", "b = 2 }"),
            "duplicate key `b`: a key may be set once in a table"
        );
        assert_eq!(
            explain("string values must be quoted, expected literal string", ""),
            "missing value after `=`"
        );
        assert!(explain(
            "string values must be quoted, expected literal string",
            "yes"
        )
        .starts_with("`yes` is not a TOML value: strings must be quoted (\"yes\")"));
        assert_eq!(
            explain("`_` may only go between digits, expected nothing", "_"),
            "`_` may only go between digits"
        );
        assert_eq!(
            explain("unclosed table, expected `]`", ""),
            "unclosed table, expected `]`"
        );
    }
}
