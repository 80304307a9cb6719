//! The server connection a client connection keeps between two requests
//! (HAProxy's session-owned connection): after a clean response it stays
//! attached to the session, registered under the session's server token,
//! and the next request that picks the same server takes it back with no
//! poller change at all. Parking it in the worker's [`IdlePool`] costs two
//! `epoll_ctl` per request (a token for the pool, then the session's again),
//! so it goes there only when the session picks another server or ends.
//!
//! While kept it counts on no server (like a parked one). Any event on it
//! (the server closed it, or sent something unasked) makes it dirty: it is
//! closed at the session's next run. Kept and parked connections share the
//! worker's budget of unused server connections ([`IdlePool::hold`]): over
//! it, the connection is closed instead of kept.

use super::process::HttpCtx;
use super::{HttpSession, Stream};
use crate::conn::Conn;
use crate::idle::{HeldSlot, IdlePool};
use mio::Registry;
use std::time::Instant;

/// A clean server connection kept by a session, and its server.
pub struct Kept {
    pub conn: Conn,
    backend: u32,
    server: u32,
    /// Its place in the worker's budget, given back when it leaves.
    _slot: HeldSlot,
}

impl Kept {
    /// Whether it leads to `server` of `backend`.
    pub fn is_for(&self, backend: usize, server: usize) -> bool {
        self.backend as usize == backend && self.server as usize == server
    }

    /// Something arrived on it while no request was in flight.
    pub fn is_dirty(&self) -> bool {
        self.conn.readable
    }
}

/// Keeps the stream's server connection in the session after a clean
/// response; the stream's count on the server ends here.
pub(super) fn keep(s: &mut HttpSession, st: &mut Stream, cx: &mut HttpCtx) {
    let (Some(conn), Some(i)) = (st.srv.take(), st.server) else {
        return;
    };
    cx.backends[st.backend].release(i, cx.worker);
    if let Some(old) = s.kept.take() {
        park(old, cx.idle, cx.registry, cx.now);
    }
    let Some(slot) = cx.idle.hold() else {
        crate::idle::discard(conn);
        return;
    };
    s.kept = Some(Kept {
        conn,
        backend: st.backend as u32,
        server: i as u32,
        _slot: slot,
    });
}

/// Takes the kept connection if it is clean and leads to `want` (backend,
/// server); otherwise a clean one goes to the idle pool and a dirty one is
/// closed, and `None` is returned.
pub(super) fn take(
    kept: &mut Option<Kept>,
    cx: &mut HttpCtx,
    want: Option<(usize, usize)>,
) -> Option<Conn> {
    let k = kept.take()?;
    if !k.is_dirty() && want.is_some_and(|(b, s)| k.is_for(b, s)) {
        return Some(k.conn);
    }
    park(k, cx.idle, cx.registry, cx.now);
    None
}

/// Closes the kept connection if something arrived on it.
pub(super) fn drop_if_dirty(s: &mut HttpSession) {
    if s.kept.as_ref().is_some_and(Kept::is_dirty) {
        if let Some(k) = s.kept.take() {
            crate::idle::discard(k.conn);
        }
    }
}

/// Hands a kept connection to the idle pool when it is clean, else closes
/// it.
pub fn park(k: Kept, idle: &mut IdlePool, registry: &Registry, now: Instant) {
    let dirty = k.is_dirty();
    // Give the budget slot back first: parked, it counts in the pool.
    let Kept {
        conn,
        backend,
        server,
        _slot,
    } = k;
    drop(_slot);
    if dirty {
        crate::idle::discard(conn);
        return;
    }
    idle.put(registry, backend as usize, server as usize, conn, now);
}
