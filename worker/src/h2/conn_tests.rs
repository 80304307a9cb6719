//! The connection driven by scripted peers: the handshake, streams, flow
//! control, shutdown, and every limit crossed by a flood at the right
//! count while normal traffic never is.

use super::super::frame::{flag, kind};
use super::super::limits::Limit;
use super::*;

/// Tests run at this time; handshakes at 0, in an earlier flood window.
const NOW: u64 = 100_000;

/// What weir sent, as (type, flags, stream, u32 of the payload's start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    kind: u8,
    flags: u8,
    stream: u32,
    word: u32,
}

fn sent(c: &mut Connection) -> Vec<Sent> {
    let out = c.output().to_vec();
    c.consumed_output(out.len());
    let mut buf = &out[..];
    if buf.starts_with(PREFACE) {
        buf = &buf[PREFACE.len()..];
    }
    let mut v = Vec::new();
    while !buf.is_empty() {
        let h = super::super::frame::FrameHeader::read(buf).unwrap();
        let p = &buf[9..9 + h.len as usize];
        let word = p
            .get(..4)
            .map_or(0, |w| u32::from_be_bytes(w.try_into().unwrap()));
        // GOAWAY: the error code.
        let word = if h.kind == kind::GOAWAY {
            u32::from_be_bytes(p[4..8].try_into().unwrap())
        } else {
            word
        };
        v.push(Sent {
            kind: h.kind,
            flags: h.flags,
            stream: h.stream,
            word,
        });
        buf = &buf[9 + h.len as usize..];
    }
    v
}

/// A scripted client.
struct Peer {
    bytes: Vec<u8>,
    enc: Encoder,
}

impl Peer {
    fn new() -> Peer {
        let mut bytes = PREFACE.to_vec();
        write::settings(&mut bytes, &[]);
        Peer {
            bytes,
            enc: Encoder::new(),
        }
    }

    fn raw() -> Peer {
        Peer {
            bytes: Vec::new(),
            enc: Encoder::new(),
        }
    }

    fn block(&mut self, fields: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        self.enc.block(&mut b, fields.iter().copied());
        b
    }

    fn get(&mut self, stream: u32, end_stream: bool) -> &mut Peer {
        let b = self.block(&[
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":path", b"/"),
            (b":authority", b"a"),
        ]);
        write::headers(&mut self.bytes, stream, &b, end_stream, 16_384);
        self
    }

    fn frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> &mut Peer {
        write::header(&mut self.bytes, payload.len(), kind, flags, stream);
        self.bytes.extend_from_slice(payload);
        self
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    None,
    Headers(u32, bool, bool),
    Data(u32, Vec<u8>, bool),
    Reset(u32, ErrorCode),
    StreamError(u32, ErrorCode),
    Window(u32),
    GoAway(u32, ErrorCode),
}

/// Feeds all of `bytes`: the events, or the connection error.
fn feed(c: &mut Connection, bytes: &[u8]) -> Result<Vec<Ev>, ConnError> {
    feed_at(c, bytes, NOW)
}

fn feed_at(c: &mut Connection, bytes: &[u8], now: u64) -> Result<Vec<Ev>, ConnError> {
    let mut at = 0;
    let mut v = Vec::new();
    while let Some((n, e)) = c.receive(&bytes[at..], now)? {
        at += n;
        v.push(match e {
            Event::None => Ev::None,
            Event::Headers {
                stream,
                end_stream,
                trailers,
            } => Ev::Headers(stream, end_stream, trailers),
            Event::Data {
                stream,
                data,
                end_stream,
            } => Ev::Data(stream, data.to_vec(), end_stream),
            Event::Reset { stream, code } => Ev::Reset(stream, code),
            Event::StreamError(e) => Ev::StreamError(e.stream, e.code),
            Event::WindowUpdate { stream } => Ev::Window(stream),
            Event::GoAway {
                last_stream, code, ..
            } => Ev::GoAway(last_stream, code),
        });
    }
    assert_eq!(at, bytes.len(), "bytes left over");
    Ok(v.into_iter().filter(|e| *e != Ev::None).collect())
}

fn server() -> Connection {
    server_with(Limits::default())
}

fn server_with(limits: Limits) -> Connection {
    let mut c = Connection::new(Role::Server, limits, 0);
    let mut p = Peer::new();
    p.frame(kind::SETTINGS, flag::ACK, 0, b"");
    feed_at(&mut c, &p.take(), 0).unwrap();
    sent(&mut c);
    c
}

#[test]
fn handshake() {
    let mut c = Connection::new(Role::Server, Limits::default(), NOW);
    let s = sent(&mut c);
    assert_eq!(s[0].kind, kind::SETTINGS);
    assert_eq!(
        s[1],
        Sent {
            kind: kind::WINDOW_UPDATE,
            flags: 0,
            stream: 0,
            word: 65_536 - 65_535
        }
    );
    // The preface arriving a byte at a time is fine.
    let bytes = Peer::new().take();
    for n in 0..PREFACE.len() {
        assert_eq!(c.receive(&bytes[..n], NOW), Ok(None));
    }
    assert_eq!(feed(&mut c, &bytes), Ok(vec![]));
    assert_eq!(
        sent(&mut c)[0].flags,
        flag::ACK,
        "their SETTINGS acknowledged"
    );
}

#[test]
fn bad_preface_and_first_frame() {
    let mut c = Connection::new(Role::Server, Limits::default(), NOW);
    sent(&mut c);
    let e = feed(&mut c, b"GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxx").unwrap_err();
    assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
    assert_eq!(sent(&mut c)[0].kind, kind::GOAWAY);
    assert!(c.is_done());
    let mut c = Connection::new(Role::Server, Limits::default(), NOW);
    let mut p = Peer::raw();
    p.bytes.extend_from_slice(PREFACE);
    p.frame(kind::PING, 0, 0, b"12345678");
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn request_with_body_and_trailers() {
    let mut c = server();
    let mut p = Peer::raw();
    p.get(1, false).frame(kind::DATA, 0, 1, b"hello");
    let t = p.block(&[(b"grpc-status", b"0")]);
    write::headers(&mut p.bytes, 1, &t, true, 16_384);
    let ev = feed(&mut c, &p.take()).unwrap();
    assert_eq!(
        ev,
        [
            Ev::Headers(1, false, false),
            Ev::Data(1, b"hello".to_vec(), false),
            Ev::Headers(1, true, true),
        ]
    );
    assert_eq!(c.fields().get(0), Some((&b"grpc-status"[..], &b"0"[..])));
    assert_eq!(c.stream_state(1), StreamState::HalfClosedRemote);
    // The response ends the stream.
    c.send_headers(1, [(&b":status"[..], &b"200"[..])], false)
        .unwrap();
    assert_eq!(c.send_data(1, b"ok", true), Ok(2));
    assert_eq!(c.stream_state(1), StreamState::Closed);
    assert_eq!(c.open_streams(), 0);
    let s = sent(&mut c);
    assert_eq!((s[0].kind, s[0].flags), (kind::HEADERS, flag::END_HEADERS));
    assert_eq!((s[1].kind, s[1].flags), (kind::DATA, flag::END_STREAM));
    // Trailers without END_STREAM are malformed.
    let mut p = Peer::raw();
    p.get(3, false);
    let t = p.block(&[(b"x", b"y")]);
    write::headers(&mut p.bytes, 3, &t, false, 16_384);
    let ev = feed(&mut c, &p.take()).unwrap();
    assert_eq!(ev[1], Ev::StreamError(3, ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn continuation_sequencing_and_flood() {
    let mut c = server();
    let mut p = Peer::raw();
    let b = p.block(&[(b":method", b"GET"), (b":path", b"/long-path-here")]);
    // Split in 3: HEADERS, CONTINUATION, CONTINUATION.
    p.frame(kind::HEADERS, flag::END_STREAM, 1, &b[..3]);
    p.frame(kind::CONTINUATION, 0, 1, &b[3..6]);
    p.frame(kind::CONTINUATION, flag::END_HEADERS, 1, &b[6..]);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap(),
        [Ev::Headers(1, true, false)]
    );
    assert_eq!(c.fields().len(), 2);
    // Another frame in the middle of a block.
    p.frame(kind::HEADERS, 0, 3, &b[..3])
        .frame(kind::PING, 0, 0, b"12345678");
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
    // A CONTINUATION of another stream, or with no HEADERS before.
    let mut c = server();
    p.frame(kind::HEADERS, 0, 3, &b[..3])
        .frame(kind::CONTINUATION, 0, 5, b"");
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    let mut c = server();
    p.frame(kind::CONTINUATION, flag::END_HEADERS, 1, b"");
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    // The flood (CVE-2024-27316): frame 33 of a block closes, before decoding.
    let mut c = server();
    p.frame(kind::HEADERS, 0, 1, &b[..1]);
    for _ in 0..31 {
        p.frame(kind::CONTINUATION, 0, 1, b"\x82");
    }
    assert!(
        feed(&mut c, &p.take()).is_ok(),
        "32 frames are within the limit"
    );
    p.frame(kind::CONTINUATION, 0, 1, b"\x82");
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(
        (e.code, e.limit),
        (ErrorCode::ENHANCE_YOUR_CALM, Some(Limit::Continuation))
    );
    // A block bigger than max_header_list_size, in few frames.
    let mut c = server();
    let big = vec![0x82u8; 16_000];
    p.frame(kind::HEADERS, 0, 1, &big);
    for _ in 0..4 {
        p.frame(kind::CONTINUATION, 0, 1, &big);
    }
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(e.limit, Some(Limit::HeaderList));
}

#[test]
fn hpack_errors_are_connection_errors() {
    let mut c = server();
    let mut p = Peer::raw();
    p.frame(kind::HEADERS, flag::END_HEADERS, 1, &[0x80]);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::COMPRESSION_ERROR
    );
    // A header list over 64 KiB decoded from a small block: an HPACK bomb.
    let mut c = server();
    let mut b = vec![0x40, 0x01, b'b', 0x7f, 0x9f, 0x1e];
    b.extend(std::iter::repeat_n(b'x', 3998));
    b.extend(std::iter::repeat_n(0xbe, 20));
    p.frame(kind::HEADERS, flag::END_HEADERS, 1, &b);
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(
        (e.code, e.limit),
        (ErrorCode::ENHANCE_YOUR_CALM, Some(Limit::HeaderList))
    );
}

#[test]
fn stream_id_rules() {
    let cases: Vec<(Vec<u8>, ErrorCode)> = vec![
        (Peer::raw().get(2, true).take(), ErrorCode::PROTOCOL_ERROR),
        (
            Peer::raw().frame(kind::DATA, 0, 1, b"x").take(),
            ErrorCode::PROTOCOL_ERROR,
        ),
        (
            Peer::raw()
                .frame(kind::RST_STREAM, 0, 1, &[0, 0, 0, 8])
                .take(),
            ErrorCode::PROTOCOL_ERROR,
        ),
        (
            Peer::raw()
                .frame(kind::WINDOW_UPDATE, 0, 1, &[0, 0, 1, 0])
                .take(),
            ErrorCode::PROTOCOL_ERROR,
        ),
        // A stream id lower than one already used, never opened: an
        // unexpected id (§5.1.1).
        (
            {
                let mut p = Peer::raw();
                p.get(5, true).get(3, true);
                p.take()
            },
            ErrorCode::PROTOCOL_ERROR,
        ),
        // HEADERS after END_STREAM on an open stream.
        (
            {
                let mut p = Peer::raw();
                p.get(1, true).get(1, true);
                p.take()
            },
            ErrorCode::STREAM_CLOSED,
        ),
    ];
    for (bytes, code) in cases {
        let mut c = server();
        assert_eq!(feed(&mut c, &bytes).unwrap_err().code, code, "{bytes:?}");
    }
    // DATA on a closed stream: a stream error; after weir's reset: ignored.
    let mut c = server();
    let mut p = Peer::raw();
    p.get(1, true);
    feed(&mut c, &p.take()).unwrap();
    c.send_headers(1, [(&b":status"[..], &b"204"[..])], true)
        .unwrap();
    p.frame(kind::DATA, 0, 1, b"x");
    assert_eq!(
        feed(&mut c, &p.take()).unwrap(),
        [Ev::StreamError(1, ErrorCode::STREAM_CLOSED)]
    );
    p.get(3, false);
    feed(&mut c, &p.take()).unwrap();
    c.reset_stream(3, ErrorCode::CANCEL, false, NOW).unwrap();
    p.frame(kind::DATA, 0, 3, b"late")
        .frame(kind::WINDOW_UPDATE, 0, 3, &[0, 1, 0, 0]);
    p.frame(kind::RST_STREAM, 0, 3, &[0, 0, 0, 8]);
    assert_eq!(feed(&mut c, &p.take()).unwrap(), []);
}

#[test]
fn flow_control() {
    let mut c = server();
    let mut p = Peer::raw();
    p.get(1, false);
    feed(&mut c, &p.take()).unwrap();
    // The stream window is weir's 64 KiB (acknowledged): 65536 fits, one more not.
    let chunk = vec![0u8; 16_384];
    for _ in 0..4 {
        p.frame(kind::DATA, 0, 1, &chunk);
    }
    assert_eq!(feed(&mut c, &p.take()).unwrap().len(), 4);
    // The connection window is given back (stream 0), not the stream's.
    c.release(0, 65_536);
    p.frame(kind::DATA, 0, 1, b"x");
    assert_eq!(
        feed(&mut c, &p.take()).unwrap(),
        [Ev::StreamError(1, ErrorCode::FLOW_CONTROL_ERROR)]
    );
    // Credit comes back by half windows once consumed.
    let mut c = server();
    p.get(1, false);
    for _ in 0..2 {
        p.frame(kind::DATA, 0, 1, &chunk);
    }
    feed(&mut c, &p.take()).unwrap();
    sent(&mut c);
    c.release(1, 16_384);
    assert_eq!(sent(&mut c), []);
    c.release(1, 16_384);
    let s = sent(&mut c);
    assert_eq!((s[0].stream, s[0].word), (0, 32_768));
    assert_eq!((s[1].stream, s[1].word), (1, 32_768));
    // Sending: the peer's 65535 stream and connection windows bound it.
    let mut c = server();
    p.get(1, true);
    feed(&mut c, &p.take()).unwrap();
    c.send_headers(1, [(&b":status"[..], &b"200"[..])], false)
        .unwrap();
    let body = vec![1u8; 100_000];
    let mut sent_bytes = 0;
    while let Ok(n @ 1..) = c.send_data(1, &body[sent_bytes..], true) {
        assert!(n <= 16_384);
        sent_bytes += n;
    }
    assert_eq!(sent_bytes, 65_535);
    assert_eq!(c.send_window(1), (Some(0), 0), "a zero-window stall");
    // A SETTINGS_INITIAL_WINDOW_SIZE change moves the stream window only.
    p.frame(kind::SETTINGS, 0, 0, &[0, 4, 0, 0, 0x10, 0]);
    assert_eq!(feed(&mut c, &p.take()).unwrap(), [Ev::Window(0)]);
    assert_eq!(c.send_window(1), (Some(4096 - 65_535), 0));
    p.frame(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 0x10, 0]);
    assert_eq!(feed(&mut c, &p.take()).unwrap(), [Ev::Window(0)]);
    assert_eq!(c.send_capacity(1), 0, "the stream window is still negative");
    // Overflows: the connection window, a stream window.
    // (The stream window is negative: the first one still fits.)
    p.frame(kind::WINDOW_UPDATE, 0, 1, &[0x7f, 0xff, 0xff, 0xff]);
    p.frame(kind::WINDOW_UPDATE, 0, 1, &[0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap(),
        [
            Ev::Window(1),
            Ev::StreamError(1, ErrorCode::FLOW_CONTROL_ERROR)
        ]
    );
    p.frame(kind::WINDOW_UPDATE, 0, 0, &[0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::FLOW_CONTROL_ERROR
    );
}

#[test]
fn settings_ack_and_values() {
    let mut c = Connection::new(Role::Server, Limits::default(), NOW);
    let mut p = Peer::new();
    // A frame of 20000 bytes is over weir's 16384: FRAME_SIZE_ERROR.
    p.frame(kind::DATA, 0, 1, &[0; 20_000]);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::FRAME_SIZE_ERROR
    );
    let mut c = server();
    p.frame(kind::SETTINGS, 0, 0, &[0, 5, 0, 0, 0x40, 0]); // max frame 16384
    p.frame(kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0, 0]); // table 0
    feed(&mut c, &p.take()).unwrap();
    assert_eq!(c.peer_settings().header_table_size, 0);
    let s = sent(&mut c);
    assert_eq!(s.len(), 2);
    assert!(s
        .iter()
        .all(|f| f.kind == kind::SETTINGS && f.flags == flag::ACK));
    // The encoder announces its table of 0 in the next block.
    p.get(1, true);
    feed(&mut c, &p.take()).unwrap();
    c.send_headers(1, [(&b":status"[..], &b"200"[..])], true)
        .unwrap();
    assert_eq!(c.output()[9], 0x20);
}

#[test]
fn max_concurrent_streams_refuses_extra() {
    let mut c = server();
    let mut p = Peer::raw();
    for i in 0..101u32 {
        p.get(2 * i + 1, false);
    }
    let ev = feed(&mut c, &p.take()).unwrap();
    assert_eq!(ev.len(), 101);
    assert_eq!(ev[100], Ev::StreamError(201, ErrorCode::REFUSED_STREAM));
    assert_eq!(c.open_streams(), 100);
    let s = sent(&mut c);
    assert_eq!(
        (s[0].kind, s[0].stream, s[0].word),
        (kind::RST_STREAM, 201, 7)
    );
    // Its DATA, sent before it saw the RST_STREAM, is ignored.
    p.frame(kind::DATA, 0, 201, b"x");
    assert_eq!(feed(&mut c, &p.take()).unwrap(), []);
    // A peer that keeps ignoring the limit: PROTOCOL_ERROR after 100 refusals.
    for i in 101..200u32 {
        p.get(2 * i + 1, false);
    }
    assert!(feed(&mut c, &p.take()).is_ok());
    p.get(401, false);
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(
        (e.code, e.limit),
        (ErrorCode::PROTOCOL_ERROR, Some(Limit::RefusedStreams))
    );
}

#[test]
fn graceful_shutdown_is_a_double_goaway() {
    let mut c = server();
    let mut p = Peer::raw();
    p.get(1, false);
    feed(&mut c, &p.take()).unwrap();
    c.begin_shutdown();
    let s = sent(&mut c);
    assert_eq!((s[0].kind, s[0].word), (kind::GOAWAY, 0));
    assert_eq!(s[1].kind, kind::PING);
    // A stream opened in flight, then the PING's answer.
    p.get(3, true)
        .frame(kind::PING, flag::ACK, 0, &SHUTDOWN_PING);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap(),
        [Ev::Headers(3, true, false)]
    );
    let s = sent(&mut c);
    assert_eq!(s[0].kind, kind::GOAWAY);
    // Streams after the final GOAWAY are ignored; the others finish.
    p.get(5, true);
    assert_eq!(feed(&mut c, &p.take()).unwrap(), []);
    assert!(!c.is_done());
    c.reset_stream(1, ErrorCode::CANCEL, false, NOW).unwrap();
    c.send_headers(3, [(&b":status"[..], &b"200"[..])], true)
        .unwrap();
    assert!(c.is_done());
}

#[test]
fn peer_goaway_and_client_role() {
    let mut c = Connection::new(Role::Client, Limits::default(), NOW);
    assert!(c.output().starts_with(PREFACE));
    sent(&mut c);
    let mut p = Peer::raw();
    write::settings(&mut p.bytes, &[(3, 1)]);
    feed(&mut c, &p.take()).unwrap();
    let fields: [(&[u8], &[u8]); 4] = [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":path", b"/"),
        (b":authority", b"s"),
    ];
    assert_eq!(c.open_stream(fields, true), Ok(1));
    assert_eq!(c.open_stream(fields, true), Err(SendError::StreamLimit));
    let b = p.block(&[(b":status", b"103")]);
    write::headers(&mut p.bytes, 1, &b, false, 16_384);
    let b = p.block(&[(b":status", b"200")]);
    write::headers(&mut p.bytes, 1, &b, false, 16_384);
    p.frame(kind::DATA, flag::END_STREAM, 1, b"ok");
    p.frame(kind::GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]);
    let ev = feed(&mut c, &p.take()).unwrap();
    assert_eq!(
        ev,
        [
            Ev::Headers(1, false, false),
            Ev::Headers(1, false, false),
            Ev::Data(1, b"ok".to_vec(), true),
            Ev::GoAway(1, ErrorCode::NO_ERROR)
        ]
    );
    assert_eq!(c.open_stream(fields, true), Err(SendError::GoingAway));
    // A server may not open streams (push is disabled).
    let mut c = Connection::new(Role::Client, Limits::default(), NOW);
    write::settings(&mut p.bytes, &[]);
    p.get(2, true);
    assert_eq!(
        feed(&mut c, &p.take()).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
}

/// Opens `n` streams and resets each at once (the client's RST_STREAM).
fn rapid_resets(p: &mut Peer, first: u32, n: u32) {
    for i in 0..n {
        let id = first + 2 * i;
        p.get(id, false)
            .frame(kind::RST_STREAM, 0, id, &[0, 0, 0, 8]);
    }
}

#[test]
fn rapid_reset_crosses_at_the_threshold() {
    let mut c = server();
    let mut p = Peer::raw();
    rapid_resets(&mut p, 1, 200);
    assert!(feed(&mut c, &p.take()).is_ok());
    rapid_resets(&mut p, 401, 1);
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(
        (e.code, e.limit),
        (ErrorCode::ENHANCE_YOUR_CALM, Some(Limit::RapidReset))
    );
    assert_eq!(c.guard().count(Limit::RapidReset), 201);
    // Normal traffic: streams reset after their response started (a user
    // leaving a page, thousands of times) are not rapid resets.
    let mut c = server();
    for i in 0..5000u32 {
        let id = 2 * i + 1;
        p.get(id, false);
        feed(&mut c, &p.take()).unwrap();
        c.send_headers(id, [(&b":status"[..], &b"200"[..])], false)
            .unwrap();
        p.frame(kind::RST_STREAM, 0, id, &[0, 0, 0, 8]);
        feed(&mut c, &p.take()).unwrap();
        sent(&mut c);
    }
    assert_eq!(c.guard().tripped(), None);
}

#[test]
fn made_you_reset_crosses_at_the_threshold() {
    let mut c = server();
    let mut p = Peer::raw();
    // Each stream: a WINDOW_UPDATE that overflows its window.
    for i in 0..101u32 {
        let id = 2 * i + 1;
        p.get(id, true)
            .frame(kind::WINDOW_UPDATE, 0, id, &[0x7f, 0xff, 0xff, 0xff]);
    }
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(
        (e.code, e.limit),
        (ErrorCode::ENHANCE_YOUR_CALM, Some(Limit::MadeYouReset))
    );
    assert_eq!(c.guard().count(Limit::MadeYouReset), 101);
}

/// `n` frames of one kind; the limit crosses exactly at `threshold + 1`.
fn flood(limit: Limit, frame: &dyn Fn(&mut Peer, u32)) {
    let threshold = Limits::default().threshold(limit);
    let mut c = server();
    let mut p = Peer::raw();
    p.get(1, false);
    for i in 0..threshold {
        frame(&mut p, i);
    }
    assert!(
        feed(&mut c, &p.take()).is_ok(),
        "{limit:?} at the threshold"
    );
    frame(&mut p, threshold);
    let e = feed(&mut c, &p.take()).unwrap_err();
    assert_eq!(
        (e.code, e.limit),
        (limit.info().action, Some(limit)),
        "{limit:?}"
    );
}

#[test]
fn floods_cross_at_their_thresholds() {
    flood(Limit::SettingsFlood, &|p, _| {
        p.frame(kind::SETTINGS, 0, 0, b"");
    });
    flood(Limit::PingFlood, &|p, i| {
        p.frame(kind::PING, 0, 0, &u64::from(i).to_be_bytes());
    });
    flood(Limit::EmptyDataFlood, &|p, _| {
        p.frame(kind::DATA, 0, 1, b"");
    });
    flood(Limit::PriorityFlood, &|p, _| {
        p.frame(kind::PRIORITY, 0, 1, &[0, 0, 0, 3, 16]);
    });
    flood(Limit::WindowUpdateFlood, &|p, _| {
        p.frame(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 0, 1]);
    });
}

#[test]
fn normal_traffic_trips_nothing() {
    // A browser-like session: 10 000 requests on one connection, 100 at a
    // time, bodies with WINDOW_UPDATEs, a SETTINGS and a PING now and then.
    let mut c = server();
    let mut p = Peer::raw();
    let mut now = NOW;
    for batch in 0..100u32 {
        p.frame(kind::WINDOW_UPDATE, 0, 0, &100_000u32.to_be_bytes());
        for i in 0..100u32 {
            let id = 2 * (batch * 100 + i) + 1;
            p.get(id, true);
        }
        if batch % 10 == 0 {
            p.frame(kind::PING, 0, 0, b"keepaliv")
                .frame(kind::SETTINGS, 0, 0, b"");
        }
        let mut at = 0;
        let bytes = p.take();
        while let Some((n, _)) = c.receive(&bytes[at..], now).unwrap() {
            at += n;
        }
        for i in 0..100u32 {
            let id = 2 * (batch * 100 + i) + 1;
            c.send_headers(id, [(&b":status"[..], &b"200"[..])], false)
                .unwrap();
            assert_eq!(c.send_data(id, &[7; 1000], true), Ok(1000));
        }
        sent(&mut c);
        now += 100;
    }
    assert_eq!(c.guard().tripped(), None);
    assert_eq!(c.open_streams(), 0);
}
