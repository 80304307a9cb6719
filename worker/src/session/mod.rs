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

pub mod count;
pub mod http;
pub mod pump;
pub mod tcp;
pub mod term;

pub use term::{At, Cause, Termination};

use crate::channel::Channel;
use crate::conn::Conn;
use mio::net::TcpStream;
use std::net::SocketAddr;
use std::time::Instant;
use weir_core::log::date::WallTime;

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Choosing a server and connecting to it (with retries).
    Connect,
    /// Both connections up; bytes flow.
    Data,
}

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
            client: Conn::plain(client),
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
