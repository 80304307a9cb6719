//! The worker's HTTP/2 server connections, by key and by server: what
//! the worker's loop and [`super::attach`] find them by. A connection is
//! taken out while its task runs ([`ServerMuxes::take`]) and put back.

use super::H2ServerMux;
use std::collections::HashMap;

/// The worker's HTTP/2 server connections.
#[derive(Default)]
pub struct ServerMuxes {
    /// By key; `None` while its task runs (taken) or once closed.
    pub(super) muxes: Vec<Option<Box<H2ServerMux>>>,
    pub(super) free: Vec<usize>,
    /// The open ones of each (backend, server).
    pub(super) by_server: HashMap<(usize, usize), Vec<usize>>,
}

impl ServerMuxes {
    /// Takes connection `m` out for its task to run.
    pub fn take(&mut self, m: usize) -> Option<Box<H2ServerMux>> {
        self.muxes.get_mut(m).and_then(Option::take)
    }

    /// Puts connection `m` back after its task ran.
    pub fn put(&mut self, m: usize, mx: Box<H2ServerMux>) {
        if let Some(slot) = self.muxes.get_mut(m) {
            *slot = Some(mx);
        }
    }

    /// Connection `m` (taken out) is closed: its key is free again.
    pub fn closed(&mut self, m: usize, mx: Box<H2ServerMux>) {
        if let Some(list) = self.by_server.get_mut(&mx.server) {
            list.retain(|&k| k != m);
            if list.is_empty() {
                self.by_server.remove(&mx.server);
            }
        }
        drop(mx);
        self.free.push(m);
    }

    /// Records what the poller said about connection `m`.
    pub fn on_event(&mut self, m: usize, ev: &mio::event::Event) {
        if let Some(mx) = self.muxes.get_mut(m).and_then(Option::as_mut) {
            mx.conn.on_event(ev);
        }
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.muxes.iter().filter(|m| m.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
