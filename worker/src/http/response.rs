//! Response heads: [`ResponseParser`] checks the status line, lets httparse
//! split the fields, and applies the framing rules of RFC 9112 §6.3, which
//! depend on the request ([`ResponseContext`]), in this order:
//!
//! 1. `Content-Length` with `Transfer-Encoding`, a bad or conflicting
//!    `Content-Length`, `Transfer-Encoding` in HTTP/1.0, `chunked` not last:
//!    invalid (the session answers 502), whatever the status;
//! 2. 1xx: no body; 101 is a tunnel, and only if the request asked for an
//!    upgrade; the others are interim, another response follows;
//! 3. 2xx to CONNECT: a tunnel (CL/TE ignored);
//! 4. a response to HEAD, 204, 304: no body;
//! 5. `Transfer-Encoding` ending in `chunked`: chunked; another coding
//!    last: until close;
//! 6. `Content-Length`: that many bytes;
//! 7. otherwise: until close.
//!
//! The byte-level checks are the request's (strict CRLF, no control bytes,
//! no obs-fold): RFC 9112 lets a recipient accept a bare LF or unfold
//! obs-fold, but a proxy that does is one more parser that can disagree
//! with the next hop, so weir refuses them (502) instead.

use super::head::{self, Framing, HeadError, Header, Method, Span, Version, MAX_HEADERS};
use super::request::RequestHead;
use super::scan::{HeadScanner, Kind, Scanned};

/// What the response framing depends on in the request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResponseContext {
    /// The request was HEAD: no body whatever the fields say.
    pub head_request: bool,
    /// The request was CONNECT: a 2xx makes a tunnel.
    pub connect_request: bool,
    /// The request asked for an upgrade: a 101 is allowed.
    pub upgrade_requested: bool,
}

impl From<&RequestHead> for ResponseContext {
    fn from(req: &RequestHead) -> ResponseContext {
        ResponseContext {
            head_request: req.method == Method::Head,
            connect_request: req.method == Method::Connect,
            upgrade_requested: req.upgrade,
        }
    }
}

/// A parsed, validated response head. Spans index the slice given to
/// [`ResponseParser::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code, 100 to 599.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: Span,
    /// The status line, without CRLF.
    pub start_line: Span,
    /// The field lines, in order.
    pub headers: Vec<Header>,
    /// Length of the head, final CRLF included: the body starts here.
    pub head_len: usize,
    /// How the body is delimited.
    pub framing: Framing,
    /// The merged `Content-Length` value, if any (sent once by rewrite).
    pub content_length: Option<u64>,
    /// A 1xx other than 101: forward it and parse the next response.
    pub interim: bool,
    /// The server connection may be reused after this response: keep-alive
    /// per version and `Connection`, and a body that does not end with the
    /// connection.
    pub keep_alive: bool,
}

/// Incremental response head parser, the twin of
/// [`RequestParser`](super::RequestParser).
#[derive(Clone, Debug)]
pub struct ResponseParser {
    scanner: HeadScanner,
}

impl ResponseParser {
    /// A parser refusing heads over `max_head` bytes (the `bufsize`).
    pub fn new(max_head: usize) -> ResponseParser {
        ResponseParser {
            scanner: HeadScanner::new(Kind::Response, max_head),
        }
    }

    /// Parses the head at the start of `buf` for a request described by
    /// `ctx`. `Ok(None)`: incomplete, call again with the same bytes and
    /// more. After a head or an error the parser is ready for the next one.
    pub fn parse(
        &mut self,
        buf: &[u8],
        ctx: ResponseContext,
    ) -> Result<Option<ResponseHead>, HeadError> {
        self.parse_into(buf, ctx, &mut Vec::new())
    }

    /// [`ResponseParser::parse`] with the field list taken from `fields`,
    /// as [`RequestParser::parse_into`](super::RequestParser::parse_into).
    pub fn parse_into(
        &mut self,
        buf: &[u8],
        ctx: ResponseContext,
        fields: &mut Vec<Header>,
    ) -> Result<Option<ResponseHead>, HeadError> {
        let result = match self.scanner.scan(buf) {
            Ok(None) => return Ok(None),
            Ok(Some(scanned)) => complete(buf, scanned, ctx, fields).map(Some),
            Err(e) => Err(e),
        };
        self.scanner.reset();
        result
    }
}

fn complete(
    buf: &[u8],
    scanned: Scanned,
    ctx: ResponseContext,
    headers: &mut Vec<Header>,
) -> Result<ResponseHead, HeadError> {
    let head = buf.get(..scanned.head_len).unwrap_or(buf);
    let (version, status, reason) = status_line(head, scanned.start_line)?;

    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Ok(_) => return Err(HeadError::ParserMismatch),
        Err(e) => return Err(map_httparse(e)),
    }
    headers.clear();
    headers.extend(resp.headers.iter().map(|h| Header {
        name: Span::of(head, h.name.as_bytes()),
        value: Span::of(head, h.value),
    }));

    let info = head::read_fields(head, headers)?;
    if info.has_te {
        if info.content_length.is_some() {
            return Err(HeadError::ContentLengthAndTransferEncoding);
        }
        if version == Version::Http10 {
            return Err(HeadError::TransferEncodingInHttp10);
        }
    }
    let framing = match status {
        101 if !ctx.upgrade_requested => return Err(HeadError::UnexpectedSwitchingProtocols),
        101 => Framing::Tunnel,
        100..=199 => Framing::None,
        200..=299 if ctx.connect_request => Framing::Tunnel,
        _ if ctx.head_request || status == 204 || status == 304 => Framing::None,
        _ if info.te_final_chunked => Framing::Chunked,
        _ if info.has_te => Framing::UntilClose,
        _ => match info.content_length {
            Some(n) => Framing::ContentLength(n),
            None => Framing::UntilClose,
        },
    };
    let reusable = !matches!(framing, Framing::UntilClose | Framing::Tunnel);
    Ok(ResponseHead {
        version,
        status,
        reason,
        start_line: scanned.start_line,
        headers: std::mem::take(headers),
        head_len: scanned.head_len,
        framing,
        content_length: info.content_length,
        interim: (100..200).contains(&status) && status != 101,
        keep_alive: reusable && head::keep_alive(version, &info),
    })
}

/// `HTTP-version SP 3DIGIT [SP reason]`; a missing SP before an empty
/// reason is tolerated, as most clients do.
fn status_line(buf: &[u8], line: Span) -> Result<(Version, u16, Span), HeadError> {
    let bytes = line.get(buf);
    let version = match bytes.get(..8) {
        Some(b"HTTP/1.1") => Version::Http11,
        Some(b"HTTP/1.0") => Version::Http10,
        Some(v) if v.starts_with(b"HTTP/") => return Err(HeadError::UnsupportedVersion),
        _ => return Err(HeadError::InvalidStatusLine),
    };
    let (status, rest) = match bytes.get(8..) {
        Some([b' ', a, b, c, rest @ ..]) if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            let n = [a, b, c]
                .iter()
                .fold(0u16, |n, &&d| n * 10 + u16::from(d - b'0'));
            (n, rest)
        }
        _ => return Err(HeadError::InvalidStatusLine),
    };
    if !(100..=599).contains(&status) {
        return Err(HeadError::InvalidStatusLine);
    }
    let reason = match rest {
        [] => Span {
            start: line.end,
            end: line.end,
        },
        [b' ', r @ ..] => Span {
            start: line.end - r.len(),
            end: line.end,
        },
        _ => return Err(HeadError::InvalidStatusLine),
    };
    Ok((version, status, reason))
}

fn map_httparse(e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::HeaderName => HeadError::InvalidHeaderName,
        httparse::Error::HeaderValue => HeadError::InvalidHeaderValue,
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        httparse::Error::Version => HeadError::UnsupportedVersion,
        httparse::Error::NewLine => HeadError::BareLf,
        httparse::Error::Token | httparse::Error::Status => HeadError::InvalidStatusLine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: ResponseContext = ResponseContext {
        head_request: false,
        connect_request: false,
        upgrade_requested: false,
    };

    fn parse(buf: &[u8], ctx: ResponseContext) -> Result<ResponseHead, HeadError> {
        ResponseParser::new(8192)
            .parse(buf, ctx)
            .and_then(|h| h.ok_or(HeadError::ParserMismatch))
    }

    fn framing(buf: &[u8], ctx: ResponseContext) -> Result<Framing, HeadError> {
        parse(buf, ctx).map(|h| h.framing)
    }

    #[test]
    fn status_reason_headers() {
        let buf = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX: y\r\n\r\nabc";
        let h = parse(buf, GET).unwrap();
        assert_eq!((h.version, h.status), (Version::Http11, 404));
        assert_eq!(h.reason.get(buf), b"Not Found");
        assert_eq!(h.headers.len(), 2);
        assert_eq!(h.head_len, buf.len() - 3);
        assert_eq!(h.framing, Framing::ContentLength(3));
        assert!(h.keep_alive && !h.interim);
        let bare = b"HTTP/1.0 200\r\n\r\n";
        let h = parse(bare, GET).unwrap();
        assert_eq!((h.status, h.reason.get(bare)), (200, &b""[..]));
        assert_eq!(h.framing, Framing::UntilClose);
        assert!(!h.keep_alive);
    }

    #[test]
    fn framing_rules_of_rfc9112_6_3() {
        let head = ResponseContext {
            head_request: true,
            ..GET
        };
        let connect = ResponseContext {
            connect_request: true,
            ..GET
        };
        let upgrade = ResponseContext {
            upgrade_requested: true,
            ..GET
        };
        let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let te = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let cases: &[(&[u8], ResponseContext, Framing)] = &[
            (cl, GET, Framing::ContentLength(10)),
            (cl, head, Framing::None),
            (te, GET, Framing::Chunked),
            (te, head, Framing::None),
            (
                b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                GET,
                Framing::None,
            ),
            (
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                GET,
                Framing::None,
            ),
            (b"HTTP/1.1 100 Continue\r\n\r\n", GET, Framing::None),
            (
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
                GET,
                Framing::None,
            ),
            (
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
                upgrade,
                Framing::Tunnel,
            ),
            (
                b"HTTP/1.1 200 Connection established\r\n\r\n",
                connect,
                Framing::Tunnel,
            ),
            (cl, connect, Framing::Tunnel),
            (
                b"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n",
                connect,
                Framing::ContentLength(0),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                GET,
                Framing::UntilClose,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n",
                GET,
                Framing::ContentLength(7),
            ),
            (b"HTTP/1.1 200 OK\r\n\r\n", GET, Framing::UntilClose),
        ];
        for (buf, ctx, want) in cases {
            assert_eq!(
                framing(buf, *ctx),
                Ok(*want),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
        let interim = parse(b"HTTP/1.1 100 Continue\r\n\r\n", GET).unwrap();
        assert!(interim.interim && interim.keep_alive);
        let tunnel = parse(b"HTTP/1.1 200 OK\r\n\r\n", connect).unwrap();
        assert!(!tunnel.keep_alive);
    }

    #[test]
    fn invalid_responses() {
        let cases: &[(&[u8], HeadError)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                HeadError::ContentLengthAndTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HeadError::ConflictingContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                HeadError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                HeadError::UnsupportedTransferEncoding,
            ),
            (
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                HeadError::TransferEncodingInHttp10,
            ),
            (
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
                HeadError::UnexpectedSwitchingProtocols,
            ),
            (b"HTTP/1.1 20 OK\r\n\r\n", HeadError::InvalidStatusLine),
            (b"HTTP/1.1 2000 OK\r\n\r\n", HeadError::InvalidStatusLine),
            (b"HTTP/1.1 099 Low\r\n\r\n", HeadError::InvalidStatusLine),
            (b"HTTP/1.1 600 High\r\n\r\n", HeadError::InvalidStatusLine),
            (b"HTTP/1.1  200 OK\r\n\r\n", HeadError::InvalidStatusLine),
            (b"HTTP/2.0 200 OK\r\n\r\n", HeadError::UnsupportedVersion),
            (b"ICY 200 OK\r\n\r\n", HeadError::InvalidStatusLine),
            (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", HeadError::ObsFold),
            (b"HTTP/1.1 200 OK\nX: a\n\n", HeadError::BareLf),
            (
                b"HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n",
                HeadError::InvalidHeaderName,
            ),
            (b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", HeadError::Nul),
        ];
        for (buf, want) in cases {
            assert_eq!(
                framing(buf, GET),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    #[test]
    fn interim_then_final_back_to_back() {
        let buf = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut p = ResponseParser::new(8192);
        let first = p.parse(buf, GET).unwrap().unwrap();
        assert!(first.interim);
        let rest = &buf[first.head_len..];
        let second = p.parse(rest, GET).unwrap().unwrap();
        assert_eq!(second.status, 200);
        assert_eq!(&rest[second.head_len..], b"ok");
    }
}
