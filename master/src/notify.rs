//! systemd's readiness protocol (`sd_notify(3)`), for `Type=notify` units.
//!
//! When `$NOTIFY_SOCKET` names a unix datagram socket (a path, or an
//! abstract address when it starts with `@`), the master sends it:
//! `READY=1` with `MAINPID=` and a `STATUS=` line once its workers are
//! forked; `RELOADING=1` with `MONOTONIC_USEC=` (CLOCK_MONOTONIC, as
//! systemd requires) when a SIGUSR2 reload starts and `READY=1` when it
//! ends, done or aborted; `STOPPING=1` when a soft or hard stop begins.
//! Without the variable every call does nothing.
//!
//! Written here rather than with the `sd-notify` crate: the protocol is one
//! datagram of `KEY=VALUE` lines, the standard library has everything it
//! needs (abstract addresses included), and none of it needs `unsafe`.
//! Sending never blocks and never fails the service: a message systemd
//! cannot take is dropped.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The master's link to systemd; inert without `$NOTIFY_SOCKET`.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`. An unusable value is treated as absent.
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET")
            .and_then(|v| v.into_string().ok())
            .and_then(|v| address(&v))
            .and_then(|addr| {
                let sock = UnixDatagram::unbound().ok()?;
                sock.set_nonblocking(true).ok()?;
                Some((sock, addr))
            });
        Notifier { target }
    }

    /// Whether messages go anywhere.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message (`KEY=VALUE` lines). Errors are ignored: systemd
    /// gone or full is no reason to stop serving.
    pub fn send(&self, msg: &str) {
        if let Some((sock, addr)) = &self.target {
            let _ = sock.send_to_addr(msg.as_bytes(), addr);
        }
    }

    /// The service is up (start-up, or the end of a reload).
    pub fn ready(&self, status: &str) {
        self.send(&format!(
            "READY=1\nMAINPID={}\nSTATUS={}\n",
            std::process::id(),
            one_line(status)
        ));
    }

    /// A reload starts.
    pub fn reloading(&self) {
        if self.enabled() {
            self.send(&format!(
                "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading\n",
                monotonic_usec()
            ));
        }
    }

    /// A soft or hard stop starts.
    pub fn stopping(&self, status: &str) {
        self.send(&format!("STOPPING=1\nSTATUS={}\n", one_line(status)));
    }
}

/// `$NOTIFY_SOCKET` as an address: `@name` is abstract, anything else a
/// path (systemd passes absolute paths).
fn address(v: &str) -> Option<SocketAddr> {
    match v.strip_prefix('@') {
        Some(name) if !name.is_empty() => SocketAddr::from_abstract_name(name.as_bytes()).ok(),
        Some(_) => None,
        None if v.starts_with('/') => SocketAddr::from_pathname(v).ok(),
        None => None,
    }
}

/// A `STATUS=` value must not end the line early.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares
/// `MONOTONIC_USEC=` with.
fn monotonic_usec() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = address("@weir/notify").unwrap();
        assert_eq!(a.as_abstract_name(), Some(&b"weir/notify"[..]));
        let p = address("/run/systemd/notify").unwrap();
        assert_eq!(
            p.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
        assert!(address("@").is_none());
        assert!(address("relative").is_none());
        assert!(address("").is_none());
    }

    #[test]
    fn messages_reach_a_bound_socket() {
        let dir = std::env::temp_dir().join(format!("weir-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                SocketAddr::from_pathname(&path).unwrap(),
            )),
        };
        n.ready("up\nnow");
        n.reloading();
        let mut buf = [0u8; 512];
        let len = rx.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(msg.starts_with("READY=1\nMAINPID="), "{msg}");
        assert!(msg.contains("STATUS=up now\n"), "{msg}");
        let len = rx.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(msg.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{msg}");
        let usec: u64 = msg.lines().nth(1).unwrap()["MONOTONIC_USEC=".len()..]
            .parse()
            .unwrap();
        assert!(usec > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
