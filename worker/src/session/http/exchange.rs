//! Analysers 5 to 8: the request goes out (head, then body as framed), the
//! response comes in (interim heads, the head with `http_response` rules,
//! then the body); and the tunnel after a 101 or a 2xx to CONNECT.

use super::forward::{fill, flush_head_and_body, forward_body, Body, Fill, ForwardError};
use super::forward::{splice_body_in, splice_body_out};
use super::sample::Sample;
use super::{end::*, process::*, request::*, server::*};
use super::{HttpSession, Phase};
use crate::channel::Channel;
use crate::http::rewrite::response_head_edited;
use crate::http::{ConnectionHeader, Framing, HeadEdits, RewriteOptions, Version};
use crate::session::pump::{pump, Splicer};
use crate::session::{At, Cause, Termination};
use crate::tokens::Side;
use weir_core::pool::BufferPool;

/// Analysers 5 to 8: request out, response in.
pub(super) fn exchange_step(s: &mut HttpSession, cx: &mut HttpCtx, budget: usize) -> Step {
    // 5. The request (head, then body) and 6. the response's bytes.
    let (mut progress, srv_failed, bad_body) = {
        let HttpSession {
            stream,
            req,
            res,
            cli_active,
            ..
        } = &mut *s;
        let Some(st) = stream.as_mut() else {
            return Step::Continue(false);
        };
        let Some(srv) = st.srv.as_mut() else {
            return Step::Continue(false);
        };
        let (mut progress, mut failed, mut bad_body) = (false, false, false);
        if !st.req_body.is_done() || !st.to_srv.is_empty() {
            let both = flush_head_and_body(&mut st.to_srv, req, &mut st.req_body, srv, cx.pool);
            match both.and_then(|n| Ok(n + st.to_srv.flush(srv)?)) {
                Ok(n) => progress |= n > 0,
                Err(_) => failed = true,
            }
            if !failed && st.to_srv.is_empty() {
                match forward_body(req, &mut st.req_body, srv, cx.pool) {
                    Ok(0) => {}
                    Ok(_) => {
                        progress = true;
                        st.srv_active = cx.now;
                        *cli_active = cx.now;
                    }
                    Err(ForwardError::Write) => failed = true,
                    Err(ForwardError::Framing) => bad_body = true,
                }
                match splice_body_out(req, &mut st.req_body, srv, cx.pipes) {
                    Ok(0) => {}
                    Ok(_) => {
                        progress = true;
                        st.srv_active = cx.now;
                        *cli_active = cx.now;
                    }
                    Err(_) => failed = true,
                }
            }
        }
        if !failed && !bad_body {
            // A streaming Content-Length body is spliced, never past its
            // end; everything else (heads included) is read into the buffer.
            let bufsize = cx.pool.stats().bufsize;
            let spliced = if st.res_head_done && st.res_body.wants_splice(res, bufsize) {
                splice_body_in(srv, res, &st.res_body, cx.pipes, cx.actconn, budget)
            } else {
                None
            };
            match spliced.unwrap_or_else(|| fill(srv, res, cx.pool, budget)) {
                Ok(Fill::Ok(0)) => {}
                Ok(Fill::Ok(_)) => {
                    progress = true;
                    st.srv_active = cx.now;
                }
                Ok(Fill::Eof) => progress = true,
                Err(_) => failed = true,
            }
        }
        (progress, failed, bad_body)
    };
    if bad_body {
        // A malformed chunked request body: 400 if the response has not
        // started, else the connection just closes.
        let head_done = s.stream.as_ref().is_some_and(|st| st.res_head_done);
        return if head_done {
            close_with(s, cx, Termination::new(Cause::Proxy, At::Data))
        } else {
            server_error(s, cx, 400, Termination::new(Cause::Proxy, At::Data))
        };
    }
    let head_done = s.stream.as_ref().is_some_and(|st| st.res_head_done);
    if !head_done {
        if srv_failed {
            return server_failed(s, cx);
        }
        match parse_response(s, cx) {
            Step::Continue(p) => progress |= p,
            Step::Close => return Step::Close,
        }
    }
    // 8. Interim responses and the response head, then the body.
    let next = {
        let HttpSession {
            stream,
            client,
            res,
            cli_active,
            ..
        } = &mut *s;
        let Some(st) = stream.as_mut() else {
            return Step::Continue(progress);
        };
        if st.phase != Phase::Exchange {
            return Step::Continue(true); // it became a local reply
        }
        let both = if st.res_head_done && !st.tunnel {
            flush_head_and_body(&mut st.to_cli, res, &mut st.res_body, client, cx.pool)
        } else {
            Ok(0)
        };
        match both.and_then(|n| Ok(n + st.to_cli.flush(client)?)) {
            Ok(n) => {
                st.bytes_out += n as u64;
                if n > 0 {
                    progress = true;
                    *cli_active = cx.now;
                }
                Next::Go
            }
            Err(_) => Next::Close(Termination::client(At::Data)),
        }
        .then(|| {
            if !st.res_head_done || !st.to_cli.is_empty() {
                return Next::Wait;
            }
            if st.tunnel {
                st.phase = Phase::Tunnel;
                res.total = 0;
                progress = true;
                return Next::Wait;
            }
            let Some(_) = st.srv.as_ref() else {
                return Next::Close(Termination::server(At::Data));
            };
            match forward_body(res, &mut st.res_body, client, cx.pool) {
                Ok(0) => {}
                Ok(n) => {
                    progress = true;
                    st.bytes_out += n as u64;
                    *cli_active = cx.now;
                    st.srv_active = cx.now;
                }
                Err(ForwardError::Write) => return Next::Close(Termination::client(At::Data)),
                Err(ForwardError::Framing) => return Next::Close(Termination::server(At::Data)),
            }
            match splice_body_out(res, &mut st.res_body, client, cx.pipes) {
                Ok(0) => {}
                Ok(n) => {
                    progress = true;
                    st.bytes_out += n as u64;
                    *cli_active = cx.now;
                    st.srv_active = cx.now;
                }
                Err(_) => return Next::Close(Termination::client(At::Data)),
            }
            if matches!(st.res_body, Body::UntilClose) && res.shutr && res.is_empty() {
                st.res_body = Body::Done;
            }
            if st.res_body.is_done() {
                settle_server(st, res, cx.pool);
                Next::Finish
            } else if srv_failed || (res.shutr && res.is_empty()) {
                Next::Close(Termination::server(At::Data)) // the server left in the middle of the body
            } else {
                Next::Wait
            }
        })
    };
    match next {
        Next::Go | Next::Wait => Step::Continue(progress),
        Next::Finish => finish_stream(s, cx),
        Next::Close(term) => close_with(s, cx, term),
    }
}

/// Reads the request body's next bytes through a pipe when it streams
/// (see `forward.rs`): the stream is exchanging, its head has gone, and
/// the body has more than a buffer to come. `None`: the caller reads into
/// the buffer.
pub(super) fn splice_request(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    budget: usize,
) -> Option<std::io::Result<Fill>> {
    let st = s.stream.as_ref()?;
    if st.phase != Phase::Exchange || !st.to_srv.is_empty() {
        return None;
    }
    if !st.req_body.wants_splice(&s.req, cx.pool.stats().bufsize) {
        return None;
    }
    splice_body_in(
        &mut s.client,
        &mut s.req,
        &st.req_body,
        cx.pipes,
        cx.actconn,
        budget,
    )
}

/// The response is complete. A spliced body was taken exactly, so the
/// server's socket may still look readable (a splice that fills the body
/// cannot tell an empty socket from a full pipe): one read settles it
/// before the connection is kept, as the buffer path's last short read
/// does. Bytes or an EOF there make the connection unclean (not parked);
/// an error makes it not reusable.
fn settle_server(st: &mut super::Stream, res: &mut Channel, pool: &mut BufferPool) {
    let Some(srv) = st.srv.as_mut() else {
        return;
    };
    if !st.srv_keep_alive || !srv.readable || !res.is_empty() || res.shutr {
        return;
    }
    let bufsize = pool.stats().bufsize;
    if fill(srv, res, pool, bufsize).is_err() {
        st.srv_keep_alive = false;
    }
}

/// What the response side decided.
pub(super) enum Next {
    Go,
    Wait,
    Finish,
    Close(Termination),
}

impl Next {
    /// Runs `f` unless this already closes.
    fn then(self, f: impl FnOnce() -> Next) -> Next {
        match self {
            Next::Go => f(),
            other => other,
        }
    }
}

/// Ends the stream and the connection with termination state `term`.
pub(super) fn close_with(s: &mut HttpSession, cx: &mut HttpCtx, term: Termination) -> Step {
    if let Some(st) = s.stream.as_mut() {
        st.term = term;
    }
    close_stream(s, cx)
}

/// Analysers 6 and 7: parse the response head; forward interim ones;
/// apply `http_response` rules and write the head for the client.
pub(super) fn parse_response(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let mut progress = false;
    loop {
        let HttpSession { stream, res, .. } = s;
        let Some(st) = stream.as_mut() else {
            return Step::Continue(progress);
        };
        let parsed = st
            .res_parser
            .parse_into(res.data(), st.ctx, cx.spares.headers());
        let head = match parsed {
            Ok(None) if res.is_full() => {
                return server_error(s, cx, 502, Termination::new(Cause::Proxy, At::Headers))
            }
            Ok(None) if res.shutr => return server_failed(s, cx),
            Ok(None) => return Step::Continue(progress),
            Err(e) => {
                cx.logger
                    .debug(&format!("invalid response: {}", e.as_str()));
                return server_error(s, cx, 502, Termination::new(Cause::Proxy, At::Headers));
            }
            Ok(Some(h)) => h,
        };
        progress = true;
        let data = res.data();
        if head.interim {
            st.to_cli.push(&data[..head.head_len]);
            res.consume(head.head_len, cx.pool);
            cx.spares.put_headers(head.headers);
            continue;
        }
        st.status = i32::from(head.status);
        st.res_head_at = Some(cx.now);
        st.tunnel = head.framing == Framing::Tunnel;
        if head.framing == Framing::UntilClose {
            s.close_after = true;
        }
        let fe = &cx.config.frontends[s.frontend];
        let sample = Sample::response(
            &st.request_line,
            &head.headers,
            data,
            s.client_addr.ip(),
            s.dst_port,
        );
        let mut edits = HeadEdits {
            ops: cx.spares.edit_ops(),
            path: None,
        };
        for rule in fe
            .http_response
            .iter()
            .filter(|r| rule_applies(r, &fe.acls, &sample))
        {
            edit_headers(&mut edits, &rule.action);
        }
        let connection = if st.tunnel {
            ConnectionHeader::Upgrade
        } else if s.close_after {
            ConnectionHeader::Close
        } else if st.version == Version::Http10 {
            ConnectionHeader::KeepAlive
        } else {
            ConnectionHeader::Omit
        };
        let opts = RewriteOptions {
            forwarded_for: None,
            connection: if st.tunnel && head.status != 101 {
                ConnectionHeader::Omit
            } else {
                connection
            },
            keep_transfer_encoding: true,
            keep_upgrade: st.tunnel,
        };
        response_head_edited(&head, data, &opts, &edits, st.to_cli.vec());
        cx.spares.put_edit_ops(edits.ops);
        st.res_body = Body::new(head.framing);
        st.srv_keep_alive =
            head.keep_alive && !matches!(head.framing, Framing::UntilClose | Framing::Tunnel);
        st.res_head_done = true;
        st.to_srv.reset();
        let head_len = head.head_len;
        cx.spares.put_headers(head.headers);
        s.res.consume(head_len, cx.pool);
        return Step::Continue(true);
    }
}

/// A tunnel: both directions pumped as in TCP mode (splicing once they
/// stream).
pub(super) fn tunnel_step(s: &mut HttpSession, cx: &mut HttpCtx, budget: usize) -> Step {
    let HttpSession {
        stream,
        client,
        req,
        res,
        cli_active,
        ..
    } = &mut *s;
    let Some(st) = stream.as_mut() else {
        return Step::Continue(false);
    };
    let Some(srv) = st.srv.as_mut() else {
        return Step::Continue(false);
    };
    let mut progress = false;
    // Client → server, then server → client unless that failed. `pump`
    // names the failing side as source/destination: upstream the client is
    // the source, downstream the server is.
    for upstream in [true, false] {
        if !st.term.is_normal() {
            break;
        }
        let (from, ch, to) = if upstream {
            (&mut *client, &mut *req, &mut *srv)
        } else {
            (&mut *srv, &mut *res, &mut *client)
        };
        let sp = Splicer {
            pipes: cx.pipes,
            conns: cx.actconn,
        };
        match pump(from, ch, Some(to), cx.pool, sp, budget) {
            Ok(p) => {
                if p.read || p.wrote {
                    progress = true;
                    *cli_active = cx.now;
                    st.srv_active = cx.now;
                }
            }
            Err(side) => {
                st.term = if (side == Side::Client) == upstream {
                    Termination::client(At::Data)
                } else {
                    Termination::server(At::Data)
                };
            }
        }
    }
    if !st.term.is_normal() || (req.shutw && res.shutw) {
        st.bytes_out += res.total;
        return close_stream(s, cx);
    }
    Step::Continue(progress)
}
