//! A session: one accepted client connection, the server connection made
//! for it, and the two channels between them.
//!
//! In TCP mode a session carries exactly one exchange, so it has no separate
//! stream yet; HTTP mode will add a Stream per request on top of it. The
//! session's task ([`tcp::process`]) is woken by I/O on either side or by
//! its timer and runs these stages:
//!
//! ```text
//!  Connect ──(connected)──▶ Data ──(both directions shut)──▶ closed, logged
//!     │ failed: retry on the next server, up to `retries`
//!     ├──────────────────────────────────────▶ closed with SC / sC
//!     │ every server at its maxconn: wait in the backend's queue
//!     └──(timeout.queue)─────────────────────▶ closed with sQ
//! ```

pub mod connect;
pub mod count;
pub mod http;
pub mod pump;
pub mod tcp;

use crate::channel::Channel;
use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;
use weir_core::log::date::WallTime;

/// One socket and what the poller last told about it (edge-triggered: a
/// flag stays set until a call returns `WouldBlock`, or comes back short).
///
/// Reading and writing through the `Conn` (its `Read` and `Write`) keeps
/// the flags: a read that fills less than the buffer it was given has
/// emptied the socket's receive queue, and a write that takes less than it
/// was offered has filled the send buffer, so the flag drops without the
/// extra call that would only return `EAGAIN` (HAProxy's `fd_cant_recv`
/// after a short read). Linux's epoll queues a new edge for every segment
/// that arrives and whenever send space frees after a short write, so no
/// wake-up is lost. The exception is the peer's FIN: when it arrived with
/// the data, its edge is the one being served, so once the poller has
/// said the read side closed (`rdhup`) reads go on until they return 0.
pub struct Conn {
    pub sock: TcpStream,
    pub readable: bool,
    pub writable: bool,
    /// The poller reported the peer's read side closed (or an error):
    /// a short read no longer means the queue is empty of events.
    pub rdhup: bool,
}

impl Conn {
    pub fn new(sock: TcpStream) -> Conn {
        Conn {
            sock,
            readable: false,
            writable: false,
            rdhup: false,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = self.sock.read(buf);
        match &res {
            Ok(n) if *n > 0 && *n < buf.len() && !self.rdhup => self.readable = false,
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.readable = false,
            _ => {}
        }
        res
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let res = self.sock.write(buf);
        self.after_write(&res, buf.len());
        res
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let res = self.sock.write_vectored(bufs);
        self.after_write(&res, bufs.iter().map(|b| b.len()).sum());
        res
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
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

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Choosing a server and connecting to it (with retries).
    Connect,
    /// Both connections up; bytes flow.
    Data,
}

/// Why a session ended: HAProxy's two-letter termination state.
pub type Termination = [u8; 2];

pub struct Session {
    pub frontend: usize,
    pub backend: usize,
    /// The server chosen for the current or last connection attempt.
    pub server: Option<usize>,
    pub client_addr: SocketAddr,
    pub client: Conn,
    pub srv: Option<Conn>,
    /// Client → server.
    pub req: Channel,
    /// Server → client.
    pub res: Channel,
    pub stage: Stage,
    /// Connection retries used so far.
    pub retries: u32,
    pub accepted: Instant,
    pub accept_date: WallTime,
    /// First connection attempt (for Tc).
    pub connect_start: Option<Instant>,
    /// Deadline of the current connection attempt.
    pub connect_deadline: Option<Instant>,
    /// Milliseconds from the first attempt to the established connection.
    pub connect_ms: Option<u64>,
    /// Its wait for a server slot (every server at its `maxconn`).
    pub queue: crate::queue::Wait,
    /// Last progress on each side, for the inactivity timeouts.
    pub cli_active: Instant,
    pub srv_active: Instant,
}

impl Session {
    pub fn new(
        frontend: usize,
        backend: usize,
        client: TcpStream,
        client_addr: SocketAddr,
        now: Instant,
        date: WallTime,
    ) -> Session {
        Session {
            frontend,
            backend,
            server: None,
            client_addr,
            client: Conn::new(client),
            srv: None,
            req: Channel::default(),
            res: Channel::default(),
            stage: Stage::Connect,
            retries: 0,
            accepted: now,
            accept_date: date,
            connect_start: None,
            connect_deadline: None,
            connect_ms: None,
            queue: crate::queue::Wait::default(),
            cli_active: now,
            srv_active: now,
        }
    }
}
