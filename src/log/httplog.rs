//! HAProxy's `httplog` line, field for field (no captures configured, so
//! the `{…}` capture blocks are absent, as in HAProxy):
//!
//! ```text
//! %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r
//! 127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/1/2/3 200 145 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"
//! ```

use super::date::{write_accept_date, WallTime};
use super::text::{push_addr, push_i64, push_quoted, push_u64};
use std::net::SocketAddr;

/// Everything one httplog line reports about a finished request.
#[derive(Debug, Clone)]
pub struct HttpLog<'a> {
    pub client: SocketAddr,
    /// When the request's first byte arrived (`21/Nov/2026:16:00:00.123`).
    pub request_date: WallTime,
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
    /// Appends the line (without a trailing newline) to `out`; allocates
    /// nothing when `out` has room.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        push_addr(out, &self.client);
        out.extend_from_slice(b" [");
        write_accept_date(out, &self.request_date);
        out.extend_from_slice(b"] ");
        out.extend_from_slice(self.frontend.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.backend.as_bytes());
        out.push(b'/');
        out.extend_from_slice(self.server.unwrap_or("<NOSRV>").as_bytes());
        for (i, t) in [self.tr_req, self.tw, self.tc, self.tr_srv, self.ta]
            .into_iter()
            .enumerate()
        {
            out.push(if i == 0 { b' ' } else { b'/' });
            push_i64(out, t);
        }
        out.push(b' ');
        push_i64(out, i64::from(self.status));
        out.push(b' ');
        push_u64(out, self.bytes_out);
        out.extend_from_slice(b" - - ");
        out.extend_from_slice(&self.termination);
        let counts = [self.actconn, self.feconn, self.beconn, self.srv_conn];
        for (i, c) in counts.into_iter().enumerate() {
            out.push(if i == 0 { b' ' } else { b'/' });
            push_u64(out, c as u64);
        }
        out.push(b'/');
        push_u64(out, u64::from(self.retries));
        out.push(b' ');
        push_u64(out, self.srv_queue as u64);
        out.push(b'/');
        push_u64(out, self.backend_queue as u64);
        out.push(b' ');
        // HAProxy's %{+Q}r: quoted, with '"' and control bytes escaped.
        push_quoted(out, self.request_line);
    }

    /// The line as a string (tests and tools; the traffic path uses
    /// [`HttpLog::write_to`]).
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(200);
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_layout() {
        let l = HttpLog {
            client: "127.0.0.1:40112".parse().unwrap(),
            request_date: super::super::date::tests::date(),
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

    #[test]
    fn unusual_values() {
        let l = HttpLog {
            client: "[2001:db8::7]:1".parse().unwrap(),
            request_date: super::super::date::tests::date(),
            frontend: "front",
            backend: "front",
            server: None,
            tr_req: 12345,
            tw: -1,
            tc: -1,
            tr_srv: -1,
            ta: 99999,
            status: -1,
            bytes_out: 0,
            termination: *b"CR--",
            actconn: 10000,
            feconn: 9999,
            beconn: 0,
            srv_conn: 0,
            retries: 3,
            srv_queue: 0,
            backend_queue: 17,
            request_line: "<BADREQ>",
        };
        assert_eq!(
            l.render(),
            "2001:db8::7:1 [21/Nov/2026:16:00:00.123] front front/<NOSRV> 12345/-1/-1/-1/99999 \
             -1 0 - - CR-- 10000/9999/0/0/3 0/17 \"<BADREQ>\""
        );
        let mut out = b"kept ".to_vec();
        l.write_to(&mut out);
        assert!(out.starts_with(b"kept 2001:db8::7:1 ["));
    }
}
