//! Backends and servers as a worker sees them: the configured facts, the
//! shared state every worker sees alike (operational and administrative
//! state, weight, sessions: [`weir_core::shm`]) and this worker's balancer.

use crate::balance::{Balancer, PickCtx, RoundRobin};
use std::net::SocketAddr;
use weir_core::config::model::{self, Balance};
use weir_core::shm::{ProxyShm, ServerShm};

/// One server.
pub struct ServerState {
    pub name: String,
    pub addr: SocketAddr,
    pub backup: bool,
    /// Shared state and counters.
    pub shm: ServerShm,
}

impl ServerState {
    fn new(s: &model::Server, shm: ServerShm) -> ServerState {
        ServerState {
            name: s.name.clone(),
            addr: s.addr,
            backup: s.backup,
            shm,
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
            shm: ServerShm::detached(weight),
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

/// One backend.
pub struct BackendState {
    pub servers: Vec<ServerState>,
    /// Shared counters.
    pub shm: ProxyShm,
    balancer: Box<dyn Balancer>,
}

impl BackendState {
    pub fn new(b: &model::Backend, shm: ProxyShm, servers: &[ServerShm]) -> BackendState {
        let balancer: Box<dyn Balancer> = match b.balance {
            Balance::RoundRobin => Box::new(RoundRobin::default()),
            // Not accepted by the configuration yet.
            _ => Box::new(RoundRobin::default()),
        };
        BackendState {
            servers: b
                .servers
                .iter()
                .zip(servers)
                .map(|(s, shm)| ServerState::new(s, *shm))
                .collect(),
            shm,
            balancer,
        }
    }

    /// Picks a server for a new connection attempt.
    pub fn pick(&mut self, req: &PickCtx, avoid: Option<usize>) -> Option<usize> {
        self.balancer.pick(&self.servers, req, avoid)
    }
}
