//! Analyser 4: a server connection for the stream: a parked one
//! (`http_reuse`) or a new one, with retries and the error page (502, 503,
//! 504) when the server side fails before the response starts. When every
//! server is at its `maxconn`, the request waits in the backend's queue
//! ([`crate::queue`]) and gets a 503 (`sQ`) after `timeout.queue`.

use super::process::*;
use super::reply;
use super::{HttpSession, Phase, Stream};
use crate::balance::PickCtx;
use crate::conn::connect::{self, connected};
use crate::queue;
use crate::session::{At, Cause, Termination};
use crate::tokens::{self, Side};
use weir_core::config::model::{defaults, Balance, HttpReuse};

/// Analyser 4: a server connection, parked or new, with retries.
pub(super) fn connect_step(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    let Some(conn) = st.srv.as_mut() else {
        return match start_connect(s, cx, None) {
            // Still queued: nothing moved.
            Ok(()) => Step::Continue(s.stream.as_ref().is_some_and(|st| st.srv.is_some())),
            Err(term) => server_error(s, cx, 503, term),
        };
    };
    if conn.readable || conn.writable {
        match connected(conn) {
            Ok(true) => {
                st.phase = Phase::Exchange;
                st.srv_active = cx.now;
                st.srv_ready_at = Some(cx.now);
                st.connect_deadline = None;
                let begin = st.connect_start.unwrap_or(st.head_at);
                st.connect_ms = Some(cx.now.saturating_duration_since(begin).as_millis() as i64);
                return Step::Continue(true);
            }
            Ok(false) => {}
            Err(_) => return retry_connect(s, cx, false),
        }
    }
    match st.connect_deadline {
        Some(d) if cx.now >= d => retry_connect(s, cx, true),
        _ => Step::Continue(false),
    }
}

pub(super) fn retry_connect(s: &mut HttpSession, cx: &mut HttpCtx, timed_out: bool) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    let failed = st.server;
    release_server(st, cx, false);
    let retries = cx.config.backends[st.backend].retries;
    let term = if timed_out {
        Termination::new(Cause::ServerTimeout, At::Connect)
    } else {
        Termination::server(At::Connect)
    };
    if st.retries >= retries {
        return server_error(s, cx, 503, term);
    }
    st.retries += 1;
    match start_connect(s, cx, failed) {
        Ok(()) => Step::Continue(true),
        Err(t) => server_error(s, cx, 503, t),
    }
}

/// Picks a server and gets a connection to it: a parked one when reuse is
/// allowed (not for a client connection's first request, as HAProxy's
/// "safe"), else a new non-blocking connect.
pub(super) fn start_connect(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    mut avoid: Option<usize>,
) -> Result<(), Termination> {
    let first_request = s.requests <= 1;
    let Some(st) = s.stream.as_mut() else {
        return Err(Termination::server(At::Connect));
    };
    let be_i = st.backend;
    let be = &cx.config.backends[be_i];
    let token = tokens::session(cx.key, Side::Server);
    loop {
        // The fields, not `lb_key()`: `st.queue` is borrowed below.
        let key = st.lb_key_set.then_some(&st.lb_key[..]);
        let (uri, header) = match &be.balance {
            Balance::Uri => (key, None),
            Balance::Hdr(_) => (None, key),
            _ => (None, None),
        };
        let req = PickCtx {
            src: Some(s.client_addr.ip()),
            uri,
            header,
        };
        let timeout = crate::session::tcp::queue_timeout(be);
        let admitted = queue::admit(
            &mut cx.backends[be_i],
            &mut st.queue,
            cx.key,
            &req,
            avoid,
            cx.now,
            timeout,
        );
        st.server = None;
        let Some(i) = admitted.server()? else {
            st.connect_deadline = None;
            return Ok(());
        };
        st.server = Some(i);
        let reuse = be.http_reuse == HttpReuse::Safe && !st.ctx.upgrade_requested;
        if let Some(conn) = super::kept::take(&mut s.kept, cx, reuse.then_some((be_i, i))) {
            cx.backends[be_i].servers[i].shm.enter(cx.worker);
            st.srv = Some(conn);
            st.reused = true;
            st.phase = Phase::Exchange;
            st.srv_ready_at = Some(cx.now);
            st.srv_active = cx.now;
            st.connect_ms.get_or_insert(0);
            return Ok(());
        }
        let srv = &mut cx.backends[be_i].servers[i];
        if reuse && !first_request {
            if let Some(mut conn) = cx.idle.take(be_i, i) {
                if conn.reregister(cx.registry, token).is_ok() {
                    srv.shm.enter(cx.worker);
                    conn.readable = true;
                    conn.writable = true;
                    conn.rdhup = false;
                    st.srv = Some(conn);
                    st.reused = true;
                    st.phase = Phase::Exchange;
                    st.srv_ready_at = Some(cx.now);
                    st.srv_active = cx.now;
                    st.connect_ms.get_or_insert(0);
                    return Ok(());
                }
            }
        }
        st.connect_start.get_or_insert(cx.now);
        if let Ok(conn) = connect::open(srv.addr, cx.registry, token) {
            srv.shm.enter(cx.worker);
            st.srv = Some(conn);
            st.reused = false;
            st.phase = Phase::Connect;
            st.connect_deadline =
                Some(cx.now + be.timeouts.connect.unwrap_or(defaults::TIMEOUT_CONNECT));
            return Ok(());
        }
        if st.retries >= be.retries {
            return Err(Termination::server(At::Connect));
        }
        st.retries += 1;
        avoid = Some(i);
    }
}

/// Lets go of the stream's server connection: parked when `park` and the
/// pool takes it, else closed. A stream still queued leaves the queue.
pub(super) fn release_server(st: &mut Stream, cx: &mut HttpCtx, park: bool) {
    if st.queue.queued() {
        cx.backends[st.backend].queue.forget(cx.key);
        st.queue.leave(cx.now);
    }
    let Some(conn) = st.srv.take() else {
        return;
    };
    if let Some(i) = st.server {
        cx.backends[st.backend].release(i, cx.worker);
        if park {
            cx.idle.put(cx.registry, st.backend, i, conn, cx.now);
            return;
        }
    }
    crate::idle::discard(conn);
}

/// The server side failed before a response reached the client: answer
/// with an error page instead (502, 503, 504) and close afterwards.
pub(super) fn server_error(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    status: u16,
    term: Termination,
) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    release_server(st, cx, false);
    st.phase = Phase::LocalReply;
    st.to_cli.reset();
    reply::error_page(status, st.to_cli.vec());
    st.status = i32::from(status);
    st.term = term;
    s.close_after = true;
    Step::Continue(true)
}

/// The server connection failed before the response head: replay on a new
/// connection if it was a parked one and the request can be replayed,
/// else answer 502.
pub(super) fn server_failed(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    let nothing_received = s.res.is_empty();
    if st.reused && nothing_received && !st.req_has_body {
        release_server(st, cx, false);
        s.res = Default::default();
        st.to_srv.rewind();
        st.reused = false;
        let failed = st.server;
        return match start_connect_fresh(s, cx, failed) {
            Ok(()) => Step::Continue(true),
            Err(t) => server_error(s, cx, 503, t),
        };
    }
    server_error(s, cx, 502, Termination::server(At::Headers))
}

/// A new connection to the same server (no parked one), for a replay.
pub(super) fn start_connect_fresh(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    server: Option<usize>,
) -> Result<(), Termination> {
    let requests = s.requests;
    s.requests = 1; // no parked connection for the replay
    let r = start_connect(s, cx, None);
    s.requests = requests;
    let _ = server;
    r
}
