//! The HTTP/1 mux's task, between requests: read what the client sent,
//! wait for a complete request head (analyser 1), start the request's
//! stream; or close an idle connection at `timeout http_keep_alive`, or
//! answer 408 at `timeout http_request`.

use super::H1Mux;
use crate::conn::proxy::Header;
use crate::context::Cx;
use crate::h2::frame::PrefaceCheck;
use crate::idle::kept;
use crate::session::handshake::{self, Handshake, Who};
use crate::session::proxy_header::{self, ProxyStep};
use crate::session::Outcome;
use crate::stream::forward::{fill, Fill};
use crate::stream::run::BUDGET_BUFFERS;
use crate::stream::timers::client_timeout;
use crate::stream::{request, Stream, Streams};
use crate::term::{At, Cause, Termination};
use crate::tokens;
use std::time::Instant;

/// Runs the mux's task once.
pub fn process(m: &mut H1Mux, key: usize, cx: &mut Cx, streams: &mut Streams) -> Outcome {
    if let Some(j) = m.stream {
        // The stream in progress drives the connection.
        return Outcome::Run(j);
    }
    kept::drop_if_dirty(&mut m.client.kept);
    if m.client.close_after {
        return Outcome::Close(Termination::NORMAL);
    }
    let who = Who {
        frontend: m.client.frontend,
        bind: usize::from(m.bind),
        addr: m.client.addr,
        accepted: m.accepted,
    };
    if m.expect_proxy {
        let timeout = client_timeout(cx, m.client.frontend);
        match proxy_header::advance(&mut m.client.conn, timeout, &who, cx) {
            ProxyStep::Done(header) => {
                m.expect_proxy = false;
                if let Header::Proxy { src, dst } = header {
                    m.client.addr = src;
                    m.client.port = dst.port();
                    m.client.dst = Some(Box::new(dst));
                }
            }
            ProxyStep::Pending(at) => return Outcome::Wait(Some(at)),
            ProxyStep::Failed => return Outcome::Close(Termination::client(At::Request)),
        }
    }
    if m.client.conn.handshaking() {
        let who = Who {
            addr: m.client.addr,
            ..who
        };
        match handshake::advance(&mut m.client.conn, &who, cx) {
            Handshake::Done => {}
            Handshake::Pending(at) => return Outcome::Wait(Some(at)),
            Handshake::Failed => return Outcome::Close(Termination::client(At::Request)),
        }
        let alpn = m.client.conn.tls().and_then(|t| t.alpn());
        if alpn == Some(&b"h2"[..]) {
            return Outcome::UpgradeH2;
        }
    }
    let budget = BUDGET_BUFFERS * cx.bufsize();
    match fill(&mut m.client.conn, &mut m.client.req, cx.pool, budget) {
        Ok(Fill::Ok(0)) | Ok(Fill::Eof) => {}
        Ok(Fill::Ok(_)) => {
            m.client.active = cx.now;
            m.req_start.get_or_insert((cx.now, cx.date));
        }
        Err(_) => return Outcome::Close(Termination::client(At::Data)),
    }
    if m.client.requests == 0 && m.client.conn.tls().is_none() {
        // HTTP/2 in clear text: a `proto = "h2"` bind, or prior knowledge
        // (the connection opens with the preface, as HAProxy takes it).
        let bind = cx.config.frontends[m.client.frontend]
            .binds
            .get(usize::from(m.bind));
        if bind.is_some_and(|b| b.proto_h2) {
            return Outcome::UpgradeH2;
        }
        match crate::h2::frame::check_preface(m.client.req.data()) {
            PrefaceCheck::Complete => return Outcome::UpgradeH2,
            PrefaceCheck::Partial if !m.client.req.data().is_empty() => {
                return Outcome::Wait(Some(deadline(m, cx).0));
            }
            _ => {}
        }
    }
    match wait_request(m, key, cx, streams) {
        Head::Started(j) => return Outcome::Run(j),
        Head::Close => return Outcome::Close(Termination::NORMAL),
        Head::Wait => {}
    }
    let (at, keep_alive) = deadline(m, cx);
    if cx.now < at {
        return Outcome::Wait(Some(at));
    }
    if keep_alive {
        return Outcome::Close(Termination::NORMAL);
    }
    let term = Termination::new(Cause::ClientTimeout, At::Request);
    Outcome::Run(error_stream(m, key, cx, streams, 408, term))
}

/// What analyser 1 found.
enum Head {
    /// A stream started (a request, or an error page): run it.
    Started(usize),
    /// The client closed between requests.
    Close,
    /// No complete head yet.
    Wait,
}

/// Analyser 1: wait for a complete request head; start its stream.
fn wait_request(m: &mut H1Mux, key: usize, cx: &mut Cx, streams: &mut Streams) -> Head {
    let req = &m.client.req;
    if req.is_empty() {
        return if req.shutr { Head::Close } else { Head::Wait };
    }
    let bad = Termination::new(Cause::Proxy, At::Request);
    match m.parser.parse_into(req.data(), cx.scratch.headers()) {
        Ok(None) if req.is_full() => Head::Started(error_stream(m, key, cx, streams, 400, bad)),
        Ok(None) if req.shutr => {
            // The client left in the middle of a head: logged, nothing sent.
            let term = Termination::client(At::Request);
            let j = error_stream(m, key, cx, streams, 400, term);
            if let Some(st) = streams.live.get_mut(j) {
                st.to_cli.reset();
            }
            Head::Started(j)
        }
        Ok(None) => Head::Wait,
        Err(e) => {
            cx.logger.debug(&format!(
                "bad request from {}: {}",
                m.client.addr,
                e.as_str()
            ));
            Head::Started(error_stream(m, key, cx, streams, 400, bad))
        }
        Ok(Some(head)) => {
            let mut st = new_stream(m, key, cx, streams);
            let started = request::start(&mut st, &head, &m.client, cx);
            let head_len = head.head_len;
            cx.scratch.put_headers(head.headers);
            let cs = &mut m.client;
            cs.requests += 1;
            cs.close_after |= started.close_after;
            cs.req_mark = cs.req.total.wrapping_sub(head_len as u64);
            cs.req.consume(head_len, cx.pool);
            request::check_body(&mut st, cs, cx);
            Head::Started(insert(m, streams, st))
        }
    }
}

/// A stream for the request that starts now, logged under the frontend's
/// default backend until one is chosen.
fn new_stream(m: &mut H1Mux, key: usize, cx: &mut Cx, streams: &mut Streams) -> Box<Stream> {
    let (start, date) = m.req_start.take().unwrap_or((cx.now, cx.date));
    let backend = request::frontend_backend(cx, m.client.frontend);
    let mut st = streams
        .spares
        .stream(backend, start, date, cx.now, cx.config.global.bufsize);
    st.session = key;
    st.slot = tokens::SERVER_SLOT;
    st
}

/// A stream that only sends an error page and closes the connection.
fn error_stream(
    m: &mut H1Mux,
    key: usize,
    cx: &mut Cx,
    streams: &mut Streams,
    status: u16,
    term: Termination,
) -> usize {
    let mut st = new_stream(m, key, cx, streams);
    request::error(&mut st, &mut m.client, cx, status, term, "<BADREQ>");
    insert(m, streams, st)
}

fn insert(m: &mut H1Mux, streams: &mut Streams, st: Box<Stream>) -> usize {
    let j = streams.live.insert(st);
    m.stream = Some(j);
    j
}

/// When the idle connection's timer expires, and whether that is the
/// keep-alive timeout (a close) rather than the request timeout (a 408).
fn deadline(m: &H1Mux, cx: &Cx) -> (Instant, bool) {
    let fe = &cx.config.frontends[m.client.frontend];
    let http_request = fe
        .timeouts
        .http_request
        .unwrap_or(client_timeout(cx, m.client.frontend));
    let waiting = !m.client.req.is_empty() || m.client.requests == 0;
    if waiting {
        let since = m.req_start.map_or(m.accepted, |(t, _)| t).max(m.idle_since);
        (since + http_request, false)
    } else {
        let ka = fe.timeouts.http_keep_alive.unwrap_or(http_request);
        (m.idle_since + ka, true)
    }
}
