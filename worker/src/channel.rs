//! A channel: the bytes travelling one way (request: client → server, or
//! response: server → client), with the state of both of its ends.
//!
//! The buffer is borrowed from the pool when data arrives and returned the
//! moment the channel is empty, so an idle connection holds no buffer.
//! `shutr` means the producer has sent EOF; once the buffer drains, the
//! session shuts the consumer's write side and sets `shutw`.
//!
//! A streaming direction (see [`crate::pump`]) may instead move its bytes
//! through a pipe borrowed from the pipe pool with `splice(2)`; bytes in
//! the pipe count as buffered (`is_empty` is false), and the pipe goes
//! back to the pool the moment it is empty. A channel holds a buffer or a
//! pipe, never both: a pipe is taken only when the buffer is empty (and
//! given back), and the buffer is read into only when no pipe is held, so
//! bytes keep their order. This also keeps a channel as small as it was
//! without pipes (48 bytes: an idle connection pays for two).

use crate::pipes::{Pipe, PipePool};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsFd;
use weir_core::pool::{Buffer, BufferPool};

/// The most one splice into a pipe asks for; the pipe's room bounds it.
const SPLICE_MAX: usize = 1 << 20;

/// What a channel holds while it is not empty.
enum Held {
    Buf(Buffer),
    Pipe(Pipe),
}

#[derive(Default)]
pub struct Channel {
    held: Option<Held>,
    /// Read and write offsets in the buffer (`bufsize` is at most 1 GiB).
    head: u32,
    tail: u32,
    /// Bytes in the pipe.
    piped: u32,
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
        match &self.held {
            None => true,
            Some(Held::Buf(b)) => (self.tail as usize) < b.capacity() || self.head > 0,
            Some(Held::Pipe(_)) => false,
        }
    }

    /// Whether the channel holds a pooled buffer (for memory accounting).
    pub fn holds_buffer(&self) -> bool {
        matches!(self.held, Some(Held::Buf(_)))
    }

    /// Bytes in the buffer now (not counting the pipe's).
    pub fn len(&self) -> usize {
        (self.tail - self.head) as usize
    }

    /// The buffered bytes (an HTTP head is parsed in place here).
    pub fn data(&self) -> &[u8] {
        match &self.held {
            Some(Held::Buf(b)) => &b.as_slice()[self.head as usize..self.tail as usize],
            _ => &[],
        }
    }

    /// Whether the buffer is full: nothing more can be read until bytes
    /// leave (a head that fills it is too large).
    pub fn is_full(&self) -> bool {
        matches!(&self.held, Some(Held::Buf(b)) if self.head == 0 && self.tail as usize == b.capacity())
    }

    /// Takes the buffer out, if the channel holds one (the pipe stays).
    fn take_buf(&mut self) -> Option<Buffer> {
        match self.held.take() {
            Some(Held::Buf(b)) => Some(b),
            other => {
                self.held = other;
                None
            }
        }
    }

    /// Drops the first `n` buffered bytes (a head that was rewritten
    /// rather than forwarded); they do not count in `total`.
    pub fn consume(&mut self, n: usize, pool: &mut BufferPool) {
        self.head = (self.head as usize + n).min(self.tail as usize) as u32;
        if let Some(buf) = self.take_buf() {
            self.keep_or_release(buf, pool);
        }
    }

    /// Reads once from `src` into the buffer. `Ok(0)` is EOF. Never while
    /// the channel holds a pipe (that would reorder bytes): an error then.
    pub fn read_from<R: Read>(&mut self, src: &mut R, pool: &mut BufferPool) -> io::Result<usize> {
        let mut buf = match self.held.take() {
            Some(Held::Buf(b)) => b,
            None => pool.get(),
            Some(pipe) => {
                self.held = Some(pipe);
                return Err(io::Error::other("read into a channel that holds a pipe"));
            }
        };
        let (mut head, mut tail) = (self.head as usize, self.tail as usize);
        if tail == buf.capacity() && head > 0 {
            buf.as_mut_slice().copy_within(head..tail, 0);
            tail -= head;
            head = 0;
        }
        let res = src.read(&mut buf.as_mut_slice()[tail..]);
        if let Ok(n) = res {
            tail += n;
        }
        (self.head, self.tail) = (head as u32, tail as u32);
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
        let Some(buf) = self.take_buf() else {
            return Ok(0);
        };
        let (head, tail) = (self.head as usize, self.tail as usize);
        let end = tail.min(head.saturating_add(max));
        let res = dst.write(&buf.as_slice()[head..end]);
        if let Ok(n) = res {
            self.head += n as u32;
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
        let Some(buf) = self.take_buf() else {
            return dst.write(prefix).map(|n| (n, 0));
        };
        let (head, tail) = (self.head as usize, self.tail as usize);
        let end = tail.min(head.saturating_add(max));
        let bufs = [
            IoSlice::new(prefix),
            IoSlice::new(&buf.as_slice()[head..end]),
        ];
        let res = dst.write_vectored(&bufs).map(|n| {
            let from_prefix = n.min(prefix.len());
            let from_buf = n - from_prefix;
            self.head += from_buf as u32;
            self.total += from_buf as u64;
            (from_prefix, from_buf)
        });
        self.keep_or_release(buf, pool);
        res
    }

    /// Whether the next read should go through a pipe: the direction
    /// streams and its buffer is empty (or it holds a pipe already).
    pub fn wants_pipe(&self) -> bool {
        match self.held {
            Some(Held::Pipe(_)) => true,
            Some(Held::Buf(_)) => false,
            None => self.streaming,
        }
    }

    /// Whether the channel holds a pipe.
    pub fn holds_pipe(&self) -> bool {
        matches!(self.held, Some(Held::Pipe(_)))
    }

    /// Bytes in the pipe.
    pub fn piped(&self) -> usize {
        self.piped as usize
    }

    /// Whether a splice into the pipe may add to it now.
    pub fn pipe_has_room(&self) -> bool {
        self.holds_pipe() && !self.pipe_full
    }

    /// Takes a pipe if the channel holds nothing (no pipe, an empty
    /// buffer); false when it holds none after: the read goes to the
    /// buffer.
    pub fn take_pipe(&mut self, pipes: &mut PipePool, conns: usize) -> bool {
        if self.held.is_none() {
            self.held = pipes.get(conns).map(Held::Pipe);
        }
        self.holds_pipe()
    }

    /// Splices once from `src` into the pipe. `Ok(0)` is EOF. On
    /// `WouldBlock` with bytes in the pipe, the pipe counts as full until
    /// it drains.
    pub fn splice_from<S: AsFd>(&mut self, src: S) -> io::Result<usize> {
        self.splice_from_max(src, SPLICE_MAX)
    }

    /// Splices once, at most `max` bytes (an HTTP body's remaining
    /// length: never a byte of the next message), from `src` into the
    /// pipe; otherwise as [`Channel::splice_from`].
    pub fn splice_from_max<S: AsFd>(&mut self, src: S, max: usize) -> io::Result<usize> {
        let Some(Held::Pipe(pipe)) = &self.held else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let res = pipe.fill_from(src, max.min(SPLICE_MAX));
        match &res {
            Ok(n) => self.piped += *n as u32,
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
        let Some(Held::Pipe(pipe)) = &self.held else {
            return Ok(0);
        };
        let res = pipe.drain_to(dst, self.piped as usize);
        if let Ok(n) = res {
            let n = n.min(self.piped as usize);
            self.piped -= n as u32;
            self.total += n as u64;
            pipes.count(n);
        }
        self.put_pipe_if_empty(pipes);
        res
    }

    /// Gives the pipe back if it holds nothing.
    pub fn put_pipe_if_empty(&mut self, pipes: &mut PipePool) {
        if self.piped == 0 && self.holds_pipe() {
            if let Some(Held::Pipe(p)) = self.held.take() {
                pipes.put(p);
            }
            self.pipe_full = false;
        }
    }

    /// The session is closing: an empty pipe goes back to the pool, one
    /// that still holds bytes is closed.
    pub fn release_pipe(&mut self, pipes: &mut PipePool) {
        self.put_pipe_if_empty(pipes);
        if self.holds_pipe() {
            self.held = None;
        }
        self.piped = 0;
        self.pipe_full = false;
    }

    fn keep_or_release(&mut self, buf: Buffer, pool: &mut BufferPool) {
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
            pool.put(buf);
        } else {
            self.held = Some(Held::Buf(buf));
        }
    }

    /// Gives the buffer back whatever it holds (the session is closing);
    /// a pipe still held is closed (see [`Channel::release_pipe`]).
    pub fn release(&mut self, pool: &mut BufferPool) {
        if let Some(Held::Buf(b)) = self.held.take() {
            pool.put(b);
        }
        self.head = 0;
        self.tail = 0;
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
    fn as_small_as_without_pipes() {
        assert!(std::mem::size_of::<Channel>() <= 48);
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
