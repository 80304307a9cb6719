//! The `json` log format: one JSON object per line, the `httplog` fields
//! (or the `tcplog` ones for a TCP session) with typed values and weir's
//! names (documented in docs/logs.md).
//!
//! Every byte a client controls (the request line, captured headers, the
//! TLS server name) goes through [`push_str`], so each line parses
//! whatever the request held: `"` and `\` are escaped, control bytes and
//! DEL become `\u00XX` (`\n`, `\r`, `\t` their short forms), valid UTF-8
//! is kept, and each invalid UTF-8 sequence becomes U+FFFD (`\ufffd`) as
//! `String::from_utf8_lossy` would. Nothing is allocated.

use super::date::write_accept_date;
use super::record::{Captures, Record};
use super::text::{push_i64, push_u64};
use std::io::Write;

/// Appends the object for `r` (one line, no newline) to `out`.
pub fn write(r: &Record, out: &mut Vec<u8>) {
    let mut o = Obj { out, first: true };
    o.key("mode");
    o.str(if r.http { "http" } else { "tcp" }.as_bytes());
    o.key("client_ip");
    o.out.push(b'"');
    let _ = write!(o.out, "{}", r.client.ip());
    o.out.push(b'"');
    o.num("client_port", i64::from(r.client.port()));
    o.key(if r.http {
        "request_date"
    } else {
        "accept_date"
    });
    o.out.push(b'"');
    write_accept_date(o.out, &r.date);
    o.out.push(b'"');
    o.key("frontend");
    o.str(r.frontend.as_bytes());
    o.key("backend");
    o.str(r.backend.as_bytes());
    o.key("server");
    match r.server {
        Some(s) => o.str(s.as_bytes()),
        None => o.null(),
    }
    if r.http {
        o.timer("time_request", r.t_request);
    }
    o.timer("time_queue", r.t_queue);
    o.timer("time_connect", r.t_connect);
    if r.http {
        o.timer("time_response", r.t_response);
        o.timer("time_active", r.t_active);
    }
    o.timer("time_total", r.t_total);
    if r.http {
        o.timer("status", i64::from(r.status));
    }
    o.num("bytes_sent", r.bytes_out as i64);
    o.num("bytes_received", r.bytes_in as i64);
    o.key("termination_state");
    o.str(if r.http { &r.termination } else { r.ts() });
    o.num("actconn", r.actconn as i64);
    o.num("feconn", r.feconn as i64);
    o.num("beconn", r.beconn as i64);
    o.num("srv_conn", r.srv_conn as i64);
    o.num("retries", i64::from(r.retries));
    o.key("redispatched");
    o.out
        .extend_from_slice(if r.redispatched { b"true" } else { b"false" });
    o.num("srv_queue", r.srv_queue as i64);
    o.num("backend_queue", r.backend_queue as i64);
    if r.http {
        o.captures("request_headers", r.req_captures);
        o.captures("response_headers", r.res_captures);
        o.key("request");
        o.str(r.request_line.as_bytes());
    }
    o.key("tls");
    match &r.tls {
        None => o.null(),
        Some(t) => {
            let mut inner = Obj {
                out: o.out,
                first: true,
            };
            for (k, v) in [
                ("version", t.version),
                ("cipher", t.cipher_name()),
                ("sni", t.sni),
            ] {
                inner.key(k);
                match v {
                    Some(v) => inner.str(v.as_bytes()),
                    None => inner.null(),
                }
            }
            inner.key("resumed");
            inner
                .out
                .extend_from_slice(if t.resumed { b"true" } else { b"false" });
            inner.out.push(b'}');
        }
    }
    o.out.push(b'}');
}

/// An object being written.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Obj<'_> {
    /// `"key":` (with the `{` or `,` before it).
    fn key(&mut self, k: &str) {
        self.out.push(if self.first { b'{' } else { b',' });
        self.first = false;
        push_str(self.out, k.as_bytes());
        self.out.push(b':');
    }

    fn str(&mut self, v: &[u8]) {
        push_str(self.out, v);
    }

    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    fn num(&mut self, k: &str, v: i64) {
        self.key(k);
        push_i64(self.out, v);
    }

    /// A timer (or a status): `null` for a stage not reached (-1).
    fn timer(&mut self, k: &str, v: i64) {
        self.key(k);
        match v {
            v if v < 0 => self.null(),
            v => push_u64(self.out, v as u64),
        }
    }

    /// `{"Host":"…","User-Agent":null}`, names as configured; absent when
    /// the frontend captures nothing, `null` when nothing was captured
    /// (a request refused before its head was read).
    fn captures(&mut self, k: &str, c: Option<Captures>) {
        match c {
            Some(c) if !c.names.is_empty() => {
                self.key(k);
                let mut inner = Obj {
                    out: self.out,
                    first: true,
                };
                for (name, v) in c.names.iter().zip(c.values.values()) {
                    inner.key(&name.name);
                    match v {
                        Some(v) => inner.str(v),
                        None => inner.null(),
                    }
                }
                if inner.first {
                    inner.out.push(b'{');
                }
                inner.out.push(b'}');
            }
            _ => {}
        }
    }
}

/// Appends `bytes` as a JSON string (see the module doc).
pub fn push_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        let mut rest = valid;
        while let Some(i) = rest
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
        {
            out.extend_from_slice(&rest[..i]);
            match rest[i] {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
            }
            rest = &rest[i + 1..];
        }
        out.extend_from_slice(rest);
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests;
