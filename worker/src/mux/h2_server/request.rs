//! Requests going to an HTTP/2 server: what a stream wrote on its link
//! (HTTP/1.1 text, as its analysers made it) becomes a new stream's
//! HEADERS, then DATA within the windows ([`crate::mux::h2::body`]), a
//! chunked body's trailers a trailing HEADERS (gRPC clients send none,
//! but HTTP/1.1 ones may).

use super::H2ServerMux;
use crate::context::Cx;
use crate::h2::convert;
use crate::http::{Framing, Method};
use crate::mux::h2::body::{self, Body};

/// Frames what slot `i`'s stream wrote, as far as the windows allow;
/// wakes the stream when its link has room again.
pub fn frame(mx: &mut H2ServerMux, i: usize, cx: &mut Cx) {
    let H2ServerMux {
        slots,
        h2,
        parser,
        fields,
        scheme,
        ..
    } = mx;
    let Some(s) = slots.get_mut(i) else {
        return;
    };
    if s.done && s.id != 0 {
        return;
    }
    let mut link = s.link.borrow_mut();
    let mut moved = 0;
    let mut failed = false;
    while !link.out.is_empty() {
        let pending = &link.out[..];
        let used = match &mut s.req {
            // Not before the server said how many streams it takes.
            Body::Head if !h2.peer_settings_known() => break,
            Body::Head => {
                let head = match parser.parse_into(pending, cx.scratch.headers()) {
                    Ok(Some(h)) => h,
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                };
                fields.clear();
                convert::request_fields(&head, pending, scheme, fields);
                let (next, end) = match head.framing {
                    Framing::None | Framing::ContentLength(0) => (Body::Done, true),
                    Framing::ContentLength(n) => (Body::Length(n), false),
                    Framing::Chunked => (Body::Chunked(Box::default()), false),
                    // A request has neither.
                    Framing::UntilClose | Framing::Tunnel => (Body::Done, true),
                };
                s.head_req = head.method == Method::Head;
                let len = head.head_len;
                cx.scratch.put_headers(head.headers);
                match h2.open_stream(fields.iter(), end) {
                    Ok(id) => s.id = id,
                    // The server's limit moved down under us: the stream
                    // waits for one to end.
                    Err(crate::h2::SendError::StreamLimit) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
                s.req = next;
                len
            }
            b => match body::frame(h2, s.id, b, pending, fields) {
                Some(0) => break,
                Some(n) => n,
                None => {
                    failed = true;
                    break;
                }
            },
        };
        link.out.drain(..used);
        moved += used;
    }
    if failed {
        // A request the server connection cannot carry (the connection
        // is going away, a body that breaks its framing): the stream fails.
        if s.id != 0 {
            let now = weir_core::shm::unix_now_ms();
            let _ = h2.reset_stream(s.id, crate::h2::ErrorCode::CANCEL, false, now);
        }
        link.reset = true;
        link.out.clear();
        s.done = true;
        s.req = Body::Done;
        moved += 1;
    }
    if moved > 0 {
        cx.wake(s.task);
    }
}
