//! `balance = "leastconn"`: the eligible server with the fewest sessions
//! for its weight, counted over every worker (shared memory). The load
//! compared is (sessions + 1) / weight, as HAProxy's: with equal weights
//! it is plain "fewest sessions", and among idle servers the heavier one
//! is preferred. Ties go round-robin: the first tied server at or after the
//! one following the last pick.

use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;

#[derive(Default)]
pub struct LeastConn {
    /// Where the search for a tie-break starts: after the last pick.
    next: usize,
    list: Vec<usize>,
}

impl Balancer for LeastConn {
    fn pick(
        &mut self,
        servers: &[ServerState],
        _req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let n = servers.len().max(1);
        let start = self.next % n;
        // (load numerator, weight, distance from `start`) of the best so far.
        let mut best: Option<(usize, u128, u128, usize)> = None;
        for &i in &self.list {
            let sessions = u128::from(servers[i].cur_sess()) + 1;
            let weight = u128::from(servers[i].weight().max(1));
            let dist = (i + n - start) % n;
            let better = match best {
                None => true,
                // sessions/weight < b_sessions/b_weight, without division.
                Some((_, bs, bw, bd)) => {
                    let (l, r) = (sessions * bw, bs * weight);
                    l < r || (l == r && dist < bd)
                }
            };
            if better {
                best = Some((i, sessions, weight, dist));
            }
        }
        let (chosen, ..) = best?;
        self.next = chosen + 1;
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{servers, tally};
    use super::*;

    #[test]
    fn fewest_sessions_wins() {
        let s = servers(&[1, 1, 1]);
        let mut b = LeastConn::default();
        let ctx = PickCtx::default();
        s[0].shm.enter(0);
        s[0].shm.enter(0);
        s[1].shm.enter(0);
        assert_eq!(b.pick(&s, &ctx, None), Some(2));
        s[2].shm.enter(0);
        assert_eq!(b.pick(&s, &ctx, None), Some(1)); // 1 and 2 tie; after 2 comes 0, then 1
        assert_eq!(b.pick(&s, &ctx, Some(1)), Some(2));
    }

    #[test]
    fn ties_round_robin() {
        let s = servers(&[1, 1, 1]);
        let mut b = LeastConn::default();
        let picks: Vec<_> = (0..6)
            .map(|_| b.pick(&s, &PickCtx::default(), None).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn weights_scale_the_load() {
        let s = servers(&[3, 1]);
        let mut b = LeastConn::default();
        // Sessions stay open: the weight-3 server takes three for one.
        let t = tally(
            2,
            (0..8).map(|_| {
                let p = b.pick(&s, &PickCtx::default(), None);
                if let Some(i) = p {
                    s[i].shm.enter(0);
                }
                p
            }),
        );
        assert_eq!(t, [6, 2]);
    }

    #[test]
    fn full_maint_and_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        s[0].maxconn = Some(1);
        s[0].shm.enter(0);
        let mut b = LeastConn::default();
        for _ in 0..3 {
            assert_eq!(b.pick(&s, &PickCtx::default(), None), Some(1));
        }
        s[1].set_maint(true);
        assert_eq!(
            b.pick(&s, &PickCtx::default(), None),
            None,
            "full, no backup"
        );
        s[0].set_maint(true);
        assert_eq!(b.pick(&s, &PickCtx::default(), None), Some(2));
    }
}
