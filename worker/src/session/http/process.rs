//! The HTTP session's task: one run reads what the client sent, runs the
//! request analysers when no request is in progress, then advances the
//! current stream (connect, exchange, tunnel or local reply), and repeats
//! while anything moves (bounded), before setting its timer.

use super::forward::{fill, Body, Fill, Outbox};
use super::{end::*, exchange::*, request::*, server::*, timers::*};
use super::{HttpSession, Phase, Stream};
use crate::backend::BackendState;
use crate::http::{ResponseContext, ResponseParser, Version};
use crate::idle::IdlePool;
use crate::pipes::PipePool;
use crate::session::tcp::Outcome;
use crate::session::{At, Cause, Termination};
use mio::Registry;
use std::time::Instant;
use weir_core::config::model::Config;
use weir_core::log::date::WallTime;
use weir_core::log::Logger;
use weir_core::pool::BufferPool;
use weir_core::shm::SharedState;

/// Rounds of "read, analyse, forward" per task run before yielding.
pub(super) const MAX_ROUNDS: usize = 8;

/// Buffers' worth of bytes read per direction per round.
pub(super) const BUDGET_BUFFERS: usize = 4;

/// What the session's task needs besides the session itself.
pub struct HttpCtx<'a> {
    pub pool: &'a mut BufferPool,
    /// Pipes for tunnels that stream (splice).
    pub pipes: &'a mut PipePool,
    pub backends: &'a mut [BackendState],
    pub idle: &'a mut IdlePool,
    /// Finished streams and a field list, reused request after request.
    pub spares: &'a mut super::Spares,
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub logger: &'a Logger,
    pub key: usize,
    pub now: Instant,
    /// This worker's index (0-based), for the shared gauges.
    pub worker: usize,
    /// The state every worker shares (counters, server states).
    pub shared: &'a SharedState,
    pub date: WallTime,
    /// Connections of the worker and of this frontend, for the log.
    pub actconn: usize,
    pub feconn: usize,
}

/// What one analyser step did.
pub(super) enum Step {
    /// Keep going; `true` if something moved.
    Continue(bool),
    /// Close the client connection now (everything already logged).
    Close,
}

/// Runs the session's task once.
pub fn process(s: &mut HttpSession, cx: &mut HttpCtx) -> Outcome {
    let budget = BUDGET_BUFFERS * cx.pool.stats().bufsize;
    super::kept::drop_if_dirty(s);
    let mut rounds = 0;
    loop {
        let mut progress = false;
        let reading = match s.stream.as_ref() {
            Some(st) => st.phase != Phase::Tunnel && st.phase != Phase::LocalReply,
            None => !s.close_after,
        };
        if reading {
            let read = match splice_request(s, cx, budget) {
                Some(r) => r,
                None => fill(&mut s.client, &mut s.req, cx.pool, budget),
            };
            match read {
                Ok(Fill::Ok(0)) => {}
                Ok(Fill::Ok(_)) => {
                    progress = true;
                    s.cli_active = cx.now;
                    if s.stream.is_none() && s.req_start.is_none() {
                        s.req_start = Some((cx.now, cx.date));
                    }
                }
                Ok(Fill::Eof) => progress = true,
                Err(_) => return abort(s, cx, Termination::client(At::Data)),
            }
        }
        if s.stream.is_none() {
            match wait_request(s, cx) {
                Step::Continue(p) => progress |= p,
                Step::Close => return Outcome::Close(Termination::NORMAL),
            }
        }
        if s.stream.is_some() {
            match run_stream(s, cx, budget) {
                Step::Continue(p) => progress |= p,
                Step::Close => return Outcome::Close(Termination::NORMAL),
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

pub(super) fn run_stream(s: &mut HttpSession, cx: &mut HttpCtx, budget: usize) -> Step {
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
pub(super) fn local_step(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
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
            st.term = Termination::client(At::Data);
            finish_stream(s, cx);
            Step::Close
        }
    }
}

impl Stream {
    pub(super) fn new(
        backend: usize,
        start: Instant,
        date: WallTime,
        now: Instant,
        bufsize: usize,
    ) -> Stream {
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
            term: Termination::NORMAL,
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
            lb_key: Vec::new(),
            lb_key_set: false,
            queue: crate::queue::Wait::default(),
        }
    }
}

impl Stream {
    /// Sets a spare stream up for a new request as [`Stream::new`] would,
    /// keeping the memory of its outboxes and request line.
    pub(super) fn renew(
        &mut self,
        backend: usize,
        start: Instant,
        date: WallTime,
        now: Instant,
        bufsize: usize,
    ) {
        let mut to_srv = std::mem::take(&mut self.to_srv);
        let mut to_cli = std::mem::take(&mut self.to_cli);
        let mut request_line = std::mem::take(&mut self.request_line);
        let mut lb_key = std::mem::take(&mut self.lb_key);
        to_srv.reset();
        to_cli.reset();
        request_line.clear();
        lb_key.clear();
        *self = Stream {
            to_srv,
            to_cli,
            request_line,
            lb_key,
            ..Stream::new(backend, start, date, now, bufsize)
        };
    }

    /// Empties a finished stream for the spares: what it still holds is
    /// dropped, and an outbox, request line or balancing key over `keep`
    /// bytes of capacity is freed rather than kept.
    pub(super) fn recycle(&mut self, keep: usize) {
        self.srv = None;
        self.set_lb_key(None);
        if self.lb_key.capacity() > keep {
            self.lb_key = Vec::new();
        }
        self.to_srv.trim(keep);
        self.to_cli.trim(keep);
        self.request_line.clear();
        if self.request_line.capacity() > keep {
            self.request_line = String::new();
        }
    }
}

/// Soft stop: the connection is not cut under the client's feet. The
/// response in progress, if its head is not sent yet, and otherwise the
/// next request's response, carry `Connection: close`; an idle connection
/// closes when `timeout http_keep_alive` expires, as always.
pub fn drain(s: &mut HttpSession) {
    s.draining = true;
    // Closing the socket takes it out of the poller too.
    s.kept = None;
    if s.stream.as_ref().is_some_and(|st| !st.res_head_done) {
        s.close_after = true;
    }
}

/// Hard stop: logs the request in progress, if any, as killed.
pub fn kill(s: &mut HttpSession, cx: &mut HttpCtx) {
    if let Some(st) = s.stream.as_mut() {
        let at = if st.res_head_done {
            At::Data
        } else {
            At::Headers
        };
        st.term = Termination::new(Cause::Killed, at);
        close_stream(s, cx);
    }
}
