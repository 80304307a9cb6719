//! An HTTP session: one client connection carrying a sequence of requests,
//! each one a [`Stream`] (request, chosen backend and server, response).
//!
//! The analysers run in this order, for each request (HAProxy's order):
//!
//! ```text
//!  request side                              response side
//!  1. wait for a complete request head       6. wait for the response head
//!     (timeout http_request → 408;              (1xx forwarded as they come;
//!      bad head → 400, close)                    timeout server → 504;
//!  2. frontend http_request rules               bad head → 502)
//!     (deny/return/redirect answer here)     7. http_response rules
//!  3. the stats page (listen `stats`), else  8. forward the response head,
//!     use_backend, else default_backend         then its body as framed
//!  4. pick a server: a parked connection     9. end: log the request; park the
//!     (http_reuse) or connect, with             server connection if clean;
//!     retries → 503                             keep the client connection for
//!  5. forward the rewritten head, then          the next request (maybe already
//!     the body as framed (CL or chunked,        buffered: pipelining) or close
//!     streamed, never held whole)
//! ```
//!
//! A 101 response or a 2xx to CONNECT turns the stream into a tunnel: bytes
//! flow both ways as in TCP mode, under `timeout tunnel`.

mod count;
mod end;
mod exchange;
mod forward;
mod kept;
mod process;
mod reply;
mod request;
mod sample;
mod server;
mod spare;
mod stats_page;
mod timers;

pub use kept::Kept;
pub use process::{drain, kill, process, HttpCtx};
pub use spare::Spares;

use crate::channel::Channel;
use crate::conn::Conn;
use crate::http::{RequestParser, ResponseContext, ResponseParser, Version};
use crate::session::Termination;
use forward::{Body, Outbox};
use std::net::SocketAddr;
use std::time::Instant;
use weir_core::log::date::WallTime;

/// One client connection in HTTP mode.
pub struct HttpSession {
    pub frontend: usize,
    pub client_addr: SocketAddr,
    /// The local port the client connected to (`dst_port`).
    pub dst_port: u16,
    pub client: Conn,
    /// Bytes from the client: request heads and bodies.
    pub req: Channel,
    /// Bytes from the server: response heads and bodies.
    pub res: Channel,
    /// The request in progress, if any.
    pub stream: Option<Box<Stream>>,
    /// The last request's server connection, kept for the next request to
    /// the same server ([`kept`]).
    pub kept: Option<Kept>,
    parser: RequestParser,
    /// Requests started on this connection.
    pub requests: u32,
    pub accepted: Instant,
    pub cli_active: Instant,
    /// When the current request's first byte arrived, and its date.
    req_start: Option<(Instant, WallTime)>,
    /// When the connection became idle between two requests.
    idle_since: Instant,
    /// Close the client connection once the current response is sent.
    close_after: bool,
    /// The worker is stopping: the next response says `Connection: close`.
    draining: bool,
    /// `req.total` less the current request's head length, when the
    /// request started: the request's bytes in are `req.total - req_mark`
    /// when it ends (heads are consumed, bodies counted in `total`).
    req_mark: u64,
}

impl HttpSession {
    pub fn new(
        frontend: usize,
        client: mio::net::TcpStream,
        client_addr: SocketAddr,
        dst_port: u16,
        bufsize: usize,
        now: Instant,
    ) -> HttpSession {
        HttpSession {
            frontend,
            client_addr,
            dst_port,
            client: Conn::plain(client),
            req: Channel::default(),
            res: Channel::default(),
            stream: None,
            kept: None,
            parser: RequestParser::new(bufsize),
            requests: 0,
            accepted: now,
            cli_active: now,
            req_start: None,
            idle_since: now,
            close_after: false,
            draining: false,
            req_mark: 0,
        }
    }
}

impl HttpSession {
    /// The server-side connection the poller's events are about: the
    /// stream's, else the kept one.
    pub fn server_conn(&mut self) -> Option<&mut Conn> {
        match self.stream.as_mut().and_then(|st| st.srv.as_mut()) {
            Some(c) => Some(c),
            None => self.kept.as_mut().map(|k| &mut k.conn),
        }
    }

    /// The session ends: its kept server connection goes to the idle pool
    /// (`park`, when clean) or is closed.
    pub fn release_kept(
        &mut self,
        idle: &mut crate::idle::IdlePool,
        registry: &mio::Registry,
        now: Instant,
        park: bool,
    ) {
        if let Some(k) = self.kept.take() {
            if park {
                kept::park(k, idle, registry, now);
            } else {
                crate::idle::discard(k.conn);
            }
        }
    }
}

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting to the server (with retries).
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
    pub backend: usize,
    pub server: Option<usize>,
    pub srv: Option<Conn>,
    /// The server connection came from the idle pool.
    pub reused: bool,
    pub phase: Phase,
    /// The request line as received, for the log.
    pub request_line: String,
    pub version: Version,
    pub ctx: ResponseContext,
    pub req_body: Body,
    pub res_body: Body,
    /// The request carries a body (it cannot be replayed).
    pub req_has_body: bool,
    /// The rewritten request head, kept until the response head arrives
    /// so a request on a parked connection that turns out dead can be
    /// replayed on a new one.
    pub to_srv: Outbox,
    pub to_cli: Outbox,
    pub res_parser: ResponseParser,
    pub res_head_done: bool,
    /// Status sent to the client (-1 before).
    pub status: i32,
    pub retries: u32,
    pub bytes_out: u64,
    /// Termination state (who, phase); `--` while all is well.
    pub term: Termination,
    pub start: Instant,
    pub date: WallTime,
    pub head_at: Instant,
    pub connect_start: Option<Instant>,
    pub connect_deadline: Option<Instant>,
    pub connect_ms: Option<i64>,
    /// When the server connection became usable (for Tr).
    pub srv_ready_at: Option<Instant>,
    pub res_head_at: Option<Instant>,
    pub srv_active: Instant,
    /// The server connection may be parked after the response.
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
    /// Its wait for a server slot (every server at its `maxconn`).
    pub queue: crate::queue::Wait,
}

impl Stream {
    /// The key `balance uri` or `balance hdr(NAME)` hashes, if any.
    pub fn lb_key(&self) -> Option<&[u8]> {
        self.lb_key_set.then_some(&self.lb_key[..])
    }

    /// Sets (or clears) the balancing key.
    pub(super) fn set_lb_key(&mut self, key: Option<&[u8]>) {
        self.lb_key.clear();
        self.lb_key_set = key.is_some();
        self.lb_key.extend_from_slice(key.unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle keep-alive connection holds an HttpSession and nothing else
    /// (no buffer, no stream): keep it well under a kilobyte.
    #[test]
    fn idle_connection_is_small() {
        let size = std::mem::size_of::<HttpSession>();
        assert!(size <= 400, "HttpSession is {size} bytes");
        eprintln!("HttpSession: {size} bytes");
    }
}
