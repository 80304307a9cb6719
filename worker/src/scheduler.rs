//! The scheduler: a wait queue of timers and a run queue of tasks.
//!
//! A task is a number ([`TaskId`]); the worker decides what it means (a
//! session, or one of the worker's own housekeeping tasks). A task is
//! *woken* by an I/O callback or when its expiry date passes; the loop then
//! runs it. The run queue is FIFO, each task in it at most once; the loop
//! takes a bounded batch per turn so that I/O keeps being polled under load.
//!
//! The wait queue is a binary min-heap of (expiry, task) that knows where
//! each task sits in it (HAProxy keeps its timers in an ebtree for the same
//! reasons): each task has at most one entry, moved in place when its
//! expiry changes and removed in O(log n) when cleared, and the next timer
//! is the root. Dates are whole milliseconds since the scheduler was made
//! (HAProxy's ticks), rounded up when set and down when compared, so a task
//! is never woken before the date it asked for. An entry is 16 bytes, plus
//! 4 for the task's position: about 30 bytes per sleeping session, against
//! some 60 for an ordered set of `(Instant, TaskId)` (an idle keep-alive
//! connection is a sleeping session; see bench/README.md on idle memory).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A task's number. Dense small integers (slab keys), used as vector indices.
pub type TaskId = usize;

/// Milliseconds since [`Scheduler::epoch`].
type Tick = u64;

/// Not in the heap.
const NOWHERE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Timer {
    at: Tick,
    task: u32,
}

pub struct Scheduler {
    epoch: Instant,
    /// The wait queue, a binary min-heap on `at`.
    heap: Vec<Timer>,
    /// Each task's index in `heap`, or [`NOWHERE`].
    pos: Vec<u32>,
    run: VecDeque<TaskId>,
    queued: Vec<bool>,
}

impl Default for Scheduler {
    fn default() -> Scheduler {
        Scheduler {
            epoch: Instant::now(),
            heap: Vec::new(),
            pos: Vec::new(),
            run: VecDeque::new(),
            queued: Vec::new(),
        }
    }
}

impl Scheduler {
    fn grow(&mut self, id: TaskId) {
        if id >= self.pos.len() {
            self.pos.resize(id + 1, NOWHERE);
            self.queued.resize(id + 1, false);
        }
    }

    /// `at` as a tick, rounded up (a timer never fires early).
    fn tick_ceil(&self, at: Instant) -> Tick {
        let d = at.saturating_duration_since(self.epoch);
        let ms = d.as_millis();
        let ms = if d.subsec_nanos() % 1_000_000 != 0 {
            ms + 1
        } else {
            ms
        };
        Tick::try_from(ms).unwrap_or(Tick::MAX)
    }

    /// `now` as a tick, rounded down.
    fn tick_floor(&self, now: Instant) -> Tick {
        Tick::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(Tick::MAX)
    }

    fn instant(&self, tick: Tick) -> Instant {
        self.epoch + Duration::from_millis(tick)
    }

    /// Sets (or clears, with `None`) the date at which `id` is woken.
    pub fn set_expiry(&mut self, id: TaskId, at: Option<Instant>) {
        self.grow(id);
        let Some(at) = at else {
            self.unschedule(id);
            return;
        };
        let at = self.tick_ceil(at);
        match self.pos[id] {
            NOWHERE => {
                let Ok(task) = u32::try_from(id) else {
                    return;
                };
                let i = self.heap.len();
                self.heap.push(Timer { at, task });
                self.pos[id] = i as u32;
                self.sift_up(i);
            }
            i => {
                let i = i as usize;
                let old = self.heap[i].at;
                if old == at {
                    return;
                }
                self.heap[i].at = at;
                if at < old {
                    self.sift_up(i);
                } else {
                    self.sift_down(i);
                }
            }
        }
    }

    fn unschedule(&mut self, id: TaskId) {
        let i = match self.pos.get(id) {
            Some(&i) if i != NOWHERE => i as usize,
            _ => return,
        };
        self.remove_at(i);
    }

    /// Removes the entry at heap index `i`, keeping the heap ordered.
    fn remove_at(&mut self, i: usize) -> Timer {
        let last = self.heap.len() - 1;
        self.swap(i, last);
        let Some(t) = self.heap.pop() else {
            unreachable!("the heap held index {i}");
        };
        self.pos[t.task as usize] = NOWHERE;
        if i < self.heap.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
        t
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a].task as usize] = a as u32;
        self.pos[self.heap[b].task as usize] = b as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].at <= self.heap[i].at {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut min = i;
            if l < n && self.heap[l].at < self.heap[min].at {
                min = l;
            }
            if r < n && self.heap[r].at < self.heap[min].at {
                min = r;
            }
            if min == i {
                return;
            }
            self.swap(i, min);
            i = min;
        }
    }

    /// Whether `id` has a timer set.
    pub fn has_expiry(&self, id: TaskId) -> bool {
        self.pos.get(id).is_some_and(|&p| p != NOWHERE)
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
    /// (their expiry is cleared: the task sets a new one when it runs), in
    /// date order.
    pub fn wake_expired(&mut self, now: Instant) {
        let now = self.tick_floor(now);
        while self.heap.first().is_some_and(|t| t.at <= now) {
            let t = self.remove_at(0);
            self.wake(t.task as usize);
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
        self.heap.first().map(|t| self.instant(t.at))
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

    #[test]
    fn expiry_order_and_dedup() {
        let mut s = Scheduler::default();
        let t0 = Instant::now();
        s.set_expiry(1, Some(t0 + Duration::from_millis(20)));
        s.set_expiry(2, Some(t0 + Duration::from_millis(10)));
        s.set_expiry(3, Some(t0 + Duration::from_millis(30)));
        s.set_expiry(3, None);
        assert!(s.next_expiry().unwrap() >= t0 + Duration::from_millis(10));
        assert!(s.next_expiry().unwrap() < t0 + Duration::from_millis(11));
        s.wake(1);
        s.wake_expired(t0 + Duration::from_millis(25));
        assert_eq!(s.next_runnable(), Some(1));
        assert_eq!(s.next_runnable(), Some(2));
        assert_eq!(s.next_runnable(), None);
        assert_eq!(s.next_expiry(), None);
    }

    #[test]
    fn never_fires_early() {
        let mut s = Scheduler::default();
        let at = s.epoch + Duration::from_micros(10_500);
        s.set_expiry(7, Some(at));
        assert!(s.next_expiry().unwrap() >= at, "rounded up");
        s.wake_expired(at - Duration::from_micros(1));
        assert_eq!(s.next_runnable(), None);
        s.wake_expired(s.next_expiry().unwrap());
        assert_eq!(s.next_runnable(), Some(7));
        assert!(!s.has_expiry(7));
    }

    /// Random moves, clears and wake-ups against a model: the heap always
    /// hands out tasks in date order and each task at most once.
    #[test]
    fn matches_a_model_under_random_changes() {
        let mut s = Scheduler::default();
        let t0 = s.epoch;
        let mut model: Vec<Option<u64>> = vec![None; 200];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut now = 0u64;
        for _ in 0..20_000 {
            let id = rand(200) as usize;
            match rand(4) {
                0 => {
                    s.set_expiry(id, None);
                    model[id] = None;
                }
                _ => {
                    let at = now + rand(1000);
                    s.set_expiry(id, Some(t0 + Duration::from_millis(at)));
                    model[id] = Some(at);
                }
            }
            if rand(10) == 0 {
                now += rand(300);
                s.wake_expired(t0 + Duration::from_millis(now));
                let mut woken = Vec::new();
                while let Some(id) = s.next_runnable() {
                    woken.push(id);
                }
                let mut due: Vec<(u64, usize)> = model
                    .iter()
                    .enumerate()
                    .filter_map(|(i, at)| at.filter(|&a| a <= now).map(|a| (a, i)))
                    .collect();
                due.sort();
                let mut got: Vec<usize> = woken.clone();
                got.sort();
                let mut want: Vec<usize> = due.iter().map(|&(_, i)| i).collect();
                want.sort();
                assert_eq!(got, want);
                // Date order (ties in any order).
                let dates: Vec<u64> = woken.iter().map(|&i| model[i].unwrap_or(0)).collect();
                assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
                for &(_, i) in &due {
                    model[i] = None;
                }
            }
            let next = model
                .iter()
                .flatten()
                .min()
                .map(|&a| t0 + Duration::from_millis(a));
            assert_eq!(s.next_expiry(), next);
        }
    }
}
