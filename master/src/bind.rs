//! Binding every listener before anything else happens, as HAProxy does:
//! non-blocking, `SO_REUSEADDR` and `SO_REUSEPORT`. When an address is in
//! use and old processes were named with `-sf`/`-st`, they are asked to
//! pause (SIGTTOU) and the bind is retried every 10 ms, up to 200 times; on
//! final failure they are told to resume (SIGTTIN) and weir exits.

use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{getsockopt, sockopt};
use nix::unistd::Pid;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use weir_core::config::model::{Bind, BindAddr, Config};
use weir_core::sys;

/// A bound, listening socket owned by the master for its whole life.
pub struct BoundListener {
    pub frontend: usize,
    /// The bind as written (`127.0.0.1:8080`, `fd@3`), for logs.
    pub name: String,
    pub sock: Socket,
    pub backlog: i32,
    /// What it is bound to: a reload keeps the socket of an unchanged
    /// address.
    pub addr: BindAddr,
}

const BIND_RETRIES: u32 = 200;
const BIND_RETRY_DELAY: Duration = Duration::from_millis(10);

/// Binds every `bind` of every frontend. `Err` names the failing address.
/// Sockets taken over from an old master are used for the addresses they
/// are bound to (see `takeover`); the others are bound here.
pub fn bind_all(
    config: &Config,
    old_pids: &[i32],
    mut taken: Vec<(SocketAddr, Socket)>,
) -> Result<Vec<BoundListener>, String> {
    let mut out = Vec::new();
    let mut paused_old = false;
    for (fi, fe) in config.frontends.iter().enumerate() {
        for b in &fe.binds {
            let backlog = b.backlog.unwrap_or_else(|| fe.maxconn.min(65535) as i32);
            let name = describe(&b.addr);
            let mut attempt = 0;
            let handed = match b.addr {
                BindAddr::Inet(a) => taken
                    .iter()
                    .position(|(t, _)| *t == a)
                    .map(|i| taken.remove(i).1),
                BindAddr::Fd(_) => None,
            };
            if let Some(sock) = handed {
                if sock.set_nonblocking(true).is_ok() {
                    out.push(BoundListener {
                        frontend: fi,
                        name,
                        sock,
                        backlog,
                        addr: b.addr.clone(),
                    });
                    continue;
                }
            }
            let sock = loop {
                match bind_one(b, backlog, wildcard_v4_on_port(config, b)) {
                    Ok(s) => break s,
                    Err(e)
                        if e.kind() == io::ErrorKind::AddrInUse
                            && !old_pids.is_empty()
                            && attempt < BIND_RETRIES =>
                    {
                        if !paused_old {
                            signal_all(old_pids, Signal::SIGTTOU);
                            paused_old = true;
                        }
                        attempt += 1;
                        std::thread::sleep(BIND_RETRY_DELAY);
                    }
                    Err(e) => {
                        if paused_old {
                            signal_all(old_pids, Signal::SIGTTIN);
                        }
                        return Err(format!("[{}] cannot bind {name}: {e}", fe.name));
                    }
                }
            };
            out.push(BoundListener {
                frontend: fi,
                name,
                sock,
                backlog,
                addr: b.addr.clone(),
            });
        }
    }
    Ok(out)
}

/// Sends `sig` to every pid, ignoring the ones already gone.
pub fn signal_all(pids: &[i32], sig: Signal) {
    for &p in pids {
        let _ = kill(Pid::from_raw(p), sig);
    }
}

pub fn describe(addr: &BindAddr) -> String {
    match addr {
        BindAddr::Inet(a) => a.to_string(),
        BindAddr::Fd(n) => format!("fd@{n}"),
    }
}

/// Whether the configuration also binds the IPv4 wildcard on this IPv6
/// bind's port: then the IPv6 socket must be v6-only or the two collide.
pub fn wildcard_v4_on_port(config: &Config, b: &Bind) -> bool {
    let BindAddr::Inet(SocketAddr::V6(a6)) = b.addr else {
        return false;
    };
    config.frontends.iter().flat_map(|f| &f.binds).any(|o| {
        matches!(o.addr, BindAddr::Inet(SocketAddr::V4(a4)) if a4.port() == a6.port() && a4.ip().is_unspecified())
    })
}

pub fn bind_one(b: &Bind, backlog: i32, force_v6only: bool) -> io::Result<Socket> {
    let addr = match b.addr {
        BindAddr::Fd(fd) => return adopt(fd),
        BindAddr::Inet(a) => a,
    };
    let sock = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        None,
    )?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    if addr.is_ipv6() {
        if let Some(v6only) = b.v6only.or(force_v6only.then_some(true)) {
            sock.set_only_v6(v6only)?;
        }
    }
    if b.transparent {
        if addr.is_ipv4() {
            sock.set_ip_transparent_v4(true)?;
        } else {
            sock.set_ip_transparent_v6(true)?;
        }
    }
    if b.freebind {
        if addr.is_ipv4() {
            sock.set_freebind_v4(true)?;
        } else {
            sock.set_freebind_v6(true)?;
        }
    }
    sock.bind(&SockAddr::from(addr))?;
    sock.listen(backlog)?;
    Ok(sock)
}

/// `fd@N`: an inherited socket, which must already be listening.
fn adopt(fd: i32) -> io::Result<Socket> {
    let owned = sys::adopt_inherited_fd(fd)?;
    let listening = getsockopt(&owned, sockopt::AcceptConn).map_err(io::Error::from)?;
    if !listening {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd@{fd} is not a listening socket"),
        ));
    }
    let sock = Socket::from(owned);
    sock.set_nonblocking(true)?;
    sock.set_cloexec(true)?;
    Ok(sock)
}

/// SIGTTOU: take the socket out of the kernel's accept path (it stops
/// listening), so another process bound to the same address gets every new
/// connection. Connections already queued are reset by the kernel.
pub fn pause(l: &BoundListener) -> io::Result<()> {
    l.sock.shutdown(std::net::Shutdown::Read)
}

/// SIGTTIN: listen again on the same socket.
pub fn resume(l: &BoundListener) -> io::Result<()> {
    l.sock.listen(l.backlog)
}
