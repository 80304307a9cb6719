//! The HTTP session's task: one run reads what the client sent, runs the
//! request analysers when no request is in progress, then advances the
//! current stream (connect, exchange, tunnel or local reply), and repeats
//! while anything moves (bounded), before setting its timer.

use super::forward::{fill, forward_body, Body, Fill, ForwardError, Outbox};
use super::reply;
use super::sample::Sample;
use super::{HttpSession, Phase, Stream};
use crate::backend::BackendState;
use crate::http::rewrite::{request_head_edited, response_head_edited};
use crate::http::{
    ConnectionHeader, EditOp, Framing, HeadEdits, RequestHead, ResponseContext, ResponseParser,
    RewriteOptions, Version,
};
use crate::idle::IdlePool;
use crate::session::connect::{connected, open_connection};
use crate::session::pump::pump;
use crate::session::tcp::Outcome;
use crate::session::Conn;
use crate::tokens::{self, Side};
use mio::{Interest, Registry};
use std::time::{Duration, Instant};
use weir_core::config::model::{defaults, Config, HttpAction, HttpReuse, HttpRule, LogLevel};
use weir_core::log::date::WallTime;
use weir_core::log::{accept_date, httplog::HttpLog, Logger};
use weir_core::pool::BufferPool;

/// Rounds of "read, analyse, forward" per task run before yielding.
const MAX_ROUNDS: usize = 8;
/// Buffers' worth of bytes read per direction per round.
const BUDGET_BUFFERS: usize = 4;

/// What the session's task needs besides the session itself.
pub struct HttpCtx<'a> {
    pub pool: &'a mut BufferPool,
    pub backends: &'a mut [BackendState],
    pub idle: &'a mut IdlePool,
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub logger: &'a Logger,
    pub key: usize,
    pub now: Instant,
    pub date: WallTime,
    /// Connections of the worker and of this frontend, for the log.
    pub actconn: usize,
    pub feconn: usize,
}

/// What one analyser step did.
enum Step {
    /// Keep going; `true` if something moved.
    Continue(bool),
    /// Close the client connection now (everything already logged).
    Close,
}

/// Runs the session's task once.
pub fn process(s: &mut HttpSession, cx: &mut HttpCtx) -> Outcome {
    let budget = BUDGET_BUFFERS * cx.pool.stats().bufsize;
    let mut rounds = 0;
    loop {
        let mut progress = false;
        let reading = match s.stream.as_ref() {
            Some(st) => st.phase != Phase::Tunnel && st.phase != Phase::LocalReply,
            None => !s.close_after,
        };
        if reading {
            match fill(&mut s.client, &mut s.req, cx.pool, budget) {
                Ok(Fill::Ok(0)) => {}
                Ok(Fill::Ok(_)) => {
                    progress = true;
                    s.cli_active = cx.now;
                    if s.stream.is_none() && s.req_start.is_none() {
                        s.req_start = Some((cx.now, cx.date));
                    }
                }
                Ok(Fill::Eof) => progress = true,
                Err(_) => return abort(s, cx, *b"CD"),
            }
        }
        if s.stream.is_none() {
            match wait_request(s, cx) {
                Step::Continue(p) => progress |= p,
                Step::Close => return Outcome::Close(*b"--"),
            }
        }
        if s.stream.is_some() {
            match run_stream(s, cx, budget) {
                Step::Continue(p) => progress |= p,
                Step::Close => return Outcome::Close(*b"--"),
            }
        }
        rounds += 1;
        if !progress {
            break;
        }
        if rounds == MAX_ROUNDS {
            return Outcome::Yield;
        }
    }
    if let Some(step) = timeouts(s, cx) {
        return step;
    }
    Outcome::Wait(next_expiry(s, cx))
}

// ---------------------------------------------------------------------
// Request side: analysers 1 to 3.

/// Analyser 1: wait for a complete request head.
fn wait_request(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    if s.req.is_empty() {
        return if s.req.shutr {
            Step::Close
        } else {
            Step::Continue(false)
        };
    }
    match s.parser.parse(s.req.data()) {
        Ok(None) if s.req.is_full() => local_error(s, cx, 400, *b"PR", "<BADREQ>"),
        Ok(None) if s.req.shutr => {
            // The client left in the middle of a head.
            local_error(s, cx, 400, *b"CR", "<BADREQ>");
            if let Some(st) = s.stream.as_mut() {
                st.to_cli = Outbox::default();
            }
            Step::Continue(true)
        }
        Ok(None) => Step::Continue(false),
        Err(e) => {
            cx.logger.debug(&format!(
                "bad request from {}: {}",
                s.client_addr,
                e.as_str()
            ));
            local_error(s, cx, 400, *b"PR", "<BADREQ>")
        }
        Ok(Some(head)) => {
            start_stream(s, cx, &head);
            Step::Continue(true)
        }
    }
}

/// A stream that only sends an error page and closes the connection.
fn local_error(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    status: u16,
    term: [u8; 2],
    line: &str,
) -> Step {
    let (start, date) = s.req_start.take().unwrap_or((cx.now, cx.date));
    let mut st = Stream::new(
        s.frontend_backend(cx),
        start,
        date,
        cx.now,
        cx.config.global.bufsize,
    );
    st.request_line = line.to_string();
    st.phase = Phase::LocalReply;
    st.to_cli.push(&reply::error_page(status));
    st.status = i32::from(status);
    st.term = term;
    s.close_after = true;
    let n = s.req.len();
    s.req.consume(n, cx.pool);
    s.requests += 1;
    s.stream = Some(Box::new(st));
    Step::Continue(true)
}

impl HttpSession {
    /// The backend a request is logged under before switching: the
    /// frontend's default one.
    fn frontend_backend(&self, cx: &HttpCtx) -> usize {
        cx.config.frontends[self.frontend]
            .default_backend
            .unwrap_or(0)
    }
}

/// Analysers 2 and 3, then the stream is set up for the server side (or a
/// local reply).
fn start_stream(s: &mut HttpSession, cx: &mut HttpCtx, head: &RequestHead) {
    let fe = &cx.config.frontends[s.frontend];
    let buf = s.req.data();
    let (start, date) = s.req_start.take().unwrap_or((cx.now, cx.date));
    s.requests += 1;
    if !head.keep_alive {
        s.close_after = true;
    }
    let has_body = !matches!(head.framing, Framing::None | Framing::ContentLength(0));

    // Analyser 2: http_request rules, each seeing the request as the
    // rules before it left it.
    let mut edits = HeadEdits::default();
    let mut local: Option<(Vec<u8>, u16, [u8; 2], bool)> = None;
    for rule in &fe.http_request {
        let seen = Sample {
            edits: Some(&edits),
            ..Sample::request(head, buf, s.client_addr.ip(), s.dst_port)
        };
        if !rule_applies(rule, &fe.acls, &seen) {
            continue;
        }
        let close = s.close_after || has_body;
        match &rule.action {
            HttpAction::Deny { status } => {
                local = Some((reply::error_page(*status), *status, *b"PR", true));
                break;
            }
            HttpAction::Return {
                status,
                content_type,
                body,
            } => {
                let bytes = reply::ret(*status, content_type.as_deref(), body, close, head.version);
                local = Some((bytes, *status, *b"LR", close));
                break;
            }
            HttpAction::Redirect { target, code } => {
                let location = crate::rules::redirect_location(target, &seen);
                let bytes = reply::redirect(&location, *code, close, head.version);
                local = Some((bytes, *code, *b"LR", close));
                break;
            }
            HttpAction::SetHeader { name, value } => {
                edits.ops.push(EditOp::Del(name.to_ascii_lowercase()));
                edits.ops.push(EditOp::Add(name.clone(), value.clone()));
            }
            HttpAction::AddHeader { name, value } => {
                edits.ops.push(EditOp::Add(name.clone(), value.clone()))
            }
            HttpAction::DelHeader { name } => {
                edits.ops.push(EditOp::Del(name.to_ascii_lowercase()))
            }
            HttpAction::SetPath { path } => edits.path = Some(path.clone()),
        }
    }
    let sample = Sample {
        edits: Some(&edits),
        ..Sample::request(head, buf, s.client_addr.ip(), s.dst_port)
    };
    // Analyser 3: use_backend, else default_backend; neither: 503.
    let chosen = crate::rules::select_backend(fe, &sample);
    if local.is_none() && chosen.is_none() {
        local = Some((reply::error_page(503), 503, *b"SC", true));
    }

    let request_line = String::from_utf8_lossy(head.start_line.get(buf)).into_owned();
    let mut st;
    if let Some((bytes, status, term, close)) = local {
        st = Stream::new(
            s.frontend_backend(cx),
            start,
            date,
            cx.now,
            cx.config.global.bufsize,
        );
        st.phase = Phase::LocalReply;
        st.to_cli.push(&bytes);
        st.status = i32::from(status);
        st.term = term;
        s.close_after |= close;
    } else {
        // Analyser 3: use_backend, else default_backend.
        let be_i =
            crate::rules::select_backend(fe, &sample).unwrap_or_else(|| s.frontend_backend(cx));
        let be = &cx.config.backends[be_i];
        st = Stream::new(be_i, start, date, cx.now, cx.config.global.bufsize);
        let connection = if head.upgrade {
            ConnectionHeader::Upgrade
        } else if be.http_reuse == HttpReuse::Never {
            ConnectionHeader::Close
        } else if head.version == Version::Http10 {
            ConnectionHeader::KeepAlive
        } else {
            ConnectionHeader::Omit
        };
        let opts = RewriteOptions {
            forwarded_for: (fe.forwardfor || be.forwardfor).then(|| s.client_addr.ip()),
            connection,
            keep_transfer_encoding: true,
            keep_upgrade: head.upgrade,
        };
        request_head_edited(head, buf, &opts, &edits, st.to_srv.vec());
        st.req_body = Body::new(head.framing);
        st.req_has_body = has_body;
        st.ctx = ResponseContext::from(head);
        st.phase = Phase::Connect;
        st.counted = true;
        cx.backends[be_i].cur_sess += 1;
    }
    st.request_line = request_line;
    st.version = head.version;
    st.head_at = cx.now;
    s.req.consume(head.head_len, cx.pool);
    // A chunked body that arrived with its head is checked before any
    // server sees the request: a malformed one is refused like a bad head.
    if st.phase == Phase::Connect && st.req_body.allowed(s.req.data()).is_err() {
        cx.backends[st.backend].cur_sess -= 1;
        st.counted = false;
        st.backend = s.frontend_backend(cx);
        st.phase = Phase::LocalReply;
        st.to_cli.push(&reply::error_page(400));
        st.status = 400;
        st.term = *b"PR";
        s.close_after = true;
    }
    s.stream = Some(Box::new(st));
}

fn rule_applies(rule: &HttpRule, acls: &[weir_core::config::model::Acl], sample: &Sample) -> bool {
    crate::rules::cond_holds(rule.cond.as_ref(), acls, sample)
}

// ---------------------------------------------------------------------
// The stream: analysers 4 to 9.

fn run_stream(s: &mut HttpSession, cx: &mut HttpCtx, budget: usize) -> Step {
    let phase = s.stream.as_ref().map(|st| st.phase);
    match phase {
        Some(Phase::Connect) => connect_step(s, cx),
        Some(Phase::Exchange) => exchange_step(s, cx, budget),
        Some(Phase::Tunnel) => tunnel_step(s, cx, budget),
        Some(Phase::LocalReply) => local_step(s, cx),
        None => Step::Continue(false),
    }
}

/// Sends a response weir made, then ends the stream.
fn local_step(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    match st.to_cli.flush(&mut s.client) {
        Ok(n) => {
            st.bytes_out += n as u64;
            if n > 0 {
                s.cli_active = cx.now;
            }
            if st.to_cli.is_empty() {
                return finish_stream(s, cx);
            }
            Step::Continue(n > 0)
        }
        Err(_) => {
            st.term = *b"CD";
            finish_stream(s, cx);
            Step::Close
        }
    }
}

/// Analyser 4: a server connection, parked or new, with retries.
fn connect_step(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    let Some(conn) = st.srv.as_mut() else {
        return match start_connect(s, cx, None) {
            Ok(()) => Step::Continue(true),
            Err(term) => server_error(s, cx, 503, term),
        };
    };
    if conn.readable || conn.writable {
        match connected(conn) {
            Ok(true) => {
                st.phase = Phase::Exchange;
                st.srv_active = cx.now;
                st.srv_ready_at = Some(cx.now);
                st.connect_deadline = None;
                let begin = st.connect_start.unwrap_or(st.head_at);
                st.connect_ms = Some(cx.now.saturating_duration_since(begin).as_millis() as i64);
                return Step::Continue(true);
            }
            Ok(false) => {}
            Err(_) => return retry_connect(s, cx, false),
        }
    }
    match st.connect_deadline {
        Some(d) if cx.now >= d => retry_connect(s, cx, true),
        _ => Step::Continue(false),
    }
}

fn retry_connect(s: &mut HttpSession, cx: &mut HttpCtx, timed_out: bool) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    let failed = st.server;
    release_server(st, cx, false);
    let retries = cx.config.backends[st.backend].retries;
    let term = if timed_out { *b"sC" } else { *b"SC" };
    if st.retries >= retries {
        return server_error(s, cx, 503, term);
    }
    st.retries += 1;
    match start_connect(s, cx, failed) {
        Ok(()) => Step::Continue(true),
        Err(t) => server_error(s, cx, 503, t),
    }
}

/// Picks a server and gets a connection to it: a parked one when reuse is
/// allowed (not for a client connection's first request, as HAProxy's
/// "safe"), else a new non-blocking connect.
fn start_connect(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    mut avoid: Option<usize>,
) -> Result<(), [u8; 2]> {
    let first_request = s.requests <= 1;
    let Some(st) = s.stream.as_mut() else {
        return Err(*b"SC");
    };
    let be_i = st.backend;
    let be = &cx.config.backends[be_i];
    let token = tokens::session(cx.key, Side::Server);
    loop {
        let Some(i) = cx.backends[be_i].pick(avoid) else {
            st.server = None;
            return Err(*b"SC");
        };
        st.server = Some(i);
        let srv = &mut cx.backends[be_i].servers[i];
        if be.http_reuse == HttpReuse::Safe && !first_request && !st.ctx.upgrade_requested {
            if let Some(mut sock) = cx.idle.take(be_i, i) {
                if cx
                    .registry
                    .reregister(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
                    .is_ok()
                {
                    srv.cur_sess += 1;
                    srv.total_sess += 1;
                    st.srv = Some(Conn {
                        sock,
                        readable: true,
                        writable: true,
                    });
                    st.reused = true;
                    st.phase = Phase::Exchange;
                    st.srv_ready_at = Some(cx.now);
                    st.srv_active = cx.now;
                    st.connect_ms.get_or_insert(0);
                    return Ok(());
                }
            }
        }
        st.connect_start.get_or_insert(cx.now);
        srv.total_sess += 1;
        if let Ok(sock) = open_connection(srv.addr) {
            let mut sock = mio::net::TcpStream::from_std(sock);
            if cx
                .registry
                .register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                srv.cur_sess += 1;
                st.srv = Some(Conn::new(sock));
                st.reused = false;
                st.phase = Phase::Connect;
                st.connect_deadline =
                    Some(cx.now + be.timeouts.connect.unwrap_or(defaults::TIMEOUT_CONNECT));
                return Ok(());
            }
        }
        if st.retries >= be.retries {
            return Err(*b"SC");
        }
        st.retries += 1;
        avoid = Some(i);
    }
}

/// Lets go of the stream's server connection: parked when `park` and the
/// pool takes it, else closed.
fn release_server(st: &mut Stream, cx: &mut HttpCtx, park: bool) {
    let Some(mut conn) = st.srv.take() else {
        return;
    };
    if let Some(i) = st.server {
        let srv = &mut cx.backends[st.backend].servers[i];
        srv.cur_sess = srv.cur_sess.saturating_sub(1);
        if park {
            cx.idle.put(cx.registry, st.backend, i, conn.sock, cx.now);
            return;
        }
    }
    let _ = cx.registry.deregister(&mut conn.sock);
}

/// The server side failed before a response reached the client: answer
/// with an error page instead (502, 503, 504) and close afterwards.
fn server_error(s: &mut HttpSession, cx: &mut HttpCtx, status: u16, term: [u8; 2]) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    release_server(st, cx, false);
    st.phase = Phase::LocalReply;
    st.to_cli = Outbox::default();
    st.to_cli.push(&reply::error_page(status));
    st.status = i32::from(status);
    st.term = term;
    s.close_after = true;
    Step::Continue(true)
}

/// Analysers 5 to 8: request out, response in.
fn exchange_step(s: &mut HttpSession, cx: &mut HttpCtx, budget: usize) -> Step {
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
            match st.to_srv.flush(srv) {
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
            }
        }
        if !failed && !bad_body {
            match fill(srv, res, cx.pool, budget) {
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
            close_with(s, cx, *b"PD")
        } else {
            server_error(s, cx, 400, *b"PD")
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
        match st.to_cli.flush(client) {
            Ok(n) => {
                st.bytes_out += n as u64;
                if n > 0 {
                    progress = true;
                    *cli_active = cx.now;
                }
                Next::Go
            }
            Err(_) => Next::Close(*b"CD"),
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
                return Next::Close(*b"SD");
            };
            match forward_body(res, &mut st.res_body, client, cx.pool) {
                Ok(0) => {}
                Ok(n) => {
                    progress = true;
                    st.bytes_out += n as u64;
                    *cli_active = cx.now;
                    st.srv_active = cx.now;
                }
                Err(ForwardError::Write) => return Next::Close(*b"CD"),
                Err(ForwardError::Framing) => return Next::Close(*b"SD"),
            }
            if matches!(st.res_body, Body::UntilClose) && res.shutr && res.is_empty() {
                st.res_body = Body::Done;
            }
            if st.res_body.is_done() {
                Next::Finish
            } else if srv_failed || (res.shutr && res.is_empty()) {
                Next::Close(*b"SD") // the server left in the middle of the body
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

/// What the response side decided.
enum Next {
    Go,
    Wait,
    Finish,
    Close([u8; 2]),
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
fn close_with(s: &mut HttpSession, cx: &mut HttpCtx, term: [u8; 2]) -> Step {
    if let Some(st) = s.stream.as_mut() {
        st.term = term;
    }
    close_stream(s, cx)
}

/// The server connection failed before the response head: replay on a new
/// connection if it was a parked one and the request can be replayed,
/// else answer 502.
fn server_failed(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(st) = s.stream.as_mut() else {
        return Step::Continue(false);
    };
    let nothing_received = s.res.is_empty();
    if st.reused && nothing_received && !st.req_has_body {
        release_server(st, cx, false);
        s.res = Default::default();
        st.to_srv.rewind();
        st.reused = false;
        let failed = st.server;
        return match start_connect_fresh(s, cx, failed) {
            Ok(()) => Step::Continue(true),
            Err(t) => server_error(s, cx, 503, t),
        };
    }
    server_error(s, cx, 502, *b"SH")
}

/// A new connection to the same server (no parked one), for a replay.
fn start_connect_fresh(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    server: Option<usize>,
) -> Result<(), [u8; 2]> {
    let requests = s.requests;
    s.requests = 1; // no parked connection for the replay
    let r = start_connect(s, cx, None);
    s.requests = requests;
    let _ = server;
    r
}

/// Analysers 6 and 7: parse the response head; forward interim ones;
/// apply `http_response` rules and write the head for the client.
fn parse_response(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let mut progress = false;
    loop {
        let HttpSession { stream, res, .. } = s;
        let Some(st) = stream.as_mut() else {
            return Step::Continue(progress);
        };
        let parsed = st.res_parser.parse(res.data(), st.ctx);
        let head = match parsed {
            Ok(None) if res.is_full() => return server_error(s, cx, 502, *b"PH"),
            Ok(None) if res.shutr => return server_failed(s, cx),
            Ok(None) => return Step::Continue(progress),
            Err(e) => {
                cx.logger
                    .debug(&format!("invalid response: {}", e.as_str()));
                return server_error(s, cx, 502, *b"PH");
            }
            Ok(Some(h)) => h,
        };
        progress = true;
        let data = res.data();
        if head.interim {
            st.to_cli.push(&data[..head.head_len]);
            res.consume(head.head_len, cx.pool);
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
        let mut edits = HeadEdits::default();
        for rule in fe
            .http_response
            .iter()
            .filter(|r| rule_applies(r, &fe.acls, &sample))
        {
            match &rule.action {
                HttpAction::SetHeader { name, value } => {
                    edits.ops.push(EditOp::Del(name.to_ascii_lowercase()));
                    edits.ops.push(EditOp::Add(name.clone(), value.clone()));
                }
                HttpAction::AddHeader { name, value } => {
                    edits.ops.push(EditOp::Add(name.clone(), value.clone()))
                }
                HttpAction::DelHeader { name } => {
                    edits.ops.push(EditOp::Del(name.to_ascii_lowercase()))
                }
                _ => {}
            }
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
        st.res_body = Body::new(head.framing);
        st.srv_keep_alive =
            head.keep_alive && !matches!(head.framing, Framing::UntilClose | Framing::Tunnel);
        st.res_head_done = true;
        st.to_srv.clear();
        let head_len = head.head_len;
        s.res.consume(head_len, cx.pool);
        return Step::Continue(true);
    }
}

/// A tunnel: both directions pumped as in TCP mode.
fn tunnel_step(s: &mut HttpSession, cx: &mut HttpCtx, budget: usize) -> Step {
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
    match pump(client, req, Some(srv), cx.pool, budget) {
        Ok(p) => {
            if p.read || p.wrote {
                progress = true;
                *cli_active = cx.now;
                st.srv_active = cx.now;
            }
        }
        Err(Side::Client) => st.term = *b"CD",
        Err(Side::Server) => st.term = *b"SD",
    }
    if st.term == *b"--" {
        match pump(srv, res, Some(client), cx.pool, budget) {
            Ok(p) => {
                if p.read || p.wrote {
                    progress = true;
                    *cli_active = cx.now;
                    st.srv_active = cx.now;
                }
            }
            Err(Side::Client) => st.term = *b"SD",
            Err(Side::Server) => st.term = *b"CD",
        }
    }
    if st.term != *b"--" || (req.shutw && res.shutw) {
        st.bytes_out += res.total;
        return close_stream(s, cx);
    }
    Step::Continue(progress)
}

// ---------------------------------------------------------------------
// Analyser 9: the end of a stream.

/// The response is complete: log, park or close the server connection,
/// and keep the client connection for the next request or close it.
fn finish_stream(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    let Some(mut st) = s.stream.take() else {
        return Step::Continue(false);
    };
    let clean = st.req_body.is_done() && s.res.is_empty() && !s.res.shutr;
    let park =
        st.srv_keep_alive && clean && cx.config.backends[st.backend].http_reuse != HttpReuse::Never;
    if !st.req_body.is_done() {
        // The server answered before the request body ended: the client
        // connection cannot carry another request.
        s.close_after = true;
    }
    log_stream(s, &st, cx);
    release_server(&mut st, cx, park);
    if st.counted {
        cx.backends[st.backend].cur_sess -= 1;
    }
    s.res.release(cx.pool);
    s.res = Default::default();
    s.idle_since = cx.now;
    if s.close_after || (s.req.shutr && s.req.is_empty()) {
        return Step::Close;
    }
    Step::Continue(true)
}

/// Ends the stream and the connection now (an abort or a tunnel's end).
fn close_stream(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    s.close_after = true;
    if let Some(st) = s.stream.as_mut() {
        st.srv_keep_alive = false;
    }
    finish_stream(s, cx);
    Step::Close
}

/// Closes the session after an error on the client side, logging the
/// stream in progress if any.
fn abort(s: &mut HttpSession, cx: &mut HttpCtx, term: [u8; 2]) -> Outcome {
    if let Some(st) = s.stream.as_mut() {
        if st.term == *b"--" {
            st.term = term;
        }
        close_stream(s, cx);
    }
    Outcome::Close(term)
}

fn log_stream(s: &HttpSession, st: &Stream, cx: &HttpCtx) {
    if !cx.logger.enabled(LogLevel::Info) {
        return;
    }
    let ms = |a: Instant, b: Instant| b.saturating_duration_since(a).as_millis() as i64;
    let fe = &cx.config.frontends[s.frontend];
    let be = &cx.backends[st.backend];
    let term = [st.term[0], st.term[1], b'-', b'-'];
    let line = HttpLog {
        client: s.client_addr,
        request_date: &accept_date(&st.date),
        frontend: &fe.name,
        backend: if st.counted {
            &cx.config.backends[st.backend].name
        } else {
            &fe.name
        },
        server: st.server.map(|i| be.servers[i].name.as_str()),
        tr_req: ms(st.start, st.head_at),
        tw: if st.counted { 0 } else { -1 },
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
        beconn: if st.counted { be.cur_sess } else { 0 },
        srv_conn: st.server.map_or(0, |i| be.servers[i].cur_sess),
        retries: st.retries,
        srv_queue: 0,
        backend_queue: 0,
        request_line: &st.request_line,
    }
    .render();
    cx.logger.info(&line);
}

// ---------------------------------------------------------------------
// Timers.

fn client_timeout(cx: &HttpCtx, fe: usize) -> Duration {
    cx.config.frontends[fe]
        .timeouts
        .client
        .unwrap_or(defaults::TIMEOUT_CLIENT)
}

/// When the session must run again for a timeout, and what expires then.
fn deadlines(s: &HttpSession, cx: &HttpCtx) -> [(Option<Instant>, Expiry); 3] {
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
            [
                (st.connect_deadline, Expiry::Connect),
                (want_client.then(|| s.cli_active + client), Expiry::Client),
                (want_server.then(|| st.srv_active + server), Expiry::Server),
            ]
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    None,
    Request,
    KeepAlive,
    Connect,
    Client,
    Server,
    Tunnel,
}

fn next_expiry(s: &HttpSession, cx: &HttpCtx) -> Option<Instant> {
    deadlines(s, cx).iter().filter_map(|(d, _)| *d).min()
}

/// Acts on an expired timeout, if any.
fn timeouts(s: &mut HttpSession, cx: &mut HttpCtx) -> Option<Outcome> {
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
        Expiry::KeepAlive => Some(Outcome::Close(*b"--")),
        Expiry::Request => {
            local_error(s, cx, 408, *b"cR", "<BADREQ>");
            Some(Outcome::Yield)
        }
        Expiry::Server => {
            let head_sent = s.stream.as_ref().is_some_and(|st| st.res_head_done);
            if head_sent {
                if let Some(st) = s.stream.as_mut() {
                    st.term = *b"sD";
                }
                close_stream(s, cx);
                Some(Outcome::Close(*b"sD"))
            } else {
                server_error(s, cx, 504, *b"sH");
                Some(Outcome::Yield)
            }
        }
        Expiry::Client | Expiry::Tunnel => Some(abort(s, cx, *b"cD")),
    }
}

impl Stream {
    fn new(backend: usize, start: Instant, date: WallTime, now: Instant, bufsize: usize) -> Stream {
        Stream {
            backend,
            server: None,
            srv: None,
            reused: false,
            phase: Phase::LocalReply,
            request_line: String::new(),
            version: Version::Http11,
            ctx: ResponseContext::default(),
            req_body: Body::Done,
            res_body: Body::Done,
            req_has_body: false,
            to_srv: Outbox::default(),
            to_cli: Outbox::default(),
            res_parser: ResponseParser::new(bufsize),
            res_head_done: false,
            status: -1,
            retries: 0,
            bytes_out: 0,
            term: *b"--",
            start,
            date,
            head_at: now,
            connect_start: None,
            connect_deadline: None,
            connect_ms: None,
            srv_ready_at: None,
            res_head_at: None,
            srv_active: now,
            srv_keep_alive: false,
            tunnel: false,
            counted: false,
        }
    }
}

/// Soft stop: whether the connection may close now (no request in
/// progress, nothing buffered); otherwise it closes after its response.
pub fn may_close_when_stopping(s: &mut HttpSession) -> bool {
    s.close_after = true;
    s.stream.is_none() && s.req.is_empty()
}

/// Hard stop: logs the request in progress, if any, as killed.
pub fn kill(s: &mut HttpSession, cx: &mut HttpCtx) {
    if let Some(st) = s.stream.as_mut() {
        st.term = [b'K', if st.res_head_done { b'D' } else { b'H' }];
        close_stream(s, cx);
    }
}
