//! RFC 9113 §8 checks, one case per rule.

use super::*;

fn list(fields: &[(&str, &str)]) -> HeaderList {
    fields
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect()
}

const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/a?b"),
];

fn with(extra: &[(&str, &str)]) -> HeaderList {
    let mut v = GET.to_vec();
    v.extend_from_slice(extra);
    list(&v)
}

fn refused(l: &HeaderList) -> &'static str {
    Request::parse(l).unwrap_err().0
}

#[test]
fn a_valid_request() {
    let l = with(&[("accept", "*/*"), ("content-length", "5, 5")]);
    let r = Request::parse(&l).unwrap();
    assert_eq!(value(&l, r.method), b"GET");
    assert_eq!(r.first_field, 4);
    assert_eq!(r.content_length, Some(5));
    assert_eq!(r.authority(&l), Some(&b"example.com"[..]));
    assert!(!r.connect);
}

#[test]
fn pseudo_header_rules() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[(":method", "GET"), (":scheme", "https"), (":path", "/")],
            "no :authority nor host",
        ),
        (
            &[(":scheme", "https"), (":path", "/"), (":authority", "a")],
            "missing :method",
        ),
        (
            &[(":method", "GET"), (":path", "/"), (":authority", "a")],
            "missing :scheme",
        ),
        (
            &[(":method", "GET"), (":scheme", "http"), (":authority", "a")],
            "missing :path",
        ),
        (
            &[
                (":method", "GET"),
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
            ],
            "repeated pseudo-header",
        ),
        (
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", ""),
                (":authority", "a"),
            ],
            "invalid :path",
        ),
        (
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "*"),
                (":authority", "a"),
            ],
            "invalid :path",
        ),
        (
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "a b"),
                (":authority", "a"),
            ],
            "invalid :path",
        ),
        (
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":status", "200"),
            ],
            "unknown or response pseudo-header",
        ),
        (
            &[(":method", "GET"), (":foo", "x")],
            "unknown or response pseudo-header",
        ),
        (
            &[
                (":method", "G T"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "a"),
            ],
            "invalid :method",
        ),
        (
            &[
                (":method", "GET"),
                (":scheme", "1http"),
                (":path", "/"),
                (":authority", "a"),
            ],
            "invalid :scheme",
        ),
        (
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "u@a"),
            ],
            "invalid :authority",
        ),
        (
            &[
                (":method", "CONNECT"),
                (":authority", "a:443"),
                (":path", "/"),
            ],
            "CONNECT with :scheme or :path",
        ),
        (&[(":method", "CONNECT")], "CONNECT without :authority"),
        (
            &[
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                (":authority", "a"),
            ],
            "extended CONNECT is not supported",
        ),
    ];
    for (fields, why) in cases {
        assert_eq!(refused(&list(fields)), *why, "{fields:?}");
    }
    // Pseudo-headers after a regular field.
    let l = list(&[(":method", "GET"), ("x", "y"), (":path", "/")]);
    assert_eq!(refused(&l), "pseudo-header after a regular field");
    // OPTIONS * and CONNECT are fine.
    let l = list(&[
        (":method", "OPTIONS"),
        (":scheme", "http"),
        (":path", "*"),
        (":authority", "a"),
    ]);
    assert!(Request::parse(&l).is_ok());
    let l = list(&[(":method", "CONNECT"), (":authority", "a:443")]);
    assert!(Request::parse(&l).unwrap().connect);
}

#[test]
fn field_rules() {
    let cases: &[(&str, &str, &str)] = &[
        ("Accept", "x", "invalid field name"),
        ("a b", "x", "invalid field name"),
        ("a:b", "x", "invalid field name"),
        ("x", "a\r\nb", "invalid field value"),
        ("x", "a\0", "invalid field value"),
        ("x", " lead", "invalid field value"),
        ("x", "trail\t", "invalid field value"),
        ("connection", "close", "connection-specific field"),
        ("keep-alive", "5", "connection-specific field"),
        ("proxy-connection", "x", "connection-specific field"),
        ("transfer-encoding", "chunked", "connection-specific field"),
        ("upgrade", "h2c", "connection-specific field"),
        ("te", "gzip", "TE other than trailers"),
        ("content-length", "x", "invalid content-length"),
        ("content-length", "1, 2", "conflicting content-length"),
    ];
    for (n, v, why) in cases {
        assert_eq!(refused(&with(&[(n, v)])), *why, "{n}: {v}");
    }
    assert!(Request::parse(&with(&[("te", "trailers"), ("x", "in ner")])).is_ok());
}

#[test]
fn authority_and_host() {
    let l = with(&[("host", "EXAMPLE.com")]);
    assert!(Request::parse(&l).is_ok(), "same authority, any case");
    assert_eq!(
        refused(&with(&[("host", "other")])),
        ":authority and host differ"
    );
    assert_eq!(
        refused(&with(&[("host", "a"), ("host", "a")])),
        "several host fields"
    );
    let l = list(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        ("host", "h"),
    ]);
    let r = Request::parse(&l).unwrap();
    assert_eq!(r.authority(&l), Some(&b"h"[..]));
}

#[test]
fn responses_and_trailers() {
    let l = list(&[(":status", "200"), ("content-length", "3")]);
    let r = Response::parse(&l).unwrap();
    assert_eq!(
        (r.status, r.content_length, r.first_field),
        (200, Some(3), 1)
    );
    for bad in ["20", "2000", "abc", "101", "099"] {
        assert_eq!(
            Response::parse(&list(&[(":status", bad)])).unwrap_err().0,
            "invalid :status"
        );
    }
    assert!(Response::parse(&list(&[(":path", "/")])).is_err());
    assert!(Response::parse(&list(&[("x", "y")])).is_err());
    assert!(check_trailers(&list(&[("grpc-status", "0")])).is_ok());
    assert!(check_trailers(&list(&[(":status", "200")])).is_err());
    assert_eq!(Malformed("x").on(3).code, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn content_length_against_data() {
    let mut b = BodyLength::new(Some(5));
    assert!(b.data(3).is_ok());
    assert!(b.end().is_err(), "3 of 5");
    assert!(b.data(2).is_ok());
    assert!(b.end().is_ok());
    assert!(b.data(1).is_err(), "6 of 5");
    let mut b = BodyLength::new(None);
    assert!(b.data(1 << 30).is_ok());
    assert!(b.end().is_ok());
}
