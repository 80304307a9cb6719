//! Responses going out on HTTP/2: what a stream wrote into its pipe
//! (HTTP/1.1 text: interim heads, the head, the body as framed) becomes
//! HEADERS and DATA frames, within the flow-control windows; a chunked
//! body loses its framing (trailers become a trailing HEADERS frame), a
//! length-delimited one goes as it is. A stream that ends before its
//! response did is reset.

use super::{H2Mux, Slot};
use crate::context::Cx;
use crate::h2::convert::{self, Dechunker, Piece};
use crate::h2::ErrorCode;
use crate::http::Framing;
use crate::tokens;
use weir_core::shm::unix_now_ms;

/// Where a stream's response stands.
#[derive(Debug, Default)]
pub enum RespBody {
    /// Its head has not come yet.
    #[default]
    Head,
    /// This many body bytes are still to come.
    Length(u64),
    /// Chunked: taken apart as it comes.
    Chunked(Box<Dechunker>),
    /// Until the stream ends (a close-delimited HTTP/1 body).
    UntilEnd,
    /// END_STREAM is out.
    Done,
}

/// Frames what stream slot `i` wrote, as far as the windows allow.
pub fn drain(m: &mut H2Mux, i: usize, cx: &mut Cx) {
    let H2Mux {
        slots,
        h2,
        res_parser,
        fields,
        ..
    } = m;
    let Some(s) = slots.get_mut(i) else {
        return;
    };
    let Slot {
        id,
        key,
        client,
        ctx,
        resp,
        ..
    } = s;
    let id = *id;
    let mut moved = 0;
    let mut failed = false;
    loop {
        let Some(pipe) = client.conn.pipe() else {
            return;
        };
        let pending = pipe.pending();
        if pending.is_empty() {
            break;
        }
        let used = match resp {
            RespBody::Head => {
                let parsed = res_parser.parse_into(pending, *ctx, cx.scratch.headers());
                let head = match parsed {
                    Ok(Some(h)) => h,
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                };
                fields.clear();
                let next = if convert::response_fields(&head, pending, fields).is_err() {
                    None
                } else if head.interim {
                    Some((RespBody::Head, false))
                } else {
                    match head.framing {
                        Framing::ContentLength(0) | Framing::None => Some((RespBody::Done, true)),
                        Framing::ContentLength(n) => Some((RespBody::Length(n), false)),
                        Framing::Chunked => Some((RespBody::Chunked(Box::default()), false)),
                        Framing::UntilClose => Some((RespBody::UntilEnd, false)),
                        Framing::Tunnel => None,
                    }
                };
                let len = head.head_len;
                cx.scratch.put_headers(head.headers);
                let Some((next, end)) = next else {
                    failed = true;
                    break;
                };
                if h2.send_headers(id, fields.iter(), end).is_err() {
                    failed = true;
                    break;
                }
                *resp = next;
                len
            }
            RespBody::Length(left) => {
                let cap = h2.send_capacity(id);
                let n = pending
                    .len()
                    .min(cap)
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                if n == 0 {
                    break;
                }
                let end = n as u64 == *left;
                let sent = h2.send_data(id, &pending[..n], end).unwrap_or(0);
                *left -= sent as u64;
                if *left == 0 {
                    *resp = RespBody::Done;
                }
                if sent == 0 {
                    break;
                }
                sent
            }
            RespBody::Chunked(dec) => {
                let cap = h2.send_capacity(id);
                if cap == 0 {
                    break;
                }
                let input = &pending[..pending.len().min(cap)];
                let mut ended = false;
                let fed = dec.feed(input, |piece| match piece {
                    Piece::Data(d) => {
                        let _ = h2.send_data(id, d, false);
                    }
                    Piece::End => ended = true,
                });
                let Ok(used) = fed else {
                    failed = true;
                    break;
                };
                if ended {
                    fields.clear();
                    convert::trailer_fields(dec.trailers(), fields);
                    let ok = if fields.is_empty() {
                        h2.send_data(id, &[], true).map(|_| ())
                    } else {
                        h2.send_headers(id, fields.iter(), true)
                    };
                    if ok.is_err() {
                        failed = true;
                        break;
                    }
                    *resp = RespBody::Done;
                }
                if used == 0 {
                    break;
                }
                used
            }
            RespBody::UntilEnd => {
                let n = pending.len().min(h2.send_capacity(id));
                let sent = if n == 0 {
                    0
                } else {
                    h2.send_data(id, &pending[..n], false).unwrap_or(0)
                };
                if sent == 0 {
                    break;
                }
                sent
            }
            // Anything after the end of the response is dropped.
            RespBody::Done => pending.len(),
        };
        pipe.consumed(used);
        moved += used;
    }
    if failed {
        // The response cannot be carried (a 101, a head the mux cannot
        // read): the stream is reset and its pipe fails.
        let _ = h2.reset_stream(id, ErrorCode::INTERNAL_ERROR, false, unix_now_ms());
        *resp = RespBody::Done;
        if let Some(p) = client.conn.pipe() {
            p.set_reset();
            p.consumed(usize::MAX);
        }
        client.conn.readable = true;
        moved += 1;
    }
    if moved > 0 {
        // Room again in the pipe, or everything framed: the stream goes on.
        client.conn.writable = true;
        cx.wake(tokens::stream_task(*key));
    }
}

/// Stream slot `i` has ended (`normal`: without an error): a response
/// delimited by its end gets its END_STREAM; one left unfinished, a
/// reset; a request the client is still sending, a NO_ERROR reset.
pub fn end(m: &mut H2Mux, i: usize, normal: bool) {
    let s = &mut m.slots[i];
    let now = unix_now_ms();
    match s.resp {
        RespBody::UntilEnd if normal => {
            let _ = m.h2.send_data(s.id, &[], true);
        }
        RespBody::Done => {}
        RespBody::Head => {
            let _ =
                m.h2.reset_stream(s.id, ErrorCode::INTERNAL_ERROR, false, now);
            return;
        }
        _ => {
            let _ = m.h2.reset_stream(s.id, ErrorCode::CANCEL, false, now);
            return;
        }
    }
    if !s.req_end {
        let _ = m.h2.reset_stream(s.id, ErrorCode::NO_ERROR, false, now);
    }
}
