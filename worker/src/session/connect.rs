//! Connecting to a server: a non-blocking socket with weir's options, and
//! the check that tells when its connect has completed.

use super::Conn;
use socket2::{Domain, Socket, Type};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;

/// A non-blocking socket with the options weir sets on every connection,
/// its connect started.
pub fn open_connection(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let sock = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        None,
    )?;
    sock.set_tcp_nodelay(true)?;
    sock.set_keepalive(true)?;
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(sock.into())
}

/// Whether a non-blocking connect has completed (mio's recipe: a pending
/// socket error means it failed; no peer address yet means not done).
pub fn connected(conn: &mut Conn) -> io::Result<bool> {
    if let Some(e) = conn.sock.take_error()? {
        return Err(e);
    }
    match conn.sock.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotConnected => {
            conn.writable = false;
            conn.readable = false;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
