//! One health check in flight: a non-blocking connect, the TLS handshake
//! when the server is reached in TLS, then for an HTTP check the request
//! and the response's status line. The part that owns it
//! ([`super::checks`]) hands it each poller event and ends it at its
//! deadline; a [`Probe`] only says how it ended ([`Outcome`]).
//!
//! ```text
//!   Connecting ──connected──▶ [Handshaking ──done──▶] done (tcp: L4OK, over TLS: L6OK)
//!        │                         │            └──▶ Sending ──▶ Reading ──status line──▶ L7OK / L7STS
//!        └─error: L4CON            └─failed: L6RSP                  └─garbage, EOF: L7RSP
//!   deadline: Connecting → L4TOUT, Handshaking → L6TOUT, later → L7TOUT
//! ```
//!
//! The connection is a [`Conn`], opened as the workers open theirs
//! ([`connect::open`]): plain, or TLS with the server's settings.

use crate::conn::connect::{self, TlsTo};
use crate::conn::Conn;
use mio::{Registry, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The longest status line read before the response is called invalid.
const MAX_STATUS_LINE: usize = 1024;

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// TCP check: connected.
    L4Ok,
    /// No connection within the timeout.
    L4Tout,
    /// The connection failed; the system's words for why.
    L4Con(String),
    /// TCP check over TLS: connected and the handshake done.
    L6Ok,
    /// Connected, but the TLS handshake did not end within the timeout.
    L6Tout,
    /// The TLS handshake failed; why.
    L6Rsp(String),
    /// HTTP check: an expected status.
    L7Ok(u16),
    /// Connected, but no status line within the timeout.
    L7Tout,
    /// An invalid response, or the connection ended before one came.
    L7Rsp(String),
    /// A status outside the expected range, with its reason phrase.
    L7Sts(u16, String),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::L4Ok | Outcome::L6Ok | Outcome::L7Ok(_))
    }
}

/// What a probe waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    Handshaking,
    /// Bytes of the request already written.
    Sending(usize),
    Reading,
}

/// A check in flight.
pub struct Probe {
    conn: Conn,
    stage: Stage,
    /// The HTTP request, `None` for a TCP check.
    request: Option<std::sync::Arc<[u8]>>,
    /// `expect_status` of an HTTP check.
    expect: (u16, u16),
    /// What arrived of the response so far.
    buf: Vec<u8>,
    pub started: Instant,
    pub deadline: Instant,
}

/// What a check sends and expects.
pub struct Ask {
    /// The HTTP request, `None` for a TCP check.
    pub request: Option<std::sync::Arc<[u8]>>,
    /// `expect_status` of an HTTP check.
    pub expect: (u16, u16),
}

impl Probe {
    /// Starts connecting to `addr` (in TLS with `tls`) and registers the
    /// socket under `token`. An immediate failure is the outcome.
    pub fn start(
        registry: &Registry,
        token: Token,
        addr: SocketAddr,
        tls: Option<TlsTo>,
        ask: Ask,
        now: Instant,
        timeout: Duration,
    ) -> Result<Probe, Outcome> {
        let conn =
            connect::open(addr, tls, registry, token).map_err(|e| Outcome::L4Con(describe(&e)))?;
        Ok(Probe {
            conn,
            stage: Stage::Connecting,
            request: ask.request,
            expect: ask.expect,
            buf: Vec::new(),
            started: now,
            deadline: now + timeout,
        })
    }

    /// Makes what progress the connection allows after `ev`; `Some` when
    /// the check is over.
    pub fn progress(&mut self, ev: &mio::event::Event) -> Option<Outcome> {
        self.conn.on_event(ev);
        if self.stage == Stage::Connecting {
            match connect::connected(&mut self.conn) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Outcome::L4Con(describe(&e))),
            }
            self.stage = Stage::Handshaking;
        }
        if self.stage == Stage::Handshaking {
            match self.conn.handshake() {
                Ok(true) => match self.after_handshake() {
                    Ok(next) => self.stage = next,
                    Err(done) => return Some(done),
                },
                Ok(false) => return None,
                Err(e) => return Some(Outcome::L6Rsp(self.tls_failure(&e))),
            }
        }
        if let Stage::Sending(sent) = self.stage {
            let req = self.request.clone().unwrap_or_else(|| [].into());
            let mut sent = sent;
            while sent < req.len() {
                match self.conn.write(&req[sent..]) {
                    Ok(0) => return Some(Outcome::L7Rsp("connection closed".into())),
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        self.stage = Stage::Sending(sent);
                        return None;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Some(Outcome::L7Rsp(describe(&e))),
                }
            }
            self.stage = Stage::Reading;
        }
        self.read()
    }

    /// The connection is up and its handshake done (at once for a plain
    /// one): a TCP check is over (`Err` with its outcome), an HTTP one
    /// sends its request.
    fn after_handshake(&self) -> Result<Stage, Outcome> {
        match (&self.request, self.conn.tls().is_some()) {
            (Some(_), _) => Ok(Stage::Sending(0)),
            (None, false) => Err(Outcome::L4Ok),
            (None, true) => Err(Outcome::L6Ok),
        }
    }

    /// HAProxy's words for a failed handshake, with rustls's reason.
    fn tls_failure(&self, e: &io::Error) -> String {
        if e.kind() == ErrorKind::UnexpectedEof {
            return "Connection closed during SSL handshake".into();
        }
        let why = self
            .conn
            .tls()
            .and_then(|t| t.error())
            .map(|e| e.to_string());
        format!(
            "SSL handshake failure ({})",
            why.unwrap_or_else(|| describe(e))
        )
    }

    /// Reads until the status line is whole.
    fn read(&mut self) -> Option<Outcome> {
        let mut chunk = [0u8; 512];
        loop {
            match self.conn.read(&mut chunk) {
                Ok(0) => {
                    let what = if self.buf.is_empty() {
                        "connection closed without a response"
                    } else {
                        "connection closed within the status line"
                    };
                    return Some(Outcome::L7Rsp(what.into()));
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        return Some(judge(&self.buf[..end], self.expect));
                    }
                    if self.buf.len() > MAX_STATUS_LINE {
                        return Some(Outcome::L7Rsp("status line too long".into()));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Some(Outcome::L7Rsp(describe(&e))),
            }
        }
    }

    /// The outcome when the deadline passes first.
    pub fn timed_out(&self) -> Outcome {
        match self.stage {
            Stage::Connecting => Outcome::L4Tout,
            Stage::Handshaking => Outcome::L6Tout,
            _ => Outcome::L7Tout,
        }
    }

    /// Closes the connection. A TCP check closes with a reset, as HAProxy
    /// does, so that neither side keeps a TIME_WAIT per check.
    pub fn close(mut self, registry: &Registry) {
        let _ = self.conn.deregister(registry);
        if self.request.is_none() {
            self.conn.discard();
        }
    }
}

/// The verdict on a status line (without its CRLF).
pub fn judge(line: &[u8], (lo, hi): (u16, u16)) -> Outcome {
    let invalid = || Outcome::L7Rsp("invalid HTTP status line".into());
    let Some(rest) = line.strip_prefix(b"HTTP/1.") else {
        return invalid();
    };
    let (minor, rest) = rest.split_at(rest.len().min(1));
    if !minor.iter().all(u8::is_ascii_digit) || minor.is_empty() {
        return invalid();
    }
    let Some(rest) = rest.strip_prefix(b" ") else {
        return invalid();
    };
    let (code, rest) = rest.split_at(rest.len().min(3));
    let status = match std::str::from_utf8(code)
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
    {
        Some(s) if code.len() == 3 && code.iter().all(u8::is_ascii_digit) && s >= 100 => s,
        _ => return invalid(),
    };
    if !rest.is_empty() && !rest.starts_with(b" ") {
        return invalid();
    }
    let reason: String = rest
        .iter()
        .skip(1)
        .take(64)
        .map(|&b| match b {
            b' '..=b'~' if b != b'"' => b as char,
            _ => '?',
        })
        .collect();
    if (lo..=hi).contains(&status) {
        Outcome::L7Ok(status)
    } else {
        Outcome::L7Sts(status, reason)
    }
}

/// The system's words for an error ("Connection refused"), as HAProxy
/// prints `strerror`.
fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let j = |l: &str| judge(l.as_bytes(), (200, 399));
        assert_eq!(j("HTTP/1.1 200 OK"), Outcome::L7Ok(200));
        assert_eq!(j("HTTP/1.0 302 Found"), Outcome::L7Ok(302));
        assert_eq!(j("HTTP/1.1 204"), Outcome::L7Ok(204));
        assert_eq!(
            j("HTTP/1.1 500 Internal Server Error"),
            Outcome::L7Sts(500, "Internal Server Error".into())
        );
        assert_eq!(
            j("HTTP/1.1 404 \"x\"\u{1}"),
            Outcome::L7Sts(404, "?x??".into())
        );
        for bad in [
            "",
            "HTTP/2 200 OK",
            "HTTP/1.1 20 OK",
            "HTTP/1.1 2000 OK",
            "HTTP/1.1  200",
            "SSH-2.0",
            "HTTP/1.x 200 OK",
            "HTTP/1.1 099 x",
        ] {
            assert!(matches!(j(bad), Outcome::L7Rsp(_)), "{bad:?}");
        }
    }

    #[test]
    fn errors_read_as_strerror() {
        let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(describe(&e), "Connection refused");
    }
}
