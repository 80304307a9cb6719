//! Backends and servers as a worker sees them: the configured facts, the
//! shared state every worker sees alike (operational and administrative
//! state, weight, sessions: [`weir_core::shm`]), this worker's balancer and
//! its queue of sessions waiting for a server slot ([`crate::queue`]).
//!
//! A backend has one [`ServerState`] per shared slot (`server_slots`):
//! the configured servers, then the slots the runtime API fills (`add
//! server`) and frees (`del server`). A server's index is its slot, so it
//! never moves while sessions hold it. At the start of each turn, and at
//! each pick, the worker compares the backend's servers generation with
//! the one it last saw ([`BackendState::refresh`]): one load, no lock; when it
//! moved, the slots whose identity sequence moved are read again (name,
//! address, flags) and the balancer is told.

use crate::balance::{self, Balancer, PickCtx};
use crate::queue::WaitQueue;
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use weir_core::config::model::{self, Balance};
use weir_core::shm::{Identity, ProxyShm, Px, ServerShm};
use weir_core::tls::Connector;

/// One server slot.
pub struct ServerState {
    /// The slot holds a server (a free slot is never picked).
    pub present: bool,
    /// The slot's identity sequence when it was last read: connections
    /// kept for reuse are keyed by it ([`crate::idle::ServerKey`]).
    pub seq: u64,
    pub name: String,
    pub addr: SocketAddr,
    pub backup: bool,
    /// The weight it was configured or added with.
    pub init_weight: u32,
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
    /// Spoken to in HTTP/2: streams share its connections
    /// ([`crate::mux::h2_server`]).
    pub h2: bool,
}

impl ServerState {
    /// Slot `shm`, read now; `configured` is the configuration's server of
    /// this slot, if it has one (its settings apply while the slot holds
    /// that server, not a server added at run time in its place).
    fn read(shm: ServerShm, configured: Option<&model::Server>) -> ServerState {
        let seq = shm.seq();
        let id = shm.identity();
        let from_config = configured.filter(|c| {
            id.as_ref()
                .is_some_and(|id| !id.runtime && id.name == c.name)
        });
        let mut s = ServerState {
            present: false,
            seq,
            name: String::new(),
            addr: ([0, 0, 0, 0], 0).into(),
            backup: false,
            init_weight: 0,
            maxconn: None,
            shm,
            tls: None,
            tls_warned: Cell::new(None),
            send_proxy: None,
            h2: false,
        };
        if let Some(c) = from_config {
            s.maxconn = c.maxconn;
            s.tls = c
                .tls
                .as_ref()
                .map(|t| Connector::from_server(t).map(Arc::new));
            s.send_proxy = c.send_proxy;
            s.h2 = c.h2;
        }
        if let Some(Identity {
            name,
            addr,
            backup,
            init_weight,
            ..
        }) = id
        {
            s.present = true;
            s.name = name;
            s.addr = addr;
            s.backup = backup;
            s.init_weight = init_weight;
        }
        s
    }

    /// Whether new traffic may go to it (it exists, UP, READY, weight
    /// above 0).
    pub fn usable(&self) -> bool {
        self.present && self.shm.usable()
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
            present: true,
            seq: 0,
            name: name.to_string(),
            addr: ([127, 0, 0, 1], 1).into(),
            backup: false,
            init_weight: weight,
            maxconn: None,
            shm: ServerShm::detached(weight),
            tls: None,
            tls_warned: Cell::new(None),
            send_proxy: None,
            h2: false,
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
    /// The configured servers (the first slots).
    configured: Vec<model::Server>,
    /// The servers generation last seen ([`Px::ServersGen`]).
    gen: u64,
}

impl BackendState {
    pub fn new(b: &model::Backend, shm: ProxyShm, servers: &[ServerShm]) -> BackendState {
        // The generation before the slots: a change after this read is
        // seen at the next refresh.
        let gen = shm.get_acquire(Px::ServersGen);
        let servers: Vec<ServerState> = servers
            .iter()
            .enumerate()
            .map(|(i, shm)| ServerState::read(*shm, b.servers.get(i)))
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
            configured: b.servers.clone(),
            gen,
        }
    }

    /// Rereads the slots the runtime API changed since the last look
    /// (added, deleted, address set), if the backend's servers generation
    /// moved; the balancer then rebuilds what it derived from the servers.
    /// Returns whether anything changed.
    pub fn refresh(&mut self) -> bool {
        let gen = self.shm.get_acquire(Px::ServersGen);
        if gen == self.gen {
            return false;
        }
        self.gen = gen;
        let mut changed = false;
        for (i, s) in self.servers.iter_mut().enumerate() {
            if s.shm.seq() == s.seq {
                continue;
            }
            *s = ServerState::read(s.shm, self.configured.get(i));
            changed = true;
        }
        if changed {
            self.balancer.servers_changed(&self.servers);
        }
        changed
    }

    /// Picks a server for a new connection attempt, avoiding `avoid` (the
    /// server that just failed) when another one can take it.
    pub fn pick(&mut self, req: &PickCtx, avoid: Option<usize>) -> Pick {
        // A change since the turn started (one load when nothing moved).
        self.refresh();
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

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::config::load_str;
    use weir_core::shm::{SharedState, Srv, ADMIN_MAINT, ADMIN_READY};

    /// Backend `b` balanced by `balance`, two configured servers, four
    /// slots; the shared state the control process would write to.
    fn backend(balance: &str) -> (BackendState, SharedState) {
        let text = format!(
            "[defaults]\nmode = \"http\"\n[frontend.f]\nbind = \"127.0.0.1:1\"\n\
             default_backend = \"b\"\n[backend.b]\nbalance = \"{balance}\"\nserver_slots = 4\n\
             server = [{{ name = \"s0\", address = \"127.0.0.1:2\" }}, \
             {{ name = \"s1\", address = \"127.0.0.1:3\" }}]\n"
        );
        let config = match load_str("t.toml", &text) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        };
        let shared = SharedState::private(&config);
        let be = BackendState::new(&config.backends[0], shared.backends[0], &shared.servers[0]);
        (be, shared)
    }

    /// `add server b/NAME 127.0.0.1:PORT` then `enable server b/NAME`:
    /// the slot it took.
    fn add(shared: &SharedState, name: &str, port: u16) -> usize {
        let id = Identity {
            name: name.into(),
            addr: ([127, 0, 0, 1], port).into(),
            backup: false,
            check: false,
            runtime: true,
            init_weight: 1,
        };
        let slot = shared
            .add_server(0, &id)
            .unwrap_or_else(|| panic!("a free slot"));
        shared.servers[0][slot].set(Srv::Admin, ADMIN_READY);
        slot
    }

    /// `disable server b/NAME` then `del server b/NAME`.
    fn del(shared: &SharedState, slot: usize) {
        shared.servers[0][slot].set(Srv::Admin, ADMIN_MAINT);
        shared.del_server(0, slot);
    }

    /// Which slots 200 picks reach (URIs and sources varied for the
    /// hashing algorithms).
    fn reached(be: &mut BackendState) -> Vec<usize> {
        let mut seen = vec![0; be.servers.len()];
        for i in 0..200u32 {
            let uri = format!("/object/{i}");
            let req = PickCtx {
                src: Some(std::net::IpAddr::from(i.to_be_bytes())),
                uri: Some(uri.as_bytes()),
                header: Some(uri.as_bytes()),
            };
            if let Pick::Server(k) = be.pick(&req, None) {
                seen[k] += 1;
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn every_algorithm_takes_added_servers_and_drops_deleted_ones() {
        for balance in [
            "roundrobin",
            "static-rr",
            "leastconn",
            "first",
            "random",
            "source",
            "uri",
            "hdr(x-key)",
        ] {
            let (mut be, shared) = backend(balance);
            let first = balance == "first";
            assert!(!be.refresh(), "{balance}: nothing moved yet");
            assert_eq!(reached(&mut be), if first { vec![0] } else { vec![0, 1] });
            let k = add(&shared, "added", 9);
            assert_eq!(k, 2, "the first free slot");
            assert!(be.refresh(), "{balance}: the generation moved");
            assert_eq!(
                (be.servers[k].name.as_str(), be.servers[k].addr.port()),
                ("added", 9)
            );
            if first {
                // `first` fills servers in slot order: take the others out.
                shared.servers[0][0].set(Srv::Admin, ADMIN_MAINT);
                shared.servers[0][1].set(Srv::Admin, ADMIN_MAINT);
                assert_eq!(reached(&mut be), vec![k], "{balance}");
                shared.servers[0][0].set(Srv::Admin, ADMIN_READY);
            } else {
                assert_eq!(reached(&mut be), vec![0, 1, k], "{balance}");
            }
            del(&shared, k);
            del(&shared, 1);
            assert!(be.refresh());
            assert!(!be.servers[k].present && !be.servers[1].present);
            assert_eq!(
                reached(&mut be),
                vec![0],
                "{balance}: deleted servers get nothing"
            );
        }
    }

    #[test]
    fn a_moved_server_gets_a_new_sequence() {
        let (mut be, shared) = backend("roundrobin");
        let seq = be.servers[0].seq;
        let addr = ([127, 0, 0, 2], 80).into();
        assert_eq!(
            shared.set_server_addr(0, 0, addr),
            Some(([127, 0, 0, 1], 2).into())
        );
        assert!(be.refresh());
        assert_eq!(be.servers[0].addr, addr);
        assert_ne!(
            be.servers[0].seq, seq,
            "connections kept for the old address are not reused"
        );
        assert_eq!(be.servers[0].name, "s0");
    }
}
