//! Arbitrary bytes as a server's answer: the response head parser (for
//! each kind of request it may answer) and the chunked decoder never
//! panic, do not depend on how the bytes arrive, and stay inside the
//! bytes they were given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_worker::http::head::{Framing, MAX_HEADERS};
use weir_worker::http::{ChunkedDecoder, ResponseContext, ResponseParser};

/// weir's default `bufsize`.
const BUFSIZE: usize = 16384;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the request the answer is for.
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let ctx = ResponseContext {
        head_request: pick & 1 != 0,
        connect_request: pick & 2 != 0,
        upgrade_requested: pick & 4 != 0,
    };
    response(data, ctx);
    chunked(data, usize::from(pick >> 3));
});

fn response(data: &[u8], ctx: ResponseContext) {
    let whole = ResponseParser::new(BUFSIZE).parse(data, ctx);
    let split = data.len() / 2;
    let mut p = ResponseParser::new(BUFSIZE);
    match p.parse(&data[..split], ctx) {
        Ok(None) => assert_eq!(p.parse(data, ctx), whole, "split at {split}"),
        first => assert_eq!(first, whole, "decided on the first {split} bytes"),
    }
    let Ok(Some(head)) = whole else { return };
    assert!(head.head_len <= data.len());
    assert!(data[..head.head_len].ends_with(b"\r\n\r\n"));
    assert!((100..=599).contains(&head.status));
    assert!(head.headers.len() <= MAX_HEADERS);
    for h in &head.headers {
        assert!(h.name.end <= head.head_len && h.value.end <= head.head_len);
    }
    if ctx.head_request || head.status == 204 || head.status == 304 {
        assert!(
            matches!(head.framing, Framing::None | Framing::Tunnel),
            "bodiless answer framed {:?}",
            head.framing
        );
    }
    if head.framing == Framing::Tunnel {
        assert!(head.status == 101 || ctx.connect_request);
    }
    if matches!(head.framing, Framing::UntilClose | Framing::Tunnel) {
        assert!(!head.keep_alive, "a connection that must close is reusable");
    }
}

/// The whole input as a chunked body: fed at once, and fed in pieces of
/// `piece + 1` bytes the way a session does (keeping what was not
/// consumed), the decoder must end in the same place.
fn chunked(data: &[u8], piece: usize) {
    let mut once = ChunkedDecoder::new();
    let whole = once.feed(data);
    if let Ok(p) = whole {
        assert!(p.consumed <= data.len());
        assert_eq!(p.done, once.is_done());
    }

    let mut dec = ChunkedDecoder::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut consumed = 0;
    let mut result = None;
    for part in data.chunks(piece + 1) {
        buf.extend_from_slice(part);
        match dec.feed(&buf) {
            Ok(p) => {
                assert!(p.consumed <= buf.len());
                buf.drain(..p.consumed);
                consumed += p.consumed;
                if p.done {
                    result = Some(Ok(true));
                    break;
                }
            }
            Err(e) => {
                result = Some(Err(e));
                break;
            }
        }
    }
    match (whole, result) {
        (Err(e), Some(Err(f))) => assert_eq!(e, f),
        (Err(e), other) => panic!("whole: {e:?}, in pieces: {other:?}"),
        (Ok(p), Some(Err(f))) => panic!("whole: {p:?}, in pieces: {f:?}"),
        (Ok(p), Some(Ok(done))) => assert_eq!((p.consumed, p.done), (consumed, done)),
        (Ok(p), None) => assert_eq!((p.consumed, p.done), (consumed, false)),
    }
}
