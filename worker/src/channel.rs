//! A channel: the bytes travelling one way (request: client → server, or
//! response: server → client), with the state of both of its ends.
//!
//! The buffer is borrowed from the pool when data arrives and returned the
//! moment the channel is empty, so an idle connection holds no buffer.
//! `shutr` means the producer has sent EOF; once the buffer drains, the
//! session shuts the consumer's write side and sets `shutw`.
//!
//! A streaming direction (see `session::pump`) may instead move its bytes
//! through a pipe borrowed from the pipe pool with `splice(2)`; bytes in
//! the pipe count as buffered (`is_empty` is false), and the pipe goes
//! back to the pool the moment it is empty. Only one of the two holds
//! bytes at a time: a pipe is taken only when the buffer is empty, and the
//! buffer is read into only when no pipe is held, so bytes keep their order.

use crate::pipes::{Pipe, PipePool};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsFd;
use weir_core::pool::{Buffer, BufferPool};

/// The most one splice into a pipe asks for; the pipe's room bounds it.
const SPLICE_MAX: usize = 1 << 20;

#[derive(Default)]
pub struct Channel {
    buf: Option<Buffer>,
    head: usize,
    tail: usize,
    /// The pipe, while bytes are spliced through it.
    pipe: Option<Pipe>,
    /// Bytes in the pipe.
    piped: usize,
    /// The last splice into the pipe could not add to the bytes it holds
    /// (full, or the socket empty: the kernel does not say which): no more
    /// until it has drained.
    pipe_full: bool,
    /// A read filled the whole buffer: this direction streams, and goes
    /// through a pipe once its buffer is empty.
    pub streaming: bool,
    /// The producer has closed its side (read returned 0).
    pub shutr: bool,
    /// We have shut the consumer's write side.
    pub shutw: bool,
    /// Bytes that went through.
    pub total: u64,
}

impl Channel {
    /// Nothing buffered, in the buffer or in the pipe.
    pub fn is_empty(&self) -> bool {
        self.head == self.tail && self.piped == 0
    }

    /// Whether a read could store something now.
    pub fn has_room(&self) -> bool {
        match &self.buf {
            None => true,
            Some(b) => self.tail < b.capacity() || self.head > 0,
        }
    }

    /// Whether the channel holds a pooled buffer (for memory accounting).
    pub fn holds_buffer(&self) -> bool {
        self.buf.is_some()
    }

    /// Bytes in the buffer now (not counting the pipe's).
    pub fn len(&self) -> usize {
        self.tail - self.head
    }

    /// The buffered bytes (an HTTP head is parsed in place here).
    pub fn data(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b.as_slice()[self.head..self.tail],
            None => &[],
        }
    }

    /// Whether the buffer is full: nothing more can be read until bytes
    /// leave (a head that fills it is too large).
    pub fn is_full(&self) -> bool {
        matches!(&self.buf, Some(b) if self.head == 0 && self.tail == b.capacity())
    }

    /// Drops the first `n` buffered bytes (a head that was rewritten
    /// rather than forwarded); they do not count in `total`.
    pub fn consume(&mut self, n: usize, pool: &mut BufferPool) {
        self.head = (self.head + n).min(self.tail);
        if let Some(buf) = self.buf.take() {
            self.keep_or_release(buf, pool);
        }
    }

    /// Reads once from `src` into the buffer. `Ok(0)` is EOF.
    pub fn read_from<R: Read>(&mut self, src: &mut R, pool: &mut BufferPool) -> io::Result<usize> {
        let mut buf = match self.buf.take() {
            Some(b) => b,
            None => pool.get(),
        };
        if self.tail == buf.capacity() && self.head > 0 {
            buf.as_mut_slice().copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        let res = src.read(&mut buf.as_mut_slice()[self.tail..]);
        if let Ok(n) = res {
            self.tail += n;
        }
        self.keep_or_release(buf, pool);
        res
    }

    /// Writes once from the buffer to `dst`.
    pub fn write_to<W: Write>(&mut self, dst: &mut W, pool: &mut BufferPool) -> io::Result<usize> {
        self.write_to_max(dst, usize::MAX, pool)
    }

    /// Writes once, at most `max` bytes, from the buffer to `dst`.
    pub fn write_to_max<W: Write>(
        &mut self,
        dst: &mut W,
        max: usize,
        pool: &mut BufferPool,
    ) -> io::Result<usize> {
        let Some(buf) = self.buf.take() else {
            return Ok(0);
        };
        let end = self.tail.min(self.head.saturating_add(max));
        let res = dst.write(&buf.as_slice()[self.head..end]);
        if let Ok(n) = res {
            self.head += n;
            self.total += n as u64;
        }
        self.keep_or_release(buf, pool);
        res
    }

    /// Writes `prefix` (a head weir made) and then at most `max` buffered
    /// bytes in one `writev`. Returns how many bytes of each went; only the
    /// buffered ones count in `total`.
    pub fn write_after<W: Write>(
        &mut self,
        prefix: &[u8],
        dst: &mut W,
        max: usize,
        pool: &mut BufferPool,
    ) -> io::Result<(usize, usize)> {
        let Some(buf) = self.buf.take() else {
            return dst.write(prefix).map(|n| (n, 0));
        };
        let end = self.tail.min(self.head.saturating_add(max));
        let bufs = [
            IoSlice::new(prefix),
            IoSlice::new(&buf.as_slice()[self.head..end]),
        ];
        let res = dst.write_vectored(&bufs).map(|n| {
            let from_prefix = n.min(prefix.len());
            let from_buf = n - from_prefix;
            self.head += from_buf;
            self.total += from_buf as u64;
            (from_prefix, from_buf)
        });
        self.keep_or_release(buf, pool);
        res
    }

    /// Whether the next read should go through a pipe: the direction
    /// streams and its buffer is empty (or it holds a pipe already).
    pub fn wants_pipe(&self) -> bool {
        self.pipe.is_some() || (self.streaming && self.head == self.tail)
    }

    /// Whether the channel holds a pipe.
    pub fn holds_pipe(&self) -> bool {
        self.pipe.is_some()
    }

    /// Bytes in the pipe.
    pub fn piped(&self) -> usize {
        self.piped
    }

    /// Whether a splice into the pipe may add to it now.
    pub fn pipe_has_room(&self) -> bool {
        self.pipe.is_some() && !self.pipe_full
    }

    /// Takes a pipe if the channel has none (and its buffer is empty);
    /// false when none could be had: the read goes to the buffer.
    pub fn take_pipe(&mut self, pipes: &mut PipePool, conns: usize) -> bool {
        if self.pipe.is_none() && self.head == self.tail {
            self.pipe = pipes.get(conns);
        }
        self.pipe.is_some()
    }

    /// Splices once from `src` into the pipe. `Ok(0)` is EOF. On
    /// `WouldBlock` with bytes in the pipe, the pipe counts as full until
    /// it drains.
    pub fn splice_from<S: AsFd>(&mut self, src: S) -> io::Result<usize> {
        let Some(pipe) = &self.pipe else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let res = pipe.fill_from(src, SPLICE_MAX);
        match &res {
            Ok(n) => self.piped += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && self.piped > 0 => {
                self.pipe_full = true;
            }
            Err(_) => {}
        }
        res
    }

    /// Splices once from the pipe to `dst`; the pipe goes back to `pipes`
    /// once it is empty.
    pub fn splice_to<D: AsFd>(&mut self, dst: D, pipes: &mut PipePool) -> io::Result<usize> {
        let Some(pipe) = &self.pipe else {
            return Ok(0);
        };
        let res = pipe.drain_to(dst, self.piped);
        if let Ok(n) = res {
            let n = n.min(self.piped);
            self.piped -= n;
            self.total += n as u64;
            pipes.count(n);
        }
        self.put_pipe_if_empty(pipes);
        res
    }

    /// Gives the pipe back if it holds nothing.
    pub fn put_pipe_if_empty(&mut self, pipes: &mut PipePool) {
        if self.piped == 0 {
            if let Some(p) = self.pipe.take() {
                self.pipe_full = false;
                pipes.put(p);
            }
        }
    }

    /// The session is closing: an empty pipe goes back to the pool, one
    /// that still holds bytes is closed.
    pub fn release_pipe(&mut self, pipes: &mut PipePool) {
        self.put_pipe_if_empty(pipes);
        self.pipe = None;
        self.piped = 0;
        self.pipe_full = false;
    }

    fn keep_or_release(&mut self, buf: Buffer, pool: &mut BufferPool) {
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
            pool.put(buf);
        } else {
            self.buf = Some(buf);
        }
    }

    /// Gives the buffer back whatever it holds (the session is closing);
    /// a pipe still held is closed (see [`Channel::release_pipe`]).
    pub fn release(&mut self, pool: &mut BufferPool) {
        if let Some(b) = self.buf.take() {
            pool.put(b);
        }
        self.head = 0;
        self.tail = 0;
        self.pipe = None;
        self.piped = 0;
        self.pipe_full = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_bytes_and_returns_buffer() {
        let mut pool = BufferPool::new(4);
        let mut ch = Channel::default();
        let mut src: &[u8] = b"abcdef";
        assert_eq!(ch.read_from(&mut src, &mut pool).unwrap(), 4);
        assert!(!ch.has_room());
        let mut out = Vec::new();
        assert_eq!(ch.write_to(&mut out, &mut pool).unwrap(), 4);
        assert!(ch.is_empty() && !ch.holds_buffer());
        assert_eq!(pool.stats().used, 0);
        assert_eq!(ch.read_from(&mut src, &mut pool).unwrap(), 2);
        assert_eq!(ch.write_to(&mut out, &mut pool).unwrap(), 2);
        assert_eq!(out, b"abcdef");
        assert_eq!(ch.total, 6);
        assert_eq!(ch.read_from(&mut src, &mut pool).unwrap(), 0);
        assert_eq!(pool.stats().used, 0);
    }

    #[test]
    fn head_and_body_in_one_write() {
        let mut pool = BufferPool::new(16);
        let mut ch = Channel::default();
        let mut src: &[u8] = b"bodyNEXT";
        ch.read_from(&mut src, &mut pool).unwrap();
        let mut out = Vec::new();
        let sent = ch.write_after(b"HEAD|", &mut out, 4, &mut pool).unwrap();
        assert_eq!(sent, (5, 4));
        assert_eq!(out, b"HEAD|body");
        assert_eq!((ch.total, ch.data()), (4, &b"NEXT"[..]));
    }
}
