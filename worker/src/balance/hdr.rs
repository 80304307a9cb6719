//! `balance = "hdr(NAME)"`: HAProxy's header hashing — sdbm of the
//! header's first value ([`super::keyed::header_key`]), placed by the
//! backend's `hash_type` — so that requests with the same value (a `Host`,
//! a tenant id) go to the same server, the one HAProxy would choose. When
//! the request lacks the header or its value is empty, and in TCP mode,
//! round-robin.

use super::keyed::{header_key, Hashed};
use super::{Balancer, PickCtx};
use crate::backend::ServerState;
use weir_core::config::model;

pub struct Hdr {
    hashed: Hashed,
}

impl Hdr {
    pub fn new(b: &model::Backend) -> Hdr {
        Hdr {
            hashed: Hashed::new(b),
        }
    }
}

impl Balancer for Hdr {
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        self.hashed.pick(servers, header_key(req), avoid)
    }

    fn servers_changed(&mut self, servers: &[ServerState]) {
        self.hashed.servers_changed(servers);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{backend, servers};
    use super::*;
    use weir_core::config::model::HashType;

    fn with(v: &[u8]) -> PickCtx<'_> {
        PickCtx {
            header: Some(v),
            ..PickCtx::default()
        }
    }

    #[test]
    fn sticky_per_value_and_weighted() {
        let s = servers(&[2, 1, 1]);
        let mut b = Hdr::new(&backend(&[2, 1, 1], HashType::MapBased));
        let mut counts = [0usize; 3];
        for i in 0..4000 {
            let v = format!("tenant-{i}");
            let first = b.pick(&s, &with(v.as_bytes()), None).unwrap();
            assert_eq!(b.pick(&s, &with(v.as_bytes()), None), Some(first));
            counts[first] += 1;
        }
        assert!((1700..=2300).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn first_value_only() {
        let s = servers(&[1, 1, 1, 1, 1]);
        let mut b = Hdr::new(&backend(&[1, 1, 1, 1, 1], HashType::MapBased));
        for v in ["a", "bb", "tenant-7"] {
            let alone = b.pick(&s, &with(v.as_bytes()), None);
            let listed = format!(" {v} , other, more");
            assert_eq!(b.pick(&s, &with(listed.as_bytes()), None), alone, "{v}");
        }
    }

    #[test]
    fn missing_or_empty_header_round_robin_and_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut b = Hdr::new(&backend(&[1, 1, 1], HashType::MapBased));
        let picks: Vec<_> = (0..4)
            .map(|_| b.pick(&s, &PickCtx::default(), None).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        assert!(b.pick(&s, &with(b" , x"), None).is_some());
        s[0].set_maint(true);
        s[1].set_maint(true);
        assert_eq!(b.pick(&s, &with(b"x"), Some(2)), Some(2));
    }
}
