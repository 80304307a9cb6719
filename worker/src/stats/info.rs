//! `show info`: the service as a whole, in HAProxy's `Key: value` lines
//! and order. Figures weir does not have (SSL, compression, pipes, rates)
//! are 0, as HAProxy reports them when unused; `Pid` is the master's, the
//! process an operator signals.

use weir_core::config::model::Config;
use weir_core::shm::{unix_now, Gl, SharedState};

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
}

/// RLIMIT_NOFILE as the master set it (inherited), else as configured.
fn nofile(config: &Config) -> u64 {
    use nix::sys::resource::{getrlimit, Resource};
    getrlimit(Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or_else(|_| config.global.ulimit_n.unwrap_or(0))
}

impl Info {
    /// Reads the figures; `pid` is the master's.
    pub fn gather(config: &Config, shared: &SharedState, pid: u32) -> Info {
        let start_time = shared.global(Gl::StartTime);
        let nbproc = config.global.nbproc.max(1) as u64;
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
        }
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
        let lines: Vec<(&str, String)> = vec![
            ("Name", "weir".into()),
            ("Version", v.into()),
            ("Release_date", String::new()),
            ("Nbthread", "1".into()),
            ("Nbproc", self.nbproc.to_string()),
            ("Process_num", "1".into()),
            ("Pid", self.pid.to_string()),
            ("Uptime", self.uptime_text()),
            ("Uptime_sec", self.uptime.to_string()),
            ("Memmax_MB", "0".into()),
            ("PoolAlloc_MB", "0".into()),
            ("PoolUsed_MB", "0".into()),
            ("PoolFailed", "0".into()),
            ("Ulimit-n", self.ulimit_n.to_string()),
            ("Maxsock", self.ulimit_n.to_string()),
            ("Maxconn", self.maxconn.to_string()),
            ("Hard_maxconn", self.maxconn.to_string()),
            ("CurrConns", self.curr_conns.to_string()),
            ("CumConns", self.cum_conns.to_string()),
            ("CumReq", self.cum_req.to_string()),
            ("MaxSslConns", "0".into()),
            ("CurrSslConns", "0".into()),
            ("CumSslConns", "0".into()),
            ("Maxpipes", "0".into()),
            ("PipesUsed", "0".into()),
            ("PipesFree", "0".into()),
            ("ConnRate", "0".into()),
            ("ConnRateLimit", "0".into()),
            ("MaxConnRate", "0".into()),
            ("SessRate", "0".into()),
            ("SessRateLimit", "0".into()),
            ("MaxSessRate", "0".into()),
            ("CompressBpsIn", "0".into()),
            ("CompressBpsOut", "0".into()),
            ("CompressBpsRateLim", "0".into()),
            ("node", host),
            ("Stopping", "0".into()),
            ("Jobs", (self.curr_conns + self.listeners).to_string()),
            ("Unstoppable Jobs", "0".into()),
            ("Listeners", self.listeners.to_string()),
            ("ActivePeers", "0".into()),
            ("ConnectedPeers", "0".into()),
            ("DroppedLogs", "0".into()),
            ("BusyPolling", "0".into()),
            ("FailedResolutions", "0".into()),
            ("Build info", v.into()),
            ("Start_time_sec", self.start_time.to_string()),
            ("Tainted", "0".into()),
        ];
        let mut out = String::with_capacity(1024);
        for (k, val) in lines {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(&val);
            out.push('\n');
        }
        out
    }
}
