//! The request defenses of SPEC §4 as one table: malformed and
//! smuggling-shaped requests, each with the reason it must be refused for
//! (the session answers 400 and closes), and the near misses that must
//! still be accepted.

use super::head::{HeadError, MAX_HEADERS};
use super::{Framing, RequestParser};

use HeadError::*;

const BUFSIZE: usize = 1024;

fn parse(buf: &[u8]) -> Result<Option<super::RequestHead>, HeadError> {
    RequestParser::new(BUFSIZE).parse(buf)
}

/// (label, request, expected refusal)
const REFUSED: &[(&str, &[u8], HeadError)] = &[
    // Content-Length and Transfer-Encoding together (CL.TE / TE.CL).
    ("cl+te", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ContentLengthAndTransferEncoding),
    ("te+cl", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ContentLengthAndTransferEncoding),
    ("cl 0 + te", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", ContentLengthAndTransferEncoding),
    ("cl + te gzip", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n", ContentLengthAndTransferEncoding),
    // Content-Length values.
    ("cl differing dup", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ConflictingContentLength),
    ("cl differing list", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", ConflictingContentLength),
    ("cl list vs line", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 50\r\n\r\n", ConflictingContentLength),
    ("cl empty", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", InvalidContentLength),
    ("cl letters", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", InvalidContentLength),
    ("cl plus sign", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", InvalidContentLength),
    ("cl negative", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", InvalidContentLength),
    ("cl hex", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n", InvalidContentLength),
    ("cl inner space", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", InvalidContentLength),
    ("cl overflow", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", InvalidContentLength),
    ("cl empty element", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,\r\n\r\n", InvalidContentLength),
    // Transfer-Encoding other than a final chunked.
    ("te gzip", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", UnsupportedTransferEncoding),
    ("te identity", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", UnsupportedTransferEncoding),
    ("te chunked, gzip", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", UnsupportedTransferEncoding),
    ("te chunked twice", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", UnsupportedTransferEncoding),
    ("te split lines", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", UnsupportedTransferEncoding),
    ("te empty", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", UnsupportedTransferEncoding),
    ("te empty element", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked\r\n\r\n", UnsupportedTransferEncoding),
    ("te xchunked", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", UnsupportedTransferEncoding),
    ("te chunked param", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", UnsupportedTransferEncoding),
    ("te space-joined", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip chunked\r\n\r\n", UnsupportedTransferEncoding),
    ("te in 1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingInHttp10),
    // Header-name tricks.
    ("space before colon", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", InvalidHeaderName),
    ("tab before colon", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length\t: 5\r\n\r\n", InvalidHeaderName),
    ("non-token name", b"GET / HTTP/1.1\r\nHost: h\r\nX(y): z\r\n\r\n", InvalidHeaderName),
    ("non-ascii name", b"GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: z\r\n\r\n", InvalidHeaderName),
    ("empty name", b"GET / HTTP/1.1\r\nHost: h\r\n: z\r\n\r\n", InvalidHeaderName),
    ("no colon", b"GET / HTTP/1.1\r\nHost: h\r\nJunk\r\n\r\n", InvalidHeaderName),
    // Line folding and whitespace before the first field.
    ("obs-fold sp", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", ObsFold),
    ("obs-fold tab", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\tchunked\r\n\r\n", ObsFold),
    ("ws before first field", b"GET / HTTP/1.1\r\n Host: h\r\n\r\n", ObsFold),
    // Line ends.
    ("bare lf in fields", b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", BareLf),
    ("bare lf request line", b"GET / HTTP/1.1\nHost: h\r\n\r\n", BareLf),
    ("bare lf end of head", b"GET / HTTP/1.1\r\nHost: h\r\n\n", BareLf),
    ("bare cr in value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", BareCr),
    ("bare cr request line", b"GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", BareCr),
    ("bare cr end of head", b"GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", BareCr),
    // NUL and control bytes.
    ("nul in value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", Nul),
    ("nul in target", b"GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", Nul),
    ("nul in name", b"GET / HTTP/1.1\r\nHost: h\r\nX\0: b\r\n\r\n", Nul),
    ("ctl in value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x0bb\r\n\r\n", ControlChar),
    ("del in value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n", ControlChar),
    ("esc in target", b"GET /\x1b[0m HTTP/1.1\r\nHost: h\r\n\r\n", ControlChar),
    ("tab in request line", b"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", ControlChar),
    // Request line.
    ("bad method", b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
    ("leading space", b" GET / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
    ("non-ascii method", b"G\xc9T / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
    ("double space", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidRequestLine),
    ("extra word", b"GET / HTTP/1.1 x\r\nHost: h\r\n\r\n", InvalidRequestLine),
    ("method only", b"GET\r\nHost: h\r\n\r\n", InvalidRequestLine),
    ("non-ascii target", b"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    ("fragment", b"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    ("relative target", b"GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    ("asterisk not options", b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    ("connect origin-form", b"CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    ("connect no port", b"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    ("absolute no slashes", b"GET http:x HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
    // Versions.
    ("http/0.9", b"GET /\r\n\r\n", UnsupportedVersion),
    ("http/2.0 in h1", b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", UnsupportedVersion),
    ("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", UnsupportedVersion),
    ("http/1.2", b"GET / HTTP/1.2\r\nHost: h\r\n\r\n", UnsupportedVersion),
    ("lowercase version", b"GET / http/1.1\r\nHost: h\r\n\r\n", UnsupportedVersion),
    ("http/1.10", b"GET / HTTP/1.10\r\nHost: h\r\n\r\n", UnsupportedVersion),
    // Host.
    ("missing host", b"GET / HTTP/1.1\r\nX: y\r\n\r\n", MissingHost),
    ("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", MultipleHost),
    ("two hosts 1.0", b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", MultipleHost),
    ("host with space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", InvalidHost),
    ("host with userinfo", b"GET / HTTP/1.1\r\nHost: u@evil\r\n\r\n", InvalidHost),
    ("host with path", b"GET / HTTP/1.1\r\nHost: h/x\r\n\r\n", InvalidHost),
];

#[test]
fn smuggling_shaped_requests_are_refused() {
    assert!(REFUSED.len() >= 40);
    for (label, req, want) in REFUSED {
        assert_eq!(parse(req), Err(*want), "{label}");
    }
}

#[test]
fn refusals_do_not_depend_on_how_bytes_arrive() {
    // Fed a byte at a time, each case ends in the same refusal, and never
    // in a head.
    for (label, req, want) in REFUSED {
        let mut p = RequestParser::new(BUFSIZE);
        let mut got = Ok(None);
        for n in 1..=req.len() {
            got = p.parse(&req[..n]);
            if !matches!(got, Ok(None)) {
                break;
            }
        }
        assert_eq!(got, Err(*want), "{label}");
    }
}

#[test]
fn size_and_count_limits() {
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(BUFSIZE));
    assert_eq!(parse(long_line.as_bytes()), Err(StartLineTooLong));
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(BUFSIZE)
    );
    assert_eq!(parse(big_head.as_bytes()), Err(HeadTooLarge));
    // Exactly bufsize bytes is fine.
    let pad = BUFSIZE - "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n".len();
    let exact = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(pad)
    );
    assert_eq!(exact.len(), BUFSIZE);
    assert!(matches!(parse(exact.as_bytes()), Ok(Some(_))));

    let mut head = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 1..MAX_HEADERS {
        head.push_str(&format!("X{i}: v\r\n"));
    }
    let hundred = format!("{head}\r\n");
    let h = RequestParser::new(1 << 16).parse(hundred.as_bytes());
    assert_eq!(h.map(|h| h.map(|h| h.headers.len())), Ok(Some(MAX_HEADERS)));
    let too_many = format!("{head}X: v\r\n\r\n");
    assert_eq!(
        RequestParser::new(1 << 16).parse(too_many.as_bytes()),
        Err(TooManyHeaders)
    );
}

#[test]
fn near_misses_are_accepted() {
    let accepted: &[(&str, &[u8], Framing)] = &[
        (
            "cl identical dup",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            Framing::ContentLength(5),
        ),
        (
            "cl identical list",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,5 , 5\r\n\r\n",
            Framing::ContentLength(5),
        ),
        (
            "cl leading zeros",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n",
            Framing::ContentLength(7),
        ),
        (
            "cl u64 max",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n",
            Framing::ContentLength(u64::MAX),
        ),
        (
            "te case",
            b"POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: CHUNKED\r\n\r\n",
            Framing::Chunked,
        ),
        (
            "te gzip, chunked",
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip,chunked\r\n\r\n",
            Framing::Chunked,
        ),
        (
            "leading empty line",
            b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
            Framing::None,
        ),
        (
            "obs-text value",
            b"GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n",
            Framing::None,
        ),
        (
            "tab in value",
            b"GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\r\n\r\n",
            Framing::None,
        ),
        (
            "empty host",
            b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
            Framing::None,
        ),
        (
            "host ipv6 port",
            b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
            Framing::None,
        ),
        ("1.0 no host", b"GET / HTTP/1.0\r\n\r\n", Framing::None),
        (
            "name with underscore",
            b"GET / HTTP/1.1\r\nHost: h\r\nX_Y: z\r\n\r\n",
            Framing::None,
        ),
        (
            "empty value",
            b"GET / HTTP/1.1\r\nHost: h\r\nX:\r\n\r\n",
            Framing::None,
        ),
    ];
    for (label, req, framing) in accepted {
        let h = parse(req).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(h.map(|h| h.framing), Some(*framing), "{label}");
    }
}

/// `buf` parsed whole, then in two reads split at every point (an
/// "incomplete" first read followed by the whole buffer on the same
/// parser, or a first read that already decides), then a byte at a time:
/// the answer must not depend on how the bytes arrive. Returns it.
fn parse_every_way(buf: &[u8]) -> Result<Option<super::RequestHead>, HeadError> {
    let whole = parse(buf);
    let text = || String::from_utf8_lossy(buf).into_owned();
    for split in 0..=buf.len() {
        let mut p = RequestParser::new(BUFSIZE);
        match p.parse(&buf[..split]) {
            Ok(None) => assert_eq!(p.parse(buf), whole, "split at {split}: {:?}", text()),
            first => assert_eq!(
                first,
                whole,
                "decided on the first {split} bytes: {:?}",
                text()
            ),
        }
    }
    let mut p = RequestParser::new(BUFSIZE);
    let mut got = Ok(None);
    for n in 1..=buf.len() {
        got = p.parse(&buf[..n]);
        if !matches!(got, Ok(None)) {
            break;
        }
    }
    assert_eq!(got, whole, "a byte at a time: {:?}", text());
    if let Ok(Some(head)) = &whole {
        assert!(head.head_len <= buf.len() && buf[..head.head_len].ends_with(b"\r\n\r\n"));
    }
    whole
}

#[test]
fn never_panics_on_noise_or_mutations() {
    let base = b"POST /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX: y\r\n\r\nabc";
    let head_len = base.len() - 3;
    let head = parse_every_way(base)
        .expect("the base request is valid")
        .expect("the base request is complete");
    assert_eq!(
        (head.head_len, head.framing),
        (head_len, Framing::ContentLength(3))
    );
    // Every single-byte substitution of a valid request, with the bytes
    // that matter to a parser: the same answer however the bytes arrive.
    for i in 0..base.len() {
        for b in [
            0u8, b'\t', b'\n', b'\r', b' ', b':', b',', 0x7f, 0x80, 0xff, b'a',
        ] {
            let mut m = base.to_vec();
            m[i] = b;
            let got = parse_every_way(&m);
            // A change in the body is none of the head parser's business.
            if i >= head_len {
                assert_eq!(got, Ok(Some(head.clone())), "body byte {i} set to {b:#x}");
            }
        }
        // What comes before the substitution is a prefix of a valid
        // request: incomplete until its head ends, then that same head.
        let want = if i < head_len {
            Ok(None)
        } else {
            Ok(Some(head.clone()))
        };
        assert_eq!(parse_every_way(&base[..i]), want, "the first {i} bytes");
    }
    // Noise is never a request: refused, at the latest when it passes
    // bufsize without ending a head, however it arrives.
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    for n in 0..512 {
        let got = parse_every_way(&noise[n..]);
        assert!(got.is_err(), "noise from byte {n}: {got:?}");
    }
}
