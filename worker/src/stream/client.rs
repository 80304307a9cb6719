//! What a stream sees of its client connection: the connection itself, the
//! bytes read from it, the server connection it keeps between requests,
//! and the facts of the connection (frontend, addresses, how many
//! requests). A mux owns one and lends it to the stream it runs, for the
//! length of that run; the stream reads its request body from `req` and
//! writes its response to `conn`.

use crate::channel::Channel;
use crate::conn::Conn;
use crate::idle::Kept;
use std::net::SocketAddr;
use std::time::Instant;

pub struct ClientSide {
    pub frontend: usize,
    pub addr: SocketAddr,
    /// The local port the client connected to (`dst_port`).
    pub port: u16,
    /// The address the client connected to, once known: from its PROXY
    /// header, or asked of the socket when a server wants one sent.
    /// Boxed: rarely known, and every idle keep-alive connection would
    /// carry its 32 bytes.
    pub dst: Option<Box<SocketAddr>>,
    pub conn: Conn,
    /// Bytes from the client: request heads (consumed by the mux once
    /// parsed) and bodies (forwarded by the stream).
    pub req: Channel,
    /// The last request's server connection, kept for the next request to
    /// the same server ([`crate::idle::kept`]).
    pub kept: Option<Kept>,
    /// Requests started on this connection.
    pub requests: u32,
    /// Last progress on the client connection (the client timeout).
    pub active: Instant,
    /// Close the connection once the current response is sent.
    pub close_after: bool,
    /// The worker is stopping: the next response says `Connection: close`.
    pub draining: bool,
    /// `req.total` less the current request's head length, when the
    /// request started: the request's bytes in are `req.total - req_mark`
    /// when it ends (heads are consumed, bodies counted in `total`).
    pub req_mark: u64,
}

impl ClientSide {
    pub fn new(
        frontend: usize,
        conn: Conn,
        addr: SocketAddr,
        port: u16,
        now: Instant,
    ) -> ClientSide {
        ClientSide {
            frontend,
            addr,
            port,
            dst: None,
            conn,
            req: Channel::default(),
            kept: None,
            requests: 0,
            active: now,
            close_after: false,
            draining: false,
            req_mark: 0,
        }
    }
}
