//! Streams: one HTTP request/response exchange each, between a client
//! connection (its mux, [`crate::mux`]) and a server.
//!
//! A stream owns its request and response state, its server side
//! ([`crate::server_side`]: the server, the connection, the place in the
//! queue), its timers, and a key of its own in the worker's stream slab:
//! its task number and its key in the backends' queues come from that key
//! ([`crate::tokens`]). It sees its client connection only through the
//! [`ClientSide`] its mux lends it for each run, so a mux may drive one
//! stream at a time (HTTP/1) or several.
//!
//! The analysers run in this order, for each request (HAProxy's order);
//! each returns a [`Transition`] and [`run()`] alone acts on it:
//!
//! ```text
//!  request side                              response side
//!  1. wait for a complete request head       6. wait for the response head
//!     (the mux: timeout http_request → 408;     (1xx forwarded as they come;
//!      bad head → 400, close)                    timeout server → 504;
//!  2. frontend http_request rules               bad head → 502)
//!     (deny/return/redirect answer here)     7. http_response rules
//!  3. the stats page (listen `stats`), else  8. forward the response head,
//!     use_backend, else default_backend         then its body as framed
//!  4. pick a server: a kept or parked        9. end: log the request; keep or
//!     connection (http_reuse) or connect,       park the server connection if
//!     with retries → 503                        clean; the mux reads the next
//!  5. forward the rewritten head, then          request (maybe already
//!     the body as framed (CL or chunked,        buffered: pipelining) or
//!     streamed, never held whole)               closes
//! ```
//!
//! | analysers | file |
//! |---|---|
//! | 2, 3 | [`request`] (and [`stats_page`]) |
//! | 4 | [`connect`] |
//! | 5, 6, 8 | [`exchange`] |
//! | 6, 7 | [`response`] |
//! | 9 | [`end`] (and [`count`]) |
//! | timers | [`timers`] |
//!
//! A 101 response or a 2xx to CONNECT turns the stream into a tunnel
//! ([`tunnel`]): bytes flow both ways as in TCP mode, under `timeout
//! tunnel`.

pub mod capture;
pub mod client;
pub mod connect;
pub mod count;
pub mod end;
pub mod exchange;
pub mod forward;
pub mod reply;
pub mod request;
pub mod response;
pub mod run;
pub mod sample;
pub mod spare;
pub mod stats_page;
pub mod timers;
pub mod tunnel;

pub use client::ClientSide;
pub use run::run;
pub use spare::Spares;

use crate::channel::Channel;
use crate::http::{ResponseContext, ResponseParser, Version};
use crate::server_side::ServerSide;
use crate::term::Termination;
use forward::{Body, Outbox};
use slab::Slab;
use std::time::Instant;
use weir_core::log::date::WallTime;
use weir_core::log::record::Captured;

/// The worker's streams: the live ones, by key, and the spares.
#[derive(Default)]
pub struct Streams {
    /// Boxed because the box is what the spares reuse: a stream leaves
    /// the slab for the spares and comes back without a copy.
    #[allow(clippy::vec_box)]
    pub live: Slab<Box<Stream>>,
    pub spares: Spares,
}

/// What an analyser decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Keep going; `true` if something moved.
    Continue(bool),
    /// Answer with an error page (status, termination state) instead of
    /// a response from the server, then close the client connection.
    Error(u16, Termination),
    /// The server connection failed before the response head: replay the
    /// request on a new connection if it was a kept one and the request
    /// can be replayed, else answer 502.
    ServerFailed,
    /// The exchange is complete: end the stream.
    Finish,
    /// End the stream and its client connection with this state.
    Close(Termination),
    /// The same, keeping a state already set (the first failure is the
    /// one logged).
    Abort(Termination),
}

/// The result of a run, for the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStep {
    /// Sleep until woken by I/O or until this date.
    Wait(Option<Instant>),
    /// More work is ready: run again on the next turn.
    Yield,
    /// The stream is over: logged, counted, its server connection kept,
    /// parked or closed. The worker retires it and runs its mux, which
    /// reads the next request or closes (`close_after`).
    Ended,
}

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting to the server (with retries), or waiting for a slot.
    Connect,
    /// Sending the request and receiving the response.
    Exchange,
    /// After a 101 or a 2xx to CONNECT: bytes both ways.
    Tunnel,
    /// Sending a response weir made (error page, deny, return, redirect).
    LocalReply,
}

/// One request/response exchange.
pub struct Stream {
    /// The session (client connection) it belongs to.
    pub session: usize,
    /// Its slot in that session: its server side's poller token.
    pub slot: usize,
    /// The backend (the frontend's default one until `use_backend` chose),
    /// the server and the connection to it.
    pub side: ServerSide,
    pub phase: Phase,
    /// The request line as received, for the log.
    pub request_line: String,
    pub version: Version,
    pub ctx: ResponseContext,
    pub req_body: Body,
    pub res_body: Body,
    /// The request carries a body (it cannot be replayed).
    pub req_has_body: bool,
    /// The request could be sent again if a reused server connection
    /// turns out dead: no body, an idempotent method. Such a request may
    /// take a parked connection even as its client connection's first.
    pub replayable: bool,
    /// The rewritten request head, kept until the response head arrives
    /// so a request on a kept connection that turns out dead can be
    /// replayed on a new one.
    pub to_srv: Outbox,
    /// Response heads, interim responses and local replies for the client.
    pub to_cli: Outbox,
    /// Bytes from the server: response heads and bodies.
    pub res: Channel,
    pub res_parser: ResponseParser,
    pub res_head_done: bool,
    /// Status sent to the client (-1 before).
    pub status: i32,
    pub bytes_out: u64,
    /// Why it ended; normal (`--`) while all is well.
    pub term: Termination,
    /// When its first byte arrived, and the date then (the log's).
    pub start: Instant,
    pub date: WallTime,
    /// When its head was complete.
    pub head_at: Instant,
    pub res_head_at: Option<Instant>,
    /// The server connection may be kept after the response.
    pub srv_keep_alive: bool,
    /// The response turned the stream into a tunnel.
    pub tunnel: bool,
    /// The backend counted this stream (beconn).
    pub counted: bool,
    /// What `balance uri` or `balance hdr(NAME)` hashes, taken from the
    /// request head before it was consumed ([`Stream::lb_key`]); its
    /// memory is kept with the stream's.
    lb_key: Vec<u8>,
    lb_key_set: bool,
    /// The request's Host, kept when a server of the backend takes it as
    /// its TLS SNI (`sni = "host"`); memory kept like `lb_key`'s.
    sni_host: Vec<u8>,
    sni_host_set: bool,
    /// Headers captured for the log ([`capture`]); no slot while nothing
    /// was captured (a request refused before its head was parsed).
    pub req_captures: Captured,
    pub res_captures: Captured,
    /// The rate-limit entries its `http_request` rules track.
    pub sc: crate::track::Slots,
}

impl Stream {
    pub fn new(
        backend: usize,
        start: Instant,
        date: WallTime,
        now: Instant,
        bufsize: usize,
    ) -> Stream {
        Stream {
            session: 0,
            slot: crate::tokens::SERVER_SLOT,
            side: ServerSide::new(backend, now),
            phase: Phase::LocalReply,
            request_line: String::new(),
            version: Version::Http11,
            ctx: ResponseContext::default(),
            req_body: Body::Done,
            res_body: Body::Done,
            req_has_body: false,
            replayable: false,
            to_srv: Outbox::default(),
            to_cli: Outbox::default(),
            res: Channel::default(),
            res_parser: ResponseParser::new(bufsize),
            res_head_done: false,
            status: -1,
            bytes_out: 0,
            term: Termination::NORMAL,
            start,
            date,
            head_at: now,
            res_head_at: None,
            srv_keep_alive: false,
            tunnel: false,
            counted: false,
            lb_key: Vec::new(),
            lb_key_set: false,
            sni_host: Vec::new(),
            sni_host_set: false,
            req_captures: Captured::default(),
            res_captures: Captured::default(),
            sc: crate::track::NO_SLOTS,
        }
    }

    /// Sets a spare stream up for a new request as [`Stream::new`] would,
    /// keeping the memory of its outboxes, request line and balancing key.
    pub fn renew(
        &mut self,
        backend: usize,
        start: Instant,
        date: WallTime,
        now: Instant,
        bufsize: usize,
    ) {
        let mut to_srv = std::mem::take(&mut self.to_srv);
        let mut to_cli = std::mem::take(&mut self.to_cli);
        let mut request_line = std::mem::take(&mut self.request_line);
        let mut lb_key = std::mem::take(&mut self.lb_key);
        let mut sni_host = std::mem::take(&mut self.sni_host);
        let mut req_captures = std::mem::take(&mut self.req_captures);
        let mut res_captures = std::mem::take(&mut self.res_captures);
        req_captures.reset(0);
        res_captures.reset(0);
        to_srv.reset();
        to_cli.reset();
        request_line.clear();
        lb_key.clear();
        sni_host.clear();
        *self = Stream {
            to_srv,
            to_cli,
            request_line,
            lb_key,
            sni_host,
            req_captures,
            res_captures,
            ..Stream::new(backend, start, date, now, bufsize)
        };
    }

    /// Empties a finished stream for the spares: what it still holds is
    /// dropped, and an outbox, request line or balancing key over `keep`
    /// bytes of capacity is freed rather than kept.
    pub fn recycle(&mut self, keep: usize) {
        self.side.conn = None;
        self.res = Channel::default();
        self.set_lb_key(None);
        if self.lb_key.capacity() > keep {
            self.lb_key = Vec::new();
        }
        self.set_sni_host(None);
        if self.sni_host.capacity() > keep {
            self.sni_host = Vec::new();
        }
        self.to_srv.trim(keep);
        self.to_cli.trim(keep);
        self.request_line.clear();
        if self.request_line.capacity() > keep {
            self.request_line = String::new();
        }
        for c in [&mut self.req_captures, &mut self.res_captures] {
            if c.capacity() > keep {
                *c = Captured::default();
            }
        }
    }

    /// The backend it is logged and counted under.
    pub fn backend(&self) -> usize {
        self.side.backend
    }

    /// The key `balance uri` or `balance hdr(NAME)` hashes, if any.
    pub fn lb_key(&self) -> Option<&[u8]> {
        self.lb_key_set.then_some(&self.lb_key[..])
    }

    /// Sets (or clears) the balancing key.
    pub fn set_lb_key(&mut self, key: Option<&[u8]>) {
        self.lb_key.clear();
        self.lb_key_set = key.is_some();
        self.lb_key.extend_from_slice(key.unwrap_or_default());
    }

    /// Sets (or clears) the Host kept for a server's TLS SNI.
    pub fn set_sni_host(&mut self, host: Option<&[u8]>) {
        self.sni_host.clear();
        self.sni_host_set = host.is_some();
        self.sni_host.extend_from_slice(host.unwrap_or_default());
    }

    /// Whether the stream reads from the client now: while its request
    /// may still send a body (not in a tunnel, which pumps by itself, nor
    /// while a local reply goes out).
    pub fn reads_client(&self) -> bool {
        !matches!(self.phase, Phase::Tunnel | Phase::LocalReply)
    }

    /// Whether it holds a connection to server `s` of backend `b`.
    pub fn is_on(&self, b: usize, s: usize) -> bool {
        self.side.conn.is_some() && self.side.backend == b && self.side.server == Some(s)
    }
}
