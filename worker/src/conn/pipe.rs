//! The transport of a stream on a multiplexed connection (HTTP/2): no
//! socket, a buffer the stream writes its response into, in HTTP/1.1
//! text, for its mux to frame onto the real connection. The request
//! arrives the other way without it: the mux puts the stream's request
//! bytes straight into the stream's request channel. So a stream runs the
//! same analysers, whatever carries it (HAProxy 1.8's HTTP/2 took this
//! shape too: the mux converts, the stream sees HTTP/1).
//!
//! Back-pressure: a write takes what fits under the pipe's limit; a full
//! pipe makes the stream wait, and the mux, once it has framed bytes
//! out, marks the stream's connection writable again and wakes it. A
//! stream the peer reset reads an error at its next read, and ends.

use std::io::{self, ErrorKind, IoSlice};

/// Appends what fits of `bufs` to `out` while it holds under `limit`
/// bytes: the bytes taken, `WouldBlock` when full (a socket's write).
pub fn append_bounded(out: &mut Vec<u8>, limit: usize, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let mut room = limit.saturating_sub(out.len());
    if room == 0 {
        return Err(ErrorKind::WouldBlock.into());
    }
    let mut total = 0;
    for b in bufs {
        let n = b.len().min(room);
        out.extend_from_slice(&b[..n]);
        total += n;
        room -= n;
        if room == 0 {
            break;
        }
    }
    Ok(total)
}

/// One stream's end of its mux.
#[derive(Debug, Default)]
pub struct Pipe {
    /// Response bytes written, not yet framed by the mux.
    out: Vec<u8>,
    /// The most `out` may hold.
    limit: usize,
    /// The peer reset the stream: reads and writes fail.
    reset: bool,
}

impl Pipe {
    pub fn new(limit: usize) -> Pipe {
        Pipe {
            out: Vec::new(),
            limit,
            reset: false,
        }
    }

    /// No request byte ever comes by reading (the mux puts them in the
    /// stream's channel); a reset stream reads an error.
    pub fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        if self.reset {
            return Err(ErrorKind::ConnectionReset.into());
        }
        Err(ErrorKind::WouldBlock.into())
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.reset {
            return Err(ErrorKind::ConnectionReset.into());
        }
        append_bounded(&mut self.out, self.limit, bufs)
    }

    /// Whether everything written has been framed.
    pub fn flushed(&self) -> bool {
        self.out.is_empty()
    }

    /// The bytes waiting for the mux.
    pub fn pending(&self) -> &[u8] {
        &self.out
    }

    /// The mux framed the first `n` pending bytes.
    pub fn consumed(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
        if self.out.is_empty() && self.out.capacity() > self.limit {
            self.out = Vec::new();
        }
    }

    /// The peer reset the stream.
    pub fn set_reset(&mut self) {
        self.reset = true;
    }

    pub fn is_reset(&self) -> bool {
        self.reset
    }
}
