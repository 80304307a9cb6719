//! Backends and servers as a worker sees them: the configured facts, the
//! shared state every worker sees alike (operational and administrative
//! state, weight, sessions: [`weir_core::shm`]), this worker's balancer and
//! its queue of sessions waiting for a server slot ([`crate::queue`]).

use crate::balance::{self, Balancer, PickCtx};
use crate::queue::WaitQueue;
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use weir_core::config::model::{self, Balance};
use weir_core::shm::{ProxyShm, ServerShm};
use weir_core::tls::Connector;

/// One server.
pub struct ServerState {
    pub name: String,
    pub addr: SocketAddr,
    pub backup: bool,
    /// Concurrent sessions it takes, over every worker; more wait in the
    /// backend's queue.
    pub maxconn: Option<usize>,
    /// Shared state and counters.
    pub shm: ServerShm,
    /// How to speak TLS to it (`tls` on the server): `Some(Err)` if its
    /// configuration could not be built, and then it is never connected
    /// to (never in clear text instead).
    pub tls: Option<Result<Arc<Connector>, String>>,
    /// When a failed TLS handshake with it was last logged (a warning a
    /// second at most per server and worker).
    pub tls_warned: Cell<Option<Instant>>,
    /// Each connection to it opens with a PROXY protocol header.
    pub send_proxy: Option<model::ProxyVersion>,
}

impl ServerState {
    fn new(s: &model::Server, shm: ServerShm) -> ServerState {
        ServerState {
            name: s.name.clone(),
            addr: s.addr,
            backup: s.backup,
            maxconn: s.maxconn,
            shm,
            tls: s
                .tls
                .as_ref()
                .map(|t| Connector::from_server(t).map(Arc::new)),
            tls_warned: Cell::new(None),
            send_proxy: s.send_proxy,
        }
    }

    /// Whether new traffic may go to it (UP, READY, weight above 0).
    pub fn usable(&self) -> bool {
        self.shm.usable()
    }

    /// Its current weight (changes at run time).
    pub fn weight(&self) -> u32 {
        self.shm.weight()
    }

    /// Sessions on it now, over every worker.
    pub fn cur_sess(&self) -> u64 {
        self.shm.cur()
    }

    /// Whether it is at its `maxconn` (never without one).
    pub fn full(&self) -> bool {
        self.maxconn
            .is_some_and(|m| self.cur_sess() >= u64::try_from(m).unwrap_or(u64::MAX))
    }

    /// UP, DOWN, MAINT or DRAIN.
    pub fn status(&self) -> &'static str {
        self.shm.status()
    }

    #[cfg(test)]
    pub fn for_test(name: &str, weight: u32) -> ServerState {
        ServerState {
            name: name.to_string(),
            addr: ([127, 0, 0, 1], 1).into(),
            backup: false,
            maxconn: None,
            shm: ServerShm::detached(weight),
            tls: None,
            tls_warned: Cell::new(None),
            send_proxy: None,
        }
    }

    /// Puts it in or out of maintenance (tests).
    #[cfg(test)]
    pub fn set_maint(&self, maint: bool) {
        use weir_core::shm::{Srv, ADMIN_MAINT, ADMIN_READY};
        self.shm
            .set(Srv::Admin, if maint { ADMIN_MAINT } else { ADMIN_READY });
    }
}

/// What [`BackendState::pick`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// This server.
    Server(usize),
    /// Servers are usable but every one is at its `maxconn`: wait in the
    /// queue.
    Full,
    /// No server may take traffic (all down, disabled or weight 0).
    NoServer,
}

/// One backend.
pub struct BackendState {
    pub servers: Vec<ServerState>,
    /// Shared counters.
    pub shm: ProxyShm,
    /// This worker's sessions waiting for a server slot.
    pub queue: WaitQueue,
    /// A server of it sends the request's Host as its TLS SNI.
    pub sni_from_host: bool,
    /// A server of it wants a PROXY protocol header.
    pub send_proxy_any: bool,
    balancer: Box<dyn Balancer>,
}

impl BackendState {
    pub fn new(b: &model::Backend, shm: ProxyShm, servers: &[ServerShm]) -> BackendState {
        let servers: Vec<ServerState> = b
            .servers
            .iter()
            .zip(servers)
            .map(|(s, shm)| ServerState::new(s, *shm))
            .collect();
        // `uri` and `hdr(NAME)` in a TCP backend have nothing to hash: their
        // balancers fall back to round-robin by themselves.
        let balancer: Box<dyn Balancer> = match &b.balance {
            Balance::RoundRobin => Box::new(balance::RoundRobin::default()),
            Balance::StaticRr => Box::new(balance::StaticRr::new(&servers)),
            Balance::LeastConn => Box::new(balance::LeastConn::default()),
            Balance::First => Box::new(balance::First::default()),
            Balance::Source => Box::new(balance::Source::new(b)),
            Balance::Uri => Box::new(balance::Uri::new(b)),
            Balance::Hdr(_) => Box::new(balance::Hdr::new(b)),
            Balance::Random => Box::new(balance::Random::new()),
        };
        let sni_from_host = b.servers.iter().any(|s| {
            s.tls
                .as_ref()
                .is_some_and(|t| matches!(t.sni, model::ServerSni::RequestHost { .. }))
        });
        let send_proxy_any = b.servers.iter().any(|s| s.send_proxy.is_some());
        BackendState {
            servers,
            shm,
            queue: WaitQueue::default(),
            sni_from_host,
            send_proxy_any,
            balancer,
        }
    }

    /// Picks a server for a new connection attempt, avoiding `avoid` (the
    /// server that just failed) when another one can take it.
    pub fn pick(&mut self, req: &PickCtx, avoid: Option<usize>) -> Pick {
        match self.balancer.pick(&self.servers, req, avoid) {
            Some(i) => Pick::Server(i),
            None if balance::candidates(&self.servers).next().is_some() => Pick::Full,
            None => Pick::NoServer,
        }
    }

    /// A session of this worker lets go of server `i`: its count drops and
    /// the first session waiting in the queue, if any, is woken to take the
    /// slot.
    pub fn release(&mut self, i: usize, worker: usize) {
        if let Some(s) = self.servers.get(i) {
            s.shm.leave(worker);
        }
        self.queue.slot_freed();
    }
}
