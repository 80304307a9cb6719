//! Shared state: what every worker and the master see alike — server
//! states (operational, administrative, weight), and the counters the
//! statistics sum.
//!
//! The master maps one anonymous shared region before it forks
//! ([`SharedState::new`]); workers, and workers respawned later, inherit
//! it. Everything in it is a 64-bit atomic, updated with relaxed ordering:
//! each figure is independent, and a reader only needs each one to be
//! whole.
//!
//! ```text
//! region: [ global | frontends × PX | backends × PX | servers × SRV |
//!           gauges: workers × (frontends + backends + servers) ]
//! ```
//!
//! Totals (sessions, bytes, statuses) are shared words every worker adds
//! to. Gauges (current sessions) are kept per worker and summed when read,
//! so that when a worker dies the master zeroes its share
//! ([`SharedState::reset_worker`]) instead of leaving its sessions counted
//! forever.

use crate::config::model::Config;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// Per-proxy (frontend or backend) counters, HAProxy's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Px {
    /// Most concurrent sessions seen.
    Smax,
    /// Sessions since start.
    Stot,
    Bin,
    Bout,
    /// Requests denied by rules.
    Dreq,
    Dresp,
    /// Request errors (bad requests, client timeouts before a request).
    Ereq,
    /// Connection errors towards servers.
    Econ,
    /// Response errors.
    Eresp,
    /// Connection retries.
    Wretr,
    Wredis,
    Hrsp1xx,
    Hrsp2xx,
    Hrsp3xx,
    Hrsp4xx,
    Hrsp5xx,
    HrspOther,
    /// HTTP requests.
    ReqTot,
    CliAbrt,
    SrvAbrt,
    /// Times a server of this backend was chosen.
    LbTot,
}
const PX_WORDS: usize = Px::LbTot as usize + 1;

/// Per-server state and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Srv {
    /// 0 = UP, 1 = DOWN (health checks).
    OpDown,
    /// 0 = READY, 1 = DRAIN, 2 = MAINT.
    Admin,
    /// Current weight (1–256; 0 takes no new traffic).
    Weight,
    Smax,
    Stot,
    Bin,
    Bout,
    Econ,
    Eresp,
    Wretr,
    Wredis,
    Hrsp1xx,
    Hrsp2xx,
    Hrsp3xx,
    Hrsp4xx,
    Hrsp5xx,
    HrspOther,
    ReqTot,
    CliAbrt,
    SrvAbrt,
    /// Failed health checks.
    ChkFail,
    /// UP → DOWN transitions.
    ChkDown,
    /// Unix time of the last state change.
    LastChange,
    /// Seconds spent DOWN before the current state.
    Downtime,
    /// The last health check's result: one of the [`check_status`] codes
    /// (0, `INI`, until the first check ends), and its HTTP status (0
    /// without one) and duration (ms).
    CheckStatus,
    CheckCode,
    CheckDuration,
    /// Bumped by `shutdown sessions server`: sessions started before the
    /// bump are closed by their worker.
    ShutdownGen,
}
const SRV_WORDS: usize = Srv::ShutdownGen as usize + 1;

/// The codes in [`Srv::CheckStatus`], written by the control process's
/// health checks; [`check_status::name`] gives HAProxy's `check_status`
/// word for the statistics. A server without `check = true` keeps 0 and
/// shows no status.
pub mod check_status {
    /// Not checked yet ("INI").
    pub const INI: u64 = 0;
    /// TCP check passed: connected.
    pub const L4OK: u64 = 1;
    /// No connection within the timeout.
    pub const L4TOUT: u64 = 2;
    /// Connection refused, unreachable, reset while connecting.
    pub const L4CON: u64 = 3;
    /// HTTP check passed: the status is expected.
    pub const L7OK: u64 = 4;
    /// Connected, but no status line within the timeout.
    pub const L7TOUT: u64 = 5;
    /// Not an HTTP response, or the connection failed before one came.
    pub const L7RSP: u64 = 6;
    /// An HTTP status outside `expect_status`.
    pub const L7STS: u64 = 7;

    /// HAProxy's name of a code.
    pub fn name(code: u64) -> &'static str {
        match code {
            L4OK => "L4OK",
            L4TOUT => "L4TOUT",
            L4CON => "L4CON",
            L7OK => "L7OK",
            L7TOUT => "L7TOUT",
            L7RSP => "L7RSP",
            L7STS => "L7STS",
            _ => "INI",
        }
    }

    /// Whether the code is a passed check.
    pub fn passed(code: u64) -> bool {
        code == L4OK || code == L7OK
    }
}

/// Administrative states.
pub const ADMIN_READY: u64 = 0;
pub const ADMIN_DRAIN: u64 = 1;
pub const ADMIN_MAINT: u64 = 2;

/// Process-wide words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Gl {
    /// Unix time the service started (survives worker restarts).
    StartTime,
    CumConns,
    CumReq,
    MaxConn,
}
const GL_WORDS: usize = Gl::MaxConn as usize + 1;

/// One proxy's counters.
#[derive(Clone, Copy)]
pub struct ProxyShm {
    words: &'static [AtomicU64],
    gauge: usize,
    state: &'static Layout,
}

/// One server's state and counters.
#[derive(Clone, Copy)]
pub struct ServerShm {
    words: &'static [AtomicU64],
    gauge: usize,
    state: &'static Layout,
}

/// Where the gauges live, shared by every handle.
struct Layout {
    gauges: &'static [AtomicU64],
    /// Gauge words per worker.
    per_worker: usize,
    workers: usize,
}

impl Layout {
    fn sum(&self, index: usize) -> u64 {
        (0..self.workers)
            .map(|w| self.gauges[w * self.per_worker + index].load(Relaxed))
            .sum()
    }
    fn word(&self, worker: usize, index: usize) -> &AtomicU64 {
        &self.gauges[(worker % self.workers) * self.per_worker + index]
    }
}

macro_rules! counters {
    ($t:ty, $f:ty) => {
        impl $t {
            pub fn get(&self, f: $f) -> u64 {
                self.words[f as usize].load(Relaxed)
            }
            pub fn add(&self, f: $f, n: u64) {
                self.words[f as usize].fetch_add(n, Relaxed);
            }
            pub fn set(&self, f: $f, v: u64) {
                self.words[f as usize].store(v, Relaxed);
            }
            /// Current sessions, over every worker.
            pub fn cur(&self) -> u64 {
                self.state.sum(self.gauge)
            }
            /// Worker `w` (0-based) has one more session; `Stot` and
            /// `Smax` follow.
            pub fn enter(&self, w: usize) {
                self.state.word(w, self.gauge).fetch_add(1, Relaxed);
                self.add(<$f>::Stot, 1);
                self.words[<$f>::Smax as usize].fetch_max(self.cur(), Relaxed);
            }
            /// Worker `w` has one session less.
            pub fn leave(&self, w: usize) {
                let word = self.state.word(w, self.gauge);
                let _ = word.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
            }
            /// Counts an HTTP status sent to the client.
            pub fn count_status(&self, code: u16) {
                let f = match code {
                    100..=199 => <$f>::Hrsp1xx,
                    200..=299 => <$f>::Hrsp2xx,
                    300..=399 => <$f>::Hrsp3xx,
                    400..=499 => <$f>::Hrsp4xx,
                    500..=599 => <$f>::Hrsp5xx,
                    _ => <$f>::HrspOther,
                };
                self.add(f, 1);
                self.add(<$f>::ReqTot, 1);
            }
        }
    };
}
counters!(ProxyShm, Px);
counters!(ServerShm, Srv);

impl ServerShm {
    /// A server alone in private memory (tests, tools).
    pub fn detached(weight: u32) -> ServerShm {
        let words: &'static [AtomicU64] = Box::leak(
            (0..SRV_WORDS + 1)
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let (words, gauges) = words.split_at(SRV_WORDS);
        let state: &'static Layout = Box::leak(Box::new(Layout {
            gauges,
            per_worker: 1,
            workers: 1,
        }));
        let shm = ServerShm {
            words,
            gauge: 0,
            state,
        };
        shm.set(Srv::Weight, u64::from(weight));
        shm
    }

    /// Whether health checks say it is DOWN.
    pub fn is_down(&self) -> bool {
        self.get(Srv::OpDown) != 0
    }
    pub fn admin(&self) -> u64 {
        self.get(Srv::Admin)
    }
    pub fn weight(&self) -> u32 {
        self.get(Srv::Weight) as u32
    }
    /// Whether new traffic may go to it: UP, READY and a weight above 0.
    pub fn usable(&self) -> bool {
        !self.is_down() && self.admin() == ADMIN_READY && self.weight() > 0
    }
    /// HAProxy's status word: UP, DOWN, MAINT, DRAIN.
    pub fn status(&self) -> &'static str {
        match (self.admin(), self.is_down()) {
            (ADMIN_MAINT, _) => "MAINT",
            (_, true) => "DOWN",
            (ADMIN_DRAIN, false) => "DRAIN",
            _ => "UP",
        }
    }
    /// Records an operational change (checks): UP or DOWN.
    pub fn set_down(&self, down: bool, now_unix: u64) {
        let was = self.is_down();
        if was == down {
            return;
        }
        let since = self.get(Srv::LastChange);
        if was {
            self.add(Srv::Downtime, now_unix.saturating_sub(since));
        } else {
            self.add(Srv::ChkDown, 1);
        }
        self.set(Srv::OpDown, u64::from(down));
        self.set(Srv::LastChange, now_unix);
    }
}

/// The whole shared region, with handles per proxy and server.
#[derive(Clone)]
pub struct SharedState {
    global: &'static [AtomicU64],
    pub frontends: Vec<ProxyShm>,
    pub backends: Vec<ProxyShm>,
    /// Per backend, its servers in configuration order.
    pub servers: Vec<Vec<ServerShm>>,
    layout: &'static Layout,
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
        Self::build(config, crate::sys::shared_words)
    }

    /// The same layout in private memory, for tests.
    pub fn private(config: &Config) -> SharedState {
        let alloc = |n: usize| -> io::Result<&'static [AtomicU64]> {
            Ok(Box::leak(
                (0..n)
                    .map(|_| AtomicU64::new(0))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            ))
        };
        match Self::build(config, alloc) {
            Ok(s) => s,
            Err(_) => unreachable!("private allocation does not fail"),
        }
    }

    fn build(
        config: &Config,
        alloc: impl Fn(usize) -> io::Result<&'static [AtomicU64]>,
    ) -> io::Result<SharedState> {
        let nfe = config.frontends.len();
        let nbe = config.backends.len();
        let nsrv: usize = config.backends.iter().map(|b| b.servers.len()).sum();
        let workers = config.global.nbproc.max(1);
        let per_worker = nfe + nbe + nsrv;
        let words = GL_WORDS + (nfe + nbe) * PX_WORDS + nsrv * SRV_WORDS + workers * per_worker;
        let all = alloc(words)?;
        let (global, rest) = all.split_at(GL_WORDS);
        let (fe_words, rest) = rest.split_at(nfe * PX_WORDS);
        let (be_words, rest) = rest.split_at(nbe * PX_WORDS);
        let (srv_words, gauges) = rest.split_at(nsrv * SRV_WORDS);
        let layout: &'static Layout = Box::leak(Box::new(Layout {
            gauges,
            per_worker,
            workers,
        }));
        let frontends = (0..nfe)
            .map(|i| ProxyShm {
                words: &fe_words[i * PX_WORDS..][..PX_WORDS],
                gauge: i,
                state: layout,
            })
            .collect();
        let backends = (0..nbe)
            .map(|i| ProxyShm {
                words: &be_words[i * PX_WORDS..][..PX_WORDS],
                gauge: nfe + i,
                state: layout,
            })
            .collect();
        let mut servers = Vec::with_capacity(nbe);
        let mut k = 0;
        let now = unix_now();
        for b in &config.backends {
            let mut list = Vec::with_capacity(b.servers.len());
            for s in &b.servers {
                let shm = ServerShm {
                    words: &srv_words[k * SRV_WORDS..][..SRV_WORDS],
                    gauge: nfe + nbe + k,
                    state: layout,
                };
                shm.set(Srv::Weight, u64::from(s.weight));
                shm.set(
                    Srv::Admin,
                    if s.disabled { ADMIN_MAINT } else { ADMIN_READY },
                );
                shm.set(Srv::LastChange, now);
                list.push(shm);
                k += 1;
            }
            servers.push(list);
        }
        global[Gl::StartTime as usize].store(now, Relaxed);
        global[Gl::MaxConn as usize].store(config.global.maxconn as u64, Relaxed);
        Ok(SharedState {
            global,
            frontends,
            backends,
            servers,
            layout,
        })
    }

    pub fn global(&self, f: Gl) -> u64 {
        self.global[f as usize].load(Relaxed)
    }
    pub fn global_add(&self, f: Gl, n: u64) {
        self.global[f as usize].fetch_add(n, Relaxed);
    }

    /// Current connections over every worker (the frontends' sum).
    pub fn cur_conns(&self) -> u64 {
        self.frontends.iter().map(|f| f.cur()).sum()
    }

    /// Worker `w` (0-based) is gone: its sessions no longer count.
    pub fn reset_worker(&self, w: usize) {
        let l = self.layout;
        for i in 0..l.per_worker {
            l.word(w, i).store(0, Relaxed);
        }
    }

    /// One line per server: `B/S is UP, weight W. Conn: A act, 0 pend, T tot.`
    /// (the SIGHUP dump, HAProxy's wording).
    pub fn server_lines(&self, config: &Config) -> Vec<String> {
        let mut out = Vec::new();
        for (b, be) in config.backends.iter().enumerate() {
            for (i, s) in be.servers.iter().enumerate() {
                let shm = &self.servers[b][i];
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
    /// matched by name, so totals keep counting across reloads. A server
    /// keeps its runtime weight and administrative state unless the new
    /// configuration changed them.
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
                let (weight, admin) = (new.get(Srv::Weight), new.get(Srv::Admin));
                copy(new.words, prev.words);
                if old_be.servers[m].weight != srv.weight {
                    new.set(Srv::Weight, weight);
                }
                if old_be.servers[m].disabled != srv.disabled {
                    new.set(Srv::Admin, admin);
                }
            }
        }
        for f in [Gl::StartTime, Gl::CumConns, Gl::CumReq] {
            self.global[f as usize].store(old.global(f), Relaxed);
        }
    }

    /// A server by backend and server name.
    pub fn server(&self, config: &Config, backend: &str, server: &str) -> Option<(usize, usize)> {
        let b = config.backends.iter().position(|b| b.name == backend)?;
        let s = config.backends[b]
            .servers
            .iter()
            .position(|s| s.name == server)?;
        Some((b, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        match crate::config::load_str(
            "t.toml",
            "[global]\nnbproc = 2\n[frontend.f]\nbind = [\"127.0.0.1:1\"]\ndefault_backend = \"b\"\n\
             [backend.b]\nserver = [{ name = \"s\", address = \"127.0.0.1:2\", weight = 7 }, \
             { name = \"t\", address = \"127.0.0.1:3\", disabled = true }]\n",
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn gauges_sum_over_workers_and_reset() {
        let st = SharedState::private(&config());
        let s = st.servers[0][0];
        assert_eq!(
            (s.weight(), s.status(), st.servers[0][1].status()),
            (7, "UP", "MAINT")
        );
        s.enter(0);
        s.enter(1);
        s.enter(1);
        assert_eq!((s.cur(), s.get(Srv::Stot), s.get(Srv::Smax)), (3, 3, 3));
        s.leave(0);
        s.leave(0);
        assert_eq!(s.cur(), 2);
        st.reset_worker(1);
        assert_eq!((s.cur(), s.get(Srv::Smax)), (0, 3));
    }

    #[test]
    fn state_changes() {
        let st = SharedState::private(&config());
        let s = st.servers[0][0];
        s.set_down(true, 100);
        assert_eq!((s.status(), s.get(Srv::ChkDown)), ("DOWN", 1));
        s.set_down(false, 160);
        assert_eq!((s.status(), s.get(Srv::Downtime)), ("UP", 60));
        s.set(Srv::Admin, ADMIN_DRAIN);
        assert!(!s.usable());
        assert_eq!(s.status(), "DRAIN");
        st.frontends[0].count_status(503);
        assert_eq!(st.frontends[0].get(Px::Hrsp5xx), 1);
    }
}
