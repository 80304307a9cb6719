//! HAProxy's `tcplog` line, field for field:
//!
//! ```text
//! %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
//! 127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/12 5 -- 1/1/1/1/0 0/0
//! ```

use super::date::{write_accept_date, WallTime};
use super::text::{push_addr, push_i64, push_u64};
use std::net::SocketAddr;

/// Everything one tcplog line reports about a finished session.
#[derive(Debug, Clone)]
pub struct TcpLog<'a> {
    pub client: SocketAddr,
    /// Accept date (`21/Nov/2026:16:00:00.123`).
    pub accept_date: WallTime,
    pub frontend: &'a str,
    pub backend: &'a str,
    /// `None` prints `<NOSRV>`.
    pub server: Option<&'a str>,
    /// Time in queue (ms), -1 if never queued to completion.
    pub tw: i64,
    /// Time to connect to the server (ms), -1 if never connected.
    pub tc: i64,
    /// Total session time (ms).
    pub tt: i64,
    /// Bytes sent from the server to the client.
    pub bytes_out: u64,
    /// Two-character termination state, e.g. `--`, `SC`, `cD`.
    pub termination: [u8; 2],
    pub actconn: usize,
    pub feconn: usize,
    pub beconn: usize,
    pub srv_conn: usize,
    /// Connect retries; printed with a `+` when the session was redispatched.
    pub retries: u32,
    pub redispatched: bool,
    pub srv_queue: usize,
    pub backend_queue: usize,
}

impl TcpLog<'_> {
    /// Appends the line (without a trailing newline) to `out`; allocates
    /// nothing when `out` has room.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        push_addr(out, &self.client);
        out.extend_from_slice(b" [");
        write_accept_date(out, &self.accept_date);
        out.extend_from_slice(b"] ");
        out.extend_from_slice(self.frontend.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.backend.as_bytes());
        out.push(b'/');
        out.extend_from_slice(self.server.unwrap_or("<NOSRV>").as_bytes());
        for (i, t) in [self.tw, self.tc, self.tt].into_iter().enumerate() {
            out.push(if i == 0 { b' ' } else { b'/' });
            push_i64(out, t);
        }
        out.push(b' ');
        push_u64(out, self.bytes_out);
        out.push(b' ');
        out.extend_from_slice(&self.termination);
        let counts = [self.actconn, self.feconn, self.beconn, self.srv_conn];
        for (i, c) in counts.into_iter().enumerate() {
            out.push(if i == 0 { b' ' } else { b'/' });
            push_u64(out, c as u64);
        }
        out.push(b'/');
        if self.redispatched {
            out.push(b'+');
        }
        push_u64(out, u64::from(self.retries));
        out.push(b' ');
        push_u64(out, self.srv_queue as u64);
        out.push(b'/');
        push_u64(out, self.backend_queue as u64);
    }

    /// The line as a string (tests and tools; the traffic path uses
    /// [`TcpLog::write_to`]).
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(160);
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_layout() {
        let l = TcpLog {
            client: "127.0.0.1:40112".parse().unwrap(),
            accept_date: super::super::date::tests::date(),
            frontend: "fe",
            backend: "be",
            server: Some("s1"),
            tw: 0,
            tc: 0,
            tt: 12,
            bytes_out: 5,
            termination: *b"--",
            actconn: 1,
            feconn: 1,
            beconn: 1,
            srv_conn: 1,
            retries: 0,
            redispatched: false,
            srv_queue: 0,
            backend_queue: 0,
        };
        assert_eq!(
            l.render(),
            "127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/12 5 -- 1/1/1/1/0 0/0"
        );
    }

    #[test]
    fn unusual_values() {
        let l = TcpLog {
            client: "10.1.2.3:65535".parse().unwrap(),
            accept_date: super::super::date::tests::date(),
            frontend: "fe",
            backend: "be",
            server: None,
            tw: -1,
            tc: -1,
            tt: 300000,
            bytes_out: u64::from(u32::MAX) + 1,
            termination: *b"sQ",
            actconn: 2,
            feconn: 2,
            beconn: 2,
            srv_conn: 0,
            retries: 2,
            redispatched: true,
            srv_queue: 0,
            backend_queue: 4,
        };
        assert_eq!(
            l.render(),
            "10.1.2.3:65535 [21/Nov/2026:16:00:00.123] fe be/<NOSRV> -1/-1/300000 4294967296 sQ 2/2/2/0/+2 0/4"
        );
    }
}
