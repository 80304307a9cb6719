//! `accept_proxy`: a connection that opens with a PROXY protocol header
//! ([`crate::conn::proxy`]), read before anything else — before a TLS
//! handshake, before a request — off the socket itself, exactly its
//! length. Its addresses become the client's (logs, `src` ACLs,
//! X-Forwarded-For, `balance source`, the header weir sends on). A missing
//! or malformed header closes the connection with HAProxy's connection
//! error line; so does one that does not come within the client timeout.

use super::handshake::Who;
use crate::conn::proxy::{self, Header};
use crate::conn::Conn;
use crate::context::Cx;
use std::time::{Duration, Instant};
use weir_core::config::model::LogLevel;
use weir_core::log::date::write_accept_date;
use weir_core::log::text::{push_addr, push_u64};

/// Where the header stands.
pub enum ProxyStep {
    /// Read: what it says (LOCAL keeps the connection's own addresses).
    Done(Header),
    /// Not whole yet: wait for more, until this date.
    Pending(Instant),
    /// Refused (logged): close the connection.
    Failed,
}

/// Reads the PROXY header of `conn`, if it has arrived whole.
pub fn advance(conn: &mut Conn, timeout: Duration, who: &Who, cx: &Cx) -> ProxyStep {
    let mut buf = [0u8; proxy::MAX_LEN];
    let seen = match conn.peek(&mut buf) {
        Ok(0) => {
            return failed(
                "Connection closed while waiting for PROXY protocol header",
                who,
                cx,
            )
        }
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(_) => {
            return failed(
                "Connection error while waiting for PROXY protocol header",
                who,
                cx,
            )
        }
    };
    match proxy::parse(&buf[..seen]) {
        Ok(Some((header, len))) => match conn.skip(len) {
            Ok(()) => ProxyStep::Done(header),
            Err(_) => failed(
                "Connection error while waiting for PROXY protocol header",
                who,
                cx,
            ),
        },
        Ok(None) => {
            // All there is so far: wait for the rest (an edge comes with it).
            conn.readable = false;
            let deadline = who.accepted + timeout;
            if cx.now >= deadline {
                return failed("Timeout while waiting for PROXY protocol header", who, cx);
            }
            ProxyStep::Pending(deadline)
        }
        Err(e) => failed(e.as_str(), who, cx),
    }
}

/// Logs a refused header as HAProxy's connection error line.
fn failed(what: &str, who: &Who, cx: &Cx) -> ProxyStep {
    if cx.logger.enabled(LogLevel::Info) {
        let fe = &cx.config.frontends[who.frontend].name;
        let date = who.date(cx);
        cx.logger.log_with(LogLevel::Info, |out| {
            push_addr(out, &who.addr);
            out.extend_from_slice(b" [");
            write_accept_date(out, &date);
            out.extend_from_slice(b"] ");
            out.extend_from_slice(fe.as_bytes());
            out.push(b'/');
            push_u64(out, who.bind as u64 + 1);
            out.extend_from_slice(b": ");
            out.extend_from_slice(what.as_bytes());
        });
    }
    ProxyStep::Failed
}
