//! HTTP/2 towards servers (`proto = "h2"`, or TLS ALPN `["h2"]`): the
//! worker's connections to such servers, each carrying the streams of any
//! client, and how a stream gets a share of one.
//!
//! ```text
//!  Stream ── Conn(Link) ─▶ request (HTTP/1.1 text) ─▶ H2ServerMux ─▶ HEADERS, DATA ─▶ server
//!  Stream ◀─ Conn(Link) ◀─ response (HTTP/1.1 text) ◀─ H2ServerMux ◀─ HEADERS, DATA, trailers
//! ```
//!
//! A stream that picked an h2 server asks [`ServerMuxes::attach`] instead
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

mod process;
mod request;
mod response;

pub use process::{process, Step};

use crate::conn::connect::{self, TlsTo};
use crate::conn::link::{Link, LinkState, Up};
use crate::conn::{Conn, Transport};
use crate::context::Cx;
use crate::h2::{Connection, HeaderList, Role};
use crate::http::RequestParser;
use crate::mux::h2::body::Body;
use crate::tokens;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::rc::Rc;
use std::time::Instant;
use weir_core::config::model::defaults;
use weir_core::shm::unix_now_ms;

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
    fn accepts(&self, sni: &Option<String>) -> bool {
        let limit = self
            .h2
            .peer_settings()
            .max_concurrent_streams
            .map_or(FIRST_STREAMS, |n| n as usize);
        !self.failed && !self.goaway && self.sni == *sni && self.slots.len() < limit
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

/// The worker's HTTP/2 server connections.
#[derive(Default)]
pub struct ServerMuxes {
    /// By key; `None` while its task runs (taken) or once closed.
    muxes: Vec<Option<Box<H2ServerMux>>>,
    free: Vec<usize>,
    /// The open ones of each (backend, server).
    by_server: HashMap<(usize, usize), Vec<usize>>,
}

impl ServerMuxes {
    /// A share of a connection to server `i` of backend `be` for the
    /// stream of task `task`: on one with room, else on a new one (its
    /// connect started). `host`: the request's Host, for SNI.
    pub fn attach(
        cx: &mut Cx,
        be: usize,
        i: usize,
        host: Option<&str>,
        task: usize,
    ) -> io::Result<Conn> {
        let sni = cx.backends[be]
            .sni_from_host
            .then(|| host.map(str::to_owned))
            .flatten();
        let limit = cx.bufsize();
        let muxes = &mut *cx.muxes;
        let found = muxes.by_server.get(&(be, i)).and_then(|list| {
            list.iter().copied().find(|&m| {
                muxes
                    .muxes
                    .get(m)
                    .and_then(Option::as_ref)
                    .is_some_and(|mx| mx.accepts(&sni))
            })
        });
        if let Some(m) = found {
            let Some(mx) = muxes.muxes.get_mut(m).and_then(Option::as_mut) else {
                return Err(io::ErrorKind::NotFound.into());
            };
            let conn = mx.add(m, task, limit);
            cx.wake(tokens::mux_task(m));
            return Ok(conn);
        }
        let m = muxes.free.pop().unwrap_or_else(|| {
            muxes.muxes.push(None);
            muxes.muxes.len() - 1
        });
        let srv = &cx.backends[be].servers[i];
        let tls = match &srv.tls {
            None => None,
            Some(Ok(c)) => Some(TlsTo {
                connector: c,
                host: sni.as_deref().or(host),
            }),
            Some(Err(e)) => {
                muxes.free.push(m);
                return Err(io::Error::other(e.clone()));
            }
        };
        let scheme: &'static [u8] = if tls.is_some() { b"https" } else { b"http" };
        let conn = match connect::open(srv.addr, tls, cx.registry, tokens::mux(m)) {
            Ok(c) => c,
            Err(e) => {
                muxes.free.push(m);
                return Err(e);
            }
        };
        let limits = crate::h2::Limits::from(&cx.config.global.h2);
        let timeout = cx.config.backends[be]
            .timeouts
            .connect
            .unwrap_or(defaults::TIMEOUT_CONNECT);
        let mut mx = Box::new(H2ServerMux {
            server: (be, i),
            sni,
            conn,
            h2: Box::new(Connection::new(Role::Client, limits, unix_now_ms())),
            rbuf: Vec::new(),
            eof: false,
            slots: Vec::new(),
            parser: RequestParser::new(cx.config.global.bufsize),
            fields: HeaderList::new(),
            scheme,
            up: false,
            failed: false,
            goaway: false,
            connect_deadline: Some(cx.now + timeout),
            idle_since: cx.now,
        });
        let conn = mx.add(m, task, limit);
        muxes.muxes[m] = Some(mx);
        muxes.by_server.entry((be, i)).or_default().push(m);
        cx.wake(tokens::mux_task(m));
        Ok(conn)
    }

    /// Takes connection `m` out for its task to run.
    pub fn take(&mut self, m: usize) -> Option<Box<H2ServerMux>> {
        self.muxes.get_mut(m).and_then(Option::take)
    }

    /// Puts connection `m` back after its task ran.
    pub fn put(&mut self, m: usize, mx: Box<H2ServerMux>) {
        if let Some(slot) = self.muxes.get_mut(m) {
            *slot = Some(mx);
        }
    }

    /// Connection `m` (taken out) is closed: its key is free again.
    pub fn closed(&mut self, m: usize, mx: Box<H2ServerMux>) {
        if let Some(list) = self.by_server.get_mut(&mx.server) {
            list.retain(|&k| k != m);
            if list.is_empty() {
                self.by_server.remove(&mx.server);
            }
        }
        drop(mx);
        self.free.push(m);
    }

    /// Records what the poller said about connection `m`.
    pub fn on_event(&mut self, m: usize, ev: &mio::event::Event) {
        if let Some(mx) = self.muxes.get_mut(m).and_then(Option::as_mut) {
            mx.conn.on_event(ev);
        }
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.muxes.iter().filter(|m| m.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
