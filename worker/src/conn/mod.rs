//! Connections: a [`Transport`] and what the poller last said about it.
//!
//! ```text
//!  Session / Stream ──▶ Conn (readiness flags) ──▶ Transport ──▶ socket
//! ```
//!
//! A [`Conn`] is what sessions, streams and the idle pool hold: reading
//! and writing through it keep its readiness flags (below), and
//! everything else (registration, splice, shutdown, close) is asked of
//! its transport. [`connect`] opens server connections.

pub mod connect;
pub mod link;
pub mod pipe;
pub mod proxy;
pub mod tls;
pub mod transport;

pub use tls::Tls;
pub use transport::Transport;

use mio::{Interest, Registry, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::BorrowedFd;

/// A connection and what the poller last told about it (edge-triggered: a
/// flag stays set until a call returns `WouldBlock`, or comes back short).
///
/// Reading and writing through the `Conn` (its `Read` and `Write`) keeps
/// the flags: a read that fills less than the buffer it was given has
/// emptied the socket's receive queue, and a write that takes less than it
/// was offered has filled the send buffer, so the flag drops without the
/// extra call that would only return `EAGAIN` (HAProxy's `fd_cant_recv`
/// after a short read). Linux's epoll queues a new edge for every segment
/// that arrives and whenever send space frees after a short write, so no
/// wake-up is lost. Two exceptions: the peer's FIN — when it arrived with
/// the data, its edge is the one being served, so once the poller has
/// said the read side closed (`rdhup`) reads go on until they return 0 —
/// and a transport that keeps bytes of its own (TLS records decrypted
/// ahead), which says so ([`Transport::short_read_drains`]).
pub struct Conn {
    transport: Transport,
    pub readable: bool,
    pub writable: bool,
    /// The poller reported the peer's read side closed (or an error):
    /// a short read no longer means the queue is empty of events.
    pub rdhup: bool,
    /// It carries one client's identity (a PROXY header was sent on it):
    /// never parked for another client to reuse.
    pub private: bool,
}

impl Conn {
    /// A connection the poller has said nothing about yet.
    pub fn new(transport: Transport) -> Conn {
        Conn {
            transport,
            readable: false,
            writable: false,
            rdhup: false,
            private: false,
        }
    }

    /// A plain TCP connection.
    pub fn plain(sock: mio::net::TcpStream) -> Conn {
        Conn::new(Transport::Plain(sock))
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Records what the poller said. Records a TLS transport still holds
    /// go out as soon as the socket takes them again (nothing above may
    /// be writing any more: the response may be complete).
    pub fn on_event(&mut self, ev: &mio::event::Event) {
        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
            self.readable = true;
        }
        if ev.is_read_closed() || ev.is_error() {
            self.rdhup = true;
        }
        if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
            self.writable = true;
            if !self.transport.flushed() {
                match self.transport.flush() {
                    Ok(true) => {}
                    Ok(false) => self.writable = false,
                    // The next read reports it.
                    Err(_) => {
                        self.readable = true;
                        self.rdhup = true;
                    }
                }
            }
        }
    }

    /// Whether everything written has left for the socket (see
    /// [`Transport::flushed`]): a response is sent only then.
    pub fn flushed(&self) -> bool {
        self.transport.flushed()
    }

    /// The TLS layer, if this is a TLS connection.
    pub fn tls(&self) -> Option<&Tls> {
        self.transport.tls()
    }

    /// The pipe, if this is a stream's end of a multiplexing mux.
    pub fn pipe(&mut self) -> Option<&mut pipe::Pipe> {
        self.transport.pipe()
    }

    /// The mux task of a stream's link to an HTTP/2 server connection.
    pub fn link_task(&self) -> Option<usize> {
        self.transport.link().map(|l| l.task)
    }

    /// A link has no poller: each wake of its stream is an edge in both
    /// directions (the mux wakes it only when it changed something).
    pub fn link_edge(&mut self) {
        if self.transport.link().is_some() {
            self.readable = true;
            self.writable = true;
        }
    }

    /// Whether a TLS handshake is still going on.
    pub fn handshaking(&self) -> bool {
        self.tls().is_some_and(Tls::handshaking)
    }

    /// Drives a TLS handshake (without reading application data): `true`
    /// once it is done (at once for a plain connection).
    pub fn handshake(&mut self) -> io::Result<bool> {
        let (res, inside) = match &mut self.transport {
            Transport::Plain(_) | Transport::Pipe(_) | Transport::Link(_) => return Ok(true),
            Transport::Tls(t) => {
                let res = t.handshake();
                (res, t.readable_inside())
            }
        };
        match res {
            // It waits for the peer (or for room to write): the next event.
            Ok(false) => self.readable = false,
            // Data came with the peer's last handshake message and was
            // decrypted with it: the socket may be drained, so no event
            // will come for it (epoll drops an edge whose data is gone).
            Ok(true) if inside => self.readable = true,
            _ => {}
        }
        res
    }

    /// Registers it with the poller for both directions (once: a socket
    /// stays registered until it is closed).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.transport
            .register(registry, token, Interest::READABLE | Interest::WRITABLE)
    }

    /// Moves it to another owner's token, for both directions.
    pub fn reregister(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.transport
            .reregister(registry, token, Interest::READABLE | Interest::WRITABLE)
    }

    /// Parks it under `token`, watching only for something arriving
    /// (which makes a parked server connection unusable).
    pub fn park(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.transport
            .reregister(registry, token, Interest::READABLE)
    }

    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.transport.deregister(registry)
    }

    /// Ends the write side (half-close).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.transport.shutdown_write()
    }

    /// Before a clean close: a TLS connection sends its close_notify
    /// ([`Tls::close_notify`]); nothing for the others, whose close is
    /// their FIN.
    pub fn close_notify(&mut self) {
        if let Transport::Tls(t) = &mut self.transport {
            t.close_notify();
        }
    }

    /// The socket a pipe may splice from or to, if the transport allows.
    pub fn splice_fd(&self) -> Option<BorrowedFd<'_>> {
        self.transport.splice_fd()
    }

    /// Whether bytes may be spliced to or from it.
    pub fn can_splice(&self) -> bool {
        self.transport.splice_fd().is_some()
    }

    /// Looks at the bytes waiting without taking them ([`Transport::peek`]).
    pub fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = self.transport.peek(buf);
        if matches!(&res, Err(e) if e.kind() == ErrorKind::WouldBlock) {
            self.readable = false;
        }
        res
    }

    /// Takes `n` bytes already peeked at off the socket, out of the way
    /// of the layers above, the transport's included (the PROXY header:
    /// a TLS handshake starts after it).
    pub fn skip(&mut self, n: usize) -> io::Result<()> {
        let mut scrap = [0u8; proxy::MAX_LEN];
        let mut left = n.min(scrap.len());
        while left > 0 {
            let got = self.transport.read_raw(&mut scrap[..left])?;
            if got == 0 {
                return Err(ErrorKind::UnexpectedEof.into());
            }
            left -= got;
        }
        Ok(())
    }

    /// Writes bytes ahead of anything else ([`Transport::write_preamble`]).
    pub fn write_preamble(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.transport.write_preamble(bytes)
    }

    /// The connection's local address.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.transport.local_addr()
    }

    /// Closes it with a reset ([`Transport::discard`]).
    pub fn discard(self) {
        self.transport.discard();
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = self.transport.read(buf);
        match &res {
            Ok(n)
                if *n > 0
                    && *n < buf.len()
                    && !self.rdhup
                    && self.transport.short_read_drains() =>
            {
                self.readable = false
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.readable = false,
            _ => {}
        }
        res
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let res = self.transport.write(buf);
        self.after_write(&res, buf.len());
        res
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let res = self.transport.write_vectored(bufs);
        self.after_write(&res, bufs.iter().map(|b| b.len()).sum());
        res
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Conn {
    fn after_write(&mut self, res: &io::Result<usize>, offered: usize) {
        match res {
            Ok(n) if *n < offered => self.writable = false,
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.writable = false,
            _ => {}
        }
    }
}
