//! The TCP session task: connect (with retries), then forward both ways
//! with half-close, under the inactivity timeouts.
//!
//! Timeouts, as HAProxy defines them for TCP mode:
//! - `connect`: one connection attempt;
//! - `client` / `server`: inactivity on that side while we expect to read
//!   from it or have bytes to write to it;
//! - `tunnel`: replaces both once the server connection is established;
//! - `client_fin` / `server_fin`: replace them once that side is half-closed;
//! - `queue`: the longest wait for a server slot when every server is at
//!   its `maxconn` (the connect timeout when unset, as HAProxy); then the
//!   session closes with `sQ`.

use super::pump::{pump, Splicer};
use super::{Session, Stage};
use crate::backend::BackendState;
use crate::balance::PickCtx;
use crate::conn::connect::{self, connected};
use crate::pipes::PipePool;
use crate::queue;
use crate::session::{At, Cause, Termination};
use crate::tokens::{self, Side};
use mio::Registry;
use std::time::{Duration, Instant};
use weir_core::config::model::{defaults, Backend, Frontend};
use weir_core::pool::BufferPool;

/// Bytes one direction may move per task run before yielding to others.
const BUDGET_BUFFERS: usize = 4;

/// What the session's task needs besides the session itself.
pub struct Ctx<'a> {
    pub pool: &'a mut BufferPool,
    /// Pipes for the directions that stream (splice).
    pub pipes: &'a mut PipePool,
    /// Client connections open in the worker now.
    pub conns: usize,
    pub backend: &'a mut BackendState,
    pub registry: &'a Registry,
    pub fe: &'a Frontend,
    pub be: &'a Backend,
    pub key: usize,
    pub now: Instant,
    /// This worker's index (0-based), for the shared gauges.
    pub worker: usize,
}

/// The result of one run of the task.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sleep until woken by I/O or until this date.
    Wait(Option<Instant>),
    /// More work is ready: run again on the next turn.
    Yield,
    /// Done; the worker closes and logs it.
    Close(Termination),
}

/// Runs the session's task once.
pub fn process(s: &mut Session, cx: &mut Ctx) -> Outcome {
    if s.stage == Stage::Connect {
        if let Err(term) = advance_connect(s, cx) {
            return Outcome::Close(term);
        }
    }
    let budget = BUDGET_BUFFERS * cx.pool.stats().bufsize;
    let mut exhausted = false;
    // Client → server (only buffered until the server is connected).
    let srv = if s.stage == Stage::Data {
        s.srv.as_mut()
    } else {
        None
    };
    let sp = Splicer {
        pipes: cx.pipes,
        conns: cx.conns,
    };
    match pump(&mut s.client, &mut s.req, srv, cx.pool, sp, budget) {
        Ok(p) => {
            exhausted |= p.exhausted;
            if p.read {
                s.cli_active = cx.now;
            }
            if p.wrote {
                s.srv_active = cx.now;
            }
        }
        Err(side) => return Outcome::Close(Termination::failed(side, phase(s))),
    }
    if s.stage == Stage::Data {
        if let Some(srv) = s.srv.as_mut() {
            let sp = Splicer {
                pipes: cx.pipes,
                conns: cx.conns,
            };
            match pump(srv, &mut s.res, Some(&mut s.client), cx.pool, sp, budget) {
                Ok(p) => {
                    exhausted |= p.exhausted;
                    if p.read {
                        s.srv_active = cx.now;
                    }
                    if p.wrote {
                        s.cli_active = cx.now;
                    }
                }
                // Errors swap sides here: the source is the server.
                Err(side) => return Outcome::Close(Termination::failed(side.other(), phase(s))),
            }
        }
        if s.req.shutw && s.res.shutw {
            return Outcome::Close(Termination::NORMAL);
        }
    }
    if let Some(term) = expired(s, cx) {
        return Outcome::Close(term);
    }
    if exhausted {
        Outcome::Yield
    } else {
        Outcome::Wait(expiry(s, cx))
    }
}

/// The second letter of a termination state: waiting in the queue (Q),
/// connecting (C) or forwarding data (D).
fn phase(s: &Session) -> At {
    match s.stage {
        Stage::Data => At::Data,
        Stage::Connect if s.queue.queued() => At::Queue,
        Stage::Connect => At::Connect,
    }
}

/// Starts, checks or retries the server connection. `Err` ends the session.
fn advance_connect(s: &mut Session, cx: &mut Ctx) -> Result<(), Termination> {
    let Some(conn) = s.srv.as_mut() else {
        return start_connect(s, cx, None);
    };
    if conn.readable || conn.writable {
        match connected(conn) {
            Ok(true) => {
                s.stage = Stage::Data;
                s.srv_active = cx.now;
                s.connect_deadline = None;
                let start = s.connect_start.unwrap_or(s.accepted);
                s.connect_ms = Some(cx.now.saturating_duration_since(start).as_millis() as u64);
                return Ok(());
            }
            Ok(false) => {}
            Err(_) => return retry(s, cx, false),
        }
    }
    match s.connect_deadline {
        Some(d) if cx.now >= d => retry(s, cx, true),
        _ => Ok(()),
    }
}

/// The current attempt failed: drop it, then try the next server if any
/// retries are left.
fn retry(s: &mut Session, cx: &mut Ctx, timed_out: bool) -> Result<(), Termination> {
    let failed = s.server;
    drop_server_conn(s, cx);
    if s.retries >= cx.be.retries {
        return Err(if timed_out {
            Termination::new(Cause::ServerTimeout, At::Connect)
        } else {
            Termination::server(At::Connect)
        });
    }
    s.retries += 1;
    start_connect(s, cx, failed)
}

/// Releases the server connection and its count on the server (which
/// wakes a session waiting for a slot, if any).
pub fn drop_server_conn(s: &mut Session, cx: &mut Ctx) {
    if s.srv.take().is_some() {
        if let Some(i) = s.server {
            cx.backend.release(i, cx.worker);
        }
    }
}

/// The queue timeout of a backend: `timeout.queue`, else the connect
/// timeout.
pub fn queue_timeout(be: &Backend) -> Duration {
    be.timeouts
        .queue
        .or(be.timeouts.connect)
        .unwrap_or(defaults::TIMEOUT_CONNECT)
}

/// Picks a server (avoiding `avoid`) and starts a non-blocking connect;
/// an immediate failure counts as a failed attempt. When every server is
/// full the session waits in the queue: `Ok` with no server connection,
/// and the next run tries again.
fn start_connect(
    s: &mut Session,
    cx: &mut Ctx,
    mut avoid: Option<usize>,
) -> Result<(), Termination> {
    loop {
        let req = PickCtx {
            src: Some(s.client_addr.ip()),
            ..PickCtx::default()
        };
        let timeout = queue_timeout(cx.be);
        let admitted = queue::admit(
            cx.backend,
            &mut s.queue,
            cx.key,
            &req,
            avoid,
            cx.now,
            timeout,
        );
        s.server = None;
        let Some(i) = admitted.server()? else {
            s.connect_deadline = None;
            return Ok(());
        };
        s.server = Some(i);
        s.connect_start.get_or_insert(cx.now);
        let srv = &mut cx.backend.servers[i];
        let token = tokens::session(cx.key, Side::Server);
        if let Ok(conn) = connect::open(srv.addr, cx.registry, token) {
            srv.shm.enter(cx.worker);
            s.srv = Some(conn);
            let timeout = cx.be.timeouts.connect.unwrap_or(defaults::TIMEOUT_CONNECT);
            s.connect_deadline = Some(cx.now + timeout);
            return Ok(());
        }
        if s.retries >= cx.be.retries {
            return Err(Termination::server(At::Connect));
        }
        s.retries += 1;
        avoid = Some(i);
    }
}

/// The inactivity timeout that applies to one side now.
fn side_timeout(
    base: Option<Duration>,
    fin: Option<Duration>,
    tunnel: Option<Duration>,
    half_closed: bool,
) -> Option<Duration> {
    if half_closed {
        if let Some(f) = fin {
            return Some(f);
        }
    }
    tunnel.or(base)
}

fn client_deadline(s: &Session, cx: &Ctx) -> Option<Instant> {
    let armed = !s.req.shutr || !s.res.is_empty();
    if !armed {
        return None;
    }
    let tunnel = if s.stage == Stage::Data {
        cx.be.timeouts.tunnel
    } else {
        None
    };
    let half = s.req.shutr || s.res.shutw;
    let base = Some(cx.fe.timeouts.client.unwrap_or(defaults::TIMEOUT_CLIENT));
    side_timeout(base, cx.fe.timeouts.client_fin, tunnel, half).map(|t| s.cli_active + t)
}

fn server_deadline(s: &Session, cx: &Ctx) -> Option<Instant> {
    if s.stage != Stage::Data || !(!s.res.shutr || !s.req.is_empty()) {
        return None;
    }
    let half = s.res.shutr || s.req.shutw;
    let base = Some(cx.be.timeouts.server.unwrap_or(defaults::TIMEOUT_SERVER));
    side_timeout(base, cx.be.timeouts.server_fin, cx.be.timeouts.tunnel, half)
        .map(|t| s.srv_active + t)
}

/// The termination state if a timeout has passed.
fn expired(s: &Session, cx: &Ctx) -> Option<Termination> {
    if client_deadline(s, cx).is_some_and(|d| cx.now >= d) {
        return Some(Termination::new(Cause::ClientTimeout, phase(s)));
    }
    if server_deadline(s, cx).is_some_and(|d| cx.now >= d) {
        return Some(Termination::new(Cause::ServerTimeout, phase(s)));
    }
    None
}

/// The earliest date at which the task must run again.
fn expiry(s: &Session, cx: &Ctx) -> Option<Instant> {
    let queued = (s.srv.is_none() && s.queue.queued())
        .then(|| queue::wake_at(cx.backend, &s.queue, cx.key, cx.now));
    [
        s.connect_deadline,
        client_deadline(s, cx),
        server_deadline(s, cx),
        queued,
    ]
    .into_iter()
    .flatten()
    .min()
}
