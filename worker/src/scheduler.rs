//! The scheduler: a wait queue of timers and a run queue of tasks.
//!
//! A task is a number ([`TaskId`]); the worker decides what it means (a
//! session, or one of the worker's own housekeeping tasks). A task is
//! *woken* by an I/O callback or when its expiry date passes; the loop then
//! runs it. The wait queue is a `BTreeSet` ordered by (expiry, id), so the
//! next timer is its first entry and expired ones are popped in date order;
//! each task has at most one entry, replaced whenever its expiry changes.
//! The run queue is FIFO, each task in it at most once; the loop takes a
//! bounded batch per turn so that I/O keeps being polled under load.

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

/// A task's number. Dense small integers (slab keys), used as vector indices.
pub type TaskId = usize;

#[derive(Default)]
pub struct Scheduler {
    wait: BTreeSet<(Instant, TaskId)>,
    expiry: Vec<Option<Instant>>,
    run: VecDeque<TaskId>,
    queued: Vec<bool>,
}

impl Scheduler {
    fn grow(&mut self, id: TaskId) {
        if id >= self.expiry.len() {
            self.expiry.resize(id + 1, None);
            self.queued.resize(id + 1, false);
        }
    }

    /// Sets (or clears, with `None`) the date at which `id` is woken.
    pub fn set_expiry(&mut self, id: TaskId, at: Option<Instant>) {
        self.grow(id);
        if self.expiry[id] == at {
            return;
        }
        if let Some(old) = self.expiry[id].take() {
            self.wait.remove(&(old, id));
        }
        if let Some(at) = at {
            self.wait.insert((at, id));
        }
        self.expiry[id] = at;
    }

    /// Whether `id` has a timer set.
    pub fn has_expiry(&self, id: TaskId) -> bool {
        self.expiry.get(id).is_some_and(|e| e.is_some())
    }

    /// Puts `id` on the run queue unless it is already there.
    pub fn wake(&mut self, id: TaskId) {
        self.grow(id);
        if !self.queued[id] {
            self.queued[id] = true;
            self.run.push_back(id);
        }
    }

    /// Moves every task whose expiry is at or before `now` to the run queue
    /// (their expiry is cleared: the task sets a new one when it runs).
    pub fn wake_expired(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.wait.first() {
            if at > now {
                break;
            }
            self.wait.pop_first();
            self.expiry[id] = None;
            self.wake(id);
        }
    }

    /// The next task to run, in wake order.
    pub fn next_runnable(&mut self) -> Option<TaskId> {
        let id = self.run.pop_front()?;
        self.queued[id] = false;
        Some(id)
    }

    /// Whether tasks are waiting to run (the poller must not sleep).
    pub fn has_runnable(&self) -> bool {
        !self.run.is_empty()
    }

    /// The earliest expiry, for the poll timeout.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.wait.first().map(|&(at, _)| at)
    }

    /// Forgets a finished task: its timer is removed; if it is on the run
    /// queue it stays there and its runner must tolerate a missing task.
    pub fn remove(&mut self, id: TaskId) {
        self.set_expiry(id, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_order_and_dedup() {
        let mut s = Scheduler::default();
        let t0 = Instant::now();
        s.set_expiry(1, Some(t0 + Duration::from_millis(20)));
        s.set_expiry(2, Some(t0 + Duration::from_millis(10)));
        s.set_expiry(3, Some(t0 + Duration::from_millis(30)));
        s.set_expiry(3, None);
        assert_eq!(s.next_expiry(), Some(t0 + Duration::from_millis(10)));
        s.wake(1);
        s.wake_expired(t0 + Duration::from_millis(25));
        assert_eq!(s.next_runnable(), Some(1));
        assert_eq!(s.next_runnable(), Some(2));
        assert_eq!(s.next_runnable(), None);
        assert_eq!(s.next_expiry(), None);
    }
}
