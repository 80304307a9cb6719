//! Waiting for a server slot: per-server `maxconn` and the backend queue.
//!
//! A server at its `maxconn` (sessions counted over every worker, in shared
//! memory) takes no new connection. A session (TCP) or stream (HTTP) that
//! finds every candidate server full waits in its backend's queue, one
//! FIFO per backend in each worker, until a slot frees or `timeout.queue`
//! passes (then 503 in HTTP, a close in TCP, both logged `sQ`). Its key in
//! the queue is its task number ([`crate::tokens`]).
//!
//! Nothing blocks. A waiting task sleeps; it is woken when
//!
//! - a session or stream of this worker on that backend lets go of its server
//!   ([`crate::backend::BackendState::release`]): the head of the queue is
//!   woken, retries its pick, and if it gets a server it leaves the queue
//!   and wakes the next one, and so on while slots are free;
//! - its timer expires: the queue timeout, or, for the head only, a short
//!   re-check ([`HEAD_RECHECK`]) that notices slots freed by other workers
//!   and servers coming back;
//! - it arrives while others wait: it queues behind them (first come,
//!   first served in the worker) and wakes the head, in case a slot is free.
//!
//! The worker moves the woken tasks ([`WaitQueue::take_wakes`]) to its run
//! queue after each task run, and forgets a closed session's or retired
//! stream's task ([`WaitQueue::forget`]) so that a reused key is never
//! mistaken for it.
//!
//! Known limits: queues are per worker (a worker serves its own first; the
//! `bq` logged counts this worker's queue), and workers that pick at the
//! same instant can exceed a `maxconn` by the number of workers minus one.

use crate::backend::{BackendState, Pick};
use crate::balance::PickCtx;
use crate::term::{At, Cause, Termination};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often the head of a queue re-checks the servers on its own.
pub const HEAD_RECHECK: Duration = Duration::from_millis(10);

/// A session's or stream's stay in a queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wait {
    /// When it entered the queue, while it is in it.
    pub since: Option<Instant>,
    /// When it gives up.
    pub deadline: Option<Instant>,
    /// Milliseconds spent in the queue, once out (Tw).
    pub waited_ms: u64,
    /// How many waited before it in this worker's queue when it entered
    /// (the log's `bq`).
    pub ahead: usize,
}

impl Wait {
    pub fn queued(&self) -> bool {
        self.since.is_some()
    }

    /// Tw for the log: the time spent queued, so far if still queued.
    pub fn tw(&self, now: Instant) -> u64 {
        match self.since {
            Some(t) => now.saturating_duration_since(t).as_millis() as u64,
            None => self.waited_ms,
        }
    }

    /// Out of the queue now (Tw stops counting).
    pub fn leave(&mut self, now: Instant) {
        self.waited_ms = self.tw(now);
        self.since = None;
        self.deadline = None;
    }
}

/// One backend's queue in this worker: task numbers, first come first.
#[derive(Debug, Default)]
pub struct WaitQueue {
    waiting: VecDeque<usize>,
    /// Keys whose task must run (see the module doc).
    wake: Vec<usize>,
}

impl WaitQueue {
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub fn is_head(&self, key: usize) -> bool {
        self.waiting.front() == Some(&key)
    }

    /// A slot was freed: the head tries its luck.
    pub fn slot_freed(&mut self) {
        if let Some(&k) = self.waiting.front() {
            self.wake.push(k);
        }
    }

    /// Takes `key` out (it got a server, gave up or closed); if it was the
    /// head, the next one is woken.
    pub fn forget(&mut self, key: usize) {
        if self.waiting.is_empty() {
            return;
        }
        if let Some(pos) = self.waiting.iter().position(|&k| k == key) {
            self.waiting.remove(pos);
            if pos == 0 {
                self.slot_freed();
            }
        }
    }

    /// The keys to wake, emptying the list.
    pub fn take_wakes(&mut self) -> std::vec::Drain<'_, usize> {
        self.wake.drain(..)
    }

    fn push(&mut self, key: usize) -> usize {
        let ahead = self.waiting.len();
        self.waiting.push_back(key);
        ahead
    }
}

/// What [`admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Connect to this server.
    Server(usize),
    /// Wait in the queue: the task runs again when woken or at
    /// [`wake_at`].
    Wait,
    /// No server can take traffic: fail now.
    NoServer,
    /// The queue timeout passed: fail with `sQ`.
    Expired,
}

impl Admit {
    /// The decision as the sessions use it: `Ok(Some(server))` to connect,
    /// `Ok(None)` to wait, `Err(termination state)` to fail (`SC`, `sQ`).
    pub fn server(self) -> Result<Option<usize>, Termination> {
        match self {
            Admit::Server(i) => Ok(Some(i)),
            Admit::Wait => Ok(None),
            Admit::NoServer => Err(Termination::server(At::Connect)),
            Admit::Expired => Err(Termination::new(Cause::ServerTimeout, At::Queue)),
        }
    }
}

/// Gets task `key` a server of `be`, or a place in its queue.
/// `timeout` is the queue timeout; `avoid` the server that just failed.
pub fn admit(
    be: &mut BackendState,
    wait: &mut Wait,
    key: usize,
    req: &PickCtx,
    avoid: Option<usize>,
    now: Instant,
    timeout: Duration,
) -> Admit {
    if wait.queued() {
        if wait.deadline.is_some_and(|d| now >= d) {
            be.queue.forget(key);
            wait.leave(now);
            return Admit::Expired;
        }
        if !be.queue.is_head(key) {
            return Admit::Wait;
        }
    } else if !be.queue.is_empty() {
        // Others wait already: behind them.
        enqueue(be, wait, key, now, timeout);
        be.queue.slot_freed();
        return Admit::Wait;
    }
    match be.pick(req, avoid) {
        Pick::Server(i) => {
            if wait.queued() {
                be.queue.forget(key);
                wait.leave(now);
            }
            Admit::Server(i)
        }
        // A queued request keeps waiting while no server is usable: one may
        // come back before its timeout (HAProxy's pending connections too).
        Pick::NoServer if !wait.queued() => Admit::NoServer,
        Pick::Full | Pick::NoServer => {
            if !wait.queued() {
                enqueue(be, wait, key, now, timeout);
            }
            Admit::Wait
        }
    }
}

fn enqueue(be: &mut BackendState, wait: &mut Wait, key: usize, now: Instant, timeout: Duration) {
    wait.ahead = be.queue.push(key);
    wait.since = Some(now);
    wait.deadline = Some(now + timeout);
}

/// When a queued task must run again by itself: at its deadline, or
/// sooner for the head, which re-checks the servers.
pub fn wake_at(be: &BackendState, wait: &Wait, key: usize, now: Instant) -> Instant {
    let deadline = wait.deadline.unwrap_or(now);
    if be.queue.is_head(key) {
        deadline.min(now + HEAD_RECHECK)
    } else {
        deadline
    }
}

/// Moves every woken key of every backend to the scheduler's run queue
/// (`task(key)` names the task of a queue key).
pub fn wake_waiting(
    backends: &mut [BackendState],
    sched: &mut crate::scheduler::Scheduler,
    task: impl Fn(usize) -> usize,
) {
    for b in backends {
        for k in b.queue.take_wakes() {
            sched.wake(task(k));
        }
    }
}

/// Task `key` (a closed session, a retired stream) is out of every queue.
pub fn forget_everywhere(backends: &mut [BackendState], key: usize) {
    for b in backends {
        b.queue.forget(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::config::load_str;
    use weir_core::shm::SharedState;

    fn backend(maxconn: usize) -> BackendState {
        let text = format!(
            "[frontend.f]\nbind = \"127.0.0.1:1\"\ndefault_backend = \"b\"\n[backend.b]\n\
             server = [{{ name = \"s\", address = \"127.0.0.1:2\", maxconn = {maxconn} }}]\n"
        );
        let config = match load_str("t.toml", &text) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        };
        let shared = SharedState::private(&config);
        BackendState::new(&config.backends[0], shared.backends[0], &shared.servers[0])
    }

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn fifo_wakes_and_timeout() {
        let mut be = backend(1);
        let now = Instant::now();
        let ctx = PickCtx::default();
        let mut w: Vec<Wait> = vec![Wait::default(); 3];
        assert_eq!(
            admit(&mut be, &mut w[0], 0, &ctx, None, now, T),
            Admit::Server(0)
        );
        be.servers[0].shm.enter(0);
        // Full: 1 and 2 queue, in order.
        assert_eq!(
            admit(&mut be, &mut w[1], 1, &ctx, None, now, T),
            Admit::Wait
        );
        assert_eq!(
            admit(&mut be, &mut w[2], 2, &ctx, None, now, T),
            Admit::Wait
        );
        assert_eq!((be.queue.len(), w[1].ahead, w[2].ahead), (2, 0, 1));
        be.queue.take_wakes().for_each(drop);
        // 2 is not the head: it waits even if a slot is free.
        be.release(0, 0);
        assert_eq!(be.queue.take_wakes().collect::<Vec<_>>(), [1]);
        assert_eq!(
            admit(&mut be, &mut w[2], 2, &ctx, None, now, T),
            Admit::Wait
        );
        let later = now + Duration::from_millis(30);
        assert_eq!(
            admit(&mut be, &mut w[1], 1, &ctx, None, later, T),
            Admit::Server(0)
        );
        assert_eq!((w[1].queued(), w[1].waited_ms), (false, 30));
        // Leaving the head wakes the next one.
        assert_eq!(be.queue.take_wakes().collect::<Vec<_>>(), [2]);
        be.servers[0].shm.enter(0);
        let end = now + T;
        assert_eq!(
            admit(&mut be, &mut w[2], 2, &ctx, None, end, T),
            Admit::Expired
        );
        assert!(be.queue.is_empty());
        assert_eq!(w[2].tw(end), 1000);
    }

    #[test]
    fn newcomer_queues_behind_and_forget() {
        let mut be = backend(1);
        let now = Instant::now();
        let ctx = PickCtx::default();
        let mut w: Vec<Wait> = vec![Wait::default(); 3];
        be.servers[0].shm.enter(0);
        assert_eq!(
            admit(&mut be, &mut w[0], 0, &ctx, None, now, T),
            Admit::Wait
        );
        be.servers[0].shm.leave(0);
        // A slot is free, but 0 waits first: 1 queues and 0 is woken.
        be.queue.take_wakes().for_each(drop);
        let at = admit(&mut be, &mut w[1], 1, &ctx, None, now, T);
        assert_eq!(at, Admit::Wait);
        assert_eq!(wake_at(&be, &w[1], 1, now), now + T);
        assert_eq!(wake_at(&be, &w[0], 0, now), now + HEAD_RECHECK);
        assert_eq!(be.queue.take_wakes().collect::<Vec<_>>(), [0]);
        assert_eq!(
            admit(&mut be, &mut w[0], 0, &ctx, None, now, T),
            Admit::Server(0)
        );
        // 1 closes while queued.
        forget_everywhere(std::slice::from_mut(&mut be), 1);
        assert!(be.queue.is_empty());
    }
}
