//! `show info`: the service as a whole, in HAProxy 2.6's `Key: value`
//! lines and order (its `Idle_pct` line left out: weir does not measure
//! it). The TLS lines are real, over every worker
//! ([`weir_core::shm::SslFigures`]), but for the limits weir does not
//! have (`MaxSslConns`, `SslRateLimit`: 0, HAProxy's "no limit").
//! Figures of features weir does not have (compression, peers, debug
//! commands, log reception) are 0, as HAProxy reports them unused; so are
//! the figures weir's workers keep to themselves (memory pools, pipes in
//! use, connection rates, dropped logs, the run queue): see
//! docs/statistics.md. `Pid` is the master's, the process an operator
//! signals. After HAProxy's lines come weir's own, which HAProxy has no
//! name for: the HTTP/2 counters (`H2Conns`, `H2Streams`, then one line
//! per HTTP/2 limit, [`crate::h2::limits::LIMITS`], and `H2ProtocolErrors`),
//! then, with rate-limit tables, `StickTables`, `StickTableSize` and
//! `StickTableUsed`.

use weir_core::config::model::Config;
use weir_core::shm::{unix_now, unix_now_ms, Gl, Px, SharedState, SslFigures};

/// The figures `show info` and the Prometheus `haproxy_process_*` report.
#[derive(Debug, Clone, Default)]
pub struct Info {
    pub pid: u32,
    pub nbproc: u64,
    pub start_time: u64,
    pub uptime: u64,
    pub maxconn: u64,
    pub ulimit_n: u64,
    pub curr_conns: u64,
    pub cum_conns: u64,
    pub cum_req: u64,
    pub listeners: u64,
    /// Servers with health checks (one check task each).
    pub checks: u64,
    /// The pipe pools' bound over every worker (`maxconn / 4` each).
    pub maxpipes: u64,
    /// Bytes sent to clients and to servers.
    pub bytes_out: u64,
    /// The TLS figures.
    pub ssl: SslFigures,
    /// HTTP/2 client connections and streams since start.
    pub h2_conns: u64,
    pub h2_streams: u64,
    /// Connections closed by each HTTP/2 limit (in `LIMITS` order), then
    /// by other protocol errors.
    pub h2_closed: Vec<(&'static str, u64)>,
    /// The rate-limit tables, if any: how many, their entries in all, and
    /// the entries in use now (`StickTables`, `StickTableSize`,
    /// `StickTableUsed`; listed only with tables).
    pub tables: Option<(u64, u64, u64)>,
}

/// The `show info` name of the connections closed by protocol errors no
/// limit counts (an invalid frame, a bad preface): the word after the
/// limits' in the shared counters.
pub const H2_PROTOCOL_ERRORS: &str = "H2ProtocolErrors";

// Every limit and the protocol errors have a shared word.
const _: () = assert!(crate::h2::limits::LIMITS.len() < weir_core::shm::counters::H2_LIMITS);

/// Connections closed by each HTTP/2 limit, then by other protocol errors.
fn h2_closed(shared: &SharedState) -> Vec<(&'static str, u64)> {
    use crate::h2::limits::LIMITS;
    let mut v: Vec<_> = LIMITS
        .iter()
        .enumerate()
        .map(|(i, l)| (l.counter, shared.h2_limit(i)))
        .collect();
    v.push((H2_PROTOCOL_ERRORS, shared.h2_limit(LIMITS.len())));
    v
}

/// RLIMIT_NOFILE as the master set it (inherited), else as configured.
fn nofile(config: &Config) -> u64 {
    use nix::sys::resource::{getrlimit, Resource};
    getrlimit(Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or_else(|_| config.global.ulimit_n.unwrap_or(0))
}

/// The tables' count, size and use (a walk over every slot).
fn tables(config: &Config, shared: &SharedState) -> Option<(u64, u64, u64)> {
    if config.tables.is_empty() {
        return None;
    }
    let now = unix_now_ms();
    let (mut size, mut used) = (0, 0);
    for i in 0..config.tables.len() {
        if let Some(st) = shared.stick(config, i) {
            size += st.conf.size as u64;
            used += st.table.entries(now, st.expire()).count() as u64;
        }
    }
    Some((config.tables.len() as u64, size, used))
}

impl Info {
    /// Reads the figures; `pid` is the master's.
    pub fn gather(config: &Config, shared: &SharedState, pid: u32) -> Info {
        let start_time = shared.global(Gl::StartTime);
        let nbproc = config.global.nbproc.max(1) as u64;
        let sent: u64 = shared
            .frontends
            .iter()
            .map(|p| p.get(Px::Bout))
            .sum::<u64>()
            + shared.backends.iter().map(|p| p.get(Px::Bin)).sum::<u64>();
        // Checked servers, those added at run time included.
        let checks = config
            .backends
            .iter()
            .zip(&shared.servers)
            .filter(|(b, _)| b.check.is_some())
            .map(|(_, slots)| {
                slots
                    .iter()
                    .filter(|s| s.identity().is_some_and(|id| id.check))
                    .count() as u64
            })
            .sum();
        Info {
            pid,
            nbproc,
            start_time,
            uptime: unix_now().saturating_sub(start_time),
            maxconn: shared.global(Gl::MaxConn) * nbproc,
            ulimit_n: nofile(config),
            curr_conns: shared.cur_conns(),
            cum_conns: shared.global(Gl::CumConns),
            cum_req: shared.global(Gl::CumReq),
            listeners: config.frontends.iter().map(|f| f.binds.len() as u64).sum(),
            checks,
            maxpipes: shared.global(Gl::MaxConn) / 4 * nbproc,
            bytes_out: sent,
            ssl: shared.ssl_figures(unix_now_ms()),
            h2_conns: shared.global(Gl::H2Conns),
            h2_streams: shared.global(Gl::H2Streams),
            h2_closed: h2_closed(shared),
            tables: None,
        }
    }

    /// With the rate-limit tables' figures: a walk over every slot of
    /// every table, for the control process's `show info` only (never in
    /// a worker's turn: the stats page and Prometheus leave them out).
    pub fn with_tables(mut self, config: &Config, shared: &SharedState) -> Info {
        self.tables = tables(config, shared);
        self
    }

    /// `Uptime: 0d 0h00m02s`, as HAProxy writes it.
    pub fn uptime_text(&self) -> String {
        let s = self.uptime;
        format!(
            "{}d {}h{:02}m{:02}s",
            s / 86400,
            (s / 3600) % 24,
            (s / 60) % 60,
            s % 60
        )
    }

    /// The `show info` answer, one `Key: value` line each.
    pub fn render(&self) -> String {
        let v = weir_core::VERSION;
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let zero = || "0".to_string();
        let ssl = &self.ssl;
        let lines: Vec<(&str, String)> = vec![
            ("Name", "weir".into()),
            ("Version", v.into()),
            ("Release_date", weir_core::RELEASE_DATE.into()),
            ("Nbthread", "1".into()),
            ("Nbproc", self.nbproc.to_string()),
            ("Process_num", "1".into()),
            ("Pid", self.pid.to_string()),
            ("Uptime", self.uptime_text()),
            ("Uptime_sec", self.uptime.to_string()),
            ("Memmax_MB", zero()),
            ("PoolAlloc_MB", zero()),
            ("PoolUsed_MB", zero()),
            ("PoolFailed", zero()),
            ("Ulimit-n", self.ulimit_n.to_string()),
            ("Maxsock", self.ulimit_n.to_string()),
            ("Maxconn", self.maxconn.to_string()),
            ("Hard_maxconn", self.maxconn.to_string()),
            ("CurrConns", self.curr_conns.to_string()),
            ("CumConns", self.cum_conns.to_string()),
            ("CumReq", self.cum_req.to_string()),
            ("MaxSslConns", zero()),
            ("CurrSslConns", ssl.cur_conns.to_string()),
            ("CumSslConns", ssl.cum_conns.to_string()),
            ("Maxpipes", self.maxpipes.to_string()),
            ("PipesUsed", zero()),
            ("PipesFree", zero()),
            ("ConnRate", zero()),
            ("ConnRateLimit", zero()),
            ("MaxConnRate", zero()),
            ("SessRate", zero()),
            ("SessRateLimit", zero()),
            ("MaxSessRate", zero()),
            ("SslRate", ssl.rate.to_string()),
            ("SslRateLimit", zero()),
            ("MaxSslRate", ssl.max_rate.to_string()),
            ("SslFrontendKeyRate", ssl.fe_key_rate.to_string()),
            ("SslFrontendMaxKeyRate", ssl.fe_max_key_rate.to_string()),
            ("SslFrontendSessionReuse_pct", ssl.reuse_pct.to_string()),
            ("SslBackendKeyRate", ssl.be_key_rate.to_string()),
            ("SslBackendMaxKeyRate", ssl.be_max_key_rate.to_string()),
            ("SslCacheLookups", ssl.cache_lookups.to_string()),
            ("SslCacheMisses", ssl.cache_misses.to_string()),
            ("CompressBpsIn", zero()),
            ("CompressBpsOut", zero()),
            ("CompressBpsRateLim", zero()),
            // Each session is one task in its worker, each checked server
            // one in the control process.
            ("Tasks", (self.curr_conns + self.checks).to_string()),
            ("Run_queue", zero()),
            ("node", host),
            ("Stopping", zero()),
            ("Jobs", (self.curr_conns + self.listeners).to_string()),
            ("Unstoppable Jobs", zero()),
            ("Listeners", self.listeners.to_string()),
            ("ActivePeers", zero()),
            ("ConnectedPeers", zero()),
            ("DroppedLogs", zero()),
            ("BusyPolling", zero()),
            ("FailedResolutions", zero()),
            ("TotalBytesOut", self.bytes_out.to_string()),
            // HAProxy's spelling.
            ("TotalSplicdedBytesOut", zero()),
            ("BytesOutRate", zero()),
            ("DebugCommandsIssued", zero()),
            ("CumRecvLogs", zero()),
            ("Build info", v.into()),
            ("Memmax_bytes", zero()),
            ("PoolAlloc_bytes", zero()),
            ("PoolUsed_bytes", zero()),
            ("Start_time_sec", self.start_time.to_string()),
            ("Tainted", zero()),
        ];
        let mut lines = lines;
        // weir's own, after HAProxy's.
        lines.push(("H2Conns", self.h2_conns.to_string()));
        lines.push(("H2Streams", self.h2_streams.to_string()));
        for &(k, n) in &self.h2_closed {
            lines.push((k, n.to_string()));
        }
        if let Some((n, size, used)) = self.tables {
            lines.push(("StickTables", n.to_string()));
            lines.push(("StickTableSize", size.to_string()));
            lines.push(("StickTableUsed", used.to_string()));
        }
        let mut out = String::with_capacity(1536);
        for (k, val) in lines {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(&val);
            out.push('\n');
        }
        out
    }
}
