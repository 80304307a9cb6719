//! The limits that answer the known HTTP/2 attacks, as data (STYLE 14):
//! [`Limits`] holds the thresholds (from `[global] h2`), [`Limit`] names
//! each one with its action and its counter ([`Limit::info`], one table),
//! and [`Guard`] counts the events of one connection. The connection state
//! calls [`Guard::note`] in one place per frame type; a threshold crossed
//! is a [`ConnError`]: GOAWAY with the limit's code, then close.
//!
//! | limit | counts | default | action | HAProxy | sozu |
//! |---|---|---|---|---|---|
//! | `rapid_reset` (CVE-2023-44487) | streams the peer resets before weir's response started, per window | 200 / 10 s | ENHANCE_YOUR_CALM | a glitch each | 100/s; 50 per connection |
//! | `made_you_reset` (CVE-2025-8671) | streams weir resets because of the peer (an invalid frame or request on a stream, a stream window overflow, a malformed request), per window | 100 / 10 s | ENHANCE_YOUR_CALM | a glitch each | 500 per connection |
//! | `max_continuation_frames` (CVE-2024-27316) | HEADERS + CONTINUATION frames of one field block | 32 | ENHANCE_YOUR_CALM | glitches for many tiny fragments | 20 |
//! | `max_header_list_size` (CVE-2024-27316, HPACK bomb) | compressed block bytes, then decoded name + value + 32 per field, of one block | 64 KiB | ENHANCE_YOUR_CALM, decoding stops at the crossing | `bufsize` (COMPRESSION_ERROR) | 64 KiB, 128 fields |
//! | `refused_streams` | streams refused over `max_concurrent_streams` (REFUSED_STREAM each), per window | 100 / 10 s | PROTOCOL_ERROR | a glitch each | halves the advertised limit after 50/min |
//! | `settings_flood` (CVE-2019-9515) | SETTINGS frames, per window | 100 / 10 s | ENHANCE_YOUR_CALM | — | 50/s |
//! | `ping_flood` (CVE-2019-9512) | PING frames, per window | 100 / 10 s | ENHANCE_YOUR_CALM | — | 100/s |
//! | `empty_data_flood` (CVE-2019-9518) | DATA without data nor END_STREAM, empty CONTINUATION, per window | 100 / 10 s | ENHANCE_YOUR_CALM | — | 100/s |
//! | `priority_flood` | PRIORITY frames, per window | 1000 / 10 s | ENHANCE_YOUR_CALM | — | — |
//! | `window_update_flood` | WINDOW_UPDATE of less than 1 KiB or on a closed stream, per window | 1000 / 10 s | ENHANCE_YOUR_CALM | glitch on a 0 increment | 100/s on stream 0 |
//! | `glitches_threshold` | other anomalies (see [`Limit::Glitches`]), in the connection's life | 1000 | ENHANCE_YOUR_CALM | `tune.h2.fe.glitches-threshold`, 0 (off) | 100 |
//! | `max_concurrent_streams` | open streams (not a counter: REFUSED_STREAM beyond) | 100 | see `refused_streams` | 100 | 100 |
//! | zero-window stall | a stream or the connection with data to send and no window: the mux times it out with `timeout.client` ([`super::conn::Connection::send_window`]) | — | close | `timeout client` | idle timeout |
//!
//! Windows are fixed (the count restarts when a window ends), one length
//! for all (`flood_window`). A threshold of 0 turns its limit off. Each
//! limit has a counter name for `show info` ([`LimitInfo::counter`]): the
//! mux adds one to the global counter of the limit that closed a
//! connection, and [`Guard::count`] gives a connection's own events.

use weir_core::config::model::H2;

use super::error::{ConnError, ErrorCode};

/// One limit. The order is the order of [`LIMITS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Streams reset by the peer before weir's response started.
    RapidReset,
    /// Streams weir reset because of the peer.
    MadeYouReset,
    /// Frames of one field block.
    Continuation,
    /// Size of one field block, compressed or decoded.
    HeaderList,
    /// Streams refused over `max_concurrent_streams`.
    RefusedStreams,
    /// SETTINGS frames.
    SettingsFlood,
    /// PING frames.
    PingFlood,
    /// Frames carrying nothing.
    EmptyDataFlood,
    /// PRIORITY frames.
    PriorityFlood,
    /// WINDOW_UPDATE frames that let nothing be sent.
    WindowUpdateFlood,
    /// Any other anomaly: a stream error weir did not count elsewhere, a
    /// frame on a closed stream, RST_STREAM or WINDOW_UPDATE on an idle
    /// stream tolerated, a field block cut into many tiny fragments, a
    /// reduced SETTINGS_INITIAL_WINDOW_SIZE leaving windows negative.
    Glitches,
}

/// What a limit is called and does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitInfo {
    /// The limit.
    pub limit: Limit,
    /// Its key in `[global] h2`.
    pub key: &'static str,
    /// Counted over `flood_window` (else over the block, or the life of
    /// the connection).
    pub per_window: bool,
    /// The GOAWAY code when it is crossed.
    pub action: ErrorCode,
    /// The `show info` counter of connections it closed.
    pub counter: &'static str,
    /// The reason logged and sent as GOAWAY debug data.
    pub reason: &'static str,
}

const fn info(
    limit: Limit,
    key: &'static str,
    per_window: bool,
    action: ErrorCode,
    counter: &'static str,
    reason: &'static str,
) -> LimitInfo {
    LimitInfo {
        limit,
        key,
        per_window,
        action,
        counter,
        reason,
    }
}

const CALM: ErrorCode = ErrorCode::ENHANCE_YOUR_CALM;

/// Every limit, in [`Limit`] order.
pub const LIMITS: [LimitInfo; 11] = [
    info(
        Limit::RapidReset,
        "rapid_reset",
        true,
        CALM,
        "H2RapidReset",
        "rapid reset: too many streams reset early",
    ),
    info(
        Limit::MadeYouReset,
        "made_you_reset",
        true,
        CALM,
        "H2MadeYouReset",
        "too many streams reset for errors",
    ),
    info(
        Limit::Continuation,
        "max_continuation_frames",
        false,
        CALM,
        "H2ContinuationFlood",
        "too many CONTINUATION frames",
    ),
    info(
        Limit::HeaderList,
        "max_header_list_size",
        false,
        CALM,
        "H2HeaderListTooLarge",
        "header list over max_header_list_size",
    ),
    info(
        Limit::RefusedStreams,
        "refused_streams",
        true,
        ErrorCode::PROTOCOL_ERROR,
        "H2RefusedStreams",
        "too many streams over max_concurrent_streams",
    ),
    info(
        Limit::SettingsFlood,
        "settings_flood",
        true,
        CALM,
        "H2SettingsFlood",
        "SETTINGS flood",
    ),
    info(
        Limit::PingFlood,
        "ping_flood",
        true,
        CALM,
        "H2PingFlood",
        "PING flood",
    ),
    info(
        Limit::EmptyDataFlood,
        "empty_data_flood",
        true,
        CALM,
        "H2EmptyFrameFlood",
        "empty frame flood",
    ),
    info(
        Limit::PriorityFlood,
        "priority_flood",
        true,
        CALM,
        "H2PriorityFlood",
        "PRIORITY flood",
    ),
    info(
        Limit::WindowUpdateFlood,
        "window_update_flood",
        true,
        CALM,
        "H2WindowUpdateFlood",
        "WINDOW_UPDATE flood",
    ),
    info(
        Limit::Glitches,
        "glitches_threshold",
        false,
        CALM,
        "H2Glitches",
        "too many protocol glitches",
    ),
];

impl Limit {
    /// Its row of [`LIMITS`].
    pub fn info(self) -> &'static LimitInfo {
        &LIMITS[self as usize]
    }

    /// The error that closes the connection when it is crossed.
    pub fn error(self) -> ConnError {
        let i = self.info();
        ConnError {
            code: i.action,
            reason: i.reason,
            limit: Some(self),
        }
    }
}

/// A WINDOW_UPDATE increment under this lets (almost) nothing be sent.
pub const SMALL_WINDOW_UPDATE: u32 = 1024;

/// The settings weir advertises and the thresholds of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// SETTINGS_MAX_CONCURRENT_STREAMS advertised and enforced.
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE advertised; the connection's receive
    /// window too.
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE advertised and enforced.
    pub max_frame_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE advertised (the decoder's table).
    pub header_table_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE advertised and enforced.
    pub max_header_list_size: u32,
    /// Frames of one field block.
    pub max_continuation_frames: u32,
    /// The flood window, in milliseconds.
    pub window_ms: u64,
    /// The threshold of each counted limit, in [`Limit`] order (0: off).
    pub thresholds: [u32; LIMITS.len()],
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::from(&H2::default())
    }
}

impl From<&H2> for Limits {
    fn from(c: &H2) -> Limits {
        let mut thresholds = [0; LIMITS.len()];
        for (slot, row) in thresholds.iter_mut().zip(LIMITS.iter()) {
            *slot = match row.limit {
                Limit::RapidReset => c.rapid_reset,
                Limit::MadeYouReset => c.made_you_reset,
                Limit::Continuation => c.max_continuation_frames,
                Limit::HeaderList => c.max_header_list_size,
                Limit::RefusedStreams => c.refused_streams,
                Limit::SettingsFlood => c.settings_flood,
                Limit::PingFlood => c.ping_flood,
                Limit::EmptyDataFlood => c.empty_data_flood,
                Limit::PriorityFlood => c.priority_flood,
                Limit::WindowUpdateFlood => c.window_update_flood,
                Limit::Glitches => c.glitches_threshold,
            };
        }
        Limits {
            max_concurrent_streams: c.max_concurrent_streams,
            initial_window_size: c.initial_window_size,
            max_frame_size: c.max_frame_size,
            header_table_size: c.header_table_size,
            max_header_list_size: c.max_header_list_size,
            max_continuation_frames: c.max_continuation_frames,
            window_ms: u64::try_from(c.flood_window.as_millis()).unwrap_or(u64::MAX),
            thresholds,
        }
    }
}

impl Limits {
    /// The threshold of `limit` (0: off).
    pub fn threshold(&self, limit: Limit) -> u32 {
        self.thresholds[limit as usize]
    }
}

/// The counters of one connection.
#[derive(Clone, Debug)]
pub struct Guard {
    limits: Limits,
    window_start: u64,
    in_window: [u32; LIMITS.len()],
    total: [u64; LIMITS.len()],
    tripped: Option<Limit>,
}

impl Guard {
    /// Counters at zero, the first window starting at `now_ms`.
    pub fn new(limits: Limits, now_ms: u64) -> Guard {
        Guard {
            limits,
            window_start: now_ms,
            in_window: [0; LIMITS.len()],
            total: [0; LIMITS.len()],
            tripped: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counts `n` events of a per-window or per-life limit at `now_ms`;
    /// an error once its threshold is crossed (and for every later event).
    pub fn note(&mut self, limit: Limit, n: u32, now_ms: u64) -> Result<(), ConnError> {
        if now_ms.saturating_sub(self.window_start) >= self.limits.window_ms {
            self.window_start = now_ms;
            self.in_window = [0; LIMITS.len()];
        }
        let i = limit as usize;
        self.total[i] = self.total[i].saturating_add(u64::from(n));
        let count = if limit.info().per_window {
            self.in_window[i] = self.in_window[i].saturating_add(n);
            u64::from(self.in_window[i])
        } else {
            self.total[i]
        };
        let threshold = self.limits.threshold(limit);
        if threshold != 0 && count > u64::from(threshold) {
            self.tripped.get_or_insert(limit);
            return Err(limit.error());
        }
        Ok(())
    }

    /// Checks a per-block amount (frames or bytes of one field block)
    /// against its limit; not counted across blocks.
    pub fn check_block(&mut self, limit: Limit, amount: usize) -> Result<(), ConnError> {
        let threshold = self.limits.threshold(limit);
        if threshold != 0 && amount > threshold as usize {
            self.total[limit as usize] += 1;
            self.tripped.get_or_insert(limit);
            return Err(limit.error());
        }
        Ok(())
    }

    /// Events counted for `limit` in the connection's life.
    pub fn count(&self, limit: Limit) -> u64 {
        self.total[limit as usize]
    }

    /// The first limit crossed, if any (for the log and the counters).
    pub fn tripped(&self) -> Option<Limit> {
        self.tripped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::config::schema;

    #[test]
    fn table_is_in_enum_order() {
        for (i, row) in LIMITS.iter().enumerate() {
            assert_eq!(row.limit as usize, i, "{row:?}");
            assert_eq!(row.limit.info(), row);
            let keys = schema::nested(schema::Section::Global, "h2").unwrap_or_default();
            assert!(keys.contains(&row.key), "{}", row.key);
        }
        let names: std::collections::HashSet<_> = LIMITS.iter().map(|r| r.counter).collect();
        assert_eq!(names.len(), LIMITS.len());
    }

    #[test]
    fn a_flood_crosses_at_the_threshold_plus_one() {
        let limits = Limits::default();
        let mut g = Guard::new(limits, 0);
        for i in 0..100 {
            assert_eq!(g.note(Limit::PingFlood, 1, i), Ok(()), "{i}");
        }
        let e = g.note(Limit::PingFlood, 1, 100).unwrap_err();
        assert_eq!(e.code, ErrorCode::ENHANCE_YOUR_CALM);
        assert_eq!(e.limit, Some(Limit::PingFlood));
        assert_eq!(g.tripped(), Some(Limit::PingFlood));
        assert_eq!(g.count(Limit::PingFlood), 101);
    }

    #[test]
    fn windows_restart_and_life_counters_do_not() {
        let mut limits = Limits::default();
        limits.thresholds[Limit::PingFlood as usize] = 3;
        limits.thresholds[Limit::Glitches as usize] = 5;
        let mut g = Guard::new(limits, 1000);
        // Three per window, forever: never crossed.
        for w in 0..10u64 {
            for k in 0..3 {
                let now = 1000 + w * limits.window_ms + k;
                assert_eq!(g.note(Limit::PingFlood, 1, now), Ok(()));
            }
        }
        for k in 0..5 {
            assert_eq!(g.note(Limit::Glitches, 1, k * 1_000_000), Ok(()));
        }
        assert!(g.note(Limit::Glitches, 1, 10_000_000).is_err());
    }

    #[test]
    fn zero_turns_a_limit_off_and_blocks_are_checked_alone() {
        let mut limits = Limits::default();
        limits.thresholds[Limit::PriorityFlood as usize] = 0;
        let mut g = Guard::new(limits, 0);
        for _ in 0..100_000 {
            assert_eq!(g.note(Limit::PriorityFlood, 1, 0), Ok(()));
        }
        assert_eq!(g.check_block(Limit::Continuation, 32), Ok(()));
        let e = g.check_block(Limit::Continuation, 33).unwrap_err();
        assert_eq!(e.limit, Some(Limit::Continuation));
        assert_eq!(
            Limit::RefusedStreams.error().code,
            ErrorCode::PROTOCOL_ERROR
        );
    }
}
