//! Weighted round-robin, smooth: nginx's algorithm. Every pick adds each
//! candidate's weight to its running score, takes the highest score and
//! subtracts the total weight from it. Weights 3:1 give a, a, b, a rather
//! than a, a, a, b, and a weight change applies from the next pick.

use super::{candidates, Balancer, PickCtx};
use crate::backend::ServerState;

#[derive(Default)]
pub struct RoundRobin {
    score: Vec<i64>,
}

impl Balancer for RoundRobin {
    fn pick(
        &mut self,
        servers: &[ServerState],
        _req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        self.score.resize(servers.len(), 0);
        let mut alone = candidates(servers);
        let first = alone.next()?;
        let only_one = alone.next().is_none();
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for i in candidates(servers) {
            if Some(i) == avoid && !only_one {
                continue;
            }
            let w = i64::from(servers[i].weight());
            self.score[i] += w;
            total += w;
            if best.is_none_or(|b| self.score[i] > self.score[b]) {
                best = Some(i);
            }
        }
        let chosen = best.unwrap_or(first);
        self.score[chosen] -= total;
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(weights: &[u32]) -> Vec<ServerState> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| ServerState::for_test(&format!("s{i}"), w))
            .collect()
    }

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
    fn backup_only_when_no_active() {
        let mut s = servers(&[1, 1]);
        s[1].backup = true;
        let mut rr = RoundRobin::default();
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(0));
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(0));
        s[0].set_maint(true);
        assert_eq!(rr.pick(&s, &PickCtx::default(), None), Some(1));
    }
}
