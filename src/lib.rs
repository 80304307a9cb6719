//! weir-core: what the master and the workers share.
//!
//! - [`config`]: the TOML file model, its validation into the typed model,
//!   and diagnostics with `FILE:LINE:COL`.
//! - [`log`]: log targets (stderr, stdout, syslog over UDP or a unix socket)
//!   and the HAProxy `tcplog` line.
//! - [`pool`]: the buffer pool that channels take their buffers from.
//! - [`tls`]: certificates, SNI selection, rustls configurations and
//!   session ticket keys (everything TLS needs but the I/O).
//! - [`sys`]: the one module where `unsafe` lives (fork, and the few raw
//!   syscalls nix does not wrap safely).
#![deny(unsafe_code)]

pub mod config;
pub mod log;
pub mod pool;
pub mod shm;
#[allow(unsafe_code)]
pub mod sys;
pub mod tls;

/// The version printed by `weir -v` and logged at start-up.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The date of this version, `YYYY/MM/DD` as HAProxy writes its own
/// (`weir -v`, `show info`'s `Release_date`): the date of the version's
/// entry in `packaging/debian/changelog` (a unit test checks it).
pub const RELEASE_DATE: &str = "2026/11/21";

#[cfg(test)]
mod tests {
    /// The first changelog entry is this version, dated [`super::RELEASE_DATE`].
    #[test]
    fn release_date_is_the_changelogs() {
        let log = include_str!("../packaging/debian/changelog");
        let first = log.lines().next().unwrap_or_default();
        let version = format!("weir ({}-", super::VERSION);
        assert!(first.starts_with(&version), "{first}");
        // " -- NAME <MAIL>  Sat, 21 Nov 2026 17:00:00 +0000"
        let trailer = log
            .lines()
            .find(|l| l.starts_with(" -- "))
            .unwrap_or_default();
        let date = trailer.rsplit("  ").next().unwrap_or_default();
        let parts: Vec<&str> = date.split_whitespace().collect();
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = months
            .iter()
            .position(|m| Some(m) == parts.get(2))
            .map(|m| m + 1);
        let ymd = format!(
            "{}/{:02}/{:0>2}",
            parts.get(3).copied().unwrap_or_default(),
            month.unwrap_or(0),
            parts.get(1).copied().unwrap_or_default()
        );
        assert_eq!(ymd, super::RELEASE_DATE, "{trailer}");
    }
}
