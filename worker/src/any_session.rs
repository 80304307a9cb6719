//! A session of either mode, as the worker's slab holds it: the one
//! `match` on the mode, written once; everything else goes through the
//! [`Session`] contract.

use crate::mux::h1::H1Mux;
use crate::session::tcp::TcpSession;
use crate::session::Session;

/// A client connection of either mode, stored in the slab itself: both
/// are a few hundred bytes, so a new connection takes a slab slot (memory
/// the slab keeps, trimmed on SIGQUIT) rather than a heap allocation of
/// its own.
pub enum AnySession {
    Tcp(TcpSession),
    Http(H1Mux),
}

impl AnySession {
    /// The session behind the contract.
    pub fn get(&mut self) -> &mut dyn Session {
        match self {
            AnySession::Tcp(s) => s,
            AnySession::Http(s) => s,
        }
    }

    pub fn get_ref(&self) -> &dyn Session {
        match self {
            AnySession::Tcp(s) => s,
            AnySession::Http(s) => s,
        }
    }
}
