//! Log formats: the named layouts and custom strings of HAProxy `%`
//! aliases, compiled once at configuration load into a list of pieces,
//! rendered per line into the logger's reused buffer.
//!
//! ```text
//!  "%ci [%tr] %{+Q}r"  ──compile (parse.rs)──▶  [Field(ci) Sep Text("[") Field(tr)
//!                                               Text("]") Sep Field(r, +Q)]
//!  Record + pieces     ──render (render.rs)──▶  127.0.0.1 [21/Nov/2026:…] "GET / HTTP/1.1"
//! ```
//!
//! A piece is literal text, a separator (a run of spaces in the string:
//! one space, unless nothing was written since the last separator, as
//! HAProxy does so that an empty `%hr` leaves no double space), or a field
//! (an alias of [`alias::ALIASES`] with its flags: `+Q` quotes text
//! fields, `+E` escapes `"`, `\` and `]` with a backslash, `+X` writes the
//! client's address and port in hex; `%{…}o` applies flags to every field
//! after it). Rendering a piece appends to the caller's buffer and
//! allocates nothing.
//!
//! `tcplog` and `httplog` have hand-written renderers ([`super::tcplog`],
//! [`super::httplog`]); `httpslog` is HAProxy's own definition compiled
//! here once per process; `json` is [`super::json`].

pub mod alias;
mod parse;
mod render;

pub use parse::FormatError;

use super::record::Record;
use crate::config::model::LogFormat;
use alias::{Alias, Kind};
use std::sync::OnceLock;

/// HAProxy 2.6's definition of `httpslog`.
pub const HTTPSLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc \
     %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r \
     %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] \
     %[ssl_fc_sni]/%sslv/%sslc";

/// A compiled custom format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// The string as written.
    text: String,
    /// The literal pieces' text, back to back.
    lits: String,
    pieces: Vec<Piece>,
}

/// One piece of a compiled format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// `lits[start..end]`.
    Text {
        start: u32,
        end: u32,
    },
    /// A run of spaces.
    Sep,
    Field(Field),
}

/// An alias and how to write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    alias: Alias,
    kind: Kind,
    flags: Flags,
    /// HTTP only (HAProxy's `H`).
    http: bool,
    /// Byte offset of its `%` in the string.
    at: u32,
}

/// `%{+Q,+E,+X}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    quote: bool,
    escape: bool,
    hex: bool,
}

impl Format {
    /// Compiles `text`; every error found, each at its byte offset.
    pub fn compile(text: &str) -> Result<Format, Vec<FormatError>> {
        parse::compile(text)
    }

    /// The string as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends the line for `r` to `out`.
    pub fn write(&self, r: &Record, out: &mut Vec<u8>) {
        render::write(self, r, out);
    }

    /// The HTTP-only aliases it uses (name and byte offset of the `%`),
    /// which show nothing useful in a TCP-mode proxy.
    pub fn http_only(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) if f.http => Some((name_of(f.alias), f.at as usize)),
            _ => None,
        })
    }

    /// Whether it shows captured headers (`%hr`, `%hs`).
    pub fn uses_captures(&self) -> bool {
        self.pieces.iter().any(|p| {
            matches!(p, Piece::Field(f) if matches!(f.alias, Alias::ReqHeaders | Alias::ResHeaders))
        })
    }
}

/// The name an alias is written with (the first entry naming it).
fn name_of(a: Alias) -> &'static str {
    alias::ALIASES
        .iter()
        .chain(alias::SAMPLES)
        .find(|e| e.alias == a)
        .map_or("?", |e| e.name)
}

/// `httpslog`, compiled on first use.
pub fn httpslog() -> &'static Format {
    static F: OnceLock<Format> = OnceLock::new();
    F.get_or_init(|| match Format::compile(HTTPSLOG) {
        Ok(f) => f,
        // A constant, tested below: cannot fail.
        Err(_) => Format {
            text: String::new(),
            lits: String::new(),
            pieces: Vec::new(),
        },
    })
}

/// Appends the line of `r` in `format` to `out` (without a newline);
/// allocates nothing when `out` has room.
pub fn write(format: &LogFormat, r: &Record, out: &mut Vec<u8>) {
    match format {
        LogFormat::TcpLog => super::tcplog::write(r, out),
        LogFormat::HttpLog => super::httplog::write(r, out),
        LogFormat::HttpsLog => httpslog().write(r, out),
        LogFormat::Json => super::json::write(r, out),
        LogFormat::Custom(f) => f.write(r, out),
    }
}

#[cfg(test)]
mod tests;
