//! The TCP session's task: connect (with retries, through the server
//! side), then forward both ways with half-close, under the inactivity
//! timeouts.
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

use super::{Stage, TcpSession};
use crate::balance::PickCtx;
use crate::conn::proxy::Header;
use crate::context::Cx;
use crate::pump::{pump, Splicer};
use crate::server_side::{Attempt, Progress};
use crate::session::handshake::{self, Handshake, Who};
use crate::session::proxy_header::{self, ProxyStep};
use crate::session::Outcome;
use crate::term::{At, Cause, Termination};
use crate::tokens;
use std::time::{Duration, Instant};
use weir_core::config::model::defaults;

/// Bytes one direction may move per task run before yielding to others.
const BUDGET_BUFFERS: usize = 4;

/// Runs the session's task once.
pub fn process(s: &mut TcpSession, key: usize, cx: &mut Cx) -> Outcome {
    if s.expect_proxy {
        let who = Who {
            frontend: s.frontend,
            bind: s.bind,
            addr: s.client_addr,
            accepted: s.accepted,
        };
        let fe = &cx.config.frontends[s.frontend];
        let timeout = fe.timeouts.client.unwrap_or(defaults::TIMEOUT_CLIENT);
        match proxy_header::advance(&mut s.client, timeout, &who, cx) {
            ProxyStep::Done(header) => {
                s.expect_proxy = false;
                if let Header::Proxy { src, dst } = header {
                    s.client_addr = src;
                    s.dst = Some(dst);
                }
            }
            ProxyStep::Pending(at) => return Outcome::Wait(Some(at)),
            ProxyStep::Failed => {
                // Logged as a connection error, not as a session.
                s.handshake_failed = true;
                return Outcome::Close(Termination::client(At::Connect));
            }
        }
    }
    if s.client.handshaking() {
        let who = Who {
            frontend: s.frontend,
            bind: s.bind,
            addr: s.client_addr,
            accepted: s.accepted,
        };
        match handshake::advance(&mut s.client, &who, cx) {
            Handshake::Done => {}
            Handshake::Pending(at) => return Outcome::Wait(Some(at)),
            Handshake::Failed => {
                s.handshake_failed = true;
                return Outcome::Close(Termination::client(At::Connect));
            }
        }
    }
    if s.stage == Stage::Connect {
        if s.dst.is_none() && cx.backends[s.side.backend].send_proxy_any {
            s.dst = s.client.local_addr().ok();
        }
        let mut at = Attempt {
            client: s.dst.map(|dst| (s.client_addr, dst)),
            pick: PickCtx {
                src: Some(s.client_addr.ip()),
                ..PickCtx::default()
            },
            host: None,
            token: tokens::slot(key, tokens::SERVER_SLOT),
            queue_key: tokens::session_task(key),
            reuse: None,
        };
        match s.side.advance(cx, &mut at) {
            Ok(Progress::Ready) => s.stage = Stage::Data,
            Ok(_) => {}
            Err(term) => return Outcome::Close(term),
        }
    }
    let budget = BUDGET_BUFFERS * cx.bufsize();
    let mut exhausted = false;
    // Client → server (only buffered until the server is connected).
    let srv = if s.stage == Stage::Data {
        s.side.conn.as_mut()
    } else {
        None
    };
    let sp = Splicer {
        pipes: cx.pipes,
        conns: cx.actconn,
    };
    match pump(&mut s.client, &mut s.req, srv, cx.pool, sp, budget) {
        Ok(p) => {
            exhausted |= p.exhausted;
            if p.read {
                s.cli_active = cx.now;
            }
            if p.wrote {
                s.side.active = cx.now;
            }
        }
        Err(side) => return Outcome::Close(Termination::failed(side, s.at())),
    }
    if s.stage == Stage::Data {
        if let Some(srv) = s.side.conn.as_mut() {
            let sp = Splicer {
                pipes: cx.pipes,
                conns: cx.actconn,
            };
            match pump(srv, &mut s.res, Some(&mut s.client), cx.pool, sp, budget) {
                Ok(p) => {
                    exhausted |= p.exhausted;
                    if p.read {
                        s.side.active = cx.now;
                    }
                    if p.wrote {
                        s.cli_active = cx.now;
                    }
                }
                // Errors swap sides here: the source is the server.
                Err(side) => return Outcome::Close(Termination::failed(side.other(), s.at())),
            }
        }
        let flushed = s.client.flushed() && s.side.conn.as_ref().is_none_or(|c| c.flushed());
        if s.req.shutw && s.res.shutw && flushed {
            return Outcome::Close(Termination::NORMAL);
        }
    }
    if let Some(term) = expired(s, cx) {
        return Outcome::Close(term);
    }
    if exhausted {
        Outcome::Yield
    } else {
        Outcome::Wait(expiry(s, key, cx))
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

fn client_deadline(s: &TcpSession, cx: &Cx) -> Option<Instant> {
    let armed = !s.req.shutr || !s.res.is_empty();
    if !armed {
        return None;
    }
    let be = &cx.config.backends[s.side.backend];
    let fe = &cx.config.frontends[s.frontend];
    let tunnel = if s.stage == Stage::Data {
        be.timeouts.tunnel
    } else {
        None
    };
    let half = s.req.shutr || s.res.shutw;
    let base = Some(fe.timeouts.client.unwrap_or(defaults::TIMEOUT_CLIENT));
    side_timeout(base, fe.timeouts.client_fin, tunnel, half).map(|t| s.cli_active + t)
}

fn server_deadline(s: &TcpSession, cx: &Cx) -> Option<Instant> {
    if s.stage != Stage::Data || !(!s.res.shutr || !s.req.is_empty()) {
        return None;
    }
    let be = &cx.config.backends[s.side.backend];
    let half = s.res.shutr || s.req.shutw;
    let base = Some(be.timeouts.server.unwrap_or(defaults::TIMEOUT_SERVER));
    side_timeout(base, be.timeouts.server_fin, be.timeouts.tunnel, half).map(|t| s.side.active + t)
}

/// The termination state if a timeout has passed.
fn expired(s: &TcpSession, cx: &Cx) -> Option<Termination> {
    if client_deadline(s, cx).is_some_and(|d| cx.now >= d) {
        return Some(Termination::new(Cause::ClientTimeout, s.at()));
    }
    if server_deadline(s, cx).is_some_and(|d| cx.now >= d) {
        return Some(Termination::new(Cause::ServerTimeout, s.at()));
    }
    None
}

/// The earliest date at which the task must run again.
fn expiry(s: &TcpSession, key: usize, cx: &Cx) -> Option<Instant> {
    let queued = s.side.queued().then(|| {
        let be = &cx.backends[s.side.backend];
        crate::queue::wake_at(be, &s.side.queue, tokens::session_task(key), cx.now)
    });
    [
        s.side.connect_deadline,
        client_deadline(s, cx),
        server_deadline(s, cx),
        queued,
    ]
    .into_iter()
    .flatten()
    .min()
}
