//! `balance = "static-rr"`: smooth weighted round-robin on the weights as
//! configured, read once when the backend is built. A weight changed at run
//! time does not change the shares (HAProxy's static-rr); a weight of 0
//! still takes the server out, because it is then not usable. Servers
//! added at run time take the weight they were added with.

use super::roundrobin::Smooth;
use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;

pub struct StaticRr {
    weights: Vec<u32>,
    smooth: Smooth,
    list: Vec<usize>,
}

impl StaticRr {
    /// Reads the servers' weights now, once.
    pub fn new(servers: &[ServerState]) -> StaticRr {
        StaticRr {
            weights: servers.iter().map(ServerState::weight).collect(),
            smooth: Smooth::default(),
            list: Vec::new(),
        }
    }
}

impl Balancer for StaticRr {
    fn pick(
        &mut self,
        servers: &[ServerState],
        _req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let weights = &self.weights;
        self.smooth.next(servers.len(), &self.list, |i| {
            weights.get(i).copied().unwrap_or(1).max(1)
        })
    }

    /// A server added takes the weight it was added with; a freed slot's
    /// weight no longer matters (it is never eligible).
    fn servers_changed(&mut self, servers: &[ServerState]) {
        self.weights = servers.iter().map(|s| s.init_weight).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{servers, tally};
    use super::*;
    use weir_core::shm::Srv;

    #[test]
    fn weights_read_once() {
        let s = servers(&[3, 1]);
        let mut b = StaticRr::new(&s);
        let t = tally(2, (0..40).map(|_| b.pick(&s, &PickCtx::default(), None)));
        assert_eq!(t, [30, 10]);
        // A live change does not move the shares.
        s[1].shm.set(Srv::Weight, 100);
        let t = tally(2, (0..40).map(|_| b.pick(&s, &PickCtx::default(), None)));
        assert_eq!(t, [30, 10]);
    }

    #[test]
    fn avoid_maint_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut b = StaticRr::new(&s);
        for _ in 0..4 {
            assert_eq!(b.pick(&s, &PickCtx::default(), Some(1)), Some(0));
        }
        s[0].set_maint(true);
        s[1].set_maint(true);
        assert_eq!(b.pick(&s, &PickCtx::default(), None), Some(2));
    }
}
