//! What the hashing algorithms share: a fast, well-distributed 64-bit hash
//! (FNV-1a followed by a multiply-xorshift finaliser, so that nearby inputs
//! such as consecutive addresses land far apart) and the weighted choice.

/// Hashes `bytes`.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// A 64-bit finaliser (MurmurHash3's fmix64).
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Chooses one of `list` in proportion to `weight(i)`: `point` modulo the
/// total weight, walking the cumulative weights. `None` for an empty list
/// or a total of 0.
pub fn weighted(list: &[usize], weight: impl Fn(usize) -> u32, point: u64) -> Option<usize> {
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

#[cfg(test)]
mod tests {
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
    fn hash_spreads_consecutive_inputs() {
        let mut buckets = [0usize; 4];
        for i in 0u32..4000 {
            buckets[(hash(&i.to_be_bytes()) % 4) as usize] += 1;
        }
        for b in buckets {
            assert!((850..=1150).contains(&b), "{buckets:?}");
        }
    }
}
