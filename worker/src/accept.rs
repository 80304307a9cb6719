//! Accepting connections, and sharing them fairly between workers.
//!
//! A readable listener accepts up to `maxaccept` connections per turn
//! (again next turn if that budget ran out first), within the worker's and
//! the frontend's `maxconn`.
//!
//! **The fair share.** On a socket every worker accepts on, the kernel
//! wakes every waiting worker for a new connection and the first to call
//! `accept` gets it: the worker that wakes first tends to take a whole
//! burst (50 keep-alive connections landed 50/0 on two workers), and then
//! serves them on one core. So before each accept a worker compares its
//! connections on the frontend with the frontend's total over every
//! worker (shared memory): above its share plus [`SLACK`], it leaves the
//! connection to the others. The others were woken by the same
//! connection and take it. A worker that cannot (stuck, busy, stopped)
//! holds nothing hostage: a worker that left connections waiting takes
//! them anyway after [`HOSTAGE`]. With `shards = "by-worker"` each worker
//! has a socket of its own and the kernel spreads connections by a hash;
//! there is nothing to share.

use crate::tokens;
use crate::worker::Worker;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// Connections a worker may hold above its even share of a frontend's
/// before it leaves new ones to the other workers.
pub const SLACK: usize = 1;

/// The longest a connection waits because its worker left it to others
/// that did not take it.
pub const HOSTAGE: Duration = Duration::from_millis(100);

impl Worker {
    /// Accepts up to `maxaccept` connections on listener `i`.
    pub fn accept(&mut self, i: usize, now: Instant) {
        self.accept_on(i, now, false);
    }

    /// Accepts on listener `i`; `force`: even above the fair share (the
    /// others did not take what was left to them).
    fn accept_on(&mut self, i: usize, now: Instant, force: bool) {
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
            if !force && self.over_share(i) {
                // Left to the others, for HOSTAGE at most.
                let since = *self.listeners[i].deferred.get_or_insert(now);
                self.sched
                    .set_expiry(tokens::TASK_LISTENERS, Some(since + HOSTAGE));
                break;
            }
            let Some(sock) = self.listeners[i].sock.as_ref() else {
                break;
            };
            match sock.accept() {
                Ok((stream, addr)) => {
                    accepted += 1;
                    self.start_session(i, stream, addr, now);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // Nothing waits: nothing is left to anyone.
                    self.listeners[i].deferred = None;
                    break;
                }
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

    /// Whether this worker holds more than its share of listener `i`'s
    /// frontend's connections (only on a socket every worker accepts on).
    fn over_share(&self, i: usize) -> bool {
        let l = &self.listeners[i];
        let workers = self.config.global.nbproc;
        if !l.shared || workers < 2 {
            return false;
        }
        let total = self.shared.frontends[l.frontend].cur() as usize;
        let mine = self.feconn[l.frontend];
        mine * workers > total + SLACK * workers
    }

    /// The listeners' timer: resources may be back (EMFILE…), and
    /// connections left to other workers that did not take them are taken.
    pub fn retry_listeners(&mut self, now: Instant) {
        for l in &mut self.listeners {
            l.starved = false;
        }
        self.sync_listeners();
        for i in 0..self.listeners.len() {
            let due = self.listeners[i]
                .deferred
                .is_some_and(|since| now >= since + HOSTAGE);
            if due {
                self.listeners[i].deferred = None;
                if self.listeners[i].is_polled() {
                    self.accept_on(i, now, true);
                }
            }
        }
    }
}
