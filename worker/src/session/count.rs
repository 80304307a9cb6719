//! The statistics of one finished TCP session, counted into the shared
//! state for its frontend, backend and server: bytes each way, and the
//! errors its termination state tells (connection errors, retries,
//! aborts). HTTP streams are counted by `http::count`.

use super::Session;
use crate::session::Termination;
use weir_core::shm::{Px, SharedState, Srv};

/// Counts `sess`, which ended with `term`.
pub fn tcp_session_ended(shared: &SharedState, sess: &Session, term: Termination) {
    let (bin, bout) = (sess.req.total, sess.res.total);
    if let Some(fe) = shared.frontends.get(sess.frontend) {
        fe.add(Px::Bin, bin);
        fe.add(Px::Bout, bout);
    }
    let econ = term.is_connect_error();
    if let Some(be) = shared.backends.get(sess.backend) {
        be.add(Px::Bin, bin);
        be.add(Px::Bout, bout);
        be.add(Px::Wretr, u64::from(sess.retries));
        be.add(Px::Econ, u64::from(econ));
        be.add(Px::CliAbrt, u64::from(term.is_client_abort()));
        be.add(Px::SrvAbrt, u64::from(term.is_server_abort()));
    }
    let srv = sess
        .server
        .and_then(|i| shared.servers.get(sess.backend)?.get(i));
    if let Some(srv) = srv {
        srv.add(Srv::Bin, bin);
        srv.add(Srv::Bout, bout);
        srv.add(Srv::Econ, u64::from(econ));
        srv.add(Srv::CliAbrt, u64::from(term.is_client_abort()));
        srv.add(Srv::SrvAbrt, u64::from(term.is_server_abort()));
    }
}
