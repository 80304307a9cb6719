//! HTTP/1.x on the wire, for both ends of the tests: a buffered connection
//! that reads heads, lines and bodies (Content-Length, chunked, until close),
//! lenient head parsing, and a streaming hash to compare large bodies
//! without keeping them. Std only; no validation beyond what the tests need
//! (weir is the strict one).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;

/// How much one `read` asks for.
const READ_CHUNK: usize = 64 * 1024;

/// Longest head either end accepts from weir (weir's own limit is 16k).
pub const MAX_HEAD: usize = 256 * 1024;

/// A TCP stream with a read buffer that is never ahead of what was asked
/// for by more than one `read`.
pub struct BufConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes read from the socket so far.
    pub total_read: u64,
}

impl BufConn {
    pub fn new(stream: TcpStream) -> BufConn {
        BufConn {
            stream,
            buf: Vec::new(),
            pos: 0,
            total_read: 0,
        }
    }

    /// Bytes read from the socket and not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Drops the first `n` buffered bytes.
    pub fn consume(&mut self, n: usize) {
        self.pos += n;
        debug_assert!(self.pos <= self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Reads once more from the socket; `Ok(false)` at EOF.
    pub fn fill(&mut self) -> io::Result<bool> {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let n = loop {
            match self.stream.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        self.total_read += n as u64;
        Ok(n > 0)
    }

    /// The next head, up to and including its empty line. `Ok(None)` on a
    /// clean EOF before any byte of it.
    pub fn read_head(&mut self, max: usize) -> io::Result<Option<Vec<u8>>> {
        let mut searched: usize = 0;
        loop {
            let b = self.buffered();
            let from = searched.saturating_sub(3);
            if let Some(i) = find(&b[from..], b"\r\n\r\n") {
                let end = from + i + 4;
                let head = b[..end].to_vec();
                self.consume(end);
                return Ok(Some(head));
            }
            searched = b.len();
            if b.len() > max {
                return Err(io::Error::new(ErrorKind::InvalidData, "head too large"));
            }
            if !self.fill()? {
                return if self.buffered().is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "EOF inside a head",
                    ))
                };
            }
        }
    }

    /// One line, CRLF included.
    pub fn read_line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buffered().iter().position(|&b| b == b'\n') {
                let line = self.buffered()[..=i].to_vec();
                self.consume(i + 1);
                return Ok(line);
            }
            if self.buffered().len() > max {
                return Err(io::Error::new(ErrorKind::InvalidData, "line too long"));
            }
            if !self.fill()? {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "EOF inside a line",
                ));
            }
        }
    }

    /// Exactly `n` bytes, handed to `f` piece by piece.
    pub fn take(&mut self, mut n: u64, mut f: impl FnMut(&[u8])) -> io::Result<()> {
        while n > 0 {
            if self.buffered().is_empty() && !self.fill()? {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("EOF with {n} body bytes missing"),
                ));
            }
            let b = self.buffered();
            let k = (b.len() as u64).min(n) as usize;
            f(&b[..k]);
            self.consume(k);
            n -= k as u64;
        }
        Ok(())
    }

    /// Everything until EOF, handed to `f` piece by piece.
    pub fn take_to_eof(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<()> {
        loop {
            let n = self.buffered().len();
            if n > 0 {
                f(self.buffered());
                self.consume(n);
            }
            if !self.fill()? {
                return Ok(());
            }
        }
    }

    /// A chunked body: the data goes to `data`, every byte as received
    /// (sizes, extensions, CRLFs, trailers) to `raw`. Returns the trailers.
    pub fn read_chunked(
        &mut self,
        mut data: impl FnMut(&[u8]),
        mut raw: impl FnMut(&[u8]),
    ) -> io::Result<Vec<(String, String)>> {
        loop {
            let line = self.read_line(8192)?;
            raw(&line);
            let text = String::from_utf8_lossy(&line);
            let size_text = text.trim_end().split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                io::Error::new(
                    ErrorKind::InvalidData,
                    format!("bad chunk size line {text:?}"),
                )
            })?;
            if size == 0 {
                break;
            }
            self.take(size, |b| {
                data(b);
                raw(b);
            })?;
            let crlf = self.read_line(8)?;
            raw(&crlf);
            if crlf != b"\r\n" {
                return Err(io::Error::new(ErrorKind::InvalidData, "chunk without CRLF"));
            }
        }
        let mut trailers = Vec::new();
        loop {
            let line = self.read_line(8192)?;
            raw(&line);
            if line == b"\r\n" {
                return Ok(trailers);
            }
            if let Some((n, v)) = split_field(&String::from_utf8_lossy(&line)) {
                trailers.push((n, v));
            }
        }
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }
}

/// The first position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `Name: value` (value trimmed), or `None` without a colon.
pub fn split_field(line: &str) -> Option<(String, String)> {
    let (n, v) = line.trim_end_matches(['\r', '\n']).split_once(':')?;
    Some((n.to_string(), v.trim().to_string()))
}

/// A head split into its start line and its fields (lossy UTF-8).
pub fn parse_head(head: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    let fields = lines
        .take_while(|l| !l.is_empty())
        .filter_map(split_field)
        .collect();
    (start, fields)
}

/// Every value of field `name` (case-insensitive), in order.
pub fn values<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// True if some value of `name`, split on commas, is `token`
/// (case-insensitive).
pub fn has_token(fields: &[(String, String)], name: &str, token: &str) -> bool {
    values(fields, name)
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A streaming 64-bit hash over 8-byte words, the same whatever the
/// boundaries of the pieces it is fed (not cryptographic: it catches lost,
/// duplicated, reordered or altered bytes).
#[derive(Clone)]
pub struct Hash64 {
    h: u64,
    pending: [u8; 8],
    npending: usize,
    len: u64,
}

impl Default for Hash64 {
    fn default() -> Self {
        Hash64::new()
    }
}

impl Hash64 {
    pub fn new() -> Hash64 {
        Hash64 {
            h: 0xCBF2_9CE4_8422_2325,
            pending: [0; 8],
            npending: 0,
            len: 0,
        }
    }

    fn word(&mut self, w: u64) {
        self.h = (self.h.rotate_left(23) ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.npending > 0 {
            let k = (8 - self.npending).min(data.len());
            self.pending[self.npending..self.npending + k].copy_from_slice(&data[..k]);
            self.npending += k;
            data = &data[k..];
            if self.npending < 8 {
                return;
            }
            let w = u64::from_le_bytes(self.pending);
            self.word(w);
            self.npending = 0;
        }
        let mut words = data.chunks_exact(8);
        for c in &mut words {
            self.word(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.npending = rest.len();
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        let mut last = [0u8; 8];
        last[..self.npending].copy_from_slice(&self.pending[..self.npending]);
        let mut h = (self.h.rotate_left(23) ^ u64::from_le_bytes(last))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ self.len;
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        format!("{h:016x}")
    }
}

/// The [`Hash64`] of `data`.
pub fn hash_of(data: &[u8]) -> String {
    let mut h = Hash64::new();
    h.update(data);
    h.hex()
}
