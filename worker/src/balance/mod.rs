//! Server selection: one small trait, one file per algorithm.

mod roundrobin;

pub use roundrobin::RoundRobin;

use crate::backend::ServerState;
use std::net::IpAddr;

/// What the hashing algorithms read from the connection or request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PickCtx<'a> {
    /// The client's address.
    pub src: Option<IpAddr>,
    /// The request's path and query (HTTP mode).
    pub uri: Option<&'a [u8]>,
    /// The value of the header named by `balance = "hdr(NAME)"`, if the
    /// request has it (HTTP mode).
    pub header: Option<&'a [u8]>,
}

/// Picks the server for a new connection.
pub trait Balancer {
    /// Chooses among `servers` those that may take traffic (active ones
    /// first; backups only when no active one can), avoiding `avoid` (the
    /// server that just failed) whenever another choice exists.
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize>;
}

/// The servers a balancer may choose from: usable active servers, or, if
/// none, usable backup servers.
pub fn candidates(servers: &[ServerState]) -> impl Iterator<Item = usize> + '_ {
    let any_active = servers.iter().any(|s| s.usable() && !s.backup);
    servers
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.usable() && s.backup != any_active)
        .map(|(i, _)| i)
}
