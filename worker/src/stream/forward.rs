//! Moving HTTP bytes: the outbox that carries a rewritten head (or a local
//! reply) to a connection, and the body state that says how many buffered
//! bytes belong to the current message and may be forwarded as they are.
//!
//! **Splicing a body of known length.** A Content-Length body whose
//! remaining length exceeds one buffer (HAProxy's `splice-auto`: the bytes
//! stream) moves socket → pipe → socket with `splice(2)` once its head has
//! gone and the channel's buffer is empty ([`splice_body_in`],
//! [`splice_body_out`]). A splice into the pipe asks for at most the
//! body's bytes not yet in the pipe, so the next message's head is never
//! taken: it arrives in the buffer, where it is parsed, once the body is
//! done and the pipe given back. Request bodies do the same (client →
//! pipe → server). Small bodies (and chunked or close-delimited ones)
//! stay on the buffer path.

use crate::channel::Channel;
use crate::conn::Conn;
use crate::http::{ChunkError, ChunkedDecoder, Framing};
use crate::pipes::PipePool;
use std::io::{self, ErrorKind, Write};
use weir_core::pool::BufferPool;

/// Bytes weir produced (a rewritten head, an interim response, a local
/// reply) waiting to be written before any body byte.
#[derive(Default)]
pub struct Outbox {
    buf: Vec<u8>,
    pos: usize,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Appends bytes after what is pending.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.is_empty() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to write a head into (appended after what is pending).
    pub fn vec(&mut self) -> &mut Vec<u8> {
        if self.is_empty() {
            self.buf.clear();
            self.pos = 0;
        }
        &mut self.buf
    }

    /// Sends everything again (a request replayed on a new connection).
    pub fn rewind(&mut self) {
        self.pos = 0;
    }

    /// Forgets the content, keeping the memory for the next one.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// Forgets the content; frees the memory too if it is over `keep`
    /// bytes (a stream going back to the spares).
    pub fn trim(&mut self, keep: usize) {
        if self.buf.capacity() > keep {
            self.buf = Vec::new();
        }
        self.reset();
    }

    /// The memory held, in bytes.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Writes as much as the connection takes. Returns the bytes written.
    pub fn flush(&mut self, conn: &mut Conn) -> io::Result<usize> {
        let mut total = 0;
        while !self.is_empty() && conn.writable {
            match conn.write(&self.buf[self.pos..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.pos += n;
                    total += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => conn.writable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}

/// Writes the pending head in `out` together with the first bytes of its
/// body that are already buffered in `ch`, in one `writev` (one syscall
/// where a head then a body write would take two). Returns the bytes
/// written; does nothing when there is no head pending or no body byte to
/// send yet (the caller's ordinary flush and forward then run). A framing
/// error is left for [`forward_body`] to report.
pub fn flush_head_and_body(
    out: &mut Outbox,
    ch: &mut Channel,
    body: &mut Body,
    dst: &mut Conn,
    pool: &mut BufferPool,
) -> io::Result<usize> {
    if out.is_empty() || !dst.writable {
        return Ok(0);
    }
    let allow = body.allowed(ch.data()).unwrap_or(0);
    if allow == 0 {
        return Ok(0);
    }
    loop {
        match ch.write_after(&out.buf[out.pos..], dst, allow, pool) {
            Ok((head, from_body)) => {
                out.pos += head;
                body.forwarded(from_body);
                return Ok(head + from_body);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Where the current message's body stands.
pub enum Body {
    /// This many bytes are still to come.
    Len(u64),
    /// Chunked, forwarded as is; `ok` bytes at the channel's start have
    /// been validated and may go.
    Chunked { dec: ChunkedDecoder, ok: usize },
    /// Everything until the sender closes (responses only).
    UntilClose,
    /// No body, or all of it forwarded.
    Done,
}

impl Body {
    pub fn new(framing: Framing) -> Body {
        match framing {
            Framing::ContentLength(0) | Framing::None | Framing::Tunnel => Body::Done,
            Framing::ContentLength(n) => Body::Len(n),
            Framing::Chunked => Body::Chunked {
                dec: ChunkedDecoder::new(),
                ok: 0,
            },
            Framing::UntilClose => Body::UntilClose,
        }
    }

    /// How many of the buffered bytes `data` belong to this body and may be
    /// forwarded now.
    pub fn allowed(&mut self, data: &[u8]) -> Result<usize, ChunkError> {
        Ok(match self {
            Body::Len(rem) => (*rem).min(data.len() as u64) as usize,
            Body::Chunked { dec, ok } => {
                if !dec.is_done() && data.len() > *ok {
                    let p = dec.feed(&data[*ok..])?;
                    *ok += p.consumed;
                }
                *ok
            }
            Body::UntilClose => data.len(),
            Body::Done => 0,
        })
    }

    /// Records that `n` bytes were forwarded.
    pub fn forwarded(&mut self, n: usize) {
        match self {
            Body::Len(rem) => {
                *rem -= (n as u64).min(*rem);
                if *rem == 0 {
                    *self = Body::Done;
                }
            }
            Body::Chunked { dec, ok } => {
                *ok -= n.min(*ok);
                if *ok == 0 && dec.is_done() {
                    *self = Body::Done;
                }
            }
            Body::UntilClose | Body::Done => {}
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, Body::Done)
    }

    /// Whether this body goes through a pipe rather than the buffer: a
    /// Content-Length body with more still to come than `bufsize` (it
    /// streams), or one that already holds a pipe in `ch`.
    pub fn wants_splice(&self, ch: &Channel, bufsize: usize) -> bool {
        match self {
            Body::Len(rem) => ch.holds_pipe() || (ch.is_empty() && *rem > bufsize as u64),
            _ => false,
        }
    }

    /// Body bytes not yet in `ch`'s pipe: the most a splice may take.
    fn unspliced(&self, ch: &Channel) -> usize {
        match self {
            Body::Len(rem) => {
                let rem = usize::try_from(*rem).unwrap_or(usize::MAX);
                rem.saturating_sub(ch.piped())
            }
            _ => 0,
        }
    }
}

/// Splices body bytes from `src` into `ch`'s pipe (taken from `pipes` when
/// needed, `conns` connections open) while the socket has some, the pipe
/// has room and `budget` lasts, never past the end of `body`. Returns
/// `None` when no pipe could be had (the caller reads into the buffer).
/// A `WouldBlock` clears `src.readable` only when the pipe is empty (it
/// may be the pipe that is full).
pub fn splice_body_in(
    src: &mut Conn,
    ch: &mut Channel,
    body: &Body,
    pipes: &mut PipePool,
    conns: usize,
    budget: usize,
) -> Option<io::Result<Fill>> {
    if !src.can_splice() || !ch.take_pipe(pipes, conns) {
        return None;
    }
    let mut total = 0;
    while !ch.shutr && src.readable && ch.pipe_has_room() && total < budget {
        let want = body.unspliced(ch);
        if want == 0 {
            break;
        }
        let res = match src.splice_fd() {
            Some(fd) => ch.splice_from_max(fd, want),
            None => Err(ErrorKind::Unsupported.into()),
        };
        match res {
            Ok(0) => {
                ch.shutr = true;
                ch.put_pipe_if_empty(pipes);
                return Some(Ok(Fill::Eof));
            }
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock && ch.piped() > 0 => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock => src.readable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                ch.put_pipe_if_empty(pipes);
                return Some(Err(e));
            }
        }
    }
    ch.put_pipe_if_empty(pipes);
    Some(Ok(Fill::Ok(total)))
}

/// Splices the body bytes in `ch`'s pipe to `dst` while it takes them;
/// the pipe goes back to `pipes` once empty.
pub fn splice_body_out(
    ch: &mut Channel,
    body: &mut Body,
    dst: &mut Conn,
    pipes: &mut PipePool,
) -> Result<usize, ForwardError> {
    let mut total = 0;
    while ch.piped() > 0 && dst.writable {
        let offered = ch.piped();
        let res = match dst.splice_fd() {
            Some(fd) => ch.splice_to(fd, pipes),
            None => Err(ErrorKind::Unsupported.into()),
        };
        match res {
            Ok(0) => return Err(ForwardError::Write),
            Ok(n) => {
                body.forwarded(n);
                total += n;
                if n < offered {
                    // The send buffer is full, as after a short write.
                    dst.writable = false;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => dst.writable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(ForwardError::Write),
        }
    }
    Ok(total)
}

/// Why forwarding stopped short.
pub enum ForwardError {
    /// The body is malformed (bad chunk framing).
    Framing,
    /// Writing to the destination failed.
    Write,
}

/// Forwards as many body bytes as allowed and writable from `ch` to `dst`.
pub fn forward_body(
    ch: &mut Channel,
    body: &mut Body,
    dst: &mut Conn,
    pool: &mut BufferPool,
) -> Result<usize, ForwardError> {
    let mut total = 0;
    loop {
        let allow = body.allowed(ch.data()).map_err(|_| ForwardError::Framing)?;
        if allow == 0 || !dst.writable {
            return Ok(total);
        }
        match ch.write_to_max(dst, allow, pool) {
            Ok(0) => return Err(ForwardError::Write),
            Ok(n) => {
                body.forwarded(n);
                total += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => dst.writable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(ForwardError::Write),
        }
    }
}

/// What a read pass saw.
pub enum Fill {
    /// Bytes arrived (or none were waiting).
    Ok(usize),
    /// The peer closed its side.
    Eof,
}

/// Reads from `src` into `ch` while there is room and data.
pub fn fill(
    src: &mut Conn,
    ch: &mut Channel,
    pool: &mut BufferPool,
    budget: usize,
) -> io::Result<Fill> {
    let mut total = 0;
    while !ch.shutr && src.readable && ch.has_room() && total < budget {
        match ch.read_from(src, pool) {
            Ok(0) => {
                ch.shutr = true;
                return Ok(Fill::Eof);
            }
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => src.readable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Fill::Ok(total))
}
