//! The data both message heads share, and the semantics of the fields that
//! decide framing and connection handling (RFC 9110 §7.6.1, §8.6, RFC 9112
//! §6): `Content-Length`, `Transfer-Encoding`, `Connection`, `Host`.
//!
//! A parsed head refers to its bytes by [`Span`] (offsets into the slice
//! that was parsed) instead of borrowing them or copying them:
//! - not borrowed, because the session keeps the head in its stream while
//!   the channel buffer it came from is read into and written from (a
//!   `&[u8]` would freeze that buffer for the head's lifetime);
//! - not owned strings, because that is one allocation per field per
//!   request, for bytes that stay in the buffer anyway until the rewritten
//!   head is written out.
//!
//! The price: the caller must not move those bytes before it is done with
//! the head, and passes the buffer back to read a field ([`Span::get`]).

use std::fmt;

/// Most header fields a head may carry; one more is an error.
pub const MAX_HEADERS: usize = 100;

/// A byte range of a head, relative to the start of the parsed slice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The bytes of this span in `buf` (empty if `buf` is too short: a span
    /// used with the wrong buffer never panics).
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The span of `part`, a subslice of `buf` (as httparse returns them);
    /// an empty span at 0 if `part` is not inside `buf`.
    pub(crate) fn of(buf: &[u8], part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        match start.checked_add(part.len()) {
            Some(end) if start <= buf.len() && end <= buf.len() => Span { start, end },
            _ => Span::default(),
        }
    }
}

/// One header field line: name and value (without surrounding whitespace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The field name, as received (case preserved).
    pub name: Span,
    /// The field value, leading and trailing whitespace removed.
    pub value: Span,
}

impl Header {
    /// Whether the field is named `name` (ASCII case-insensitive).
    pub fn is(&self, buf: &[u8], name: &str) -> bool {
        self.name.get(buf).eq_ignore_ascii_case(name.as_bytes())
    }
}

/// Protocol version of a message. Only HTTP/1.0 and 1.1 are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: close by default, no chunked, no `Upgrade`.
    Http10,
    /// HTTP/1.1: keep-alive by default, `Host` required in requests.
    Http11,
}

/// The request method; the ones weir treats specially are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD: the response never has a body.
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// CONNECT: a 2xx response makes a tunnel.
    Connect,
    /// OPTIONS: the only method allowed with `*` as target.
    Options,
    /// TRACE
    Trace,
    /// PATCH
    Patch,
    /// Any other token; its bytes are at this span.
    Other(Span),
}

impl Method {
    /// Whether the method is idempotent (RFC 9110 §9.2.2): sending the
    /// request twice has the effect of sending it once, so a request that
    /// may not have reached the server can be sent again.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self,
            Method::Get
                | Method::Head
                | Method::Options
                | Method::Trace
                | Method::Put
                | Method::Delete
        )
    }
}

impl Method {
    pub(crate) fn from_token(token: &[u8], span: Span) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other(span),
        }
    }
}

/// How the body of a message is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (request without CL/TE; HEAD, 1xx, 204, 304 replies).
    None,
    /// Exactly this many bytes.
    ContentLength(u64),
    /// Chunked: forward through a [`crate::http::ChunkedDecoder`].
    Chunked,
    /// Responses only: the body ends when the server closes.
    UntilClose,
    /// Responses only (101, 2xx to CONNECT): both sides become a tunnel.
    Tunnel,
}

/// Why a head was refused: the session answers 400 (request) or 502
/// (response) and closes. Each is one defense, named for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// A CR not followed by LF.
    BareCr,
    /// An LF not preceded by CR.
    BareLf,
    /// A NUL byte in the head.
    Nul,
    /// Another control byte (or DEL, or HTAB in a request line).
    ControlChar,
    /// A field line starting with SP/HTAB (obs-fold), or whitespace before
    /// the first field.
    ObsFold,
    /// The start line alone is over the size limit.
    StartLineTooLong,
    /// The head is over the size limit (`bufsize`).
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] fields.
    TooManyHeaders,
    /// The method is not a token.
    InvalidMethod,
    /// The request target has a bad byte or does not fit the method.
    InvalidTarget,
    /// Not `HTTP/1.0` or `HTTP/1.1` (HTTP/0.9 lines, HTTP/2.0, 1.2 ...).
    UnsupportedVersion,
    /// A request line not of the form `method SP target SP version`.
    InvalidRequestLine,
    /// A status line not of the form `version SP 3DIGIT [SP reason]`.
    InvalidStatusLine,
    /// A field name with a non-token byte, or a line without a colon.
    InvalidHeaderName,
    /// A field value with a forbidden byte.
    InvalidHeaderValue,
    /// HTTP/1.1 request without `Host`.
    MissingHost,
    /// More than one `Host` field.
    MultipleHost,
    /// A `Host` value that is no `uri-host [ ":" port ]`.
    InvalidHost,
    /// Both `Content-Length` and `Transfer-Encoding`.
    ContentLengthAndTransferEncoding,
    /// A `Content-Length` that is not 1*DIGIT fitting in 64 bits.
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// A transfer coding list that does not end with a single `chunked`
    /// (requests), or with `chunked` anywhere but last (both).
    UnsupportedTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 message.
    TransferEncodingInHttp10,
    /// A 101 response to a request that asked for no upgrade.
    UnexpectedSwitchingProtocols,
    /// httparse and the scanner disagree on the head (a bug, refused).
    ParserMismatch,
}

impl HeadError {
    /// A short name for logs.
    pub fn as_str(&self) -> &'static str {
        use HeadError::*;
        match self {
            BareCr => "bare CR",
            BareLf => "bare LF",
            Nul => "NUL byte",
            ControlChar => "control byte",
            ObsFold => "obs-fold",
            StartLineTooLong => "start line too long",
            HeadTooLarge => "head too large",
            TooManyHeaders => "too many headers",
            InvalidMethod => "invalid method",
            InvalidTarget => "invalid request target",
            UnsupportedVersion => "unsupported version",
            InvalidRequestLine => "invalid request line",
            InvalidStatusLine => "invalid status line",
            InvalidHeaderName => "invalid header name",
            InvalidHeaderValue => "invalid header value",
            MissingHost => "missing Host",
            MultipleHost => "multiple Host",
            InvalidHost => "invalid Host",
            ContentLengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            InvalidContentLength => "invalid Content-Length",
            ConflictingContentLength => "conflicting Content-Length",
            UnsupportedTransferEncoding => "unsupported Transfer-Encoding",
            TransferEncodingInHttp10 => "Transfer-Encoding in HTTP/1.0",
            UnexpectedSwitchingProtocols => "unrequested 101",
            ParserMismatch => "parser mismatch",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for HeadError {}

/// What the framing and connection fields of a head say, before the
/// request/response specific rules are applied.
#[derive(Debug, Default)]
pub(crate) struct FieldInfo {
    /// The merged `Content-Length`, if any.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding` seen (any value).
    pub has_te: bool,
    /// The coding list ends with a single `chunked`.
    pub te_final_chunked: bool,
    /// `Connection: close` / `keep-alive` / `upgrade` tokens.
    pub conn_close: bool,
    pub conn_keep_alive: bool,
    pub conn_upgrade: bool,
    /// An `Upgrade` field is present.
    pub has_upgrade: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The `Host` fields (0, 1 or more).
    pub host: Option<Span>,
    pub host_count: usize,
}

/// Splits a field value into its comma-separated elements, trimmed of
/// OWS. Empty elements are yielded as empty slices.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Reads the fields that matter for framing and connection handling.
///
/// `Content-Length` (RFC 9110 §8.6, RFC 9112 §6.3 rule 5): every element of
/// every `Content-Length` line must be 1*DIGIT fitting in a u64; if they
/// are all equal (`42, 42` or two `42` lines) they are merged into one
/// value, otherwise the message is refused. Merging is what HAProxy does;
/// the rewriter then sends a single `Content-Length`.
///
/// `Transfer-Encoding`: all lines form one coding list; it must have no
/// empty element, and `chunked` may appear only as the last element.
pub(crate) fn read_fields(buf: &[u8], headers: &[Header]) -> Result<FieldInfo, HeadError> {
    let mut info = FieldInfo::default();
    let mut te_last_chunked = false;
    for h in headers {
        let name = h.name.get(buf);
        let value = h.value.get(buf);
        if name.eq_ignore_ascii_case(b"content-length") {
            for element in list_elements(value) {
                let n = parse_decimal(element).ok_or(HeadError::InvalidContentLength)?;
                match info.content_length {
                    Some(m) if m != n => return Err(HeadError::ConflictingContentLength),
                    _ => info.content_length = Some(n),
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            info.has_te = true;
            for element in list_elements(value) {
                if element.is_empty() || te_last_chunked {
                    // An empty element, or anything after `chunked`.
                    return Err(HeadError::UnsupportedTransferEncoding);
                }
                te_last_chunked = element.eq_ignore_ascii_case(b"chunked");
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in list_elements(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    info.conn_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    info.conn_keep_alive = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    info.conn_upgrade = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            info.has_upgrade = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            info.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case(b"host") {
            info.host_count += 1;
            info.host = Some(h.value);
        }
    }
    info.te_final_chunked = info.has_te && te_last_chunked;
    Ok(info)
}

/// 1*DIGIT as a u64; `None` if empty, not all digits, or overflowing.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Keep-alive per version and `Connection` (RFC 9112 §9.3): `close` always
/// wins; HTTP/1.0 needs an explicit `keep-alive`.
pub(crate) fn keep_alive(version: Version, info: &FieldInfo) -> bool {
    match version {
        _ if info.conn_close => false,
        Version::Http11 => true,
        Version::Http10 => info.conn_keep_alive,
    }
}

/// A token character (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"007"), Some(7));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        for bad in [&b""[..], b"+1", b"-1", b"1 2", b"0x10", b"1.0", b" 1"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn list_and_trim() {
        let v: Vec<&[u8]> = list_elements(b" a ,\tb,, c").collect();
        assert_eq!(v, vec![&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(trim_ows(b" \t "), b"");
    }

    #[test]
    fn span_of_and_get() {
        let buf = b"hello world";
        let s = Span::of(buf, &buf[6..]);
        assert_eq!(s, Span { start: 6, end: 11 });
        assert_eq!(s.get(buf), b"world");
        assert_eq!(s.get(b"short"), b"");
        assert_eq!(Span::of(buf, b"elsewhere"), Span::default());
    }
}
