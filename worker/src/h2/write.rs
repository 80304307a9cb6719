//! Frame serializers: every frame weir sends, appended to a caller's
//! `Vec<u8>` (the connection's output, or a stream's). No padding, no
//! priority fields: weir never sends them.
//!
//! A field block longer than the peer's maximum frame size is split into
//! HEADERS and CONTINUATION frames ([`headers`]); DATA is written whole
//! ([`data`]) or as a header before a payload the caller moves itself
//! ([`data_header`]), and the caller keeps each under the peer's maximum
//! frame size and within the flow-control windows
//! ([`super::conn::Connection::send_data`] does both).

use super::error::ErrorCode;
use super::frame::{flag, kind, HEADER_LEN, MAX_STREAM_ID};

/// Appends a frame header.
pub fn header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = u32::try_from(len).unwrap_or(u32::MAX).min(0x00ff_ffff);
    let [_, a, b, c] = len.to_be_bytes();
    out.extend_from_slice(&[a, b, c, kind, flags]);
    out.extend_from_slice(&(stream & MAX_STREAM_ID).to_be_bytes());
}

/// SETTINGS with these parameters.
pub fn settings(out: &mut Vec<u8>, params: &[(u16, u32)]) {
    header(out, params.len() * 6, kind::SETTINGS, 0, 0);
    for (id, value) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// SETTINGS with ACK.
pub fn settings_ack(out: &mut Vec<u8>) {
    header(out, 0, kind::SETTINGS, flag::ACK, 0);
}

/// A field block as HEADERS then as many CONTINUATION frames as needed,
/// each payload at most `max_frame_size` (the peer's). END_STREAM goes on
/// the HEADERS frame (§8.1), END_HEADERS on the last frame.
pub fn headers(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
) {
    let max = (max_frame_size as usize).max(1);
    let mut chunks = block.chunks(max);
    let first = chunks.next().unwrap_or_default();
    let mut rest = chunks.peekable();
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if rest.peek().is_none() {
        flags |= flag::END_HEADERS;
    }
    header(out, first.len(), kind::HEADERS, flags, stream);
    out.extend_from_slice(first);
    while let Some(chunk) = rest.next() {
        let flags = if rest.peek().is_none() {
            flag::END_HEADERS
        } else {
            0
        };
        header(out, chunk.len(), kind::CONTINUATION, flags, stream);
        out.extend_from_slice(chunk);
    }
}

/// One DATA frame (the caller keeps `data` under the peer's maximum frame
/// size).
pub fn data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool) {
    data_header(out, stream, data.len(), end_stream);
    out.extend_from_slice(data);
}

/// The header of a DATA frame whose `len` bytes of payload the caller
/// writes next.
pub fn data_header(out: &mut Vec<u8>, stream: u32, len: usize, end_stream: bool) {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    header(out, len, kind::DATA, flags, stream);
}

/// WINDOW_UPDATE (`stream` 0: the connection). `increment` must be 1 to
/// 2^31-1.
pub fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    header(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&(increment & MAX_STREAM_ID).to_be_bytes());
}

/// RST_STREAM.
pub fn rst_stream(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    header(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// GOAWAY with the last stream processed and debug data.
pub fn goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &[u8]) {
    header(out, 8 + debug.len(), kind::GOAWAY, 0, 0);
    out.extend_from_slice(&(last_stream & MAX_STREAM_ID).to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(debug);
}

/// PING (`ack`: the answer to the peer's, echoing its data).
pub fn ping(out: &mut Vec<u8>, ack: bool, data: [u8; 8]) {
    header(out, 8, kind::PING, if ack { flag::ACK } else { 0 }, 0);
    out.extend_from_slice(&data);
}

/// The bytes a frame of `payload` bytes takes.
pub const fn frame_len(payload: usize) -> usize {
    HEADER_LEN + payload
}

#[cfg(test)]
mod tests {
    use super::super::frame::{parse, Frame, Parse};
    use super::*;

    fn all(mut buf: &[u8]) -> Vec<Frame<'_>> {
        let mut v = Vec::new();
        while !buf.is_empty() {
            match parse(buf, (1 << 24) - 1).unwrap() {
                Parse::Frame { len, frame } => {
                    v.push(frame);
                    buf = &buf[len..];
                }
                other => panic!("{other:?}"),
            }
        }
        v
    }

    #[test]
    fn headers_split_at_max_frame_size() {
        let block: Vec<u8> = (0..40u8).collect();
        let mut out = Vec::new();
        headers(&mut out, 5, &block, true, 16);
        let frames = all(&out);
        assert_eq!(frames.len(), 3);
        let Frame::Headers {
            stream: 5,
            fragment,
            end_stream: true,
            end_headers: false,
            priority: None,
        } = frames[0]
        else {
            panic!("{:?}", frames[0])
        };
        assert_eq!(fragment, &block[..16]);
        assert!(matches!(
            frames[1],
            Frame::Continuation { stream: 5, end_headers: false, fragment } if fragment == &block[16..32]
        ));
        assert!(matches!(
            frames[2],
            Frame::Continuation { stream: 5, end_headers: true, fragment } if fragment == &block[32..]
        ));
        // A block that fits, and an empty one: one HEADERS with END_HEADERS.
        for b in [&block[..16], &[][..]] {
            let mut out = Vec::new();
            headers(&mut out, 1, b, false, 16);
            assert!(matches!(
                all(&out)[..],
                [Frame::Headers {
                    end_headers: true,
                    end_stream: false,
                    ..
                }]
            ));
        }
    }

    #[test]
    fn control_frames_round_trip() {
        let mut out = Vec::new();
        settings(&mut out, &[(3, 100), (4, 1 << 20)]);
        settings_ack(&mut out);
        data(&mut out, 3, b"hello", true);
        window_update(&mut out, 0, 1000);
        rst_stream(&mut out, 7, ErrorCode::REFUSED_STREAM);
        goaway(&mut out, 9, ErrorCode::ENHANCE_YOUR_CALM, b"calm");
        ping(&mut out, true, *b"12345678");
        let f = all(&out);
        let Frame::Settings { ack: false, params } = f[0] else {
            panic!()
        };
        assert_eq!(params.collect::<Vec<_>>(), [(3, 100), (4, 1 << 20)]);
        assert!(matches!(f[1], Frame::Settings { ack: true, .. }));
        assert!(matches!(
            f[2],
            Frame::Data {
                stream: 3,
                data: b"hello",
                end_stream: true,
                flow_len: 5
            }
        ));
        assert_eq!(
            f[3],
            Frame::WindowUpdate {
                stream: 0,
                increment: 1000
            }
        );
        assert_eq!(
            f[4],
            Frame::RstStream {
                stream: 7,
                code: ErrorCode::REFUSED_STREAM
            }
        );
        assert_eq!(
            f[5],
            Frame::GoAway {
                last_stream: 9,
                code: ErrorCode::ENHANCE_YOUR_CALM,
                debug: b"calm"
            }
        );
        assert_eq!(
            f[6],
            Frame::Ping {
                ack: true,
                data: *b"12345678"
            }
        );
        assert_eq!(frame_len(5), 14);
    }
}
