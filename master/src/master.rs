//! The master: supervises the workers and never touches traffic.
//!
//! Its loop waits on its signal queue (a signalfd: the signals are blocked,
//! so no handler ever runs) with the next timer as timeout, then: obeys the
//! signals (forwarding them to the workers), reaps exited workers, and runs
//! its timers (respawns, end of grace, `hard_stop_after`, final kill). It
//! leaves when stopping and no worker is left.

use crate::bind::{self, BoundListener};
use crate::privileges;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use weir_core::config::Config;
use weir_core::log::Logger;
use weir_core::shm::SharedState;
use weir_worker::signals;

/// Restarts allowed per worker slot within [`RESTART_WINDOW`] before the
/// master waits.
const RESTART_BURST: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(10);
/// How long workers get to leave after SIGTERM before SIGKILL.
const KILL_AFTER: Duration = Duration::from_secs(3);

/// One worker position: its CPU stays the same across respawns.
pub struct Slot {
    /// 1-based, as in the logs; 0 is the control process.
    pub id: usize,
    pub cpu: Option<usize>,
    pub pid: Option<Pid>,
    starts: VecDeque<Instant>,
    respawn_at: Option<Instant>,
}

impl Slot {
    pub fn new(id: usize, cpu: Option<usize>) -> Slot {
        Slot {
            id,
            cpu,
            pid: None,
            starts: VecDeque::new(),
            respawn_at: None,
        }
    }

    pub fn started(&mut self, pid: Pid) {
        self.pid = Some(pid);
        self.respawn_at = None;
        self.starts.push_back(Instant::now());
        while self.starts.len() > RESTART_BURST {
            self.starts.pop_front();
        }
    }

    /// The slots a configuration asks for: `nbproc` workers, and the
    /// control process (slot 0) when the configuration gives it something
    /// to do (health checks, runtime API).
    pub fn for_config(config: &Config) -> Vec<Slot> {
        let mut slots: Vec<Slot> = (0..config.global.nbproc)
            .map(|i| Slot::new(i + 1, crate::spawn::cpu_for(&config.global.cpu_map, i)))
            .collect();
        if weir_worker::control::needed(config) {
            slots.push(Slot::new(0, None));
        }
        slots
    }

    pub fn respawn_in(&mut self, d: Duration) {
        self.respawn_at = Some(Instant::now() + d);
    }

    /// How long to wait before the next start: nothing, unless the slot
    /// used its whole burst within the window.
    fn backoff(&self, now: Instant) -> Duration {
        match self.starts.front() {
            Some(&oldest) if self.starts.len() >= RESTART_BURST => {
                (oldest + RESTART_WINDOW).saturating_duration_since(now)
            }
            _ => Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopping {
    No,
    Soft,
    Hard,
}

pub struct Master {
    pub pid: Pid,
    pub config: Config,
    pub logger: Logger,
    pub listeners: Vec<BoundListener>,
    pub privileges: privileges::Drop,
    pub slots: Vec<Slot>,
    /// Processes of a previous configuration, finishing after a reload.
    pub draining: Vec<Slot>,
    /// Reloads done.
    pub generation: u64,
    /// The `-f` paths, absolute, read again on reload.
    pub config_paths: Vec<PathBuf>,
    pub signals: Option<SignalFd>,
    /// Where a new master (`-sf`) asks for the listening sockets.
    pub takeover: Option<crate::takeover::TakeoverServer>,
    /// systemd's `$NOTIFY_SOCKET` (inert without it).
    pub notify: crate::notify::Notifier,
    /// The state every worker shares, mapped before the first fork.
    pub shared: SharedState,
    /// The runtime API's socket, for the control process only.
    pub stats_socket: Option<crate::stats_socket::StatsSocket>,
    /// The TLS session ticket keys every worker shares.
    pub tickets: crate::tickets::Tickets,
    pub stopping: Stopping,
    grace_at: Option<Instant>,
    hard_at: Option<Instant>,
    kill_at: Option<Instant>,
}

impl Master {
    pub fn new(
        config: Config,
        logger: Logger,
        listeners: Vec<BoundListener>,
        privileges: privileges::Drop,
        signals: SignalFd,
        shared: SharedState,
        config_paths: Vec<PathBuf>,
    ) -> Master {
        let slots = Slot::for_config(&config);
        Master {
            pid: nix::unistd::getpid(),
            config,
            logger,
            listeners,
            privileges,
            slots,
            draining: Vec::new(),
            generation: 0,
            config_paths,
            signals: Some(signals),
            takeover: None,
            notify: crate::notify::Notifier::from_env(),
            shared,
            stats_socket: None,
            tickets: crate::tickets::Tickets::none(),
            stopping: Stopping::No,
            grace_at: None,
            hard_at: None,
            kill_at: None,
        }
    }

    /// Opens the socket a new master started with `-sf` asks for the
    /// listening sockets (abstract namespace: no file, works in a chroot).
    pub fn open_takeover(&mut self) {
        match crate::takeover::TakeoverServer::bind(std::process::id()) {
            Ok(t) => self.takeover = Some(t),
            Err(e) => self
                .logger
                .warning(&format!("socket takeover unavailable: {e}")),
        }
    }

    /// Forks every worker.
    pub fn spawn_all(&mut self) {
        for i in 0..self.slots.len() {
            self.spawn(i);
        }
    }

    /// Every child: current workers and control process, and those still
    /// finishing after a reload.
    fn worker_pids(&self) -> Vec<Pid> {
        self.slots
            .iter()
            .chain(&self.draining)
            .filter_map(|s| s.pid)
            .collect()
    }

    fn forward(&self, sig: Signal) {
        for pid in self.worker_pids() {
            let _ = kill(pid, sig);
        }
    }

    /// Supervises until the last worker is gone after a stop. Returns the
    /// exit status.
    pub fn run(&mut self) -> i32 {
        loop {
            self.wait_for_signals();
            for sig in self
                .signals
                .as_ref()
                .map(signals::drain)
                .unwrap_or_default()
            {
                self.on_signal(sig);
            }
            self.reap();
            self.run_timers(Instant::now());
            if self.stopping != Stopping::No && self.worker_pids().is_empty() {
                return 0;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let respawns = self.slots.iter().filter_map(|s| s.respawn_at);
        [
            self.grace_at,
            self.hard_at,
            self.kill_at,
            self.tickets.deadline(),
        ]
        .into_iter()
        .flatten()
        .chain(respawns)
        .min()
    }

    fn wait_for_signals(&self) {
        let Some(sfd) = self.signals.as_ref() else {
            return;
        };
        let wait = self
            .next_deadline()
            .map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_secs(1));
        let ms = u16::try_from(wait.as_millis()).unwrap_or(1000);
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(t) = &self.takeover {
            fds.push(PollFd::new(t.fd(), PollFlags::POLLIN));
        }
        let _ = poll(&mut fds, PollTimeout::from(ms));
        let asked = fds
            .get(1)
            .and_then(|f| f.revents())
            .is_some_and(|r| r.contains(PollFlags::POLLIN));
        if asked {
            if let Some(t) = &self.takeover {
                let tables = || weir_core::shm::carry::dump(&self.shared, &self.config);
                t.serve(&self.listeners, self.tickets.ring(), &tables, &self.logger);
            }
        }
    }

    fn on_signal(&mut self, sig: Signal) {
        let now = Instant::now();
        match sig {
            Signal::SIGCHLD => {}
            Signal::SIGUSR1 => self.soft_stop(now),
            Signal::SIGTERM | Signal::SIGINT => self.hard_stop(now),
            // One view of the service: the master reports it once.
            Signal::SIGHUP => {
                for line in self.shared.server_lines(&self.config) {
                    self.logger.notice(&format!("SIGHUP: {line}"));
                }
            }
            Signal::SIGQUIT => self.forward(sig),
            Signal::SIGTTOU => {
                self.forward(sig);
                for l in &self.listeners {
                    if let Err(e) = bind::pause(l) {
                        self.logger
                            .warning(&format!("cannot pause {}: {e}", l.name));
                    }
                }
                self.logger.notice("master: listeners paused (SIGTTOU)");
            }
            Signal::SIGTTIN => {
                for l in &self.listeners {
                    if let Err(e) = bind::resume(l) {
                        self.logger
                            .warning(&format!("cannot resume {}: {e}", l.name));
                    }
                }
                self.forward(sig);
                self.logger.notice("master: listeners resumed (SIGTTIN)");
            }
            Signal::SIGUSR2 if self.stopping == Stopping::No => {
                let before = self.generation;
                self.notify.reloading();
                self.reload();
                self.notify.ready(&if self.generation > before {
                    format!("reload done (generation {})", self.generation)
                } else {
                    "reload aborted, previous configuration running".to_string()
                });
            }
            other => self.logger.debug(&format!("master ignores {other:?}")),
        }
    }

    fn soft_stop(&mut self, now: Instant) {
        if self.stopping != Stopping::No {
            return;
        }
        self.stopping = Stopping::Soft;
        self.logger.notice("master stopping (soft stop)");
        self.notify.stopping("soft stop: finishing sessions");
        for s in &mut self.slots {
            s.respawn_at = None;
        }
        self.forward(Signal::SIGUSR1);
        self.grace_at = Some(now + self.config.global.grace);
        self.hard_at = self.config.global.hard_stop_after.map(|h| now + h);
    }

    fn hard_stop(&mut self, now: Instant) {
        if self.stopping == Stopping::Hard {
            return;
        }
        if self.stopping == Stopping::No {
            self.notify.stopping("hard stop");
        }
        self.stopping = Stopping::Hard;
        self.logger.notice("master stopping (hard stop)");
        for s in &mut self.slots {
            s.respawn_at = None;
        }
        self.listeners.clear();
        self.grace_at = None;
        self.hard_at = None;
        self.forward(Signal::SIGTERM);
        self.kill_at = Some(now + KILL_AFTER);
    }

    /// Collects every exited worker; schedules respawns when not stopping.
    fn reap(&mut self) {
        loop {
            let (pid, how) = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, format!("exited with status {code}")),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    (pid, format!("killed by signal {}", sig.as_str()))
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            };
            let now = Instant::now();
            if let Some(i) = self.draining.iter().position(|s| s.pid == Some(pid)) {
                let old = self.draining.remove(i);
                self.logger.notice(&format!(
                    "old {} (pid {pid}) {how}",
                    crate::spawn::describe(old.id)
                ));
                continue;
            }
            let Some(slot) = self.slots.iter_mut().find(|s| s.pid == Some(pid)) else {
                continue;
            };
            slot.pid = None;
            let id = slot.id;
            // Its sessions are gone with it.
            if id > 0 {
                self.shared.reset_worker(id - 1);
            }
            self.logger
                .notice(&format!("{} (pid {pid}) {how}", crate::spawn::describe(id)));
            if self.stopping == Stopping::No {
                let wait = slot.backoff(now);
                slot.respawn_at = Some(now + wait);
                if wait.is_zero() {
                    self.logger
                        .notice(&format!("respawning {}", crate::spawn::describe(id)));
                } else {
                    self.logger.warning(&format!(
                        "{} restarts too often; respawning in {} ms",
                        crate::spawn::describe(id),
                        wait.as_millis()
                    ));
                }
            }
        }
    }

    fn run_timers(&mut self, now: Instant) {
        self.tickets
            .run(now, &self.config, &self.shared, &self.logger);
        if self.grace_at.is_some_and(|t| now >= t) {
            self.grace_at = None;
            self.listeners.clear();
            self.logger
                .notice("master: grace period over, listeners closed");
        }
        if self.hard_at.is_some_and(|t| now >= t) {
            self.hard_at = None;
            self.logger
                .warning("hard-stop-after reached: terminating the remaining workers");
            self.forward(Signal::SIGTERM);
            self.kill_at = Some(now + KILL_AFTER);
        }
        if self.kill_at.is_some_and(|t| now >= t) {
            self.kill_at = None;
            self.forward(Signal::SIGKILL);
        }
        for i in 0..self.slots.len() {
            if self.slots[i].respawn_at.is_some_and(|t| now >= t) && self.stopping == Stopping::No {
                self.slots[i].respawn_at = None;
                self.spawn(i);
            }
        }
    }
}
