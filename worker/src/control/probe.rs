//! One health check in flight: a non-blocking connect, then for an HTTP
//! check the request and the response's status line. The part that owns it
//! ([`super::checks`]) hands it each poller event and ends it at its
//! deadline; a [`Probe`] only says how it ended ([`Outcome`]).
//!
//! ```text
//!   Connecting ──connected──▶ done (tcp: L4OK)
//!        │                 └──▶ Sending ──▶ Reading ──status line──▶ done (L7OK / L7STS)
//!        └─error: L4CON                                └─garbage, EOF: L7RSP
//!   deadline: Connecting → L4TOUT, later → L7TOUT
//! ```

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
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
        matches!(self, Outcome::L4Ok | Outcome::L7Ok(_))
    }
}

/// What a probe waits for.
#[derive(Debug)]
enum Stage {
    Connecting,
    /// Bytes of the request already written.
    Sending(usize),
    Reading,
}

/// A check in flight.
#[derive(Debug)]
pub struct Probe {
    stream: TcpStream,
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

impl Probe {
    /// Starts connecting to `addr` and registers the socket under `token`.
    /// An immediate failure is the outcome.
    pub fn start(
        registry: &Registry,
        token: Token,
        addr: SocketAddr,
        request: Option<std::sync::Arc<[u8]>>,
        expect: (u16, u16),
        now: Instant,
        timeout: Duration,
    ) -> Result<Probe, Outcome> {
        let mut stream = TcpStream::connect(addr).map_err(|e| Outcome::L4Con(describe(&e)))?;
        registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Outcome::L4Con(describe(&e)))?;
        Ok(Probe {
            stream,
            stage: Stage::Connecting,
            request,
            expect,
            buf: Vec::new(),
            started: now,
            deadline: now + timeout,
        })
    }

    /// Makes what progress the socket allows after an event; `Some` when
    /// the check is over.
    pub fn progress(&mut self) -> Option<Outcome> {
        if let Stage::Connecting = self.stage {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => return Some(Outcome::L4Con(describe(&e))),
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotConnected => return None,
                Err(e) => return Some(Outcome::L4Con(describe(&e))),
            }
            if self.request.is_none() {
                return Some(Outcome::L4Ok);
            }
            self.stage = Stage::Sending(0);
        }
        if let Stage::Sending(sent) = self.stage {
            let req = self.request.clone().unwrap_or_else(|| [].into());
            let mut sent = sent;
            while sent < req.len() {
                match self.stream.write(&req[sent..]) {
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

    /// Reads until the status line is whole.
    fn read(&mut self) -> Option<Outcome> {
        let mut chunk = [0u8; 512];
        loop {
            match self.stream.read(&mut chunk) {
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
            _ => Outcome::L7Tout,
        }
    }

    /// Closes the connection. A TCP check closes with a reset, as HAProxy
    /// does, so that neither side keeps a TIME_WAIT per check.
    pub fn close(mut self, registry: &Registry) {
        if self.request.is_none() {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
        let _ = registry.deregister(&mut self.stream);
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
