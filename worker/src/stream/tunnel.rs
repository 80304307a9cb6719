//! A tunnel, after a 101 or a 2xx to CONNECT: both directions pumped as
//! in TCP mode ([`crate::pump`], splicing once they stream), until both
//! are shut or one side fails.

use super::client::ClientSide;
use super::{Stream, Transition};
use crate::context::Cx;
use crate::pump::{pump, Splicer};
use crate::term::{At, Termination};

pub fn step(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, budget: usize) -> Transition {
    let Some(srv) = st.side.conn.as_mut() else {
        return Transition::Continue(false);
    };
    let mut progress = false;
    // Client → server, then server → client unless that failed. `pump`
    // names the failing side as source/destination: upstream the client is
    // the source, downstream the server is.
    for upstream in [true, false] {
        if !st.term.is_normal() {
            break;
        }
        let (from, ch, to) = if upstream {
            (&mut cs.conn, &mut cs.req, &mut *srv)
        } else {
            (&mut *srv, &mut st.res, &mut cs.conn)
        };
        let sp = Splicer {
            pipes: cx.pipes,
            conns: cx.actconn,
        };
        match pump(from, ch, Some(to), cx.pool, sp, budget) {
            Ok(p) => {
                if p.read || p.wrote {
                    progress = true;
                    cs.active = cx.now;
                    st.side.active = cx.now;
                }
            }
            Err(side) => {
                let failed = if upstream { side } else { side.other() };
                st.term = Termination::failed(failed, At::Data);
            }
        }
    }
    if !st.term.is_normal() || (cs.req.shutw && st.res.shutw) {
        st.bytes_out += st.res.total;
        return Transition::Close(st.term);
    }
    Transition::Continue(progress)
}
