//! Wall-clock dates in the two layouts logs need: syslog's
//! `Nov 21 16:00:00` and HAProxy's accept date `21/Nov/2026:16:00:00.123`.
//! Local time is converted at most once per second; the `write_*` forms
//! append to a byte buffer without allocating (the traffic log path).

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

/// Length of a [`write_syslog_date`] date.
pub const SYSLOG_DATE_LEN: usize = 15;

/// `Nov 21 16:00:00` (RFC 3164; the day is space-padded).
pub fn syslog_date(t: &WallTime) -> String {
    let mut b = Vec::with_capacity(SYSLOG_DATE_LEN);
    write_syslog_date(&mut b, t);
    String::from_utf8_lossy(&b).into_owned()
}

/// `21/Nov/2026:16:00:00.123` (HAProxy's `%t`).
pub fn accept_date(t: &WallTime) -> String {
    let mut b = Vec::with_capacity(24);
    write_accept_date(&mut b, t);
    String::from_utf8_lossy(&b).into_owned()
}

/// Appends [`syslog_date`]'s layout to `out`.
pub fn write_syslog_date(out: &mut Vec<u8>, t: &WallTime) {
    let tm = &t.tm;
    out.extend_from_slice(month(tm.month));
    out.push(b' ');
    if tm.day < 10 {
        out.push(b' ');
        out.push(digit(tm.day));
    } else {
        two_digits(out, tm.day);
    }
    out.push(b' ');
    time_of_day(out, tm);
}

/// Appends [`accept_date`]'s layout to `out`.
pub fn write_accept_date(out: &mut Vec<u8>, t: &WallTime) {
    let tm = &t.tm;
    two_digits(out, tm.day);
    out.push(b'/');
    out.extend_from_slice(month(tm.month));
    out.push(b'/');
    let y = tm.year.clamp(0, 9999) as u32;
    two_digits(out, y / 100);
    two_digits(out, y % 100);
    out.push(b':');
    time_of_day(out, tm);
    out.push(b'.');
    let ms = t.millis.min(999);
    out.push(digit(ms / 100));
    two_digits(out, ms % 100);
}

fn month(m: u32) -> &'static [u8] {
    MONTHS[(m as usize).min(11)].as_bytes()
}

/// `HH:MM:SS`.
fn time_of_day(out: &mut Vec<u8>, tm: &LocalTime) {
    two_digits(out, tm.hour);
    out.push(b':');
    two_digits(out, tm.min);
    out.push(b':');
    two_digits(out, tm.sec);
}

fn digit(v: u32) -> u8 {
    b'0' + (v % 10) as u8
}

/// `v` (0..=99) on two digits, zero-padded.
fn two_digits(out: &mut Vec<u8>, v: u32) {
    out.push(digit(v / 10));
    out.push(digit(v));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// 21/Nov/2026:16:00:00.123, for the line layouts' tests.
    pub(crate) fn date() -> WallTime {
        WallTime {
            tm: LocalTime {
                year: 2026,
                month: 10,
                day: 21,
                hour: 16,
                min: 0,
                sec: 0,
            },
            millis: 123,
        }
    }

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
        let t = WallTime {
            tm: LocalTime {
                year: 2026,
                month: 11,
                day: 31,
                hour: 23,
                min: 59,
                sec: 60,
            },
            millis: 999,
        };
        assert_eq!(syslog_date(&t), "Dec 31 23:59:60");
        assert_eq!(accept_date(&t), "31/Dec/2026:23:59:60.999");
    }
}
