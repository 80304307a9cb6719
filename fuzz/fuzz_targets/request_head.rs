//! Arbitrary bytes as a request head: the parser never panics, its answer
//! does not depend on how the bytes arrive, a head's spans stay inside it,
//! and a head rewritten for the server parses again to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_worker::http::head::{Framing, MAX_HEADERS};
use weir_worker::http::rewrite::{self, RewriteOptions};
use weir_worker::http::{RequestHead, RequestParser};

/// weir's default `bufsize`.
const BUFSIZE: usize = 16384;

fuzz_target!(|data: &[u8]| {
    let whole = RequestParser::new(BUFSIZE).parse(data);

    // The same bytes in two reads: "incomplete" on the first part, then
    // the whole, must end as the single read did; a first part that is
    // already decided must agree with it.
    let split = data.len() / 2;
    let mut p = RequestParser::new(BUFSIZE);
    match p.parse(&data[..split]) {
        Ok(None) => assert_eq!(p.parse(data), whole, "split at {split}"),
        first => assert_eq!(first, whole, "decided on the first {split} bytes"),
    }

    let Ok(Some(head)) = whole else { return };
    check_spans(&head, data);
    assert!(
        matches!(
            head.framing,
            Framing::None | Framing::ContentLength(_) | Framing::Chunked
        ),
        "a request is never close-delimited: {:?}",
        head.framing
    );

    // Rewritten for the server (hop-by-hop fields out, X-Forwarded-For in),
    // the head is still a valid request for the same thing.
    if head.headers.len() < MAX_HEADERS - 1 {
        let opts = RewriteOptions {
            forwarded_for: Some([127, 0, 0, 1].into()),
            ..RewriteOptions::default()
        };
        let mut out = Vec::new();
        rewrite::request_head(&head, data, &opts, &mut out);
        let again = RequestParser::new(1 << 20)
            .parse(&out)
            .unwrap_or_else(|e| {
                panic!(
                    "rewritten head refused ({e}): {:?}",
                    String::from_utf8_lossy(&out)
                )
            })
            .expect("a rewritten head is complete");
        assert_eq!(again.head_len, out.len());
        assert_eq!(method(&again, &out), method(&head, data));
        assert_eq!(again.target.get(&out), head.target.get(data));
        assert_eq!(again.version, head.version);
        assert_eq!(again.framing, head.framing);
    }
});

/// The method token of the request line.
fn method<'a>(head: &RequestHead, buf: &'a [u8]) -> &'a [u8] {
    let line = head.start_line.get(buf);
    line.split(|&b| b == b' ').next().unwrap_or(line)
}

fn check_spans(head: &RequestHead, data: &[u8]) {
    assert!(head.head_len <= data.len());
    let inside = |s: weir_worker::http::Span| s.start <= s.end && s.end <= head.head_len;
    assert!(inside(head.target) && inside(head.path) && inside(head.start_line));
    assert!(head.query.map_or(true, inside));
    assert!(head.host.map_or(true, inside));
    for h in &head.headers {
        assert!(inside(h.name) && inside(h.value));
    }
    assert!(head.headers.len() <= MAX_HEADERS);
    assert!(data[..head.head_len].ends_with(b"\r\n\r\n"));
}
