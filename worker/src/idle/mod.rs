//! Idle server connections kept for reuse (HTTP mode, `http_reuse`).
//!
//! After a response that leaves the server connection clean (delimited
//! body, keep-alive, request fully sent), the session parks it here under
//! its (backend, server). A later request to that server takes the most
//! recently parked one. A parked connection stays registered with the
//! poller under its own token: any event on it (the server closed it, or
//! sent something unasked) closes it. Connections idle longer than
//! [`IDLE_TTL`] are closed by the worker's housekeeping task. There is no
//! cap per server (HAProxy's `pool-max-conn` defaults to unlimited too):
//! an HTTP/2 client running 500 streams at once to an HTTP/1 server needs
//! 500 server connections between its bursts, and a cap of 64 closed and
//! reopened most of them (373 origin connections per 1,000 requests).
//!
//! Server connections held while unused, parked here or kept by a client
//! connection between two requests ([`kept::Kept`]), share one
//! budget per worker: a quarter of the worker's open-file limit (HAProxy's
//! `tune.pool-high-fd-ratio`, 25 %). Above it a clean connection is closed
//! rather than held, so 10,000 idle keep-alive clients cannot take 20,000
//! file descriptors and starve `accept`.

pub mod kept;

pub use kept::Kept;

use crate::conn::Conn;
use crate::tokens;
use mio::Registry;
use slab::Slab;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a parked connection may stay unused (HAProxy's
/// `pool-purge-delay` default).
pub const IDLE_TTL: Duration = Duration::from_secs(5);
/// The share of the open-file limit that unused server connections may
/// hold, in percent (HAProxy's `tune.pool-high-fd-ratio` default).
pub const HIGH_FD_RATIO: u64 = 25;

/// Closes a server connection weir no longer wants with a reset
/// (SO_LINGER 0), as HAProxy does on the server side, so that no TIME_WAIT
/// piles up on weir's ephemeral ports when many server connections come
/// and go (a new connection per client connection under
/// `http_reuse = "safe"` would otherwise exhaust them). Closing the socket
/// takes it out of the poller (it is this worker's only descriptor of it):
/// no `epoll_ctl` is spent on deregistering.
pub fn discard(conn: Conn) {
    conn.discard();
}

/// The server a connection leads to: backend, server slot, and the slot's
/// identity sequence ([`weir_core::shm::ServerShm::seq`]). A server
/// deleted, replaced or given a new address has a new sequence, so a
/// connection to what it was is never reused.
pub type ServerKey = (usize, usize, u64);

struct Parked {
    conn: Conn,
    key: ServerKey,
    since: Instant,
}

pub struct IdlePool {
    conns: Slab<Parked>,
    by_server: HashMap<ServerKey, Vec<usize>>,
    /// Unused server connections this worker may hold (parked + kept).
    budget: usize,
    /// Connections kept by sessions now: each holds a [`HeldSlot`].
    kept: Rc<Cell<usize>>,
}

/// A kept connection's place in the worker's budget, given back on drop
/// (whichever way the connection leaves the session).
pub struct HeldSlot(Rc<Cell<usize>>);

impl Drop for HeldSlot {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

impl Default for IdlePool {
    fn default() -> IdlePool {
        IdlePool::new(usize::MAX)
    }
}

/// The budget for a worker whose open-file limit is `nofile`.
pub fn budget_for(nofile: u64) -> usize {
    usize::try_from(nofile.saturating_mul(HIGH_FD_RATIO) / 100).unwrap_or(usize::MAX)
}

impl IdlePool {
    /// A pool sized on this process's open-file limit ([`HIGH_FD_RATIO`]).
    pub fn for_worker() -> IdlePool {
        use nix::sys::resource::{getrlimit, Resource};
        let nofile = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
        IdlePool::new(budget_for(nofile))
    }

    /// A pool that holds at most `budget` unused server connections, parked
    /// and kept together.
    pub fn new(budget: usize) -> IdlePool {
        IdlePool {
            conns: Slab::new(),
            by_server: HashMap::new(),
            budget,
            kept: Rc::new(Cell::new(0)),
        }
    }

    /// Unused server connections held now, parked and kept.
    pub fn held(&self) -> usize {
        self.conns.len() + self.kept.get()
    }

    /// A slot for a session to keep its server connection, if the budget
    /// has room; `None` means close it.
    pub fn hold(&self) -> Option<HeldSlot> {
        if self.held() >= self.budget {
            return None;
        }
        self.kept.set(self.kept.get() + 1);
        Some(HeldSlot(Rc::clone(&self.kept)))
    }

    /// Parks `conn` for `key`. Returns false (and closes it) when the
    /// worker's budget is used up, the connection is private or
    /// registration fails.
    pub fn put(
        &mut self,
        registry: &Registry,
        key: ServerKey,
        mut conn: Conn,
        now: Instant,
    ) -> bool {
        let full = self.held() >= self.budget;
        let list = self.by_server.entry(key).or_default();
        if full || conn.private {
            discard(conn);
            return false;
        }
        let entry = self.conns.vacant_entry();
        let id = entry.key();
        if conn.park(registry, tokens::idle(id)).is_err() {
            let _ = conn.deregister(registry);
            return false;
        }
        entry.insert(Parked {
            conn,
            key,
            since: now,
        });
        list.push(id);
        true
    }

    /// Takes the most recently parked connection to `key`. The caller
    /// re-registers it under its own token.
    pub fn take(&mut self, key: ServerKey) -> Option<Conn> {
        let id = self.by_server.get_mut(&key)?.pop()?;
        Some(self.conns.remove(id).conn)
    }

    /// Something happened on parked connection `id`: it is no longer clean.
    pub fn on_event(&mut self, id: usize) {
        self.close(id);
    }

    fn close(&mut self, id: usize) {
        if let Some(p) = self.conns.try_remove(id) {
            discard(p.conn);
            if let Some(list) = self.by_server.get_mut(&p.key) {
                list.retain(|&x| x != id);
            }
        }
    }

    /// Closes connections parked for longer than [`IDLE_TTL`].
    pub fn purge(&mut self, now: Instant) {
        let old: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.since) >= IDLE_TTL)
            .map(|(id, _)| id)
            .collect();
        for id in old {
            self.close(id);
        }
    }

    /// Closes everything (stopping).
    pub fn clear(&mut self) {
        for p in self.conns.drain() {
            discard(p.conn);
        }
        self.by_server.clear();
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_a_quarter_of_the_fd_limit() {
        assert_eq!(budget_for(20_000), 5_000);
        assert_eq!(budget_for(1024), 256);
    }

    #[test]
    fn kept_slots_count_against_the_budget_until_dropped() {
        let pool = IdlePool::new(2);
        let a = pool.hold().expect("room for one");
        let b = pool.hold().expect("room for two");
        assert!(pool.hold().is_none(), "the budget is spent");
        assert_eq!(pool.held(), 2);
        drop(a);
        assert_eq!(pool.held(), 1);
        let c = pool.hold().expect("a slot came back");
        drop((b, c));
        assert_eq!(pool.held(), 0);
    }
}
