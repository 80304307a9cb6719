//! HAProxy's `httplog` line, field for field (no captures configured, so
//! the `{…}` capture blocks are absent, as in HAProxy):
//!
//! ```text
//! %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r
//! 127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/1/2/3 200 145 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"
//! ```

use std::fmt::Write;
use std::net::SocketAddr;

/// Everything one httplog line reports about a finished request.
#[derive(Debug, Clone)]
pub struct HttpLog<'a> {
    pub client: SocketAddr,
    /// When the request's first byte arrived (`21/Nov/2026:16:00:00.123`).
    pub request_date: &'a str,
    pub frontend: &'a str,
    /// The backend, or the frontend's name when none was chosen.
    pub backend: &'a str,
    /// `None` prints `<NOSRV>`.
    pub server: Option<&'a str>,
    /// Time to receive the whole request head (ms).
    pub tr_req: i64,
    /// Time in queue (ms), -1 if never queued.
    pub tw: i64,
    /// Time to connect to the server (ms), -1 if no connection was made.
    pub tc: i64,
    /// Time the server took to send the response head (ms), -1 if none.
    pub tr_srv: i64,
    /// Active time of the request, from its first byte to the last byte
    /// of the response (ms).
    pub ta: i64,
    /// HTTP status sent to the client, -1 if none.
    pub status: i32,
    /// Bytes sent to the client (head and body).
    pub bytes_out: u64,
    /// Four-character termination state, e.g. `----`, `cR--`, `SC--`.
    pub termination: [u8; 4],
    pub actconn: usize,
    pub feconn: usize,
    pub beconn: usize,
    pub srv_conn: usize,
    pub retries: u32,
    pub srv_queue: usize,
    pub backend_queue: usize,
    /// The request line as received (`GET / HTTP/1.1`), or `<BADREQ>`.
    pub request_line: &'a str,
}

impl HttpLog<'_> {
    /// Renders the line (without a trailing newline).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(200);
        let _ = match self.client {
            SocketAddr::V4(a) => write!(s, "{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => write!(s, "{}:{}", a.ip(), a.port()),
        };
        let t = self.termination;
        let _ = write!(
            s,
            " [{}] {} {}/{} {}/{}/{}/{}/{} {} {} - - {}{}{}{} {}/{}/{}/{}/{} {}/{} \"",
            self.request_date,
            self.frontend,
            self.backend,
            self.server.unwrap_or("<NOSRV>"),
            self.tr_req,
            self.tw,
            self.tc,
            self.tr_srv,
            self.ta,
            self.status,
            self.bytes_out,
            t[0] as char,
            t[1] as char,
            t[2] as char,
            t[3] as char,
            self.actconn,
            self.feconn,
            self.beconn,
            self.srv_conn,
            self.retries,
            self.srv_queue,
            self.backend_queue,
        );
        // HAProxy's %{+Q}r: quoted, with '"' and control bytes escaped.
        for c in self.request_line.chars() {
            match c {
                '"' => s.push_str("#22"),
                c if c.is_control() => {
                    let _ = write!(s, "#{:02X}", c as u32 & 0xff);
                }
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_layout() {
        let l = HttpLog {
            client: "127.0.0.1:40112".parse().unwrap(),
            request_date: "21/Nov/2026:16:00:00.123",
            frontend: "fe",
            backend: "be",
            server: Some("s1"),
            tr_req: 0,
            tw: 0,
            tc: 1,
            tr_srv: 2,
            ta: 3,
            status: 200,
            bytes_out: 145,
            termination: *b"----",
            actconn: 1,
            feconn: 1,
            beconn: 1,
            srv_conn: 1,
            retries: 0,
            srv_queue: 0,
            backend_queue: 0,
            request_line: "GET /index.html HTTP/1.1",
        };
        assert_eq!(
            l.render(),
            "127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/1/2/3 200 145 - - ---- \
             1/1/1/1/0 0/0 \"GET /index.html HTTP/1.1\""
        );
    }
}
