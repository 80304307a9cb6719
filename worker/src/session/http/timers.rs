//! The session's timers: which timeout applies in each state, when the task
//! must run again, and what happens when one expires.

use super::{end::*, process::*, request::*, server::*};
use super::{HttpSession, Phase};
use crate::session::tcp::Outcome;
use crate::session::{At, Cause, Termination};
use std::time::{Duration, Instant};
use weir_core::config::model::defaults;

pub(super) fn client_timeout(cx: &HttpCtx, fe: usize) -> Duration {
    cx.config.frontends[fe]
        .timeouts
        .client
        .unwrap_or(defaults::TIMEOUT_CLIENT)
}

/// When the session must run again for a timeout, and what expires then.
pub(super) fn deadlines(s: &HttpSession, cx: &HttpCtx) -> [(Option<Instant>, Expiry); 3] {
    let fe = &cx.config.frontends[s.frontend];
    let client = client_timeout(cx, s.frontend);
    let http_request = fe.timeouts.http_request.unwrap_or(client);
    let Some(st) = s.stream.as_ref() else {
        let waiting = !s.req.is_empty() || s.requests == 0;
        return if waiting {
            let since = s.req_start.map_or(s.accepted, |(t, _)| t).max(s.idle_since);
            [
                (Some(since + http_request), Expiry::Request),
                (None, Expiry::None),
                (None, Expiry::None),
            ]
        } else {
            let ka = fe.timeouts.http_keep_alive.unwrap_or(http_request);
            [
                (Some(s.idle_since + ka), Expiry::KeepAlive),
                (None, Expiry::None),
                (None, Expiry::None),
            ]
        };
    };
    let be = &cx.config.backends[st.backend];
    let server = be.timeouts.server.unwrap_or(defaults::TIMEOUT_SERVER);
    match st.phase {
        Phase::Tunnel => {
            let t = be.timeouts.tunnel.unwrap_or(client.max(server));
            let last = s.cli_active.max(st.srv_active);
            [
                (Some(last + t), Expiry::Tunnel),
                (None, Expiry::None),
                (None, Expiry::None),
            ]
        }
        Phase::LocalReply => [
            (Some(s.cli_active + client), Expiry::Client),
            (None, Expiry::None),
            (None, Expiry::None),
        ],
        Phase::Connect | Phase::Exchange => {
            let want_client = (!st.req_body.is_done() && !s.req.shutr)
                || !st.to_cli.is_empty()
                || !s.res.is_empty();
            let want_server =
                st.phase == Phase::Exchange && (!st.res_head_done || !st.res_body.is_done());
            let last = if st.phase == Phase::Connect && st.queue.queued() {
                let be = &cx.backends[st.backend];
                let at = crate::queue::wake_at(be, &st.queue, cx.key, cx.now);
                (Some(at), Expiry::Queue)
            } else {
                (want_server.then(|| st.srv_active + server), Expiry::Server)
            };
            [
                (st.connect_deadline, Expiry::Connect),
                (want_client.then(|| s.cli_active + client), Expiry::Client),
                last,
            ]
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    None,
    Request,
    KeepAlive,
    Connect,
    Client,
    Server,
    Tunnel,
    /// Waiting for a server slot: the queue timeout, or the head's
    /// re-check.
    Queue,
}

pub(super) fn next_expiry(s: &HttpSession, cx: &HttpCtx) -> Option<Instant> {
    deadlines(s, cx).iter().filter_map(|(d, _)| *d).min()
}

/// Acts on an expired timeout, if any.
pub(super) fn timeouts(s: &mut HttpSession, cx: &mut HttpCtx) -> Option<Outcome> {
    let expired = deadlines(s, cx)
        .into_iter()
        .find(|(d, _)| d.is_some_and(|d| cx.now >= d))?
        .1;
    match expired {
        Expiry::None => None,
        Expiry::Connect => {
            // The connect step retries; run it now.
            let _ = retry_connect(s, cx, true);
            Some(Outcome::Yield)
        }
        Expiry::KeepAlive => Some(Outcome::Close(Termination::NORMAL)),
        // The connect step retries the queue, or fails the request with sQ
        // when its timeout has passed: run it now.
        Expiry::Queue => Some(Outcome::Yield),
        Expiry::Request => {
            local_error(
                s,
                cx,
                408,
                Termination::new(Cause::ClientTimeout, At::Request),
                "<BADREQ>",
            );
            Some(Outcome::Yield)
        }
        Expiry::Server => {
            let head_sent = s.stream.as_ref().is_some_and(|st| st.res_head_done);
            if head_sent {
                if let Some(st) = s.stream.as_mut() {
                    st.term = Termination::new(Cause::ServerTimeout, At::Data);
                }
                close_stream(s, cx);
                Some(Outcome::Close(Termination::new(
                    Cause::ServerTimeout,
                    At::Data,
                )))
            } else {
                server_error(
                    s,
                    cx,
                    504,
                    Termination::new(Cause::ServerTimeout, At::Headers),
                );
                Some(Outcome::Yield)
            }
        }
        Expiry::Client | Expiry::Tunnel => Some(abort(
            s,
            cx,
            Termination::new(Cause::ClientTimeout, At::Data),
        )),
    }
}
