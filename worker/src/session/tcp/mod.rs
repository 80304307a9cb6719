//! A TCP session: one accepted client connection, the server connection
//! made for it, and the two channels between them. In TCP mode a session
//! carries exactly one exchange, so it has no stream: it is its own.
//!
//! Its task (`process.rs`) is woken by I/O on either side or by its timer
//! and runs these stages:
//!
//! ```text
//!  Connect ──(connected)──▶ Data ──(both directions shut)──▶ closed, logged
//!     │ failed: retry on the next server, up to `retries`
//!     ├──────────────────────────────────────▶ closed with SC / sC
//!     │ every server at its maxconn: wait in the backend's queue
//!     └──(timeout.queue)─────────────────────▶ closed with sQ
//! ```

mod count;
mod process;

use super::{Outcome, Session};
use crate::channel::Channel;
use crate::conn::Conn;
use crate::context::Cx;
use crate::server_side::{Release, ServerSide};
use crate::stream::{ClientSide, Streams};
use crate::term::{At, Cause, Termination};
use crate::tokens;
use std::net::SocketAddr;
use std::time::Instant;
use weir_core::log::date::WallTime;
use weir_core::log::format;
use weir_core::log::record::{Record, TlsInfo};

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Choosing a server and connecting to it (with retries).
    Connect,
    /// Both connections up; bytes flow.
    Data,
}

pub struct TcpSession {
    pub frontend: usize,
    pub client_addr: SocketAddr,
    /// The address the client connected to, from its PROXY header.
    pub dst: Option<SocketAddr>,
    pub client: Conn,
    /// The backend, the server and the connection to it.
    pub side: ServerSide,
    /// Client → server.
    pub req: Channel,
    /// Server → client.
    pub res: Channel,
    pub stage: Stage,
    pub accepted: Instant,
    pub accept_date: WallTime,
    /// Last progress on the client side, for its inactivity timeout.
    pub cli_active: Instant,
    /// The bind it was accepted on (its TLS settings, a failure's line).
    pub bind: usize,
    /// The client's TLS handshake failed (logged then, not as a session).
    pub handshake_failed: bool,
    /// A PROXY protocol header is due before anything else.
    pub expect_proxy: bool,
}

impl TcpSession {
    pub fn new(
        frontend: usize,
        backend: usize,
        client: Conn,
        client_addr: SocketAddr,
        now: Instant,
        date: WallTime,
    ) -> TcpSession {
        TcpSession {
            frontend,
            client_addr,
            dst: None,
            client,
            side: ServerSide::new(backend, now),
            req: Channel::default(),
            res: Channel::default(),
            stage: Stage::Connect,
            accepted: now,
            accept_date: date,
            cli_active: now,
            bind: 0,
            handshake_failed: false,
            expect_proxy: false,
        }
    }

    /// The phase of a termination state: waiting in the queue (Q),
    /// connecting (C) or forwarding data (D).
    fn at(&self) -> At {
        match self.stage {
            Stage::Data => At::Data,
            Stage::Connect if self.side.queue.queued() => At::Queue,
            Stage::Connect => At::Connect,
        }
    }
}

impl Session for TcpSession {
    fn frontend(&self) -> usize {
        self.frontend
    }

    fn client(&mut self) -> &mut Conn {
        &mut self.client
    }

    fn process(&mut self, key: usize, cx: &mut Cx, _: &mut Streams) -> Outcome {
        process::process(self, key, cx)
    }

    fn on_event(
        &mut self,
        key: usize,
        slot: usize,
        ev: &mio::event::Event,
        _: &mut Streams,
    ) -> usize {
        let conn = match slot {
            tokens::CLIENT_SLOT => Some(&mut self.client),
            _ => self.side.conn.as_mut(),
        };
        if let Some(c) = conn {
            c.on_event(ev);
        }
        tokens::session_task(key)
    }

    fn drain(&mut self, _: &Streams) {
        // A TCP session runs to its end.
    }

    fn kill(&mut self, _: &mut Cx, _: &mut Streams) -> Termination {
        let at = if self.stage == Stage::Connect {
            At::Connect
        } else {
            At::Data
        };
        Termination::new(Cause::Killed, at)
    }

    fn close(&mut self, key: usize, term: Termination, cx: &mut Cx) {
        self.req.release_pipe(cx.pipes);
        self.res.release_pipe(cx.pipes);
        self.req.release(cx.pool);
        self.res.release(cx.pool);
        if !self.handshake_failed {
            log(self, term, cx);
        }
        count::ended(cx, self, term);
        if !cx.config.tables.is_empty() {
            use weir_core::config::model::Counter;
            let bytes = [
                (Counter::BytesInRate, self.req.total),
                (Counter::BytesOutRate, self.res.total),
            ];
            let slots = cx.conn_slots(key);
            crate::track::add_all(cx.config, cx.shared, &slots, &bytes, crate::track::now_ms());
        }
        // Counts drop after the line: it reports them with this session in.
        self.side
            .release(cx, Release::Close, tokens::session_task(key));
        cx.backends[self.side.backend].shm.leave(cx.worker);
    }

    fn streams(&self) -> &[usize] {
        &[]
    }

    fn client_side(&mut self, _: usize) -> Option<&mut ClientSide> {
        None
    }

    fn retired(&mut self, _: usize, _: bool, _: &mut Cx) {}

    fn is_on(&self, b: usize, s: usize, _: &Streams) -> bool {
        self.side.conn.is_some() && self.side.backend == b && self.side.server == Some(s)
    }
}

/// The session's line, in its frontend's `log_format`, to its proxies'
/// log targets.
fn log(s: &TcpSession, term: Termination, cx: &Cx) {
    if !cx.logger.traffic_enabled(s.frontend, Some(s.side.backend)) {
        return;
    }
    let fe = &cx.config.frontends[s.frontend];
    let be = &cx.backends[s.side.backend];
    let [cause, at] = term.code();
    let total = cx.now.saturating_duration_since(s.accepted).as_millis() as i64;
    let tls = s.client.tls().map(|t| {
        let n = t.negotiated();
        TlsInfo {
            version: n.version,
            cipher: n.cipher,
            sni: t.sni(),
            resumed: n.resumed,
        }
    });
    let rec = Record {
        http: false,
        client: s.client_addr,
        date: s.accept_date,
        frontend: &fe.name,
        backend: &cx.config.backends[s.side.backend].name,
        server: s.side.server.map(|i| be.servers[i].name.as_str()),
        t_request: -1,
        t_queue: s.side.queue.tw(cx.now) as i64,
        t_connect: s.side.connect_ms.map_or(-1, |ms| ms as i64),
        t_response: -1,
        t_active: total,
        t_total: total,
        status: -1,
        bytes_out: s.res.total,
        bytes_in: s.req.total,
        termination: [cause, at, b'-', b'-'],
        actconn: cx.actconn,
        feconn: cx.feconn[s.frontend],
        beconn: be.shm.cur() as usize,
        srv_conn: s
            .side
            .server
            .map_or(0, |i| be.servers[i].cur_sess() as usize),
        retries: s.side.retries,
        redispatched: false,
        srv_queue: 0,
        backend_queue: s.side.queue.ahead,
        request_line: "",
        req_captures: None,
        res_captures: None,
        tls,
    };
    cx.logger.traffic(s.frontend, Some(s.side.backend), |out| {
        format::write(&fe.log_format, &rec, out)
    });
}
