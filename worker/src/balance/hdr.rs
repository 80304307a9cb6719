//! `balance = "hdr(NAME)"`: a hash of the request header's value (its
//! first occurrence) over the eligible servers' weights, so that requests
//! with the same value (a `Host`, a tenant id) go to the same server.
//! When the request lacks the header, and in TCP mode, round-robin.

use super::hash::{hash, weighted};
use super::roundrobin::Smooth;
use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;

#[derive(Default)]
pub struct Hdr {
    fallback: Smooth,
    list: Vec<usize>,
}

impl Balancer for Hdr {
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let weight = |i: usize| servers[i].weight();
        match req.header {
            Some(v) => weighted(&self.list, weight, hash(v)),
            None => self.fallback.next(servers.len(), &self.list, weight),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    fn with(v: &[u8]) -> PickCtx<'_> {
        PickCtx {
            header: Some(v),
            ..PickCtx::default()
        }
    }

    #[test]
    fn sticky_per_value_and_weighted() {
        let s = servers(&[2, 1, 1]);
        let mut b = Hdr::default();
        let mut counts = [0usize; 3];
        for i in 0..4000 {
            let v = format!("tenant-{i}");
            let first = b.pick(&s, &with(v.as_bytes()), None).unwrap();
            assert_eq!(b.pick(&s, &with(v.as_bytes()), None), Some(first));
            counts[first] += 1;
        }
        assert!((1800..=2200).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn missing_header_round_robin_and_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut b = Hdr::default();
        let picks: Vec<_> = (0..4)
            .map(|_| b.pick(&s, &PickCtx::default(), None).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        s[0].set_maint(true);
        s[1].set_maint(true);
        assert_eq!(b.pick(&s, &with(b"x"), Some(2)), Some(2));
    }
}
