//! HAProxy's `tcplog` line, field for field:
//!
//! ```text
//! %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
//! 127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/12 5 -- 1/1/1/1/0 0/0
//! ```

use super::date::write_accept_date;
use super::httplog::{push_backend_server, push_counters, push_frontend};
use super::record::Record;
use super::text::{push_addr, push_i64, push_u64};

/// HAProxy's definition of the layout, as a custom format.
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/// Appends the line (without a trailing newline) to `out`; allocates
/// nothing when `out` has room.
pub fn write(r: &Record, out: &mut Vec<u8>) {
    push_addr(out, &r.client);
    out.extend_from_slice(b" [");
    write_accept_date(out, &r.date);
    out.extend_from_slice(b"] ");
    push_frontend(out, r);
    out.push(b' ');
    push_backend_server(out, r);
    for (i, t) in [r.t_queue, r.t_connect, r.t_total].into_iter().enumerate() {
        out.push(if i == 0 { b' ' } else { b'/' });
        push_i64(out, t);
    }
    out.push(b' ');
    push_u64(out, r.bytes_out);
    out.push(b' ');
    out.extend_from_slice(r.ts());
    out.push(b' ');
    push_counters(out, r);
}

/// The line as a string (tests and tools; the traffic path uses
/// [`write`]).
pub fn render(r: &Record) -> String {
    let mut out = Vec::with_capacity(160);
    write(r, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::record::tests::http;
    use super::*;

    /// A TCP session's record.
    pub(crate) fn tcp() -> Record<'static> {
        Record {
            http: false,
            t_request: -1,
            t_queue: 0,
            t_connect: 0,
            t_response: -1,
            t_active: 12,
            t_total: 12,
            status: -1,
            bytes_out: 5,
            bytes_in: 3,
            termination: *b"----",
            request_line: "",
            ..http()
        }
    }

    #[test]
    fn haproxy_layout() {
        assert_eq!(
            render(&tcp()),
            "127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/12 5 -- 1/1/1/1/0 0/0"
        );
    }

    #[test]
    fn unusual_values() {
        let l = Record {
            client: "10.1.2.3:65535".parse().unwrap(),
            server: None,
            t_queue: -1,
            t_connect: -1,
            t_total: 300000,
            bytes_out: u64::from(u32::MAX) + 1,
            termination: *b"sQ--",
            actconn: 2,
            feconn: 2,
            beconn: 2,
            srv_conn: 0,
            retries: 2,
            redispatched: true,
            backend_queue: 4,
            ..tcp()
        };
        assert_eq!(
            render(&l),
            "10.1.2.3:65535 [21/Nov/2026:16:00:00.123] fe be/<NOSRV> -1/-1/300000 4294967296 sQ 2/2/2/0/+2 0/4"
        );
    }
}
