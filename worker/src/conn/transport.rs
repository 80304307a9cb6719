//! The transport under a connection: how its bytes reach the wire
//! (HAProxy's `xprt`: `raw_sock` or `ssl_sock`; sozu's `SocketHandler`).
//!
//! Every read, write, shutdown, registration and close of a connection
//! goes through its [`Transport`]; nothing above it holds a raw socket.
//! Today there is one kind, the plain TCP socket. The TLS kind will sit
//! beside it: its reads decrypt, its writes encrypt, and it offers no
//! splice (bytes must pass through user space to be encrypted; kernel TLS
//! would give that back, and fits here as a third kind).
//!
//! An enum rather than a trait object: the plain kind costs nothing over a
//! bare socket (no box, no indirect call on the hot path), and the match
//! is written once, here.

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

/// One connection's transport.
pub enum Transport {
    /// Bytes as they are, on a TCP socket; `splice(2)` is possible.
    Plain(TcpStream),
}

impl Transport {
    /// Reads decrypted (here: plain) bytes. `Ok(0)` is the peer's EOF.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
        }
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write_vectored(bufs),
        }
    }

    /// Ends the write side (the peer reads EOF once what was written has
    /// arrived).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// Whether a read that fills less than the buffer it was given has
    /// emptied everything there was to read. True of a plain socket (the
    /// receive queue was drained); a transport that keeps bytes of its
    /// own (decrypted records) answers false while it holds some.
    pub fn short_read_drains(&self) -> bool {
        match self {
            Transport::Plain(_) => true,
        }
    }

    /// The socket to `splice(2)` from or to, when bytes may move without
    /// passing through user space: only a plain transport offers one.
    pub fn splice_fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Transport::Plain(s) => Some(s.as_fd()),
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
        }
    }

    /// Takes the socket out of the poller.
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Transport::Plain(s) => registry.deregister(s),
        }
    }

    /// A pending socket error (a failed connect), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Transport::Plain(s) => s.take_error(),
        }
    }

    /// The peer's address: an error until a connect has completed.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Transport::Plain(s) => s.peer_addr(),
        }
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.set_nodelay(on),
        }
    }

    /// Closes the connection with a reset (SO_LINGER 0), as HAProxy does
    /// with server connections it no longer wants, so that no TIME_WAIT
    /// piles up on weir's ephemeral ports. Closing the socket takes it out
    /// of the poller (it is this worker's only descriptor of it).
    pub fn discard(self) {
        match self {
            Transport::Plain(s) => {
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
        }
    }
}
