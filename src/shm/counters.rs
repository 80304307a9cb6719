//! Counters: the words every worker adds to (sessions, bytes, statuses)
//! and the gauges each worker keeps its own share of (current sessions,
//! summed when read, so a dead worker's share can be zeroed). Proxies
//! (frontends and backends) have [`Px`] words, the service [`Gl`] words;
//! servers' words are in [`super::servers`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    /// A backend's servers generation: bumped after every change of its
    /// slots (a server added, deleted, its address set), which workers
    /// and the health checks watch ([`super::servers`]).
    ServersGen,
}
pub(super) const PX_WORDS: usize = Px::ServersGen as usize + 1;

/// Process-wide words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Gl {
    /// Unix time the service started (survives worker restarts).
    StartTime,
    CumConns,
    CumReq,
    MaxConn,
    /// TLS handshakes completed on client connections (CumSslConns).
    SslConns,
    /// Of those, resumed sessions (SslFrontendSessionReuse_pct).
    SslReused,
    /// Client handshakes that failed or timed out.
    SslFailed,
    /// Completed handshakes per second (SslRate): a [`FreqCtr`].
    SslRateSec,
    SslRateCur,
    SslRatePrev,
    /// Full handshakes (a key computed) per second (SslFrontendKeyRate).
    SslKeyRateSec,
    SslKeyRateCur,
    SslKeyRatePrev,
    /// The most client handshakes completed in one second (MaxSslRate).
    SslMaxRate,
    /// The most full client handshakes in one second
    /// (SslFrontendMaxKeyRate).
    SslMaxKeyRate,
    /// TLS handshakes completed with servers.
    SslBeConns,
    /// Of those, resumed sessions.
    SslBeReused,
    /// Full handshakes with servers per second (SslBackendKeyRate).
    SslBeKeyRateSec,
    SslBeKeyRateCur,
    SslBeKeyRatePrev,
    /// The most full handshakes with servers in one second
    /// (SslBackendMaxKeyRate).
    SslBeMaxKeyRate,
    /// Lookups in the binds' session caches (TLS 1.2 session IDs,
    /// SslCacheLookups), and those that found nothing (SslCacheMisses).
    SslCacheLookups,
    SslCacheMisses,
    /// HTTP/2 client connections since start, and their streams.
    H2Conns,
    H2Streams,
    /// Connections closed by each HTTP/2 limit (`H2_LIMITS` words from
    /// here, in the order of the worker's `h2::Limit`).
    H2Limits,
}
/// Words for the HTTP/2 limits' counters.
pub const H2_LIMITS: usize = 16;
pub(super) const GL_WORDS: usize = Gl::H2Limits as usize + H2_LIMITS;

/// Gauges of the whole service, kept per worker like the proxies' (after
/// them in each worker's gauge words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum GlGauge {
    /// TLS connections open now, with clients and with servers
    /// (CurrSslConns, as HAProxy counts both sides).
    SslConns,
}
pub(super) const GL_GAUGES: usize = GlGauge::SslConns as usize + 1;

/// Events per second over three shared words (HAProxy's `freq_ctr`): the
/// current second, its count, the previous second's count. A reading is
/// the current count plus the previous one weighted by what remains of
/// the current second. Workers update it without a lock: two that roll
/// the second over at the same instant may lose a hit or two, which a
/// displayed rate can afford.
#[derive(Clone, Copy)]
pub struct FreqCtr {
    pub(super) words: &'static [AtomicU64],
}

impl FreqCtr {
    /// One more event at `now_ms` (milliseconds since the epoch); the
    /// events of the current second so far (what a maximum is kept of).
    pub fn hit(&self, now_ms: u64) -> u64 {
        let [sec, cur, prev] = self.words else {
            return 0;
        };
        let now = now_ms / 1000;
        let s = sec.load(Relaxed);
        if s != now && sec.compare_exchange(s, now, Relaxed, Relaxed).is_ok() {
            let last = cur.swap(0, Relaxed);
            prev.store(if now == s + 1 { last } else { 0 }, Relaxed);
        }
        cur.fetch_add(1, Relaxed) + 1
    }

    /// Events per second at `now_ms`.
    pub fn rate(&self, now_ms: u64) -> u64 {
        let [sec, cur, prev] = self.words else {
            return 0;
        };
        let (now, into) = (now_ms / 1000, now_ms % 1000);
        let s = sec.load(Relaxed);
        let (cur, prev) = match now.checked_sub(s) {
            Some(0) => (cur.load(Relaxed), prev.load(Relaxed)),
            Some(1) => (0, cur.load(Relaxed)),
            _ => (0, 0),
        };
        cur + prev * (1000 - into) / 1000
    }
}

/// One proxy's counters.
#[derive(Clone, Copy)]
pub struct ProxyShm {
    pub(super) words: &'static [AtomicU64],
    pub(super) gauge: usize,
    pub(super) state: &'static Layout,
}

/// Where the gauges live, shared by every handle.
pub(super) struct Layout {
    pub(super) gauges: &'static [AtomicU64],
    /// Gauge words per worker.
    pub(super) per_worker: usize,
    pub(super) workers: usize,
}

impl Layout {
    pub(super) fn sum(&self, index: usize) -> u64 {
        (0..self.workers)
            .map(|w| self.gauges[w * self.per_worker + index].load(Relaxed))
            .sum()
    }
    pub(super) fn word(&self, worker: usize, index: usize) -> &AtomicU64 {
        &self.gauges[(worker % self.workers) * self.per_worker + index]
    }
}

/// One worker's share of a gauge, held by what it counts (a TLS
/// connection to a server counts itself in `CurrSslConns` for as long as
/// it lives).
#[derive(Debug, Clone, Copy)]
pub struct GaugeWord(pub(super) &'static AtomicU64);

impl GaugeWord {
    /// One more.
    pub fn up(&self) {
        self.0.fetch_add(1, Relaxed);
    }
    /// One less (never below zero: the master may have zeroed the word of
    /// a worker it replaced).
    pub fn down(&self) {
        let _ = self
            .0
            .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
    }
}

/// The operations of a handle on a block of counter words and a gauge.
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
            /// Reads `f` with acquire ordering (a generation a writer
            /// released after its other writes).
            pub fn get_acquire(&self, f: $f) -> u64 {
                self.words[f as usize].load(std::sync::atomic::Ordering::Acquire)
            }
            /// Adds one to `f` with release ordering (publishes the writes
            /// before it to whoever reads it with acquire).
            pub fn bump(&self, f: $f) {
                self.words[f as usize].fetch_add(1, std::sync::atomic::Ordering::Release);
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
pub(super) use counters;

counters!(ProxyShm, Px);
