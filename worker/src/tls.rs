//! A worker's TLS state: the acceptor of each TLS bind, the connector of
//! each TLS server, and the session ticket keys, one ticketer for all the
//! worker's binds, fed from the ring the master publishes in shared memory
//! ([`weir_core::shm::TicketArea`]) — so a ticket made by one worker is
//! read by every other, and by the next generation after a reload.
//!
//! Built after fork from what the master loaded before it (certificates,
//! keys and CA stores are already in memory: a worker in its chroot, as
//! an unprivileged user, opens no file for TLS).
//!
//! Certificates committed through the runtime API arrive through shared
//! memory ([`weir_core::shm::CertArea`]): the worker looks every
//! [`COMMITS_EVERY`] from its loop, and when a file's generation moved it
//! parses the PEM and replaces that file's certificates in every bind's
//! store that holds it ([`CertStore::replace`]): new handshakes get the
//! new certificate, established connections keep theirs. A worker that
//! starts takes every commit made before it.

use weir_core::log::Logger;
use weir_core::tls::{crt, server::CacheObserver, CertStore};

use crate::listener::InheritedListener;
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::config::model::Config;
use weir_core::shm::SharedState;
use weir_core::tls::{Acceptor, Connector, Ticketer};

/// How often the worker looks for committed certificates.
pub const COMMITS_EVERY: Duration = Duration::from_millis(50);

/// The worker's TLS configurations.
pub struct Binds {
    /// By (frontend, bind).
    acceptors: HashMap<(usize, usize), Arc<Acceptor>>,
    ticketer: Option<Arc<Ticketer>>,
    /// The ticket area's sequence when the ticketer last read it.
    seq: u64,
    /// The certificate area's commit count last applied (`None`: none
    /// applied yet, not even those made before the worker started).
    commits: Option<u64>,
    /// Each certificate slot's generation last applied.
    generations: Vec<u64>,
    /// When to look for commits again.
    next_look: Option<Instant>,
}

/// Counts the binds' session cache lookups into the shared state.
struct CacheCounts(SharedState);

impl std::fmt::Debug for CacheCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCounts")
    }
}

impl CacheObserver for CacheCounts {
    fn lookup(&self, found: bool) {
        self.0.count_cache_lookup(found);
    }
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
            commits: None,
            generations: vec![0; shared.certs.files().len()],
            next_look: None,
        };
        let counts: Arc<dyn CacheObserver> = Arc::new(CacheCounts(shared.clone()));
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
            let cache = Some(counts.clone());
            let acceptor = Acceptor::observed(tls, b.ticketer.clone(), cache).map_err(|e| {
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

impl Binds {
    /// Applies the certificates committed since the last look (every
    /// [`COMMITS_EVERY`]; at once the first time), then tells the control
    /// process how far this worker (`worker`, 0-based) got.
    pub fn apply_commits(
        &mut self,
        shared: &SharedState,
        worker: usize,
        logger: &Logger,
        now: Instant,
    ) {
        if self.next_look.is_some_and(|t| now < t) {
            return;
        }
        self.next_look = Some(now + COMMITS_EVERY);
        let area = &shared.certs;
        let commits = area.commits();
        if self.commits == Some(commits) {
            return;
        }
        let mut complete = true;
        for (slot, path) in area.files().iter().enumerate() {
            let seen = self.generations.get(slot).copied().unwrap_or(0);
            if area.generation(slot) <= seen {
                continue;
            }
            let Some((generation, pem)) = area.read(slot) else {
                complete = false;
                continue;
            };
            match crt::from_pem(path, &pem) {
                Ok(cert) => self.replace(path, Arc::new(cert)),
                Err(e) => logger.warning(&format!(
                    "worker {}: committed certificate not applied: {e}",
                    worker + 1
                )),
            }
            if let Some(g) = self.generations.get_mut(slot) {
                *g = generation;
            }
        }
        if complete {
            self.commits = Some(commits);
            area.ack(worker, commits);
        }
    }

    /// Replaces `path`'s certificates in every store that holds them.
    fn replace(&self, path: &std::path::Path, cert: Arc<crt::LoadedCert>) {
        let stores: Vec<&Arc<CertStore>> = self.acceptors.values().map(|a| &a.store).collect();
        for store in stores {
            // A store without this file is left alone.
            let _ = store.replace(path, vec![cert.clone()]);
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
