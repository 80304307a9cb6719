//! `balance = "source"`: HAProxy's source hashing — the client address's
//! 32-bit words XORed ([`super::hash::addr_words`]), placed by the
//! backend's `hash_type` — so that one client goes to one server, the one
//! HAProxy would choose, for as long as the servers stay the same. Without
//! an address, round-robin.

use super::hash::addr_words;
use super::keyed::Hashed;
use super::{Balancer, PickCtx};
use crate::backend::ServerState;
use weir_core::config::model;

pub struct Source {
    hashed: Hashed,
}

impl Source {
    pub fn new(b: &model::Backend) -> Source {
        Source {
            hashed: Hashed::new(b),
        }
    }
}

impl Balancer for Source {
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        self.hashed.pick(servers, req.src.map(addr_words), avoid)
    }

    fn servers_changed(&mut self, servers: &[ServerState]) {
        self.hashed.servers_changed(servers);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{backend, servers};
    use super::*;
    use std::net::IpAddr;
    use weir_core::config::model::HashType;

    fn ctx(i: u32) -> IpAddr {
        IpAddr::from((0x0a00_0000 + i).to_be_bytes())
    }

    #[test]
    fn sticky_and_weighted() {
        let s = servers(&[1, 3]);
        let mut b = Source::new(&backend(&[1, 3], HashType::MapBased));
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
    fn map_based_is_the_address_modulo_the_weights() {
        // 10.0.0.i with 3 equal servers: slot (0x0a000000 + i) % 3.
        let s = servers(&[1, 1, 1]);
        let mut b = Source::new(&backend(&[1, 1, 1], HashType::MapBased));
        for i in 0..10u32 {
            let req = PickCtx {
                src: Some(ctx(i)),
                ..PickCtx::default()
            };
            let want = ((0x0a00_0000 + i) % 3) as usize;
            assert_eq!(b.pick(&s, &req, None), Some(want));
        }
    }

    #[test]
    fn fallbacks_avoid_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[2].backup = true;
        let mut b = Source::new(&backend(&[1, 1, 1], HashType::MapBased));
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
