//! HTTP/2 towards servers (`proto = "h2"`, or TLS ALPN `["h2"]`): the
//! worker's connections to such servers, each carrying the streams of any
//! client, and how a stream gets a share of one.
//!
//! ```text
//!  Stream ── Conn(Link) ─▶ request (HTTP/1.1 text) ─▶ H2ServerMux ─▶ HEADERS, DATA ─▶ server
//!  Stream ◀─ Conn(Link) ◀─ response (HTTP/1.1 text) ◀─ H2ServerMux ◀─ HEADERS, DATA, trailers
//! ```
//!
//! A stream that picked an h2 server asks [`attach`] instead
//! of connecting: it gets a [`Link`] on a connection to that server with
//! room for one more stream (below the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS`), else on a new connection. Above
//! the link it is an ordinary server side: its analysers, retries, the
//! server's `maxconn` and queue (which count streams, as HAProxy counts
//! them), its timeouts and logs are those of HTTP/1.1. Connections with no
//! stream left close after [`crate::idle::IDLE_TTL`], like parked ones.
//!
//! Each connection is a task of its own (token and task [`tokens::mux`],
//! [`tokens::mux_task`]); the protocol is [`crate::h2`] in the client
//! role, with the limits of `[global] h2`.

mod attach;
pub mod process;
mod request;
mod response;
pub mod table;

pub use attach::attach;

use crate::conn::link::{Link, LinkState, Up};
use crate::conn::{Conn, Transport};
use crate::h2::{Connection, HeaderList};
use crate::http::RequestParser;
use crate::mux::h2::body::Body;
use crate::tokens;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// Streams a connection carries before the server's SETTINGS say how
/// many it takes (RFC 9113 §6.5.2 recommends at least 100).
const FIRST_STREAMS: usize = 100;

/// One stream on a connection.
struct Slot {
    /// Its HTTP/2 stream id (0: its request head has not gone yet).
    id: u32,
    link: Rc<RefCell<LinkState>>,
    /// The stream's task, woken when its link changed.
    task: usize,
    /// Where the request's framing stands.
    req: Body,
    /// A HEAD request: its response has no body.
    head_req: bool,
    /// The final response head arrived.
    resp_started: bool,
    /// The response goes to the stream chunked.
    resp_chunked: bool,
    /// The response is complete, or the stream was reset: nothing more
    /// goes to the stream.
    done: bool,
    /// DATA bytes given to the stream and not credited back yet.
    unreleased: usize,
}

/// One HTTP/2 connection to a server.
pub struct H2ServerMux {
    /// (backend, server).
    server: (usize, usize),
    /// The server slot's identity sequence when it was opened: a server
    /// deleted or moved since takes no new stream on it.
    seq: u64,
    /// The SNI it was opened with, when the server's SNI is the request's
    /// Host: only streams for that host share it.
    sni: Option<String>,
    conn: Conn,
    h2: Box<Connection>,
    /// Frames read, not yet taken by the protocol (a frame may be larger
    /// than a pool buffer: up to `max_frame_size` and its header).
    rbuf: Vec<u8>,
    /// The server closed the connection.
    eof: bool,
    slots: Vec<Slot>,
    parser: RequestParser,
    fields: HeaderList,
    /// `https` over TLS, else `http`.
    scheme: &'static [u8],
    /// The connection (and its TLS handshake) is up.
    up: bool,
    /// It is over: it fails every stream left and closes.
    failed: bool,
    /// The server sent GOAWAY: no new stream.
    goaway: bool,
    connect_deadline: Option<Instant>,
    /// Since when it carries no stream.
    idle_since: Instant,
}

impl Slot {
    /// The whole request went (END_STREAM is out).
    fn req_done(&self) -> bool {
        matches!(self.req, Body::Done)
    }
}

impl H2ServerMux {
    /// Whether one more stream (for `sni`) may go on it.
    fn accepts(&self, sni: &Option<String>, seq: u64) -> bool {
        let limit = self
            .h2
            .peer_settings()
            .max_concurrent_streams
            .map_or(FIRST_STREAMS, |n| n as usize);
        !self.failed
            && !self.goaway
            && self.seq == seq
            && self.sni == *sni
            && self.slots.len() < limit
    }

    /// Adds a stream (task `task`); returns its end of the link.
    fn add(&mut self, m: usize, task: usize, limit: usize) -> Conn {
        let up = if self.up { Up::Ready } else { Up::Connecting };
        let state = Rc::new(RefCell::new(LinkState::new(up, limit)));
        self.slots.push(Slot {
            id: 0,
            link: state.clone(),
            task,
            req: Body::Head,
            head_req: false,
            resp_started: false,
            resp_chunked: false,
            done: false,
            unreleased: 0,
        });
        let mut conn = Conn::new(Transport::Link(Box::new(Link {
            state,
            task: tokens::mux_task(m),
        })));
        conn.readable = true;
        conn.writable = true;
        conn
    }
}
