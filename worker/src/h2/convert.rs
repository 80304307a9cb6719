//! HTTP/2 ⇄ HTTP/1.1 message heads and bodies, so that an h2 stream goes
//! through weir's HTTP/1 analysers, rules and parsers unchanged:
//!
//! - client side: [`to_h1_request`] writes a checked h2 request as the
//!   HTTP/1.1 head `http::RequestParser` reads (`GET /p HTTP/1.1`, `host`
//!   first, `cookie` crumbs joined, `transfer-encoding: chunked` when a
//!   body of unknown length follows); [`response_fields`] turns the
//!   HTTP/1.1 response head `http::ResponseParser` parsed into h2 fields
//!   (`:status`, names lower-cased, connection-specific fields dropped);
//! - server side (h2 to a server, gRPC): [`request_fields`] from an
//!   HTTP/1.1 request head, [`to_h1_response`] from an h2 response;
//! - bodies: [`chunk_header`] / [`last_chunk`] frame DATA as chunks;
//!   [`Dechunker`] takes the chunk framing off an HTTP/1.1 body for DATA
//!   and finds its trailers ([`trailer_fields`]).

use std::io::Write;

use super::fields::HeaderList;
use super::semantics::{value, Malformed, Request, Response};
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::http::head::{list_elements, trim_ows};
use crate::http::{Framing, Method, RequestHead, ResponseHead, TargetForm};

/// How the body of a converted HTTP/1.1 message is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// `content-length`: DATA bytes as they are.
    Length(u64),
    /// `transfer-encoding: chunked`: each DATA frame a chunk.
    Chunked,
}

/// Whether an HTTP/1.1 field is connection-specific (never in HTTP/2).
fn hop_by_hop(name: &[u8]) -> bool {
    [
        &b"connection"[..],
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"te",
        b"host",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

/// Writes the HTTP/1.1 head of a checked h2 request into `out`.
/// `end_stream`: the HEADERS frame ended the stream (no body).
pub fn to_h1_request(
    req: &Request,
    list: &HeaderList,
    end_stream: bool,
    out: &mut Vec<u8>,
) -> BodyFraming {
    out.extend_from_slice(value(list, req.method));
    out.push(b' ');
    match req.path {
        Some(p) => out.extend_from_slice(value(list, p)),
        None => out.extend_from_slice(req.authority(list).unwrap_or_default()),
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if let Some(a) = req.authority(list) {
        field(out, b"host", a);
    }
    let mut cookie_done = false;
    for (name, v) in list.iter().skip(req.first_field) {
        match name {
            b"host" | b"te" | b"content-length" => {}
            b"cookie" if cookie_done => {}
            b"cookie" => {
                // §8.2.3: crumbs joined with "; " for HTTP/1.1.
                cookie_done = true;
                out.extend_from_slice(b"cookie: ");
                let crumbs = list
                    .iter()
                    .skip(req.first_field)
                    .filter(|(n, _)| *n == b"cookie");
                for (k, (_, c)) in crumbs.enumerate() {
                    if k > 0 {
                        out.extend_from_slice(b"; ");
                    }
                    out.extend_from_slice(c);
                }
                out.extend_from_slice(b"\r\n");
            }
            _ => field(out, name, v),
        }
    }
    let framing = match req.content_length {
        Some(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
            BodyFraming::Length(n)
        }
        None if end_stream => BodyFraming::None,
        None => {
            field(out, b"transfer-encoding", b"chunked");
            BodyFraming::Chunked
        }
    };
    out.extend_from_slice(b"\r\n");
    framing
}

fn field(out: &mut Vec<u8>, name: &[u8], v: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

/// The fields named by `Connection` in an HTTP/1.1 head (removed too).
fn connection_tokens<'b>(buf: &'b [u8], headers: &[crate::http::Header]) -> Vec<&'b [u8]> {
    headers
        .iter()
        .filter(|h| h.is(buf, "connection"))
        .flat_map(|h| list_elements(h.value.get(buf)))
        .collect()
}

/// Appends the fields of an HTTP/1.1 head to `out`, lower-cased, minus
/// the connection-specific ones (§8.2.2) and those `Connection` names;
/// `content-length` once, merged. `keep_te_trailers`: keep `te: trailers`
/// (a request to an h2 server: gRPC needs it).
fn h1_fields(
    buf: &[u8],
    headers: &[crate::http::Header],
    cl: Option<u64>,
    keep_te_trailers: bool,
    out: &mut HeaderList,
) {
    let named = connection_tokens(buf, headers);
    let mut cl_done = false;
    for h in headers {
        let name = h.name.get(buf);
        if name.eq_ignore_ascii_case(b"te") && keep_te_trailers {
            if list_elements(h.value.get(buf)).any(|e| e.eq_ignore_ascii_case(b"trailers")) {
                out.push(b"te", b"trailers");
            }
            continue;
        }
        if hop_by_hop(name) || named.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            if let (Some(n), false) = (cl, cl_done) {
                out.push(b"content-length", n.to_string().as_bytes());
            }
            cl_done = true;
            continue;
        }
        out.push_lowercase(name, h.value.get(buf));
    }
}

/// The h2 fields of an HTTP/1.1 response head (client side): `:status`
/// then the fields. A 101 has no HTTP/2 form (§8.6).
pub fn response_fields(
    head: &ResponseHead,
    buf: &[u8],
    out: &mut HeaderList,
) -> Result<(), Malformed> {
    if head.status == 101 {
        return Err(Malformed("101 has no HTTP/2 form"));
    }
    out.push(b":status", head.status.to_string().as_bytes());
    h1_fields(buf, &head.headers, head.content_length, false, out);
    Ok(())
}

/// The h2 fields of an HTTP/1.1 request head (server side): `:method`,
/// `:scheme` (`http` or `https`, the server connection's), `:authority`
/// from `Host` or an absolute-form target, `:path` (none for CONNECT),
/// then the fields (`host` dropped, `te: trailers` kept).
pub fn request_fields(head: &RequestHead, buf: &[u8], scheme: &[u8], out: &mut HeaderList) {
    let method: &[u8] = match head.method {
        Method::Other(span) => span.get(buf),
        _ => head
            .start_line
            .get(buf)
            .split(|&b| b == b' ')
            .next()
            .unwrap_or_default(),
    };
    out.push(b":method", method);
    let target = head.target.get(buf);
    let authority = match head.target_form {
        TargetForm::Absolute => {
            let after = target
                .windows(3)
                .position(|w| w == b"://")
                .map_or(0, |p| p + 3);
            let rest = target.get(after..).unwrap_or_default();
            let end = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(rest.len());
            Some(&rest[..end])
        }
        TargetForm::Authority => Some(target),
        _ => head.host.map(|h| h.get(buf)),
    };
    if head.target_form != TargetForm::Authority {
        out.push(b":scheme", scheme);
    }
    if let Some(a) = authority {
        out.push(b":authority", a);
    }
    match head.target_form {
        TargetForm::Authority => {}
        TargetForm::Asterisk => out.push(b":path", b"*"),
        TargetForm::Absolute => {
            let start = head.path.start.saturating_sub(head.target.start);
            let p = target.get(start..).unwrap_or_default();
            out.push(b":path", if p.is_empty() { b"/" } else { p });
        }
        TargetForm::Origin => out.push(b":path", target),
    }
    h1_fields(buf, &head.headers, head.content_length, true, out);
}

/// Writes the HTTP/1.1 head of a checked h2 response (server side) into
/// `out`. `no_body`: a response to HEAD (or a 204/304): no framing added.
pub fn to_h1_response(
    resp: &Response,
    list: &HeaderList,
    end_stream: bool,
    no_body: bool,
    out: &mut Vec<u8>,
) -> BodyFraming {
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, v) in list.iter().skip(resp.first_field) {
        if name != b"content-length" {
            field(out, name, v);
        }
    }
    let bodiless = no_body || resp.status < 200 || resp.status == 204 || resp.status == 304;
    let framing = match resp.content_length {
        Some(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
            if bodiless {
                BodyFraming::None
            } else {
                BodyFraming::Length(n)
            }
        }
        None if bodiless || end_stream => BodyFraming::None,
        None => {
            field(out, b"transfer-encoding", b"chunked");
            BodyFraming::Chunked
        }
    };
    out.extend_from_slice(b"\r\n");
    framing
}

/// A reason phrase for a status line.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Other",
    }
}

/// The size line of a chunk of `len` bytes (the data and [`CRLF`] follow).
pub fn chunk_header(len: usize, out: &mut Vec<u8>) {
    let _ = write!(out, "{len:x}\r\n");
}

/// What ends a chunk's data.
pub const CRLF: &[u8] = b"\r\n";

/// The last chunk, the trailer fields (checked h2 trailers, or none) and
/// the final CRLF.
pub fn last_chunk(trailers: Option<&HeaderList>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n");
    for (name, v) in trailers.into_iter().flat_map(HeaderList::iter) {
        field(out, name, v);
    }
    out.extend_from_slice(CRLF);
}

/// A piece of an HTTP/1.1 chunked body, framing taken off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'b> {
    /// Chunk data, for DATA frames.
    Data(&'b [u8]),
    /// The body ended; its trailer lines are [`Dechunker::trailers`].
    End,
}

/// Takes the chunk framing off an HTTP/1.1 chunked body, as it streams:
/// `http::ChunkedDecoder` checks the bytes (the same strict rules as for
/// HTTP/1 forwarding), then the checked bytes are split into data and
/// trailers.
#[derive(Clone, Debug, Default)]
pub struct Dechunker {
    check: ChunkedDecoder,
    /// Chunk data bytes left in the current chunk.
    data_left: u64,
    /// After the last chunk.
    in_trailers: bool,
    /// The trailer lines so far (bounded by the checker's limit).
    trailers: Vec<u8>,
}

impl Dechunker {
    /// A new body.
    pub fn new() -> Dechunker {
        Dechunker::default()
    }

    /// Takes what it can of `buf`: calls `piece` for each data span and
    /// for the end; returns the bytes used (drop them before the next
    /// call; a partial size or trailer line stays for the next one).
    pub fn feed<'b>(
        &mut self,
        buf: &'b [u8],
        mut piece: impl FnMut(Piece<'b>),
    ) -> Result<usize, ChunkError> {
        let progress = self.check.feed(buf)?;
        let mut rest = buf.get(..progress.consumed).unwrap_or_default();
        while !rest.is_empty() {
            if self.in_trailers {
                self.trailers.extend_from_slice(rest);
                if progress.done {
                    // The final CRLF is not a trailer line.
                    self.trailers
                        .truncate(self.trailers.len().saturating_sub(2));
                    piece(Piece::End);
                }
                break;
            }
            if self.data_left > 0 {
                let n = rest
                    .len()
                    .min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
                piece(Piece::Data(&rest[..n]));
                self.data_left -= n as u64;
                rest = &rest[n..];
                continue;
            }
            // A size line, or the CRLF after chunk data.
            let eol = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| p + 1);
            let line = &rest[..eol];
            rest = &rest[eol..];
            if line == CRLF {
                continue;
            }
            let digits = line.iter().take_while(|b| b.is_ascii_hexdigit());
            let size = digits.fold(0u64, |n, &b| {
                (n << 4) | u64::from((b as char).to_digit(16).unwrap_or(0))
            });
            if size == 0 {
                self.in_trailers = true;
            } else {
                self.data_left = size;
            }
        }
        Ok(progress.consumed)
    }
}

impl Dechunker {
    /// The trailer lines (`name: value\r\n`…) once [`Piece::End`] came.
    pub fn trailers(&self) -> &[u8] {
        &self.trailers
    }
}

/// The h2 fields of HTTP/1.1 trailer lines ([`Dechunker::trailers`]),
/// lower-cased, minus the fields that may not be trailers.
pub fn trailer_fields(lines: &[u8], out: &mut HeaderList) {
    for line in lines.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, v) = (&line[..colon], trim_ows(&line[colon + 1..]));
        if !name.is_empty() && !hop_by_hop(name) && !name.eq_ignore_ascii_case(b"content-length") {
            out.push_lowercase(name, v);
        }
    }
}

/// The framing of an HTTP/1.1 message as DATA will carry it.
pub fn framing_of(f: Framing) -> BodyFraming {
    match f {
        Framing::ContentLength(n) => BodyFraming::Length(n),
        Framing::None => BodyFraming::None,
        _ => BodyFraming::Chunked,
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
