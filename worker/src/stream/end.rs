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
use weir_core::config::model::{HeaderCapture, HttpReuse};
use weir_core::log::format;
use weir_core::log::record::{Captured, Captures, Record, TlsInfo};

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

/// The request's line, in its frontend's `log_format`, to its proxies'
/// log targets.
fn log(st: &Stream, cs: &ClientSide, cx: &Cx) {
    let be_chosen = st.counted.then_some(st.side.backend);
    if !cx.logger.traffic_enabled(cs.frontend, be_chosen) {
        return;
    }
    let ms = |a: Instant, b: Instant| b.saturating_duration_since(a).as_millis() as i64;
    let fe = &cx.config.frontends[cs.frontend];
    let side = &st.side;
    let be = &cx.backends[side.backend];
    let [cause, at] = st.term.code();
    let tls = cs.conn.tls().map(|t| {
        let n = t.negotiated();
        TlsInfo {
            version: n.version,
            cipher: n.cipher,
            sni: t.sni(),
            resumed: n.resumed,
        }
    });
    let active = ms(st.start, cx.now);
    let rec = Record {
        http: true,
        client: cs.addr,
        date: st.date,
        frontend: &fe.name,
        backend: if st.counted {
            &cx.config.backends[side.backend].name
        } else {
            &fe.name
        },
        server: side.server.map(|i| be.servers[i].name.as_str()),
        t_request: ms(st.start, st.head_at),
        t_queue: if st.counted {
            side.queue.tw(cx.now) as i64
        } else {
            -1
        },
        t_connect: side.connect_ms.map_or(-1, |ms| ms as i64),
        t_response: match (side.ready_at, st.res_head_at) {
            (Some(a), Some(b)) => ms(a, b),
            _ => -1,
        },
        t_active: active,
        t_total: active,
        status: st.status,
        bytes_out: st.bytes_out,
        // Heads are consumed, bodies counted in `total` (see `req_mark`).
        bytes_in: cs.req.total.wrapping_sub(cs.req_mark),
        termination: [cause, at, b'-', b'-'],
        actconn: cx.actconn,
        feconn: cx.feconn[cs.frontend],
        beconn: if st.counted { be.shm.cur() as usize } else { 0 },
        srv_conn: side.server.map_or(0, |i| be.servers[i].cur_sess() as usize),
        retries: side.retries,
        redispatched: false,
        srv_queue: 0,
        backend_queue: side.queue.ahead,
        request_line: &st.request_line,
        req_captures: captures(&st.req_captures, &fe.capture_request),
        res_captures: captures(&st.res_captures, &fe.capture_response),
        tls,
    };
    cx.logger.traffic(cs.frontend, be_chosen, |out| {
        format::write(&fe.log_format, &rec, out)
    });
}

/// What a stream captured, if it captured anything.
fn captures<'a>(values: &'a Captured, names: &'a [HeaderCapture]) -> Option<Captures<'a>> {
    (!values.is_empty()).then_some(Captures { names, values })
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
