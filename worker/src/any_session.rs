//! A session of either mode, as the worker's slab holds it: the one
//! `match` on the mode, written once; everything else goes through the
//! [`Session`] contract.

use crate::mux::h1::H1Mux;
use crate::mux::h2::H2Mux;
use crate::session::tcp::TcpSession;
use crate::session::Session;

/// A client connection of either mode, stored in the slab itself: an
/// HTTP/1 connection (the common case, and what 10,000 idle keep-alive
/// clients are) takes a slab slot (memory the slab keeps, trimmed on
/// SIGQUIT) rather than a heap allocation of its own. The slab keeps
/// every slot at the size of the largest variant, so the larger kinds are
/// boxed: a TCP session holds both directions' channels and its server
/// side (464 bytes, against 376 for the HTTP/1 mux), and one allocation
/// per TCP connection costs less than 64 bytes on every idle HTTP one.
// The HTTP/1 mux stays inline on purpose (no allocation per connection).
#[allow(clippy::large_enum_variant)]
pub enum AnySession {
    Tcp(Box<TcpSession>),
    Http(H1Mux),
    /// Boxed: an HTTP/2 connection is larger, and the slab keeps its
    /// slots at the size of the largest variant.
    H2(Box<H2Mux>),
}

impl AnySession {
    /// The session behind the contract.
    pub fn get(&mut self) -> &mut dyn Session {
        match self {
            AnySession::Tcp(s) => s.as_mut(),
            AnySession::Http(s) => s,
            AnySession::H2(s) => s.as_mut(),
        }
    }

    /// Hands an HTTP/1 connection that turned out to speak HTTP/2 to the
    /// HTTP/2 mux (the same socket, the same token, the bytes read so
    /// far).
    pub fn upgrade_h2(&mut self, cx: &mut crate::context::Cx) {
        if let AnySession::Http(h1) = self {
            let bind = h1.bind();
            let client = h1.take_client();
            *self = AnySession::H2(Box::new(H2Mux::new(client, bind, cx)));
        }
    }

    pub fn get_ref(&self) -> &dyn Session {
        match self {
            AnySession::Tcp(s) => s.as_ref(),
            AnySession::Http(s) => s,
            AnySession::H2(s) => s.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    /// What an idle keep-alive connection costs in the slab: an HTTP/1
    /// mux, the others boxed (docs: 0.40 KiB per idle connection at most).
    #[test]
    fn a_slab_slot_is_an_http1_mux() {
        use std::mem::size_of;
        let slot = size_of::<super::AnySession>();
        assert!(slot <= size_of::<crate::mux::h1::H1Mux>() + 8, "{slot}");
        assert!(slot <= 376, "a slab slot grew to {slot} bytes");
    }
}
