//! HAProxy's `tcplog` line, field for field:
//!
//! ```text
//! %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
//! 127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/12 5 -- 1/1/1/1/0 0/0
//! ```

use std::fmt::Write;
use std::net::SocketAddr;

/// Everything one tcplog line reports about a finished session.
#[derive(Debug, Clone)]
pub struct TcpLog<'a> {
    pub client: SocketAddr,
    /// Accept date, already formatted (`21/Nov/2026:16:00:00.123`).
    pub accept_date: &'a str,
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
    /// Renders the line (without a trailing newline).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(160);
        let client = match self.client {
            SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("{}:{}", a.ip(), a.port()),
        };
        let _ = write!(
            s,
            "{client} [{}] {} {}/{} {}/{}/{} {} {}{} {}/{}/{}/{}/{}{} {}/{}",
            self.accept_date,
            self.frontend,
            self.backend,
            self.server.unwrap_or("<NOSRV>"),
            self.tw,
            self.tc,
            self.tt,
            self.bytes_out,
            self.termination[0] as char,
            self.termination[1] as char,
            self.actconn,
            self.feconn,
            self.beconn,
            self.srv_conn,
            if self.redispatched { "+" } else { "" },
            self.retries,
            self.srv_queue,
            self.backend_queue,
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_layout() {
        let l = TcpLog {
            client: "127.0.0.1:40112".parse().unwrap(),
            accept_date: "21/Nov/2026:16:00:00.123",
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
}
