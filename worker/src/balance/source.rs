//! `balance = "source"`: a hash of the client's address, over the eligible
//! servers' weights (`hash % total weight`, walking the cumulative
//! weights). The same address goes to the same server for as long as the
//! set of eligible servers stays the same; when it changes (a server goes
//! down, comes back or is full), addresses are spread anew (HAProxy's
//! map-based hashing). Without an address, round-robin.

use super::hash::{hash, weighted};
use super::roundrobin::Smooth;
use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;
use std::net::IpAddr;

#[derive(Default)]
pub struct Source {
    fallback: Smooth,
    list: Vec<usize>,
}

/// The address's bytes; an IPv4-mapped IPv6 address hashes as its IPv4.
fn key(ip: IpAddr) -> u64 {
    match ip.to_canonical() {
        IpAddr::V4(a) => hash(&a.octets()),
        IpAddr::V6(a) => hash(&a.octets()),
    }
}

impl Balancer for Source {
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let weight = |i: usize| servers[i].weight();
        match req.src {
            Some(ip) => weighted(&self.list, weight, key(ip)),
            None => self.fallback.next(servers.len(), &self.list, weight),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    fn ctx(i: u32) -> IpAddr {
        IpAddr::from((0x0a00_0000 + i).to_be_bytes())
    }

    #[test]
    fn sticky_and_weighted() {
        let s = servers(&[1, 3]);
        let mut b = Source::default();
        let mut counts = [0usize; 2];
        for i in 0..4000 {
            let req = PickCtx {
                src: Some(ctx(i)),
                ..PickCtx::default()
            };
            let first = b.pick(&s, &req, None).unwrap();
            assert_eq!(b.pick(&s, &req, None), Some(first), "sticky");
            counts[first] += 1;
        }
        assert!((850..=1150).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn mapped_v4_is_v4() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let v6: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(key(v4), key(v6));
    }

    #[test]
    fn fallbacks_avoid_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut b = Source::default();
        let none = PickCtx::default();
        let picks: Vec<_> = (0..4).map(|_| b.pick(&s, &none, None).unwrap()).collect();
        assert_eq!(picks, [0, 1, 0, 1], "round-robin without an address");
        let req = PickCtx {
            src: Some(ctx(1)),
            ..PickCtx::default()
        };
        let home = b.pick(&s, &req, None).unwrap();
        assert_eq!(b.pick(&s, &req, Some(home)), Some(1 - home));
        s[0].set_maint(true);
        s[1].set_maint(true);
        assert_eq!(b.pick(&s, &req, None), Some(2));
    }
}
