//! Request heads: [`RequestParser`] finds a complete head with the
//! [`scan`](super::scan) pass, checks the request line itself, lets httparse
//! split the fields, then applies the defenses of SPEC §4 and derives the
//! body framing and connection semantics.
//!
//! Who checks what (each has tests, here and in `smuggling_tests`):
//!
//! | defense                                   | scanner | this file | httparse |
//! |-------------------------------------------|---------|-----------|----------|
//! | bare CR / bare LF / NUL / control bytes   | yes     |           | CR, CTL (LF accepted!) |
//! | obs-fold, whitespace before first field   | yes     |           | yes (as name error) |
//! | head / request line over `bufsize`        | yes     |           | no       |
//! | more than 100 fields                      | yes     |           | yes (slots) |
//! | method token, target bytes and form       |         | yes       | token / URI bytes |
//! | version other than HTTP/1.0, HTTP/1.1     |         | yes       | yes      |
//! | HTTP/0.9 line (`GET /`)                    |         | yes       | as token error |
//! | field name not a token, no colon          |         |           | yes      |
//! | CL+TE, bad/conflicting CL, TE not chunked |         | yes (head)| no       |
//! | Host missing in 1.1, several, malformed   |         | yes       | no       |

use super::head::{self, is_tchar, Framing, HeadError, Header, Method, Span, Version, MAX_HEADERS};
use super::scan::{HeadScanner, Kind, Scanned};

/// The form of the request target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://host/path?query` (sent to proxies)
    Absolute,
    /// `host:port` (CONNECT only)
    Authority,
    /// `*` (OPTIONS only)
    Asterisk,
}

/// A parsed, validated request head. Spans index the slice given to
/// [`RequestParser::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The whole request target.
    pub target: Span,
    /// Its form.
    pub target_form: TargetForm,
    /// The path part of the target (empty for authority-form).
    pub path: Span,
    /// The query, without the `?`.
    pub query: Option<Span>,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The request line, without CRLF.
    pub start_line: Span,
    /// The field lines, in order.
    pub headers: Vec<Header>,
    /// The value of the `Host` field, if any.
    pub host: Option<Span>,
    /// The authority of an absolute-form target (`http://AUTHORITY/p`):
    /// it takes the place of `Host` (RFC 9112 §3.2.2).
    pub authority: Option<Span>,
    /// Length of the head, final CRLF included: the body starts here.
    pub head_len: usize,
    /// How the body is delimited (never `UntilClose` or `Tunnel`).
    pub framing: Framing,
    /// The merged `Content-Length` value, if any (sent once by rewrite).
    pub content_length: Option<u64>,
    /// The client wants the connection kept after this exchange.
    pub keep_alive: bool,
    /// An HTTP/1.1 `Upgrade` with `Connection: upgrade`.
    pub upgrade: bool,
    /// `Expect: 100-continue` in an HTTP/1.1 request.
    pub expect_continue: bool,
}

impl RequestHead {
    /// The host the request is for: an absolute-form target's authority,
    /// else the `Host` field (RFC 9112 §3.2.2).
    pub fn effective_host(&self) -> Option<Span> {
        self.authority.or(self.host)
    }

    /// The field values named `name`, in order.
    pub fn values<'a>(&'a self, buf: &'a [u8], name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.headers
            .iter()
            .filter(move |h| h.is(buf, name))
            .map(move |h| h.value.get(buf))
    }
}

/// Incremental request head parser; see the module doc.
#[derive(Clone, Debug)]
pub struct RequestParser {
    scanner: HeadScanner,
}

impl RequestParser {
    /// A parser refusing heads over `max_head` bytes (the `bufsize`).
    pub fn new(max_head: usize) -> RequestParser {
        RequestParser {
            scanner: HeadScanner::new(Kind::Request, max_head),
        }
    }

    /// Parses the head at the start of `buf`. `Ok(None)`: incomplete, call
    /// again with the same bytes and more. After a head or an error the
    /// parser is ready for the next message (pass the bytes after
    /// `head_len` and the body).
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
        self.parse_into(buf, &mut Vec::new())
    }

    /// [`RequestParser::parse`] with the field list taken from `fields`
    /// (a spare list, cleared first): the head owns it on success (give it
    /// back once done with the head); on error it stays in `fields`. With a
    /// list of [`MAX_HEADERS`] capacity, parsing allocates nothing.
    pub fn parse_into(
        &mut self,
        buf: &[u8],
        fields: &mut Vec<Header>,
    ) -> Result<Option<RequestHead>, HeadError> {
        let result = match self.scanner.scan(buf) {
            Ok(None) => return Ok(None),
            Ok(Some(scanned)) => complete(buf, scanned, fields).map(Some),
            Err(e) => Err(e),
        };
        self.scanner.reset();
        result
    }
}

/// Parses a head known to be complete and lexically clean.
fn complete(
    buf: &[u8],
    scanned: Scanned,
    headers: &mut Vec<Header>,
) -> Result<RequestHead, HeadError> {
    let head = buf.get(..scanned.head_len).unwrap_or(buf);
    let line = request_line(head, scanned.start_line)?;

    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Ok(_) => return Err(HeadError::ParserMismatch),
        Err(e) => return Err(map_httparse(e)),
    }
    headers.clear();
    headers.extend(req.headers.iter().map(|h| Header {
        name: Span::of(head, h.name.as_bytes()),
        value: Span::of(head, h.value),
    }));

    let info = head::read_fields(head, headers)?;
    match (info.host_count, line.version) {
        (0, Version::Http11) => return Err(HeadError::MissingHost),
        (0, Version::Http10) | (1, _) => {}
        _ => return Err(HeadError::MultipleHost),
    }
    if let Some(host) = info.host {
        if !valid_host(host.get(head)) {
            return Err(HeadError::InvalidHost);
        }
    }
    let framing = if info.has_te {
        if info.content_length.is_some() {
            return Err(HeadError::ContentLengthAndTransferEncoding);
        }
        if line.version == Version::Http10 {
            return Err(HeadError::TransferEncodingInHttp10);
        }
        if !info.te_final_chunked {
            return Err(HeadError::UnsupportedTransferEncoding);
        }
        Framing::Chunked
    } else {
        match info.content_length {
            Some(n) => Framing::ContentLength(n),
            None => Framing::None,
        }
    };
    let http11 = line.version == Version::Http11;
    Ok(RequestHead {
        method: line.method,
        target: line.target,
        target_form: line.form,
        path: line.path,
        query: line.query,
        version: line.version,
        start_line: scanned.start_line,
        headers: std::mem::take(headers),
        host: info.host,
        authority: line.authority,
        head_len: scanned.head_len,
        framing,
        content_length: info.content_length,
        keep_alive: head::keep_alive(line.version, &info),
        upgrade: http11 && info.has_upgrade && info.conn_upgrade && line.method != Method::Connect,
        expect_continue: http11 && info.expect_continue,
    })
}

/// What the request line says.
struct RequestLine {
    method: Method,
    target: Span,
    form: TargetForm,
    authority: Option<Span>,
    path: Span,
    query: Option<Span>,
    version: Version,
}

/// Checks `method SP target SP version` strictly (single spaces, token
/// method, visible-ASCII target without `#`, exact version).
fn request_line(buf: &[u8], line: Span) -> Result<RequestLine, HeadError> {
    let bytes = line.get(buf);
    let at = |off: usize, len: usize| Span {
        start: line.start + off,
        end: line.start + off + len,
    };
    let mut parts = bytes.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::InvalidMethod);
    }
    let target = parts.next().ok_or(HeadError::InvalidRequestLine)?;
    let Some(version) = parts.next() else {
        // `GET /`: an HTTP/0.9 request.
        return Err(HeadError::UnsupportedVersion);
    };
    if target.is_empty() || version.contains(&b' ') {
        return Err(HeadError::InvalidRequestLine);
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        _ => return Err(HeadError::UnsupportedVersion),
    };
    if !target
        .iter()
        .all(|&b| (0x21..0x7f).contains(&b) && b != b'#')
    {
        return Err(HeadError::InvalidTarget);
    }
    let target_off = method.len() + 1;
    let method = Method::from_token(method, at(0, method.len()));
    let target_span = at(target_off, target.len());
    let (form, path_off) = target_form(method, target)?;
    // An absolute-form target's authority: after "://", up to the path.
    let authority = match form {
        TargetForm::Absolute => {
            let start = target
                .windows(3)
                .position(|w| w == b"://")
                .map_or(path_off, |p| p + 3);
            let auth = &target[start..path_off];
            // No userinfo (RFC 9110 §4.2.4: must not be sent), a valid host.
            if auth.is_empty() || auth.contains(&b'@') || !valid_host(auth) {
                return Err(HeadError::InvalidTarget);
            }
            Some(at(target_off + start, auth.len()))
        }
        _ => None,
    };
    let rest = &target[path_off..];
    let (path_len, query) = match rest.iter().position(|&b| b == b'?') {
        Some(q) => (
            q,
            Some(at(target_off + path_off + q + 1, rest.len() - q - 1)),
        ),
        None => (rest.len(), None),
    };
    Ok(RequestLine {
        method,
        target: target_span,
        form,
        authority,
        path: at(target_off + path_off, path_len),
        query,
        version,
    })
}

/// The target's form, and where its path starts within it.
fn target_form(method: Method, target: &[u8]) -> Result<(TargetForm, usize), HeadError> {
    if method == Method::Connect {
        // authority-form: host ":" port, nothing else.
        let port_ok = match target.iter().rposition(|&b| b == b':') {
            Some(c) => {
                c > 0 && c + 1 < target.len() && target[c + 1..].iter().all(u8::is_ascii_digit)
            }
            None => false,
        };
        return if port_ok && valid_host(target) {
            Ok((TargetForm::Authority, target.len()))
        } else {
            Err(HeadError::InvalidTarget)
        };
    }
    match target {
        b"*" if method == Method::Options => Ok((TargetForm::Asterisk, 0)),
        [b'/', ..] => Ok((TargetForm::Origin, 0)),
        [first, ..] if first.is_ascii_alphabetic() => {
            // absolute-form: scheme "://" authority [path]
            let colon = target
                .iter()
                .position(|&b| b == b':')
                .ok_or(HeadError::InvalidTarget)?;
            let scheme_ok = target[..colon]
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
            if !scheme_ok || !target[colon..].starts_with(b"://") {
                return Err(HeadError::InvalidTarget);
            }
            let auth = colon + 3;
            let path = target[auth..]
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .map_or(target.len(), |p| auth + p);
            Ok((TargetForm::Absolute, path))
        }
        _ => Err(HeadError::InvalidTarget),
    }
}

/// `uri-host [ ":" port ]` as a `Host` value: reg-name, IPv4 or an IP
/// literal in brackets; no userinfo, path, whitespace or other delimiters.
/// Empty is allowed (RFC 9112 §3.2).
fn valid_host(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b))
}

fn map_httparse(e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::HeaderName => HeadError::InvalidHeaderName,
        httparse::Error::HeaderValue => HeadError::InvalidHeaderValue,
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        httparse::Error::Version => HeadError::UnsupportedVersion,
        httparse::Error::NewLine => HeadError::BareLf,
        httparse::Error::Token | httparse::Error::Status => HeadError::InvalidRequestLine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
        RequestParser::new(8192).parse(buf)
    }

    #[test]
    fn simple_get() {
        let buf = b"GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
        let h = parse(buf).unwrap().unwrap();
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target.get(buf), b"/a/b?x=1&y");
        assert_eq!(h.path.get(buf), b"/a/b");
        assert_eq!(h.query.map(|q| q.get(buf)), Some(&b"x=1&y"[..]));
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.host.map(|s| s.get(buf)), Some(&b"example.com"[..]));
        assert_eq!(h.headers.len(), 2);
        assert_eq!(h.headers[1].name.get(buf), b"Accept");
        assert_eq!(h.head_len, buf.len());
        assert_eq!(h.framing, Framing::None);
        assert!(h.keep_alive && !h.upgrade && !h.expect_continue);
    }

    #[test]
    fn partial_then_complete() {
        let buf = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
        let mut p = RequestParser::new(8192);
        for n in 0..buf.len() - 5 {
            assert_eq!(p.parse(&buf[..n]), Ok(None), "at {n}");
        }
        let h = p.parse(buf).unwrap().unwrap();
        assert_eq!(h.framing, Framing::ContentLength(5));
        assert_eq!(&buf[h.head_len..], b"hello");
    }

    #[test]
    fn connection_semantics() {
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true),
            (
                b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n",
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        ];
        for (buf, ka) in cases {
            assert_eq!(parse(buf).unwrap().unwrap().keep_alive, *ka, "{buf:?}");
        }
        let ws =
            b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert!(parse(ws).unwrap().unwrap().upgrade);
        let no_conn = b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n";
        assert!(!parse(no_conn).unwrap().unwrap().upgrade);
        let ws10 = b"GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert!(!parse(ws10).unwrap().unwrap().upgrade);
        let exp =
            b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
        assert!(parse(exp).unwrap().unwrap().expect_continue);
        let exp10 = b"PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
        assert!(!parse(exp10).unwrap().unwrap().expect_continue);
    }

    #[test]
    fn framing_choices() {
        let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
        assert_eq!(parse(chunked).unwrap().unwrap().framing, Framing::Chunked);
        let split = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(split).unwrap().unwrap().framing, Framing::Chunked);
        // Identical duplicates are merged (RFC 9110 §8.6 allows either).
        let dup =
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42, 42\r\nContent-Length: 42\r\n\r\n";
        let h = parse(dup).unwrap().unwrap();
        assert_eq!(h.framing, Framing::ContentLength(42));
        assert_eq!(h.content_length, Some(42));
    }

    #[test]
    fn target_forms() {
        let cases: &[(&[u8], TargetForm, &[u8])] = &[
            (
                b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                TargetForm::Origin,
                b"/",
            ),
            (
                b"GET http://h:80/p?q HTTP/1.1\r\nHost: h\r\n\r\n",
                TargetForm::Absolute,
                b"/p",
            ),
            (
                b"GET http://h HTTP/1.1\r\nHost: h\r\n\r\n",
                TargetForm::Absolute,
                b"",
            ),
            (
                b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
                TargetForm::Authority,
                b"",
            ),
            (
                b"CONNECT [::1]:443 HTTP/1.1\r\nHost: h\r\n\r\n",
                TargetForm::Authority,
                b"",
            ),
            (
                b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                TargetForm::Asterisk,
                b"*",
            ),
        ];
        for (buf, form, path) in cases {
            let h = parse(buf).unwrap().unwrap();
            assert_eq!((h.target_form, h.path.get(buf)), (*form, *path), "{buf:?}");
        }
        // An absolute-form target's authority takes the place of Host.
        let abs = b"GET http://origin.example:8080/p HTTP/1.1\r\nHost: evil.example\r\n\r\n";
        let h = parse(abs).unwrap().unwrap();
        assert_eq!(
            h.authority.map(|a| a.get(abs)),
            Some(&b"origin.example:8080"[..])
        );
        assert_eq!(
            h.effective_host().map(|a| a.get(abs)),
            Some(&b"origin.example:8080"[..])
        );
        let origin = b"GET /p HTTP/1.1\r\nHost: h.example\r\n\r\n";
        let h = parse(origin).unwrap().unwrap();
        assert_eq!(
            h.effective_host().map(|a| a.get(origin)),
            Some(&b"h.example"[..])
        );
        // No userinfo, no empty authority.
        for bad in [
            &b"GET http://user@h/p HTTP/1.1\r\nHost: h\r\n\r\n"[..],
            b"GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Err(HeadError::InvalidTarget), "{bad:?}");
        }
        let other = b"PROPFIND /d HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = parse(other).unwrap().unwrap();
        let Method::Other(span) = h.method else {
            panic!("{:?}", h.method)
        };
        assert_eq!(span.get(other), b"PROPFIND");
    }

    #[test]
    fn pipelined_requests() {
        let buf: &[u8] = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\
            POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
            POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n\
            GET /4 HTTP/1.0\r\n\r\n";
        let mut p = RequestParser::new(8192);
        let mut at = 0;
        let mut paths = Vec::new();
        while at < buf.len() {
            let rest = &buf[at..];
            let h = p.parse(rest).unwrap().unwrap();
            paths.push(h.path.get(rest).to_vec());
            at += h.head_len;
            match h.framing {
                Framing::ContentLength(n) => at += n as usize,
                Framing::Chunked => {
                    let mut d = crate::http::ChunkedDecoder::new();
                    let prog = d.feed(&buf[at..]).unwrap();
                    assert!(prog.done);
                    at += prog.consumed;
                }
                _ => {}
            }
        }
        assert_eq!(paths, [&b"/1"[..], b"/2", b"/3", b"/4"]);
    }

    #[test]
    fn httparse_alone_lets_these_through() {
        // What the scanner exists for: httparse takes bare LF line ends.
        let mut slots = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut slots);
        assert!(req.parse(b"GET / HTTP/1.1\nHost: h\n\n").is_ok());
        assert_eq!(
            parse(b"GET / HTTP/1.1\nHost: h\n\n"),
            Err(HeadError::BareLf)
        );
        // ... and a comma list of differing Content-Length is our job too.
        let mut slots = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut slots);
        let cl = b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n";
        assert!(req.parse(cl).is_ok());
        assert_eq!(parse(cl), Err(HeadError::ConflictingContentLength));
    }

    #[test]
    fn httparse_rejections_we_rely_on() {
        let cases: &[(&[u8], httparse::Error)] = &[
            (
                b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
                httparse::Error::HeaderName,
            ),
            (
                b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                httparse::Error::HeaderName,
            ),
            (
                b"GET / HTTP/1.1\r\n: v\r\n\r\n",
                httparse::Error::HeaderName,
            ),
            (
                b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
                httparse::Error::HeaderValue,
            ),
            (b"GET / HTTP/2.0\r\n\r\n", httparse::Error::Version),
            (b"G(T / HTTP/1.1\r\n\r\n", httparse::Error::Token),
        ];
        for (buf, want) in cases {
            let mut slots = [httparse::EMPTY_HEADER; 4];
            let mut req = httparse::Request::new(&mut slots);
            assert_eq!(req.parse(buf), Err(*want), "{buf:?}");
        }
        let mut slots = [httparse::EMPTY_HEADER; 1];
        let mut req = httparse::Request::new(&mut slots);
        let two = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
        assert_eq!(req.parse(two), Err(httparse::Error::TooManyHeaders));
    }
}
