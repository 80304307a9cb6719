//! The read buffer of an HTTP/2 connection (either mux): frames as read,
//! until the protocol takes them. Not a pool buffer: one frame may be
//! larger than `bufsize` (16 KiB of payload is every peer's default, plus
//! its 9-byte header), and the protocol only takes whole frames. Freed
//! whenever it is empty, so an idle connection holds none.

use crate::conn::Conn;
use std::io::{self, ErrorKind, Read};

/// Bytes read per call, at most.
const CHUNK: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct ReadBuf {
    buf: Vec<u8>,
    /// `buf[start..]` is still to be taken.
    start: usize,
    /// The peer closed its side.
    pub eof: bool,
}

impl ReadBuf {
    /// Reads while the connection has bytes, up to about `budget`;
    /// returns how many came.
    pub fn fill(&mut self, conn: &mut Conn, budget: usize) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut total = 0;
        while !self.eof && conn.readable && total < budget {
            let len = self.buf.len();
            self.buf.resize(len + CHUNK, 0);
            let res = conn.read(&mut self.buf[len..]);
            let n = *res.as_ref().unwrap_or(&0);
            self.buf.truncate(len + n);
            match res {
                Ok(0) => self.eof = true,
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.buf.len()
    }

    /// Bytes that were read by someone else first (the preface the
    /// HTTP/1 mux read before it handed the connection over).
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The protocol took the first `n` bytes.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.buf = Vec::new();
            self.start = 0;
        }
    }
}
