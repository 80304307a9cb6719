//! The hash functions of the hashing algorithms, HAProxy 2.6's exactly
//! (`src/hash.c`, `include/haproxy/intops.h`, `get_server_sh()` in
//! `src/backend.c`), so that a key lands on the server HAProxy would pick:
//! - [`sdbm`]: the default hash function of `hash-type`, for `uri` and
//!   `hdr(NAME)`;
//! - [`addr_words`]: what `balance source` hashes, the client address's
//!   32-bit words XORed (no hash function);
//! - [`full_hash`]: Bob Jenkins' 32-bit integer avalanche, which HAProxy
//!   applies to keys with `hash-type consistent` and uses to place the
//!   servers' points on the consistent-hashing ring.
//!
//! Also [`mix`], a 64-bit finaliser for `random`'s generator.

use std::net::IpAddr;

/// sdbm over `bytes` (HAProxy's `hash_sdbm`).
pub fn sdbm(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

/// Bob Jenkins' full-avalanche 32-bit integer hash, times 3221225473
/// (HAProxy's `full_hash`).
pub fn full_hash(mut a: u32) -> u32 {
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    // HAProxy spreads the values over the ring with a large prime close to
    // 3/4 of it (an odd factor: still a bijection).
    a.wrapping_mul(3_221_225_473)
}

/// The address as `balance source` hashes it: its big-endian 32-bit words
/// XORed together (an IPv4 address is its own value). An IPv4-mapped IPv6
/// address hashes as the IPv6 address it is, as in HAProxy (which sees the
/// same socket address).
pub fn addr_words(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => a
            .octets()
            .chunks_exact(4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
            .fold(0, |h, w| h ^ w),
    }
}

/// A 64-bit finaliser (MurmurHash3's fmix64).
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdbm_known_values() {
        assert_eq!(sdbm(b""), 0);
        assert_eq!(sdbm(b"a"), 97);
        // 98 + 97<<6 + 97<<16 - 97
        assert_eq!(sdbm(b"ab"), 98 + (97 << 6) + (97 << 16) - 97);
        // Wrapping arithmetic, as C's unsigned int.
        let long = sdbm(b"/a/rather/long/path/that/overflows/32/bits");
        assert_ne!(long, 0);
    }

    #[test]
    fn full_hash_is_a_bijection_on_a_sample() {
        let mut seen: Vec<u32> = (0..100_000u32).map(full_hash).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 100_000);
        assert_ne!(full_hash(0), 0);
    }

    #[test]
    fn source_words() {
        let v4: IpAddr = "127.0.0.7".parse().unwrap();
        assert_eq!(addr_words(v4), 0x7f00_0007);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(addr_words(v6), 0x2001_0db8 ^ 1);
    }
}
