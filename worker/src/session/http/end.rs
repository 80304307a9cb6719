//! Analyser 9: the end of a stream: the log line, the server connection
//! parked or closed, the client connection kept for the next request or
//! closed.

use super::{process::*, server::*};
use super::{HttpSession, Stream};
use crate::session::tcp::Outcome;
use crate::session::Termination;
use std::time::Instant;
use weir_core::config::model::{HttpReuse, LogLevel};
use weir_core::log::httplog::HttpLog;

/// The response is complete: log, park or close the server connection,
/// and keep the client connection for the next request or close it.
pub(super) fn finish_stream(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(mut st) = s.stream.take() else {
        return Step::Continue(false);
    };
    let clean = st.req_body.is_done() && s.res.is_empty() && !s.res.shutr;
    // A stopping worker parks nothing: its idle server connections would
    // only keep the servers' sessions (and so the stop) waiting.
    let park = st.srv_keep_alive
        && clean
        && !s.draining
        && cx.config.backends[st.backend].http_reuse != HttpReuse::Never;
    if !st.req_body.is_done() {
        // The server answered before the request body ended: the client
        // connection cannot carry another request.
        s.close_after = true;
    }
    log_stream(s, &st, cx);
    super::count::stream_ended(s, &st, cx);
    if park && !s.close_after {
        super::kept::keep(s, &mut st, cx);
    } else {
        release_server(&mut st, cx, park);
    }
    if st.counted {
        cx.backends[st.backend].shm.leave(cx.worker);
    }
    cx.spares.put_stream(st);
    s.res.release(cx.pool);
    s.res = Default::default();
    s.idle_since = cx.now;
    if s.close_after || (s.req.shutr && s.req.is_empty()) {
        return Step::Close;
    }
    Step::Continue(true)
}

/// Ends the stream and the connection now (an abort or a tunnel's end).
pub(super) fn close_stream(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    s.close_after = true;
    if let Some(st) = s.stream.as_mut() {
        st.srv_keep_alive = false;
    }
    finish_stream(s, cx);
    Step::Close
}

/// Closes the session after an error on the client side, logging the
/// stream in progress if any.
pub(super) fn abort(s: &mut HttpSession, cx: &mut HttpCtx, term: Termination) -> Outcome {
    if let Some(st) = s.stream.as_mut() {
        if st.term.is_normal() {
            st.term = term;
        }
        close_stream(s, cx);
    }
    Outcome::Close(term)
}

pub(super) fn log_stream(s: &HttpSession, st: &Stream, cx: &HttpCtx) {
    if !cx.logger.enabled(LogLevel::Info) {
        return;
    }
    let ms = |a: Instant, b: Instant| b.saturating_duration_since(a).as_millis() as i64;
    let fe = &cx.config.frontends[s.frontend];
    let be = &cx.backends[st.backend];
    let [cause, at] = st.term.code();
    let term = [cause, at, b'-', b'-'];
    let line = HttpLog {
        client: s.client_addr,
        request_date: st.date,
        frontend: &fe.name,
        backend: if st.counted {
            &cx.config.backends[st.backend].name
        } else {
            &fe.name
        },
        server: st.server.map(|i| be.servers[i].name.as_str()),
        tr_req: ms(st.start, st.head_at),
        tw: if st.counted {
            st.queue.tw(cx.now) as i64
        } else {
            -1
        },
        tc: st.connect_ms.unwrap_or(-1),
        tr_srv: match (st.srv_ready_at, st.res_head_at) {
            (Some(a), Some(b)) => ms(a, b),
            _ => -1,
        },
        ta: ms(st.start, cx.now),
        status: st.status,
        bytes_out: st.bytes_out,
        termination: term,
        actconn: cx.actconn,
        feconn: cx.feconn,
        beconn: if st.counted { be.shm.cur() as usize } else { 0 },
        srv_conn: st.server.map_or(0, |i| be.servers[i].cur_sess() as usize),
        retries: st.retries,
        srv_queue: 0,
        backend_queue: st.queue.ahead,
        request_line: &st.request_line,
    };
    cx.logger.log_with(LogLevel::Info, |out| line.write_to(out));
}
