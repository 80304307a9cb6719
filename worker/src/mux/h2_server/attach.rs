//! How a stream gets a share of an HTTP/2 connection to its server: one
//! with room, else a new one, its connect started.

use super::table::ServerMuxes;
use super::H2ServerMux;
use crate::conn::connect::{self, TlsTo};
use crate::conn::Conn;
use crate::context::Cx;
use crate::h2::{Connection, HeaderList, Role};
use crate::http::RequestParser;
use crate::tokens;
use std::io;
use weir_core::config::model::defaults;
use weir_core::shm::unix_now_ms;

/// A share of a connection to server `i` of backend `be` for the
/// stream of task `task`: on one with room, else on a new one (its
/// connect started). `host`: the request's Host, for SNI.
pub fn attach(
    cx: &mut Cx,
    be: usize,
    i: usize,
    host: Option<&str>,
    task: usize,
) -> io::Result<Conn> {
    let sni = cx.backends[be]
        .sni_from_host
        .then(|| host.map(str::to_owned))
        .flatten();
    let limit = cx.bufsize();
    let seq = cx.backends[be].servers[i].seq;
    let muxes: &mut ServerMuxes = &mut *cx.muxes;
    let found = muxes.by_server.get(&(be, i)).and_then(|list| {
        list.iter().copied().find(|&m| {
            muxes
                .muxes
                .get(m)
                .and_then(Option::as_ref)
                .is_some_and(|mx| mx.accepts(&sni, seq))
        })
    });
    if let Some(m) = found {
        let Some(mx) = muxes.muxes.get_mut(m).and_then(Option::as_mut) else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let conn = mx.add(m, task, limit);
        cx.wake(tokens::mux_task(m));
        return Ok(conn);
    }
    let m = muxes.free.pop().unwrap_or_else(|| {
        muxes.muxes.push(None);
        muxes.muxes.len() - 1
    });
    let srv = &cx.backends[be].servers[i];
    let tls = match &srv.tls {
        None => None,
        Some(Ok(c)) => Some(TlsTo {
            connector: c,
            host: sni.as_deref().or(host),
        }),
        Some(Err(e)) => {
            muxes.free.push(m);
            return Err(io::Error::other(e.clone()));
        }
    };
    let scheme: &'static [u8] = if tls.is_some() { b"https" } else { b"http" };
    let conn = match connect::open(srv.addr, tls, cx.registry, tokens::mux(m)) {
        Ok(c) => c,
        Err(e) => {
            muxes.free.push(m);
            return Err(e);
        }
    };
    let limits = crate::h2::Limits::from(&cx.config.global.h2);
    let timeout = cx.config.backends[be]
        .timeouts
        .connect
        .unwrap_or(defaults::TIMEOUT_CONNECT);
    let mut mx = Box::new(H2ServerMux {
        server: (be, i),
        seq,
        sni,
        conn,
        h2: Box::new(Connection::new(Role::Client, limits, unix_now_ms())),
        rbuf: Vec::new(),
        eof: false,
        slots: Vec::new(),
        parser: RequestParser::new(cx.config.global.bufsize),
        fields: HeaderList::new(),
        scheme,
        up: false,
        failed: false,
        goaway: false,
        connect_deadline: Some(cx.now + timeout),
        idle_since: cx.now,
    });
    let conn = mx.add(m, task, limit);
    muxes.muxes[m] = Some(mx);
    muxes.by_server.entry((be, i)).or_default().push(m);
    cx.wake(tokens::mux_task(m));
    Ok(conn)
}
