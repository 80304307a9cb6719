//! The frame parser (RFC 9113 §4, §6): bytes in, one typed frame out, or
//! "need more", or an error with the code the RFC asks for. Stateless but
//! for the maximum frame size: the rules that depend on the connection
//! (stream states, CONTINUATION sequencing, flow control) are
//! [`super::conn`]'s.
//!
//! Every per-type rule of §6 that can be checked on the frame alone is
//! checked here, in [`parse`]'s one `match`:
//!
//! | type | stream id | length | other |
//! |---|---|---|---|
//! | DATA | ≠ 0 | padding < payload | |
//! | HEADERS | ≠ 0 | padding + priority fit | depends on itself → PROTOCOL_ERROR |
//! | PRIORITY | ≠ 0 | 5, else stream FRAME_SIZE_ERROR | depends on itself → stream error |
//! | RST_STREAM | ≠ 0 | 4 | |
//! | SETTINGS | 0 | multiple of 6; ACK: 0 | values per §6.5.2 ([`super::settings`]) |
//! | PUSH_PROMISE | — | — | weir never enables push: always PROTOCOL_ERROR |
//! | PING | 0 | 8 | |
//! | GOAWAY | 0 | ≥ 8 | |
//! | WINDOW_UPDATE | any | 4 | increment 0 → PROTOCOL_ERROR (stream error on a stream) |
//! | CONTINUATION | ≠ 0 | | |
//! | unknown | any | any | ignored ([`Frame::Unknown`]) |
//!
//! A frame longer than the maximum frame size is refused from its header
//! alone (FRAME_SIZE_ERROR), before its payload arrives: nothing waits for
//! 16 MB that it will refuse. Unknown flags are ignored (§4.1); the
//! reserved bit of stream identifiers is masked off.

use super::error::{ConnError, ErrorCode, StreamError};
use super::settings::{self, SettingsParams};

/// Length of a frame header.
pub const HEADER_LEN: usize = 9;
/// The largest stream identifier (31 bits).
pub const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// Frame type codes (RFC 9113 §6).
pub mod kind {
    /// DATA
    pub const DATA: u8 = 0x0;
    /// HEADERS
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING
    pub const PING: u8 = 0x6;
    /// GOAWAY
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags (RFC 9113 §6).
pub mod flag {
    /// DATA, HEADERS: the last frame of the stream in this direction.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, CONTINUATION: the field block ends here.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS: a pad length byte and padding.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: the (deprecated) priority fields are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-byte frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    /// Frame type.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Stream identifier, reserved bit cleared.
    pub stream: u32,
}

impl FrameHeader {
    /// Reads a header from the first 9 bytes, if there are 9.
    pub fn read(buf: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & MAX_STREAM_ID,
        })
    }

    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// The priority fields of HEADERS and PRIORITY (deprecated by RFC 9113
/// §5.3.2: parsed and checked, then ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The exclusive flag.
    pub exclusive: bool,
    /// The stream depended on.
    pub dependency: u32,
    /// Weight minus one, as sent.
    pub weight: u8,
}

impl Priority {
    fn read(b: &[u8]) -> Option<Priority> {
        let b: &[u8; 5] = b.get(..5)?.try_into().ok()?;
        let dep = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Some(Priority {
            exclusive: dep & !MAX_STREAM_ID != 0,
            dependency: dep & MAX_STREAM_ID,
            weight: b[4],
        })
    }
}

/// A parsed frame; slices borrow the buffer given to [`parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA, padding removed.
    Data {
        /// The stream.
        stream: u32,
        /// The data, without padding.
        data: &'a [u8],
        /// END_STREAM.
        end_stream: bool,
        /// The whole payload length, padding included: what flow
        /// control counts (§6.9).
        flow_len: u32,
    },
    /// HEADERS: the first fragment of a field block.
    Headers {
        /// The stream.
        stream: u32,
        /// The field block fragment, without padding or priority.
        fragment: &'a [u8],
        /// END_STREAM.
        end_stream: bool,
        /// END_HEADERS: no CONTINUATION follows.
        end_headers: bool,
        /// The priority fields, if the flag was set.
        priority: Option<Priority>,
    },
    /// PRIORITY (ignored by weir but for its checks).
    Priority {
        /// The stream.
        stream: u32,
        /// The fields.
        priority: Priority,
    },
    /// RST_STREAM.
    RstStream {
        /// The stream.
        stream: u32,
        /// Why.
        code: ErrorCode,
    },
    /// SETTINGS (values already checked).
    Settings {
        /// ACK: acknowledges ours, no parameters.
        ack: bool,
        /// The parameters, in order.
        params: SettingsParams<'a>,
    },
    /// PING.
    Ping {
        /// ACK: the answer to one of ours.
        ack: bool,
        /// Opaque data, to echo.
        data: [u8; 8],
    },
    /// GOAWAY.
    GoAway {
        /// The last stream the peer processed or may process.
        last_stream: u32,
        /// Why.
        code: ErrorCode,
        /// Debug data.
        debug: &'a [u8],
    },
    /// WINDOW_UPDATE (increment > 0).
    WindowUpdate {
        /// The stream, 0 for the connection.
        stream: u32,
        /// The increment, 1 to 2^31-1.
        increment: u32,
    },
    /// CONTINUATION.
    Continuation {
        /// The stream.
        stream: u32,
        /// The field block fragment.
        fragment: &'a [u8],
        /// END_HEADERS.
        end_headers: bool,
    },
    /// A frame of a type this endpoint does not know: ignored (§4.1),
    /// but it must not come inside a field block (§6.10).
    Unknown {
        /// Its type.
        kind: u8,
        /// Its stream.
        stream: u32,
    },
}

impl Frame<'_> {
    /// The stream the frame is on (0 for connection frames).
    pub fn stream(&self) -> u32 {
        match *self {
            Frame::Data { stream, .. }
            | Frame::Headers { stream, .. }
            | Frame::Priority { stream, .. }
            | Frame::RstStream { stream, .. }
            | Frame::WindowUpdate { stream, .. }
            | Frame::Continuation { stream, .. }
            | Frame::Unknown { stream, .. } => stream,
            Frame::Settings { .. } | Frame::Ping { .. } | Frame::GoAway { .. } => 0,
        }
    }
}

/// What [`parse`] found at the start of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parse<'a> {
    /// Not a whole frame yet: `need` bytes are needed in all (header and
    /// payload); read more and call again with the same bytes.
    Incomplete {
        /// Total bytes the frame needs.
        need: usize,
    },
    /// A frame, `len` bytes long (header included): consume them.
    Frame {
        /// Bytes to consume.
        len: usize,
        /// The frame.
        frame: Frame<'a>,
    },
    /// A frame that is a stream error by itself (§6.3, §6.9): consume
    /// `len` bytes and reset that stream.
    StreamError {
        /// Bytes to consume.
        len: usize,
        /// The error.
        error: StreamError,
    },
}

/// Parses the frame at the start of `buf`, refusing payloads over
/// `max_frame_size` (the SETTINGS_MAX_FRAME_SIZE weir advertised).
/// Never panics, whatever the bytes.
pub fn parse(buf: &[u8], max_frame_size: u32) -> Result<Parse<'_>, ConnError> {
    let Some(h) = FrameHeader::read(buf) else {
        return Ok(Parse::Incomplete { need: HEADER_LEN });
    };
    if h.len > max_frame_size {
        return Err(ConnError::new(
            ErrorCode::FRAME_SIZE_ERROR,
            "frame larger than SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    let len = HEADER_LEN + h.len as usize;
    let Some(payload) = buf.get(HEADER_LEN..len) else {
        return Ok(Parse::Incomplete { need: len });
    };
    let frame = match typed(&h, payload) {
        Ok(frame) => frame,
        Err(Refusal::Stream(code, reason)) => {
            let error = StreamError {
                stream: h.stream,
                code,
                reason,
            };
            return Ok(Parse::StreamError { len, error });
        }
        Err(Refusal::Conn(e)) => return Err(e),
    };
    Ok(Parse::Frame { len, frame })
}

enum Refusal {
    Conn(ConnError),
    Stream(ErrorCode, &'static str),
}

impl From<ConnError> for Refusal {
    fn from(e: ConnError) -> Refusal {
        Refusal::Conn(e)
    }
}

fn conn(code: ErrorCode, reason: &'static str) -> Refusal {
    Refusal::Conn(ConnError::new(code, reason))
}

fn protocol(reason: &'static str) -> Refusal {
    conn(ErrorCode::PROTOCOL_ERROR, reason)
}

fn frame_size(reason: &'static str) -> Refusal {
    conn(ErrorCode::FRAME_SIZE_ERROR, reason)
}

/// The per-type rules, one arm per type.
fn typed<'a>(h: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, Refusal> {
    let on_stream = h.stream != 0;
    match h.kind {
        kind::DATA => {
            if !on_stream {
                return Err(protocol("DATA on stream 0"));
            }
            let data = unpad(h, payload)?;
            Ok(Frame::Data {
                stream: h.stream,
                data,
                end_stream: h.has(flag::END_STREAM),
                flow_len: h.len,
            })
        }
        kind::HEADERS => {
            if !on_stream {
                return Err(protocol("HEADERS on stream 0"));
            }
            let mut block = unpad(h, payload)?;
            let mut priority = None;
            if h.has(flag::PRIORITY) {
                let p = Priority::read(block)
                    .ok_or_else(|| frame_size("HEADERS too short for its priority fields"))?;
                block = block.get(5..).unwrap_or_default();
                if p.dependency == h.stream {
                    // A stream error by §5.3.1, made a connection error
                    // (§5.4.1 allows it): its field block is not decoded,
                    // so the HPACK state could not be kept.
                    return Err(protocol("HEADERS priority depends on its own stream"));
                }
                priority = Some(p);
            }
            Ok(Frame::Headers {
                stream: h.stream,
                fragment: block,
                end_stream: h.has(flag::END_STREAM),
                end_headers: h.has(flag::END_HEADERS),
                priority,
            })
        }
        kind::PRIORITY => {
            if !on_stream {
                return Err(protocol("PRIORITY on stream 0"));
            }
            let priority = match Priority::read(payload) {
                Some(p) if payload.len() == 5 => p,
                _ => {
                    return Err(Refusal::Stream(
                        ErrorCode::FRAME_SIZE_ERROR,
                        "PRIORITY length is not 5",
                    ))
                }
            };
            if priority.dependency == h.stream {
                return Err(Refusal::Stream(
                    ErrorCode::PROTOCOL_ERROR,
                    "PRIORITY depends on its own stream",
                ));
            }
            Ok(Frame::Priority {
                stream: h.stream,
                priority,
            })
        }
        kind::RST_STREAM => {
            if !on_stream {
                return Err(protocol("RST_STREAM on stream 0"));
            }
            let code = read_u32(payload)
                .filter(|_| payload.len() == 4)
                .ok_or_else(|| frame_size("RST_STREAM length is not 4"))?;
            Ok(Frame::RstStream {
                stream: h.stream,
                code: ErrorCode(code),
            })
        }
        kind::SETTINGS => {
            if on_stream {
                return Err(protocol("SETTINGS on a stream"));
            }
            let ack = h.has(flag::ACK);
            if ack && !payload.is_empty() {
                return Err(frame_size("SETTINGS ACK with a payload"));
            }
            if payload.len() % 6 != 0 {
                return Err(frame_size("SETTINGS length is not a multiple of 6"));
            }
            let params = SettingsParams::new(payload);
            settings::check(params)?;
            Ok(Frame::Settings { ack, params })
        }
        kind::PUSH_PROMISE => Err(protocol("PUSH_PROMISE, but push is disabled")),
        kind::PING => {
            if on_stream {
                return Err(protocol("PING on a stream"));
            }
            let data: [u8; 8] = payload
                .try_into()
                .map_err(|_| frame_size("PING length is not 8"))?;
            Ok(Frame::Ping {
                ack: h.has(flag::ACK),
                data,
            })
        }
        kind::GOAWAY => {
            if on_stream {
                return Err(protocol("GOAWAY on a stream"));
            }
            let (Some(last), Some(code)) = (read_u32(payload), payload.get(4..).and_then(read_u32))
            else {
                return Err(frame_size("GOAWAY shorter than 8"));
            };
            Ok(Frame::GoAway {
                last_stream: last & MAX_STREAM_ID,
                code: ErrorCode(code),
                debug: payload.get(8..).unwrap_or_default(),
            })
        }
        kind::WINDOW_UPDATE => {
            let increment = read_u32(payload)
                .filter(|_| payload.len() == 4)
                .ok_or_else(|| frame_size("WINDOW_UPDATE length is not 4"))?
                & MAX_STREAM_ID;
            if increment == 0 {
                return Err(if on_stream {
                    Refusal::Stream(ErrorCode::PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
                } else {
                    protocol("WINDOW_UPDATE of 0 on the connection")
                });
            }
            Ok(Frame::WindowUpdate {
                stream: h.stream,
                increment,
            })
        }
        kind::CONTINUATION => {
            if !on_stream {
                return Err(protocol("CONTINUATION on stream 0"));
            }
            Ok(Frame::Continuation {
                stream: h.stream,
                fragment: payload,
                end_headers: h.has(flag::END_HEADERS),
            })
        }
        other => Ok(Frame::Unknown {
            kind: other,
            stream: h.stream,
        }),
    }
}

/// The payload of a DATA or HEADERS frame without its padding (§6.1):
/// padding as long as the payload or longer is a PROTOCOL_ERROR.
fn unpad<'a>(h: &FrameHeader, payload: &'a [u8]) -> Result<&'a [u8], Refusal> {
    if !h.has(flag::PADDED) {
        return Ok(payload);
    }
    let Some((&pad, rest)) = payload.split_first() else {
        return Err(frame_size("PADDED frame without a pad length"));
    };
    let keep = rest
        .len()
        .checked_sub(usize::from(pad))
        .ok_or_else(|| protocol("padding longer than the payload"))?;
    Ok(rest.get(..keep).unwrap_or_default())
}

fn read_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes of a connection say about the preface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefaceCheck {
    /// The whole preface: HTTP/2 follows after these 24 bytes.
    Complete,
    /// Every byte so far matches the preface: read more before deciding
    /// (an HTTP/1 request never starts with `PRI *`, so on a clear-text
    /// HTTP/1 bind the decision needs at most 24 bytes).
    Partial,
    /// Not the preface: HTTP/1 (on an h2-only bind, close).
    Mismatch,
}

/// Checks the start of `buf` against the preface: the h2c prior-knowledge
/// test on a clear-text HTTP/1 bind, and the check on an h2 connection.
pub fn check_preface(buf: &[u8]) -> PrefaceCheck {
    let n = buf.len().min(PREFACE.len());
    if buf.get(..n) != PREFACE.get(..n) {
        PrefaceCheck::Mismatch
    } else if n == PREFACE.len() {
        PrefaceCheck::Complete
    } else {
        PrefaceCheck::Partial
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
