//! HAProxy's consistent hashing (`hash-type consistent`, `src/lb_chash.c`):
//! each usable server of the serving tier owns `weight × 16` points on a
//! 32-bit ring, point `j` of server number `id` (1-based, declaration
//! order, HAProxy's automatic server ids) at `full_hash(id × 4096 + j)`. A
//! key goes to the server of the point nearest to it, the point before it
//! when the distances tie. A server that leaves takes its points with it,
//! so only the keys that were its own move; one that comes back takes back
//! the same points, hence the same keys. A weight change adds or removes
//! its last points only.

use super::candidates;
use super::hash::full_hash;
use crate::backend::ServerState;

/// HAProxy's scale from user weight to effective weight (`BE_WEIGHT_SCALE`).
const WEIGHT_SCALE: u32 = 16;
/// Points a server may have at most (`SRV_EWGHT_RANGE`: 256 × 16).
const POINTS_RANGE: u32 = 256 * WEIGHT_SCALE;

#[derive(Default)]
pub struct Ring {
    /// Points of each server in the tier the ring was built for (0: out).
    built_for: Vec<u32>,
    now: Vec<u32>,
    /// (point, server index), sorted by point.
    points: Vec<(u32, usize)>,
}

impl Ring {
    /// The position on the ring of the point nearest to `key`, as things
    /// stand, and the ring (to walk on from there).
    pub fn lookup(
        &mut self,
        servers: &[ServerState],
        key: u32,
    ) -> Option<(usize, &[(u32, usize)])> {
        self.refresh(servers);
        let n = self.points.len();
        if n == 0 {
            return None;
        }
        let next = self.points.partition_point(|&(p, _)| p < key) % n;
        let prev = (next + n - 1) % n;
        let after = self.points[next].0.wrapping_sub(key);
        let before = key.wrapping_sub(self.points[prev].0);
        let at = if before <= after { prev } else { next };
        Some((at, &self.points))
    }

    /// Rebuilds the ring when the tier or a weight changed.
    fn refresh(&mut self, servers: &[ServerState]) {
        self.now.clear();
        self.now.resize(servers.len(), 0);
        for i in candidates(servers) {
            self.now[i] = servers[i].weight().saturating_mul(WEIGHT_SCALE);
        }
        if self.now == self.built_for && !self.points.is_empty() {
            return;
        }
        std::mem::swap(&mut self.now, &mut self.built_for);
        self.points.clear();
        for (i, &count) in self.built_for.iter().enumerate() {
            let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for j in 0..count.min(POINTS_RANGE) {
                let point = full_hash(id.wrapping_mul(POINTS_RANGE).wrapping_add(j));
                self.points.push((point, i));
            }
        }
        self.points.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    fn owner(ring: &mut Ring, s: &[ServerState], key: u32) -> usize {
        let (at, points) = ring.lookup(s, key).unwrap();
        points[at].1
    }

    #[test]
    fn points_per_weight_and_nearest() {
        let s = servers(&[1, 2]);
        let mut ring = Ring::default();
        let (_, points) = ring.lookup(&s, 0).unwrap();
        assert_eq!(points.len(), 48);
        assert_eq!(points.iter().filter(|p| p.1 == 1).count(), 32);
        // A key on a point belongs to that point's server.
        let (p, srv) = points[10];
        assert_eq!(owner(&mut ring, &s, p), srv);
    }

    #[test]
    fn only_the_removed_servers_keys_move() {
        let s = servers(&[1, 1, 1, 1]);
        let mut ring = Ring::default();
        let keys: Vec<u32> = (0..2000u32)
            .map(|k| full_hash(k.wrapping_mul(7919)))
            .collect();
        let before: Vec<usize> = keys.iter().map(|&k| owner(&mut ring, &s, k)).collect();
        s[2].set_maint(true);
        let after: Vec<usize> = keys.iter().map(|&k| owner(&mut ring, &s, k)).collect();
        for (b, a) in before.iter().zip(&after) {
            if *b != 2 {
                assert_eq!(a, b, "a key of another server moved");
            } else {
                assert_ne!(*a, 2);
            }
        }
        s[2].set_maint(false);
        let back: Vec<usize> = keys.iter().map(|&k| owner(&mut ring, &s, k)).collect();
        assert_eq!(back, before, "the same keys come back");
    }
}
