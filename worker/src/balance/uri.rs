//! `balance = "uri"`: a hash of the request's path — the part of the URI
//! before `?`, as HAProxy's default — over the eligible servers' weights,
//! so that a cache behind weir sees each object on one server. Without a
//! URI (TCP mode), round-robin.

use super::hash::{hash, weighted};
use super::roundrobin::Smooth;
use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;

#[derive(Default)]
pub struct Uri {
    fallback: Smooth,
    list: Vec<usize>,
}

impl Balancer for Uri {
    fn pick(
        &mut self,
        servers: &[ServerState],
        req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let weight = |i: usize| servers[i].weight();
        match req.uri {
            Some(uri) => {
                let path = uri.split(|&b| b == b'?').next().unwrap_or(uri);
                weighted(&self.list, weight, hash(path))
            }
            None => self.fallback.next(servers.len(), &self.list, weight),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    fn on(uri: &[u8]) -> PickCtx<'_> {
        PickCtx {
            uri: Some(uri),
            ..PickCtx::default()
        }
    }

    #[test]
    fn sticky_per_path_and_spread() {
        let s = servers(&[1, 1, 1, 1]);
        let mut b = Uri::default();
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let path = format!("/obj/{i}");
            let first = b.pick(&s, &on(path.as_bytes()), None).unwrap();
            let with_query = format!("{path}?v={i}");
            assert_eq!(b.pick(&s, &on(with_query.as_bytes()), None), Some(first));
            counts[first] += 1;
        }
        for c in counts {
            assert!((850..=1150).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn fallbacks_avoid_full() {
        let mut s = servers(&[1, 1]);
        let mut b = Uri::default();
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
