//! The typed DNS discovery settings (SPEC §12): `[resolvers.NAME]`, a
//! server whose address is a host name, and `server_template`.

use std::net::SocketAddr;
use std::time::Duration;

use super::Backend;

/// A server whose address follows DNS answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDns {
    /// Index in [`Config::resolvers`].
    pub resolvers: usize,
    /// The host name asked for (A and AAAA).
    pub host: String,
    /// No address at start-up (`init_addr` ended on `none`): in
    /// maintenance until the first answer.
    pub start_none: bool,
    /// `init_addr` holds `last`: a reload keeps the address the previous
    /// generation had resolved.
    pub last: bool,
}

/// `server_template = { prefix, count, name, resolvers, port }`: servers
/// `PREFIX1`…`PREFIXcount`, filled from SRV answers for `name` (or from A
/// and AAAA answers with `port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTemplate {
    pub prefix: String,
    pub count: usize,
    /// The SRV name (`_http._tcp.web.service.consul`) or a host name.
    pub name: String,
    /// Index in [`Config::resolvers`].
    pub resolvers: usize,
    /// The servers' port for A/AAAA answers (SRV answers carry theirs).
    pub port: Option<u16>,
    /// Index of `PREFIX1` in the backend's `servers`.
    pub first: usize,
    /// `init_addr` holds `last`: a reload keeps the slots' addresses.
    pub last: bool,
}

impl ServerTemplate {
    /// Whether server `k` of the backend is one of this template's.
    pub fn holds(&self, k: usize) -> bool {
        (self.first..self.first + self.count).contains(&k)
    }
}

impl Backend {
    /// Whether server `k`'s address comes from DNS (its own name or a
    /// template), and a reload keeps the address it had (`init_addr`
    /// holds `last`).
    pub fn discovered(&self, k: usize) -> Option<bool> {
        if let Some(d) = self.servers.get(k).and_then(|s| s.dns.as_ref()) {
            return Some(d.last);
        }
        self.templates.iter().find(|t| t.holds(k)).map(|t| t.last)
    }

    /// Whether server `k` starts without an address, in maintenance until
    /// DNS gives it one (`init_addr` ending on `none`, a template's slot).
    pub fn starts_unresolved(&self, k: usize) -> bool {
        let none = self
            .servers
            .get(k)
            .and_then(|s| s.dns.as_ref())
            .is_some_and(|d| d.start_none);
        none || self.templates.iter().any(|t| t.holds(k))
    }
}

/// `[resolvers.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolvers {
    pub name: String,
    /// Asked in turn (the next one after a timeout).
    pub nameservers: Vec<SocketAddr>,
    /// `timeout.resolve`: time between two resolutions of a name when the
    /// last one failed (HAProxy's `timeout resolve`).
    pub resolve: Duration,
    /// `timeout.retry`: how long one query waits for its answer.
    pub retry: Duration,
    /// Queries sent for one resolution before it times out.
    pub retries: u32,
    /// `hold.valid`: time between two resolutions of a name answered.
    pub hold_valid: Duration,
    /// `hold.nx`: how long a name answered NXDOMAIN (or with no record)
    /// keeps its last address before its server goes to maintenance.
    pub hold_nx: Duration,
    /// `hold.timeout`: how long the last address is kept with no answer
    /// (the address is kept beyond it; only logged).
    pub hold_timeout: Duration,
    /// `hold.other`: the same for other errors (SERVFAIL, REFUSED…).
    pub hold_other: Duration,
    /// The EDNS0 UDP payload size advertised (512 = no EDNS0).
    pub accepted_payload_size: u16,
}
