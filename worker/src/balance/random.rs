//! `balance = "random"`: a weighted random server. The generator is a
//! splitmix64 sequence, seeded per backend per worker from the clock, the
//! process id and a counter: fast, no shared state, and good enough to
//! spread load (it is not for secrets). No crate is needed for that.

use super::hash::mix;
use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Random {
    state: u64,
    list: Vec<usize>,
}

impl Random {
    /// A generator seeded differently in every worker and backend.
    pub fn new() -> Random {
        static BUILT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let n = BUILT.fetch_add(1, Ordering::Relaxed);
        Random::seeded(nanos ^ (u64::from(std::process::id()) << 32) ^ mix(n))
    }

    pub fn seeded(seed: u64) -> Random {
        Random {
            state: seed,
            list: Vec::new(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }
}

/// Chooses one of `list` in proportion to `weight(i)`: `point` modulo the
/// total weight, walking the cumulative weights. `None` for an empty list
/// or a total of 0.
fn weighted(list: &[usize], weight: impl Fn(usize) -> u32, point: u64) -> Option<usize> {
    let total: u64 = list.iter().map(|&i| u64::from(weight(i))).sum();
    if total == 0 {
        return None;
    }
    let mut at = point % total;
    for &i in list {
        let w = u64::from(weight(i));
        if at < w {
            return Some(i);
        }
        at -= w;
    }
    list.last().copied()
}

impl Default for Random {
    fn default() -> Random {
        Random::new()
    }
}

impl Balancer for Random {
    fn pick(
        &mut self,
        servers: &[ServerState],
        _req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let point = self.next_u64();
        weighted(&self.list, |i| servers[i].weight(), point)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{servers, tally};
    use super::*;

    #[test]
    fn weighted_walks_cumulative_weights() {
        let w = |i: usize| [1u32, 3, 0, 2][i];
        let list = [0, 1, 2, 3];
        let got: Vec<_> = (0..6).map(|p| weighted(&list, w, p).unwrap()).collect();
        assert_eq!(got, [0, 1, 1, 1, 3, 3]);
        assert_eq!(weighted(&[], w, 3), None);
        assert_eq!(weighted(&[2], w, 3), None);
    }

    #[test]
    fn weighted_distribution() {
        let s = servers(&[1, 3]);
        let mut b = Random::seeded(42);
        let t = tally(2, (0..8000).map(|_| b.pick(&s, &PickCtx::default(), None)));
        assert!((1800..=2200).contains(&t[0]), "{t:?}");
        assert_eq!(t[0] + t[1], 8000);
    }

    #[test]
    fn avoid_full_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut b = Random::new();
        for _ in 0..50 {
            assert_eq!(b.pick(&s, &PickCtx::default(), Some(0)), Some(1));
        }
        s[1].maxconn = Some(1);
        s[1].shm.enter(0);
        for _ in 0..50 {
            assert_eq!(b.pick(&s, &PickCtx::default(), Some(0)), Some(0));
        }
        s[0].set_maint(true);
        s[1].set_maint(true);
        assert_eq!(b.pick(&s, &PickCtx::default(), None), Some(2));
    }
}
