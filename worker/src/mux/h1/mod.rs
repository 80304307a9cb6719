//! The HTTP/1 client-side mux: one client connection carrying a sequence
//! of requests, each one a [`Stream`](crate::stream::Stream) of its own.
//!
//! Between requests the mux reads from the connection and waits for a
//! complete request head (analyser 1: `timeout http_request` → 408, a bad
//! head → 400 and a close), under `timeout http_keep_alive` once a
//! request has been answered. A complete head starts a stream
//! ([`crate::stream::request`]: analysers 2 and 3), which then drives the
//! connection through the [`ClientSide`] the mux lends it: it reads its
//! body, writes its response, and its task is woken by the connection's
//! events until it ends. Then the mux reads the next request, maybe
//! already buffered (pipelining), or closes.
//!
//! ```text
//!  idle ──head──▶ stream j runs (the connection's events wake j) ──end──┐
//!   ▲                                                                   │
//!   └───────── keep-alive (next request, or http_keep_alive) ◀──────────┘
//! ```

mod process;

use crate::conn::Conn;
use crate::context::Cx;
use crate::http::RequestParser;
use crate::session::{Outcome, Session};
use crate::stream::{ClientSide, Streams};
use crate::term::Termination;
use crate::tokens;
use std::net::SocketAddr;
use std::time::Instant;
use weir_core::log::date::WallTime;

/// One client connection in HTTP mode.
pub struct H1Mux {
    /// What the stream in progress uses of the connection.
    pub client: ClientSide,
    /// The stream in progress: its key in the worker's stream slab.
    stream: Option<usize>,
    parser: RequestParser,
    accepted: Instant,
    /// When the current request's first byte arrived, and its date.
    req_start: Option<(Instant, WallTime)>,
    /// When the connection became idle between two requests.
    idle_since: Instant,
    /// The bind it was accepted on (its TLS settings, a failure's line).
    bind: u16,
    /// A PROXY protocol header is due before anything else.
    expect_proxy: bool,
}

/// What the mux is told of a connection when it is accepted.
pub struct Accepted {
    pub frontend: usize,
    pub bind: usize,
    pub addr: SocketAddr,
    /// The local port (`dst_port`).
    pub port: u16,
    /// The bind expects a PROXY protocol header (`accept_proxy`).
    pub accept_proxy: bool,
}

impl H1Mux {
    pub fn new(a: Accepted, client: Conn, bufsize: usize, now: Instant) -> H1Mux {
        H1Mux {
            client: ClientSide::new(a.frontend, client, a.addr, a.port, now),
            stream: None,
            parser: RequestParser::new(bufsize),
            accepted: now,
            req_start: None,
            idle_since: now,
            bind: a.bind as u16,
            expect_proxy: a.accept_proxy,
        }
    }

    /// The stream in progress, if any.
    pub fn stream(&self) -> Option<usize> {
        self.stream
    }

    /// The bind it was accepted on.
    pub fn bind(&self) -> usize {
        usize::from(self.bind)
    }

    /// Takes the connection out (to the HTTP/2 mux), leaving a closed one.
    pub fn take_client(&mut self) -> ClientSide {
        let gone = Conn::new(crate::conn::Transport::Pipe(Box::default()));
        let c = &self.client;
        let empty = ClientSide::new(c.frontend, gone, c.addr, c.port, c.active);
        std::mem::replace(&mut self.client, empty)
    }
}

impl Session for H1Mux {
    fn frontend(&self) -> usize {
        self.client.frontend
    }

    fn client(&mut self) -> &mut Conn {
        &mut self.client.conn
    }

    fn process(&mut self, key: usize, cx: &mut Cx, streams: &mut Streams) -> Outcome {
        process::process(self, key, cx, streams)
    }

    /// The client connection's events and the server side's (slot 1: the
    /// stream's connection, else the kept one) wake the stream in
    /// progress, else the mux.
    fn on_event(
        &mut self,
        key: usize,
        slot: usize,
        ev: &mio::event::Event,
        streams: &mut Streams,
    ) -> usize {
        if slot == tokens::CLIENT_SLOT {
            self.client.conn.on_event(ev);
        } else {
            let st = self.stream.and_then(|j| streams.live.get_mut(j));
            match st.and_then(|st| st.side.conn.as_mut()) {
                Some(c) => c.on_event(ev),
                None => {
                    if let Some(k) = self.client.kept.as_mut() {
                        k.conn.on_event(ev);
                    }
                }
            }
        }
        match self.stream {
            Some(j) => tokens::stream_task(j),
            None => tokens::session_task(key),
        }
    }

    /// Soft stop: the connection is not cut under the client's feet. The
    /// response in progress, if its head is not sent yet, and otherwise the
    /// next request's response, carry `Connection: close`; an idle
    /// connection closes when `timeout http_keep_alive` expires, as always.
    fn drain(&mut self, streams: &Streams) {
        self.client.draining = true;
        // Closing the socket takes it out of the poller too.
        self.client.kept = None;
        let st = self.stream.and_then(|j| streams.live.get(j));
        if st.is_some_and(|st| !st.res_head_done) {
            self.client.close_after = true;
        }
    }

    /// Hard stop: the request in progress, if any, is logged as killed.
    fn kill(&mut self, cx: &mut Cx, streams: &mut Streams) -> Termination {
        self.client.draining = true;
        if let Some(j) = self.stream {
            if let Some(st) = streams.live.get_mut(j) {
                crate::stream::end::kill(st, &mut self.client, cx, j);
            }
        }
        Termination::new(crate::term::Cause::Killed, crate::term::At::None)
    }

    /// Its kept server connection goes to the idle pool (unless the
    /// worker is stopping) and its buffer back to the pool. Closing the
    /// client socket (when the session drops) takes it out of the poller:
    /// no deregistering `epoll_ctl`.
    fn close(&mut self, _key: usize, _term: Termination, cx: &mut Cx) {
        if let Some(k) = self.client.kept.take() {
            if self.client.draining {
                k.conn.discard();
            } else {
                k.park(cx.idle, cx.registry, cx.now);
            }
        }
        self.client.req.release(cx.pool);
    }

    fn streams(&self) -> &[usize] {
        self.stream.as_slice()
    }

    fn client_side(&mut self, stream: usize) -> Option<&mut ClientSide> {
        (self.stream == Some(stream)).then_some(&mut self.client)
    }

    fn retired(&mut self, stream: usize, _: bool, cx: &mut Cx) {
        if self.stream == Some(stream) {
            self.stream = None;
            self.idle_since = cx.now;
        }
    }

    fn is_on(&self, b: usize, s: usize, streams: &Streams) -> bool {
        let st = self.stream.and_then(|j| streams.live.get(j));
        st.is_some_and(|st| st.is_on(b, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle keep-alive connection holds an H1Mux and nothing else (no
    /// buffer, no stream): keep it well under a kilobyte.
    #[test]
    fn idle_connection_is_small() {
        let size = std::mem::size_of::<H1Mux>();
        assert!(size <= 400, "H1Mux is {size} bytes");
        eprintln!("H1Mux: {size} bytes");
    }
}
