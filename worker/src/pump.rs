//! Moving bytes one way through a channel: read from one connection, write
//! to the other, propagate EOF as a write shutdown once the channel drains.
//! TCP sessions and HTTP tunnels use it as is.
//!
//! **Splice, where it pays** (HAProxy's `splice-auto`). A direction
//! starts on the buffer path and switches to `splice(2)` (socket → pipe →
//! socket, no copy through user space) once it streams: a read filled the
//! whole buffer. It switches only when the
//! buffer is empty, so bytes never change order, and stays switched for
//! the rest of the session; the pipe itself is held only while it holds
//! bytes. Small exchanges never leave the buffer path, where a short read
//! saves the call that would only return `EAGAIN`: a short splice cannot,
//! since it may stop because the pipe is full. So a connection that
//! streamed once and then carries small messages pays that one call more
//! per message; going back to the buffer after a burst under one buffer
//! cost tcp-ka-256k two calls more per response (9.1 against 7.1), so it
//! does not.
//!
//! Readiness (edge-triggered): a splice from the socket that returns
//! `EAGAIN` clears `readable` only when the pipe is empty (otherwise the
//! pipe may be the one that is full, and reading resumes once it drained);
//! a splice to the socket that takes less than the pipe holds, or returns
//! `EAGAIN`, clears `writable` (the send buffer is full, exactly as for a
//! short `write`).

use crate::channel::Channel;
use crate::conn::Conn;
use crate::pipes::PipePool;
use crate::tokens::Side;
use std::io::ErrorKind;
use weir_core::pool::BufferPool;

/// What one pump call did.
#[derive(Default)]
pub struct Progress {
    pub read: bool,
    pub wrote: bool,
    /// The budget ran out with work still possible.
    pub exhausted: bool,
}

/// The worker's pipe pool, as a pump needs it.
pub struct Splicer<'a> {
    pub pipes: &'a mut PipePool,
    /// Connections open in the worker now (their descriptors come first).
    pub conns: usize,
}

/// Moves bytes `src` → `ch` → `dst` until nothing more can be done now or
/// the budget is spent; propagates EOF as a write shutdown once `ch` is
/// empty. `dst` is `None` while the server is not connected yet. A
/// streaming direction moves its bytes through a pipe from `sp`.
pub fn pump(
    src: &mut Conn,
    ch: &mut Channel,
    mut dst: Option<&mut Conn>,
    pool: &mut BufferPool,
    sp: Splicer,
    budget: usize,
) -> Result<Progress, Side> {
    let mut p = Progress::default();
    let mut moved = 0usize;
    loop {
        let mut progress = false;
        if !ch.shutr && src.readable {
            // (result, whether the pipe still holds bytes: then it may be
            // the full side, and EAGAIN says nothing about the socket)
            let splice = src.splice_fd().is_some() && dst.as_ref().is_none_or(|d| d.can_splice());
            let read = if splice && ch.wants_pipe() && ch.take_pipe(sp.pipes, sp.conns) {
                ch.pipe_has_room().then(|| {
                    let res = match src.splice_fd() {
                        Some(fd) => ch.splice_from(fd),
                        None => Err(ErrorKind::Unsupported.into()),
                    };
                    (res, ch.piped() > 0)
                })
            } else {
                ch.has_room().then(|| (ch.read_from(src, pool), false))
            };
            if let Some((res, pipe_busy)) = read {
                match res {
                    Ok(0) => {
                        ch.shutr = true;
                        progress = true;
                    }
                    Ok(n) => {
                        p.read = true;
                        progress = true;
                        moved += n;
                        if ch.is_full() {
                            ch.streaming = true;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        if !pipe_busy {
                            src.readable = false;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Err(Side::Client),
                }
            }
        }
        if let Some(d) = dst.as_deref_mut() {
            // (result, the bytes a splice offered: a short splice means
            // the socket is full, as a short write does inside write_to)
            let write = if d.writable && !ch.data().is_empty() {
                Some((ch.write_to(d, pool), None))
            } else if d.writable && ch.piped() > 0 {
                let offered = ch.piped();
                let res = match d.splice_fd() {
                    Some(fd) => ch.splice_to(fd, sp.pipes),
                    None => Err(ErrorKind::Unsupported.into()),
                };
                Some((res, Some(offered)))
            } else {
                None
            };
            if let Some((res, offered)) = write {
                match res {
                    Ok(n) => {
                        p.wrote = true;
                        progress |= n > 0;
                        if offered.is_some_and(|o| n < o) {
                            d.writable = false;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => d.writable = false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Err(Side::Server),
                }
            }
            if ch.is_empty() && ch.shutr && !ch.shutw {
                let _ = d.shutdown_write();
                ch.shutw = true;
                progress = true;
            }
        }
        if !progress || moved >= budget {
            // An idle direction holds no pipe.
            ch.put_pipe_if_empty(sp.pipes);
            if progress {
                p.exhausted = (src.readable && !ch.shutr) || !ch.is_empty();
            }
            return Ok(p);
        }
    }
}
