//! Positions inside a string value: which byte of the file holds the
//! character `n` bytes into the decoded string, so that an error about
//! part of a string (a log format's alias) points at its own column even
//! when the string has escapes or is a multi-line string.

use super::diag::{Loc, Report};

/// The position `offset` bytes into the decoded string whose literal is
/// at `loc`; the literal's own position when it cannot be mapped.
pub(crate) fn inside(report: &Report, loc: &Loc, offset: usize) -> Loc {
    let mapped = report.text(loc).and_then(|raw| raw_offset(raw, offset));
    match mapped {
        Some(i) => Loc {
            file: loc.file,
            span: loc.span.start + i..loc.span.end.max(loc.span.start + i),
        },
        None => loc.clone(),
    }
}

/// The byte offset in `raw` (a TOML string literal as written, quotes
/// included) of the character `offset` bytes into its value.
pub(crate) fn raw_offset(raw: &str, offset: usize) -> Option<usize> {
    let (open, basic) = if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with('"') {
        (1, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else {
        return None;
    };
    let mut i = open;
    if open == 3 {
        // A newline right after the opening delimiter is not part of it.
        if raw[i..].starts_with("\r\n") {
            i += 2;
        } else if raw[i..].starts_with('\n') {
            i += 1;
        }
    }
    let close = raw.len().checked_sub(open)?;
    let mut decoded = 0;
    while i < close {
        let rest = &raw[i..close];
        let c = rest.chars().next()?;
        let (raw_len, value_len) = match (basic, c) {
            (true, '\\') => escape(rest)?,
            _ => (c.len_utf8(), c.len_utf8()),
        };
        // A line-ending backslash stands for nothing: skip it first.
        if value_len > 0 && decoded >= offset {
            return (decoded == offset).then_some(i);
        }
        decoded += value_len;
        i += raw_len;
    }
    (decoded == offset).then_some(i)
}

/// At a backslash of a basic string: the escape's length in the file and
/// the length of what it stands for.
fn escape(rest: &str) -> Option<(usize, usize)> {
    let kind = *rest.as_bytes().get(1)?;
    let code = |digits: usize| {
        let hex = rest.get(2..2 + digits)?;
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        Some((2 + digits, c.len_utf8()))
    };
    match kind {
        b'b' | b't' | b'n' | b'f' | b'r' | b'"' | b'\\' | b'e' => Some((2, 1)),
        b'x' => code(2),
        b'u' => code(4),
        b'U' => code(8),
        // A line-ending backslash: it and the whitespace after it vanish.
        b' ' | b'\t' | b'\r' | b'\n' => {
            let skipped = rest[1..]
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len() - 1);
            Some((1 + skipped, 0))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::raw_offset;

    #[test]
    fn literal_and_basic_strings() {
        assert_eq!(raw_offset("'%ci %x'", 4), Some(5));
        assert_eq!(raw_offset("\"%ci %x\"", 4), Some(5));
        // `\"` is two bytes in the file, one in the value.
        assert_eq!(raw_offset(r#""\"%r\" %x""#, 5), Some(8));
        assert_eq!(raw_offset(r#""\u00e9 %x""#, 3), Some(8));
        assert_eq!(raw_offset("\"é %x\"", 3), Some(4));
        assert_eq!(raw_offset("'ab'", 2), Some(3));
        assert_eq!(raw_offset("'ab'", 3), None);
        assert_eq!(raw_offset("5", 0), None);
    }

    #[test]
    fn multi_line_strings() {
        assert_eq!(raw_offset("'''\n%ci %x'''", 4), Some(8));
        assert_eq!(raw_offset("\"\"\"\n%ci \\\n   %x\"\"\"", 4), Some(13));
    }
}
