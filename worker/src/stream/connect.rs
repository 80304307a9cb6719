//! Analyser 4: a server connection for the stream, through the server
//! side ([`crate::server_side`]): a kept or parked one (`http_reuse`) or a
//! new one, with retries; a 503 when the server side fails before the
//! response starts. When every server is at its `maxconn` the request
//! waits in the backend's queue and gets a 503 (`sQ`) after
//! `timeout.queue`. A kept connection found dead is replayed here too.

use super::client::ClientSide;
use super::{Phase, Stream, Transition};
use crate::balance::PickCtx;
use crate::context::Cx;
use crate::server_side::{Attempt, Progress, Release, Reuse};
use crate::term::{At, Termination};
use crate::tokens;
use weir_core::config::model::{Balance, HttpReuse};

/// Analyser 4: picks, connects, checks the connect, retries.
///
/// A parked connection (one another client connection left, `http_reuse =
/// "safe"`) serves a client connection's later requests, as HAProxy's
/// "safe"; and its first one too when weir can replay it on a new
/// connection should the parked one turn out dead ([`replay`]): no body,
/// an idempotent method. A client that sends one request per connection
/// (`Connection: close`, HTTP/1.0, probes, scripts) then costs no new
/// server connection per request, as nginx's `upstream keepalive`.
pub fn step(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, key: usize) -> Transition {
    let had_conn = st.side.conn.is_some();
    let parked = cs.requests > 1 || st.replayable;
    advance(st, cs, cx, key, parked, had_conn)
}

/// The server connection failed before the response head: a request on a
/// kept or parked connection that got nothing back (the server closed it
/// while it was idle) and has no body is sent again on a new connection,
/// as HAProxy does; anything else is a 502.
pub fn replay(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, key: usize) -> Transition {
    let replayable = !st.req_has_body && (st.replayable || cs.requests > 1);
    if !(st.side.reused && st.res.is_empty() && replayable) {
        return Transition::Error(502, Termination::server(At::Headers));
    }
    st.side
        .release(cx, Release::Discard, tokens::stream_task(key));
    st.res = Default::default();
    st.to_srv.rewind();
    st.side.reused = false;
    // A new connection only: no kept or parked one for the replay.
    match advance(st, cs, cx, key, false, false) {
        Transition::Continue(_) => Transition::Continue(true),
        other => other,
    }
}

/// One step of the server side; `parked`: a parked connection may serve
/// (not for a client connection's first request, nor for a replay).
fn advance(
    st: &mut Stream,
    cs: &mut ClientSide,
    cx: &mut Cx,
    key: usize,
    parked: bool,
    had_conn: bool,
) -> Transition {
    if cs.dst.is_none() && cx.backends[st.side.backend].send_proxy_any {
        cs.dst = cs.conn.local_addr().ok().map(Box::new);
    }
    let client = cs.dst.as_deref().map(|&dst| (cs.addr, dst));
    let be = &cx.config.backends[st.side.backend];
    // The fields, not `lb_key()`: `st.side` is borrowed below.
    let lb = st.lb_key_set.then_some(&st.lb_key[..]);
    let (uri, header) = match &be.balance {
        Balance::Uri => (lb, None),
        Balance::Hdr(_) => (None, lb),
        _ => (None, None),
    };
    let mut at = Attempt {
        client,
        pick: PickCtx {
            src: Some(cs.addr.ip()),
            uri,
            header,
        },
        host: st
            .sni_host_set
            .then(|| std::str::from_utf8(&st.sni_host).ok())
            .flatten(),
        token: tokens::slot(st.session, st.slot),
        queue_key: tokens::stream_task(key),
        reuse: Some(Reuse {
            kept: &mut cs.kept,
            allowed: be.http_reuse == HttpReuse::Safe && !st.ctx.upgrade_requested,
            parked,
        }),
    };
    match st.side.advance(cx, &mut at) {
        Ok(Progress::Ready) => {
            st.phase = Phase::Exchange;
            Transition::Continue(true)
        }
        Ok(Progress::Connecting) => {
            st.phase = Phase::Connect;
            // A connect just started (or retried) moved something.
            Transition::Continue(!had_conn)
        }
        Ok(Progress::Queued) => {
            st.phase = Phase::Connect;
            Transition::Continue(false)
        }
        Err(term) => Transition::Error(503, term),
    }
}
