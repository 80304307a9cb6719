//! Logging: one [`Logger`] per process writing lines to every configured
//! target.
//!
//! On stderr and stdout a line looks like a syslog file
//! (`Nov 21 16:00:00 host weir[1234]: message`), so `halog` and existing
//! pipelines read it; to syslog targets it is an RFC 3164 datagram
//! (`<134>Nov 21 16:00:00 weir[1234]: message`), sent without blocking: a
//! datagram that cannot be sent now is dropped and counted, never waited for.

pub mod date;
pub mod httplog;
pub mod tcplog;

pub use date::{accept_date, syslog_date, Clock};

use crate::config::model::{LogLevel, LogTarget};
use std::cell::Cell;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

enum Sink {
    Stderr,
    Stdout,
    Udp(UdpSocket, SocketAddr),
    Unix(UnixDatagram, PathBuf),
}

/// Writes log lines to every target; one per process.
pub struct Logger {
    sinks: Vec<Sink>,
    facility: u8,
    level: LogLevel,
    pid: u32,
    hostname: String,
    /// While set, nothing is written to stderr or stdout (`-q` at start-up).
    quiet_console: bool,
    clock: Clock,
    dropped: Cell<u64>,
}

impl Logger {
    /// Opens every target. Network targets are non-blocking datagram
    /// sockets; opening them does not need the peer to be up.
    pub fn new(targets: &[LogTarget], facility: u8, level: LogLevel) -> io::Result<Logger> {
        let mut sinks = Vec::with_capacity(targets.len());
        for t in targets {
            sinks.push(match t {
                LogTarget::Stderr => Sink::Stderr,
                LogTarget::Stdout => Sink::Stdout,
                LogTarget::Udp(addr) => {
                    let local: SocketAddr = if addr.is_ipv4() {
                        ([0, 0, 0, 0], 0).into()
                    } else {
                        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                    };
                    let s = UdpSocket::bind(local)?;
                    s.set_nonblocking(true)?;
                    Sink::Udp(s, *addr)
                }
                LogTarget::Unix(path) => {
                    let s = UnixDatagram::unbound()?;
                    s.set_nonblocking(true)?;
                    Sink::Unix(s, path.clone())
                }
            });
        }
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_string());
        Ok(Logger {
            sinks,
            facility,
            level,
            pid: std::process::id(),
            hostname,
            quiet_console: false,
            clock: Clock::default(),
            dropped: Cell::new(0),
        })
    }

    /// A logger that writes nowhere (a placeholder while another is moved).
    pub fn null() -> Logger {
        Logger {
            sinks: Vec::new(),
            facility: 16,
            level: LogLevel::Emerg,
            pid: std::process::id(),
            hostname: String::new(),
            quiet_console: true,
            clock: Clock::default(),
            dropped: Cell::new(0),
        }
    }

    /// Call in a new child process: lines then carry its pid.
    pub fn set_pid(&mut self, pid: u32) {
        self.pid = pid;
    }

    /// Lowers or raises the threshold (`-d` sets Debug).
    pub fn set_level(&mut self, level: LogLevel) {
        self.level = level;
    }

    /// Whether a line at `level` would be written anywhere.
    pub fn enabled(&self, level: LogLevel) -> bool {
        level <= self.level
    }

    /// Suppresses (or restores) console output (`-q`).
    pub fn set_quiet_console(&mut self, quiet: bool) {
        self.quiet_console = quiet;
    }

    /// Makes sure stderr is among the targets (`-d`).
    pub fn ensure_stderr(&mut self) {
        if !self.sinks.iter().any(|s| matches!(s, Sink::Stderr)) {
            self.sinks.push(Sink::Stderr);
        }
    }

    /// Drops console targets (after daemonizing, stdio is /dev/null).
    pub fn drop_console(&mut self) {
        self.sinks
            .retain(|s| !matches!(s, Sink::Stderr | Sink::Stdout));
    }

    /// Datagrams dropped because a syslog socket could not take them.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Writes one line at `level` to every target.
    pub fn log(&self, level: LogLevel, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        let now = self.clock.now();
        let date = syslog_date(&now);
        for sink in &self.sinks {
            match sink {
                Sink::Stderr | Sink::Stdout if self.quiet_console => {}
                Sink::Stderr => {
                    let line = format!("{date} {} weir[{}]: {msg}\n", self.hostname, self.pid);
                    let _ = io::stderr().lock().write_all(line.as_bytes());
                }
                Sink::Stdout => {
                    let line = format!("{date} {} weir[{}]: {msg}\n", self.hostname, self.pid);
                    let _ = io::stdout().lock().write_all(line.as_bytes());
                }
                Sink::Udp(sock, addr) => {
                    let dgram = self.datagram(level, &date, msg);
                    if sock.send_to(dgram.as_bytes(), addr).is_err() {
                        self.dropped.set(self.dropped.get() + 1);
                    }
                }
                Sink::Unix(sock, path) => {
                    let dgram = self.datagram(level, &date, msg);
                    if sock.send_to(dgram.as_bytes(), path).is_err() {
                        self.dropped.set(self.dropped.get() + 1);
                    }
                }
            }
        }
    }

    fn datagram(&self, level: LogLevel, date: &str, msg: &str) -> String {
        let pri = u32::from(self.facility) * 8 + level as u32;
        format!("<{pri}>{date} weir[{}]: {msg}", self.pid)
    }

    pub fn notice(&self, msg: &str) {
        self.log(LogLevel::Notice, msg);
    }
    pub fn info(&self, msg: &str) {
        self.log(LogLevel::Info, msg);
    }
    pub fn warning(&self, msg: &str) {
        self.log(LogLevel::Warning, msg);
    }
    pub fn alert(&self, msg: &str) {
        self.log(LogLevel::Alert, msg);
    }
    pub fn debug(&self, msg: &str) {
        self.log(LogLevel::Debug, msg);
    }
}
