//! HTTP semantics of HTTP/2 messages (RFC 9113 §8): a decoded field list
//! checked into a [`Request`] or a [`Response`], or refused as malformed
//! (a stream error PROTOCOL_ERROR, §8.1.1), and the content-length check
//! against DATA ([`BodyLength`]).
//!
//! Checked for every field section (head or trailers):
//! - names: no upper case, no byte outside visible ASCII, no colon but a
//!   pseudo-header's first (§8.2.1); values: no NUL, CR or LF, no leading
//!   or trailing space or tab;
//! - pseudo-header fields all first, each known and at most once, none in
//!   trailers (§8.3);
//! - connection-specific fields refused (§8.2.2): `connection`,
//!   `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, and
//!   `te` other than `trailers`.
//!
//! Requests: `:method`; then either CONNECT with `:authority` alone
//! (§8.5), or `:scheme` and a non-empty `:path` (starting with `/`, or `*`
//! for OPTIONS); an `http`/`https` request has `:authority` or `Host`, and
//! both name the same authority (§8.3.1); no userinfo; `:protocol`
//! (extended CONNECT, RFC 8441) is refused for now. Responses: `:status`,
//! three digits, not 101 (§8.6). `content-length`: digits, several values
//! equal.
//!
//! A [`Request`] refers to its fields by index in the [`HeaderList`] it
//! was checked from: no copy.

use super::error::{ErrorCode, StreamError};
use super::fields::HeaderList;

/// Why a message is malformed (the reason, for the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl Malformed {
    /// The stream error it is (§8.1.1: PROTOCOL_ERROR).
    pub fn on(self, stream: u32) -> StreamError {
        StreamError {
            stream,
            code: ErrorCode::PROTOCOL_ERROR,
            reason: self.0,
        }
    }
}

type Result<T> = std::result::Result<T, Malformed>;

/// A checked request head: indices of its fields in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// `:method`.
    pub method: usize,
    /// `:scheme` (absent for CONNECT).
    pub scheme: Option<usize>,
    /// `:authority`.
    pub authority: Option<usize>,
    /// `:path` (absent for CONNECT).
    pub path: Option<usize>,
    /// The first regular field: fields from here are `name: value`.
    pub first_field: usize,
    /// The `content-length` value, if any.
    pub content_length: Option<u64>,
    /// A `host` field.
    pub host: Option<usize>,
    /// The method is CONNECT.
    pub connect: bool,
}

/// A checked response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The first regular field.
    pub first_field: usize,
    /// The `content-length` value, if any.
    pub content_length: Option<u64>,
}

/// The value of field `i` (empty if out of range).
pub fn value(list: &HeaderList, i: usize) -> &[u8] {
    list.get(i).map_or(&[][..], |(_, v)| v)
}

/// What the regular fields of a section say.
#[derive(Default)]
struct Regular {
    content_length: Option<u64>,
    host: Option<usize>,
}

/// Checks the regular fields from `from` on.
fn regular(list: &HeaderList, from: usize) -> Result<Regular> {
    let mut r = Regular::default();
    for (i, (name, value)) in list.iter().enumerate().skip(from) {
        check_field(name, value)?;
        match name {
            [b':', ..] => return Err(Malformed("pseudo-header after a regular field")),
            b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding"
            | b"upgrade" => return Err(Malformed("connection-specific field")),
            b"te" if value != b"trailers" => return Err(Malformed("TE other than trailers")),
            b"content-length" => {
                for v in value.split(|&b| b == b',') {
                    let n = decimal(trim(v)).ok_or(Malformed("invalid content-length"))?;
                    if r.content_length.is_some_and(|m| m != n) {
                        return Err(Malformed("conflicting content-length"));
                    }
                    r.content_length = Some(n);
                }
            }
            b"host" if r.host.is_some() => return Err(Malformed("several host fields")),
            b"host" => r.host = Some(i),
            _ => {}
        }
    }
    Ok(r)
}

/// §8.2.1 on one field.
fn check_field(name: &[u8], value: &[u8]) -> Result<()> {
    let body = name.strip_prefix(b":").unwrap_or(name);
    if body.is_empty()
        || !body
            .iter()
            .all(|&b| (0x21..0x7f).contains(&b) && b != b':' && !b.is_ascii_uppercase())
    {
        return Err(Malformed("invalid field name"));
    }
    if value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
        || matches!(value.first(), Some(b' ' | b'\t'))
        || matches!(value.last(), Some(b' ' | b'\t'))
    {
        return Err(Malformed("invalid field value"));
    }
    Ok(())
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))?
    })
}

fn once(slot: &mut Option<usize>, i: usize) -> Result<()> {
    if slot.replace(i).is_some() {
        return Err(Malformed("repeated pseudo-header"));
    }
    Ok(())
}

impl Request {
    /// Checks a request head's fields.
    pub fn parse(list: &HeaderList) -> Result<Request> {
        let (mut method, mut scheme, mut authority, mut path) = (None, None, None, None);
        let mut first_field = list.len();
        for (i, (name, value)) in list.iter().enumerate() {
            if !name.starts_with(b":") {
                first_field = i;
                break;
            }
            check_field(name, value)?;
            match name {
                b":method" => once(&mut method, i)?,
                b":scheme" => once(&mut scheme, i)?,
                b":authority" => once(&mut authority, i)?,
                b":path" => once(&mut path, i)?,
                b":protocol" => return Err(Malformed("extended CONNECT is not supported")),
                _ => return Err(Malformed("unknown or response pseudo-header")),
            }
        }
        let method = method.ok_or(Malformed("missing :method"))?;
        let m = value(list, method);
        if m.is_empty() || !m.iter().all(|&b| is_tchar(b)) {
            return Err(Malformed("invalid :method"));
        }
        let rest = regular(list, first_field)?;
        let connect = m == b"CONNECT";
        if connect {
            if scheme.is_some() || path.is_some() {
                return Err(Malformed("CONNECT with :scheme or :path"));
            }
            authority.ok_or(Malformed("CONNECT without :authority"))?;
        } else {
            let s = value(list, scheme.ok_or(Malformed("missing :scheme"))?);
            let valid_scheme = matches!(s.first(), Some(c) if c.is_ascii_alphabetic())
                && s.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
            if !valid_scheme {
                return Err(Malformed("invalid :scheme"));
            }
            let p = value(list, path.ok_or(Malformed("missing :path"))?);
            let form_ok = p.starts_with(b"/") || (p == b"*" && m == b"OPTIONS");
            if !form_ok || !p.iter().all(|&b| (0x21..0x7f).contains(&b) && b != b'#') {
                return Err(Malformed("invalid :path"));
            }
            if (s == b"http" || s == b"https") && authority.is_none() && rest.host.is_none() {
                return Err(Malformed("no :authority nor host"));
            }
        }
        if let Some(a) = authority {
            let a = value(list, a);
            if a.contains(&b'@')
                || !a
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b))
            {
                return Err(Malformed("invalid :authority"));
            }
            if let Some(h) = rest.host {
                if !value(list, h).eq_ignore_ascii_case(a) {
                    return Err(Malformed(":authority and host differ"));
                }
            }
        }
        Ok(Request {
            method,
            scheme,
            authority,
            path,
            first_field,
            content_length: rest.content_length,
            host: rest.host,
            connect,
        })
    }

    /// The authority: `:authority`, else `host`.
    pub fn authority<'l>(&self, list: &'l HeaderList) -> Option<&'l [u8]> {
        self.authority.or(self.host).map(|i| value(list, i))
    }
}

impl Response {
    /// Checks a response head's fields.
    pub fn parse(list: &HeaderList) -> Result<Response> {
        let mut status = None;
        let mut first_field = list.len();
        for (i, (name, v)) in list.iter().enumerate() {
            if !name.starts_with(b":") {
                first_field = i;
                break;
            }
            check_field(name, v)?;
            match name {
                b":status" => once(&mut status, i)?,
                _ => return Err(Malformed("unknown or request pseudo-header")),
            }
        }
        let s = value(list, status.ok_or(Malformed("missing :status"))?);
        let code = match s {
            [a, b, c] if s.iter().all(u8::is_ascii_digit) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err(Malformed("invalid :status")),
        };
        if !(100..=599).contains(&code) || code == 101 {
            return Err(Malformed("invalid :status"));
        }
        let rest = regular(list, first_field)?;
        Ok(Response {
            status: code,
            first_field,
            content_length: rest.content_length,
        })
    }
}

/// Checks a trailer section: no pseudo-header, the field rules.
pub fn check_trailers(list: &HeaderList) -> Result<()> {
    regular(list, 0).map(|_| ())
}

/// The content-length of a message against the DATA that came (§8.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyLength {
    expected: Option<u64>,
    received: u64,
}

impl BodyLength {
    /// For a message announcing `content_length` (not to be used for a
    /// response to HEAD, nor a 204 or 304, whose length says nothing of
    /// their empty body).
    pub fn new(content_length: Option<u64>) -> BodyLength {
        BodyLength {
            expected: content_length,
            received: 0,
        }
    }

    /// `n` more bytes of DATA: more than announced is malformed.
    pub fn data(&mut self, n: usize) -> Result<()> {
        self.received = self.received.saturating_add(n as u64);
        match self.expected {
            Some(e) if self.received > e => Err(Malformed("DATA over content-length")),
            _ => Ok(()),
        }
    }

    /// END_STREAM: fewer bytes than announced is malformed.
    pub fn end(&self) -> Result<()> {
        match self.expected {
            Some(e) if self.received != e => Err(Malformed("DATA under content-length")),
            _ => Ok(()),
        }
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
#[path = "semantics_tests.rs"]
mod tests;
