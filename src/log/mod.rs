//! Logging: one [`Logger`] per process writing lines to every configured
//! target.
//!
//! On stderr and stdout a line looks like a syslog file
//! (`Nov 21 16:00:00 host weir[1234]: message`), so `halog` and existing
//! pipelines read it; to syslog targets it is an RFC 3164 datagram
//! (`<134>Nov 21 16:00:00 weir[1234]: message`), sent without blocking: a
//! datagram that cannot be sent now is dropped and counted, never waited for.
//!
//! A line is rendered into the logger's reusable buffers (no allocation
//! once they have grown) and queued per target ([`batch`]). A logger is
//! immediate by default: each line leaves at once. A worker makes its logger
//! batched ([`Logger::set_batched`]): the lines of one loop turn leave
//! together, one `sendmmsg` or `write` per target, when the worker calls
//! [`Logger::flush`] before it polls again (and at exit; dropping the logger
//! flushes too).
//!
//! Traffic lines ([`Logger::traffic`]) follow their proxies' own `log`
//! targets when they have some ([`routes`]): a worker builds those once
//! ([`Logger::route_proxies`]); a target named by several proxies, or by a
//! proxy and `[global]`, is one sink, so each target still gets one
//! batch per loop turn.
//!
//! What a traffic line says is a [`record::Record`], laid out by the
//! frontend's [`format`] (`tcplog`, `httplog`, `httpslog`, `json` or a
//! custom string) straight into the logger's buffer.

pub mod batch;
pub mod date;
pub mod format;
pub mod httplog;
pub mod json;
pub mod record;
mod routes;
pub mod tcplog;
pub mod text;

pub use date::{accept_date, syslog_date, Clock};

use crate::config::model::{LogLevel, LogTarget};
use batch::Batch;
use routes::{Dest, Routes};
use socket2::SockAddr;
use std::cell::{Cell, RefCell};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::time::{SystemTime, UNIX_EPOCH};

enum Target {
    Stderr,
    Stdout,
    Udp(UdpSocket, SockAddr),
    Unix(UnixDatagram, SockAddr),
}

struct Sink {
    target: Target,
    /// The target as configured (proxies naming the same one share it).
    config: LogTarget,
    queue: Batch,
}

impl Sink {
    /// Opens a target. Network targets are non-blocking datagram sockets;
    /// opening them does not need the peer to be up.
    fn open(t: &LogTarget) -> io::Result<Sink> {
        let target = match t {
            LogTarget::Stderr => Target::Stderr,
            LogTarget::Stdout => Target::Stdout,
            LogTarget::Udp(addr) => {
                let local: SocketAddr = if addr.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let s = UdpSocket::bind(local)?;
                s.set_nonblocking(true)?;
                Target::Udp(s, SockAddr::from(*addr))
            }
            LogTarget::Unix(path) => {
                let s = UnixDatagram::unbound()?;
                s.set_nonblocking(true)?;
                Target::Unix(s, SockAddr::unix(path)?)
            }
        };
        Ok(Sink {
            target,
            config: t.clone(),
            queue: Batch::default(),
        })
    }

    fn console(&self) -> bool {
        matches!(self.target, Target::Stderr | Target::Stdout)
    }

    /// Sends or writes what is queued; returns the lines dropped. With
    /// `retry_later`, datagrams a full receiver refused stay queued.
    fn flush(&mut self, retry_later: bool) -> u64 {
        if self.queue.is_empty() {
            return 0;
        }
        match &self.target {
            Target::Stderr => self.queue.write(io::stderr().as_fd()),
            Target::Stdout => self.queue.write(io::stdout().as_fd()),
            Target::Udp(sock, to) => self.queue.send(sock.as_fd(), to, retry_later),
            Target::Unix(sock, to) => self.queue.send(sock.as_fd(), to, retry_later),
        }
    }
}

/// What rendering a line needs, reused from line to line.
struct Lines {
    sinks: Vec<Sink>,
    /// The message being logged.
    msg: Vec<u8>,
    /// The second `date` shows (Unix time), and its syslog date.
    date_secs: i64,
    date: Vec<u8>,
    /// `<PRI>`, rendered per line.
    pri: Vec<u8>,
}

/// Writes log lines to every target; one per process.
pub struct Logger {
    lines: RefCell<Lines>,
    facility: u8,
    level: LogLevel,
    pid: u32,
    hostname: String,
    /// ` HOST weir[PID]: ` (console lines) and ` weir[PID]: ` (datagrams).
    console_tag: Vec<u8>,
    syslog_tag: Vec<u8>,
    /// While set, nothing is written to stderr or stdout (`-q` at start-up).
    quiet_console: bool,
    /// Lines wait for [`Logger::flush`] (a worker's loop) instead of leaving
    /// at once.
    batched: bool,
    clock: Clock,
    dropped: Cell<u64>,
    /// Which sinks each line goes to: the global targets, and each
    /// proxy's own.
    routes: Routes,
}

impl Logger {
    /// Opens every target. Network targets are non-blocking datagram
    /// sockets; opening them does not need the peer to be up.
    pub fn new(targets: &[LogTarget], facility: u8, level: LogLevel) -> io::Result<Logger> {
        let mut sinks = Vec::with_capacity(targets.len());
        for t in targets {
            sinks.push(Sink::open(t)?);
        }
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_string());
        let mut l = Logger::with_sinks(sinks, facility, level, hostname);
        l.quiet_console = false;
        Ok(l)
    }

    fn with_sinks(sinks: Vec<Sink>, facility: u8, level: LogLevel, hostname: String) -> Logger {
        let routes = Routes::global((0..sinks.len()).collect());
        let mut l = Logger {
            lines: RefCell::new(Lines {
                sinks,
                msg: Vec::with_capacity(256),
                date_secs: i64::MIN,
                date: Vec::with_capacity(date::SYSLOG_DATE_LEN),
                pri: Vec::with_capacity(8),
            }),
            facility,
            level,
            pid: std::process::id(),
            hostname,
            console_tag: Vec::new(),
            syslog_tag: Vec::new(),
            quiet_console: true,
            batched: false,
            clock: Clock::default(),
            dropped: Cell::new(0),
            routes,
        };
        l.set_pid(l.pid);
        l
    }

    /// A logger that writes nowhere (a placeholder while another is moved).
    pub fn null() -> Logger {
        Logger::with_sinks(Vec::new(), 16, LogLevel::Emerg, String::new())
    }

    /// Call in a new child process: lines then carry its pid.
    pub fn set_pid(&mut self, pid: u32) {
        use std::io::Write;
        self.pid = pid;
        self.console_tag.clear();
        let _ = write!(self.console_tag, " {} weir[{pid}]: ", self.hostname);
        self.syslog_tag.clear();
        let _ = write!(self.syslog_tag, " weir[{pid}]: ");
    }

    /// Batched: lines wait for [`Logger::flush`], which the owner must call
    /// (a worker, before each poll and at exit). Otherwise (the default)
    /// each line leaves at once.
    pub fn set_batched(&mut self, batched: bool) {
        self.batched = batched;
        if !batched {
            self.flush_all(false);
        }
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

    /// Makes sure stderr is among the global targets (`-d`).
    pub fn ensure_stderr(&mut self) {
        let sinks = &mut self.lines.get_mut().sinks;
        let i = match sinks
            .iter()
            .position(|s| matches!(s.target, Target::Stderr))
        {
            Some(i) => i,
            None => {
                sinks.push(Sink {
                    target: Target::Stderr,
                    config: LogTarget::Stderr,
                    queue: Batch::default(),
                });
                sinks.len() - 1
            }
        };
        self.routes.add_global(i);
    }

    /// Drops console targets (after daemonizing, stdio is /dev/null).
    pub fn drop_console(&mut self) {
        let sinks = &self.lines.get_mut().sinks;
        let console: Vec<usize> = (0..sinks.len()).filter(|&i| sinks[i].console()).collect();
        self.routes.drop_sinks(&console);
    }

    /// Builds the routes of the proxies with their own `log` (once per
    /// worker, after the other set-up calls): their targets are opened
    /// here, a target already open (global, or another proxy's) shared.
    pub fn route_proxies(&mut self, config: &crate::config::Config) -> io::Result<()> {
        let sinks = &mut self.lines.get_mut().sinks;
        let mut sink_of = |t: &LogTarget| -> io::Result<usize> {
            if let Some(i) = sinks.iter().position(|s| s.config == *t) {
                return Ok(i);
            }
            sinks.push(Sink::open(t)?);
            Ok(sinks.len() - 1)
        };
        self.routes.build(config, &mut sink_of)
    }

    /// Lines dropped because a syslog socket (or a non-blocking console)
    /// could not take them.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Writes one line at `level` to every target.
    pub fn log(&self, level: LogLevel, msg: &str) {
        self.log_with(level, |out| out.extend_from_slice(msg.as_bytes()));
    }

    /// Writes one line at `level` to the global targets, its message
    /// appended to `out` by `render` (so a traffic log line is never a
    /// `String`). `render` runs only if the level is enabled and some
    /// target would take the line.
    pub fn log_with(&self, level: LogLevel, render: impl FnOnce(&mut Vec<u8>)) {
        if !self.enabled(level) {
            return;
        }
        self.emit(level, self.routes.global_dests(), &[], render);
    }

    /// Whether a traffic line (at `info`) of frontend `fe`, served by
    /// backend `be`, would be written anywhere.
    pub fn traffic_enabled(&self, fe: usize, be: Option<usize>) -> bool {
        let (a, b) = self.routes.traffic(fe, be);
        self.any_takes(LogLevel::Info, a, b)
    }

    /// Writes a traffic line (at `info`): to the frontend's own targets
    /// and the backend's (`be`, once one was chosen), a target both name
    /// once; the global targets for a proxy without its own `log`.
    pub fn traffic(&self, fe: usize, be: Option<usize>, render: impl FnOnce(&mut Vec<u8>)) {
        let (a, b) = self.routes.traffic(fe, be);
        self.emit(LogLevel::Info, a, b, render);
    }

    /// Whether a line at `level` to `a` and `b` (what `a` does not have)
    /// would be written anywhere.
    fn any_takes(&self, level: LogLevel, a: &[Dest], b: &[Dest]) -> bool {
        let lines = self.lines.borrow();
        routes::union(a, b, self.facility).any(|d| {
            level <= d.level(self.level)
                && !(self.quiet_console && lines.sinks.get(d.sink).is_some_and(Sink::console))
        })
    }

    /// Renders one line and queues it to each destination of `a` and `b`
    /// (what `a` does not have) whose level takes it.
    fn emit(&self, level: LogLevel, a: &[Dest], b: &[Dest], render: impl FnOnce(&mut Vec<u8>)) {
        if !self.any_takes(level, a, b) {
            return;
        }
        let mut lines = self.lines.borrow_mut();
        let Lines {
            sinks,
            msg,
            date_secs,
            date,
            pri,
        } = &mut *lines;
        msg.clear();
        render(msg);
        let now = SystemTime::now();
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if secs != *date_secs {
            date.clear();
            date::write_syslog_date(date, &self.clock.at(now));
            *date_secs = secs;
        }
        let mut dropped = 0;
        for d in routes::union(a, b, self.facility) {
            if level > d.level(self.level) {
                continue;
            }
            let Some(sink) = sinks.get_mut(d.sink) else {
                continue;
            };
            pri.clear();
            pri.push(b'<');
            text::push_u64(pri, u64::from(d.facility(self.facility)) * 8 + level as u64);
            pri.push(b'>');
            let parts: [&[u8]; 4] = if sink.console() {
                if self.quiet_console {
                    continue;
                }
                [date, &self.console_tag, msg, b"\n"]
            } else {
                [pri, date, &self.syslog_tag, msg]
            };
            let len: usize = parts.iter().map(|p| p.len()).sum();
            if !sink.queue.fits(len) {
                // Make room: what the target still refuses is dropped.
                dropped += sink.flush(false);
            }
            sink.queue.push(&parts);
            if !self.batched {
                dropped += sink.flush(false);
            } else if sink.queue.full() {
                dropped += sink.flush(true);
            }
        }
        self.count_dropped(dropped);
    }

    /// Sends what the targets have queued (a batched logger's lines of this
    /// loop turn). Cheap when nothing is queued. Datagrams a full receiver
    /// (a unix socket's short queue) refuses now stay queued for the next
    /// call, within the batch's bounds.
    pub fn flush(&self) {
        self.flush_all(true);
    }

    fn flush_all(&self, retry_later: bool) {
        let mut lines = self.lines.borrow_mut();
        let mut dropped = 0;
        for sink in lines.sinks.iter_mut() {
            dropped += sink.flush(retry_later);
        }
        self.count_dropped(dropped);
    }

    fn count_dropped(&self, n: u64) {
        if n > 0 {
            self.dropped.set(self.dropped.get() + n);
        }
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

impl Drop for Logger {
    fn drop(&mut self) {
        self.flush_all(false);
    }
}

#[cfg(test)]
mod tests;
