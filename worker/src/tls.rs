//! A worker's TLS state: the acceptor of each TLS bind, the connector of
//! each TLS server, and the session ticket keys, one ticketer for all the
//! worker's binds, fed from the ring the master publishes in shared memory
//! ([`weir_core::shm::TicketArea`]) — so a ticket made by one worker is
//! read by every other, and by the next generation after a reload.
//!
//! Built after fork from what the master loaded before it (certificates,
//! keys and CA stores are already in memory: a worker in its chroot, as
//! an unprivileged user, opens no file for TLS).

use crate::worker::InheritedListener;
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use weir_core::config::model::Config;
use weir_core::shm::SharedState;
use weir_core::tls::{Acceptor, Connector, Ticketer};

/// The worker's TLS configurations.
pub struct Binds {
    /// By (frontend, bind).
    acceptors: HashMap<(usize, usize), Arc<Acceptor>>,
    ticketer: Option<Arc<Ticketer>>,
    /// The ticket area's sequence when the ticketer last read it.
    seq: u64,
}

impl Binds {
    /// The acceptors of the TLS binds among `listeners`.
    pub fn new(
        config: &Config,
        shared: &SharedState,
        listeners: &[InheritedListener],
    ) -> io::Result<Binds> {
        let mut b = Binds {
            acceptors: HashMap::new(),
            ticketer: None,
            seq: 0,
        };
        let lifetime = config.global.tls_ticket_lifetime;
        if let Some((ring, seq)) = shared.tickets.load() {
            b.ticketer = Some(Ticketer::new(&ring, lifetime));
            b.seq = seq;
        }
        for l in listeners {
            let fe = &config.frontends[l.frontend];
            let Some(tls) = fe.binds.get(l.bind).and_then(|bind| bind.tls.as_ref()) else {
                continue;
            };
            if b.acceptors.contains_key(&(l.frontend, l.bind)) {
                continue;
            }
            let acceptor = Acceptor::from_bind(tls, b.ticketer.clone()).map_err(|e| {
                io::Error::other(format!("frontend {} bind {}: {e}", fe.name, l.name))
            })?;
            b.acceptors.insert((l.frontend, l.bind), Arc::new(acceptor));
        }
        Ok(b)
    }

    /// The acceptor of bind `bind` of frontend `fe`, if it is a TLS one.
    pub fn acceptor(&self, fe: usize, bind: usize) -> Option<Arc<Acceptor>> {
        self.acceptors.get(&(fe, bind)).cloned()
    }

    /// Takes the master's newer ticket keys, if it published some (a
    /// rotation): an atomic load when nothing changed.
    pub fn refresh(&mut self, shared: &SharedState) {
        if shared.tickets.seq() == self.seq {
            return;
        }
        let Some((ring, seq)) = shared.tickets.load() else {
            return;
        };
        self.seq = seq;
        if let Some(t) = &self.ticketer {
            t.update(&ring);
        }
    }
}

/// The connector of every TLS server, by (backend, server).
pub fn connectors(config: &Config) -> io::Result<HashMap<(usize, usize), Arc<Connector>>> {
    let mut out = HashMap::new();
    for (b, be) in config.backends.iter().enumerate() {
        for (s, srv) in be.servers.iter().enumerate() {
            if let Some(tls) = &srv.tls {
                let c = Connector::from_server(tls).map_err(|e| {
                    io::Error::other(format!("server {}/{}: {e}", be.name, srv.name))
                })?;
                out.insert((b, s), Arc::new(c));
            }
        }
    }
    Ok(out)
}
