//! HAProxy's map-based hashing (`hash-type map-based`, its default;
//! `src/lb_map.c`): the usable servers of the serving tier (the active
//! ones, or the backups when none is usable) are laid out in a map of
//! `total effective weight` slots, and a key goes to slot `key % total`.
//!
//! A server's effective weight is its weight divided by the greatest
//! common divisor of the configured weights, rounded up (HAProxy's
//! `next_eweight` with `wdiv` 1 and `wmult` the GCD). The map is filled as
//! `recalc_server_map()` fills it: for each slot, every server adds its
//! effective weight to its score, the first server with the highest
//! `(score + total) / total` takes the slot and gives `total` back; so the
//! same servers with the same weights give HAProxy's map exactly.
//!
//! The map is rebuilt when a server enters or leaves the tier or changes
//! weight: then keys are spread anew (what map-based hashing trades for its
//! evenness; `hash_type = "consistent"` moves fewer, see [`super::chash`]).

use super::candidates;
use crate::backend::ServerState;

pub struct ServerMap {
    /// The divisor of every weight (GCD of the configured weights).
    gcd: u32,
    /// Effective weight of each server in the tier the map was built for
    /// (0: not in it), to know when to rebuild.
    built_for: Vec<u32>,
    now: Vec<u32>,
    /// Server index of each slot.
    slots: Vec<usize>,
}

/// Greatest common divisor of the non-zero `weights` (1 if none).
fn gcd_of(weights: &[u32]) -> u32 {
    let gcd = |mut a: u32, mut b: u32| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    weights
        .iter()
        .copied()
        .filter(|&w| w > 0)
        .reduce(gcd)
        .unwrap_or(1)
}

impl ServerMap {
    /// A map for servers configured with these weights.
    pub fn new(configured: &[u32]) -> ServerMap {
        ServerMap {
            gcd: gcd_of(configured).max(1),
            built_for: Vec::new(),
            now: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// The server whose slot `key` falls in, as things stand.
    pub fn lookup(&mut self, servers: &[ServerState], key: u32) -> Option<(usize, &[usize])> {
        self.refresh(servers);
        let total = u32::try_from(self.slots.len()).ok()?;
        if total == 0 {
            return None;
        }
        let at = (key % total) as usize;
        Some((at, &self.slots))
    }

    /// Rebuilds the map when the tier or a weight changed.
    fn refresh(&mut self, servers: &[ServerState]) {
        self.now.clear();
        self.now.resize(servers.len(), 0);
        for i in candidates(servers) {
            self.now[i] = servers[i].weight().div_ceil(self.gcd);
        }
        if self.now != self.built_for || self.slots.is_empty() {
            std::mem::swap(&mut self.now, &mut self.built_for);
            self.slots = fill(&self.built_for);
        }
    }
}

/// HAProxy's `recalc_server_map()` over effective weights (0: out).
fn fill(eweights: &[u32]) -> Vec<usize> {
    let total: i64 = eweights.iter().map(|&w| i64::from(w)).sum();
    let Ok(len) = usize::try_from(total) else {
        return Vec::new();
    };
    let mut score = vec![0i64; eweights.len()];
    let mut slots = Vec::with_capacity(len);
    for _ in 0..len {
        let mut best: Option<(usize, i64)> = None;
        for (i, &w) in eweights.iter().enumerate() {
            if w == 0 {
                continue;
            }
            if total == 1 {
                best = Some((i, 0));
                break;
            }
            score[i] += i64::from(w);
            // Truncating division, as C's on these (non-negative) values.
            let v = (score[i] + total) / total;
            if best.is_none_or(|(_, max)| v > max) {
                best = Some((i, v));
            }
        }
        let Some((i, _)) = best else { break };
        slots.push(i);
        score[i] -= total;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    #[test]
    fn fill_spreads_by_weight_in_declaration_order() {
        assert_eq!(fill(&[1, 1]), [0, 1]);
        assert_eq!(fill(&[3, 1]), [0, 0, 0, 1]);
        assert_eq!(fill(&[1, 0, 2]), [0, 2, 2]);
        assert_eq!(fill(&[1]), [0]);
        assert!(fill(&[0, 0]).is_empty());
        let map = fill(&[2, 3, 5]);
        let count = |s| map.iter().filter(|&&x| x == s).count();
        assert_eq!((count(0), count(1), count(2)), (2, 3, 5));
    }

    #[test]
    fn weights_are_divided_by_their_gcd() {
        let s = servers(&[10, 20, 30]);
        let mut m = ServerMap::new(&[10, 20, 30]);
        let (_, slots) = m.lookup(&s, 0).unwrap();
        assert_eq!(slots.len(), 6);
        assert_eq!(gcd_of(&[4, 6, 0]), 2);
        assert_eq!(gcd_of(&[]), 1);
    }

    #[test]
    fn rebuilt_when_a_server_leaves() {
        let s = servers(&[1, 1, 1]);
        let mut m = ServerMap::new(&[1, 1, 1]);
        assert_eq!(m.lookup(&s, 4).map(|(at, sl)| sl[at]), Some(1));
        s[1].set_maint(true);
        let (at, slots) = m.lookup(&s, 4).unwrap();
        assert_eq!(slots, [0, 2]);
        assert_eq!(slots[at], 0);
    }
}
