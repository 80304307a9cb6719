//! The server side of a TCP session or of an HTTP stream: pick a server,
//! wait in the backend's queue while every server is full, get a
//! connection (a kept or parked one when HTTP reuse allows, else a new
//! non-blocking connect), retry a failed attempt on the next server, and
//! let the connection go. Both modes go through here; the PROXY protocol
//! header will be sent here too, once the connection is up.
//!
//! ```text
//!  advance ──▶ admit (queue::admit: pick, or wait in the queue) ──▶ reuse
//!     │           │ every server full: Queued          (kept, parked)
//!     │           │ no server / queue timeout: Err(SC / sQ)   │ none
//!     │           ▼                                          ▼
//!     └─ connecting: writable ⇒ Ready; error or `timeout.connect` ⇒ retry
//!        retry: let go, then the next server while `retries` last,
//!               else Err(SC / sC)
//! ```

use crate::backend::BackendState;
use crate::balance::PickCtx;
use crate::conn::connect::{self, connected, TlsTo};
use crate::conn::proxy;
use crate::conn::Conn;
use crate::context::Cx;
use crate::idle::{self, Kept};
use crate::mux::h2_server;
use crate::queue::{self, Wait};
use crate::term::{At, Cause, Termination};
use mio::Token;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use weir_core::config::model::{defaults, Backend, ProxyVersion};

/// The server side: which backend and server, the connection, and the
/// attempts so far.
pub struct ServerSide {
    pub backend: usize,
    /// The server chosen for the current or last connection attempt.
    pub server: Option<usize>,
    pub conn: Option<Conn>,
    /// Connection retries used so far.
    pub retries: u32,
    /// The connection was kept or parked rather than new.
    pub reused: bool,
    /// Its wait for a server slot (every server at its `maxconn`).
    pub queue: Wait,
    /// First connection attempt (the start of Tc).
    pub connect_start: Option<Instant>,
    /// Deadline of the current connection attempt.
    pub connect_deadline: Option<Instant>,
    /// Milliseconds from the first attempt to the established connection
    /// (0 for a reused one).
    pub connect_ms: Option<u64>,
    /// When the connection became usable (the start of Tr).
    pub ready_at: Option<Instant>,
    /// Last progress on this side (the server timeout).
    pub active: Instant,
    /// A PROXY header is due on the new connection once it is up.
    proxy_due: bool,
}

/// Where the server side stands after [`ServerSide::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Waiting in the backend's queue for a server slot.
    Queued,
    /// A connect is in progress.
    Connecting,
    /// The connection is up: established just now, or reused.
    Ready,
}

/// What a connection attempt needs besides the worker's resources.
pub struct Attempt<'a> {
    /// What the balancer hashes (client address, URI, header).
    pub pick: PickCtx<'a>,
    /// The request's Host, for a server whose TLS SNI is the Host.
    pub host: Option<&'a str>,
    /// The client's address and the one it connected to, for a server
    /// that wants a PROXY protocol header.
    pub client: Option<(SocketAddr, SocketAddr)>,
    /// The poller token the connection is registered under.
    pub token: Token,
    /// The owner's key in the backend's queue (its task).
    pub queue_key: usize,
    /// Connections that may serve before a new one is opened (HTTP).
    pub reuse: Option<Reuse<'a>>,
}

/// Where an HTTP stream may find a connection to its server before
/// opening one (`http_reuse`).
pub struct Reuse<'a> {
    /// The connection its client connection kept from the last request:
    /// taken when it leads to the chosen server, parked otherwise.
    pub kept: &'a mut Option<Kept>,
    /// Whether reuse is allowed at all (`http_reuse = "safe"`, no
    /// upgrade requested); when not, the kept connection is parked.
    pub allowed: bool,
    /// Whether a parked connection may be taken (never for a client
    /// connection's first request: HAProxy's "safe").
    pub parked: bool,
}

/// How a connection is let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// An ordinary close (TCP mode).
    Close,
    /// A close with a reset, leaving no TIME_WAIT ([`crate::conn::Transport::discard`]).
    Discard,
    /// Parked in the idle pool for reuse (HTTP; discarded if the pool
    /// is full).
    Park,
}

/// The queue timeout of a backend: `timeout.queue`, else the connect
/// timeout (as HAProxy).
pub fn queue_timeout(be: &Backend) -> Duration {
    be.timeouts
        .queue
        .or(be.timeouts.connect)
        .unwrap_or(defaults::TIMEOUT_CONNECT)
}

impl ServerSide {
    pub fn new(backend: usize, now: Instant) -> ServerSide {
        ServerSide {
            backend,
            server: None,
            conn: None,
            retries: 0,
            reused: false,
            queue: Wait::default(),
            connect_start: None,
            connect_deadline: None,
            connect_ms: None,
            ready_at: None,
            active: now,
            proxy_due: false,
        }
    }

    /// Whether it is waiting in the queue (and has no connection).
    pub fn queued(&self) -> bool {
        self.conn.is_none() && self.queue.queued()
    }

    /// Moves the connection on: picks and connects when there is none
    /// (or waits in the queue), checks a connect in progress, and retries
    /// one that failed or timed out. `Err` when the server side failed
    /// for good (`SC`, `sC`, `sQ`).
    pub fn advance(&mut self, cx: &mut Cx, at: &mut Attempt) -> Result<Progress, Termination> {
        let Some(conn) = self.conn.as_mut() else {
            return self.start(cx, at, None);
        };
        if self.ready_at.is_some() {
            return Ok(Progress::Ready);
        }
        if conn.readable || conn.writable {
            let up = connected(conn);
            if matches!(up, Ok(true)) && std::mem::take(&mut self.proxy_due) {
                // Before anything else, TLS included.
                if let Err(e) = self.send_proxy_header(cx, at) {
                    cx.logger
                        .debug(&format!("cannot send the PROXY header: {e}"));
                    return self.retry(cx, at, false);
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                return self.start(cx, at, None);
            };
            match up {
                Ok(true) if conn.handshaking() => match conn.handshake() {
                    // Done: ready on the next call, with the same checks.
                    Ok(true) => {
                        crate::conn::tls::count_server_handshake(conn, cx.shared, cx.worker);
                        return self.advance(cx, at);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        self.tls_failed(cx, &e);
                        return self.retry(cx, at, false);
                    }
                },
                Ok(true) => {
                    self.active = cx.now;
                    self.ready_at = Some(cx.now);
                    self.connect_deadline = None;
                    let begin = self.connect_start.unwrap_or(cx.now);
                    self.connect_ms =
                        Some(cx.now.saturating_duration_since(begin).as_millis() as u64);
                    return Ok(Progress::Ready);
                }
                Ok(false) => {}
                Err(_) => return self.retry(cx, at, false),
            }
        }
        match self.connect_deadline {
            Some(d) if cx.now >= d => self.retry(cx, at, true),
            _ => Ok(Progress::Connecting),
        }
    }

    /// The current attempt failed (an error, or `timed_out`): let it go,
    /// then try the next server while retries are left.
    pub fn retry(
        &mut self,
        cx: &mut Cx,
        at: &mut Attempt,
        timed_out: bool,
    ) -> Result<Progress, Termination> {
        let failed = self.server;
        let how = if at.reuse.is_some() {
            Release::Discard
        } else {
            Release::Close
        };
        self.release(cx, how, at.queue_key);
        if self.retries >= cx.config.backends[self.backend].retries {
            return Err(if timed_out {
                Termination::new(Cause::ServerTimeout, At::Connect)
            } else {
                Termination::server(At::Connect)
            });
        }
        self.retries += 1;
        self.start(cx, at, failed)
    }

    /// Picks a server (avoiding `avoid`, the one that just failed) and
    /// gets a connection to it: a reusable one, else a new connect. An
    /// immediate failure counts as a failed attempt. When every server is
    /// full it waits in the queue (`Queued`; the next run tries again).
    fn start(
        &mut self,
        cx: &mut Cx,
        at: &mut Attempt,
        mut avoid: Option<usize>,
    ) -> Result<Progress, Termination> {
        let be_i = self.backend;
        let be = &cx.config.backends[be_i];
        loop {
            let timeout = queue_timeout(be);
            let admitted = queue::admit(
                &mut cx.backends[be_i],
                &mut self.queue,
                at.queue_key,
                &at.pick,
                avoid,
                cx.now,
                timeout,
            );
            self.server = None;
            let Some(i) = admitted.server()? else {
                self.connect_deadline = None;
                return Ok(Progress::Queued);
            };
            self.server = Some(i);
            if let Some(conn) = reuse(at, cx, be_i, i) {
                cx.backends[be_i].servers[i].shm.enter(cx.worker);
                self.conn = Some(conn);
                self.reused = true;
                self.ready_at = Some(cx.now);
                self.active = cx.now;
                self.connect_ms.get_or_insert(0);
                return Ok(Progress::Ready);
            }
            self.connect_start.get_or_insert(cx.now);
            if cx.backends[be_i].servers[i].h2 {
                // A share of an HTTP/2 connection, up or on its way.
                match h2_server::attach(cx, be_i, i, at.host, at.queue_key) {
                    Ok(conn) => {
                        cx.backends[be_i].servers[i].shm.enter(cx.worker);
                        self.conn = Some(conn);
                        self.reused = false;
                        self.ready_at = None;
                        let timeout = be.timeouts.connect.unwrap_or(defaults::TIMEOUT_CONNECT);
                        self.connect_deadline = Some(cx.now + timeout);
                        return Ok(Progress::Connecting);
                    }
                    Err(_) if self.retries < be.retries => {
                        self.retries += 1;
                        avoid = Some(i);
                        continue;
                    }
                    Err(_) => return Err(Termination::server(At::Connect)),
                }
            }
            let srv = &cx.backends[be_i].servers[i];
            let tls = match &srv.tls {
                None => Ok(None),
                Some(Ok(c)) => Ok(Some(TlsTo {
                    connector: c,
                    host: at.host,
                })),
                // Never in clear text instead.
                Some(Err(e)) => Err(e),
            };
            let opened = match tls {
                Ok(tls) => connect::open(srv.addr, tls, cx.registry, at.token),
                Err(e) => Err(io::Error::other(e.clone())),
            };
            if let Ok(conn) = opened {
                srv.shm.enter(cx.worker);
                self.conn = Some(conn);
                self.reused = false;
                self.ready_at = None;
                self.proxy_due = srv.send_proxy.is_some();
                let timeout = be.timeouts.connect.unwrap_or(defaults::TIMEOUT_CONNECT);
                self.connect_deadline = Some(cx.now + timeout);
                return Ok(Progress::Connecting);
            }
            if self.retries >= be.retries {
                return Err(Termination::server(At::Connect));
            }
            self.retries += 1;
            avoid = Some(i);
        }
    }

    /// Lets go of the connection (`how`) and of its count on the server,
    /// which wakes the head of the backend's queue; leaves the queue if
    /// still in it. `queue_key` is the owner's key there.
    pub fn release(&mut self, cx: &mut Cx, how: Release, queue_key: usize) {
        let be = &mut cx.backends[self.backend];
        if self.queue.queued() {
            be.queue.forget(queue_key);
            self.queue.leave(cx.now);
        }
        let Some(conn) = self.conn.take() else {
            return;
        };
        let Some(i) = self.server else {
            conn.discard();
            return;
        };
        be.release(i, cx.worker);
        if let Some(t) = conn.link_task() {
            // Its HTTP/2 connection forgets the stream (or resets it).
            cx.wake(t);
            return;
        }
        match how {
            Release::Close => drop(conn),
            Release::Discard => conn.discard(),
            Release::Park => {
                let key = (self.backend, i, be.servers[i].seq);
                cx.idle.put(cx.registry, key, conn, cx.now);
            }
        }
    }

    /// Hands the established connection over to be kept by the client
    /// connection (HTTP reuse by its next request): its count on the
    /// server ends here. A connection kept before is parked.
    pub fn keep(&mut self, cx: &mut Cx, kept: &mut Option<Kept>) {
        let (Some(conn), Some(i)) = (self.conn.take(), self.server) else {
            return;
        };
        cx.backends[self.backend].release(i, cx.worker);
        if let Some(t) = conn.link_task() {
            // A link is no connection to keep: its stream is over.
            cx.wake(t);
            return;
        }
        if let Some(old) = kept.take() {
            old.park(cx.idle, cx.registry, cx.now);
        }
        let key = (self.backend, i, cx.backends[self.backend].servers[i].seq);
        *kept = Kept::new(conn, key, cx.idle);
    }

    /// Writes the PROXY protocol header the server wants, on the socket
    /// itself (ahead of a TLS handshake); the connection becomes private
    /// to this client.
    fn send_proxy_header(&mut self, cx: &Cx, at: &Attempt) -> io::Result<()> {
        let (Some(i), Some(conn)) = (self.server, self.conn.as_mut()) else {
            return Ok(());
        };
        let Some(version) = cx.backends[self.backend].servers[i].send_proxy else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(64);
        match at.client {
            Some((src, dst)) => match version {
                ProxyVersion::V1 => proxy::write_v1(src, dst, &mut buf),
                ProxyVersion::V2 => proxy::write_v2(src, dst, &mut buf),
            },
            None => match version {
                ProxyVersion::V1 => buf.extend_from_slice(b"PROXY UNKNOWN\r\n"),
                ProxyVersion::V2 => proxy::write_v2_local(&mut buf),
            },
        }
        conn.write_preamble(&buf)?;
        conn.private = true;
        Ok(())
    }

    /// A TLS handshake with the server failed (a certificate that does
    /// not verify, no common version…): a warning (one a second per
    /// server), then a retry like any failed connect.
    fn tls_failed(&self, cx: &Cx, e: &io::Error) {
        let Some(i) = self.server else {
            return;
        };
        let srv = &cx.backends[self.backend].servers[i];
        let quiet = srv
            .tls_warned
            .get()
            .is_some_and(|t| cx.now.saturating_duration_since(t) < Duration::from_secs(1));
        if quiet {
            return;
        }
        srv.tls_warned.set(Some(cx.now));
        let be = &cx.config.backends[self.backend].name;
        let why = self
            .conn
            .as_ref()
            .and_then(|c| c.tls())
            .and_then(|t| t.error())
            .map_or_else(|| e.to_string(), |e| e.to_string());
        cx.logger.warning(&format!(
            "TLS handshake with server {be}/{} failed: {why}",
            srv.name
        ));
    }

    /// The backend's state in this worker.
    pub fn state<'b>(&self, backends: &'b [BackendState]) -> &'b BackendState {
        &backends[self.backend]
    }
}

/// A connection to server `i` of backend `be` from those kept for reuse,
/// registered under the attempt's token: the client connection's kept
/// one (no poller change: it is registered under that token already),
/// else a parked one. The kept one goes to the pool when it leads
/// elsewhere.
fn reuse(at: &mut Attempt, cx: &mut Cx, be: usize, i: usize) -> Option<Conn> {
    let r = at.reuse.as_mut()?;
    let key = (be, i, cx.backends[be].servers[i].seq);
    let want = r.allowed.then_some(key);
    if let Some(conn) = idle::kept::take(r.kept, want, cx.idle, cx.registry, cx.now) {
        return Some(conn);
    }
    if !(r.allowed && r.parked) {
        return None;
    }
    let mut conn = cx.idle.take(key)?;
    if conn.reregister(cx.registry, at.token).is_err() {
        return None;
    }
    conn.readable = true;
    conn.writable = true;
    conn.rdhup = false;
    Some(conn)
}
