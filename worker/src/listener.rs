//! Listeners: the inherited listening sockets, registered with the poller
//! only while the worker may accept on them.
//!
//! A listener stops being polled when the worker is full (`maxconn`), its
//! frontend is full, the operator paused it (SIGTTOU), accept ran out of
//! resources (EMFILE…, retried shortly), or the worker is stopping (then it
//! is closed). [`Listener::should_poll`] combines those reasons; the worker
//! calls [`Listener::sync`] after anything that may change them.
//!
//! With `shards = "by-worker"` the master handed this worker only its own
//! shard of each address (one socket of the address's `SO_REUSEPORT`
//! group): polling it is the same as polling a shared socket, but the kernel
//! wakes this worker only for the connections it hashed to it.

use crate::tokens;
use mio::net::TcpListener;
use mio::{Interest, Registry};
use std::io;

/// A listening socket handed over by the master, and its frontend.
pub struct InheritedListener {
    pub frontend: usize,
    /// Its bind among the frontend's.
    pub bind: usize,
    /// It is this worker's own shard (`shards = "by-worker"`), not a
    /// socket every worker accepts on.
    pub shard: bool,
    pub name: String,
    pub sock: std::net::TcpListener,
}

pub struct Listener {
    /// Index of the frontend it belongs to.
    pub frontend: usize,
    /// Its bind among the frontend's.
    pub bind: usize,
    /// Every worker accepts on it (not a shard of its own): this worker
    /// takes its fair share of the connections ([`crate::accept`]).
    pub shared: bool,
    /// Since when this worker has left new connections to the others
    /// (it holds more than its share); after [`crate::accept::HOSTAGE`]
    /// it takes them anyway.
    pub deferred: Option<std::time::Instant>,
    /// Its bind's TLS settings, when it terminates TLS.
    pub tls: Option<std::sync::Arc<weir_core::tls::Acceptor>>,
    /// How the address is shown in logs.
    pub name: String,
    /// The port it listens on: every connection it accepts has it as its
    /// local port (`dst_port`), with no `getsockname` per connection.
    pub port: u16,
    /// `None` once closed (soft stop).
    pub sock: Option<TcpListener>,
    /// SIGTTOU.
    pub paused: bool,
    /// accept() failed for lack of resources; retried by a timer.
    pub starved: bool,
    /// The owner shut the socket down (accept gives EINVAL) until SIGTTIN.
    pub shut: bool,
    /// The last accept batch stopped on its budget, not on `WouldBlock`.
    pub backlog: bool,
    registered: bool,
}

impl Listener {
    pub fn new(frontend: usize, name: String, sock: std::net::TcpListener) -> Listener {
        Listener {
            frontend,
            bind: 0,
            shared: true,
            deferred: None,
            tls: None,
            name,
            port: sock.local_addr().map_or(0, |a| a.port()),
            sock: Some(TcpListener::from_std(sock)),
            paused: false,
            starved: false,
            shut: false,
            backlog: false,
            registered: false,
        }
    }

    /// Whether this listener should be accepting, given whether the worker
    /// and its frontend are full.
    pub fn should_poll(&self, full: bool) -> bool {
        self.sock.is_some() && !self.paused && !self.starved && !self.shut && !full
    }

    /// Registers or deregisters the socket to match `want`.
    pub fn sync(&mut self, registry: &Registry, index: usize, want: bool) -> io::Result<()> {
        let Some(sock) = self.sock.as_mut() else {
            self.registered = false;
            return Ok(());
        };
        if want && !self.registered {
            registry.register(sock, tokens::listener(index), Interest::READABLE)?;
            self.registered = true;
        } else if !want && self.registered {
            registry.deregister(sock)?;
            self.registered = false;
            self.backlog = false;
        }
        Ok(())
    }

    /// Whether the poller watches it now.
    pub fn is_polled(&self) -> bool {
        self.registered
    }

    /// Stops listening for good (this process's copy of the socket).
    pub fn close(&mut self, registry: &Registry) {
        if let Some(mut sock) = self.sock.take() {
            if self.registered {
                let _ = registry.deregister(&mut sock);
            }
        }
        self.registered = false;
        self.backlog = false;
    }
}
