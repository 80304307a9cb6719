//! Shared state: what every worker and the master see alike — server
//! states (operational, administrative, weight), the counters the
//! statistics sum, and keyed tables.
//!
//! The master maps one anonymous shared region before it forks
//! ([`SharedState::new`]); workers, and workers respawned later, inherit
//! it. The region is handed out as typed areas ([`region`]):
//!
//! - [`counters`]: per-proxy and service-wide counters ([`Px`], [`Gl`]),
//!   and the gauges each worker keeps its share of;
//! - [`servers`]: each server's state and counters ([`Srv`]);
//! - [`table`]: keyed tables of fixed-size slots that any worker can
//!   insert into (the rate-limit tables);
//! - [`tickets`]: the TLS session ticket keys the master publishes;
//! - [`certs`]: certificates committed through the runtime API, on their
//!   way to the workers;
//! - [`ssl`]: the TLS figures (handshakes, rates, session cache).
//!
//! Everything in it is a 64-bit atomic, updated with relaxed ordering
//! where each figure is independent (a reader only needs each one to be
//! whole); the tables publish their entries with release/acquire.
//!
//! Totals (sessions, bytes, statuses) are shared words every worker adds
//! to. Gauges (current sessions) are kept per worker and summed when read,
//! so that when a worker dies the master zeroes its share
//! ([`SharedState::reset_worker`]) instead of leaving its sessions counted
//! forever. A reload maps a new region and carries figures and server
//! states over by name ([`SharedState::inherit`]).

pub mod carry;
pub mod certs;
pub mod counters;
pub mod region;
pub mod servers;
pub mod ssl;
pub mod stick;
pub mod table;
pub mod tickets;

pub use certs::CertArea;
pub use counters::{FreqCtr, GaugeWord, Gl, GlGauge, ProxyShm, Px};
pub use servers::{
    check_status, Identity, ServerShm, Srv, ADMIN_DRAIN, ADMIN_MAINT, ADMIN_READY, SLOT_FREE,
};
pub use ssl::{Side, SslFigures};
pub use table::{Table, TableSpec};
pub use tickets::TicketArea;

use crate::config::model::{Config, StickTable};
use counters::{Layout, GL_GAUGES, GL_WORDS, PX_WORDS};
use region::{Plan, Region};
use servers::{IDENTITY, SRV_WORDS};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};
use tickets::TICKET_WORDS;

/// The whole shared region, with handles per proxy and server.
#[derive(Clone)]
pub struct SharedState {
    global: &'static [AtomicU64],
    pub frontends: Vec<ProxyShm>,
    pub backends: Vec<ProxyShm>,
    /// Per backend, its server slots (`server_slots`): the configured
    /// servers in configuration order, then the slots the runtime API
    /// fills and frees ([`ServerShm::identity`]).
    pub servers: Vec<Vec<ServerShm>>,
    /// The keyed tables, in configuration order (the rate-limit tables).
    pub tables: Vec<Table>,
    /// The TLS session ticket keys.
    pub tickets: TicketArea,
    /// Certificates committed through the runtime API.
    pub certs: CertArea,
    layout: &'static Layout,
}

/// How many of each thing a configuration puts in the region.
struct Areas {
    frontends: usize,
    backends: usize,
    servers: usize,
    workers: usize,
    tables: Vec<TableSpec>,
    /// The TLS binds' certificate files (one committed-certificate slot
    /// each).
    cert_files: Vec<std::path::PathBuf>,
}

impl Areas {
    fn of(config: &Config) -> Areas {
        Areas {
            frontends: config.frontends.len(),
            backends: config.backends.len(),
            servers: config.backends.iter().map(slots).sum(),
            workers: config.global.nbproc.max(1),
            tables: config
                .tables
                .iter()
                .map(|t| TableSpec {
                    slots: t.size,
                    key_words: t.key.words(),
                    data_words: t.data_words(),
                })
                .collect(),
            cert_files: certs::cert_files(config),
        }
    }

    /// Gauge words per worker: one per frontend, backend and server, and
    /// the service's.
    fn per_worker(&self) -> usize {
        self.frontends + self.backends + self.servers + GL_GAUGES
    }

    fn plan(&self) -> Plan {
        let mut plan = Plan::default();
        plan.area(GL_WORDS)
            .area(self.frontends * PX_WORDS)
            .area(self.backends * PX_WORDS)
            .area(self.servers * SRV_WORDS)
            .area(self.workers * self.per_worker())
            .area(TICKET_WORDS)
            .area(certs::words(self.cert_files.len(), self.workers));
        plan
    }
}

/// A backend's slots: its `server_slots`, never fewer than its servers.
fn slots(b: &crate::config::model::Backend) -> usize {
    b.server_slots.max(b.servers.len())
}

/// The area of a rate-limit table: a mapping of its own (shared, or
/// private for tests), so that a reload can hand it on whole to the new
/// generation ([`SharedState::reload`]).
fn table_area(spec: TableSpec, shared: bool) -> io::Result<Table> {
    let mut plan = Plan::default();
    plan.area(spec.words());
    let mut region = match shared {
        true => Region::map(&plan)?,
        false => Region::private(&plan),
    };
    let seed = region.seed();
    Ok(Table::new(region.take(spec.words()), spec, seed))
}

/// Whether a reloaded table can keep its predecessor's area as it is:
/// the same name, keys, size and counters (`expire` may change: it is
/// applied when entries are read).
fn same_table(a: &StickTable, b: &StickTable) -> bool {
    a.name == b.name && a.key == b.key && a.size == b.size && a.store == b.store
}

/// Milliseconds since the epoch (the shared rates' clock).
pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SharedState {
    /// Maps the region for `config` (in the master, before forking) and
    /// sets servers' initial weights and administrative states.
    pub fn new(config: &Config) -> io::Result<SharedState> {
        let plan = Areas::of(config).plan();
        let tables = Areas::of(config)
            .tables
            .into_iter()
            .map(|spec| table_area(spec, true))
            .collect::<io::Result<_>>()?;
        Ok(Self::build(config, Region::map(&plan)?, tables))
    }

    /// The region for a reload to `config` from `old` (the state of
    /// `old_config`): a new one, except that a rate-limit table the
    /// reload leaves as it was keeps its area, shared by the old workers
    /// finishing and the new ones (their counts stay one). Figures, and
    /// the entries of tables that changed, are carried over by
    /// [`SharedState::inherit`].
    pub fn reload(
        config: &Config,
        old: &SharedState,
        old_config: &Config,
    ) -> io::Result<SharedState> {
        let plan = Areas::of(config).plan();
        let mut tables = Vec::with_capacity(config.tables.len());
        for (t, spec) in config.tables.iter().zip(Areas::of(config).tables) {
            let kept = old_config
                .tables
                .iter()
                .position(|o| same_table(o, t))
                .and_then(|j| old.tables.get(j).copied());
            tables.push(match kept {
                Some(area) => area,
                None => table_area(spec, true)?,
            });
        }
        Ok(Self::build(config, Region::map(&plan)?, tables))
    }

    /// The same layout in private memory, for tests.
    pub fn private(config: &Config) -> SharedState {
        let plan = Areas::of(config).plan();
        let tables = Areas::of(config)
            .tables
            .into_iter()
            .filter_map(|spec| table_area(spec, false).ok())
            .collect();
        Self::build(config, Region::private(&plan), tables)
    }

    fn build(config: &Config, mut region: Region, tables: Vec<Table>) -> SharedState {
        let a = Areas::of(config);
        let global = region.take(GL_WORDS);
        let fe_words = region.take(a.frontends * PX_WORDS);
        let be_words = region.take(a.backends * PX_WORDS);
        let srv_words = region.take(a.servers * SRV_WORDS);
        let gauges = region.take(a.workers * a.per_worker());
        let tickets = TicketArea::new(region.take(TICKET_WORDS));
        let cert_words = region.take(certs::words(a.cert_files.len(), a.workers));
        let certs = CertArea::new(cert_words, a.cert_files.clone(), a.workers);
        let layout: &'static Layout = Box::leak(Box::new(Layout {
            gauges,
            per_worker: a.per_worker(),
            workers: a.workers,
        }));
        let frontends = (0..a.frontends)
            .map(|i| ProxyShm {
                words: &fe_words[i * PX_WORDS..][..PX_WORDS],
                gauge: i,
                state: layout,
            })
            .collect();
        let backends = (0..a.backends)
            .map(|i| ProxyShm {
                words: &be_words[i * PX_WORDS..][..PX_WORDS],
                gauge: a.frontends + i,
                state: layout,
            })
            .collect();
        let mut servers = Vec::with_capacity(a.backends);
        let mut k = 0;
        let now = unix_now();
        for b in &config.backends {
            let mut list = Vec::with_capacity(slots(b));
            for i in 0..slots(b) {
                let shm = ServerShm {
                    words: &srv_words[k * SRV_WORDS..][..SRV_WORDS],
                    gauge: a.frontends + a.backends + k,
                    state: layout,
                };
                shm.set(Srv::LastChange, now);
                if let Some(s) = b.servers.get(i) {
                    shm.set(Srv::Weight, u64::from(s.weight));
                    shm.set(
                        Srv::Admin,
                        if s.disabled { ADMIN_MAINT } else { ADMIN_READY },
                    );
                    if b.starts_unresolved(i) {
                        shm.set(Srv::DnsMaint, 1);
                    }
                    shm.write_identity(Some(&Identity {
                        name: s.name.clone(),
                        addr: s.addr,
                        backup: s.backup,
                        check: s.check,
                        runtime: false,
                        init_weight: s.weight,
                    }));
                } else {
                    // A free slot takes no traffic, whatever reads it.
                    shm.set(Srv::Admin, ADMIN_MAINT);
                    shm.write_identity(None);
                }
                list.push(shm);
                k += 1;
            }
            servers.push(list);
        }
        global[Gl::StartTime as usize].store(now, Relaxed);
        global[Gl::MaxConn as usize].store(config.global.maxconn as u64, Relaxed);
        SharedState {
            global,
            frontends,
            backends,
            servers,
            tables,
            tickets,
            certs,
            layout,
        }
    }

    pub fn global(&self, f: Gl) -> u64 {
        self.global[f as usize].load(Relaxed)
    }
    pub fn global_add(&self, f: Gl, n: u64) {
        self.global[f as usize].fetch_add(n, Relaxed);
    }

    /// The service's gauge `g`, over every worker.
    pub fn gauge(&self, g: GlGauge) -> u64 {
        self.layout.sum(self.gauge_index(g))
    }

    /// Worker `w` has one more of gauge `g` (`up`), or one less.
    pub fn gauge_move(&self, g: GlGauge, w: usize, up: bool) {
        let word = self.layout.word(w, self.gauge_index(g));
        if up {
            word.fetch_add(1, Relaxed);
        } else {
            let _ = word.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
        }
    }

    fn gauge_index(&self, g: GlGauge) -> usize {
        self.layout.per_worker - GL_GAUGES + g as usize
    }

    /// Connections closed by HTTP/2 limit number `i`: one more.
    pub fn h2_limit_add(&self, i: usize) {
        if i < counters::H2_LIMITS {
            self.global[Gl::H2Limits as usize + i].fetch_add(1, Relaxed);
        }
    }

    /// Connections closed by HTTP/2 limit number `i`.
    pub fn h2_limit(&self, i: usize) -> u64 {
        if i < counters::H2_LIMITS {
            self.global[Gl::H2Limits as usize + i].load(Relaxed)
        } else {
            0
        }
    }

    /// Completed TLS handshakes per second.
    pub fn ssl_rate(&self) -> FreqCtr {
        FreqCtr {
            words: &self.global[Gl::SslRateSec as usize..=Gl::SslRatePrev as usize],
        }
    }

    /// Full TLS handshakes per second.
    pub fn ssl_key_rate(&self) -> FreqCtr {
        FreqCtr {
            words: &self.global[Gl::SslKeyRateSec as usize..=Gl::SslKeyRatePrev as usize],
        }
    }

    /// Current connections over every worker (the frontends' sum).
    pub fn cur_conns(&self) -> u64 {
        self.frontends.iter().map(|f| f.cur()).sum()
    }

    /// Worker `w` (0-based) is gone: its sessions no longer count, and no
    /// certificate commit waits for it.
    pub fn reset_worker(&self, w: usize) {
        let l = self.layout;
        for i in 0..l.per_worker {
            l.word(w, i).store(0, Relaxed);
        }
        self.certs.worker_gone(w);
    }

    /// One line per server: `B/S is UP, weight W. Conn: A act, 0 pend, T tot.`
    /// (the SIGHUP dump, HAProxy's wording).
    pub fn server_lines(&self, config: &Config) -> Vec<String> {
        let mut out = Vec::new();
        for (b, be) in config.backends.iter().enumerate() {
            for shm in self.servers.get(b).into_iter().flatten() {
                let Some(s) = shm.identity() else { continue };
                out.push(format!(
                    "Server {}/{} is {}, weight {}. Conn: {} act, 0 pend, {} tot.",
                    be.name,
                    s.name,
                    shm.status(),
                    shm.weight(),
                    shm.cur(),
                    shm.get(Srv::Stot)
                ));
            }
        }
        out
    }

    /// Carries figures and server states over from `old` (the state of
    /// `old_config`, being replaced by a reload): proxies and servers are
    /// matched by name, so totals keep counting across reloads; so are
    /// rate-limit tables, whose entries are copied into a table that
    /// changed ([`carry`]). A server
    /// keeps its runtime weight and administrative state unless the new
    /// configuration changed them. Servers added at run time are not
    /// carried over (HAProxy's behaviour: the file says which servers
    /// exist), nor an address set at run time.
    pub fn inherit(&self, config: &Config, old: &SharedState, old_config: &Config) {
        let copy = |to: &[AtomicU64], from: &[AtomicU64]| {
            for (t, f) in to.iter().zip(from) {
                t.store(f.load(Relaxed), Relaxed);
            }
        };
        for (i, fe) in config.frontends.iter().enumerate() {
            if let Some(j) = old_config.frontends.iter().position(|o| o.name == fe.name) {
                copy(self.frontends[i].words, old.frontends[j].words);
            }
        }
        for (i, be) in config.backends.iter().enumerate() {
            let Some(j) = old_config.backends.iter().position(|o| o.name == be.name) else {
                continue;
            };
            copy(self.backends[i].words, old.backends[j].words);
            let old_be = &old_config.backends[j];
            for (k, srv) in be.servers.iter().enumerate() {
                let Some(m) = old_be.servers.iter().position(|o| o.name == srv.name) else {
                    continue;
                };
                let (new, prev) = (self.servers[i][k], old.servers[j][m]);
                // The old slot may hold another server by now (deleted,
                // then taken by one added at run time).
                if !prev
                    .identity()
                    .is_some_and(|id| !id.runtime && id.name == srv.name)
                {
                    continue;
                }
                let (weight, admin) = (new.get(Srv::Weight), new.get(Srv::Admin));
                copy(&new.words[..IDENTITY], &prev.words[..IDENTITY]);
                if let Some(last) = be.discovered(k) {
                    let same = old_be.discovered(m).is_some()
                        && old_be.servers[m].dns.as_ref().map(|d| &d.host)
                            == srv.dns.as_ref().map(|d| &d.host);
                    if !(last
                        && same
                        && keep_resolved(new, prev, srv.dns.as_ref().map(|_| srv.addr.port())))
                    {
                        // Not carried over: as configured, in maintenance
                        // without an address until the resolvers answer.
                        new.set(Srv::Weight, weight);
                        new.set(Srv::Admin, admin);
                        new.set(Srv::DnsMaint, u64::from(be.starts_unresolved(k)));
                    }
                    continue;
                }
                if old_be.servers[m].weight != srv.weight {
                    new.set(Srv::Weight, weight);
                }
                if old_be.servers[m].disabled != srv.disabled {
                    new.set(Srv::Admin, admin);
                }
            }
        }
        for f in [
            Gl::StartTime,
            Gl::CumConns,
            Gl::CumReq,
            Gl::SslConns,
            Gl::SslReused,
            Gl::SslFailed,
            Gl::SslMaxRate,
            Gl::SslMaxKeyRate,
            Gl::SslBeConns,
            Gl::SslBeReused,
            Gl::SslBeMaxKeyRate,
            Gl::SslCacheLookups,
            Gl::SslCacheMisses,
            Gl::H2Conns,
            Gl::H2Streams,
        ] {
            self.global[f as usize].store(old.global(f), Relaxed);
        }
        for i in 0..counters::H2_LIMITS {
            self.global[Gl::H2Limits as usize + i].store(old.h2_limit(i), Relaxed);
        }
        carry::inherit(self, config, old, old_config);
    }

    /// Rate-limit table `i` of `config` (the configuration the region
    /// was made for).
    pub fn stick<'a>(&self, config: &'a Config, i: usize) -> Option<stick::Stick<'a>> {
        Some(stick::Stick {
            conf: config.tables.get(i)?,
            table: *self.tables.get(i)?,
        })
    }

    /// A server by backend and server name: the backend's index and the
    /// server's slot (configured or added at run time).
    pub fn server(&self, config: &Config, backend: &str, server: &str) -> Option<(usize, usize)> {
        let b = config.backends.iter().position(|b| b.name == backend)?;
        let s = self.slot_of(b, server)?;
        Some((b, s))
    }
}

/// A server discovered through DNS keeps, over a reload, the address the
/// previous generation resolved (`init_addr` holding `last`): a named
/// server (`port` = its configured port) the address with its port, a
/// template's slot (`port` = `None`) the whole address, SRV weight and
/// backup flag. `false` when the old slot had no address.
fn keep_resolved(new: ServerShm, prev: ServerShm, port: Option<u16>) -> bool {
    let (Some(mut id), Some(old)) = (new.identity(), prev.identity()) else {
        return false;
    };
    if old.addr.ip().is_unspecified() {
        return false;
    }
    match port {
        Some(p) => id.addr = SocketAddr::new(old.addr.ip(), p),
        None => {
            id.addr = old.addr;
            id.backup = old.backup;
            id.init_weight = old.init_weight;
        }
    }
    new.write_identity(Some(&id));
    true
}

#[cfg(test)]
mod tests;
