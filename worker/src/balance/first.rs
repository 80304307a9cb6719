//! `balance = "first"`: the first eligible server in declaration order.
//! With `maxconn` on the servers, the first one fills up before the next
//! one takes anything (HAProxy's way to use as few servers as possible);
//! without, the first usable server takes everything.

use super::{eligible, Balancer, PickCtx};
use crate::backend::ServerState;

#[derive(Default)]
pub struct First {
    list: Vec<usize>,
}

impl Balancer for First {
    fn pick(
        &mut self,
        servers: &[ServerState],
        _req: &PickCtx,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        self.list.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::servers;
    use super::*;

    #[test]
    fn fills_in_order() {
        let mut s = servers(&[1, 1, 1]);
        let ctx = PickCtx::default();
        let mut first = First::default();
        assert_eq!(first.pick(&s, &ctx, None), Some(0));
        for srv in &mut s {
            srv.maxconn = Some(2);
        }
        let mut got = Vec::new();
        for _ in 0..6 {
            let i = first.pick(&s, &ctx, None).unwrap();
            s[i].shm.enter(0);
            got.push(i);
        }
        assert_eq!(got, [0, 0, 1, 1, 2, 2]);
        assert_eq!(first.pick(&s, &ctx, None), None);
        s[1].shm.leave(0);
        assert_eq!(first.pick(&s, &ctx, None), Some(1));
    }

    #[test]
    fn avoid_maint_backup() {
        let mut s = servers(&[1, 1, 1]);
        s[0].backup = true;
        let ctx = PickCtx::default();
        let mut first = First::default();
        assert_eq!(first.pick(&s, &ctx, None), Some(1));
        assert_eq!(first.pick(&s, &ctx, Some(1)), Some(2));
        s[1].set_maint(true);
        assert_eq!(first.pick(&s, &ctx, Some(2)), Some(2));
        s[2].set_maint(true);
        assert_eq!(first.pick(&s, &ctx, None), Some(0));
    }
}
