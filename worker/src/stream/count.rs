//! The statistics of one finished stream, counted into the shared state
//! ([`weir_core::shm`]) for its frontend, backend and server: bytes,
//! HTTP status classes, requests, and the errors its termination state
//! tells (connection errors, response errors, retries, aborts).

use super::client::ClientSide;
use super::Stream;
use crate::context::Cx;
use crate::track;
use weir_core::config::model::Counter;
use weir_core::shm::{Gl, Px, Srv};

/// Counts `st`, which just ended on client connection `s`.
pub fn stream_ended(s: &mut ClientSide, st: &Stream, cx: &Cx) {
    // Bytes from the client since the stream's head (see `req_mark`).
    let bin = s.req.total.wrapping_sub(s.req_mark).min(1 << 48);
    s.req_mark = s.req.total;
    let bout = st.bytes_out;
    let status = u16::try_from(st.status).ok().filter(|c| *c >= 100);
    cx.shared.global_add(Gl::CumReq, 1);
    if !cx.config.tables.is_empty() {
        let err = u64::from(status.is_some_and(|c| (400..500).contains(&c)));
        let counters = [
            (Counter::HttpErrCnt, err),
            (Counter::HttpErrRate, err),
            (Counter::BytesInRate, bin),
            (Counter::BytesOutRate, bout),
        ];
        let now = track::now_ms();
        let conn = cx.conn_slots(st.session);
        track::add_all(cx.config, cx.shared, &conn, &counters, now);
        track::add_all(cx.config, cx.shared, &st.sc, &counters, now);
    }
    if let Some(fe) = cx.shared.frontends.get(s.frontend) {
        fe.add(Px::Bin, bin);
        fe.add(Px::Bout, bout);
        match status {
            Some(c) => fe.count_status(c),
            None => fe.add(Px::ReqTot, 1),
        }
    }
    if !st.counted {
        return;
    }
    let term = st.term;
    let econ = term.is_connect_error();
    let eresp = term.is_response_error();
    if let Some(be) = cx.shared.backends.get(st.side.backend) {
        be.add(Px::Bin, bin);
        be.add(Px::Bout, bout);
        match status {
            Some(c) => be.count_status(c),
            None => be.add(Px::ReqTot, 1),
        }
        be.add(Px::Wretr, u64::from(st.side.retries));
        be.add(Px::Econ, u64::from(econ));
        be.add(Px::Eresp, u64::from(eresp));
        be.add(Px::CliAbrt, u64::from(term.is_client_abort()));
        be.add(Px::SrvAbrt, u64::from(term.is_server_abort()));
    }
    let srv = st
        .side
        .server
        .and_then(|i| cx.shared.servers.get(st.side.backend)?.get(i));
    if let Some(srv) = srv {
        srv.add(Srv::Bin, bin);
        srv.add(Srv::Bout, bout);
        match status {
            // Only a response the server sent counts on the server.
            Some(c) if st.res_head_done => srv.count_status(c),
            _ => srv.add(Srv::ReqTot, 1),
        }
        srv.add(Srv::Econ, u64::from(econ));
        srv.add(Srv::Eresp, u64::from(eresp));
        srv.add(Srv::CliAbrt, u64::from(term.is_client_abort()));
        srv.add(Srv::SrvAbrt, u64::from(term.is_server_abort()));
    }
}
