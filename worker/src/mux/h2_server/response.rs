//! Responses coming from an HTTP/2 server: each frame read goes to the
//! protocol, and what it means goes to the stream it concerns, as
//! HTTP/1.1 text on its link — the head (interim ones too), the body
//! (chunked when the server gave no length, so that trailers such as
//! gRPC's `grpc-status` survive), the trailers as the last chunk's. A
//! reset, or a GOAWAY that leaves a stream out, fails the stream. Flow
//! control: DATA credit goes back once the stream has read what it was
//! given ([`credit`]), so a slow client holds the server back rather
//! than weir buffering for it.

use super::{H2ServerMux, Slot};
use crate::context::Cx;
use crate::h2::convert::{self, BodyFraming};
use crate::h2::semantics::{check_trailers, Response};
use crate::h2::{ConnError, ErrorCode, Event};
use crate::mux::h2::body;
use weir_core::shm::unix_now_ms;

/// Feeds the frames read to the protocol and acts on each event.
pub fn receive(mx: &mut H2ServerMux, cx: &mut Cx) -> Result<(), ConnError> {
    let now = unix_now_ms();
    let mut at = 0;
    let result = loop {
        let H2ServerMux {
            h2,
            rbuf,
            slots,
            goaway,
            ..
        } = &mut *mx;
        let step = match h2.receive(&rbuf[at..], now) {
            Ok(Some(step)) => step,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let (used, event) = step;
        match event {
            Event::Headers {
                stream,
                end_stream,
                trailers,
            } => {
                if let Some(s) = slot(slots, stream) {
                    if trailers && s.resp_started {
                        on_trailers(s, h2.fields());
                    } else if let Err(code) = on_head(s, h2.fields(), end_stream) {
                        let _ = h2.reset_stream(stream, code, false, now);
                        fail(s);
                    }
                    cx.wake(s.task);
                }
            }
            Event::Data {
                stream,
                data,
                end_stream,
            } => match slot(slots, stream) {
                Some(s) if s.resp_started && !s.done => {
                    let mut l = s.link.borrow_mut();
                    body::to_h1(data, end_stream, s.resp_chunked, &mut l.inb);
                    s.unreleased += data.len();
                    if end_stream {
                        l.end = true;
                        s.done = true;
                    }
                    drop(l);
                    cx.wake(s.task);
                }
                Some(s) => {
                    // DATA before a head: the server broke the rules.
                    h2.release(stream, data.len());
                    let _ = h2.reset_stream(stream, ErrorCode::PROTOCOL_ERROR, false, now);
                    fail(s);
                    cx.wake(s.task);
                }
                None => h2.release(stream, data.len()),
            },
            Event::Reset { stream, .. } => {
                if let Some(s) = slot(slots, stream) {
                    fail(s);
                    cx.wake(s.task);
                }
            }
            Event::StreamError(e) => {
                if let Some(s) = slot(slots, e.stream) {
                    fail(s);
                    cx.wake(s.task);
                }
            }
            Event::GoAway { last_stream, .. } => {
                *goaway = true;
                // Streams above it were not processed: they fail (the
                // ones not sent yet too).
                for s in slots.iter_mut() {
                    if s.id == 0 || s.id > last_stream {
                        fail(s);
                        cx.wake(s.task);
                    }
                }
            }
            Event::WindowUpdate { .. } | Event::None => {}
        }
        at += used;
        if used == 0 {
            break Ok(());
        }
    };
    mx.rbuf.drain(..at.min(mx.rbuf.len()));
    if mx.rbuf.is_empty() && mx.rbuf.capacity() > 0 {
        mx.rbuf = Vec::new();
    }
    result
}

/// The stream on `id`, if still there.
fn slot(slots: &mut [Slot], id: u32) -> Option<&mut Slot> {
    slots.iter_mut().find(|s| s.id == id && id != 0)
}

/// A response head (an interim one, or the final one) for the stream, as
/// HTTP/1.1. `Err`: a head HTTP/2 does not allow (the stream is reset).
fn on_head(s: &mut Slot, fields: &crate::h2::HeaderList, end: bool) -> Result<(), ErrorCode> {
    if s.resp_started || s.done {
        return Err(ErrorCode::PROTOCOL_ERROR);
    }
    let resp = Response::parse(fields).map_err(|_| ErrorCode::PROTOCOL_ERROR)?;
    let mut l = s.link.borrow_mut();
    let interim = resp.status < 200;
    let framing = convert::to_h1_response(&resp, fields, end, s.head_req || interim, &mut l.inb);
    if interim {
        return if end {
            Err(ErrorCode::PROTOCOL_ERROR)
        } else {
            Ok(())
        };
    }
    s.resp_started = true;
    s.resp_chunked = framing == BodyFraming::Chunked;
    if end {
        if s.resp_chunked {
            convert::last_chunk(None, &mut l.inb);
        }
        l.end = true;
        s.done = true;
    }
    Ok(())
}

/// Trailers end the response: the last chunk carries them (a response
/// with a length cannot: they are dropped, as HAProxy does).
fn on_trailers(s: &mut Slot, fields: &crate::h2::HeaderList) {
    if s.done {
        return;
    }
    let mut l = s.link.borrow_mut();
    if s.resp_chunked {
        let ok = check_trailers(fields).is_ok();
        convert::last_chunk(ok.then_some(fields), &mut l.inb);
    }
    l.end = true;
    s.done = true;
}

/// The stream fails: its next read is an error.
fn fail(s: &mut Slot) {
    if !s.done {
        s.link.borrow_mut().reset = true;
    }
    s.done = true;
}

/// Gives back the credit of what slot `i`'s stream has read (all of it):
/// the server may send the next window's worth.
pub fn credit(mx: &mut H2ServerMux, i: usize) {
    let Some(s) = mx.slots.get_mut(i) else {
        return;
    };
    if s.unreleased > 0 && s.link.borrow().unread() == 0 {
        mx.h2.release(s.id, s.unreleased);
        s.unreleased = 0;
    }
}
