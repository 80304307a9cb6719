//! `balance = "uri"`: HAProxy's URI hashing — sdbm of the request target
//! up to its `?` ([`super::keyed::uri_key`]), placed by the backend's
//! `hash_type` — so that a cache behind weir sees each object on one
//! server, the server HAProxy would choose. Without a URI (TCP mode),
//! round-robin.

use super::keyed::{uri_key, Hashed};
use super::{Balancer, PickCtx};
use crate::backend::ServerState;
use weir_core::config::model;

pub struct Uri {
    hashed: Hashed,
}

impl Uri {
    pub fn new(b: &model::Backend) -> Uri {
        Uri {
            hashed: Hashed::new(b),
        }
    }
}

impl Balancer for Uri {
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        self.hashed.pick(servers, uri_key(req), avoid)
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

    fn on(uri: &[u8]) -> PickCtx<'_> {
        PickCtx {
            uri: Some(uri),
            ..PickCtx::default()
        }
    }

    #[test]
    fn sticky_per_path_and_spread() {
        let s = servers(&[1, 1, 1, 1]);
        let mut b = Uri::new(&backend(&[1, 1, 1, 1], HashType::MapBased));
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let path = format!("/obj/{i}");
            let first = b.pick(&s, &on(path.as_bytes()), None).unwrap();
            let with_query = format!("{path}?v={i}");
            assert_eq!(b.pick(&s, &on(with_query.as_bytes()), None), Some(first));
            counts[first] += 1;
        }
        for c in counts {
            assert!((800..=1200).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn map_based_is_sdbm_modulo_the_weights() {
        // Weights 1 and 3: the map is [s0, s1, s1, s1], slot sdbm % 4.
        let s = servers(&[1, 3]);
        let mut b = Uri::new(&backend(&[1, 3], HashType::MapBased));
        for path in ["/a", "/b", "/index.html", "/x/y/z"] {
            let h = super::super::hash::sdbm(path.as_bytes());
            let want = [0, 1, 1, 1][(h % 4) as usize];
            assert_eq!(b.pick(&s, &on(path.as_bytes()), None), Some(want), "{path}");
        }
    }

    #[test]
    fn fallbacks_avoid_full() {
        let mut s = servers(&[1, 1]);
        let mut b = Uri::new(&backend(&[1, 1], HashType::Consistent));
        let picks: Vec<_> = (0..4)
            .map(|_| b.pick(&s, &PickCtx::default(), None).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        let home = b.pick(&s, &on(b"/a"), None).unwrap();
        assert_eq!(b.pick(&s, &on(b"/a"), Some(home)), Some(1 - home));
        s[home].maxconn = Some(1);
        s[home].shm.enter(0);
        assert_eq!(b.pick(&s, &on(b"/a"), None), Some(1 - home));
    }
}
