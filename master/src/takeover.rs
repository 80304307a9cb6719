//! Socket takeover for pidfile reloads: `weir -sf $(cat pidfile)` asks the
//! old master for its listening sockets, over a unix socket in the
//! abstract namespace named after the old master's pid
//! (`@weir-master-PID`), and receives them with SCM_RIGHTS. It then uses
//! the very same sockets: no connection is refused while the old processes
//! leave. When that is not possible (old master gone, not a weir, another
//! user), the new master binds anew with SO_REUSEPORT as before.
//!
//! Protocol: the client sends `LISTENERS\n`; the old master answers with
//! one message: a line per TCP listener, `ADDR\n` (as `SocketAddr` prints)
//! for a socket shared by every worker or `ADDR SHARD\n` for shard `SHARD`
//! (0-based) of a `shards = "by-worker"` frontend, and the sockets attached
//! in the same order (at most [`MAX_FDS`], the
//! kernel's limit per message; beyond that the new master binds anew).
//! A last line `TICKETS HEX` carries the TLS session ticket keys (their
//! byte form, in hex), so sessions still resume after the takeover.
//! Only a peer with the same uid (or root) is answered.
//!
//! A second request, `STICKTBLS\n` (on a connection of its own), asks for
//! the rate-limit tables' entries: the old master answers with their text
//! dump ([`weir_core::shm::carry`]) and closes the connection.

use crate::bind::{BoundListener, Shard};
use nix::sys::socket::{
    getsockopt, recvmsg, sendmsg, sockopt::PeerCredentials, ControlMessage, ControlMessageOwned,
    MsgFlags,
};
use nix::unistd::Uid;
use socket2::Socket;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{self, UnixListener, UnixStream};
use std::time::Duration;
use weir_core::config::model::BindAddr;
use weir_core::log::Logger;
use weir_core::tls::TicketKeys;

const REQUEST: &[u8] = b"LISTENERS\n";
/// The tables' request: as long as [`REQUEST`].
const TABLES_REQUEST: &[u8] = b"STICKTBLS\n";
/// SCM_MAX_FD: descriptors one message may carry.
const MAX_FDS: usize = 253;
const IO_TIMEOUT: Duration = Duration::from_secs(2);

fn address(pid: i32) -> io::Result<net::SocketAddr> {
    net::SocketAddr::from_abstract_name(format!("weir-master-{pid}").as_bytes())
}

/// The old master's side: the socket new masters ask.
pub struct TakeoverServer {
    listener: UnixListener,
}

impl TakeoverServer {
    pub fn bind(pid: u32) -> io::Result<TakeoverServer> {
        let listener = UnixListener::bind_addr(&address(pid as i32)?)?;
        listener.set_nonblocking(true)?;
        Ok(TakeoverServer { listener })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// Answers every pending request (called when the socket is readable).
    pub fn serve(
        &self,
        listeners: &[BoundListener],
        tickets: Option<&TicketKeys>,
        tables: &dyn Fn() -> String,
        logger: &Logger,
    ) {
        while let Ok((conn, _)) = self.listener.accept() {
            match answer(conn, listeners, tickets, tables) {
                Ok(done) => logger.notice(&format!("handed {done} to a new master")),
                Err(e) => logger.warning(&format!("socket takeover request refused: {e}")),
            }
        }
    }
}

fn answer(
    mut conn: UnixStream,
    listeners: &[BoundListener],
    tickets: Option<&TicketKeys>,
    tables: &dyn Fn() -> String,
) -> io::Result<String> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let peer = getsockopt(&conn, PeerCredentials).map_err(io::Error::from)?;
    let me = Uid::effective();
    if peer.uid() != me.as_raw() && peer.uid() != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("peer uid {}", peer.uid()),
        ));
    }
    let mut req = [0u8; REQUEST.len()];
    conn.read_exact(&mut req)?;
    if req == TABLES_REQUEST {
        let dump = tables();
        conn.write_all(dump.as_bytes())?;
        let entries = dump.lines().filter(|l| l.starts_with("E ")).count();
        return Ok(format!("{entries} rate-limit table entries"));
    }
    if req != REQUEST {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unknown request",
        ));
    }
    let mut lines = String::new();
    let mut fds = Vec::new();
    for l in listeners.iter().take(MAX_FDS) {
        if let BindAddr::Inet(addr) = l.addr {
            match l.shard {
                None => lines.push_str(&format!("{addr}\n")),
                Some(s) => lines.push_str(&format!("{addr} {s}\n")),
            }
            fds.push(l.sock.as_raw_fd());
        }
    }
    if let Some(ring) = tickets {
        let hex: String = ring.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        lines.push_str(&format!("TICKETS {hex}\n"));
    }
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    let payload = if lines.is_empty() {
        "\n".to_string()
    } else {
        lines
    };
    sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(payload.as_bytes())],
        cmsgs,
        MsgFlags::empty(),
        None,
    )
    .map_err(io::Error::from)?;
    Ok(format!("{} listening sockets", fds.len()))
}

/// The new master's side of the tables' request: the dump of the first
/// old pid that answers it whole.
pub fn take_tables(pids: &[i32], logger: &Logger) -> Option<String> {
    for &pid in pids {
        match ask_tables(pid) {
            Ok(dump) => return Some(dump),
            Err(e) => logger.debug(&format!("no rate-limit tables from pid {pid}: {e}")),
        }
    }
    None
}

fn ask_tables(pid: i32) -> io::Result<String> {
    let mut conn = UnixStream::connect_addr(&address(pid)?)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    conn.write_all(TABLES_REQUEST)?;
    let mut dump = String::new();
    conn.read_to_string(&mut dump)?;
    if !dump.ends_with("END\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "dump cut short",
        ));
    }
    Ok(dump)
}

/// What a new master takes over from an old one.
#[derive(Default)]
pub struct Taken {
    pub sockets: Vec<(SocketAddr, Shard, Socket)>,
    /// The old master's TLS ticket keys.
    pub tickets: Option<TicketKeys>,
}

/// The new master's side: asks each old pid in turn; returns the sockets of
/// the first that answers (none when none does).
pub fn take_from(pids: &[i32], logger: &Logger) -> Taken {
    for &pid in pids {
        match ask(pid) {
            Ok(taken) => {
                logger.notice(&format!(
                    "took {} listening sockets over from pid {pid}",
                    taken.sockets.len()
                ));
                return taken;
            }
            Err(e) => logger.debug(&format!("no socket takeover from pid {pid}: {e}")),
        }
    }
    Taken::default()
}

fn ask(pid: i32) -> io::Result<Taken> {
    let conn = UnixStream::connect_addr(&address(pid)?)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    (&conn).write_all(REQUEST)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(received) = c {
            fds.extend(received.into_iter().map(weir_core::sys::adopt_received_fd));
        }
    }
    let n = msg.bytes;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed without answering",
        ));
    }
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let tickets = text
        .lines()
        .find_map(|l| l.strip_prefix("TICKETS "))
        .and_then(parse_tickets);
    let addrs = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("TICKETS "))
        .map(parse_line);
    let mut sockets = Vec::new();
    for (addr, fd) in addrs.zip(fds) {
        let (addr, shard) = addr?;
        sockets.push((addr, shard, Socket::from(fd)));
    }
    Ok(Taken { sockets, tickets })
}

/// The ticket keys of a `TICKETS` line.
fn parse_tickets(hex: &str) -> Option<TicketKeys> {
    let mut bytes = [0u8; weir_core::tls::tickets::RING_BYTES];
    if hex.len() != 2 * bytes.len() {
        return None;
    }
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    TicketKeys::from_bytes(&bytes)
}

/// One line of the answer: `ADDR` or `ADDR SHARD`.
fn parse_line(l: &str) -> io::Result<(SocketAddr, Shard)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad line {l:?}"));
    let mut words = l.split(' ');
    let addr = words.next().and_then(|a| a.parse::<SocketAddr>().ok());
    let shard = match words.next() {
        None => None,
        Some(s) => Some(s.parse::<usize>().map_err(|_| bad())?),
    };
    match (addr, words.next()) {
        (Some(a), None) => Ok((a, shard)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn answer_lines() {
        let (a, s) = parse_line("127.0.0.1:80").unwrap();
        assert_eq!((a.to_string(), s), ("127.0.0.1:80".to_string(), None));
        let (a, s) = parse_line("[::1]:8080 3").unwrap();
        assert_eq!((a.to_string(), s), ("[::1]:8080".to_string(), Some(3)));
        assert!(parse_line("127.0.0.1:80 x").is_err());
        assert!(parse_line("127.0.0.1:80 1 2").is_err());
        assert!(parse_line("nonsense").is_err());
    }
}
