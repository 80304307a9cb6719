//! Analysers 5, 6 and 8: the request goes out (head, then body as
//! framed), the response's bytes come in, and the response goes back to
//! the client (interim heads, the head the rules rewrote, then the body).
//! Parsing the response head and its rules are [`super::response`].

use super::client::ClientSide;
use super::forward::{fill, flush_head_and_body, forward_body, Body, Fill, ForwardError};
use super::forward::{splice_body_in, splice_body_out};
use super::{response, Phase, Stream, Transition};
use crate::channel::Channel;
use crate::context::Cx;
use crate::term::{At, Cause, Termination};
use weir_core::pool::BufferPool;

/// Analysers 5 to 8: request out, response in, response out.
pub fn step(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, budget: usize) -> Transition {
    let Some(srv) = st.side.conn.as_mut() else {
        return Transition::Continue(false);
    };
    // 5. The request (head, then body) and 6. the response's bytes.
    let (mut progress, mut failed, mut bad_body) = (false, false, false);
    if !st.req_body.is_done() || !st.to_srv.is_empty() {
        let both = flush_head_and_body(&mut st.to_srv, &mut cs.req, &mut st.req_body, srv, cx.pool);
        match both.and_then(|n| Ok(n + st.to_srv.flush(srv)?)) {
            Ok(n) => progress |= n > 0,
            Err(_) => failed = true,
        }
        if !failed && st.to_srv.is_empty() {
            match forward_body(&mut cs.req, &mut st.req_body, srv, cx.pool) {
                Ok(0) => {}
                Ok(_) => {
                    progress = true;
                    st.side.active = cx.now;
                    cs.active = cx.now;
                }
                Err(ForwardError::Write) => failed = true,
                Err(ForwardError::Framing) => bad_body = true,
            }
            match splice_body_out(&mut cs.req, &mut st.req_body, srv, cx.pipes) {
                Ok(0) => {}
                Ok(_) => {
                    progress = true;
                    st.side.active = cx.now;
                    cs.active = cx.now;
                }
                Err(_) => failed = true,
            }
        }
    }
    if !failed && !bad_body {
        // A streaming Content-Length body is spliced, never past its
        // end; everything else (heads included) is read into the buffer.
        let spliced = if st.res_head_done
            && cs.conn.can_splice()
            && st.res_body.wants_splice(&st.res, cx.bufsize())
        {
            splice_body_in(srv, &mut st.res, &st.res_body, cx.pipes, cx.actconn, budget)
        } else {
            None
        };
        match spliced.unwrap_or_else(|| fill(srv, &mut st.res, cx.pool, budget)) {
            Ok(Fill::Ok(0)) => {}
            Ok(Fill::Ok(_)) => {
                progress = true;
                st.side.active = cx.now;
            }
            Ok(Fill::Eof) => progress = true,
            Err(_) => failed = true,
        }
    }
    if bad_body {
        // A malformed chunked request body: 400 if the response has not
        // started, else the connection just closes.
        let term = Termination::new(Cause::Proxy, At::Data);
        return if st.res_head_done {
            Transition::Close(term)
        } else {
            Transition::Error(400, term)
        };
    }
    if !st.res_head_done {
        if failed {
            return Transition::ServerFailed;
        }
        match response::parse(st, cs, cx) {
            Transition::Continue(p) => progress |= p,
            other => return other,
        }
    }
    // 8. Interim responses and the response head, then the body.
    send_response(st, cs, cx, failed, progress)
}

/// Analyser 8: what is ready for the client goes out; the stream finishes
/// when the response's body is complete.
fn send_response(
    st: &mut Stream,
    cs: &mut ClientSide,
    cx: &mut Cx,
    srv_failed: bool,
    mut progress: bool,
) -> Transition {
    let client = &mut cs.conn;
    let both = if st.res_head_done && !st.tunnel {
        flush_head_and_body(
            &mut st.to_cli,
            &mut st.res,
            &mut st.res_body,
            client,
            cx.pool,
        )
    } else {
        Ok(0)
    };
    match both.and_then(|n| Ok(n + st.to_cli.flush(client)?)) {
        Ok(n) => {
            st.bytes_out += n as u64;
            if n > 0 {
                progress = true;
                cs.active = cx.now;
            }
        }
        Err(_) => return Transition::Close(Termination::client(At::Data)),
    }
    if !st.res_head_done || !st.to_cli.is_empty() {
        return Transition::Continue(progress);
    }
    if st.tunnel {
        st.phase = Phase::Tunnel;
        st.res.total = 0;
        return Transition::Continue(true);
    }
    if st.side.conn.is_none() {
        return Transition::Close(Termination::server(At::Data));
    }
    match forward_body(&mut st.res, &mut st.res_body, client, cx.pool) {
        Ok(0) => {}
        Ok(n) => {
            progress = true;
            st.bytes_out += n as u64;
            cs.active = cx.now;
            st.side.active = cx.now;
        }
        Err(ForwardError::Write) => return Transition::Close(Termination::client(At::Data)),
        Err(ForwardError::Framing) => return Transition::Close(Termination::server(At::Data)),
    }
    match splice_body_out(&mut st.res, &mut st.res_body, client, cx.pipes) {
        Ok(0) => {}
        Ok(n) => {
            progress = true;
            st.bytes_out += n as u64;
            cs.active = cx.now;
            st.side.active = cx.now;
        }
        Err(_) => return Transition::Close(Termination::client(At::Data)),
    }
    if matches!(st.res_body, Body::UntilClose) && st.res.shutr && st.res.is_empty() {
        st.res_body = Body::Done;
    }
    if st.res_body.is_done() {
        settle_server(st, cx.pool);
        Transition::Finish
    } else if srv_failed || (st.res.shutr && st.res.is_empty()) {
        // The server left in the middle of the body.
        Transition::Close(Termination::server(At::Data))
    } else {
        Transition::Continue(progress)
    }
}

/// The response is complete. A spliced body was taken exactly, so the
/// server's socket may still look readable (a splice that fills the body
/// cannot tell an empty socket from a full pipe): one read settles it
/// before the connection is kept, as the buffer path's last short read
/// does. Bytes or an EOF there make the connection unclean (not kept);
/// an error makes it not reusable.
fn settle_server(st: &mut Stream, pool: &mut BufferPool) {
    let Some(srv) = st.side.conn.as_mut() else {
        return;
    };
    let res: &mut Channel = &mut st.res;
    if !st.srv_keep_alive || !srv.readable || !res.is_empty() || res.shutr {
        return;
    }
    let bufsize = pool.stats().bufsize;
    if fill(srv, res, pool, bufsize).is_err() {
        st.srv_keep_alive = false;
    }
}
