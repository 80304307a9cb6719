//! Reading weir's log lines: the syslog-style prefix and HAProxy's `tcplog`.
//!
//! On stderr a line is `Mon DD HH:MM:SS HOSTNAME weir[PID]: MESSAGE`; over
//! syslog it is `<PRI>Mon DD HH:MM:SS weir[PID]: MESSAGE`. Both end in
//! `weir[PID]: MESSAGE`, which is what [`LogLine::parse`] looks for.

use std::net::SocketAddr;

/// One log line: the pid in `weir[PID]` and the message after it.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Everything before `weir[`.
    pub prefix: String,
    pub pid: i32,
    pub message: String,
}

impl LogLine {
    pub fn parse(line: &str) -> Option<LogLine> {
        let start = line.find("weir[")?;
        let rest = &line[start + 5..];
        let close = rest.find("]: ")?;
        let pid = rest[..close].parse().ok()?;
        Some(LogLine {
            prefix: line[..start].to_string(),
            pid,
            message: rest[close + 3..].to_string(),
        })
    }
}

/// Every weir log line in `text` that is whole: a last line without its
/// newline may still be being written, and is left for a later read.
pub fn lines(text: &str) -> Vec<LogLine> {
    whole_lines(text)
        .lines()
        .filter_map(LogLine::parse)
        .collect()
}

/// `text` up to and including its last newline: the lines written whole.
pub fn whole_lines(text: &str) -> &str {
    text.rfind('\n').map_or("", |i| &text[..=i])
}

/// A `tcplog` message:
/// `CLIENT [DATE] FRONTEND BACKEND/SERVER Tw/Tc/Tt BYTES TS ACT/FE/BE/SRV/RETRIES SQ/BQ`.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpLog {
    pub client: SocketAddr,
    /// Inside the brackets, e.g. `21/Nov/2026:16:00:00.123`.
    pub date: String,
    pub frontend: String,
    pub backend: String,
    pub server: String,
    pub tw: i64,
    pub tc: i64,
    pub tt: i64,
    pub bytes: u64,
    pub termination: String,
    /// actconn, feconn, beconn, srv_conn, retries
    pub counters: [i64; 5],
    pub queues: (i64, i64),
}

impl TcpLog {
    pub fn retries(&self) -> i64 {
        self.counters[4]
    }

    /// Parses a message; `None` if it is not a tcplog message.
    pub fn parse(message: &str) -> Option<TcpLog> {
        let f: Vec<&str> = message.split_whitespace().collect();
        if f.len() != 9 {
            return None;
        }
        let client = f[0].parse().ok()?;
        let date = f[1].strip_prefix('[')?.strip_suffix(']')?.to_string();
        let (backend, server) = f[3].split_once('/')?;
        let times: Vec<i64> = nums(f[4])?;
        let counters: Vec<i64> = nums(f[7])?;
        let queues: Vec<i64> = nums(f[8])?;
        if times.len() != 3 || counters.len() != 5 || queues.len() != 2 || f[6].len() != 2 {
            return None;
        }
        Some(TcpLog {
            client,
            date,
            frontend: f[2].to_string(),
            backend: backend.to_string(),
            server: server.to_string(),
            tw: times[0],
            tc: times[1],
            tt: times[2],
            bytes: f[5].trim_start_matches('+').parse().ok()?,
            termination: f[6].to_string(),
            counters: counters.try_into().ok()?,
            queues: (queues[0], queues[1]),
        })
    }
}

/// `a/b/c` to numbers; HAProxy prefixes some with `+` (e.g. a redispatch).
fn nums(field: &str) -> Option<Vec<i64>> {
    field
        .split('/')
        .map(|x| x.trim_start_matches('+').parse().ok())
        .collect()
}

/// Every tcplog line in `text`, with the pid that logged it.
pub fn tcplogs(text: &str) -> Vec<(i32, TcpLog)> {
    lines(text)
        .into_iter()
        .filter_map(|l| TcpLog::parse(&l.message).map(|t| (l.pid, t)))
        .collect()
}

/// A `DD/Mon/YYYY:HH:MM:SS.mmm` date as milliseconds since the Unix epoch
/// (in the time zone weir logged it in, so only for comparing dates of
/// one run).
pub fn date_ms(s: &str) -> Option<i64> {
    if !is_haproxy_date(s) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (d, y) = (num(0..2)?, num(7..11)?);
    let m = MONTHS.iter().position(|&m| m == &s[3..6])? as i64 + 1;
    // Days from 1970-01-01 to y-m-d (proleptic Gregorian calendar).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = ((days * 24 + num(12..14)?) * 60 + num(15..17)?) * 60 + num(18..20)?;
    Some(secs * 1000 + num(21..24)?)
}

/// True if `s` is `DD/Mon/YYYY:HH:MM:SS.mmm`.
pub fn is_haproxy_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b[i].is_ascii_digit());
    b.len() == 24
        && digits(0..2)
        && b[2] == b'/'
        && MONTHS.contains(&&s[3..6])
        && b[6] == b'/'
        && digits(7..11)
        && b[11] == b':'
        && digits(12..14)
        && b[14] == b':'
        && digits(15..17)
        && b[17] == b':'
        && digits(18..20)
        && b[20] == b'.'
        && digits(21..24)
}

/// True if `s` starts with a syslog timestamp, `Mon DD HH:MM:SS` (the day is
/// space-padded), and returns the rest.
pub fn strip_syslog_time(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() < 16 || !MONTHS.contains(&&s[0..3]) || b[3] != b' ' {
        return None;
    }
    let day_ok = (b[4] == b' ' || b[4].is_ascii_digit()) && b[5].is_ascii_digit();
    let time_ok = b[6] == b' '
        && b[7].is_ascii_digit()
        && b[8].is_ascii_digit()
        && b[9] == b':'
        && b[10].is_ascii_digit()
        && b[11].is_ascii_digit()
        && b[12] == b':'
        && b[13].is_ascii_digit()
        && b[14].is_ascii_digit()
        && b[15] == b' ';
    (day_ok && time_ok).then(|| &s[16..])
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An `httplog` message:
/// `CLIENT [DATE] FRONTEND BACKEND/SERVER TR/Tw/Tc/Tr/Ta STATUS BYTES - - TERM
/// ACT/FE/BE/SRV/RETRIES SQ/BQ "REQUEST"`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpLog {
    pub pid: i32,
    pub client: SocketAddr,
    /// Inside the brackets, e.g. `21/Nov/2026:16:00:00.123`.
    pub date: String,
    pub frontend: String,
    pub backend: String,
    pub server: String,
    /// TR (request head), Tw (queue), Tc (connect), Tr (response head),
    /// Ta (active): -1 for a stage not reached.
    pub timers: [i64; 5],
    pub status: i64,
    /// Bytes sent to the client.
    pub bytes: u64,
    /// The 4-character termination state, e.g. `----`, `PR--`.
    pub termination: String,
    /// actconn, feconn, beconn, srv_conn, retries
    pub counters: [i64; 5],
    pub queues: (i64, i64),
    /// The request line between the quotes, e.g. `GET / HTTP/1.1`.
    pub request: String,
}

impl HttpLog {
    pub fn t_request(&self) -> i64 {
        self.timers[0]
    }
    pub fn t_queue(&self) -> i64 {
        self.timers[1]
    }
    pub fn t_connect(&self) -> i64 {
        self.timers[2]
    }
    pub fn t_response(&self) -> i64 {
        self.timers[3]
    }
    pub fn t_active(&self) -> i64 {
        self.timers[4]
    }

    /// The method and the target of the request line.
    pub fn method(&self) -> &str {
        self.request.split(' ').next().unwrap_or("")
    }
    pub fn target(&self) -> &str {
        self.request.split(' ').nth(1).unwrap_or("")
    }

    /// Parses a message; `None` if it is not an httplog message.
    pub fn parse(pid: i32, message: &str) -> Option<HttpLog> {
        let quote = message.find('"')?;
        let request = message[quote..]
            .strip_prefix('"')?
            .strip_suffix('"')?
            .to_string();
        let f: Vec<&str> = message[..quote].split_whitespace().collect();
        if f.len() != 12 || f[7] != "-" || f[8] != "-" || f[9].len() != 4 {
            return None;
        }
        let client = f[0].parse().ok()?;
        let date = f[1].strip_prefix('[')?.strip_suffix(']')?.to_string();
        let (backend, server) = f[3].split_once('/')?;
        let timers: Vec<i64> = nums(f[4])?;
        let counters: Vec<i64> = nums(f[10])?;
        let queues: Vec<i64> = nums(f[11])?;
        if queues.len() != 2 {
            return None;
        }
        Some(HttpLog {
            pid,
            client,
            date,
            frontend: f[2].to_string(),
            backend: backend.to_string(),
            server: server.to_string(),
            timers: timers.try_into().ok()?,
            status: f[5].parse().ok()?,
            bytes: f[6].trim_start_matches('+').parse().ok()?,
            termination: f[9].to_string(),
            counters: counters.try_into().ok()?,
            queues: (queues[0], queues[1]),
            request,
        })
    }
}

/// Every httplog line in `text`.
pub fn httplogs(text: &str) -> Vec<HttpLog> {
    lines(text)
        .into_iter()
        .filter_map(|l| HttpLog::parse(l.pid, &l.message))
        .collect()
}
