//! Writes the outgoing head: the start line as received, the fields minus
//! the hop-by-hop ones (RFC 9110 §7.6.1), `X-Forwarded-For`, and the
//! `Connection` field weir wants on that side. Fields are written as
//! `name: value` from the parsed spans (so whitespace around the colon is
//! normalized), in their original order and case.
//!
//! Removed: `Connection` and every field it names, `Keep-Alive`,
//! `Proxy-Connection`, `TE`; `Transfer-Encoding` and `Trailer` unless the
//! body is forwarded chunked as-is ([`RewriteOptions::keep_transfer_encoding`]:
//! the trailer section then travels with it, so its announcement does too);
//! `Upgrade` unless tunnelling ([`RewriteOptions::keep_upgrade`]).
//!
//! Choices where the RFCs leave room:
//! - `Connection` cannot remove `Host`, `Content-Length` or
//!   `Transfer-Encoding`: a client naming them there would otherwise make
//!   weir strip the framing the server needs (a known desync trick).
//! - `Content-Length` is sent once, with the merged value, at the place of
//!   the first one (duplicates that were identical are merged by the parser).
//! - `X-Forwarded-For`: the client address is appended to the value of the
//!   last existing field (`a, b, <ip>`), or a new field is added last.
//!   IPv6 addresses are written bare, as HAProxy does.

use std::io::Write;
use std::net::IpAddr;

use super::head::{list_elements, Header, Span};
use super::request::RequestHead;
use super::response::ResponseHead;

/// The `Connection` field written on the outgoing side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnectionHeader {
    /// None (HTTP/1.1 default: keep-alive).
    #[default]
    Omit,
    /// `connection: keep-alive` (for an HTTP/1.0 peer).
    KeepAlive,
    /// `connection: close`.
    Close,
    /// `connection: upgrade` (with `keep_upgrade`).
    Upgrade,
}

/// What to change on the way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewriteOptions {
    /// Append this client address to `X-Forwarded-For` (requests only;
    /// ignored for responses).
    pub forwarded_for: Option<IpAddr>,
    /// The `Connection` field to send.
    pub connection: ConnectionHeader,
    /// Keep `Transfer-Encoding` and `Trailer`: the body is forwarded
    /// chunked as-is. False when weir re-frames the body.
    pub keep_transfer_encoding: bool,
    /// Keep `Upgrade`: the exchange becomes a tunnel.
    pub keep_upgrade: bool,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        RewriteOptions {
            forwarded_for: None,
            connection: ConnectionHeader::Omit,
            keep_transfer_encoding: true,
            keep_upgrade: false,
        }
    }
}

/// Appends the rewritten request head to `out`. `buf` is the slice the
/// head was parsed from.
pub fn request_head(head: &RequestHead, buf: &[u8], opts: &RewriteOptions, out: &mut Vec<u8>) {
    request_head_edited(head, buf, opts, &HeadEdits::default(), out);
}

/// [`request_head`] with the edits of `http_request` rules applied.
pub fn request_head_edited(
    head: &RequestHead,
    buf: &[u8],
    opts: &RewriteOptions,
    edits: &HeadEdits<'_>,
    out: &mut Vec<u8>,
) {
    let fields = Fields {
        buf,
        start_line: head.start_line,
        path: Some(head.path),
        headers: &head.headers,
        content_length: head.content_length,
    };
    write_head(&fields, opts, edits, opts.forwarded_for, out);
}

/// Header changes made by `http_request`/`http_response` rules, in rule
/// order: a deletion removes the original fields of that name and the ones
/// added before it; `path` replaces the request's path (the query stays).
/// Names and values are borrowed from the rules (the configuration), not
/// copied per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadEdits<'a> {
    /// Deletions and additions, in order.
    pub ops: Vec<EditOp<'a>>,
    /// A new path for the request line.
    pub path: Option<&'a str>,
}

/// One header change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOp<'a> {
    /// Delete every field of this name (any case).
    Del(&'a str),
    /// Add this field.
    Add(&'a str, &'a str),
}

impl HeadEdits<'_> {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.path.is_none()
    }

    /// Whether an operation from index `after` on deletes header `name`.
    pub fn deletes(&self, name: &[u8], after: usize) -> bool {
        self.ops[after..]
            .iter()
            .any(|op| matches!(op, EditOp::Del(n) if n.as_bytes().eq_ignore_ascii_case(name)))
    }
}

/// Appends the rewritten response head to `out`.
pub fn response_head(head: &ResponseHead, buf: &[u8], opts: &RewriteOptions, out: &mut Vec<u8>) {
    response_head_edited(head, buf, opts, &HeadEdits::default(), out);
}

/// [`response_head`] with the edits of `http_response` rules applied.
pub fn response_head_edited(
    head: &ResponseHead,
    buf: &[u8],
    opts: &RewriteOptions,
    edits: &HeadEdits<'_>,
    out: &mut Vec<u8>,
) {
    let fields = Fields {
        buf,
        start_line: head.start_line,
        path: None,
        headers: &head.headers,
        content_length: head.content_length,
    };
    write_head(&fields, opts, edits, None, out);
}

struct Fields<'a> {
    buf: &'a [u8],
    start_line: Span,
    /// The request path within the start line (requests only).
    path: Option<Span>,
    headers: &'a [Header],
    content_length: Option<u64>,
}

fn write_head(
    f: &Fields<'_>,
    opts: &RewriteOptions,
    edits: &HeadEdits<'_>,
    xff: Option<IpAddr>,
    out: &mut Vec<u8>,
) {
    let buf = f.buf;
    let last_xff = f
        .headers
        .iter()
        .rposition(|h| h.is(buf, "x-forwarded-for") && !edits.deletes(b"x-forwarded-for", 0));
    let mut cl_written = false;
    let named = ConnectionNames::of(buf, f.headers);

    match (&edits.path, f.path) {
        (Some(new), Some(p)) if p.start >= f.start_line.start && p.end <= f.start_line.end => {
            out.extend_from_slice(buf.get(f.start_line.start..p.start).unwrap_or(b""));
            out.extend_from_slice(new.as_bytes());
            out.extend_from_slice(buf.get(p.end..f.start_line.end).unwrap_or(b""));
        }
        _ => out.extend_from_slice(f.start_line.get(buf)),
    }
    out.extend_from_slice(b"\r\n");
    for (i, h) in f.headers.iter().enumerate() {
        let name = h.name.get(buf);
        let keep = match Field::of(name) {
            // `TE: trailers` says the client takes trailers: gRPC needs
            // it to reach an HTTP/2 server (HAProxy keeps it too).
            Field::HopByHop if name.len() == 2 => {
                h.value.get(buf).eq_ignore_ascii_case(b"trailers")
                    && !named.names(buf, f.headers, name)
            }
            Field::HopByHop => false,
            Field::Framing => opts.keep_transfer_encoding,
            Field::Upgrade => opts.keep_upgrade,
            Field::ContentLength => {
                if let Some(n) = f.content_length {
                    if !cl_written {
                        cl_written = true;
                        out.extend_from_slice(name);
                        out.extend_from_slice(b": ");
                        out.extend_from_slice(decimal(n, &mut [0; 20]));
                        out.extend_from_slice(b"\r\n");
                    }
                    continue;
                }
                true
            }
            Field::Host => true,
            Field::Other => !named.names(buf, f.headers, name),
        };
        if !keep || edits.deletes(name, 0) {
            continue;
        }
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.get(buf));
        if let (Some(ip), Some(last)) = (xff, last_xff) {
            if i == last {
                let _ = write!(out, ", {ip}");
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    for (i, op) in edits.ops.iter().enumerate() {
        if let EditOp::Add(name, value) = op {
            if !edits.deletes(name.as_bytes(), i + 1) {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if let (Some(ip), None) = (xff, last_xff) {
        let _ = write!(out, "x-forwarded-for: {ip}\r\n");
    }
    out.extend_from_slice(match opts.connection {
        ConnectionHeader::Omit => b"",
        ConnectionHeader::KeepAlive => b"connection: keep-alive\r\n",
        ConnectionHeader::Close => b"connection: close\r\n",
        ConnectionHeader::Upgrade => b"connection: upgrade\r\n",
    });
    out.extend_from_slice(b"\r\n");
}

/// What the rewrite does with a field, by its name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    /// `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE` (but for
    /// `TE: trailers`): removed.
    HopByHop,
    /// `Transfer-Encoding`, `Trailer`: kept only with a chunked body as-is.
    Framing,
    Upgrade,
    ContentLength,
    Host,
    /// Anything else: kept unless `Connection` names it.
    Other,
}

impl Field {
    /// Classifies `name` (any case), looking at its length first so that
    /// most fields cost one comparison at most.
    fn of(name: &[u8]) -> Field {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        match name.len() {
            2 if is("te") => Field::HopByHop,
            4 if is("host") => Field::Host,
            7 if is("trailer") => Field::Framing,
            7 if is("upgrade") => Field::Upgrade,
            10 if is("connection") || is("keep-alive") => Field::HopByHop,
            14 if is("content-length") => Field::ContentLength,
            16 if is("proxy-connection") => Field::HopByHop,
            17 if is("transfer-encoding") => Field::Framing,
            _ => Field::Other,
        }
    }
}

/// `n` in decimal, written at the end of `digits`.
fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[at..];
        }
    }
}

/// The options the `Connection` fields list (other than `keep-alive`,
/// whose field goes anyway), gathered once per head: most heads have none
/// or `close`, and each field is then checked in a comparison or two.
struct ConnectionNames<'a> {
    names: [&'a [u8]; 8],
    len: usize,
    /// More than fit: check against the fields themselves.
    overflow: bool,
}

impl<'a> ConnectionNames<'a> {
    fn of(buf: &'a [u8], headers: &[Header]) -> ConnectionNames<'a> {
        let mut c = ConnectionNames {
            names: [&[]; 8],
            len: 0,
            overflow: false,
        };
        for h in headers.iter().filter(|h| h.is(buf, "connection")) {
            for t in list_elements(h.value.get(buf)) {
                if t.is_empty() || t.eq_ignore_ascii_case(b"keep-alive") {
                    continue;
                }
                match c.names.get_mut(c.len) {
                    Some(slot) => {
                        *slot = t;
                        c.len += 1;
                    }
                    None => c.overflow = true,
                }
            }
        }
        c
    }

    /// Whether a `Connection` field lists `name`.
    fn names(&self, buf: &[u8], headers: &[Header], name: &[u8]) -> bool {
        if self.overflow {
            return named_by_connection(buf, headers, name);
        }
        self.names[..self.len]
            .iter()
            .any(|t| t.len() == name.len() && t.eq_ignore_ascii_case(name))
    }
}

/// Whether a `Connection` field lists `name`.
fn named_by_connection(buf: &[u8], headers: &[Header], name: &[u8]) -> bool {
    headers
        .iter()
        .filter(|h| h.is(buf, "connection"))
        .any(|h| list_elements(h.value.get(buf)).any(|t| t.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_classified_by_name_in_any_case() {
        use super::Field;
        for (name, want) in [
            ("TE", Field::HopByHop),
            ("connection", Field::HopByHop),
            ("Keep-Alive", Field::HopByHop),
            ("proxy-connection", Field::HopByHop),
            ("Transfer-Encoding", Field::Framing),
            ("trailer", Field::Framing),
            ("UPGRADE", Field::Upgrade),
            ("content-length", Field::ContentLength),
            ("Host", Field::Host),
            ("Hosts", Field::Other),
            ("x-te", Field::Other),
            ("connectionx", Field::Other),
        ] {
            assert_eq!(Field::of(name.as_bytes()), want, "{name}");
        }
        for n in [0u64, 7, 10, 64, 1_000_000, u64::MAX] {
            assert_eq!(super::decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }

    #[test]
    fn connection_names_beyond_the_inline_ones_still_remove_fields() {
        let names: Vec<String> = (0..12).map(|i| format!("x-h{i}")).collect();
        let mut raw = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, {}\r\n",
            names.join(", ")
        );
        for n in &names {
            raw.push_str(&format!("{n}: v\r\n"));
        }
        raw.push_str("X-Kept: y\r\n\r\n");
        let out = rewrite_req(raw.as_bytes(), RewriteOptions::default());
        for n in &names {
            assert!(!out.contains(&format!("{n}:")), "{n} in {out}");
        }
        assert!(out.contains("X-Kept: y\r\n"), "{out}");
    }

    use super::*;
    use crate::http::{RequestParser, ResponseContext, ResponseParser};

    fn rewrite_req(raw: &[u8], opts: RewriteOptions) -> String {
        let head = RequestParser::new(8192).parse(raw).unwrap().unwrap();
        let mut out = Vec::new();
        request_head(&head, raw, &opts, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn edits_in_rule_order_and_new_path() {
        let raw = b"GET /old?q=1 HTTP/1.1\r\nHost: h\r\nX-Drop: 1\r\nX-Keep: 2\r\n\r\n";
        let head = RequestParser::new(8192).parse(raw).unwrap().unwrap();
        let edits = HeadEdits {
            ops: vec![
                EditOp::Add("X-A", "1"),
                EditOp::Del("x-drop"),
                EditOp::Del("x-a"),
                EditOp::Add("X-A", "2"),
            ],
            path: Some("/new"),
        };
        let mut out = Vec::new();
        request_head_edited(&head, raw, &RewriteOptions::default(), &edits, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /new?q=1 HTTP/1.1\r\nHost: h\r\nX-Keep: 2\r\nX-A: 2\r\n\r\n"
        );
    }

    #[test]
    fn hop_by_hop_removed_end_to_end_kept() {
        let raw = b"GET /p?q HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret, Upgrade\r\n\
            Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\n\
            X-Secret: s\r\nUpgrade: websocket\r\nTE: trailers\r\nAccept:   */*  \r\n\r\n";
        let out = rewrite_req(raw, RewriteOptions::default());
        assert_eq!(
            out,
            "GET /p?q HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn tunnel_keeps_upgrade_and_sets_connection() {
        let raw =
            b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        let opts = RewriteOptions {
            keep_upgrade: true,
            connection: ConnectionHeader::Upgrade,
            ..RewriteOptions::default()
        };
        let out = rewrite_req(raw, opts);
        assert_eq!(
            out,
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nconnection: upgrade\r\n\r\n"
        );
    }

    #[test]
    fn transfer_encoding_kept_or_dropped() {
        let raw =
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n";
        let kept = rewrite_req(raw, RewriteOptions::default());
        assert!(kept.contains("Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n"));
        let reframed = RewriteOptions {
            keep_transfer_encoding: false,
            connection: ConnectionHeader::Close,
            ..RewriteOptions::default()
        };
        let out = rewrite_req(raw, reframed);
        assert_eq!(
            out,
            "POST / HTTP/1.1\r\nHost: h\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn connection_cannot_strip_framing() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: Content-Length, Host\r\n\r\n";
        let out = rewrite_req(raw, RewriteOptions::default());
        assert_eq!(
            out,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n"
        );
    }

    #[test]
    fn content_length_sent_once() {
        let raw =
            b"POST / HTTP/1.1\r\ncontent-length: 3, 3\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
        let out = rewrite_req(raw, RewriteOptions::default());
        assert_eq!(
            out,
            "POST / HTTP/1.1\r\ncontent-length: 3\r\nHost: h\r\n\r\n"
        );
    }

    #[test]
    fn forwarded_for_added_or_appended() {
        let v4 = RewriteOptions {
            forwarded_for: Some("192.0.2.7".parse().unwrap()),
            ..RewriteOptions::default()
        };
        let out = rewrite_req(b"GET / HTTP/1.0\r\n\r\n", v4);
        assert_eq!(out, "GET / HTTP/1.0\r\nx-forwarded-for: 192.0.2.7\r\n\r\n");
        let raw = b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nHost: h\r\nx-forwarded-for: 10.0.0.2\r\n\r\n";
        let v6 = RewriteOptions {
            forwarded_for: Some("2001:db8::1".parse().unwrap()),
            connection: ConnectionHeader::KeepAlive,
            ..RewriteOptions::default()
        };
        assert_eq!(
            rewrite_req(raw, v6),
            "GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nHost: h\r\n\
             x-forwarded-for: 10.0.0.2, 2001:db8::1\r\nconnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn response_rewrite_and_reparse() {
        let raw = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
            Transfer-Encoding: chunked\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
        let ctx = ResponseContext::default();
        let head = ResponseParser::new(8192).parse(raw, ctx).unwrap().unwrap();
        let mut out = Vec::new();
        let opts = RewriteOptions {
            forwarded_for: Some("9.9.9.9".parse().unwrap()),
            connection: ConnectionHeader::Close,
            ..RewriteOptions::default()
        };
        response_head(&head, raw, &opts, &mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: 1.2.3.4\r\nconnection: close\r\n\r\n"
        );
        let again = ResponseParser::new(8192).parse(&out, ctx).unwrap().unwrap();
        assert!(!again.keep_alive);
    }
}
