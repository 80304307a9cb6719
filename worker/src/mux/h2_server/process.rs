//! An HTTP/2 server connection's task: finish the connect (and the TLS
//! handshake, which must select `h2`), write what the protocol has to
//! send, read the server's frames and hand each stream its part, frame
//! the requests the streams wrote, forget the streams that ended; fail
//! every stream left when the connection fails; close when idle.

use super::{request, response, H2ServerMux};
use crate::conn::connect::connected;
use crate::conn::link::Up;
use crate::context::Cx;
use crate::h2::ErrorCode;
use crate::idle::IDLE_TTL;
use std::io::{self, ErrorKind, Read, Write};
use std::rc::Rc;
use std::time::Instant;
use weir_core::shm::unix_now_ms;

/// Bytes read per run, at most (then the others' turn).
const READ_BUDGET: usize = 256 * 1024;

/// What the worker does with the connection after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Runs again on an event or at this date.
    Wait(Option<Instant>),
    /// Runs again soon (reading stopped on its budget).
    Yield,
    /// Closed: forget it.
    Close,
}

/// Runs connection `mx`'s task once.
pub fn process(mx: &mut H2ServerMux, cx: &mut Cx) -> Step {
    if !mx.up && !mx.failed {
        connect(mx, cx);
    }
    if mx.up && !mx.failed {
        exchange(mx, cx);
    }
    forget_ended(mx);
    if mx.failed {
        fail_all(mx, cx);
        let _ = flush(mx);
        return Step::Close;
    }
    if !mx.slots.is_empty() {
        mx.idle_since = cx.now;
        if mx.up && mx.conn.readable && !mx.eof {
            // Reading stopped on its budget with bytes maybe left: no
            // new edge will say so.
            return Step::Yield;
        }
        return Step::Wait(if mx.up { None } else { mx.connect_deadline });
    }
    let idle_until = mx.idle_since + IDLE_TTL;
    if mx.goaway || cx.now >= idle_until {
        // Nothing in flight: a polite GOAWAY, then close.
        mx.h2.finish_shutdown();
        let _ = flush(mx);
        return Step::Close;
    }
    Step::Wait(Some(idle_until))
}

/// The connect, then the TLS handshake; the streams waiting for it are
/// told once it is up (or failed).
fn connect(mx: &mut H2ServerMux, cx: &mut Cx) {
    if mx.connect_deadline.is_some_and(|d| cx.now >= d) {
        mx.failed = true;
        return;
    }
    if !(mx.conn.readable || mx.conn.writable) {
        return;
    }
    match connected(&mut mx.conn) {
        Ok(true) => {}
        Ok(false) => return,
        Err(_) => {
            mx.failed = true;
            return;
        }
    }
    if mx.conn.handshaking() {
        match mx.conn.handshake() {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tls_failed(mx, cx, &e.to_string());
                mx.failed = true;
                return;
            }
        }
        if let Some(t) = mx.conn.tls() {
            if t.alpn() != Some(b"h2") {
                tls_failed(mx, cx, "the server did not select ALPN \"h2\"");
                mx.failed = true;
                return;
            }
        }
    }
    mx.up = true;
    mx.connect_deadline = None;
    for s in &mx.slots {
        s.link.borrow_mut().up = Up::Ready;
        cx.wake(s.task);
    }
}

/// Frames out, frames in, frames out again.
fn exchange(mx: &mut H2ServerMux, cx: &mut Cx) {
    for i in 0..mx.slots.len() {
        request::frame(mx, i, cx);
    }
    if flush(mx).is_err() {
        mx.failed = true;
        return;
    }
    let read_failed = read(mx).is_err();
    if let Err(e) = response::receive(mx, cx) {
        cx.logger.info(&format!(
            "HTTP/2 connection to server {}/{} failed: {} ({})",
            cx.config.backends[mx.server.0].name,
            cx.backends[mx.server.0].servers[mx.server.1].name,
            e.reason,
            e.code
        ));
        mx.failed = true;
        return;
    }
    if read_failed || mx.eof {
        // What was read went to the streams; the rest of them fail.
        mx.failed = true;
        return;
    }
    for i in 0..mx.slots.len() {
        request::frame(mx, i, cx);
        response::credit(mx, i);
    }
    if flush(mx).is_err() {
        mx.failed = true;
    }
}

/// Reads what the server sent (a bounded amount); `Ok(true)` at its EOF
/// (then the connection fails once the frames read are taken).
fn read(mx: &mut H2ServerMux) -> io::Result<bool> {
    let mut total = 0;
    let mut chunk = [0u8; 16 * 1024];
    while mx.conn.readable && total < READ_BUDGET {
        match mx.conn.read(&mut chunk) {
            Ok(0) => {
                mx.eof = true;
                return Ok(true);
            }
            Ok(n) => {
                mx.rbuf.extend_from_slice(&chunk[..n]);
                total += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Writes what the protocol has to send while the socket takes it.
fn flush(mx: &mut H2ServerMux) -> io::Result<()> {
    while !mx.h2.output().is_empty() && mx.conn.writable {
        match mx.conn.write(mx.h2.output()) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => mx.h2.consumed_output(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => mx.conn.writable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Streams whose end of the link is gone (their stream ended): one still
/// under way is reset (CANCEL); the credit of what they were given goes
/// back to the connection.
fn forget_ended(mx: &mut H2ServerMux) {
    let now = unix_now_ms();
    let h2 = &mut mx.h2;
    mx.slots.retain(|s| {
        if Rc::strong_count(&s.link) > 1 {
            return true;
        }
        if s.id != 0 {
            if !s.done || !s.req_done() {
                let _ = h2.reset_stream(s.id, ErrorCode::CANCEL, false, now);
            }
            h2.release(s.id, s.unreleased);
        }
        false
    });
}

/// The connection failed: every stream on it fails (at connect, before
/// it was up: the stream retries like any failed connect).
fn fail_all(mx: &mut H2ServerMux, cx: &mut Cx) {
    for s in &mx.slots {
        let mut l = s.link.borrow_mut();
        if l.up == Up::Connecting {
            l.up = Up::Failed;
        } else if !s.done {
            l.reset = true;
        }
        cx.wake(s.task);
    }
}

/// A TLS handshake with the server failed: a warning, rate-limited per
/// server as for HTTP/1.1 connections.
fn tls_failed(mx: &H2ServerMux, cx: &Cx, why: &str) {
    let (be, i) = mx.server;
    let srv = &cx.backends[be].servers[i];
    let quiet = srv
        .tls_warned
        .get()
        .is_some_and(|t| cx.now.saturating_duration_since(t) < std::time::Duration::from_secs(1));
    if quiet {
        return;
    }
    srv.tls_warned.set(Some(cx.now));
    cx.logger.warning(&format!(
        "TLS handshake with server {}/{} failed: {why}",
        cx.config.backends[be].name, srv.name
    ));
}
