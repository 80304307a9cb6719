//! The statistics of one finished TCP session, counted into the shared
//! state for its frontend, backend and server: bytes each way, and the
//! errors its termination state tells (connection errors, retries,
//! aborts). HTTP streams are counted by `stream::count`.

use super::TcpSession;
use crate::context::Cx;
use crate::term::Termination;
use weir_core::shm::{Px, Srv};

/// Counts `sess`, which ended with `term`.
pub fn ended(cx: &Cx, sess: &TcpSession, term: Termination) {
    let shared = cx.shared;
    let (bin, bout) = (sess.req.total, sess.res.total);
    if let Some(fe) = shared.frontends.get(sess.frontend) {
        fe.add(Px::Bin, bin);
        fe.add(Px::Bout, bout);
    }
    let econ = term.is_connect_error();
    let side = &sess.side;
    if let Some(be) = shared.backends.get(side.backend) {
        be.add(Px::Bin, bin);
        be.add(Px::Bout, bout);
        be.add(Px::Wretr, u64::from(side.retries));
        be.add(Px::Econ, u64::from(econ));
        be.add(Px::CliAbrt, u64::from(term.is_client_abort()));
        be.add(Px::SrvAbrt, u64::from(term.is_server_abort()));
    }
    let srv = side
        .server
        .and_then(|i| shared.servers.get(side.backend)?.get(i));
    if let Some(srv) = srv {
        srv.add(Srv::Bin, bin);
        srv.add(Srv::Bout, bout);
        srv.add(Srv::Econ, u64::from(econ));
        srv.add(Srv::CliAbrt, u64::from(term.is_client_abort()));
        srv.add(Srv::SrvAbrt, u64::from(term.is_server_abort()));
    }
}
