//! Backends and servers as a worker sees them: the configured facts plus
//! live state (maintenance, current and total sessions) and the balancer.

use crate::balance::{Balancer, PickCtx, RoundRobin};
use std::net::SocketAddr;
use weir_core::config::model::{self, Balance};

/// One server's live state.
pub struct ServerState {
    pub name: String,
    pub addr: SocketAddr,
    pub weight: u32,
    pub backup: bool,
    /// Administrative maintenance (`disabled = true`).
    pub maint: bool,
    /// Sessions connected or connecting to it now.
    pub cur_sess: usize,
    /// Sessions it has been given since start.
    pub total_sess: u64,
}

impl ServerState {
    fn new(s: &model::Server) -> ServerState {
        ServerState {
            name: s.name.clone(),
            addr: s.addr,
            weight: s.weight,
            backup: s.backup,
            maint: s.disabled,
            cur_sess: 0,
            total_sess: 0,
        }
    }

    /// Whether new traffic may go to it.
    pub fn usable(&self) -> bool {
        !self.maint && self.weight > 0
    }

    /// "UP", or "MAINT" when administratively disabled.
    pub fn status(&self) -> &'static str {
        if self.maint {
            "MAINT"
        } else {
            "UP"
        }
    }

    #[cfg(test)]
    pub fn for_test(name: &str, weight: u32) -> ServerState {
        ServerState {
            name: name.to_string(),
            addr: ([127, 0, 0, 1], 1).into(),
            weight,
            backup: false,
            maint: false,
            cur_sess: 0,
            total_sess: 0,
        }
    }
}

/// One backend's live state.
pub struct BackendState {
    pub servers: Vec<ServerState>,
    /// Sessions assigned to this backend now.
    pub cur_sess: usize,
    balancer: Box<dyn Balancer>,
}

impl BackendState {
    pub fn new(b: &model::Backend) -> BackendState {
        let balancer: Box<dyn Balancer> = match b.balance {
            Balance::RoundRobin => Box::new(RoundRobin::default()),
            // Not accepted by the configuration yet.
            _ => Box::new(RoundRobin::default()),
        };
        BackendState {
            servers: b.servers.iter().map(ServerState::new).collect(),
            cur_sess: 0,
            balancer,
        }
    }

    /// Picks a server for a new connection attempt.
    pub fn pick(&mut self, req: &PickCtx, avoid: Option<usize>) -> Option<usize> {
        self.balancer.pick(&self.servers, req, avoid)
    }
}
