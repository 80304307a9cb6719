//! Requests coming in on HTTP/2: a HEADERS frame starts a stream (checked
//! as RFC 9113 §8 says, written as an HTTP/1.1 head into the stream's own
//! channel, then through analysers 2 and 3 like any request); DATA and
//! trailers follow into that channel, chunked when the request gave no
//! length; a reset ends the stream at its next run.

use super::response::RespBody;
use super::{H2Mux, Slot};
use crate::conn::pipe::Pipe;
use crate::conn::{Conn, Transport};
use crate::context::Cx;
use crate::h2::convert::{self, BodyFraming};
use crate::h2::semantics::{BodyLength, Request};
use crate::h2::{ConnError, Connection, ErrorCode};
use crate::http::ResponseContext;
use crate::stream::{request, ClientSide, Stream, Streams};
use crate::tokens;
use weir_core::shm::{unix_now_ms, Gl};

/// The most response bytes a stream may have written and the mux not
/// framed yet (its pipe's limit).
const PIPE_LIMIT: usize = 64 * 1024;

/// A HEADERS frame opened stream `id`: its request starts.
pub fn open(
    m: &mut H2Mux,
    key: usize,
    id: u32,
    end_stream: bool,
    cx: &mut Cx,
    streams: &mut Streams,
) -> Result<(), ConnError> {
    let now_ms = unix_now_ms();
    let req = match Request::parse(m.h2.fields()) {
        Ok(r) => r,
        Err(e) => {
            cx.logger
                .debug(&format!("HTTP/2 stream {id} refused: {}", e.0));
            return m
                .h2
                .reset_stream(id, ErrorCode::PROTOCOL_ERROR, true, now_ms);
        }
    };
    if end_stream && BodyLength::new(req.content_length).end().is_err() {
        // A content-length and no DATA to come: malformed (§8.1.1).
        return m
            .h2
            .reset_stream(id, ErrorCode::PROTOCOL_ERROR, true, now_ms);
    }
    if req.connect {
        // CONNECT stays HTTP/1.1 (SPEC §9): no tunnel over a stream.
        return m
            .h2
            .reset_stream(id, ErrorCode::CONNECT_ERROR, false, now_ms);
    }
    m.h1.clear();
    let framing = convert::to_h1_request(&req, m.h2.fields(), end_stream, &mut m.h1);
    cx.shared.global_add(Gl::H2Streams, 1);
    let i = free_slot(m, cx);
    let slot = &mut m.slots[i];
    // The request head, as HTTP/1.1, in the stream's own channel.
    let mut head_bytes: &[u8] = &m.h1;
    let fits = head_bytes.len() <= cx.bufsize();
    if !fits || slot.client.req.read_from(&mut head_bytes, cx.pool).is_err() {
        slot.client.req.release(cx.pool);
        return m
            .h2
            .reset_stream(id, ErrorCode::REFUSED_STREAM, false, now_ms);
    }
    let parsed = m
        .parser
        .parse_into(slot.client.req.data(), cx.scratch.headers());
    let head = match parsed {
        Ok(Some(h)) => h,
        // Bytes an HTTP/1 head may not hold (the h2 checks let them by).
        _ => {
            slot.client.req.release(cx.pool);
            return m
                .h2
                .reset_stream(id, ErrorCode::PROTOCOL_ERROR, true, now_ms);
        }
    };
    let (start, date) = (cx.now, cx.date);
    let backend = request::frontend_backend(cx, slot.client.frontend);
    let mut st: Box<Stream> =
        streams
            .spares
            .stream(backend, start, date, cx.now, cx.config.global.bufsize);
    st.session = key;
    st.slot = i + 1;
    request::start(&mut st, &head, &slot.client, cx);
    // Logged as HAProxy logs an h2 request: "GET /path HTTP/2.0".
    if let Some(n) = st.request_line.strip_suffix(" HTTP/1.1").map(str::len) {
        st.request_line.truncate(n);
        st.request_line.push_str(" HTTP/2.0");
    }
    slot.ctx = ResponseContext::from(&head);
    let head_len = head.head_len;
    cx.scratch.put_headers(head.headers);
    let cs = &mut slot.client;
    cs.requests += 1;
    cs.req_mark = cs.req.total.wrapping_sub(head_len as u64);
    cs.req.consume(head_len, cx.pool);
    request::check_body(&mut st, cs, cx);
    // Streams of one connection are no HTTP/1 keep-alive: nothing closes
    // "after" one of them.
    cs.close_after = false;
    let j = streams.live.insert(st);
    slot.id = id;
    slot.key = j;
    slot.req_chunked = framing == BodyFraming::Chunked;
    slot.req_end = end_stream;
    slot.req_len = BodyLength::new(req.content_length);
    slot.resp = RespBody::Head;
    m.keys.push(j);
    cx.wake(tokens::stream_task(j));
    Ok(())
}

/// A free slot (reused, or a new one), its client side set up anew.
fn free_slot(m: &mut H2Mux, cx: &Cx) -> usize {
    let mut conn = Conn::new(Transport::Pipe(Box::new(Pipe::new(PIPE_LIMIT))));
    conn.writable = true;
    let parent = &m.client;
    let mut cs = ClientSide::new(parent.frontend, conn, parent.addr, parent.port, cx.now);
    cs.dst = parent.dst.clone();
    cs.draining = parent.draining;
    // Never a client connection's first request: a parked server
    // connection may serve it (a stream is not the connection).
    cs.requests = 1;
    if let Some(i) = m.slots.iter().position(|s| s.id == 0) {
        let s = &mut m.slots[i];
        s.client = cs;
        s.inbox.clear();
        s.unreleased = 0;
        return i;
    }
    m.slots.push(Slot {
        id: 0,
        key: 0,
        client: cs,
        inbox: Vec::new(),
        unreleased: 0,
        req_chunked: false,
        req_end: false,
        req_len: BodyLength::default(),
        ctx: ResponseContext::default(),
        resp: RespBody::Head,
    });
    m.slots.len() - 1
}

/// DATA for stream `id`. More or fewer bytes than its content-length
/// make the request malformed (RFC 9113 §8.1.1): the stream is reset
/// (PROTOCOL_ERROR, counted as the peer's doing) and fails.
pub fn data(
    slots: &mut [Slot],
    h2: &mut Connection,
    id: u32,
    data: &[u8],
    end_stream: bool,
    cx: &mut Cx,
) -> Result<(), ConnError> {
    let Some(s) = slots.iter_mut().find(|s| s.id == id && id != 0) else {
        // A stream weir already ended: give the credit back at once.
        h2.release(id, data.len());
        return Ok(());
    };
    let ok = s.req_len.data(data.len()).is_ok() && (!end_stream || s.req_len.end().is_ok());
    if !ok {
        h2.release(id, data.len());
        return malformed(s, h2, cx);
    }
    super::body::to_h1(data, end_stream, s.req_chunked, &mut s.inbox);
    s.unreleased += data.len();
    s.req_end |= end_stream;
    feed_slot(s, h2, cx);
    cx.wake(tokens::stream_task(s.key));
    Ok(())
}

/// A request found malformed after its head (its length, its trailers):
/// the stream is reset with PROTOCOL_ERROR and its stream fails.
fn malformed(s: &mut Slot, h2: &mut Connection, cx: &mut Cx) -> Result<(), ConnError> {
    let r = h2.reset_stream(s.id, ErrorCode::PROTOCOL_ERROR, true, unix_now_ms());
    s.req_end = true;
    s.inbox.clear();
    s.unreleased = 0;
    if let Some(p) = s.client.conn.pipe() {
        p.set_reset();
    }
    s.client.conn.readable = true;
    cx.wake(tokens::stream_task(s.key));
    r
}

/// Trailers for stream `id` (they end it): the chunked body's last
/// chunk. Trailers with pseudo-headers or invalid fields, or a body short
/// of its content-length, make the request malformed.
pub fn trailers(m: &mut H2Mux, id: u32, cx: &mut Cx) -> Result<(), ConnError> {
    let Some(i) = m.slot_of_id(id) else {
        return Ok(());
    };
    let fields = m.h2.fields();
    let s = &mut m.slots[i];
    let ok = crate::h2::semantics::check_trailers(fields).is_ok() && s.req_len.end().is_ok();
    if !ok {
        return malformed(s, &mut m.h2, cx);
    }
    if s.req_chunked && !s.req_end {
        convert::last_chunk(Some(fields), &mut s.inbox);
    }
    s.req_end = true;
    feed(m, i, cx);
    cx.wake(tokens::stream_task(m.slots[i].key));
    Ok(())
}

/// The client reset stream `id` (or weir did, for an error of it): the
/// stream fails at its next read and ends.
pub fn reset(m: &mut H2Mux, id: u32, cx: &mut Cx) {
    let Some(i) = m.slot_of_id(id) else {
        return;
    };
    let s = &mut m.slots[i];
    if let Some(p) = s.client.conn.pipe() {
        p.set_reset();
    }
    s.client.conn.readable = true;
    cx.wake(tokens::stream_task(s.key));
}

/// Moves what slot `i`'s inbox holds into its stream's channel while it
/// has room; the flow-control credit goes back once the inbox is empty.
pub fn feed(m: &mut H2Mux, i: usize, cx: &mut Cx) {
    if let Some(s) = m.slots.get_mut(i) {
        feed_slot(s, &mut m.h2, cx);
    }
}

fn feed_slot(s: &mut Slot, h2: &mut Connection, cx: &mut Cx) {
    let mut moved = false;
    while !s.inbox.is_empty() && s.client.req.has_room() {
        let mut src: &[u8] = &s.inbox;
        match s.client.req.read_from(&mut src, cx.pool) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                s.inbox.drain(..n);
                moved = true;
            }
        }
    }
    if moved {
        // More of the body in its channel: the stream forwards it (it
        // waits on nothing else, its pipe is never readable).
        cx.wake(tokens::stream_task(s.key));
    }
    if s.inbox.is_empty() && s.unreleased > 0 {
        h2.release(s.id, s.unreleased);
        s.unreleased = 0;
    }
}
