//! The worker's loop, in HAProxy's order (`run_poll_loop`):
//!
//! 1. drain the signal queue;
//! 2. take in the servers the runtime API added, deleted or moved (one
//!    load per backend: [`crate::backend::BackendState::refresh`]); wake
//!    the tasks whose timers expired (and kill the sessions on a server
//!    the runtime API shut down: [`crate::shutdown`]; take the
//!    certificates it committed: [`crate::tls`]);
//! 3. run a bounded batch of runnable tasks;
//! 4. leave when stopping and no job remains;
//! 5. send the log lines of the turn (one batch per target), then poll,
//!    sleeping until the next timer at most (not at all if work is left
//!    over);
//! 6. I/O callbacks: record readiness, wake tasks, accept connections.

use crate::signals;
use crate::tokens::{self, Owner, Task};
use crate::worker::{Stopping, Worker};
use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// Tasks run per turn before polling again.
const RUN_BATCH: usize = 256;
/// The longest the poller sleeps, even with no timer due (a safety net).
const MAX_SLEEP: Duration = Duration::from_secs(1);

pub fn run_poll_loop(w: &mut Worker) {
    loop {
        process_signals(w);
        let now = Instant::now();
        for b in &mut w.backends {
            b.refresh();
        }
        w.sched.wake_expired(now);
        w.check_shutdowns(now);
        let index = w.index();
        w.tls.apply_commits(&w.shared, index, &w.logger, now);
        run_tasks(w, now);
        if w.stopping == Stopping::Hard || (w.stopping == Stopping::Soft && w.jobs() == 0) {
            w.logger.flush();
            return;
        }
        w.logger.flush();
        poll(w);
        process_io(w);
    }
}

fn process_signals(w: &mut Worker) {
    if !std::mem::take(&mut w.signals_ready) {
        return;
    }
    let now = Instant::now();
    for sig in signals::drain(&w.signals) {
        w.on_signal(signals::command(sig), now);
    }
}

fn run_tasks(w: &mut Worker, now: Instant) {
    for _ in 0..RUN_BATCH {
        let Some(task) = w.sched.next_runnable() else {
            break;
        };
        match tokens::task(task) {
            Task::Internal(t) => w.run_internal(t, now),
            Task::Session(k) => w.run_session(k, now),
            Task::Stream(j) => w.run_stream_task(j, now),
            Task::Mux(m) => w.run_mux(m, now),
        }
    }
}

fn poll(w: &mut Worker) {
    let busy = w.sched.has_runnable()
        || w.signals_ready
        || w.listeners.iter().any(|l| l.backlog && l.is_polled());
    let timeout = if busy {
        Duration::ZERO
    } else {
        let now = Instant::now();
        w.sched.next_expiry().map_or(MAX_SLEEP, |at| {
            at.saturating_duration_since(now).min(MAX_SLEEP)
        })
    };
    if let Err(e) = w.poll.poll(&mut w.events, Some(timeout)) {
        if e.kind() != ErrorKind::Interrupted {
            w.logger
                .alert(&format!("worker {}: poll failed: {e}", w.id));
            w.hard_stop(Instant::now());
        }
    }
}

fn process_io(w: &mut Worker) {
    let now = Instant::now();
    let events = std::mem::replace(&mut w.events, mio::Events::with_capacity(0));
    for ev in events.iter() {
        match tokens::owner(ev.token()) {
            Owner::Signals => w.signals_ready = true,
            Owner::Listener(i) => {
                if i < w.listeners.len() {
                    w.accept(i, now);
                }
            }
            Owner::Session(key, slot) => w.on_session_event(key, slot, ev),
            Owner::Mux(m) => {
                w.muxes.on_event(m, ev);
                w.sched.wake(tokens::mux_task(m));
            }
            Owner::Idle(id) => w.idle.on_event(id),
        }
    }
    w.events = events;
    // Listeners whose last batch stopped on its budget accept again.
    for i in 0..w.listeners.len() {
        if w.listeners[i].backlog && w.listeners[i].is_polled() {
            w.accept(i, now);
        }
    }
}
