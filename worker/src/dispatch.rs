//! Sessions and streams, and the worker's operations on them: start a
//! session at accept, run a session's or a stream's task, record poller
//! events, retire a stream, close a session. Whatever the mode, a session
//! is driven through the [`Session`](crate::session::Session) contract; this file is the one place
//! that acts on their outcomes.

use crate::any_session::AnySession;
use crate::conn::{Conn, Tls, Transport};
use crate::context::Cx;
use crate::mux::h1::{Accepted, H1Mux};
use crate::mux::h2_server::process::Step;
use crate::scheduler::Scheduler;
use crate::session::tcp::TcpSession;
use crate::session::Outcome;
use crate::stream::{self, StreamStep, Streams};
use crate::term::Termination;
use crate::tokens;
use crate::track;
use crate::worker::{Stopping, Worker};
use slab::Slab;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use weir_core::config::model::Mode;
use weir_core::shm::{Gl, GlGauge};

/// Streams a session may start and end in one run of its task (pipelined
/// requests) before it yields to others.
const MAX_CHAIN: usize = 8;

/// The worker, split for one task run: the resources every task borrows,
/// and the tables the worker acts on around it.
struct Parts<'a> {
    cx: Cx<'a>,
    sessions: &'a mut Slab<AnySession>,
    streams: &'a mut Streams,
    sched: &'a mut Scheduler,
}

impl Worker {
    fn parts(&mut self, now: Instant) -> Parts<'_> {
        Parts {
            cx: Cx {
                pool: &mut self.pool,
                pipes: &mut self.pipes,
                backends: &mut self.backends,
                idle: &mut self.idle,
                muxes: &mut self.muxes,
                scratch: &mut self.scratch,
                registry: self.poll.registry(),
                config: &self.config,
                logger: &self.logger,
                shared: &self.shared,
                now,
                date: self.clock.now(),
                worker: self.id - 1,
                actconn: self.actconn,
                feconn: &self.feconn,
                woken: &mut self.woken,
                tracks: &self.tracks,
            },
            sessions: &mut self.sessions,
            streams: &mut self.streams,
            sched: &mut self.sched,
        }
    }

    /// Creates the session for a new client connection accepted on
    /// listener `li` (TLS first, when it terminates TLS) and wakes its
    /// task.
    pub fn start_session(
        &mut self,
        li: usize,
        sock: mio::net::TcpStream,
        addr: SocketAddr,
        now: Instant,
    ) {
        let l = &self.listeners[li];
        let (fe, dst_port) = (l.frontend, l.port);
        let accept_proxy = self.config.frontends[fe]
            .binds
            .get(l.bind)
            .is_some_and(|b| b.accept_proxy);
        let _ = sock.set_nodelay(true);
        let client = match l.tls.clone() {
            None => Conn::plain(sock),
            Some(acceptor) => {
                self.tls.refresh(&self.shared);
                match Tls::server(sock, acceptor.config.clone()) {
                    Ok(t) => Conn::new(Transport::Tls(Box::new(t))),
                    Err(e) => {
                        self.logger
                            .warning(&format!("cannot start TLS on a client connection: {e}"));
                        return;
                    }
                }
            }
        };
        let frontend = &self.config.frontends[fe];
        let worker = self.index();
        let entry = self.sessions.vacant_entry();
        let key = entry.key();
        let mut sess = match frontend.mode {
            Mode::Tcp => {
                let Some(be) = frontend.default_backend else {
                    return;
                };
                let date = self.clock.now();
                let mut s = TcpSession::new(fe, be, client, addr, now, date);
                s.bind = l.bind;
                s.expect_proxy = accept_proxy;
                AnySession::Tcp(Box::new(s))
            }
            Mode::Http => {
                let accepted = Accepted {
                    frontend: fe,
                    bind: l.bind,
                    addr,
                    port: dst_port,
                    accept_proxy,
                };
                let bufsize = self.config.global.bufsize;
                AnySession::Http(H1Mux::new(accepted, client, bufsize, now))
            }
        };
        if self.stopping != Stopping::No {
            sess.get().drain(&self.streams);
        }
        // tcp_request rules: track, or reject (the connection closes as
        // it is dropped).
        let Some(slots) = track::accept(&self.config, frontend, &self.shared, addr.ip(), dst_port)
        else {
            return;
        };
        let token = tokens::slot(key, tokens::CLIENT_SLOT);
        if let Err(e) = sess.get().client().register(self.poll.registry(), token) {
            self.logger
                .warning(&format!("cannot register a client connection: {e}"));
            track::conn_closed(&self.config, &self.shared, &slots);
            return;
        }
        // Only a connection that tracks something has an entry: 10,000
        // idle keep-alive clients should not each carry three empty slots.
        if slots.iter().any(Option::is_some) {
            self.tracks.insert(key, slots);
        }
        if let AnySession::Tcp(s) = &sess {
            self.backends[s.side.backend].shm.enter(worker);
        }
        if sess.get().client().tls().is_some() {
            self.shared.gauge_move(GlGauge::SslConns, worker, true);
        }
        entry.insert(sess);
        self.actconn += 1;
        self.feconn[fe] += 1;
        self.shared.frontends[fe].enter(self.index());
        self.shared.global_add(Gl::CumConns, 1);
        self.sched.wake(tokens::session_task(key));
    }

    /// Runs session `key`'s task once, and the stream it hands over, if
    /// any; again while streams end (pipelined requests), a few times.
    pub fn run_session(&mut self, key: usize, now: Instant) {
        for _ in 0..MAX_CHAIN {
            let mut p = self.parts(now);
            let Some(sess) = p.sessions.get_mut(key) else {
                return;
            };
            let outcome = sess.get().process(key, &mut p.cx, p.streams);
            let task = tokens::session_task(key);
            match outcome {
                Outcome::Wait(at) => p.sched.set_expiry(task, at),
                Outcome::Yield => p.sched.wake(task),
                Outcome::Close(term) => self.close_session(key, term, now),
                Outcome::UpgradeH2 => {
                    sess.upgrade_h2(&mut p.cx);
                    continue;
                }
                Outcome::Run(j) => {
                    // The stream runs the connection now: the session's
                    // own timers wait for it to end.
                    p.sched.set_expiry(task, None);
                    if self.run_stream(j, now) == StreamStep::Ended {
                        continue;
                    }
                }
            }
            self.after_run(now);
            return;
        }
        // Streams kept ending: let others run first.
        self.sched.wake(tokens::session_task(key));
        self.after_run(now);
    }

    /// Runs stream `j`'s task once; when it ends, retires it (its session
    /// runs next, from its caller or its own task).
    fn run_stream(&mut self, j: usize, now: Instant) -> StreamStep {
        let mut p = self.parts(now);
        let Some(st) = p.streams.live.get_mut(j) else {
            return StreamStep::Ended;
        };
        let client = p.sessions.get_mut(st.session);
        let Some(client) = client.and_then(|s| s.get().client_side(j)) else {
            // Its session is gone (it cannot be: a closing session retires
            // its streams first); let it go.
            self.retire_stream(j, now);
            return StreamStep::Ended;
        };
        let session = st.session;
        if let Some(c) = st.side.conn.as_mut() {
            c.link_edge();
        }
        let step = stream::run(st, client, &mut p.cx, j);
        // Its HTTP/2 server connection frames what it wrote, credits
        // what it read.
        if let Some(t) = st.side.conn.as_ref().and_then(Conn::link_task) {
            p.cx.wake(t);
        }
        if let Some(sess) = p.sessions.get_mut(session) {
            // A multiplexing mux framed what the stream wrote: its task
            // writes it, once this turn whatever the number of streams.
            if sess.get().stream_ran(j, &mut p.cx) {
                p.cx.wake(tokens::session_task(session));
            }
        }
        let task = tokens::stream_task(j);
        match step {
            StreamStep::Wait(at) => p.sched.set_expiry(task, at),
            StreamStep::Yield => p.sched.wake(task),
            StreamStep::Ended => self.retire_stream(j, now),
        }
        step
    }

    /// Runs stream `j`'s own task (its server side's events, its timers);
    /// when it ends, its session runs to read the next request or close.
    pub fn run_stream_task(&mut self, j: usize, now: Instant) {
        let session = self.streams.live.get(j).map(|st| st.session);
        if self.run_stream(j, now) == StreamStep::Ended {
            if let Some(k) = session {
                // HTTP/1: the connection's next request, now. HTTP/2: its
                // task runs later this turn, once for all the streams that
                // end meanwhile, and writes their frames together.
                if matches!(self.sessions.get(k), Some(AnySession::H2(_))) {
                    self.sched.wake(tokens::session_task(k));
                } else {
                    self.run_session(k, now);
                    return;
                }
            }
        }
        self.after_run(now);
    }

    /// Runs HTTP/2 server connection `m`'s task once.
    pub fn run_mux(&mut self, m: usize, now: Instant) {
        let mut p = self.parts(now);
        let Some(mut mx) = p.cx.muxes.take(m) else {
            return;
        };
        let task = tokens::mux_task(m);
        match crate::mux::h2_server::process::process(&mut mx, &mut p.cx) {
            Step::Wait(at) => {
                p.cx.muxes.put(m, mx);
                p.sched.set_expiry(task, at);
            }
            Step::Yield => {
                p.cx.muxes.put(m, mx);
                p.sched.wake(task);
            }
            Step::Close => {
                p.cx.muxes.closed(m, mx);
                p.sched.remove(task);
            }
        }
        self.after_run(now);
    }

    /// A stream is over: it leaves the slab, the scheduler and every
    /// queue, releases whatever it still holds, and goes back to the
    /// spares; its session hears of it.
    fn retire_stream(&mut self, j: usize, now: Instant) {
        let Some(mut st) = self.streams.live.try_remove(j) else {
            return;
        };
        let task = tokens::stream_task(j);
        self.sched.remove(task);
        crate::queue::forget_everywhere(&mut self.backends, task);
        let mut p = self.parts(now);
        stream::end::abandon(&mut st, &mut p.cx, j);
        let normal = st.term.is_normal();
        if let Some(sess) = p.sessions.get_mut(st.session) {
            sess.get().retired(j, normal, &mut p.cx);
        }
        p.streams.spares.put_stream(st);
    }

    /// After a task run: sessions woken in the backends' queues (a slot
    /// freed, the head left) go to the run queue, and the idle pool's
    /// housekeeping timer is armed while it holds connections.
    fn after_run(&mut self, now: Instant) {
        for task in self.woken.drain(..) {
            self.sched.wake(task);
        }
        crate::queue::wake_waiting(&mut self.backends, &mut self.sched, |task| task);
        if !self.idle.is_empty() && !self.sched.has_expiry(tokens::TASK_IDLE) {
            self.sched
                .set_expiry(tokens::TASK_IDLE, Some(now + Duration::from_secs(1)));
        }
    }

    /// Closes session `key` and releases what it holds, its streams
    /// first; a TCP session logs its tcplog line (an HTTP session logged
    /// each of its requests already).
    pub fn close_session(&mut self, key: usize, term: Termination, now: Instant) {
        let streams: Vec<usize> = match self.sessions.get(key) {
            Some(s) => s.get_ref().streams().to_vec(),
            None => return,
        };
        for j in streams {
            self.retire_stream(j, now);
        }
        let Some(mut sess) = self.sessions.try_remove(key) else {
            return;
        };
        let task = tokens::session_task(key);
        self.sched.remove(task);
        crate::queue::forget_everywhere(&mut self.backends, task);
        let fe = sess.get_ref().frontend();
        if sess.get().client().tls().is_some() {
            self.shared
                .gauge_move(GlGauge::SslConns, self.index(), false);
        }
        let mut p = self.parts(now);
        sess.get().close(key, term, &mut p.cx);
        if term.is_normal() {
            // A clean end says so to a TLS client (truncation otherwise).
            sess.get().client().close_notify();
        }
        drop(sess);
        if let Some(slots) = self.tracks.remove(&key) {
            track::conn_closed(&self.config, &self.shared, &slots);
        }
        self.actconn -= 1;
        self.feconn[fe] -= 1;
        self.shared.frontends[fe].leave(self.index());
        self.after_run(now);
        self.sync_listeners();
    }

    /// Hard stop: ends session `key` now, logged with a `K` state.
    pub fn kill_session(&mut self, key: usize, now: Instant) {
        let mut p = self.parts(now);
        let Some(sess) = p.sessions.get_mut(key) else {
            return;
        };
        let term = sess.get().kill(&mut p.cx, p.streams);
        self.close_session(key, term, now);
    }

    /// `shutdown sessions server`: kills the sessions on servers whose
    /// generation moved ([`crate::shutdown`]).
    pub fn check_shutdowns(&mut self, now: Instant) {
        let moved = self.shutdowns.moved(&self.shared, now);
        if moved.is_empty() {
            return;
        }
        let streams = &self.streams;
        let victims: Vec<usize> = self
            .sessions
            .iter()
            .filter(|(_, sess)| {
                moved
                    .iter()
                    .any(|&(b, s)| sess.get_ref().is_on(b, s, streams))
            })
            .map(|(k, _)| k)
            .collect();
        for k in victims {
            self.kill_session(k, now);
        }
    }

    /// Soft stop: every HTTP connection answers its next response with
    /// `Connection: close` (TCP sessions simply run to their end).
    pub fn soft_stop_sessions(&mut self) {
        for (_, s) in self.sessions.iter_mut() {
            s.get().drain(&self.streams);
        }
    }

    /// Records what the poller said about a session's connection and
    /// wakes the task it concerns.
    pub fn on_session_event(&mut self, key: usize, slot: usize, ev: &mio::event::Event) {
        let Some(sess) = self.sessions.get_mut(key) else {
            return;
        };
        let task = sess.get().on_event(key, slot, ev, &mut self.streams);
        self.sched.wake(task);
    }
}
