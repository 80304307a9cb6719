//! HAProxy's `httplog` line, field for field:
//!
//! ```text
//! %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
//! 127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/1/2/3 200 145 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"
//! ```
//!
//! The `{…}` capture blocks appear only when the frontend captures
//! headers, as in HAProxy. Written by hand rather than through the custom
//! format compiler ([`super::format`]) because it is the common case; a
//! test proves the compiled string renders the same bytes.

use super::date::write_accept_date;
use super::record::Record;
use super::text::{push_addr, push_captures, push_i64, push_quoted, push_u64};

/// HAProxy's definition of the layout, as a custom format.
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc \
                           %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

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
    for (i, t) in [
        r.t_request,
        r.t_queue,
        r.t_connect,
        r.t_response,
        r.t_active,
    ]
    .into_iter()
    .enumerate()
    {
        out.push(if i == 0 { b' ' } else { b'/' });
        push_i64(out, t);
    }
    out.push(b' ');
    push_i64(out, i64::from(r.status));
    out.push(b' ');
    push_u64(out, r.bytes_out);
    out.extend_from_slice(b" - - ");
    out.extend_from_slice(&r.termination);
    out.push(b' ');
    push_counters(out, r);
    out.push(b' ');
    for c in [r.req_captures, r.res_captures].into_iter().flatten() {
        push_captures(out, c.values);
        out.push(b' ');
    }
    push_quoted(out, r.request_line);
}

/// `%ft`: the frontend's name, with HAProxy's `~` for a TLS connection.
pub(crate) fn push_frontend(out: &mut Vec<u8>, r: &Record) {
    out.extend_from_slice(r.frontend.as_bytes());
    if r.tls.is_some() {
        out.push(b'~');
    }
}

/// `%b/%s`.
pub(crate) fn push_backend_server(out: &mut Vec<u8>, r: &Record) {
    out.extend_from_slice(r.backend.as_bytes());
    out.push(b'/');
    out.extend_from_slice(r.server.unwrap_or("<NOSRV>").as_bytes());
}

/// `%ac/%fc/%bc/%sc/%rc %sq/%bq`.
pub(crate) fn push_counters(out: &mut Vec<u8>, r: &Record) {
    for c in [r.actconn, r.feconn, r.beconn, r.srv_conn] {
        push_u64(out, c as u64);
        out.push(b'/');
    }
    push_retries(out, r);
    out.push(b' ');
    push_u64(out, r.srv_queue as u64);
    out.push(b'/');
    push_u64(out, r.backend_queue as u64);
}

/// `%rc`: the retries, after a `+` when the session was redispatched.
pub(crate) fn push_retries(out: &mut Vec<u8>, r: &Record) {
    if r.redispatched {
        out.push(b'+');
    }
    push_u64(out, u64::from(r.retries));
}

/// The line as a string (tests and tools; the traffic path uses
/// [`write`]).
pub fn render(r: &Record) -> String {
    let mut out = Vec::with_capacity(200);
    write(r, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::record::{tests::http, Captured, Captures, TlsInfo};
    use super::*;

    #[test]
    fn haproxy_layout() {
        assert_eq!(
            render(&http()),
            "127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe be/s1 0/0/1/2/3 200 145 - - ---- \
             1/1/1/1/0 0/0 \"GET /index.html HTTP/1.1\""
        );
    }

    #[test]
    fn unusual_values() {
        let l = Record {
            client: "[2001:db8::7]:1".parse().unwrap(),
            frontend: "front",
            backend: "front",
            server: None,
            t_request: 12345,
            t_queue: -1,
            t_connect: -1,
            t_response: -1,
            t_active: 99999,
            status: -1,
            bytes_out: 0,
            termination: *b"CR--",
            actconn: 10000,
            feconn: 9999,
            beconn: 0,
            srv_conn: 0,
            retries: 3,
            backend_queue: 17,
            request_line: "<BADREQ>",
            ..http()
        };
        assert_eq!(
            render(&l),
            "2001:db8::7:1 [21/Nov/2026:16:00:00.123] front front/<NOSRV> 12345/-1/-1/-1/99999 \
             -1 0 - - CR-- 10000/9999/0/0/3 0/17 \"<BADREQ>\""
        );
        let mut out = b"kept ".to_vec();
        write(&l, &mut out);
        assert!(out.starts_with(b"kept 2001:db8::7:1 ["));
    }

    #[test]
    fn captures_tls_and_redispatch() {
        let mut req = Captured::default();
        req.reset(2);
        req.put(0, b"example.com", 64);
        let mut res = Captured::default();
        res.reset(1);
        let names = [];
        let l = Record {
            req_captures: Some(Captures {
                names: &names,
                values: &req,
            }),
            res_captures: Some(Captures {
                names: &names,
                values: &res,
            }),
            tls: Some(TlsInfo::default()),
            retries: 1,
            redispatched: true,
            ..http()
        };
        assert_eq!(
            render(&l),
            "127.0.0.1:40112 [21/Nov/2026:16:00:00.123] fe~ be/s1 0/0/1/2/3 200 145 - - ---- \
             1/1/1/1/+1 0/0 {example.com|} {} \"GET /index.html HTTP/1.1\""
        );
    }
}
