//! `shutdown sessions server B/S` on the worker's side. The runtime API
//! bumps the server's `ShutdownGen` in the shared state; every worker
//! compares each server's generation with the one it last saw, at most
//! every [`CHECK_EVERY`] (the loop turns at least once a second), and
//! kills the sessions it holds on a server whose generation moved: logged
//! with a `K` termination state, as HAProxy's.

use crate::worker::Worker;
use std::time::{Duration, Instant};
use weir_core::shm::Srv;

/// How often the generations are compared.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);

/// The generations this worker last saw, per backend and server.
#[derive(Default)]
pub struct ShutdownWatch {
    seen: Vec<Vec<u64>>,
    next: Option<Instant>,
}

impl Worker {
    /// Kills the sessions on servers whose generation moved.
    pub fn check_shutdowns(&mut self, now: Instant) {
        if self.shutdowns.next.is_some_and(|t| now < t) {
            return;
        }
        self.shutdowns.next = Some(now + CHECK_EVERY);
        let current: Vec<Vec<u64>> = self
            .shared
            .servers
            .iter()
            .map(|l| l.iter().map(|s| s.get(Srv::ShutdownGen)).collect())
            .collect();
        let first = self.shutdowns.seen.is_empty();
        let seen = std::mem::replace(&mut self.shutdowns.seen, current);
        if first {
            return;
        }
        let mut moved = Vec::new();
        for (b, list) in self.shutdowns.seen.iter().enumerate() {
            for (s, gen) in list.iter().enumerate() {
                if seen.get(b).and_then(|l| l.get(s)) != Some(gen) {
                    moved.push((b, s));
                }
            }
        }
        if moved.is_empty() {
            return;
        }
        let streams = &self.streams;
        let victims: Vec<usize> = self
            .sessions
            .iter()
            .filter(|(_, sess)| {
                moved
                    .iter()
                    .any(|&(b, s)| sess.get_ref().is_on(b, s, streams))
            })
            .map(|(k, _)| k)
            .collect();
        for k in victims {
            self.kill_session(k, now);
        }
    }
}
