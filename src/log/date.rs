//! Wall-clock dates in the two layouts logs need: syslog's
//! `Nov 21 16:00:00` and HAProxy's accept date `21/Nov/2026:16:00:00.123`.
//! Local time is converted at most once per second.

use crate::sys::{localtime, LocalTime};
use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A wall-clock instant broken down to local time, with milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct WallTime {
    pub tm: LocalTime,
    pub millis: u32,
}

/// Caches the last second's conversion to local time.
#[derive(Default)]
pub struct Clock {
    last: Cell<Option<(i64, LocalTime)>>,
}

impl Clock {
    pub fn now(&self) -> WallTime {
        self.at(SystemTime::now())
    }

    pub fn at(&self, t: SystemTime) -> WallTime {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs() as i64;
        let tm = match self.last.get() {
            Some((s, tm)) if s == secs => tm,
            _ => {
                let tm = localtime(secs);
                self.last.set(Some((secs, tm)));
                tm
            }
        };
        WallTime {
            tm,
            millis: d.subsec_millis(),
        }
    }
}

/// `Nov 21 16:00:00` (RFC 3164; the day is space-padded).
pub fn syslog_date(t: &WallTime) -> String {
    let tm = &t.tm;
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[tm.month as usize], tm.day, tm.hour, tm.min, tm.sec
    )
}

/// `21/Nov/2026:16:00:00.123` (HAProxy's `%t`).
pub fn accept_date(t: &WallTime) -> String {
    let tm = &t.tm;
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}",
        tm.day, MONTHS[tm.month as usize], tm.year, tm.hour, tm.min, tm.sec, t.millis
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = WallTime {
            tm: LocalTime {
                year: 2026,
                month: 10,
                day: 1,
                hour: 9,
                min: 5,
                sec: 7,
            },
            millis: 42,
        };
        assert_eq!(syslog_date(&t), "Nov  1 09:05:07");
        assert_eq!(accept_date(&t), "01/Nov/2026:09:05:07.042");
    }
}
