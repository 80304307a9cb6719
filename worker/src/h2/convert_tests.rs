//! The conversions both ways, checked by weir's own HTTP/1 parsers.

use super::*;
use crate::http::{RequestParser, ResponseContext, ResponseParser};

fn list(fields: &[(&str, &str)]) -> HeaderList {
    fields
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect()
}

fn h1_request(fields: &[(&str, &str)], end_stream: bool) -> (String, BodyFraming) {
    let l = list(fields);
    let req = Request::parse(&l).unwrap();
    let mut out = Vec::new();
    let framing = to_h1_request(&req, &l, end_stream, &mut out);
    (String::from_utf8(out).unwrap(), framing)
}

#[test]
fn h2_request_to_h1_head() {
    let (head, framing) = h1_request(
        &[
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/up?x=1"),
            ("cookie", "a=1"),
            ("accept", "*/*"),
            ("cookie", "b=2"),
            ("te", "trailers"),
        ],
        false,
    );
    assert_eq!(
        head,
        "POST /up?x=1 HTTP/1.1\r\nhost: example.com\r\ncookie: a=1; b=2\r\naccept: */*\r\n\
         transfer-encoding: chunked\r\n\r\n"
    );
    assert_eq!(framing, BodyFraming::Chunked);
    // weir's HTTP/1 parser reads it as is.
    let h = RequestParser::new(8192)
        .parse(head.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(h.framing, crate::http::Framing::Chunked);
    assert_eq!(h.host.unwrap().get(head.as_bytes()), b"example.com");
    // A length, no body, CONNECT.
    let (head, framing) = h1_request(
        &[
            (":method", "PUT"),
            (":scheme", "http"),
            (":path", "/f"),
            ("host", "h"),
            ("content-length", "3"),
        ],
        false,
    );
    assert_eq!(
        head,
        "PUT /f HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\n"
    );
    assert_eq!(framing, BodyFraming::Length(3));
    let (head, framing) = h1_request(
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "a"),
        ],
        true,
    );
    assert_eq!(
        (head.as_str(), framing),
        ("GET / HTTP/1.1\r\nhost: a\r\n\r\n", BodyFraming::None)
    );
    let (head, _) = h1_request(&[(":method", "CONNECT"), (":authority", "a:443")], false);
    assert!(
        head.starts_with("CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n"),
        "{head}"
    );
    assert!(RequestParser::new(8192)
        .parse(head.as_bytes())
        .unwrap()
        .is_some());
}

#[test]
fn h1_response_to_h2_fields() {
    let buf = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\n\
        X-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\nok";
    let head = ResponseParser::new(8192)
        .parse(buf, ResponseContext::default())
        .unwrap()
        .unwrap();
    let mut out = HeaderList::new();
    response_fields(&head, buf, &mut out).unwrap();
    let got: Vec<(&[u8], &[u8])> = out.iter().collect();
    let want: [(&[u8], &[u8]); 5] = [
        (b":status", b"200"),
        (b"content-type", b"text/plain"),
        (b"content-length", b"2"),
        (b"set-cookie", b"a"),
        (b"set-cookie", b"b"),
    ];
    assert_eq!(got, want);
    assert!(
        Response::parse(&out).is_ok(),
        "what weir sends passes its own checks"
    );
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = ResponseParser::new(8192)
        .parse(chunked, ResponseContext::default())
        .unwrap()
        .unwrap();
    let mut out = HeaderList::new();
    response_fields(&head, chunked, &mut out).unwrap();
    assert_eq!(out.len(), 1);
}

/// An HTTP/1.1 head and the h2 fields it should become.
type Case<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

#[test]
fn h1_request_to_h2_fields() {
    let cases: &[Case] = &[
        (
            b"POST /rpc HTTP/1.1\r\nHost: s:50051\r\nTE: trailers\r\nContent-Type: application/grpc\r\n\
              Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
            &[(":method", "POST"), (":scheme", "http"), (":authority", "s:50051"), (":path", "/rpc"),
              ("te", "trailers"), ("content-type", "application/grpc")],
        ),
        (
            b"GET http://h:8080/p?q HTTP/1.1\r\nHost: h:8080\r\n\r\n",
            &[(":method", "GET"), (":scheme", "http"), (":authority", "h:8080"), (":path", "/p?q")],
        ),
        (
            b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
            &[(":method", "OPTIONS"), (":scheme", "http"), (":authority", "h"), (":path", "*")],
        ),
        (
            b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
            &[(":method", "CONNECT"), (":authority", "h:443")],
        ),
    ];
    for (buf, want) in cases {
        let head = RequestParser::new(8192).parse(buf).unwrap().unwrap();
        let mut out = HeaderList::new();
        request_fields(&head, buf, b"http", &mut out);
        assert_eq!(out, list(want), "{}", String::from_utf8_lossy(buf));
        assert!(Request::parse(&out).is_ok());
    }
}

#[test]
fn h2_response_to_h1_head() {
    let l = list(&[(":status", "200"), ("content-type", "application/grpc")]);
    let r = Response::parse(&l).unwrap();
    let mut out = Vec::new();
    let framing = to_h1_response(&r, &l, false, false, &mut out);
    assert_eq!(framing, BodyFraming::Chunked);
    let head = ResponseParser::new(8192)
        .parse(&out, ResponseContext::default())
        .unwrap()
        .unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.framing, crate::http::Framing::Chunked);
    let l = list(&[(":status", "204")]);
    let mut out = Vec::new();
    let framing = to_h1_response(&Response::parse(&l).unwrap(), &l, false, false, &mut out);
    assert_eq!(
        (out.as_slice(), framing),
        (&b"HTTP/1.1 204 No Content\r\n\r\n"[..], BodyFraming::None)
    );
    let l = list(&[(":status", "200"), ("content-length", "7")]);
    let mut out = Vec::new();
    let f = to_h1_response(&Response::parse(&l).unwrap(), &l, false, true, &mut out);
    assert_eq!(f, BodyFraming::None, "a response to HEAD");
    assert_eq!(
        framing_of(crate::http::Framing::ContentLength(4)),
        BodyFraming::Length(4)
    );
}

#[test]
fn chunks_both_ways() {
    // DATA to chunks.
    let mut out = Vec::new();
    chunk_header(300, &mut out);
    out.extend_from_slice(&[b'x'; 300]);
    out.extend_from_slice(CRLF);
    let trailers = list(&[("grpc-status", "0")]);
    last_chunk(Some(&trailers), &mut out);
    assert!(out.starts_with(b"12c\r\n"));
    assert!(out.ends_with(b"0\r\ngrpc-status: 0\r\n\r\n"));
    // And back, fed one byte at a time.
    let mut d = Dechunker::new();
    let mut data = Vec::new();
    let mut ended = false;
    let mut pending: Vec<u8> = Vec::new();
    for &b in &out {
        pending.push(b);
        let used = d
            .feed(&pending, |p| match p {
                Piece::Data(x) => data.extend_from_slice(x),
                Piece::End => ended = true,
            })
            .unwrap();
        pending.drain(..used);
    }
    assert!(ended && pending.is_empty());
    assert_eq!(data, vec![b'x'; 300]);
    let mut fields = HeaderList::new();
    trailer_fields(d.trailers(), &mut fields);
    assert_eq!(fields, list(&[("grpc-status", "0")]));
    // No trailers; bad framing is refused by the checker.
    let mut d = Dechunker::new();
    let mut n = 0;
    d.feed(b"3\r\nabc\r\n0\r\n\r\n", |p| {
        n += matches!(p, Piece::End) as usize
    })
    .unwrap();
    assert_eq!((n, d.trailers()), (1, &b""[..]));
    assert!(Dechunker::new().feed(b"zz\r\n", |_| {}).is_err());
}
