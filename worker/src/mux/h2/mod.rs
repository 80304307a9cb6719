//! The HTTP/2 client-side mux: one client connection carrying many
//! streams at once (RFC 9113), over TLS when ALPN chose `h2`, or in clear
//! text when the connection opens with the HTTP/2 preface (prior
//! knowledge) or on a `proto = "h2"` bind.
//!
//! The protocol itself is [`crate::h2`] (sans-IO: frames, HPACK, flow
//! control, limits). This mux owns the socket and drives it:
//!
//! ```text
//!  client ─▶ Conn ─▶ client.req (frames) ─▶ h2::Connection::receive ─▶ Event
//!     HEADERS: a Stream (own key, task, slot s = its server token), its
//!              request written as HTTP/1.1 into its own ClientSide's channel
//!     DATA:    body bytes into that channel (chunked when no length)
//!  client ◀─ Conn ◀─ h2 output ◀─ HEADERS / DATA ◀─ the stream's Pipe (its
//!              response, HTTP/1.1 text from the same analysers as HTTP/1)
//! ```
//!
//! Each stream is lent a [`ClientSide`] of its own whose connection is a
//! [`crate::conn::pipe::Pipe`]: the stream writes its response there, and
//! after each run of a stream ([`Session::stream_ran`]) the mux frames what
//! it wrote, within the flow-control windows. Streams, their analysers,
//! their server sides, logs and counters are those of HTTP/1.

mod big;
pub mod body;
mod process;
mod request;
mod response;

use crate::conn::Conn;
use crate::context::Cx;
use crate::h2::{Connection, HeaderList};
use crate::http::{RequestParser, ResponseContext, ResponseParser};
use crate::session::{Outcome, Session};
use crate::stream::{ClientSide, Streams};
use crate::term::{At, Cause, Termination};
use crate::tokens;
use response::RespBody;
use std::time::Instant;

/// One stream of the connection.
struct Slot {
    /// Its HTTP/2 stream id (0: the slot is free).
    id: u32,
    /// Its key in the worker's stream slab.
    key: usize,
    /// What the stream sees of the connection: its own channel (its
    /// request as HTTP/1.1) and a pipe for its response.
    client: ClientSide,
    /// Request body bytes (HTTP/1.1-framed) waiting for room in the
    /// stream's channel; their flow-control credit goes back once they
    /// are in.
    inbox: Vec<u8>,
    /// DATA payload bytes not credited back yet.
    unreleased: usize,
    /// The request body is chunked (no content-length).
    req_chunked: bool,
    /// The request side ended (END_STREAM).
    req_end: bool,
    /// Its content-length against the DATA received (RFC 9113 §8.1.1).
    req_len: crate::h2::semantics::BodyLength,
    /// How to read the stream's response head (HEAD, CONNECT).
    ctx: ResponseContext,
    /// Where the response's framing stands.
    resp: RespBody,
}

/// One client connection in HTTP/2.
pub struct H2Mux {
    /// The connection itself; its channel holds frames read but not yet
    /// taken by the protocol.
    pub client: ClientSide,
    /// Frames read but not taken, when one is larger than the channel's
    /// buffer (`big.rs`); empty (unallocated) otherwise.
    big: Vec<u8>,
    h2: Box<Connection>,
    /// Slot `i` is the stream with server token slot `i + 1`.
    slots: Vec<Slot>,
    /// The keys of the live streams (for the worker).
    keys: Vec<usize>,
    parser: RequestParser,
    res_parser: ResponseParser,
    /// Scratch: a request head written as HTTP/1.1, response fields.
    h1: Vec<u8>,
    fields: HeaderList,
    idle_since: Instant,
    /// The bind it was accepted on.
    bind: u16,
    /// A connection error was sent (GOAWAY): close once it is out.
    failed: bool,
}

impl H2Mux {
    /// The mux for a connection whose HTTP/1 mux found HTTP/2 (ALPN, the
    /// preface): `client` keeps the bytes already read.
    pub fn new(client: ClientSide, bind: usize, cx: &mut Cx) -> H2Mux {
        let limits = crate::h2::Limits::from(&cx.config.global.h2);
        let now_ms = weir_core::shm::unix_now_ms();
        let bufsize = cx.config.global.bufsize;
        cx.shared.global_add(weir_core::shm::Gl::H2Conns, 1);
        H2Mux {
            client,
            big: Vec::new(),
            h2: Box::new(Connection::new(crate::h2::Role::Server, limits, now_ms)),
            slots: Vec::new(),
            keys: Vec::new(),
            parser: RequestParser::new(bufsize),
            res_parser: ResponseParser::new(bufsize),
            h1: Vec::new(),
            fields: HeaderList::new(),
            idle_since: cx.now,
            bind: bind as u16,
            failed: false,
        }
    }

    /// No stream left: the memory a burst of streams grew goes back (an
    /// idle HTTP/2 connection should cost a few KiB, not its busiest
    /// moment). Free slots hold no server connection and no channel
    /// buffer, and no token refers to them, so they go too.
    fn release_idle(&mut self) {
        self.slots = Vec::new();
        self.keys = Vec::new();
        self.h1 = Vec::new();
        self.fields = HeaderList::new();
        self.h2.release_idle();
    }

    fn slot_of_key(&mut self, key: usize) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.id != 0 && s.key == key)
    }

    fn slot_of_id(&mut self, id: u32) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id && id != 0)
    }
}

impl Session for H2Mux {
    fn frontend(&self) -> usize {
        self.client.frontend
    }

    fn client(&mut self) -> &mut Conn {
        &mut self.client.conn
    }

    fn process(&mut self, key: usize, cx: &mut Cx, streams: &mut Streams) -> Outcome {
        process::process(self, key, cx, streams)
    }

    /// The connection's events wake the mux; a stream's server side's
    /// wake that stream.
    fn on_event(
        &mut self,
        key: usize,
        slot: usize,
        ev: &mio::event::Event,
        streams: &mut Streams,
    ) -> usize {
        if slot == tokens::CLIENT_SLOT {
            self.client.conn.on_event(ev);
            return tokens::session_task(key);
        }
        let Some(s) = self.slots.get(slot - 1).filter(|s| s.id != 0) else {
            return tokens::session_task(key);
        };
        if let Some(c) = streams
            .live
            .get_mut(s.key)
            .and_then(|st| st.side.conn.as_mut())
        {
            c.on_event(ev);
        }
        tokens::stream_task(s.key)
    }

    /// Soft stop: the graceful GOAWAY; streams in flight finish.
    fn drain(&mut self, _: &Streams) {
        self.client.draining = true;
        self.h2.begin_shutdown();
    }

    /// Hard stop: every stream in flight is logged as killed.
    fn kill(&mut self, cx: &mut Cx, streams: &mut Streams) -> Termination {
        for s in self.slots.iter_mut().filter(|s| s.id != 0) {
            if let Some(st) = streams.live.get_mut(s.key) {
                crate::stream::end::kill(st, &mut s.client, cx, s.key);
            }
        }
        Termination::new(Cause::Killed, At::None)
    }

    fn close(&mut self, _key: usize, _term: Termination, cx: &mut Cx) {
        // What can still go (a GOAWAY) goes; then the socket closes.
        let _ = process::flush(self);
        self.client.req.release(cx.pool);
        for s in &mut self.slots {
            s.client.req.release(cx.pool);
        }
    }

    fn streams(&self) -> &[usize] {
        &self.keys
    }

    fn client_side(&mut self, stream: usize) -> Option<&mut ClientSide> {
        self.slot_of_key(stream).map(|s| &mut s.client)
    }

    /// Frames what the stream wrote; the connection's task writes it
    /// (once a turn for all its streams: one write, one TLS record).
    fn stream_ran(&mut self, stream: usize, cx: &mut Cx) -> bool {
        let Some(i) = self.slots.iter().position(|s| s.id != 0 && s.key == stream) else {
            return false;
        };
        request::feed(self, i, cx);
        response::drain(self, i, cx);
        !self.h2.output().is_empty()
    }

    fn retired(&mut self, stream: usize, normal: bool, cx: &mut Cx) {
        let Some(i) = self.slots.iter().position(|s| s.id != 0 && s.key == stream) else {
            return;
        };
        response::drain(self, i, cx);
        response::end(self, i, normal);
        let s = &mut self.slots[i];
        // Its server connection goes to the idle pool, for any stream of
        // any connection (the slot's next stream starts afresh).
        if let Some(k) = s.client.kept.take() {
            k.park(cx.idle, cx.registry, cx.now);
        }
        s.client.req.release(cx.pool);
        s.id = 0;
        s.inbox = Vec::new();
        self.keys.retain(|&k| k != stream);
        if self.keys.is_empty() {
            self.idle_since = cx.now;
        }
        // No write here: the worker runs the connection's task next
        // (`Worker::run_stream_task`), once for every stream that ended
        // this turn, and it writes their frames together.
        if self.keys.is_empty() && self.slots.iter().all(|s| s.id == 0) {
            self.release_idle();
        }
    }

    fn is_on(&self, b: usize, srv: usize, streams: &Streams) -> bool {
        self.keys
            .iter()
            .filter_map(|&k| streams.live.get(k))
            .any(|st| st.is_on(b, srv))
    }
}
