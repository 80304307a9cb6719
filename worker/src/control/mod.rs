//! The control process: forked by the master beside the workers, it runs
//! what must happen once for the whole service rather than once per worker
//! — the health checks, and the runtime API on `stats_socket` — and
//! handles no traffic. It reads and writes the shared state
//! ([`weir_core::shm`]) the workers route on, so a check result or an
//! admin change reaches every worker at once.
//!
//! Its loop is the workers' loop in small: drain signals (TERM, INT, USR1:
//! leave) → run the parts' expired timers → poll until the next timer →
//! hand each event to the part that owns its token. Each [`Part`] owns a
//! range of tokens ([`part_token`]).

mod check_log;
mod checks;
mod cli;
mod commands;
pub mod dns;
mod dynamic;
mod probe;
mod servers_state;
mod ssl_cert;
mod stat_filter;
mod tables;

use crate::signals;
use mio::{Events, Interest, Poll, Registry, Token};
use nix::sys::signal::Signal;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};
use weir_core::config::Config;
use weir_core::log::Logger;
use weir_core::shm::SharedState;

/// Token of the control process's signal queue.
const SIGNALS: Token = Token(0);
/// Tokens per part.
const PART_SPAN: usize = 1 << 32;

/// The token `n` of part number `part` (1-based).
pub fn part_token(part: usize, n: usize) -> Token {
    Token(part * PART_SPAN + n)
}

/// What the control process needs from each of its jobs.
pub trait Part {
    /// A name for logs.
    fn name(&self) -> &'static str;
    /// Called at the start of every turn: take in changes other parts made
    /// to the shared state (servers added or deleted by the runtime API).
    fn sync(&mut self, _cx: &mut ControlCtx) {}
    /// An event on one of this part's tokens (`n` is the token's number
    /// within the part).
    fn on_event(&mut self, cx: &mut ControlCtx, n: usize, ev: &mio::event::Event);
    /// Runs whatever timers expired by `cx.now`.
    fn on_timers(&mut self, cx: &mut ControlCtx);
    /// The next date `on_timers` must run, if any.
    fn next_timer(&self) -> Option<Instant>;
}

/// What a part may use.
pub struct ControlCtx<'a> {
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub logger: &'a Logger,
    pub shared: &'a SharedState,
    pub now: Instant,
    /// The runtime API's listening socket, bound by the master.
    pub stats_socket: Option<&'a UnixListener>,
    /// The TLS certificate files and the runtime API's transaction.
    pub certs: &'a mut ssl_cert::SslCerts,
    /// The resolvers' counters (`show resolvers`).
    pub dns: &'a mut dns::stats::DnsStats,
}

/// Builds the parts for `config` (each part registers its own sockets).
pub type PartFactory = fn(usize, &mut ControlCtx) -> std::io::Result<Option<Box<dyn Part>>>;

/// The jobs of the control process, in part-number order.
fn factories() -> Vec<PartFactory> {
    vec![checks::factory, cli::factory, dns::factory]
}

/// Whether `config` gives the control process anything to do.
pub fn needed(config: &Config) -> bool {
    config.global.stats_socket.is_some()
        || config.backends.iter().any(|b| {
            b.check.is_some()
                || !b.templates.is_empty()
                || b.servers.iter().any(|s| s.dns.is_some())
        })
}

/// Runs the control process until it is told to leave. Returns its exit
/// status. `stats_socket` is the runtime API's socket, if configured.
pub fn run(
    config: Config,
    logger: Logger,
    shared: SharedState,
    stats_socket: Option<UnixListener>,
) -> i32 {
    match run_loop(&config, &logger, &shared, stats_socket.as_ref()) {
        Ok(()) => 0,
        Err(e) => {
            logger.alert(&format!("control process: {e}"));
            1
        }
    }
}

fn run_loop(
    config: &Config,
    logger: &Logger,
    shared: &SharedState,
    stats_socket: Option<&UnixListener>,
) -> std::io::Result<()> {
    let mut poll = Poll::new()?;
    let sfd = signals::open()?;
    poll.registry().register(
        &mut mio::unix::SourceFd(&std::os::fd::AsRawFd::as_raw_fd(&sfd)),
        SIGNALS,
        Interest::READABLE,
    )?;
    let mut parts: Vec<Box<dyn Part>> = Vec::new();
    let mut certs = ssl_cert::SslCerts::new(config, &shared.certs, logger);
    let mut dns_stats = dns::stats::DnsStats::new(&config.resolvers);
    {
        let mut cx = ControlCtx {
            registry: poll.registry(),
            config,
            logger,
            shared,
            now: Instant::now(),
            stats_socket,
            certs: &mut certs,
            dns: &mut dns_stats,
        };
        // A part's number is its place among the parts that exist (a
        // factory may have nothing to do), so events find it.
        for make in factories() {
            if let Some(p) = make(parts.len() + 1, &mut cx)? {
                parts.push(p);
            }
        }
    }
    let mut events = Events::with_capacity(256);
    loop {
        for sig in signals::drain(&sfd) {
            match sig {
                Signal::SIGTERM | Signal::SIGINT | Signal::SIGUSR1 => return Ok(()),
                _ => {}
            }
        }
        let now = Instant::now();
        let mut cx = ControlCtx {
            registry: poll.registry(),
            config,
            logger,
            shared,
            now,
            stats_socket: None,
            certs: &mut certs,
            dns: &mut dns_stats,
        };
        for p in &mut parts {
            p.sync(&mut cx);
        }
        for p in &mut parts {
            if p.next_timer().is_some_and(|t| t <= now) {
                p.on_timers(&mut cx);
            }
        }
        let next = parts.iter().filter_map(|p| p.next_timer()).min();
        let timeout = next.map_or(Duration::from_secs(1), |t| {
            t.saturating_duration_since(Instant::now())
        });
        if let Err(e) = poll.poll(&mut events, Some(timeout.min(Duration::from_secs(1)))) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let now = Instant::now();
        let mut cx = ControlCtx {
            registry: poll.registry(),
            config,
            logger,
            shared,
            now,
            stats_socket: None,
            certs: &mut certs,
            dns: &mut dns_stats,
        };
        for ev in events.iter() {
            let t = ev.token().0;
            if t == SIGNALS.0 {
                continue;
            }
            let (part, n) = (t / PART_SPAN, t % PART_SPAN);
            if let Some(p) = part.checked_sub(1).and_then(|i| parts.get_mut(i)) {
                p.on_event(&mut cx, n, ev);
            }
        }
        // A command may have added or deleted servers: the checks take
        // them in before the next poll.
        for p in &mut parts {
            p.sync(&mut cx);
        }
    }
}
