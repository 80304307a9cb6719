//! Weighted round-robin, smooth: nginx's algorithm. Every pick adds each
//! eligible server's weight to its running score, takes the highest score
//! and subtracts the total weight from it. Weights 3:1 give a, a, b, a
//! rather than a, a, a, b, and a weight change applies from the next pick.

use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;

/// The smooth weighted round-robin state, shared with `static-rr` and the
/// hashing algorithms' fallback.
#[derive(Default)]
pub struct Smooth {
    score: Vec<i64>,
}

impl Smooth {
    /// The next of `list` (server indices below `n`) by `weight(i)`.
    pub fn next(
        &mut self,
        n: usize,
        list: &[usize],
        weight: impl Fn(usize) -> u32,
    ) -> Option<usize> {
        self.score.resize(n, 0);
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for &i in list {
            let w = i64::from(weight(i));
            self.score[i] += w;
            total += w;
            if best.is_none_or(|b| self.score[i] > self.score[b]) {
                best = Some(i);
            }
        }
        let chosen = best?;
        self.score[chosen] -= total;
        Some(chosen)
    }
}

/// `balance = "roundrobin"`: smooth weighted round-robin on the live
/// weights.
#[derive(Default)]
pub struct RoundRobin {
    smooth: Smooth,
    list: Vec<usize>,
}

impl Balancer for RoundRobin {
    fn pick(
        &mut self,
        servers: &[ServerState],
        _req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        self.smooth
            .next(servers.len(), &self.list, |i| servers[i].weight())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    #[test]
    fn weights_three_to_one() {
        let s = servers(&[3, 1]);
        let mut rr = RoundRobin::default();
        let picks: Vec<_> = (0..8)
            .map(|_| rr.pick(&s, &PickCtx::default(), None).unwrap())
            .collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 6);
        assert_eq!(picks[..4], [0, 0, 1, 0]);
    }

    #[test]
    fn live_weight_change_applies() {
        let s = servers(&[1, 1]);
        let mut rr = RoundRobin::default();
        s[0].shm.set(weir_core::shm::Srv::Weight, 4);
        let n0 = (0..50)
            .filter(|_| rr.pick(&s, &PickCtx::default(), None) == Some(0))
            .count();
        assert_eq!(n0, 40);
    }

    #[test]
    fn avoid_and_maintenance() {
        let s = servers(&[1, 1, 1]);
        let mut rr = RoundRobin::default();
        for _ in 0..6 {
            assert_ne!(rr.pick(&s, &PickCtx::default(), Some(1)), Some(1));
        }
        s[0].set_maint(true);
        s[2].set_maint(true);
        assert_eq!(rr.pick(&s, &PickCtx::default(), Some(1)), Some(1));
        s[1].set_maint(true);
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), None);
    }

    #[test]
    fn full_servers_are_skipped() {
        let mut s = servers(&[1, 1]);
        s[0].maxconn = Some(2);
        s[0].shm.enter(0);
        s[0].shm.enter(0);
        let mut rr = RoundRobin::default();
        for _ in 0..4 {
            assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(1));
        }
        s[1].maxconn = Some(1);
        s[1].shm.enter(0);
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), None);
        s[0].shm.leave(0);
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(0));
    }

    #[test]
    fn backup_only_when_no_active() {
        let mut s = servers(&[1, 1]);
        s[1].backup = true;
        let mut rr = RoundRobin::default();
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(0));
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(0));
        s[0].set_maint(true);
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(1));
        s[0].set_maint(false);
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(0));
    }
}
