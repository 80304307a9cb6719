//! Arbitrary bytes after a client preface and SETTINGS, into an HTTP/2
//! connection (server role): it never panics, gives the same events and
//! the same end whether the bytes come whole or split at any point, and
//! every request it accepts converts to an HTTP/1.1 head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_worker::h2::conn::{Connection, Event, Role};
use weir_worker::h2::convert::to_h1_request;
use weir_worker::h2::frame::{self, Parse, PREFACE};
use weir_worker::h2::semantics::Request;
use weir_worker::h2::{write, Limits};

/// Feeds `chunks` in turn; returns the events (as text) and the error.
fn run(chunks: &[&[u8]]) -> (Vec<String>, Option<String>) {
    let mut c = Connection::new(Role::Server, Limits::default(), 0);
    let mut buf = Vec::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match c.receive(&buf, 0) {
                Ok(Some((n, e))) => {
                    events.push(format!("{e:?}"));
                    if let Event::Headers { end_stream, .. } = e {
                        let fields = c.fields();
                        events.push(format!("{fields:?}"));
                        if let Ok(req) = Request::parse(fields) {
                            let mut out = Vec::new();
                            to_h1_request(&req, fields, end_stream, &mut out);
                            assert!(out.ends_with(b"\r\n\r\n"));
                        }
                    }
                    assert!(n > 0 && n <= buf.len());
                    buf.drain(..n);
                }
                Ok(None) => break,
                Err(e) => return (events, Some(format!("{e:?}"))),
            }
        }
    }
    (events, None)
}

fuzz_target!(|data: &[u8]| {
    let mut input = PREFACE.to_vec();
    write::settings(&mut input, &[]);
    let (split, body) = match data {
        [a, b, rest @ ..] => (usize::from(*a) << 8 | usize::from(*b), rest),
        _ => (0, data),
    };
    input.extend_from_slice(body);

    // The parser alone, frame after frame.
    let mut rest = body;
    while let Ok(Parse::Frame { len, .. } | Parse::StreamError { len, .. }) = frame::parse(rest, 1 << 14) {
        rest = &rest[len..];
    }

    let whole = run(&[&input]);
    let at = split % (input.len() + 1);
    let (a, b) = input.split_at(at);
    let parts = run(&[a, b]);
    assert_eq!(whole, parts, "split at {at}");
});
