//! Server selection: one small trait, one file per algorithm.
//!
//! Every algorithm chooses among the same servers ([`eligible`]): the
//! usable active ones, or the usable backups when no active one is usable
//! ([`candidates`]); of those, the ones below their `maxconn`; and of
//! those, all but `avoid` (the server that just failed) unless it is the
//! only one left. When candidates exist but every one is full, `pick`
//! returns `None` and the backend queues the request.
//!
//! | algorithm | file | choice |
//! |---|---|---|
//! | `roundrobin` | [`roundrobin`] | smooth weighted round-robin, live weights |
//! | `static-rr` | [`static_rr`] | the same on the weights read at start |
//! | `leastconn` | [`leastconn`] | fewest (sessions + 1) / weight; round-robin among ties |
//! | `first` | [`first`] | the first eligible in declaration order |
//! | `source` | [`source`] | HAProxy's hash of the client address |
//! | `uri` | [`uri`] | HAProxy's hash of the path (round-robin without one) |
//! | `hdr(NAME)` | [`hdr`] | HAProxy's hash of the header (round-robin without it) |
//! | `random` | [`random`] | weighted, from a per-backend PRNG |
//!
//! The three hashing algorithms place their key as HAProxy 2.6 does
//! ([`keyed`]): on a map of the weights ([`map`], `hash_type =
//! "map-based"`, the default) or on a consistent-hashing ring ([`chash`]),
//! with HAProxy's hash functions ([`hash`]).

mod chash;
mod first;
mod hash;
mod hdr;
mod keyed;
mod leastconn;
mod map;
mod random;
mod roundrobin;
mod source;
mod static_rr;
mod uri;

pub use first::First;
pub use hdr::Hdr;
pub use leastconn::LeastConn;
pub use random::Random;
pub use roundrobin::RoundRobin;
pub use source::Source;
pub use static_rr::StaticRr;
pub use uri::Uri;

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
    /// Chooses among the [`eligible`] servers; `None` when there is none.
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize>;

    /// Servers were added, deleted or moved (the runtime API): rebuild
    /// what was derived from them. The live algorithms need nothing: they
    /// read the servers at each pick.
    fn servers_changed(&mut self, _servers: &[ServerState]) {}
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

/// Fills `out` with the servers one pick chooses among, in declaration
/// order: [`candidates`] below their `maxconn`, without `avoid` unless it
/// is the only one. Each server's state is read once, so the list is one
/// consistent view even while other processes change it.
pub fn eligible(servers: &[ServerState], avoid: Option<usize>, out: &mut Vec<usize>) {
    out.clear();
    out.extend(candidates(servers).filter(|&i| !servers[i].full()));
    if out.len() > 1 {
        if let Some(a) = avoid {
            out.retain(|&i| i != a);
        }
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use crate::backend::ServerState;

    use weir_core::config::model::{Backend, Balance, HashType, HttpReuse, Mode, Server};

    /// A backend configured with servers of these weights.
    pub fn backend(weights: &[u32], hash_type: HashType) -> Backend {
        Backend {
            name: "be".into(),
            mode: Mode::Http,
            balance: Balance::Uri,
            hash_type,
            servers: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Server {
                    name: format!("s{i}"),
                    addr: ([127, 0, 0, 1], 1).into(),
                    weight,
                    backup: false,
                    disabled: false,
                    check: false,
                    maxconn: None,
                    tls: None,
                    send_proxy: None,
                    h2: false,
                    dns: None,
                })
                .collect(),
            server_slots: weights.len(),
            templates: Vec::new(),
            retries: 3,
            redispatch: false,
            timeouts: Default::default(),
            forwardfor: false,
            http_reuse: HttpReuse::Safe,
            check: None,
            log: None,
            errorfiles: Default::default(),
            table: None,
        }
    }

    /// Servers `s0`, `s1`, … with these weights.
    pub fn servers(weights: &[u32]) -> Vec<ServerState> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| ServerState::for_test(&format!("s{i}"), w))
            .collect()
    }

    /// How many of `n` picks went to each server.
    pub fn tally(n_servers: usize, picks: impl Iterator<Item = Option<usize>>) -> Vec<usize> {
        let mut out = vec![0; n_servers];
        for i in picks.flatten() {
            out[i] += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::servers;
    use super::*;

    #[test]
    fn eligible_skips_full_and_avoid() {
        let mut s = servers(&[1, 1, 1]);
        let mut out = Vec::new();
        eligible(&s, Some(1), &mut out);
        assert_eq!(out, [0, 2]);
        s[0].maxconn = Some(1);
        s[0].shm.enter(0);
        eligible(&s, Some(1), &mut out);
        assert_eq!(out, [2]);
        s[2].set_maint(true);
        // The avoided server is the only one left: it stays.
        eligible(&s, Some(1), &mut out);
        assert_eq!(out, [1]);
        s[1].maxconn = Some(1);
        s[1].shm.enter(0);
        eligible(&s, Some(1), &mut out);
        assert!(out.is_empty());
        assert_eq!(candidates(&s).count(), 2, "full servers remain candidates");
    }

    #[test]
    fn backups_only_without_usable_active() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut out = Vec::new();
        eligible(&s, None, &mut out);
        assert_eq!(out, [0, 1]);
        // A full active server is still usable: no backup for it.
        s[0].maxconn = Some(1);
        s[0].shm.enter(0);
        s[1].set_maint(true);
        eligible(&s, None, &mut out);
        assert!(out.is_empty());
        s[0].set_maint(true);
        eligible(&s, None, &mut out);
        assert_eq!(out, [2]);
    }
}
