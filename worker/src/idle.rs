//! Idle server connections kept for reuse (HTTP mode, `http_reuse`).
//!
//! After a response that leaves the server connection clean (delimited
//! body, keep-alive, request fully sent), the session parks it here under
//! its (backend, server). A later request to that server takes the most
//! recently parked one. A parked connection stays registered with the
//! poller under its own token: any event on it (the server closed it, or
//! sent something unasked) closes it. Connections idle longer than
//! [`IDLE_TTL`] are closed by the worker's housekeeping task, and at most
//! [`MAX_PER_SERVER`] are kept per server.

use crate::tokens;
use mio::net::TcpStream;
use mio::{Interest, Registry};
use slab::Slab;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a parked connection may stay unused (HAProxy's
/// `pool-purge-delay` default).
pub const IDLE_TTL: Duration = Duration::from_secs(5);
/// Parked connections per server, at most.
pub const MAX_PER_SERVER: usize = 64;

/// Closes a server connection weir no longer wants: deregistered, then
/// closed with a reset (SO_LINGER 0), as HAProxy does on the server side,
/// so that no TIME_WAIT piles up on weir's ephemeral ports when many
/// server connections come and go (a new connection per client connection
/// under `http_reuse = "safe"` would otherwise exhaust them).
pub fn discard(registry: &Registry, mut sock: TcpStream) {
    let _ = registry.deregister(&mut sock);
    let _ = socket2::SockRef::from(&sock).set_linger(Some(Duration::ZERO));
}

struct Parked {
    sock: TcpStream,
    key: (usize, usize),
    since: Instant,
}

#[derive(Default)]
pub struct IdlePool {
    conns: Slab<Parked>,
    by_server: HashMap<(usize, usize), Vec<usize>>,
}

impl IdlePool {
    /// Parks `sock` for (backend, server). Returns false (and drops it) when
    /// the server already has its share or registration fails.
    pub fn put(
        &mut self,
        registry: &Registry,
        backend: usize,
        server: usize,
        mut sock: TcpStream,
        now: Instant,
    ) -> bool {
        let list = self.by_server.entry((backend, server)).or_default();
        if list.len() >= MAX_PER_SERVER {
            discard(registry, sock);
            return false;
        }
        let entry = self.conns.vacant_entry();
        let id = entry.key();
        if registry
            .reregister(&mut sock, tokens::idle(id), Interest::READABLE)
            .is_err()
        {
            let _ = registry.deregister(&mut sock);
            return false;
        }
        entry.insert(Parked {
            sock,
            key: (backend, server),
            since: now,
        });
        list.push(id);
        true
    }

    /// Takes the most recently parked connection to (backend, server). The
    /// caller re-registers it under its own token.
    pub fn take(&mut self, backend: usize, server: usize) -> Option<TcpStream> {
        let id = self.by_server.get_mut(&(backend, server))?.pop()?;
        Some(self.conns.remove(id).sock)
    }

    /// Something happened on parked connection `id`: it is no longer clean.
    pub fn on_event(&mut self, registry: &Registry, id: usize) {
        self.close(registry, id);
    }

    fn close(&mut self, registry: &Registry, id: usize) {
        if let Some(p) = self.conns.try_remove(id) {
            discard(registry, p.sock);
            if let Some(list) = self.by_server.get_mut(&p.key) {
                list.retain(|&x| x != id);
            }
        }
    }

    /// Closes connections parked for longer than [`IDLE_TTL`].
    pub fn purge(&mut self, registry: &Registry, now: Instant) {
        let old: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.since) >= IDLE_TTL)
            .map(|(id, _)| id)
            .collect();
        for id in old {
            self.close(registry, id);
        }
    }

    /// Closes everything (stopping).
    pub fn clear(&mut self, registry: &Registry) {
        for p in self.conns.drain() {
            discard(registry, p.sock);
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
