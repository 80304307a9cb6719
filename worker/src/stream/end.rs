//! Analyser 9: the end of a stream: the log line, the counters, and the
//! server connection kept for the client connection's next request,
//! parked in the idle pool, or closed. Whether the client connection goes
//! on is its mux's call (`close_after`).

use super::client::ClientSide;
use super::{count, Stream};
use crate::context::Cx;
use crate::server_side::Release;
use crate::tokens;
use std::time::Instant;
use weir_core::config::model::{HttpReuse, LogLevel};
use weir_core::log::httplog::HttpLog;

/// The exchange is over: log and count it, keep, park or close its
/// server connection.
pub fn finish(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, key: usize) {
    let clean = st.req_body.is_done() && st.res.is_empty() && !st.res.shutr;
    // A stopping worker parks nothing: its idle server connections would
    // only keep the servers' sessions (and so the stop) waiting.
    let park = st.srv_keep_alive
        && clean
        && !cs.draining
        && cx.config.backends[st.side.backend].http_reuse != HttpReuse::Never;
    if !st.req_body.is_done() {
        // The server answered before the request body ended: the client
        // connection cannot carry another request.
        cs.close_after = true;
    }
    log(st, cs, cx);
    count::stream_ended(cs, st, cx);
    if park && !cs.close_after {
        st.side.keep(cx, &mut cs.kept);
    } else {
        let how = if park {
            Release::Park
        } else {
            Release::Discard
        };
        st.side.release(cx, how, tokens::stream_task(key));
    }
    if st.counted {
        cx.backends[st.side.backend].shm.leave(cx.worker);
        st.counted = false;
    }
    st.res.release(cx.pool);
}

/// Hard stop: the stream is logged as killed (in the response body once
/// its head went, else while waiting for it).
pub fn kill(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, key: usize) {
    use crate::term::{At, Cause, Termination};
    let at = if st.res_head_done {
        At::Data
    } else {
        At::Headers
    };
    st.term = Termination::new(Cause::Killed, at);
    cs.close_after = true;
    st.srv_keep_alive = false;
    finish(st, cs, cx, key);
}

fn log(st: &Stream, cs: &ClientSide, cx: &Cx) {
    if !cx.logger.enabled(LogLevel::Info) {
        return;
    }
    let ms = |a: Instant, b: Instant| b.saturating_duration_since(a).as_millis() as i64;
    let fe = &cx.config.frontends[cs.frontend];
    let side = &st.side;
    let be = &cx.backends[side.backend];
    let [cause, at] = st.term.code();
    let line = HttpLog {
        client: cs.addr,
        request_date: st.date,
        frontend: &fe.name,
        backend: if st.counted {
            &cx.config.backends[side.backend].name
        } else {
            &fe.name
        },
        server: side.server.map(|i| be.servers[i].name.as_str()),
        tr_req: ms(st.start, st.head_at),
        tw: if st.counted {
            side.queue.tw(cx.now) as i64
        } else {
            -1
        },
        tc: side.connect_ms.map_or(-1, |ms| ms as i64),
        tr_srv: match (side.ready_at, st.res_head_at) {
            (Some(a), Some(b)) => ms(a, b),
            _ => -1,
        },
        ta: ms(st.start, cx.now),
        status: st.status,
        bytes_out: st.bytes_out,
        termination: [cause, at, b'-', b'-'],
        actconn: cx.actconn,
        feconn: cx.feconn[cs.frontend],
        beconn: if st.counted { be.shm.cur() as usize } else { 0 },
        srv_conn: side.server.map_or(0, |i| be.servers[i].cur_sess() as usize),
        retries: side.retries,
        srv_queue: 0,
        backend_queue: side.queue.ahead,
        request_line: &st.request_line,
    };
    cx.logger.log_with(LogLevel::Info, |out| line.write_to(out));
}

/// A stream leaves without an end of its own (its session closes under
/// it, or it ended already): whatever it still holds is let go, and
/// nothing is logged.
pub fn abandon(st: &mut Stream, cx: &mut Cx, key: usize) {
    st.side
        .release(cx, Release::Discard, tokens::stream_task(key));
    if st.counted {
        cx.backends[st.side.backend].shm.leave(cx.worker);
        st.counted = false;
    }
    st.res.release_pipe(cx.pipes);
    st.res.release(cx.pool);
}
