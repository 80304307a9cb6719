//! The HTTP/2 mux's task: write what the protocol has to send, read what
//! the client sent and act on each event (a request starts a stream, DATA
//! feeds one, a reset ends one), frame what the streams wrote, write
//! again; then the connection's timers. Limits crossed (floods, rapid
//! reset…) close the connection with their GOAWAY and a log line.

use super::{big, request, response, H2Mux};
use crate::context::Cx;
use crate::h2::{ConnError, Event};
use crate::session::Outcome;
use crate::stream::forward::{fill, Fill};
use crate::stream::run::BUDGET_BUFFERS;
use crate::stream::timers::client_timeout;
use crate::stream::Streams;
use crate::term::{At, Termination};
use std::io::{self, ErrorKind, Write};
use std::time::Instant;
use weir_core::shm::unix_now_ms;

/// Writes what the protocol has to send while the socket takes it;
/// `true` once nothing is left.
pub fn flush(m: &mut H2Mux) -> io::Result<bool> {
    while !m.h2.output().is_empty() && m.client.conn.writable {
        match m.client.conn.write(m.h2.output()) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => m.h2.consumed_output(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => m.client.conn.writable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(m.h2.output().is_empty() && m.client.conn.flushed())
}

/// Runs the mux's task once.
pub fn process(m: &mut H2Mux, key: usize, cx: &mut Cx, streams: &mut Streams) -> Outcome {
    let budget = BUDGET_BUFFERS * cx.bufsize();
    if flush(m).is_err() {
        return Outcome::Close(Termination::client(At::Data));
    }
    // Twice at most: once more when a frame turned out larger than the
    // channel's buffer (`big.rs`).
    for _ in 0..2 {
        if m.failed {
            break;
        }
        let read = if m.big.is_empty() {
            fill(&mut m.client.conn, &mut m.client.req, cx.pool, budget)
        } else {
            big::fill(m, cx, budget)
        };
        match read {
            Ok(Fill::Ok(0)) => {}
            Ok(Fill::Ok(_)) => m.client.active = cx.now,
            Ok(Fill::Eof) => {}
            Err(_) => return Outcome::Close(Termination::client(At::Data)),
        }
        if let Err(e) = receive(m, key, cx, streams) {
            log_failure(m, cx, &e);
            m.failed = true;
        }
        if !big::needed(m, cx) {
            break;
        }
        big::spill(m, cx);
    }
    for i in 0..m.slots.len() {
        if m.slots[i].id != 0 {
            request::feed(m, i, cx);
            response::drain(m, i, cx);
        }
    }
    let flushed = match flush(m) {
        Ok(f) => f,
        Err(_) => return Outcome::Close(Termination::client(At::Data)),
    };
    let gone = m.client.req.shutr && m.client.req.is_empty() && m.big.is_empty();
    if (m.failed || gone || m.h2.is_done()) && m.keys.is_empty() && flushed {
        return Outcome::Close(Termination::NORMAL);
    }
    if m.failed && flushed {
        // The GOAWAY is out: streams in flight end with the connection.
        return Outcome::Close(Termination::client(At::Data));
    }
    if m.client.conn.readable && !m.client.req.shutr && !m.failed {
        // Reading stopped on its budget (or its second round) with bytes
        // maybe left: no new edge will say so, so run again soon.
        return Outcome::Yield;
    }
    match timer(m, cx) {
        Some(at) if cx.now >= at && m.keys.is_empty() => {
            // Idle too long: the graceful GOAWAY, then close.
            m.h2.finish_shutdown();
            let _ = flush(m);
            Outcome::Close(Termination::NORMAL)
        }
        // The client stopped reading what its streams are sent.
        Some(at) if cx.now >= at => Outcome::Close(Termination::new(
            crate::term::Cause::ClientTimeout,
            At::Data,
        )),
        at => Outcome::Wait(at),
    }
}

/// Feeds the bytes read to the protocol and acts on each event.
fn receive(m: &mut H2Mux, key: usize, cx: &mut Cx, streams: &mut Streams) -> Result<(), ConnError> {
    let now_ms = unix_now_ms();
    loop {
        let in_big = !m.big.is_empty();
        let used = {
            let data = if in_big {
                &m.big[..]
            } else {
                m.client.req.data()
            };
            let Some((used, event)) = m.h2.receive(data, now_ms)? else {
                break;
            };
            if let Event::Data {
                stream,
                data,
                end_stream,
            } = event
            {
                let r = request::data(&mut m.slots, &mut m.h2, stream, data, end_stream, cx);
                taken(m, in_big, used, cx);
                r?;
                continue;
            }
            match event {
                Event::Headers {
                    stream,
                    end_stream,
                    trailers: false,
                } => request::open(m, key, stream, end_stream, cx, streams)?,
                Event::Headers {
                    stream,
                    trailers: true,
                    ..
                } => request::trailers(m, stream, cx)?,
                Event::Data { .. } => {}
                Event::Reset { stream, .. } => request::reset(m, stream, cx),
                Event::StreamError(e) => request::reset(m, e.stream, cx),
                Event::WindowUpdate { .. } | Event::GoAway { .. } | Event::None => {}
            }
            used
        };
        taken(m, in_big, used, cx);
        if used == 0 {
            break;
        }
    }
    Ok(())
}

/// The protocol used `n` bytes of where it read.
fn taken(m: &mut H2Mux, in_big: bool, n: usize, cx: &mut Cx) {
    if in_big {
        big::consume(m, n);
    } else {
        m.client.req.consume(n, cx.pool);
    }
}

/// When the mux must run again by itself: an idle connection closes at
/// `timeout.http_keep_alive` (else the client timeout), one the client
/// stops reading at the client timeout.
fn timer(m: &H2Mux, cx: &Cx) -> Option<Instant> {
    let fe = &cx.config.frontends[m.client.frontend];
    let client = client_timeout(cx, m.client.frontend);
    if m.keys.is_empty() {
        let idle = fe.timeouts.http_keep_alive.unwrap_or(client);
        return Some(m.idle_since.max(m.client.active) + idle);
    }
    (!m.h2.output().is_empty()).then(|| m.client.active + client)
}

/// The line of a connection the protocol closed (a limit crossed, a
/// frame that breaks the rules), and its count.
fn log_failure(m: &H2Mux, cx: &Cx, e: &ConnError) {
    // The limit's counter, or the one after them (`H2ProtocolErrors`).
    let slot = e
        .limit
        .map_or(crate::h2::limits::LIMITS.len(), |l| l as usize);
    cx.shared.h2_limit_add(slot);
    let frontend = m.client.frontend;
    if !cx.logger.traffic_enabled(frontend, None) {
        return;
    }
    // To the frontend's log targets, as its other connection errors.
    let line = format!(
        "{}:{} {}/{}: HTTP/2 connection error: {} ({})",
        m.client.addr.ip(),
        m.client.addr.port(),
        cx.config.frontends[frontend].name,
        m.bind + 1,
        e.reason,
        e.code
    );
    cx.logger
        .traffic(frontend, None, |out| out.extend_from_slice(line.as_bytes()));
}
