//! Compiling a custom format string into pieces ([`super::Format`]),
//! with HAProxy's syntax: `%NAME`, `%{+Q,-E}NAME`, `%[sample]`, `%{…}o`
//! (flags for every later field), `%%` (a percent sign); a run of spaces
//! is one separator. Every error is kept, at the byte offset of its `%`
//! (or of the bad flag), for `weir -c` to turn into FILE:LINE:COL.

use super::alias::{self, Entry};
use super::{Field, Flags, Format, Piece};
use crate::config::diag::did_you_mean;

/// What is wrong at `offset` bytes into the format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub offset: usize,
    pub message: String,
}

struct Compiler<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Flags set by `%{…}o`.
    global: Flags,
    out: Format,
    errors: Vec<FormatError>,
}

pub(super) fn compile(text: &str) -> Result<Format, Vec<FormatError>> {
    let mut c = Compiler {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        global: Flags::default(),
        out: Format {
            text: text.to_string(),
            lits: String::new(),
            pieces: Vec::new(),
        },
        errors: Vec::new(),
    };
    while c.pos < c.bytes.len() {
        match c.bytes[c.pos] {
            b' ' => {
                while c.bytes.get(c.pos) == Some(&b' ') {
                    c.pos += 1;
                }
                c.out.pieces.push(Piece::Sep);
            }
            b'%' => c.percent(),
            _ => c.literal(),
        }
    }
    match c.errors.is_empty() {
        true => Ok(c.out),
        false => Err(c.errors),
    }
}

impl Compiler<'_> {
    fn error(&mut self, offset: usize, message: String) {
        self.errors.push(FormatError { offset, message });
    }

    /// Literal text up to the next space or `%`.
    fn literal(&mut self) {
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == b' ' || b == b'%')
            .unwrap_or(self.bytes.len() - start);
        self.pos += len;
        let text = &self.text[start..self.pos];
        if let Some((i, c)) = text.char_indices().find(|(_, c)| c.is_control()) {
            let msg = format!(
                "control character U+{:04X} in log_format: a log line is one line of text",
                c as u32
            );
            self.error(start + i, msg);
        }
        self.push_text(text);
    }

    fn push_text(&mut self, text: &str) {
        let start = self.out.lits.len() as u32;
        self.out.lits.push_str(text);
        let end = self.out.lits.len() as u32;
        match self.out.pieces.last_mut() {
            Some(Piece::Text { end: e, .. }) if *e == start => *e = end,
            _ => self.out.pieces.push(Piece::Text { start, end }),
        }
    }

    /// `%…` at `self.pos`.
    fn percent(&mut self) {
        let at = self.pos;
        self.pos += 1;
        if self.bytes.get(self.pos) == Some(&b'%') {
            self.pos += 1;
            self.push_text("%");
            return;
        }
        let mut flags = self.global;
        if self.bytes.get(self.pos) == Some(&b'{') {
            match self.flags(&mut flags) {
                Some(()) => {}
                None => return,
            }
        }
        let entry = if self.bytes.get(self.pos) == Some(&b'[') {
            self.sample(at)
        } else {
            self.alias(at, flags)
        };
        if let Some(e) = entry {
            self.out.pieces.push(Piece::Field(Field {
                alias: e.alias,
                kind: e.kind,
                flags,
                http: e.http,
                at: at as u32,
            }));
        }
    }

    /// `{+Q,-E}` at `self.pos`, applied to `flags`; `None` (reported) if
    /// the braces do not close.
    fn flags(&mut self, flags: &mut Flags) -> Option<()> {
        let open = self.pos;
        let Some(len) = self.bytes[open..].iter().position(|&b| b == b'}') else {
            let msg = "`%{` without its closing `}`: flags are written %{+Q}NAME".to_string();
            self.error(open, msg);
            self.pos = self.bytes.len();
            return None;
        };
        let close = open + len;
        let mut item_start = open + 1;
        for item in self.text[open + 1..close].split(',') {
            let offset = item_start;
            item_start += item.len() + 1;
            let on = match item.as_bytes().first() {
                Some(b'+') => true,
                Some(b'-') => false,
                _ => {
                    let msg = format!(
                        "invalid flag \"{item}\": expected +Q (quote), +E (escape) or +X (hex), \
                         or - to remove one"
                    );
                    self.error(offset, msg);
                    continue;
                }
            };
            match &item[1..] {
                "Q" => flags.quote = on,
                "E" => flags.escape = on,
                "X" => flags.hex = on,
                other => {
                    let msg = format!(
                        "unknown flag \"{other}\": expected Q (quote), E (escape) or X (hex)"
                    );
                    self.error(offset + 1, msg);
                }
            }
        }
        self.pos = close + 1;
        Some(())
    }

    /// `%[EXPR]` at `self.pos`: only the expressions of `httpslog`.
    fn sample(&mut self, at: usize) -> Option<&'static Entry> {
        let open = self.pos;
        let Some(len) = self.bytes[open..].iter().position(|&b| b == b']') else {
            let msg = "`%[` without its closing `]`".to_string();
            self.error(at, msg);
            self.pos = self.bytes.len();
            return None;
        };
        self.pos = open + len + 1;
        let expr = &self.text[open + 1..open + len];
        let found = alias::sample(expr);
        if found.is_none() {
            let known: Vec<&str> = alias::SAMPLES.iter().map(|e| e.name).collect();
            let msg = format!(
                "sample expression %[{expr}] is not supported: weir knows only those of \
                 httpslog ({}){}",
                known.join(", "),
                did_you_mean(expr, known.iter().copied())
            );
            self.error(at, msg);
        }
        found
    }

    /// `%NAME` at `self.pos` (a run of letters and digits, as HAProxy
    /// reads it); `%{…}o` sets the flags of every later field.
    fn alias(&mut self, at: usize, flags: Flags) -> Option<&'static Entry> {
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(self.bytes.len() - start);
        self.pos += len;
        let name = &self.text[start..self.pos];
        if name.is_empty() {
            let msg = "`%` must be followed by an alias such as %ci, flags such as %{+Q}r, or \
                       a second `%` for a percent sign"
                .to_string();
            self.error(at, msg);
            return None;
        }
        if name == "o" {
            self.global = flags;
            return None;
        }
        let found = alias::alias(name);
        if found.is_none() {
            let msg = if alias::NOT_PROVIDED.contains(&name) {
                format!("alias %{name} is not supported by weir (see the list of aliases)")
            } else {
                let names = alias::ALIASES.iter().map(|e| e.name);
                let hint = did_you_mean(name, names).replacen('`', "`%", 1);
                format!("unknown alias %{name}{hint}")
            };
            self.error(at, msg);
        }
        found
    }
}
