//! The server connection a client connection keeps between two requests
//! (HAProxy's session-owned connection): after a clean response it stays
//! with the client connection, registered under the token of that
//! connection's stream slot ([`crate::tokens`]), and the next request that
//! picks the same server takes it back with no poller change at all.
//! Parking it in the worker's [`IdlePool`] costs two `epoll_ctl` per
//! request (a token for the pool, then the stream's again), so it goes
//! there only when the next request picks another server or the client
//! connection ends.
//!
//! While kept it counts on no server (like a parked one). Any event on it
//! (the server closed it, or sent something unasked) makes it dirty: it is
//! closed at its client connection's next run. Kept and parked
//! connections share the worker's budget of unused server connections
//! ([`IdlePool::hold`]): over it, the connection is closed instead of
//! kept.

use super::{HeldSlot, IdlePool, ServerKey};
use crate::conn::Conn;
use mio::Registry;
use std::time::Instant;

/// A clean server connection kept by a client connection, and its server.
pub struct Kept {
    pub conn: Conn,
    /// Its [`ServerKey`], packed (a kept connection sits in every idle
    /// client connection: keep it small).
    backend: u32,
    server: u32,
    seq: u64,
    /// Its place in the worker's budget, given back when it leaves.
    _slot: HeldSlot,
}

impl Kept {
    /// Keeps `conn` to the server of `key`, if the budget has room;
    /// otherwise it is closed and `None` returned.
    pub fn new(conn: Conn, key: ServerKey, idle: &IdlePool) -> Option<Kept> {
        let Some(slot) = idle.hold() else {
            conn.discard();
            return None;
        };
        Some(Kept {
            conn,
            backend: key.0 as u32,
            server: key.1 as u32,
            seq: key.2,
            _slot: slot,
        })
    }

    /// Whether it leads to the server of `key`.
    pub fn is_for(&self, key: ServerKey) -> bool {
        self.key() == key
    }

    fn key(&self) -> ServerKey {
        (self.backend as usize, self.server as usize, self.seq)
    }

    /// Something arrived on it while no request was in flight.
    pub fn is_dirty(&self) -> bool {
        self.conn.readable
    }

    /// Hands it to the idle pool when it is clean, else closes it.
    pub fn park(self, idle: &mut IdlePool, registry: &Registry, now: Instant) {
        let dirty = self.is_dirty();
        // Give the budget slot back first: parked, it counts in the pool.
        let key = self.key();
        let Kept { conn, _slot, .. } = self;
        drop(_slot);
        if dirty {
            conn.discard();
            return;
        }
        idle.put(registry, key, conn, now);
    }
}

/// Takes the kept connection if it is clean and leads to `want` (backend,
/// server); otherwise a clean one goes to the idle pool and a dirty one is
/// closed, and `None` is returned.
pub fn take(
    kept: &mut Option<Kept>,
    want: Option<ServerKey>,
    idle: &mut IdlePool,
    registry: &Registry,
    now: Instant,
) -> Option<Conn> {
    let k = kept.take()?;
    if !k.is_dirty() && want.is_some_and(|key| k.is_for(key)) {
        return Some(k.conn);
    }
    k.park(idle, registry, now);
    None
}

/// Closes the kept connection if something arrived on it.
pub fn drop_if_dirty(kept: &mut Option<Kept>) {
    if kept.as_ref().is_some_and(Kept::is_dirty) {
        if let Some(k) = kept.take() {
            k.conn.discard();
        }
    }
}
