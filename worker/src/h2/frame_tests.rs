//! One test per rule of the frame parser's table, and the preface.

use super::*;

const MAX: u32 = 16_384;

fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    crate::h2::write::header(&mut v, payload.len(), kind, flags, stream);
    v.extend_from_slice(payload);
    v
}

fn frame(buf: &[u8]) -> Frame<'_> {
    match parse(buf, MAX) {
        Ok(Parse::Frame { len, frame }) => {
            assert_eq!(len, buf.len());
            frame
        }
        other => panic!("{other:?}"),
    }
}

fn conn_err(buf: &[u8]) -> ErrorCode {
    match parse(buf, MAX) {
        Err(e) => e.code,
        other => panic!("{other:?}"),
    }
}

fn stream_err(buf: &[u8]) -> ErrorCode {
    match parse(buf, MAX) {
        Ok(Parse::StreamError { len, error }) => {
            assert_eq!(len, buf.len());
            error.code
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn incomplete_until_whole() {
    let f = raw(kind::DATA, 0, 1, b"abc");
    for n in 0..f.len() {
        let need = if n < HEADER_LEN { HEADER_LEN } else { f.len() };
        assert_eq!(parse(&f[..n], MAX), Ok(Parse::Incomplete { need }), "{n}");
    }
    assert!(matches!(frame(&f), Frame::Data { data: b"abc", .. }));
}

#[test]
fn max_frame_size_from_the_header_alone() {
    let f = raw(kind::DATA, 0, 1, &[0; 16_385]);
    assert_eq!(conn_err(&f[..HEADER_LEN]), ErrorCode::FRAME_SIZE_ERROR);
    assert!(matches!(parse(&f, 16_385), Ok(Parse::Frame { .. })));
    let ok = raw(kind::DATA, 0, 1, &[0; MAX as usize]);
    assert!(matches!(parse(&ok, MAX), Ok(Parse::Frame { .. })));
}

#[test]
fn reserved_bit_and_unknown_flags_ignored() {
    let mut f = raw(kind::DATA, 0xf6, 3, b"x");
    f[5] |= 0x80;
    assert_eq!(
        frame(&f),
        Frame::Data {
            stream: 3,
            data: b"x",
            end_stream: false,
            flow_len: 1
        }
    );
}

#[test]
fn data_rules() {
    assert_eq!(
        conn_err(&raw(kind::DATA, 0, 0, b"x")),
        ErrorCode::PROTOCOL_ERROR
    );
    // Padding: pad length 2, "ab", 2 bytes of padding.
    let f = raw(
        kind::DATA,
        flag::PADDED | flag::END_STREAM,
        1,
        b"\x02ab\0\0",
    );
    assert_eq!(
        frame(&f),
        Frame::Data {
            stream: 1,
            data: b"ab",
            end_stream: true,
            flow_len: 5
        }
    );
    // Padding filling the payload exactly is fine; one more is not.
    assert!(matches!(
        frame(&raw(kind::DATA, flag::PADDED, 1, b"\x02\0\0")),
        Frame::Data { data: b"", .. }
    ));
    let over = raw(kind::DATA, flag::PADDED, 1, b"\x03\0\0");
    assert_eq!(conn_err(&over), ErrorCode::PROTOCOL_ERROR);
    let no_pad_len = raw(kind::DATA, flag::PADDED, 1, b"");
    assert_eq!(conn_err(&no_pad_len), ErrorCode::FRAME_SIZE_ERROR);
}

#[test]
fn headers_rules() {
    assert_eq!(
        conn_err(&raw(kind::HEADERS, 0, 0, b"")),
        ErrorCode::PROTOCOL_ERROR
    );
    let flags = flag::PADDED | flag::PRIORITY | flag::END_HEADERS;
    let f = raw(kind::HEADERS, flags, 3, b"\x01\x80\0\0\x01\x0fblock\0");
    assert_eq!(
        frame(&f),
        Frame::Headers {
            stream: 3,
            fragment: b"block",
            end_stream: false,
            end_headers: true,
            priority: Some(Priority {
                exclusive: true,
                dependency: 1,
                weight: 15
            }),
        }
    );
    let short = raw(kind::HEADERS, flag::PRIORITY, 3, b"\0\0\0");
    assert_eq!(conn_err(&short), ErrorCode::FRAME_SIZE_ERROR);
    let self_dep = raw(kind::HEADERS, flag::PRIORITY, 3, b"\0\0\0\x03\x10");
    assert_eq!(conn_err(&self_dep), ErrorCode::PROTOCOL_ERROR);
    let pad_over = raw(kind::HEADERS, flag::PADDED, 3, b"\x05abcd");
    assert_eq!(conn_err(&pad_over), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn priority_rules() {
    assert_eq!(
        conn_err(&raw(kind::PRIORITY, 0, 0, b"\0\0\0\x01\x10")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        stream_err(&raw(kind::PRIORITY, 0, 5, b"\0\0\0\x01")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        stream_err(&raw(kind::PRIORITY, 0, 5, b"\0\0\0\x01\x10\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        stream_err(&raw(kind::PRIORITY, 0, 5, b"\0\0\0\x05\x10")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert!(matches!(
        frame(&raw(kind::PRIORITY, 0, 5, b"\0\0\0\x01\x10")),
        Frame::Priority { stream: 5, .. }
    ));
}

#[test]
fn rst_stream_rules() {
    assert_eq!(
        conn_err(&raw(kind::RST_STREAM, 0, 0, b"\0\0\0\x08")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::RST_STREAM, 0, 1, b"\0\0\x08")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::RST_STREAM, 0, 1, b"\0\0\0\x08\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        frame(&raw(kind::RST_STREAM, 0, 1, b"\0\0\0\x08")),
        Frame::RstStream {
            stream: 1,
            code: ErrorCode::CANCEL
        }
    );
}

#[test]
fn settings_rules() {
    assert_eq!(
        conn_err(&raw(kind::SETTINGS, 0, 1, b"")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::SETTINGS, 0, 0, b"\0\x03\0\0\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::SETTINGS, flag::ACK, 0, b"\0\x03\0\0\0\x01")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::SETTINGS, 0, 0, b"\0\x02\0\0\0\x02")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::SETTINGS, 0, 0, b"\0\x04\x80\0\0\0")),
        ErrorCode::FLOW_CONTROL_ERROR
    );
    let unknown = raw(
        kind::SETTINGS,
        0,
        0,
        b"\x12\x34\xff\xff\xff\xff\0\x03\0\0\0\x0a",
    );
    let Frame::Settings { ack: false, params } = frame(&unknown) else {
        panic!()
    };
    assert_eq!(params.collect::<Vec<_>>(), [(0x1234, u32::MAX), (3, 10)]);
    assert!(matches!(
        frame(&raw(kind::SETTINGS, flag::ACK, 0, b"")),
        Frame::Settings { ack: true, .. }
    ));
}

#[test]
fn push_promise_is_refused() {
    let f = raw(kind::PUSH_PROMISE, flag::END_HEADERS, 1, b"\0\0\0\x02");
    assert_eq!(conn_err(&f), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn ping_rules() {
    assert_eq!(
        conn_err(&raw(kind::PING, 0, 1, b"12345678")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::PING, 0, 0, b"1234567")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::PING, 0, 0, b"123456789")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        frame(&raw(kind::PING, flag::ACK, 0, b"12345678")),
        Frame::Ping {
            ack: true,
            data: *b"12345678"
        }
    );
}

#[test]
fn goaway_rules() {
    assert_eq!(
        conn_err(&raw(kind::GOAWAY, 0, 1, b"\0\0\0\0\0\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::GOAWAY, 0, 0, b"\0\0\0\0\0\0\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        frame(&raw(kind::GOAWAY, 0, 0, b"\x80\0\0\x07\0\0\0\x0bbye")),
        Frame::GoAway {
            last_stream: 7,
            code: ErrorCode::ENHANCE_YOUR_CALM,
            debug: b"bye"
        }
    );
}

#[test]
fn window_update_rules() {
    assert_eq!(
        conn_err(&raw(kind::WINDOW_UPDATE, 0, 0, b"\0\0\x01")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::WINDOW_UPDATE, 0, 3, b"\0\0\0\x01\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_err(&raw(kind::WINDOW_UPDATE, 0, 0, b"\0\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        stream_err(&raw(kind::WINDOW_UPDATE, 0, 3, b"\0\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    // The reserved bit is ignored: 0x80000000 is an increment of 0.
    assert_eq!(
        stream_err(&raw(kind::WINDOW_UPDATE, 0, 3, b"\x80\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        frame(&raw(kind::WINDOW_UPDATE, 0, 3, b"\x7f\xff\xff\xff")),
        Frame::WindowUpdate {
            stream: 3,
            increment: MAX_STREAM_ID
        }
    );
}

#[test]
fn continuation_rules() {
    assert_eq!(
        conn_err(&raw(kind::CONTINUATION, 0, 0, b"x")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        frame(&raw(kind::CONTINUATION, flag::END_HEADERS, 3, b"x")),
        Frame::Continuation {
            stream: 3,
            fragment: b"x",
            end_headers: true
        }
    );
}

#[test]
fn unknown_types_are_returned_to_be_ignored() {
    for kind in [0x0a, 0x10, 0xff] {
        let f = raw(kind, 0xff, 9, b"whatever");
        assert_eq!(frame(&f), Frame::Unknown { kind, stream: 9 });
    }
}

#[test]
fn preface_prefix_test() {
    assert_eq!(check_preface(b""), PrefaceCheck::Partial);
    assert_eq!(check_preface(b"PRI * HT"), PrefaceCheck::Partial);
    assert_eq!(check_preface(&PREFACE[..23]), PrefaceCheck::Partial);
    assert_eq!(check_preface(PREFACE), PrefaceCheck::Complete);
    let mut more = PREFACE.to_vec();
    more.extend_from_slice(b"\0\0\0\x04");
    assert_eq!(check_preface(&more), PrefaceCheck::Complete);
    assert_eq!(check_preface(b"GET / HTTP/1.1\r\n"), PrefaceCheck::Mismatch);
    assert_eq!(check_preface(b"PRI * HTTP/1.1"), PrefaceCheck::Mismatch);
    assert_eq!(check_preface(b"P"), PrefaceCheck::Partial);
    assert_eq!(check_preface(b"POST"), PrefaceCheck::Mismatch);
}

#[test]
fn never_panics_on_short_or_odd_input() {
    // Every header with lengths 0..=12 over every type and a few flags.
    for kind in 0..=10u8 {
        for flags in [0u8, 0x01, 0x08, 0x20, 0x2d, 0xff] {
            for len in 0..=12usize {
                for stream in [0u32, 1, 2] {
                    let payload: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
                    let f = raw(kind, flags, stream, &payload);
                    let _ = parse(&f, MAX);
                    let _ = parse(&f[..f.len() / 2], MAX);
                }
            }
        }
    }
}
