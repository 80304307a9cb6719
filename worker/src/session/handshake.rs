//! A client's TLS handshake, before anything else happens on its
//! connection: no server is picked and no request read until it is done.
//! One that fails, that the client abandons, or that outlasts the bind's
//! `handshake_timeout` closes the connection with HAProxy's connection
//! error line (`fe/1: SSL handshake failure`), and is counted.

use crate::conn::Conn;
use crate::context::Cx;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use weir_core::log::date::{write_accept_date, WallTime};
use weir_core::log::text::push_addr;
use weir_core::shm::Gl;

/// Where a handshake stands.
pub enum Handshake {
    /// Done: the connection carries application data.
    Done,
    /// Waiting for the client, until this date.
    Pending(Instant),
    /// Failed (logged): close the connection.
    Failed,
}

/// What the handshake's failure line names.
pub struct Who {
    pub frontend: usize,
    pub bind: usize,
    pub addr: SocketAddr,
    pub accepted: Instant,
}

impl Who {
    /// The accept date, for the line (worked out from `accepted`: a
    /// connection does not keep a date of its own for a line it rarely
    /// writes).
    pub fn date(&self, cx: &Cx) -> WallTime {
        let ago = cx.now.saturating_duration_since(self.accepted);
        let then = std::time::SystemTime::now()
            .checked_sub(ago)
            .unwrap_or_else(std::time::SystemTime::now);
        weir_core::log::date::Clock::default().at(then)
    }

    /// The bind's handshake timeout (none for a plain bind).
    pub fn handshake_timeout(&self, cx: &Cx) -> Duration {
        let fe = &cx.config.frontends[self.frontend];
        let tls = fe.binds.get(self.bind).and_then(|b| b.tls.as_ref());
        tls.map_or(Duration::ZERO, |t| t.handshake_timeout)
    }
}

/// Drives the handshake of `conn` (a TLS client connection) one step.
pub fn advance(conn: &mut Conn, who: &Who, cx: &Cx) -> Handshake {
    if !conn.handshaking() {
        return Handshake::Done;
    }
    let timeout = who.handshake_timeout(cx);
    match conn.handshake() {
        Ok(true) => {
            count_done(conn, cx);
            Handshake::Done
        }
        Ok(false) => {
            let deadline = who.accepted + timeout;
            if cx.now >= deadline {
                failed("Timeout during SSL handshake", None, who, cx);
                return Handshake::Failed;
            }
            Handshake::Pending(deadline)
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            failed("Connection closed during SSL handshake", None, who, cx);
            Handshake::Failed
        }
        Err(e) => {
            let why = conn.tls().and_then(|t| t.error()).map(|e| e.to_string());
            let detail = why.unwrap_or_else(|| e.to_string());
            failed("SSL handshake failure", Some(&detail), who, cx);
            Handshake::Failed
        }
    }
}

/// Counts a completed handshake: full or resumed.
fn count_done(conn: &Conn, cx: &Cx) {
    let resumed = conn.tls().is_some_and(|t| t.negotiated().resumed);
    let now_ms = weir_core::shm::unix_now_ms();
    cx.shared
        .count_handshake(weir_core::shm::Side::Client, resumed, now_ms);
}

/// Logs and counts a failed handshake.
fn failed(what: &str, detail: Option<&str>, who: &Who, cx: &Cx) {
    cx.shared.global_add(Gl::SslFailed, 1);
    if !cx.logger.traffic_enabled(who.frontend, None) {
        return;
    }
    let fe = &cx.config.frontends[who.frontend].name;
    let date = who.date(cx);
    cx.logger.traffic(who.frontend, None, |out| {
        push_addr(out, &who.addr);
        out.extend_from_slice(b" [");
        write_accept_date(out, &date);
        out.extend_from_slice(b"] ");
        out.extend_from_slice(fe.as_bytes());
        out.push(b'/');
        weir_core::log::text::push_u64(out, who.bind as u64 + 1);
        out.extend_from_slice(b": ");
        out.extend_from_slice(what.as_bytes());
        if let Some(d) = detail {
            out.extend_from_slice(b" (");
            out.extend_from_slice(d.as_bytes());
            out.push(b')');
        }
    });
}
