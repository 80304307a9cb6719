//! The worker: everything one worker process owns, and the operations the
//! loop performs on it (accept, run a session task, close a session, obey a
//! signal).

use crate::any_session::AnySession;
use crate::backend::BackendState;
use crate::idle::IdlePool;
pub use crate::listener::InheritedListener;
use crate::listener::Listener;
use crate::mux::h2_server::table::ServerMuxes;
use crate::pipes::PipePool;
use crate::scheduler::Scheduler;
use crate::signals::{self, Command};
use crate::tokens;
use mio::{Events, Interest, Poll};
use nix::sys::signalfd::SignalFd;
use slab::Slab;
use std::io;
use std::time::{Duration, Instant};
use weir_core::config::model::Config;
use weir_core::log::{Clock, Logger};
use weir_core::pool::BufferPool;
use weir_core::shm::{Px, SharedState};

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
    pub sessions: Slab<AnySession>,
    /// The rate-limit entries each session tracks since its accept (by
    /// session key; [`crate::track`]); only sessions that track one are
    /// here.
    pub tracks: std::collections::HashMap<usize, crate::track::Slots>,
    /// Parked server connections (HTTP reuse).
    pub idle: IdlePool,
    /// HTTP/2 connections to servers.
    pub muxes: ServerMuxes,
    /// HTTP streams: the live ones, and finished ones kept for reuse.
    pub streams: crate::stream::Streams,
    /// Tasks a run asked to wake ([`crate::context::Cx::wake`]).
    pub woken: Vec<usize>,
    /// The field and edit lists heads and rules reuse (HTTP).
    pub scratch: crate::http::Scratch,
    pub pool: BufferPool,
    /// Pipes for splicing TCP sessions.
    pub pipes: PipePool,
    pub backends: Vec<BackendState>,
    /// Current connections per frontend, and since start.
    pub feconn: Vec<usize>,
    /// The state every worker and the master share.
    pub shared: SharedState,
    /// Current client connections in this worker.
    pub actconn: usize,
    pub stopping: Stopping,
    pub clock: Clock,
    /// TLS: the binds' acceptors and the session ticket keys.
    pub tls: crate::tls::Binds,
    /// `shutdown sessions server`: the generations last seen.
    pub shutdowns: crate::shutdown::ShutdownWatch,
}

impl Worker {
    /// Builds the worker's state. Called in the child, after fork: the
    /// poller is created here, never inherited.
    pub fn new(
        id: usize,
        config: Config,
        mut logger: Logger,
        inherited: Vec<InheritedListener>,
        shared: SharedState,
    ) -> io::Result<Worker> {
        // The loop flushes the lines of each turn before it polls.
        logger.set_batched(true);
        // The proxies' own log targets, opened once for this worker.
        logger.route_proxies(&config)?;
        let poll = Poll::new()?;
        let signals = signals::open()?;
        poll.registry().register(
            &mut mio::unix::SourceFd(&std::os::fd::AsRawFd::as_raw_fd(&signals)),
            tokens::SIGNALS,
            Interest::READABLE,
        )?;
        let tls = crate::tls::Binds::new(&config, &shared, &inherited)?;
        let listeners: Vec<Listener> = inherited
            .into_iter()
            .map(|l| {
                l.sock.set_nonblocking(true)?;
                let mut listener = Listener::new(l.frontend, l.name, l.sock);
                listener.bind = l.bind;
                listener.shared = !l.shard;
                listener.tls = tls.acceptor(l.frontend, l.bind);
                Ok(listener)
            })
            .collect::<io::Result<_>>()?;
        let backends = config
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| BackendState::new(b, shared.backends[i], &shared.servers[i]))
            .collect();
        let nfe = config.frontends.len();
        let mut w = Worker {
            id,
            events: Events::with_capacity(config.global.maxpollevents.max(1)),
            pool: BufferPool::new(config.global.bufsize),
            pipes: crate::pipes::for_worker(&config, listeners.len()),
            config,
            logger,
            poll,
            sched: Scheduler::default(),
            signals,
            signals_ready: true,
            listeners,
            sessions: Slab::new(),
            tracks: Default::default(),
            idle: IdlePool::for_worker(),
            muxes: ServerMuxes::default(),
            streams: Default::default(),
            woken: Vec::new(),
            scratch: Default::default(),
            backends,
            feconn: vec![0; nfe],
            shared,
            actconn: 0,
            stopping: Stopping::No,
            clock: Clock::default(),
            shutdowns: Default::default(),
            tls,
        };
        w.sync_listeners();
        // Certificates committed before this worker started (it may be
        // a replacement): served from its first handshake.
        let index = w.index();
        w.tls
            .apply_commits(&w.shared, index, &w.logger, Instant::now());
        Ok(w)
    }

    /// This worker's index among the workers (0-based).
    pub fn index(&self) -> usize {
        self.id - 1
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

    /// Obeys one signal.
    pub fn on_signal(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::SoftStop => self.soft_stop(now),
            Command::HardStop => self.hard_stop(now),
            Command::DumpServers => self.dump_servers(),
            Command::DumpPools => {
                let st = self.pool.stats();
                let freed = self.pool.release_unused();
                self.streams.spares.release();
                self.scratch.release();
                self.sessions.shrink_to_fit();
                self.streams.live.shrink_to_fit();
                self.logger.notice(&format!(
                    "SIGQUIT: pool buffer ({} bytes): {} allocated, {} used, {} peak, {} misses; released {} bytes",
                    st.bufsize, st.allocated, st.used, st.peak_used, st.misses, freed
                ));
                let ps = self.pipes.stats();
                let closed = self.pipes.release_unused();
                self.logger.notice(&format!(
                    "SIGQUIT: pool pipe ({} bytes): {} allocated, {} used, {} peak, {} max, {} refused, {} bytes spliced; released {} pipes",
                    ps.size, ps.allocated, ps.used, ps.peak_used, ps.max, ps.refused, ps.spliced, closed
                ));
                if let Some(a) = weir_core::sys::alloc_counts() {
                    self.logger.notice(&format!(
                        "SIGQUIT: allocations: {} allocs, {} reallocs, {} frees",
                        a.allocs, a.reallocs, a.frees
                    ));
                }
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
        self.soft_stop_sessions();
        self.idle.clear();
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
                self.shared.frontends[i].get(Px::Stot),
                fe.default_backend
                    .map_or(0, |b| self.shared.backends[b].get(Px::Stot))
            ));
        }
    }

    /// Closes everything now; sessions are logged with a `K` state.
    pub fn hard_stop(&mut self, now: Instant) {
        self.stopping = Stopping::Hard;
        self.close_listeners();
        let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.kill_session(k, now);
        }
        self.idle.clear();
    }

    fn dump_servers(&self) {
        for line in self.shared.server_lines(&self.config) {
            self.logger.notice(&format!("SIGHUP: {line}"));
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
            tokens::TASK_IDLE => {
                self.idle.purge(now);
                if !self.idle.is_empty() {
                    self.sched
                        .set_expiry(tokens::TASK_IDLE, Some(now + Duration::from_secs(1)));
                }
            }
            tokens::TASK_LISTENERS => self.retry_listeners(now),
            _ => {}
        }
    }
}
