//! Sessions of both modes in one slab, and the worker's operations on them:
//! start one at accept, run its task, record poller events, close it.

use crate::conn::Conn;
use crate::session::http::{self, HttpCtx, HttpSession};
use crate::session::tcp::{self, Ctx, Outcome};
use crate::session::{At, Cause, Termination};
use crate::session::{Session, Stage};
use crate::tokens::{self, Side};
use crate::worker::{Stopping, Worker};
use socket2::SockRef;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use weir_core::config::model::{LogLevel, Mode};
use weir_core::log::tcplog::TcpLog;
use weir_core::shm::Gl;

/// A client connection of either mode, stored in the slab itself: both
/// are a few hundred bytes, so a new connection takes a slab slot (memory
/// the slab keeps, trimmed on SIGQUIT) rather than a heap allocation of
/// its own.
pub enum AnySession {
    Tcp(Session),
    Http(HttpSession),
}

impl AnySession {
    fn frontend(&self) -> usize {
        match self {
            AnySession::Tcp(s) => s.frontend,
            AnySession::Http(s) => s.frontend,
        }
    }
}

impl Worker {
    /// Creates the session for a new client connection (accepted on a
    /// listener of port `dst_port`) and wakes its task.
    pub fn start_session(
        &mut self,
        fe: usize,
        stream: mio::net::TcpStream,
        addr: SocketAddr,
        dst_port: u16,
        now: Instant,
    ) {
        let _ = SockRef::from(&stream).set_tcp_nodelay(true);
        let frontend = &self.config.frontends[fe];
        let entry = self.sessions.vacant_entry();
        let key = entry.key();
        let mut sess = match frontend.mode {
            Mode::Tcp => {
                let Some(be) = frontend.default_backend else {
                    return;
                };
                AnySession::Tcp(Session::new(fe, be, stream, addr, now, self.clock.now()))
            }
            Mode::Http => {
                let bufsize = self.config.global.bufsize;
                let mut h = HttpSession::new(fe, stream, addr, dst_port, bufsize, now);
                if self.stopping != Stopping::No {
                    http::drain(&mut h);
                }
                AnySession::Http(h)
            }
        };
        let client = match &mut sess {
            AnySession::Tcp(s) => &mut s.client,
            AnySession::Http(s) => &mut s.client,
        };
        let token = tokens::session(key, Side::Client);
        if let Err(e) = client.register(self.poll.registry(), token) {
            self.logger
                .warning(&format!("cannot register a client connection: {e}"));
            return;
        }
        if let AnySession::Tcp(s) = &sess {
            self.backends[s.backend].shm.enter(self.id - 1);
        }
        entry.insert(sess);
        self.actconn += 1;
        self.feconn[fe] += 1;
        self.shared.frontends[fe].enter(self.index());
        self.shared.global_add(Gl::CumConns, 1);
        self.sched.wake(tokens::SESSION_TASKS + key);
    }

    /// Runs session `key`'s task once.
    pub fn run_session(&mut self, key: usize, now: Instant) {
        let task = tokens::SESSION_TASKS + key;
        let outcome = match self.sessions.get_mut(key) {
            None => return,
            Some(AnySession::Tcp(sess)) => {
                let mut cx = Ctx {
                    pool: &mut self.pool,
                    pipes: &mut self.pipes,
                    conns: self.actconn,
                    backend: &mut self.backends[sess.backend],
                    registry: self.poll.registry(),
                    fe: &self.config.frontends[sess.frontend],
                    be: &self.config.backends[sess.backend],
                    key,
                    now,
                    worker: self.id - 1,
                };
                tcp::process(sess, &mut cx)
            }
            Some(AnySession::Http(sess)) => {
                let mut cx = HttpCtx {
                    pool: &mut self.pool,
                    pipes: &mut self.pipes,
                    backends: &mut self.backends,
                    idle: &mut self.idle,
                    spares: &mut self.http_spares,
                    registry: self.poll.registry(),
                    config: &self.config,
                    logger: &self.logger,
                    key,
                    now,
                    worker: self.id - 1,
                    shared: &self.shared,
                    date: self.clock.now(),
                    actconn: self.actconn,
                    feconn: self.feconn[sess.frontend],
                };
                http::process(sess, &mut cx)
            }
        };
        match outcome {
            Outcome::Wait(at) => self.sched.set_expiry(task, at),
            Outcome::Yield => self.sched.wake(task),
            Outcome::Close(term) => self.close_session(key, term, now),
        }
        self.wake_queued();
        if !self.idle.is_empty() && self.sched_idle_unset() {
            self.sched
                .set_expiry(tokens::TASK_IDLE, Some(now + Duration::from_secs(1)));
        }
    }

    /// Sessions woken in the backends' queues (a slot freed, the head
    /// left) go to the run queue.
    fn wake_queued(&mut self) {
        crate::queue::wake_waiting(&mut self.backends, &mut self.sched, |k| {
            tokens::SESSION_TASKS + k
        });
    }

    fn sched_idle_unset(&self) -> bool {
        !self.sched.has_expiry(tokens::TASK_IDLE)
    }

    /// Closes both connections of session `key` and releases what it holds;
    /// a TCP session logs its tcplog line (an HTTP session logged each of
    /// its requests already).
    pub fn close_session(&mut self, key: usize, term: Termination, now: Instant) {
        let Some(sess) = self.sessions.try_remove(key) else {
            return;
        };
        self.sched.remove(tokens::SESSION_TASKS + key);
        crate::queue::forget_everywhere(&mut self.backends, key);
        let fe = sess.frontend();
        match sess {
            AnySession::Tcp(s) => self.close_tcp(s, term, now),
            AnySession::Http(mut s) => {
                let registry = self.poll.registry();
                let park = self.stopping == Stopping::No;
                s.release_kept(&mut self.idle, registry, now, park);
                // Closing the client socket (when `s` drops) takes it out
                // of the poller: no deregistering `epoll_ctl`.
                s.req.release(&mut self.pool);
                s.res.release(&mut self.pool);
            }
        }
        self.actconn -= 1;
        self.feconn[fe] -= 1;
        self.shared.frontends[fe].leave(self.index());
        self.wake_queued();
        self.sync_listeners();
    }

    fn close_tcp(&mut self, mut sess: Session, term: Termination, now: Instant) {
        sess.req.release_pipe(&mut self.pipes);
        sess.res.release_pipe(&mut self.pipes);
        sess.req.release(&mut self.pool);
        sess.res.release(&mut self.pool);
        if self.logger.enabled(LogLevel::Info) {
            let be = &self.backends[sess.backend];
            let line = TcpLog {
                client: sess.client_addr,
                accept_date: sess.accept_date,
                frontend: &self.config.frontends[sess.frontend].name,
                backend: &self.config.backends[sess.backend].name,
                server: sess.server.map(|i| be.servers[i].name.as_str()),
                tw: sess.queue.tw(now) as i64,
                tc: sess.connect_ms.map_or(-1, |ms| ms as i64),
                tt: now.saturating_duration_since(sess.accepted).as_millis() as i64,
                bytes_out: sess.res.total,
                termination: term.code(),
                actconn: self.actconn,
                feconn: self.feconn[sess.frontend],
                beconn: be.shm.cur() as usize,
                srv_conn: sess.server.map_or(0, |i| be.servers[i].cur_sess() as usize),
                retries: sess.retries,
                redispatched: false,
                srv_queue: 0,
                backend_queue: sess.queue.ahead,
            };
            self.logger
                .log_with(LogLevel::Info, |out| line.write_to(out));
        }
        crate::session::count::tcp_session_ended(&self.shared, &sess, term);
        // Counts drop after the line: it reports them with this session in.
        if sess.srv.take().is_some() {
            if let Some(i) = sess.server {
                let worker = self.index();
                self.backends[sess.backend].release(i, worker);
            }
        }
        self.backends[sess.backend].shm.leave(self.index());
    }

    /// Hard stop: ends session `key` now, logged with a `K` state.
    pub fn kill_session(&mut self, key: usize, now: Instant) {
        match self.sessions.get_mut(key) {
            None => {}
            Some(AnySession::Tcp(s)) => {
                let at = if s.stage == Stage::Connect {
                    At::Connect
                } else {
                    At::Data
                };
                self.close_session(key, Termination::new(Cause::Killed, at), now);
            }
            Some(AnySession::Http(sess)) => {
                let mut cx = HttpCtx {
                    pool: &mut self.pool,
                    pipes: &mut self.pipes,
                    backends: &mut self.backends,
                    idle: &mut self.idle,
                    spares: &mut self.http_spares,
                    registry: self.poll.registry(),
                    config: &self.config,
                    logger: &self.logger,
                    key,
                    now,
                    worker: self.id - 1,
                    shared: &self.shared,
                    date: self.clock.now(),
                    actconn: self.actconn,
                    feconn: self.feconn[sess.frontend],
                };
                http::kill(sess, &mut cx);
                self.close_session(key, Termination::new(Cause::Killed, At::None), now);
            }
        }
    }

    /// Soft stop: every HTTP connection answers its next response with
    /// `Connection: close` (TCP sessions simply run to their end).
    pub fn soft_stop_sessions(&mut self) {
        for (_, s) in self.sessions.iter_mut() {
            if let AnySession::Http(h) = s {
                http::drain(h);
            }
        }
    }

    /// Records what the poller said about a session's socket and wakes its
    /// task.
    pub fn on_session_event(&mut self, key: usize, side: Side, ev: &mio::event::Event) {
        let conn: Option<&mut Conn> = match (self.sessions.get_mut(key), side) {
            (None, _) => return,
            (Some(AnySession::Tcp(s)), Side::Client) => Some(&mut s.client),
            (Some(AnySession::Tcp(s)), Side::Server) => s.srv.as_mut(),
            (Some(AnySession::Http(s)), Side::Client) => Some(&mut s.client),
            (Some(AnySession::Http(s)), Side::Server) => s.server_conn(),
        };
        if let Some(c) = conn {
            c.on_event(ev);
        }
        self.sched.wake(tokens::SESSION_TASKS + key);
    }
}
