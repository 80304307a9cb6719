//! The worker: everything one worker process owns, and the operations the
//! loop performs on it (accept, run a session task, close a session, obey a
//! signal).

use crate::backend::BackendState;
use crate::listener::Listener;
use crate::scheduler::Scheduler;
use crate::session::tcp::{self, Ctx, Outcome};
use crate::session::{Session, Termination};
use crate::signals::{self, Command};
use crate::tokens::{self, Side};
use mio::{Events, Interest, Poll};
use nix::sys::signalfd::SignalFd;
use slab::Slab;
use socket2::SockRef;
use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};
use weir_core::config::model::{Config, LogLevel};
use weir_core::log::{accept_date, tcplog::TcpLog, Clock, Logger};
use weir_core::pool::BufferPool;

/// A listening socket handed over by the master, and its frontend.
pub struct InheritedListener {
    pub frontend: usize,
    pub name: String,
    pub sock: std::net::TcpListener,
}

/// How the worker is winding down, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopping {
    No,
    /// SIGUSR1: listeners close after `grace`, sessions finish.
    Soft,
    /// SIGTERM/SIGINT or `hard_stop_after`: leave now.
    Hard,
}

pub struct Worker {
    pub id: usize,
    pub config: Config,
    pub logger: Logger,
    pub poll: Poll,
    pub events: Events,
    pub sched: Scheduler,
    pub signals: SignalFd,
    pub signals_ready: bool,
    pub listeners: Vec<Listener>,
    pub sessions: Slab<Session>,
    pub pool: BufferPool,
    pub backends: Vec<BackendState>,
    /// Current connections per frontend, and since start.
    pub feconn: Vec<usize>,
    pub fe_total: Vec<u64>,
    pub be_total: Vec<u64>,
    /// Current client connections in this worker.
    pub actconn: usize,
    pub stopping: Stopping,
    clock: Clock,
}

impl Worker {
    /// Builds the worker's state. Called in the child, after fork: the
    /// poller is created here, never inherited.
    pub fn new(
        id: usize,
        config: Config,
        logger: Logger,
        inherited: Vec<InheritedListener>,
    ) -> io::Result<Worker> {
        let poll = Poll::new()?;
        let signals = signals::open()?;
        poll.registry().register(
            &mut mio::unix::SourceFd(&std::os::fd::AsRawFd::as_raw_fd(&signals)),
            tokens::SIGNALS,
            Interest::READABLE,
        )?;
        let listeners: Vec<Listener> = inherited
            .into_iter()
            .map(|l| {
                l.sock.set_nonblocking(true)?;
                Ok(Listener::new(l.frontend, l.name, l.sock))
            })
            .collect::<io::Result<_>>()?;
        let backends = config.backends.iter().map(BackendState::new).collect();
        let nfe = config.frontends.len();
        let nbe = config.backends.len();
        let mut w = Worker {
            id,
            events: Events::with_capacity(config.global.maxpollevents.max(1)),
            pool: BufferPool::new(config.global.bufsize),
            config,
            logger,
            poll,
            sched: Scheduler::default(),
            signals,
            signals_ready: true,
            listeners,
            sessions: Slab::new(),
            backends,
            feconn: vec![0; nfe],
            fe_total: vec![0; nfe],
            be_total: vec![0; nbe],
            actconn: 0,
            stopping: Stopping::No,
            clock: Clock::default(),
        };
        w.sync_listeners();
        Ok(w)
    }

    /// Work that keeps the worker alive: open listeners and sessions.
    pub fn jobs(&self) -> usize {
        self.sessions.len() + self.listeners.iter().filter(|l| l.sock.is_some()).count()
    }

    /// Registers or deregisters every listener to match the current limits.
    pub fn sync_listeners(&mut self) {
        let global_full = self.actconn >= self.config.global.maxconn;
        for (i, l) in self.listeners.iter_mut().enumerate() {
            let fe_full = self.feconn[l.frontend] >= self.config.frontends[l.frontend].maxconn;
            let want = l.should_poll(global_full || fe_full);
            if let Err(e) = l.sync(self.poll.registry(), i, want) {
                self.logger
                    .alert(&format!("listener {}: cannot (de)register: {e}", l.name));
            }
        }
    }

    /// Accepts up to `maxaccept` connections on listener `i`.
    pub fn accept(&mut self, i: usize, now: Instant) {
        let maxaccept = self.config.global.maxaccept.max(1);
        let mut accepted = 0;
        self.listeners[i].backlog = false;
        while accepted < maxaccept {
            let fe = self.listeners[i].frontend;
            if self.actconn >= self.config.global.maxconn
                || self.feconn[fe] >= self.config.frontends[fe].maxconn
            {
                break;
            }
            let Some(sock) = self.listeners[i].sock.as_ref() else {
                break;
            };
            match sock.accept() {
                Ok((stream, addr)) => {
                    accepted += 1;
                    self.start_session(fe, stream, addr, now);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e)
                    if e.kind() == ErrorKind::Interrupted
                        || e.kind() == ErrorKind::ConnectionAborted => {}
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    // The master shut the socket down (SIGTTOU): wait for SIGTTIN.
                    self.listeners[i].shut = true;
                    break;
                }
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: out of resources.
                    self.logger.warning(&format!(
                        "accept on {} failed: {e}; retrying in 100ms",
                        self.listeners[i].name
                    ));
                    self.listeners[i].starved = true;
                    self.sched.set_expiry(
                        tokens::TASK_LISTENERS,
                        Some(now + Duration::from_millis(100)),
                    );
                    break;
                }
            }
        }
        self.listeners[i].backlog = accepted == maxaccept;
        self.sync_listeners();
    }

    fn start_session(
        &mut self,
        fe: usize,
        stream: mio::net::TcpStream,
        addr: std::net::SocketAddr,
        now: Instant,
    ) {
        let sock = SockRef::from(&stream);
        let _ = sock.set_tcp_nodelay(true);
        let _ = sock.set_keepalive(true);
        let Some(be) = self.config.frontends[fe].default_backend else {
            return;
        };
        let entry = self.sessions.vacant_entry();
        let key = entry.key();
        let mut sess = Session::new(fe, be, stream, addr, now, self.clock.now());
        let token = tokens::session(key, Side::Client);
        if let Err(e) = self.poll.registry().register(
            &mut sess.client.sock,
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.logger
                .warning(&format!("cannot register a client connection: {e}"));
            return;
        }
        entry.insert(sess);
        self.actconn += 1;
        self.feconn[fe] += 1;
        self.fe_total[fe] += 1;
        self.backends[be].cur_sess += 1;
        self.be_total[be] += 1;
        self.sched.wake(tokens::SESSION_TASKS + key);
    }

    /// Runs session `key`'s task once.
    pub fn run_session(&mut self, key: usize, now: Instant) {
        let Some(sess) = self.sessions.get_mut(key) else {
            return;
        };
        let fe = &self.config.frontends[sess.frontend];
        let be = &self.config.backends[sess.backend];
        let mut cx = Ctx {
            pool: &mut self.pool,
            backend: &mut self.backends[sess.backend],
            registry: self.poll.registry(),
            fe,
            be,
            key,
            now,
        };
        let task = tokens::SESSION_TASKS + key;
        match tcp::process(sess, &mut cx) {
            Outcome::Wait(at) => self.sched.set_expiry(task, at),
            Outcome::Yield => self.sched.wake(task),
            Outcome::Close(term) => self.close_session(key, term, now),
        }
    }

    /// Closes both connections of session `key`, releases its buffers and
    /// counts, and logs its tcplog line.
    pub fn close_session(&mut self, key: usize, term: Termination, now: Instant) {
        if !self.sessions.contains(key) {
            return;
        }
        let mut sess = self.sessions.remove(key);
        self.sched.remove(tokens::SESSION_TASKS + key);
        let registry = self.poll.registry();
        let _ = registry.deregister(&mut sess.client.sock);
        sess.req.release(&mut self.pool);
        sess.res.release(&mut self.pool);
        if self.logger.enabled(LogLevel::Info) {
            let be = &self.backends[sess.backend];
            let line = TcpLog {
                client: sess.client_addr,
                accept_date: &accept_date(&sess.accept_date),
                frontend: &self.config.frontends[sess.frontend].name,
                backend: &self.config.backends[sess.backend].name,
                server: sess.server.map(|i| be.servers[i].name.as_str()),
                tw: 0,
                tc: sess.connect_ms.map_or(-1, |ms| ms as i64),
                tt: now.saturating_duration_since(sess.accepted).as_millis() as i64,
                bytes_out: sess.res.total,
                termination: term,
                actconn: self.actconn,
                feconn: self.feconn[sess.frontend],
                beconn: be.cur_sess,
                srv_conn: sess.server.map_or(0, |i| be.servers[i].cur_sess),
                retries: sess.retries,
                redispatched: false,
                srv_queue: 0,
                backend_queue: 0,
            }
            .render();
            self.logger.info(&line);
        }
        // Counts drop after the line: it reports them with this session in.
        if let Some(mut srv) = sess.srv.take() {
            let _ = self.poll.registry().deregister(&mut srv.sock);
            if let Some(i) = sess.server {
                let s = &mut self.backends[sess.backend].servers[i];
                s.cur_sess = s.cur_sess.saturating_sub(1);
            }
        }
        self.actconn -= 1;
        self.feconn[sess.frontend] -= 1;
        self.backends[sess.backend].cur_sess -= 1;
        self.sync_listeners();
    }

    /// Obeys one signal.
    pub fn on_signal(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::SoftStop => self.soft_stop(now),
            Command::HardStop => self.hard_stop(now),
            Command::DumpServers => self.dump_servers(),
            Command::DumpPools => {
                let st = self.pool.stats();
                let freed = self.pool.release_unused();
                self.logger.notice(&format!(
                    "SIGQUIT: pool buffer ({} bytes): {} allocated, {} used, {} peak, {} misses; released {} bytes",
                    st.bufsize, st.allocated, st.used, st.peak_used, st.misses, freed
                ));
            }
            Command::Pause => self.set_paused(true),
            Command::Resume => self.set_paused(false),
            Command::Ignore(sig) => self
                .logger
                .debug(&format!("worker {} ignores {sig:?}", self.id)),
        }
    }

    fn set_paused(&mut self, paused: bool) {
        let mut names: Vec<usize> = Vec::new();
        for l in &mut self.listeners {
            l.paused = paused;
            if !paused {
                l.shut = false;
            }
            if !names.contains(&l.frontend) {
                names.push(l.frontend);
            }
        }
        self.sync_listeners();
        for fe in names {
            let verb = if paused { "paused" } else { "resumed" };
            self.logger
                .notice(&format!("Proxy {} {verb}.", self.config.frontends[fe].name));
        }
    }

    fn soft_stop(&mut self, now: Instant) {
        if self.stopping != Stopping::No {
            return;
        }
        self.stopping = Stopping::Soft;
        self.logger
            .notice(&format!("worker {} stopping (soft stop)", self.id));
        let g = &self.config.global;
        self.sched
            .set_expiry(tokens::TASK_GRACE, Some(now + g.grace));
        if let Some(h) = g.hard_stop_after {
            self.sched.set_expiry(tokens::TASK_HARD_STOP, Some(now + h));
        }
    }

    /// The grace period is over: close every listener.
    pub fn close_listeners(&mut self) {
        let registry = self.poll.registry();
        for l in &mut self.listeners {
            l.close(registry);
        }
        for (i, fe) in self.config.frontends.iter().enumerate() {
            self.logger.notice(&format!(
                "Proxy {} stopped (cumulated conns: FE: {}, BE: {}).",
                fe.name,
                self.fe_total[i],
                fe.default_backend.map_or(0, |b| self.be_total[b])
            ));
        }
    }

    /// Closes everything now; sessions are logged with a `K` state.
    pub fn hard_stop(&mut self, now: Instant) {
        self.stopping = Stopping::Hard;
        self.close_listeners();
        let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
        for k in keys {
            let phase = match self.sessions[k].stage {
                crate::session::Stage::Connect => b'C',
                crate::session::Stage::Data => b'D',
            };
            self.close_session(k, [b'K', phase], now);
        }
    }

    fn dump_servers(&self) {
        for (b, be) in self.backends.iter().enumerate() {
            let bname = &self.config.backends[b].name;
            for s in &be.servers {
                self.logger.notice(&format!(
                    "SIGHUP: Server {bname}/{} is {}, weight {}. Conn: {} act, 0 pend, {} tot.",
                    s.name,
                    s.status(),
                    s.weight,
                    s.cur_sess,
                    s.total_sess
                ));
            }
        }
    }

    /// Runs one of the worker's own tasks.
    pub fn run_internal(&mut self, task: usize, now: Instant) {
        match task {
            tokens::TASK_GRACE => self.close_listeners(),
            tokens::TASK_HARD_STOP => {
                self.logger.warning(&format!(
                    "worker {}: hard-stop-after reached, killing remaining sessions",
                    self.id
                ));
                self.hard_stop(now);
            }
            tokens::TASK_LISTENERS => {
                for l in &mut self.listeners {
                    l.starved = false;
                }
                self.sync_listeners();
            }
            _ => {}
        }
    }

    /// Records what the poller said about a session's socket and wakes its task.
    pub fn on_session_event(&mut self, key: usize, side: Side, ev: &mio::event::Event) {
        let Some(sess) = self.sessions.get_mut(key) else {
            return;
        };
        let conn = match side {
            Side::Client => Some(&mut sess.client),
            Side::Server => sess.srv.as_mut(),
        };
        if let Some(c) = conn {
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                c.readable = true;
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                c.writable = true;
            }
        }
        self.sched.wake(tokens::SESSION_TASKS + key);
    }
}
