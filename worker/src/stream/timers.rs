//! A stream's timers: which timeout applies in each phase, when its task
//! must run again, and the transition when one expires. (The timers of a
//! client connection between requests, `http_request` and
//! `http_keep_alive`, are its mux's.)

use super::client::ClientSide;
use super::{Phase, Stream, Transition};
use crate::context::Cx;
use crate::term::{At, Cause, Termination};
use crate::tokens;
use std::time::{Duration, Instant};
use weir_core::config::model::defaults;

/// The client timeout of frontend `fe`.
pub fn client_timeout(cx: &Cx, fe: usize) -> Duration {
    cx.config.frontends[fe]
        .timeouts
        .client
        .unwrap_or(defaults::TIMEOUT_CLIENT)
}

/// What expires at a deadline.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    None,
    Connect,
    Client,
    Server,
    Tunnel,
    /// Waiting for a server slot: the queue timeout, or the head's
    /// re-check.
    Queue,
}

/// When the stream must run again for a timeout, and what expires then.
fn deadlines(st: &Stream, cs: &ClientSide, cx: &Cx, key: usize) -> [(Option<Instant>, Expiry); 3] {
    let client = client_timeout(cx, cs.frontend);
    let be = &cx.config.backends[st.side.backend];
    let server = be.timeouts.server.unwrap_or(defaults::TIMEOUT_SERVER);
    match st.phase {
        Phase::Tunnel => {
            let t = be.timeouts.tunnel.unwrap_or(client.max(server));
            let last = cs.active.max(st.side.active);
            [
                (Some(last + t), Expiry::Tunnel),
                (None, Expiry::None),
                (None, Expiry::None),
            ]
        }
        Phase::LocalReply => [
            (Some(cs.active + client), Expiry::Client),
            (None, Expiry::None),
            (None, Expiry::None),
        ],
        Phase::Connect | Phase::Exchange => {
            let want_client = (!st.req_body.is_done() && !cs.req.shutr)
                || !st.to_cli.is_empty()
                || !st.res.is_empty();
            let want_server =
                st.phase == Phase::Exchange && (!st.res_head_done || !st.res_body.is_done());
            let last = if st.phase == Phase::Connect && st.side.queue.queued() {
                let state = &cx.backends[st.side.backend];
                let at =
                    crate::queue::wake_at(state, &st.side.queue, tokens::stream_task(key), cx.now);
                (Some(at), Expiry::Queue)
            } else {
                (want_server.then(|| st.side.active + server), Expiry::Server)
            };
            [
                (st.side.connect_deadline, Expiry::Connect),
                (want_client.then(|| cs.active + client), Expiry::Client),
                last,
            ]
        }
    }
}

/// The earliest date at which the stream must run again.
pub fn next(st: &Stream, cs: &ClientSide, cx: &Cx, key: usize) -> Option<Instant> {
    deadlines(st, cs, cx, key)
        .iter()
        .filter_map(|(d, _)| *d)
        .min()
}

/// The transition for a timeout that has expired, if any.
pub fn expired(st: &Stream, cs: &ClientSide, cx: &Cx, key: usize) -> Option<Transition> {
    let expired = deadlines(st, cs, cx, key)
        .into_iter()
        .find(|(d, _)| d.is_some_and(|d| cx.now >= d))?
        .1;
    match expired {
        Expiry::None => None,
        // The connect analyser retries, or fails the request with sQ once
        // the queue timeout has passed: run it now.
        Expiry::Connect | Expiry::Queue => Some(Transition::Continue(true)),
        Expiry::Server if st.res_head_done => Some(Transition::Close(Termination::new(
            Cause::ServerTimeout,
            At::Data,
        ))),
        Expiry::Server => Some(Transition::Error(
            504,
            Termination::new(Cause::ServerTimeout, At::Headers),
        )),
        Expiry::Client | Expiry::Tunnel => Some(Transition::Abort(Termination::new(
            Cause::ClientTimeout,
            At::Data,
        ))),
    }
}
