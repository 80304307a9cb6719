//! Binding every listener before anything else happens, as HAProxy does:
//! non-blocking, `SO_REUSEADDR` and `SO_REUSEPORT`. When an address is in
//! use and old processes were named with `-sf`/`-st`, they are asked to
//! pause (SIGTTOU) and the bind is retried every 10 ms, up to 200 times; on
//! final failure they are told to resume (SIGTTIN) and weir exits.
//!
//! A frontend with `shards = "by-worker"` gets `nbproc` sockets per address,
//! all in one `SO_REUSEPORT` group: shard `i` is worker slot `i + 1`'s only
//! socket for that address (see [`Shard`]).

use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{getsockopt, sockopt};
use nix::unistd::Pid;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use weir_core::config::model::{Bind, BindAddr, Config, Frontend, Shards};
use weir_core::sys;

/// A bound, listening socket owned by the master for its whole life.
pub struct BoundListener {
    pub frontend: usize,
    /// Its bind among the frontend's (TLS settings, for the worker).
    pub bind: usize,
    /// The bind as written (`127.0.0.1:8080`, `fd@3`), for logs.
    pub name: String,
    pub sock: Socket,
    pub backlog: i32,
    /// What it is bound to: a reload keeps the socket of an unchanged
    /// address (and shard).
    pub addr: BindAddr,
    /// `None`: shared by every worker; `Some(i)`: worker slot `i + 1`'s own.
    pub shard: Shard,
}

/// Which workers accept on a socket: `None` all of them, `Some(i)` worker
/// slot `i + 1` only (0-based shard index).
pub type Shard = Option<usize>;

impl BoundListener {
    /// Whether worker slot `id` (1-based; 0 is the control process, which
    /// accepts nothing) accepts on this socket.
    pub fn for_worker(&self, id: usize) -> bool {
        id > 0 && self.shard.is_none_or(|s| s + 1 == id)
    }
}

/// One socket a configuration asks for: frontend index, bind, shard.
pub struct Wanted<'a> {
    pub frontend: usize,
    pub fe: &'a Frontend,
    pub bind: &'a Bind,
    /// The bind's index among the frontend's.
    pub bind_index: usize,
    pub shard: Shard,
}

impl Wanted<'_> {
    pub fn backlog(&self) -> i32 {
        self.bind
            .backlog
            .unwrap_or_else(|| self.fe.maxconn.min(65535) as i32)
    }

    /// How it is named in logs: the bind as written, and its shard.
    pub fn name(&self) -> String {
        name(&self.bind.addr, self.shard)
    }
}

/// Every socket `config` needs, in order: each bind of each frontend, once,
/// or `nbproc` times (shards 0..nbproc) when its frontend is sharded by
/// worker (`fd@N` binds never are: validation refuses it).
pub fn wanted(config: &Config) -> Vec<Wanted<'_>> {
    let mut out = Vec::new();
    for (fi, fe) in config.frontends.iter().enumerate() {
        for (bi, b) in fe.binds.iter().enumerate() {
            let sharded = fe.shards == Shards::ByWorker && matches!(b.addr, BindAddr::Inet(_));
            let shards: Vec<Shard> = if sharded {
                (0..config.global.nbproc.max(1)).map(Some).collect()
            } else {
                vec![None]
            };
            for shard in shards {
                out.push(Wanted {
                    frontend: fi,
                    fe,
                    bind: b,
                    bind_index: bi,
                    shard,
                });
            }
        }
    }
    out
}

/// For each socket `want`ed (address, shard), the index in `have` (the
/// open sockets' addresses and shards) of the one that serves it, each used
/// once: the same address and shard first; then the shared socket as shard
/// 0, or shard 0 as the shared socket, so that turning `shards` on or off
/// keeps one socket of the address open throughout (the kernel never
/// refuses a connection). `None`: bind a new one.
pub fn assign(have: &[(&BindAddr, Shard)], want: &[(&BindAddr, Shard)]) -> Vec<Option<usize>> {
    let mut free = vec![true; have.len()];
    let mut take = |pred: &dyn Fn(&(&BindAddr, Shard)) -> bool| {
        let i = (0..have.len()).find(|&i| free[i] && pred(&have[i]))?;
        free[i] = false;
        Some(i)
    };
    let mut out: Vec<Option<usize>> = want
        .iter()
        .map(|&(a, s)| take(&|h: &(&BindAddr, Shard)| *h == (a, s)))
        .collect();
    for (slot, &(a, s)) in out.iter_mut().zip(want) {
        let other = match s {
            None => Some(0),
            Some(0) => None,
            Some(_) => continue,
        };
        if slot.is_none() {
            *slot = take(&|h: &(&BindAddr, Shard)| *h == (a, other));
        }
    }
    out
}

const BIND_RETRIES: u32 = 200;
const BIND_RETRY_DELAY: Duration = Duration::from_millis(10);

/// Binds every `bind` of every frontend (each shard of a sharded one).
/// `Err` names the failing address. Sockets taken over from an old master
/// are used for the addresses and shards they are bound to (see
/// `takeover` and [`assign`]); the others are bound here.
pub fn bind_all(
    config: &Config,
    old_pids: &[i32],
    taken: Vec<(SocketAddr, Shard, Socket)>,
) -> Result<Vec<BoundListener>, String> {
    let mut out = Vec::new();
    let mut paused_old = false;
    let taken_addrs: Vec<BindAddr> = taken.iter().map(|(a, _, _)| BindAddr::Inet(*a)).collect();
    let have: Vec<(&BindAddr, Shard)> = taken_addrs
        .iter()
        .zip(&taken)
        .map(|(a, (_, s, _))| (a, *s))
        .collect();
    let all = wanted(config);
    let want: Vec<(&BindAddr, Shard)> = all.iter().map(|w| (&w.bind.addr, w.shard)).collect();
    let from = assign(&have, &want);
    let mut taken: Vec<Option<Socket>> = taken.into_iter().map(|(_, _, s)| Some(s)).collect();
    for (w, from) in all.iter().zip(from) {
        let (fi, fe, b) = (w.frontend, w.fe, w.bind);
        let backlog = w.backlog();
        let name = w.name();
        let mut attempt = 0;
        let handed = from
            .and_then(|i| taken[i].take())
            .filter(|sock| sock.set_nonblocking(true).is_ok());
        let sock = match handed {
            Some(sock) => sock,
            None => loop {
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
            },
        };
        out.push(BoundListener {
            frontend: fi,
            bind: w.bind_index,
            name,
            sock,
            backlog,
            addr: b.addr.clone(),
            shard: w.shard,
        });
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

/// A socket's name in logs: `127.0.0.1:8080`, or `127.0.0.1:8080 shard 2`
/// (1-based, as the worker that owns it).
pub fn name(addr: &BindAddr, shard: Shard) -> String {
    match shard {
        None => describe(addr),
        Some(s) => format!("{} shard {}", describe(addr), s + 1),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_matched_by_address_and_shard() {
        let a = BindAddr::Inet("127.0.0.1:80".parse().unwrap());
        let b = BindAddr::Inet("127.0.0.1:81".parse().unwrap());
        // Same shards, other order: each to its own.
        let have = [(&a, Some(1)), (&a, Some(0)), (&b, None)];
        let want = [(&a, Some(0)), (&a, Some(1)), (&b, None)];
        assert_eq!(assign(&have, &want), vec![Some(1), Some(0), Some(2)]);
        // Shared -> by-worker: the shared socket is shard 0, shard 1 is new.
        let have = [(&a, None)];
        let want = [(&a, Some(0)), (&a, Some(1))];
        assert_eq!(assign(&have, &want), vec![Some(0), None]);
        // By-worker -> shared: shard 0 is the shared socket, shard 1 goes.
        let have = [(&a, Some(0)), (&a, Some(1))];
        assert_eq!(assign(&have, &[(&a, None)]), vec![Some(0)]);
        // An exact match wins over the stand-in, each socket used once.
        let have = [(&a, None), (&a, Some(0))];
        let want = [(&a, Some(0)), (&a, None)];
        assert_eq!(assign(&have, &want), vec![Some(1), Some(0)]);
        // Another address never matches; a higher shard is never a stand-in.
        assert_eq!(
            assign(&[(&b, None), (&a, Some(1))], &[(&a, None)]),
            vec![None]
        );
    }
}
