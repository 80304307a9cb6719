//! serde's errors in a TOML user's words.
//!
//! serde speaks of Rust types (`invalid type: string "lots", expected i64`);
//! a user wrote TOML. [`explain`] rewrites every message serde and the
//! `toml` crate can produce while deserializing a section — invalid type,
//! invalid value, invalid length, unknown or missing field, unknown
//! variant — so that it names the key (`server.weight`), what the key takes
//! (an integer, true or false, a duration such as "5s" …) and what was
//! found, read from the TOML value itself. [`locate`] finds the key and the
//! value an error's span points at.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step from a section down to a value: a key, or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// The path to the innermost value of `section` whose span holds `span`,
/// and that value (the section itself when no value of it holds `span`).
pub(crate) fn locate<'a, 'i>(
    section: &'a Spanned<DeValue<'i>>,
    span: &Range<usize>,
) -> (Vec<Seg>, Option<&'a DeValue<'i>>) {
    let holds = |v: &Spanned<DeValue<'_>>| {
        let s = v.span();
        s.start <= span.start && span.end <= s.end
    };
    // A section's own span may cover only its header: start below it.
    let mut path = Vec::new();
    let mut at = section;
    loop {
        let next = match at.get_ref() {
            DeValue::Table(t) => t
                .iter()
                .find(|(_, v)| holds(v))
                .map(|(k, v)| (Seg::Key(k.get_ref().to_string()), v)),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .find(|(_, v)| holds(v))
                .map(|(i, v)| (Seg::Index(i), v)),
            _ => None,
        };
        match next {
            Some((seg, v)) => {
                path.push(seg);
                at = v;
            }
            None => return (path, Some(at.get_ref())),
        }
    }
}

/// The path as the documentation writes keys: `server.weight`,
/// `timeout.connect` (array indices left out).
pub(crate) fn doc_path(path: &[Seg]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    keys.join(".")
}

/// The path with indices, as [`super::file::KeySpans`] and the "missing
/// key" exemptions write it: `server.0.weight`.
pub(crate) fn dotted(path: &[Seg]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect();
    parts.join(".")
}

/// Removes the innermost key on `path` from `section` (an array element
/// cannot be removed without renumbering its followers: the key holding the
/// array goes instead). Returns the removed key's dotted path, or `None`
/// when `path` holds no key.
pub(crate) fn remove_innermost_key(
    section: &mut Spanned<DeValue<'_>>,
    path: &[Seg],
) -> Option<String> {
    let last_key = path.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
    let Seg::Key(key) = &path[last_key] else {
        return None;
    };
    let table = table_at(section.get_mut(), &path[..last_key])?;
    table.remove(key.as_str())?;
    Some(dotted(&path[..=last_key]))
}

/// The table reached by following `path` from `value`.
fn table_at<'a, 'i>(value: &'a mut DeValue<'i>, path: &[Seg]) -> Option<&'a mut DeTable<'i>> {
    let mut at = value;
    for seg in path {
        at = match (at, seg) {
            (DeValue::Table(t), Seg::Key(k)) => t.get_mut(k.as_str())?.get_mut(),
            (DeValue::Array(a), Seg::Index(i)) => a.get_mut(*i)?.get_mut(),
            _ => return None,
        };
    }
    match at {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

/// What a duration key takes.
const DURATION: &str = "a duration such as \"5s\" (or an integer of milliseconds)";

/// What a key takes when its own type says too little ("an integer or a
/// string" for a duration), by documentation path.
fn key_expects(path: &str) -> Option<&'static str> {
    Some(match path {
        "grace" | "hard_stop_after" | "check.interval" | "check.timeout" | "stats.refresh" => {
            DURATION
        }
        p if p.starts_with("timeout.") => DURATION,
        "bufsize" => "a size such as \"16k\" (or an integer of bytes)",
        "nbproc" => "an integer or \"auto\"",
        "shards" => "1 or \"by-worker\"",
        "check.expect_status" => "a status such as 200, \"2xx\" or \"200-399\"",
        "log" => "a log target such as \"stderr\", or an array of them",
        "bind" => "an address such as \":80\", a bind table, or an array of them",
        _ => return None,
    })
}

/// serde's "expected …" in TOML's words.
fn expected(exp: &str) -> String {
    let exp = exp.trim();
    let ints = [
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
    ];
    let plain = match exp {
        e if ints.contains(&e) => "an integer",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "a borrowed string" | "string" => "a string",
        "a sequence" | "a tuple" | "tuple struct" => "an array",
        "a map" | "map" => "a table",
        "a character" | "char" => "a one-character string",
        "unit" | "a unit value" => "nothing",
        "a string, a table or a list of them" => "a string, a table, or an array of them",
        e if e.starts_with("struct ") => "a table",
        e if e.starts_with("tuple of ") || e.starts_with("an array") => "an array",
        e if e.starts_with("a tuple of size ") => {
            return format!("an array of {} entries", &e["a tuple of size ".len()..]);
        }
        other => return other.to_string(),
    };
    plain.to_string()
}

/// The value found, as TOML names it, with the value itself when short.
fn found(value: &DeValue<'_>) -> String {
    const SHOW: usize = 40;
    match value {
        DeValue::String(s) if s.chars().count() <= SHOW => format!("a string ({s:?})"),
        DeValue::String(_) => "a string".to_string(),
        DeValue::Integer(i) => format!("an integer ({})", i.as_str()),
        DeValue::Float(f) => format!("a float ({})", f.as_str()),
        DeValue::Boolean(b) => format!("a boolean ({b})"),
        DeValue::Datetime(d) => format!("a date-time ({d})"),
        DeValue::Array(a) if a.is_empty() => "an empty array".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// serde's "invalid type: …" unexpected part, when the value is not at
/// hand: `string "x"` → `a string ("x")`.
fn unexpected(u: &str) -> String {
    let quoted = |prefix: &str| {
        u.strip_prefix(prefix)
            .map(|rest| rest.trim_matches('`').to_string())
    };
    if let Some(s) = u.strip_prefix("string ") {
        return format!("a string ({s})");
    }
    if let Some(v) = quoted("integer ") {
        return format!("an integer ({v})");
    }
    if let Some(v) = quoted("floating point ") {
        return format!("a float ({v})");
    }
    if let Some(v) = quoted("boolean ") {
        return format!("a boolean ({v})");
    }
    match u {
        "sequence" => "an array".to_string(),
        "map" => "a table".to_string(),
        other => other.to_string(),
    }
}

/// Rewrites one deserialization message. `path` and `value` come from
/// [`locate`] on the error's span.
pub(crate) fn explain(message: &str, path: &[Seg], value: Option<&DeValue<'_>>) -> String {
    let doc = doc_path(path);
    let subject = match path.last() {
        Some(Seg::Key(_)) => format!("`{doc}`"),
        Some(Seg::Index(_)) if !doc.is_empty() => format!("each entry of `{doc}`"),
        _ => "the section".to_string(),
    };
    let what = |exp: &str| match (path.last(), key_expects(&doc)) {
        (Some(Seg::Key(_)), Some(e)) => e.to_string(),
        _ => expected(exp),
    };
    let seen = |u: &str| value.map_or_else(|| unexpected(u), found);
    if let Some((u, exp)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        // TOML integers are 64-bit; the parser hands larger ones on as i128.
        if u.starts_with("integer ") && u.contains(" as ") {
            let n = u.split('`').nth(1).unwrap_or(u);
            return format!(
                "{subject}: {n} is too large (integers are 64-bit: at most {})",
                i64::MAX
            );
        }
        return format!("{subject} must be {}, found {}", what(exp), seen(u));
    }
    if let Some((u, exp)) = message
        .strip_prefix("invalid value: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        return format!("{subject} must be {}, found {}", what(exp), seen(u));
    }
    if let Some((n, exp)) = message
        .strip_prefix("invalid length ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        return format!("{subject} must be {}, found {n} entries", expected(exp));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (field, tail) = rest.split_once(", ").unwrap_or((rest, ""));
        let tail = match tail {
            "" | "there are no fields" => String::new(),
            t => format!("; {}", t.replace("expected one of", "known keys are")),
        };
        return format!("unknown key {field} in {}{tail}", in_what(&doc));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (variant, tail) = rest.split_once(", ").unwrap_or((rest, ""));
        let variant = variant.trim_matches('`');
        let tail = match tail {
            "" | "there are no variants" => String::new(),
            t => format!("; {}", t.replace('`', "\"")),
        };
        return format!("{subject}: unknown value \"{variant}\"{tail}");
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("{} needs the key {field}", in_what(&doc));
    }
    if let Some(field) = message.strip_prefix("duplicate field ") {
        return format!("duplicate key {field} in {}", in_what(&doc));
    }
    // Custom errors (ours in `super::raw`, the parser's about a value such
    // as "integer number overflowed") are words already: name the key.
    match path.last() {
        Some(Seg::Key(_)) => format!("{subject}: {message}"),
        _ => message.to_string(),
    }
}

/// "the section" or "`server`", for messages about a table's keys.
fn in_what(doc: &str) -> String {
    if doc.is_empty() {
        "the section".to_string()
    } else {
        format!("`{doc}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path and message for the error at the first occurrence of
    /// `needle` in `text` (a section's body).
    fn at(text: &str, needle: &str, message: &str) -> String {
        let root = DeTable::parse(text).expect("valid TOML");
        let start = text.find(needle).expect("needle");
        let section = Spanned::new(0..text.len(), DeValue::Table(root.into_inner()));
        let (path, value) = locate(&section, &(start..start + needle.len()));
        explain(message, &path, value)
    }

    #[test]
    fn integers_booleans_strings() {
        let msg = at(
            "maxconn = \"lots\"\n",
            "\"lots\"",
            "invalid type: string \"lots\", expected i64",
        );
        assert_eq!(
            msg,
            "`maxconn` must be an integer, found a string (\"lots\")"
        );
        let msg = at(
            "daemon = 1\n",
            "1",
            "invalid type: integer `1`, expected a boolean",
        );
        assert_eq!(msg, "`daemon` must be true or false, found an integer (1)");
        let msg = at(
            "user = 3\n",
            "3",
            "invalid type: integer `3`, expected a string",
        );
        assert_eq!(msg, "`user` must be a string, found an integer (3)");
    }

    #[test]
    fn nested_keys_and_entries() {
        let text = "server = [{ name = \"a\", weight = true }]\n";
        let msg = at(text, "true", "invalid type: boolean `true`, expected i64");
        assert_eq!(
            msg,
            "`server.weight` must be an integer, found a boolean (true)"
        );
        let msg = at(
            "server = [1]\n",
            "1",
            "invalid type: integer `1`, expected a server table such as { name = \"a\" }",
        );
        assert_eq!(
            msg,
            "each entry of `server` must be a server table such as { name = \"a\" }, found an integer (1)"
        );
        let msg = at(
            "server = { name = \"a\" }\n",
            "{ name",
            "invalid type: map, expected a sequence",
        );
        assert_eq!(msg, "`server` must be an array, found a table");
    }

    #[test]
    fn durations_sizes_and_dates() {
        let msg = at(
            "timeout = { connect = [1] }\n",
            "[1]",
            "invalid type: sequence, expected an integer or a string",
        );
        assert_eq!(
            msg,
            "`timeout.connect` must be a duration such as \"5s\" (or an integer of milliseconds), found an array"
        );
        let msg = at(
            "bufsize = 1.5\n",
            "1.5",
            "invalid type: floating point `1.5`, expected an integer or a string",
        );
        assert!(
            msg.starts_with("`bufsize` must be a size such as \"16k\""),
            "{msg}"
        );
        assert!(msg.ends_with("found a float (1.5)"), "{msg}");
        let msg = at(
            "maxconn = 1979-05-27\n",
            "1979-05-27",
            "invalid type: map, expected i64",
        );
        assert_eq!(
            msg,
            "`maxconn` must be an integer, found a date-time (1979-05-27)"
        );
    }

    #[test]
    fn too_large_and_other_kinds() {
        let msg = at(
            "maxconn = 99999999999999999999\n",
            "99999999999999999999",
            "invalid type: integer `99999999999999999999` as i128, expected i64",
        );
        assert!(msg.contains("99999999999999999999 is too large"), "{msg}");
        assert_eq!(
            explain("missing field `name`", &[Seg::Key("server".into())], None),
            "`server` needs the key `name`"
        );
        assert_eq!(
            explain(
                "unknown field `nmae`, expected one of `name`, `address`",
                &[],
                None
            ),
            "unknown key `nmae` in the section; known keys are `name`, `address`"
        );
        assert_eq!(
            explain(
                "unknown variant `x`, expected `a` or `b`",
                &[Seg::Key("k".into())],
                None
            ),
            "`k`: unknown value \"x\"; expected \"a\" or \"b\""
        );
        assert_eq!(
            explain(
                "invalid length 3, expected a tuple of size 2",
                &[Seg::Key("k".into())],
                None
            ),
            "`k` must be an array of 2 entries, found 3 entries"
        );
        assert_eq!(explain("integer too large", &[], None), "integer too large");
        assert_eq!(
            explain(
                "integer number overflowed",
                &[Seg::Key("maxconn".into())],
                None
            ),
            "`maxconn`: integer number overflowed"
        );
        // Without the value, serde's own words are translated.
        assert_eq!(
            explain(
                "invalid type: string \"x\", expected i64",
                &[Seg::Key("k".into())],
                None
            ),
            "`k` must be an integer, found a string (\"x\")"
        );
    }

    #[test]
    fn remove_innermost() {
        let text = "server = [{ name = 1, address = \"x\" }]\ncheck = { rise = \"2\" }\n";
        let root = DeTable::parse(text).expect("valid TOML");
        let mut section = Spanned::new(0..text.len(), DeValue::Table(root.into_inner()));
        let start = text.find("1,").unwrap();
        let (path, _) = locate(&section, &(start..start + 1));
        assert_eq!(
            remove_innermost_key(&mut section, &path).as_deref(),
            Some("server.0.name")
        );
        let DeValue::Table(t) = section.get_ref() else {
            panic!("a table")
        };
        let server = t.get("server").unwrap().get_ref().as_array().unwrap();
        let entry = server[0].get_ref().as_table().unwrap();
        assert!(entry.get("name").is_none() && entry.get("address").is_some());
    }
}
