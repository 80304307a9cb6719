//! The transport under a connection: how its bytes reach the wire
//! (HAProxy's `xprt`: `raw_sock` or `ssl_sock`; sozu's `SocketHandler`).
//!
//! Every read, write, shutdown, registration and close of a connection
//! goes through its [`Transport`]; nothing above it holds a raw socket.
//! Two kinds: the plain TCP socket, and TLS ([`super::tls`]), whose reads
//! decrypt and writes encrypt, and which offers no splice (bytes must pass
//! through user space to be encrypted; kernel TLS would give that back,
//! and fits here as a third kind).
//!
//! An enum rather than a trait object: the plain kind costs nothing over a
//! bare socket (no box, no indirect call on the hot path), the TLS kind is
//! boxed so a plain connection stays small, and the match is written once,
//! here.

use super::pipe::Pipe;
use super::tls::Tls;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

/// One connection's transport.
pub enum Transport {
    /// Bytes as they are, on a TCP socket; `splice(2)` is possible.
    Plain(TcpStream),
    /// TLS over a TCP socket.
    Tls(Box<Tls>),
    /// A stream's end of a multiplexing mux (HTTP/2): no socket.
    Pipe(Box<Pipe>),
}

impl Transport {
    /// Reads decrypted (here: plain) bytes. `Ok(0)` is the peer's EOF.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
            Transport::Pipe(p) => p.read(buf),
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(t) => t.write(buf),
            Transport::Pipe(p) => p.write_vectored(&[IoSlice::new(buf)]),
        }
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write_vectored(bufs),
            Transport::Tls(t) => t.write_vectored(bufs),
            Transport::Pipe(p) => p.write_vectored(bufs),
        }
    }

    /// Ends the write side (the peer reads EOF once what was written has
    /// arrived).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(Shutdown::Write),
            Transport::Tls(t) => t.shutdown_write(),
            Transport::Pipe(_) => Ok(()),
        }
    }

    /// Whether a read that fills less than the buffer it was given has
    /// emptied everything there was to read. True of a plain socket (the
    /// receive queue was drained); a transport that keeps bytes of its
    /// own (decrypted records) answers false while it holds some.
    pub fn short_read_drains(&self) -> bool {
        match self {
            Transport::Plain(_) => true,
            Transport::Tls(t) => t.short_read_drains(),
            Transport::Pipe(_) => true,
        }
    }

    /// Whether everything written has left for the socket (a TLS
    /// transport may still hold records the socket did not take).
    pub fn flushed(&self) -> bool {
        match self {
            Transport::Plain(_) => true,
            Transport::Tls(t) => t.flushed(),
            Transport::Pipe(p) => p.flushed(),
        }
    }

    /// Writes what the transport still holds, while the socket takes it;
    /// `true` once nothing is left.
    pub fn flush(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) => Ok(true),
            Transport::Tls(t) => t.flush(),
            Transport::Pipe(p) => Ok(p.flushed()),
        }
    }

    /// The pipe of a stream on a multiplexing mux.
    pub fn pipe(&mut self) -> Option<&mut Pipe> {
        match self {
            Transport::Pipe(p) => Some(p),
            _ => None,
        }
    }

    /// The TLS layer, if this is a TLS connection.
    pub fn tls(&self) -> Option<&Tls> {
        match self {
            Transport::Plain(_) => None,
            Transport::Tls(t) => Some(t),
            Transport::Pipe(_) => None,
        }
    }

    /// The socket to `splice(2)` from or to, when bytes may move without
    /// passing through user space: only a plain transport offers one.
    pub fn splice_fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Transport::Plain(s) => Some(s.as_fd()),
            Transport::Tls(_) | Transport::Pipe(_) => None,
        }
    }

    /// Registers the socket with the poller under `token`.
    pub fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Transport::Plain(s) => registry.register(s, token, interest),
            Transport::Tls(t) => registry.register(&mut t.sock, token, interest),
            Transport::Pipe(_) => Ok(()),
        }
    }

    /// Moves the socket to another token (or interest) in the poller.
    pub fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Transport::Plain(s) => registry.reregister(s, token, interest),
            Transport::Tls(t) => registry.reregister(&mut t.sock, token, interest),
            Transport::Pipe(_) => Ok(()),
        }
    }

    /// Takes the socket out of the poller.
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Transport::Plain(s) => registry.deregister(s),
            Transport::Tls(t) => registry.deregister(&mut t.sock),
            Transport::Pipe(_) => Ok(()),
        }
    }

    /// A pending socket error (a failed connect), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Transport::Plain(s) => s.take_error(),
            Transport::Tls(t) => t.sock.take_error(),
            Transport::Pipe(_) => Ok(None),
        }
    }

    /// The peer's address: an error until a connect has completed.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Transport::Plain(s) => s.peer_addr(),
            Transport::Tls(t) => t.sock.peer_addr(),
            Transport::Pipe(_) => Err(ErrorKind::NotConnected.into()),
        }
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.set_nodelay(on),
            Transport::Tls(t) => t.sock.set_nodelay(on),
            Transport::Pipe(_) => {
                let _ = on;
                Ok(())
            }
        }
    }

    /// Looks at the bytes waiting on the socket without taking them (the
    /// PROXY protocol header, before anything reads past it).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let sock = match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.sock,
            Transport::Pipe(_) => return Err(ErrorKind::WouldBlock.into()),
        };
        use std::os::fd::AsRawFd;
        nix::sys::socket::recv(sock.as_raw_fd(), buf, nix::sys::socket::MsgFlags::MSG_PEEK)
            .map_err(io::Error::from)
    }

    /// Reads from the socket itself, under the transport (bytes that come
    /// before it starts: the PROXY header).
    pub fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.sock.read(buf),
            Transport::Pipe(p) => p.read(buf),
        }
    }

    /// Writes bytes on the socket itself, ahead of anything the transport
    /// will write (the PROXY protocol header, before a TLS handshake).
    /// All or nothing: a fresh connection's send buffer takes them.
    pub fn write_preamble(&mut self, bytes: &[u8]) -> io::Result<()> {
        let sock = match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &mut t.sock,
            Transport::Pipe(_) => return Ok(()),
        };
        match sock.write(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(_) => Err(io::Error::other(
                "the PROXY header did not fit the send buffer",
            )),
            Err(e) => Err(e),
        }
    }

    /// The local address of the connection (what a client connected to).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Transport::Plain(s) => s.local_addr(),
            Transport::Tls(t) => t.sock.local_addr(),
            Transport::Pipe(_) => Err(ErrorKind::NotConnected.into()),
        }
    }

    /// Closes the connection with a reset (SO_LINGER 0), as HAProxy does
    /// with server connections it no longer wants, so that no TIME_WAIT
    /// piles up on weir's ephemeral ports. Closing the socket takes it out
    /// of the poller (it is this worker's only descriptor of it).
    pub fn discard(self) {
        let sock = match &self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.sock,
            Transport::Pipe(_) => return,
        };
        let _ = socket2::SockRef::from(sock).set_linger(Some(Duration::ZERO));
    }
}
