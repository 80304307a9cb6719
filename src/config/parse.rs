//! Stage 1: one file's text into the file model.
//!
//! The TOML is parsed with recovery (every syntax error is reported), every
//! key is checked against [`super::schema`] (every unknown key is reported,
//! with a did-you-mean hint) and removed, then each section is deserialized
//! on its own so that an error in one section does not hide the others.

use serde::de::IntoDeserializer;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diag::{did_you_mean, Loc, Report};
use super::file::{FileModel, KeySpans, Parsed, ProxySection, ResolversSection};
use super::schema::{self, Section};
use super::{syntax_error, type_error};

/// Parses the text of file number `file` (already in `report.sources`) and
/// appends its sections to `model`.
pub(crate) fn parse_file(file: usize, text: &str, model: &mut FileModel, report: &mut Report) {
    let (root, errors) = DeTable::parse_recoverable(text);
    let at = |span: std::ops::Range<usize>| Loc { file, span };
    for e in &errors {
        model.syntax_errors = true;
        let span = e.span().unwrap_or(0..0);
        let rest = text.get(span.start..).unwrap_or_default();
        let line = rest.split('\n').next().unwrap_or_default();
        report.error(&at(span), syntax_error::explain(e.message(), line));
    }
    if !errors.is_empty() {
        // What the parser recovered is a guess: checking it would only add noise.
        return;
    }
    let mut proxies = Vec::new();
    for (key, value) in root.into_inner() {
        let key_loc = at(key.span());
        match key.get_ref().as_ref() {
            "global" => {
                let parsed = section(Section::Global, "global", key_loc, value, report);
                model.global.push(parsed);
            }
            "defaults" => {
                let parsed = section(Section::Defaults, "defaults", key_loc, value, report);
                model.defaults.push(parsed);
            }
            word @ ("frontend" | "backend" | "listen" | "resolvers") => {
                let kind = match word {
                    "frontend" => Section::Frontend,
                    "backend" => Section::Backend,
                    "resolvers" => Section::Resolvers,
                    _ => Section::Listen,
                };
                let span = value.span();
                let DeValue::Table(named) = value.into_inner() else {
                    report.error(
                        &at(span),
                        format!(
                            "`{word}` must hold named sections, such as [{word}.NAME]; \
                             found a value"
                        ),
                    );
                    continue;
                };
                for (name, body) in named {
                    let name_loc = at(name.span());
                    let name = name.into_inner().into_owned();
                    let label = format!("{word}.{name}");
                    if kind == Section::Resolvers {
                        let parsed = section(kind, &label, name_loc, body, report);
                        model.resolvers.push(ResolversSection { name, parsed });
                        continue;
                    }
                    let parsed = section(kind, &label, name_loc, body, report);
                    proxies.push(ProxySection { kind, name, parsed });
                }
            }
            other => report.error(&key_loc, top_level_message(other)),
        }
    }
    proxies.sort_by_key(|p| p.parsed.loc.span.start);
    model.proxies.extend(proxies);
}

/// Why a top-level key is wrong, with the best hint available.
fn top_level_message(key: &str) -> String {
    let owners: Vec<&str> = Section::ALL
        .iter()
        .filter(|s| s.accepts(key))
        .map(|s| s.heading())
        .collect();
    if owners.is_empty() {
        format!(
            "unknown section `{key}`; expected global, defaults, frontend, backend, listen \
             or resolvers{}",
            did_you_mean(key, schema::TOP.iter().copied())
        )
    } else {
        format!(
            "key `{key}` is outside any section; it belongs in {}",
            owners.join(" or ")
        )
    }
}

/// Checks the keys of one section, then deserializes it.
fn section<T: for<'de> Deserialize<'de>>(
    kind: Section,
    label: &str,
    loc: Loc,
    mut value: Spanned<DeValue<'_>>,
    report: &mut Report,
) -> Parsed<T> {
    let mut keys = KeySpans::new();
    let mut hinted = Vec::new();
    if let DeValue::Array(_) = value.get_ref() {
        report.error(
            &loc,
            format!("[[{label}]] declares a list of tables: write [{label}] (one section)"),
        );
        return Parsed {
            loc,
            keys,
            body: None,
            hinted,
        };
    }
    if let DeValue::Table(table) = value.get_mut() {
        let mut ck = Checker {
            file: loc.file,
            report,
            keys: &mut keys,
            hinted: &mut hinted,
        };
        ck.section(kind, label, table);
    }
    let body = deserialize(label, &loc, value, &mut hinted, report);
    Parsed {
        loc,
        keys,
        body,
        hinted,
    }
}

/// Deserializes a section, reporting every type error in the user's words
/// ([`type_error`]): after an error the innermost key it lies under is
/// dropped (and exempt from "missing key" errors) and the section is tried
/// again, so that one bad value hides nothing else.
fn deserialize<T: for<'de> Deserialize<'de>>(
    label: &str,
    loc: &Loc,
    mut value: Spanned<DeValue<'_>>,
    dropped: &mut Vec<String>,
    report: &mut Report,
) -> Option<T> {
    loop {
        let e = match T::deserialize(value.clone().into_deserializer()) {
            Ok(body) => return Some(body),
            Err(e) => e,
        };
        let span = e.span().unwrap_or(loc.span.clone());
        let (path, found) = type_error::locate(&value, &span);
        let message = type_error::explain(e.message(), &path, found);
        let at = Loc {
            file: loc.file,
            span,
        };
        report.error(&at, format!("in [{label}]: {message}"));
        match type_error::remove_innermost_key(&mut value, &path) {
            Some(key) => dropped.push(key),
            None => return None,
        }
    }
}

/// The unknown-key walk over one section.
struct Checker<'a> {
    file: usize,
    report: &'a mut Report,
    keys: &'a mut KeySpans,
    hinted: &'a mut Vec<String>,
}

impl Checker<'_> {
    fn section(&mut self, kind: Section, label: &str, table: &mut DeTable<'_>) {
        let mut unknown = Vec::new();
        for (key, value) in table.iter_mut() {
            let name: &str = key.get_ref().as_ref();
            self.keys.insert(name.to_string(), key.span());
            if !kind.accepts(name) {
                let hint = did_you_mean(name, kind.keys());
                let msg = if let Some(h) = hint_key(&hint) {
                    self.hinted.push(h.to_string());
                    format!("unknown key `{name}` in [{label}]{hint}")
                } else {
                    let owners: Vec<&str> = Section::ALL
                        .iter()
                        .filter(|s| s.accepts(name))
                        .map(|s| s.heading())
                        .collect();
                    if owners.is_empty() {
                        format!("unknown key `{name}` in [{label}]")
                    } else {
                        format!(
                            "key `{name}` is not allowed in [{label}]; it belongs in {}",
                            owners.join(" or ")
                        )
                    }
                };
                self.error(key.span(), msg);
                unknown.push(name.to_string());
                continue;
            }
            let Some(sub) = schema::nested(kind, name) else {
                continue;
            };
            match value.get_mut() {
                DeValue::Table(t) => {
                    let what = format!("`{name}` of [{label}]");
                    self.nested(sub, name, name, &what, t);
                }
                DeValue::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        if let DeValue::Table(t) = item.get_mut() {
                            let what = format!("a `{name}` entry of [{label}]");
                            self.nested(sub, name, &format!("{name}.{i}"), &what, t);
                        }
                    }
                }
                _ => {}
            }
        }
        for k in &unknown {
            table.remove(k.as_str());
        }
    }

    /// Checks the keys of a table nested under the section key `parent`;
    /// `prefix` is the table's dotted path (`server.0`, `http_request.1.return`).
    fn nested(
        &mut self,
        allowed: &[&str],
        parent: &str,
        prefix: &str,
        what: &str,
        table: &mut DeTable<'_>,
    ) {
        let mut unknown = Vec::new();
        for (key, value) in table.iter_mut() {
            let name: &str = key.get_ref().as_ref();
            self.keys.insert(format!("{prefix}.{name}"), key.span());
            if !allowed.contains(&name) {
                if let Some(why) = schema::misplaced(parent, name) {
                    self.hinted.push(format!("{prefix}.{name}"));
                    self.error(
                        key.span(),
                        format!("`{name}` is not allowed in {what}: {why}"),
                    );
                    unknown.push(name.to_string());
                    continue;
                }
                let hint = did_you_mean(name, allowed.iter().copied());
                if let Some(h) = hint_key(&hint) {
                    self.hinted.push(format!("{prefix}.{h}"));
                }
                self.error(key.span(), format!("unknown key `{name}` in {what}{hint}"));
                unknown.push(name.to_string());
                continue;
            }
            if let (Some(sub), DeValue::Table(t)) =
                (schema::nested_deeper(parent, name), value.get_mut())
            {
                let what = format!("`{name}` of {what}");
                self.nested(sub, parent, &format!("{prefix}.{name}"), &what, t);
            }
        }
        for k in &unknown {
            table.remove(k.as_str());
        }
    }

    fn error(&mut self, span: std::ops::Range<usize>, msg: String) {
        let loc = Loc {
            file: self.file,
            span,
        };
        self.report.error(&loc, msg);
    }
}

/// The key suggested in a did-you-mean hint, if any.
fn hint_key(hint: &str) -> Option<&str> {
    hint.split('`').nth(1)
}
