//! The TLS figures of `show info` (HAProxy's `CurrSslConns`, `SslRate`,
//! `SslFrontendKeyRate`…): handshakes counted as they complete, on either
//! side, and read back as one set.
//!
//! A completed handshake counts once, and once more into a key rate when
//! it was a full one (a key exchange computed, not a resumed session).
//! Each rate keeps its highest one-second count (`MaxSslRate`,
//! `SslFrontendMaxKeyRate`, `SslBackendMaxKeyRate`). The reuse percentage
//! is HAProxy's: computed from the two client rates, so it describes the
//! last second or so, not the whole run.

use super::counters::{FreqCtr, GaugeWord, Gl, GlGauge};
use super::SharedState;

/// Which side of weir a handshake was with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A client's connection to a TLS bind.
    Client,
    /// weir's connection to a server with `tls`.
    Server,
}

/// The TLS lines of `show info`, over every worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SslFigures {
    /// TLS connections open now, both sides (CurrSslConns).
    pub cur_conns: u64,
    /// Handshakes completed since start, both sides (CumSslConns).
    pub cum_conns: u64,
    /// Client handshakes in the last second (SslRate), and the most seen.
    pub rate: u64,
    pub max_rate: u64,
    /// Full client handshakes in the last second, and the most seen.
    pub fe_key_rate: u64,
    pub fe_max_key_rate: u64,
    /// The share of client handshakes that resumed a session, in percent.
    pub reuse_pct: u64,
    /// Full handshakes with servers in the last second, and the most seen.
    pub be_key_rate: u64,
    pub be_max_key_rate: u64,
    /// Session cache lookups and misses (TLS 1.2 session IDs).
    pub cache_lookups: u64,
    pub cache_misses: u64,
    /// Client handshakes that failed.
    pub failed: u64,
    /// Resumed handshakes, each side.
    pub fe_reused: u64,
    pub be_reused: u64,
}

/// HAProxy's reuse ratio from the two rates: the share of handshakes that
/// computed no key, rounded to the nearest percent.
pub fn reuse_pct(rate: u64, key_rate: u64) -> u64 {
    if key_rate >= rate {
        return 0;
    }
    100 - (100 * key_rate + (rate - 1) / 2) / rate
}

impl SharedState {
    /// Full TLS handshakes with servers per second.
    pub fn ssl_be_key_rate(&self) -> FreqCtr {
        FreqCtr {
            words: &self.global[Gl::SslBeKeyRateSec as usize..=Gl::SslBeKeyRatePrev as usize],
        }
    }

    /// Worker `w`'s word of gauge `g`, for something that counts itself
    /// in and out.
    pub fn gauge_word(&self, g: GlGauge, w: usize) -> GaugeWord {
        GaugeWord(self.layout.word(w, self.gauge_index(g)))
    }

    /// Counts a completed handshake on `side` at `now_ms`.
    pub fn count_handshake(&self, side: Side, resumed: bool, now_ms: u64) {
        let max = |f: Gl, n: u64| {
            self.global[f as usize].fetch_max(n, std::sync::atomic::Ordering::Relaxed);
        };
        match side {
            Side::Client => {
                self.global_add(Gl::SslConns, 1);
                max(Gl::SslMaxRate, self.ssl_rate().hit(now_ms));
                if resumed {
                    self.global_add(Gl::SslReused, 1);
                } else {
                    max(Gl::SslMaxKeyRate, self.ssl_key_rate().hit(now_ms));
                }
            }
            Side::Server => {
                self.global_add(Gl::SslBeConns, 1);
                if resumed {
                    self.global_add(Gl::SslBeReused, 1);
                } else {
                    max(Gl::SslBeMaxKeyRate, self.ssl_be_key_rate().hit(now_ms));
                }
            }
        }
    }

    /// Counts a lookup in a session cache.
    pub fn count_cache_lookup(&self, found: bool) {
        self.global_add(Gl::SslCacheLookups, 1);
        if !found {
            self.global_add(Gl::SslCacheMisses, 1);
        }
    }

    /// The TLS figures at `now_ms`.
    pub fn ssl_figures(&self, now_ms: u64) -> SslFigures {
        let rate = self.ssl_rate().rate(now_ms);
        let fe_key_rate = self.ssl_key_rate().rate(now_ms);
        SslFigures {
            cur_conns: self.gauge(GlGauge::SslConns),
            cum_conns: self.global(Gl::SslConns) + self.global(Gl::SslBeConns),
            rate,
            max_rate: self.global(Gl::SslMaxRate),
            fe_key_rate,
            fe_max_key_rate: self.global(Gl::SslMaxKeyRate),
            reuse_pct: reuse_pct(rate, fe_key_rate),
            be_key_rate: self.ssl_be_key_rate().rate(now_ms),
            be_max_key_rate: self.global(Gl::SslBeMaxKeyRate),
            cache_lookups: self.global(Gl::SslCacheLookups),
            cache_misses: self.global(Gl::SslCacheMisses),
            failed: self.global(Gl::SslFailed),
            fe_reused: self.global(Gl::SslReused),
            be_reused: self.global(Gl::SslBeReused),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    fn state() -> SharedState {
        let config: Config = match crate::config::load_str(
            "t.toml",
            "[global]\nnbproc = 2\n[frontend.f]\nbind = [\"127.0.0.1:1\"]\ndefault_backend = \"b\"\n\
             [backend.b]\nserver = [{ name = \"s\", address = \"127.0.0.1:2\" }]\n",
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        };
        SharedState::private(&config)
    }

    #[test]
    fn haproxys_reuse_ratio() {
        assert_eq!(reuse_pct(0, 0), 0);
        assert_eq!(reuse_pct(5, 2), 60);
        assert_eq!(reuse_pct(3, 1), 67);
        assert_eq!(reuse_pct(4, 4), 0);
        assert_eq!(reuse_pct(4, 9), 0);
        assert_eq!(reuse_pct(10, 0), 100);
    }

    #[test]
    fn both_sides_and_the_maxima() {
        let st = state();
        let t = 1_000_000_000;
        for resumed in [false, false, true, true, true] {
            st.count_handshake(Side::Client, resumed, t);
        }
        st.count_handshake(Side::Server, false, t + 10);
        st.count_handshake(Side::Server, true, t + 20);
        st.count_cache_lookup(true);
        st.count_cache_lookup(false);
        let g = st.gauge_word(GlGauge::SslConns, 1);
        g.up();
        st.gauge_move(GlGauge::SslConns, 0, true);
        let f = st.ssl_figures(t + 30);
        assert_eq!(
            (f.cur_conns, f.cum_conns, f.rate, f.fe_key_rate, f.reuse_pct),
            (2, 7, 5, 2, 60)
        );
        assert_eq!((f.max_rate, f.fe_max_key_rate), (5, 2));
        assert_eq!((f.be_key_rate, f.be_max_key_rate, f.be_reused), (1, 1, 1));
        assert_eq!((f.cache_lookups, f.cache_misses), (2, 1));
        // Two seconds later the rates are gone, the maxima stay.
        let f = st.ssl_figures(t + 2_100);
        assert_eq!((f.rate, f.max_rate, f.reuse_pct), (0, 5, 0));
        g.down();
        g.down();
        g.down();
        assert_eq!(st.ssl_figures(t).cur_conns, 1);
    }
}
