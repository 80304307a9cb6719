//! What one traffic log line reports: a [`Record`] of a finished TCP
//! session or HTTP request, filled by the worker and rendered by any
//! format ([`super::format`]): `tcplog`, `httplog`, `httpslog`, `json` or a
//! custom string. Borrowed views only: building a record allocates nothing.

use super::date::WallTime;
use crate::config::model::HeaderCapture;
use std::net::SocketAddr;

/// Everything a log format may show about one session (TCP) or one
/// request (HTTP). Timers are in milliseconds, -1 for a stage not reached.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// An HTTP request (else a TCP session: no request, status or
    /// captures).
    pub http: bool,
    pub client: SocketAddr,
    /// The session's accept date (`%t`), or the request's first byte in
    /// HTTP mode (`%tr`, and `%t` too).
    pub date: WallTime,
    pub frontend: &'a str,
    /// The backend, or the frontend's name when none was chosen.
    pub backend: &'a str,
    /// `None` prints `<NOSRV>`.
    pub server: Option<&'a str>,
    /// `%TR`: time to receive the whole request head.
    pub t_request: i64,
    /// `%Tw`: time in queue.
    pub t_queue: i64,
    /// `%Tc`: time to connect to the server.
    pub t_connect: i64,
    /// `%Tr`: time the server took to send the response head.
    pub t_response: i64,
    /// `%Ta`: active time of the request, first byte to last.
    pub t_active: i64,
    /// `%Tt`: total time (the session's; in HTTP mode the request's, as
    /// `%Ta`).
    pub t_total: i64,
    /// HTTP status sent to the client, -1 if none.
    pub status: i32,
    /// `%B`: bytes sent to the client.
    pub bytes_out: u64,
    /// `%U`: bytes received from the client.
    pub bytes_in: u64,
    /// Termination state: two letters (`%ts`), then the two cookie
    /// letters of `%tsc` (always `--`: weir has no persistence cookie).
    pub termination: [u8; 4],
    pub actconn: usize,
    pub feconn: usize,
    pub beconn: usize,
    pub srv_conn: usize,
    pub retries: u32,
    /// Printed as a `+` before the retries.
    pub redispatched: bool,
    pub srv_queue: usize,
    pub backend_queue: usize,
    /// The request line as received (`GET / HTTP/1.1`), or `<BADREQ>`.
    pub request_line: &'a str,
    /// Captured request and response header values (`%hr`, `%hs`), in the
    /// order of the frontend's capture lists; `None`: nothing captured
    /// (TCP, or a request refused before its head was parsed).
    pub req_captures: Option<Captures<'a>>,
    pub res_captures: Option<Captures<'a>>,
    /// The client connection's TLS, if it is one.
    pub tls: Option<TlsInfo<'a>>,
}

/// Captured header values, with the frontend's capture list they follow
/// (the names, for JSON).
#[derive(Debug, Clone, Copy)]
pub struct Captures<'a> {
    pub names: &'a [HeaderCapture],
    pub values: &'a Captured,
}

/// What a TLS client connection negotiated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsInfo<'a> {
    /// `TLSv1.2`, `TLSv1.3`.
    pub version: Option<&'a str>,
    /// The cipher suite, as rustls names it (see [`TlsInfo::cipher_name`]).
    pub cipher: Option<&'a str>,
    /// The server name the client asked for.
    pub sni: Option<&'a str>,
    pub resumed: bool,
}

impl TlsInfo<'_> {
    /// The cipher suite by OpenSSL's name, as HAProxy logs it
    /// (`TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`); a suite
    /// missing from the table keeps its rustls name.
    pub fn cipher_name(&self) -> Option<&str> {
        let c = self.cipher?;
        Some(
            OPENSSL_NAMES
                .iter()
                .find(|(rustls, _)| *rustls == c)
                .map_or(c, |(_, openssl)| openssl),
        )
    }
}

/// rustls's names of the suites it offers, and OpenSSL's.
const OPENSSL_NAMES: &[(&str, &str)] = &[
    ("TLS13_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
    ("TLS13_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),
    (
        "TLS13_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

impl Record<'_> {
    /// The termination state's two letters (`%ts`).
    pub fn ts(&self) -> &[u8] {
        &self.termination[..2]
    }

    /// The method, target and version of the request line (`%HM`, `%HU`,
    /// `%HV`); the whole line as each when it is not three words
    /// (`<BADREQ>`, as HAProxy logs a bad request).
    pub fn request_parts(&self) -> [&str; 3] {
        let line = self.request_line;
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some(m), Some(u), Some(v)) if !m.is_empty() => [m, u, v],
            _ => [line; 3],
        }
    }
}

/// Header values captured for the log, one slot per configured capture
/// (a slot may be empty: the header was absent). Its memory is kept from
/// one request to the next: filling it allocates nothing once it has
/// grown.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    bytes: Vec<u8>,
    /// Where each slot's value lies in `bytes`.
    slots: Vec<Option<(u32, u32)>>,
}

impl Captured {
    /// Empties it, with `n` empty slots.
    pub fn reset(&mut self, n: usize) {
        self.bytes.clear();
        self.slots.clear();
        self.slots.resize(n, None);
    }

    /// Sets slot `i` to `value`, cut to `max` bytes (a slot out of range
    /// is ignored).
    pub fn put(&mut self, i: usize, value: &[u8], max: usize) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let value = &value[..value.len().min(max)];
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        *slot = Some((start as u32, self.bytes.len() as u32));
    }

    /// The slots, in order: `None` for a header that was absent.
    pub fn values(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        self.slots
            .iter()
            .map(|s| s.and_then(|(a, b)| self.bytes.get(a as usize..b as usize)))
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Memory held, to decide whether to keep it for reuse.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A complete HTTP record, for the formats' tests.
    pub(crate) fn http() -> Record<'static> {
        Record {
            http: true,
            client: "127.0.0.1:40112".parse().unwrap(),
            date: crate::log::date::tests::date(),
            frontend: "fe",
            backend: "be",
            server: Some("s1"),
            t_request: 0,
            t_queue: 0,
            t_connect: 1,
            t_response: 2,
            t_active: 3,
            t_total: 3,
            status: 200,
            bytes_out: 145,
            bytes_in: 78,
            termination: *b"----",
            actconn: 1,
            feconn: 1,
            beconn: 1,
            srv_conn: 1,
            retries: 0,
            redispatched: false,
            srv_queue: 0,
            backend_queue: 0,
            request_line: "GET /index.html HTTP/1.1",
            req_captures: None,
            res_captures: None,
            tls: None,
        }
    }

    #[test]
    fn captures_keep_slots_in_order() {
        let mut c = Captured::default();
        c.reset(3);
        c.put(2, b"last", 64);
        c.put(0, b"truncated", 4);
        c.put(7, b"ignored", 64);
        let got: Vec<Option<&[u8]>> = c.values().collect();
        assert_eq!(got, [Some(&b"trun"[..]), None, Some(&b"last"[..])]);
        c.reset(1);
        assert_eq!(c.values().collect::<Vec<_>>(), [None]);
    }

    #[test]
    fn request_parts() {
        let r = http();
        assert_eq!(r.request_parts(), ["GET", "/index.html", "HTTP/1.1"]);
        let bad = Record {
            request_line: "<BADREQ>",
            ..http()
        };
        assert_eq!(bad.request_parts(), ["<BADREQ>"; 3]);
    }
}
