//! `[global] h2` (SPEC §9): the HTTP/2 settings weir advertises and the
//! thresholds of its flood and attack limits, as one table:
//!
//! ```toml
//! [global]
//! h2 = { max_concurrent_streams = 100, initial_window_size = "64k",
//!        max_frame_size = "16k", header_table_size = "4k",
//!        max_header_list_size = "64k", rapid_reset = 200 }
//! ```
//!
//! Its file model ([`H2File`]), its keys ([`KEYS`], listed by the schema),
//! its typed model ([`H2`], in `Global::h2`) and its validation ([`build`])
//! are all here. Ranges are the RFC's where it has one (RFC 9113 §6.5.2);
//! the worker's `h2::limits` documents what each threshold answers.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diag::Report;
use super::file::{GlobalFile, Parsed};
use super::raw::IntOrStr;
use super::units;

type S<T> = Option<Spanned<T>>;

/// The keys of the `h2` table, in documentation order.
pub const KEYS: &[&str] = &[
    "max_concurrent_streams",
    "initial_window_size",
    "max_frame_size",
    "header_table_size",
    "max_header_list_size",
    "max_continuation_frames",
    "glitches_threshold",
    "flood_window",
    "rapid_reset",
    "made_you_reset",
    "refused_streams",
    "settings_flood",
    "ping_flood",
    "empty_data_flood",
    "priority_flood",
    "window_update_flood",
];

/// `h2 = { … }` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an h2 table such as { max_concurrent_streams = 100 }"
)]
pub struct H2File {
    pub max_concurrent_streams: S<i64>,
    pub initial_window_size: S<IntOrStr>,
    pub max_frame_size: S<IntOrStr>,
    pub header_table_size: S<IntOrStr>,
    pub max_header_list_size: S<IntOrStr>,
    pub max_continuation_frames: S<i64>,
    pub glitches_threshold: S<i64>,
    pub flood_window: S<IntOrStr>,
    pub rapid_reset: S<i64>,
    pub made_you_reset: S<i64>,
    pub refused_streams: S<i64>,
    pub settings_flood: S<i64>,
    pub ping_flood: S<i64>,
    pub empty_data_flood: S<i64>,
    pub priority_flood: S<i64>,
    pub window_update_flood: S<i64>,
}

/// The HTTP/2 settings and limits, validated. A threshold of 0 turns that
/// limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2 {
    /// SETTINGS_MAX_CONCURRENT_STREAMS weir advertises (1 and up).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE weir advertises, also its connection
    /// receive window (1 to 2^31-1).
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE weir advertises (16384 to 16777215).
    pub max_frame_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK table weir's decoder keeps
    /// (at most 64k, as HAProxy).
    pub header_table_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: decoded fields (name + value + 32
    /// each), and the compressed field block, at most this.
    pub max_header_list_size: u32,
    /// HEADERS + CONTINUATION frames of one field block, at most this.
    pub max_continuation_frames: u32,
    /// Glitches (protocol anomalies) a connection may cause in its life.
    pub glitches_threshold: u32,
    /// The window the per-window thresholds below count over.
    pub flood_window: Duration,
    /// Streams the peer resets before their response started.
    pub rapid_reset: u32,
    /// Streams weir resets because of the peer.
    pub made_you_reset: u32,
    /// Streams refused over `max_concurrent_streams`.
    pub refused_streams: u32,
    /// SETTINGS frames.
    pub settings_flood: u32,
    /// PING frames.
    pub ping_flood: u32,
    /// Empty DATA, HEADERS-less CONTINUATION... frames that carry nothing.
    pub empty_data_flood: u32,
    /// PRIORITY frames.
    pub priority_flood: u32,
    /// WINDOW_UPDATE frames that let nothing be sent.
    pub window_update_flood: u32,
}

impl Default for H2 {
    fn default() -> H2 {
        H2 {
            max_concurrent_streams: 100,
            initial_window_size: 64 * 1024,
            max_frame_size: 16 * 1024,
            header_table_size: 4 * 1024,
            max_header_list_size: 64 * 1024,
            max_continuation_frames: 32,
            glitches_threshold: 1000,
            flood_window: Duration::from_secs(10),
            rapid_reset: 200,
            made_you_reset: 100,
            refused_streams: 100,
            settings_flood: 100,
            ping_flood: 100,
            empty_data_flood: 100,
            priority_flood: 1000,
            window_update_flood: 1000,
        }
    }
}

const MAX_WINDOW: u64 = (1 << 31) - 1;
const THRESHOLD_MAX: i64 = 1_000_000;

/// Validates `h2`, reporting every error at its value; a bad value keeps
/// its default.
pub(crate) fn build(p: &Parsed<GlobalFile>, h2: &S<H2File>, report: &mut Report) -> H2 {
    let mut out = H2::default();
    let Some(h2) = h2 else {
        return out;
    };
    let f = h2.get_ref();
    let mut size = |v: &S<IntOrStr>, key: &str, lo: u64, hi: u64, dst: &mut u32| {
        let Some(v) = v else { return };
        match units::size(v.get_ref()) {
            Ok(n) if (lo..=hi).contains(&n) => *dst = n as u32,
            Ok(n) => report.error(
                &p.at(v.span()),
                format!("`h2.{key}` must be between {lo} and {hi} bytes, got {n}"),
            ),
            Err(e) => report.error(&p.at(v.span()), e),
        }
    };
    size(
        &f.initial_window_size,
        "initial_window_size",
        1,
        MAX_WINDOW,
        &mut out.initial_window_size,
    );
    size(
        &f.max_frame_size,
        "max_frame_size",
        16_384,
        16_777_215,
        &mut out.max_frame_size,
    );
    size(
        &f.header_table_size,
        "header_table_size",
        0,
        65_536,
        &mut out.header_table_size,
    );
    size(
        &f.max_header_list_size,
        "max_header_list_size",
        1024,
        16 << 20,
        &mut out.max_header_list_size,
    );
    let mut count = |v: &S<i64>, key: &str, lo: i64, hi: i64, dst: &mut u32| {
        let Some(v) = v else { return };
        match *v.get_ref() {
            n if (lo..=hi).contains(&n) => *dst = n as u32,
            n => report.error(
                &p.at(v.span()),
                format!("`h2.{key}` must be between {lo} and {hi}, got {n}"),
            ),
        }
    };
    let m = &mut out;
    count(
        &f.max_concurrent_streams,
        "max_concurrent_streams",
        1,
        65_536,
        &mut m.max_concurrent_streams,
    );
    count(
        &f.max_continuation_frames,
        "max_continuation_frames",
        1,
        THRESHOLD_MAX,
        &mut m.max_continuation_frames,
    );
    let thresholds: [(&S<i64>, &str, &mut u32); 9] = [
        (
            &f.glitches_threshold,
            "glitches_threshold",
            &mut m.glitches_threshold,
        ),
        (&f.rapid_reset, "rapid_reset", &mut m.rapid_reset),
        (&f.made_you_reset, "made_you_reset", &mut m.made_you_reset),
        (
            &f.refused_streams,
            "refused_streams",
            &mut m.refused_streams,
        ),
        (&f.settings_flood, "settings_flood", &mut m.settings_flood),
        (&f.ping_flood, "ping_flood", &mut m.ping_flood),
        (
            &f.empty_data_flood,
            "empty_data_flood",
            &mut m.empty_data_flood,
        ),
        (&f.priority_flood, "priority_flood", &mut m.priority_flood),
        (
            &f.window_update_flood,
            "window_update_flood",
            &mut m.window_update_flood,
        ),
    ];
    for (v, key, dst) in thresholds {
        count(v, key, 0, THRESHOLD_MAX, dst);
    }
    if let Some(w) = &f.flood_window {
        match units::duration(w.get_ref()) {
            Ok(d) if d >= Duration::from_millis(100) && d <= Duration::from_secs(3600) => {
                out.flood_window = d
            }
            Ok(_) => report.error(
                &p.at(w.span()),
                "`h2.flood_window` must be between 100ms and 1h",
            ),
            Err(e) => report.error(&p.at(w.span()), e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::load_str;
    use super::*;

    const REST: &str = "[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n\
        [backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n";

    fn load(global: &str) -> Result<H2, Vec<String>> {
        load_str("t.toml", &format!("[global]\n{global}\n{REST}"))
            .map(|c| c.global.h2)
            .map_err(|e| {
                e.iter()
                    .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
                    .collect()
            })
    }

    #[test]
    fn defaults_are_spec_9() {
        let h = load("").unwrap();
        assert_eq!(h, H2::default());
        assert_eq!(h.max_concurrent_streams, 100);
        assert_eq!(h.initial_window_size, 65_536);
        assert_eq!(h.max_frame_size, 16_384);
        assert_eq!(h.header_table_size, 4096);
        assert_eq!(h.max_header_list_size, 65_536);
    }

    #[test]
    fn values_are_read() {
        let h = load(
            "h2 = { max_concurrent_streams = 10, initial_window_size = \"1m\", \
             max_frame_size = 32768, header_table_size = 0, max_header_list_size = \"16k\", \
             max_continuation_frames = 8, glitches_threshold = 0, flood_window = \"1s\", \
             rapid_reset = 50, made_you_reset = 5, refused_streams = 6, settings_flood = 7, \
             ping_flood = 8, empty_data_flood = 9, priority_flood = 10, window_update_flood = 11 }",
        )
        .unwrap();
        assert_eq!(h.max_concurrent_streams, 10);
        assert_eq!(h.initial_window_size, 1 << 20);
        assert_eq!(h.max_frame_size, 32_768);
        assert_eq!(h.header_table_size, 0);
        assert_eq!(h.max_header_list_size, 16_384);
        assert_eq!(h.max_continuation_frames, 8);
        assert_eq!(h.glitches_threshold, 0);
        assert_eq!(h.flood_window, Duration::from_secs(1));
        let t = [
            h.rapid_reset,
            h.made_you_reset,
            h.refused_streams,
            h.settings_flood,
            h.ping_flood,
            h.empty_data_flood,
            h.priority_flood,
            h.window_update_flood,
        ];
        assert_eq!(t, [50, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn rfc_ranges_with_positions() {
        let cases = [
            (
                "h2 = { max_frame_size = 16383 }",
                "2:25",
                "between 16384 and 16777215",
            ),
            (
                "h2 = { max_frame_size = \"16m\" }",
                "2:25",
                "between 16384 and 16777215",
            ),
            (
                "h2 = { initial_window_size = \"2g\" }",
                "2:30",
                "2147483647",
            ),
            ("h2 = { initial_window_size = 0 }", "2:30", "between 1 and"),
            (
                "h2 = { header_table_size = \"65k\" }",
                "2:28",
                "between 0 and 65536",
            ),
            (
                "h2 = { max_concurrent_streams = 0 }",
                "2:33",
                "between 1 and 65536",
            ),
            (
                "h2 = { max_header_list_size = \"1x\" }",
                "2:31",
                "invalid size",
            ),
            ("h2 = { rapid_reset = -1 }", "2:22", "between 0 and"),
            (
                "h2 = { flood_window = \"10ms\" }",
                "2:23",
                "between 100ms and 1h",
            ),
        ];
        for (text, pos, part) in cases {
            let e = load(text).unwrap_err();
            assert_eq!(e.len(), 1, "{text}: {e:?}");
            assert!(e[0].starts_with(&format!("{pos}: ")), "{text}: {e:?}");
            assert!(e[0].contains(part), "{text}: {e:?}");
        }
    }

    #[test]
    fn unknown_key_has_a_hint() {
        let e = load("h2 = { max_concurent_streams = 5 }").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("2:8: "), "{e:?}");
        assert!(e[0].contains("max_concurrent_streams"), "{e:?}");
    }
}
