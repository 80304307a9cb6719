//! `shutdown sessions server B/S` on the worker's side. The runtime API
//! bumps the server's `ShutdownGen` in the shared state; every worker
//! compares each server's generation with the one it last saw, at most
//! every [`CHECK_EVERY`] (the loop turns at least once a second), and
//! kills the sessions it holds on a server whose generation moved: logged
//! with a `K` termination state, as HAProxy's.

use std::time::{Duration, Instant};
use weir_core::shm::{SharedState, Srv};

/// How often the generations are compared.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);

/// The generations this worker last saw, per backend and server.
#[derive(Default)]
pub struct ShutdownWatch {
    seen: Vec<Vec<u64>>,
    next: Option<Instant>,
}

impl ShutdownWatch {
    /// The servers whose generation moved since the last look, at most
    /// every [`CHECK_EVERY`] (none at the first look, or too soon).
    pub fn moved(&mut self, shared: &SharedState, now: Instant) -> Vec<(usize, usize)> {
        if self.next.is_some_and(|t| now < t) {
            return Vec::new();
        }
        self.next = Some(now + CHECK_EVERY);
        let current: Vec<Vec<u64>> = shared
            .servers
            .iter()
            .map(|l| l.iter().map(|s| s.get(Srv::ShutdownGen)).collect())
            .collect();
        let first = self.seen.is_empty();
        let seen = std::mem::replace(&mut self.seen, current);
        if first {
            return Vec::new();
        }
        let mut moved = Vec::new();
        for (b, list) in self.seen.iter().enumerate() {
            for (s, gen) in list.iter().enumerate() {
                if seen.get(b).and_then(|l| l.get(s)) != Some(gen) {
                    moved.push((b, s));
                }
            }
        }
        moved
    }
}
