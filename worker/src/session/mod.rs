//! Sessions: one accepted client connection each, behind one contract
//! ([`Session`]) that the worker drives the same way in both modes.
//!
//! ```text
//!  listener ──accept──▶ session ──┬─ TCP (tcp): client Conn, two channels,
//!                                 │  one server side; bytes pumped both ways
//!                                 └─ HTTP (crate::mux::h1): client Conn and
//!                                    its channel, the HTTP/1 codec, and the
//!                                    streams it starts (crate::stream), one
//!                                    per request, each with its server side
//! ```
//!
//! Every connection is a [`crate::conn::Conn`] over a transport; the
//! server side of both modes is [`crate::server_side`]. A session's
//! connections are named in the poller by (session key, slot)
//! ([`crate::tokens`]).

pub mod handshake;
pub mod proxy_header;
pub mod tcp;

use crate::conn::Conn;
use crate::context::Cx;
use crate::stream::{ClientSide, Streams};
use crate::term::Termination;
use std::time::Instant;

/// The result of one run of a session's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sleep until woken by I/O or until this date.
    Wait(Option<Instant>),
    /// More work is ready: run again on the next turn.
    Yield,
    /// Run stream `key` now: the session started it, or it is the one in
    /// progress (its task drives the connection until it ends).
    Run(usize),
    /// The connection speaks HTTP/2 (ALPN, or the preface): the worker
    /// hands it to the HTTP/2 mux, which runs next.
    UpgradeH2,
    /// Done; the worker closes it.
    Close(Termination),
}

/// What the worker asks of a session, in either mode (sozu's
/// `SessionState`, at weir's size).
pub trait Session {
    /// The frontend it was accepted on.
    fn frontend(&self) -> usize;

    /// Its client connection.
    fn client(&mut self) -> &mut Conn;

    /// Runs its task once: moves bytes, reads requests, starts streams.
    fn process(&mut self, key: usize, cx: &mut Cx, streams: &mut Streams) -> Outcome;

    /// Records what the poller said about its connection in `slot`;
    /// returns the task to wake (its own, or a stream's).
    fn on_event(
        &mut self,
        key: usize,
        slot: usize,
        ev: &mio::event::Event,
        streams: &mut Streams,
    ) -> usize;

    /// Soft stop: what is in flight finishes, nothing new starts (an HTTP
    /// connection's next response says `Connection: close`).
    fn drain(&mut self, streams: &Streams);

    /// Hard stop: what is in flight is logged as killed; returns the
    /// state to close the session with.
    fn kill(&mut self, cx: &mut Cx, streams: &mut Streams) -> Termination;

    /// Closes it (`term` says why): releases what it holds and logs what
    /// is still to be logged. Its streams are already retired.
    fn close(&mut self, key: usize, term: Termination, cx: &mut Cx);

    /// The streams it runs now (their keys), so the worker can retire
    /// them with it.
    fn streams(&self) -> &[usize];

    /// The client side stream `stream` runs with (HTTP/1: the
    /// connection itself; a multiplexing mux: the stream's own).
    fn client_side(&mut self, stream: usize) -> Option<&mut ClientSide>;

    /// Stream `stream` has run: a multiplexing mux frames what it wrote.
    /// Returns whether there is output for the session's task to write
    /// (the worker wakes it).
    fn stream_ran(&mut self, stream: usize, cx: &mut Cx) -> bool {
        let _ = (stream, cx);
        false
    }

    /// Stream `stream` of this session has ended (`normal`: without an
    /// error) and left the slab.
    fn retired(&mut self, stream: usize, normal: bool, cx: &mut Cx);

    /// Whether it holds a connection to server `s` of backend `b`
    /// (`shutdown sessions server`).
    fn is_on(&self, b: usize, s: usize, streams: &Streams) -> bool;
}
