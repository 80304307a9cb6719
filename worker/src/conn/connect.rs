//! Connecting to a server: a non-blocking socket with weir's options,
//! registered with the poller, and the check that tells when its connect
//! has completed.

use super::{Conn, Tls, Transport};
use mio::{Registry, Token};
use socket2::{Domain, Socket, Type};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use weir_core::tls::Connector;

/// TLS for a new server connection: the server's client configuration
/// and the name it is reached by (SNI, and what its certificate must
/// name).
pub struct TlsTo<'a> {
    pub connector: &'a Connector,
    /// The request's Host, for `sni = "host"`.
    pub host: Option<&'a str>,
}

/// A new connection to `addr` (in TLS with `tls`), its connect started and
/// the socket registered under `token`. The TLS handshake starts once the
/// connect completes ([`Conn::handshake`]).
pub fn open(
    addr: SocketAddr,
    tls: Option<TlsTo>,
    registry: &Registry,
    token: Token,
) -> io::Result<Conn> {
    let sock = mio::net::TcpStream::from_std(open_connection(addr)?);
    let mut conn = match tls {
        None => Conn::plain(sock),
        Some(t) => {
            let name = t.connector.server_name(t.host, addr.ip());
            let tls = Tls::client(sock, t.connector.config.clone(), name)?;
            Conn::new(Transport::Tls(Box::new(tls)))
        }
    };
    conn.register(registry, token)?;
    Ok(conn)
}

/// A non-blocking socket with the options weir sets on every connection
/// (TCP_NODELAY; no SO_KEEPALIVE, as HAProxy without `option srvtcpka`:
/// timeouts end dead connections), its connect started.
pub fn open_connection(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let sock = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        None,
    )?;
    sock.set_tcp_nodelay(true)?;
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(sock.into())
}

/// Whether a non-blocking connect has completed.
///
/// The poller reports a connecting socket writable only once the handshake
/// is done (Linux's `tcp_poll` gives no EPOLLOUT in SYN-SENT), and a failed
/// one with EPOLLERR/EPOLLHUP (`rdhup`): writable without either means
/// connected, with no system call, as HAProxy trusts its poller. Anything
/// else takes mio's recipe: a pending socket error means it failed; no
/// peer address yet means not done.
pub fn connected(conn: &mut Conn) -> io::Result<bool> {
    if let Some(l) = conn.transport().link() {
        return l.connected();
    }
    if conn.writable && !conn.rdhup {
        return Ok(true);
    }
    if let Some(e) = conn.transport().take_error()? {
        return Err(e);
    }
    match conn.transport().peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotConnected => {
            conn.writable = false;
            conn.readable = false;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
