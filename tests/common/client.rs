//! Clients: connections to weir's frontends, deterministic payloads, and
//! waiting for a connection to be closed.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Read and write timeout of every client socket: a hung proxy fails the
/// test instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to 127.0.0.1:`port` with [`IO_TIMEOUT`]s set.
pub fn connect(port: u16) -> io::Result<TcpStream> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Connects, sends `payload`, half-closes, and reads until EOF.
pub fn request(port: u16, payload: &[u8]) -> io::Result<Vec<u8>> {
    let mut s = connect(port)?;
    s.write_all(payload)?;
    s.shutdown(Shutdown::Write)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

/// Connects and reads until EOF without sending anything (for origins that
/// speak first, like `named_origin`).
pub fn read_all(port: u16) -> io::Result<String> {
    let mut s = connect(port)?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Sends `msg` and reads exactly as many bytes back (one echo round trip on
/// an open connection).
pub fn echo_roundtrip(s: &mut TcpStream, msg: &[u8]) -> io::Result<()> {
    s.write_all(msg)?;
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back)?;
    if back != msg {
        return Err(io::Error::other("echo returned different bytes"));
    }
    Ok(())
}

/// Waits until the peer closes `s` (EOF or reset), discarding any data;
/// returns how long that took. Errors if it is still open after `timeout`.
pub fn wait_closed(s: &mut TcpStream, timeout: Duration) -> io::Result<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(io::Error::new(ErrorKind::TimedOut, "still open"));
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf) {
            Ok(0) => return Ok(start.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                return Err(io::Error::new(ErrorKind::TimedOut, "still open"))
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // reset, aborted…: closed
            Err(_) => return Ok(start.elapsed()),
        }
    }
}

/// A deterministic pseudo-random byte stream (xorshift64*): the sender and
/// the checker each make one from the same seed, so gigabytes can be compared
/// without being stored.
pub struct Payload {
    state: u64,
    word: [u8; 8],
    used: usize,
}

impl Payload {
    pub fn new(seed: u64) -> Payload {
        Payload {
            state: seed | 1,
            word: [0; 8],
            used: 8,
        }
    }

    fn next_word(&mut self) -> [u8; 8] {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes()
    }

    /// Fills `buf` with the next `buf.len()` bytes of the stream.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut i = 0;
        while i < buf.len() && self.used < 8 {
            buf[i] = self.word[self.used];
            self.used += 1;
            i += 1;
        }
        let mut chunks = buf[i..].chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_word());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            self.word = self.next_word();
            let n = rest.len();
            rest.copy_from_slice(&self.word[..n]);
            self.used = n;
        }
    }

    /// `len` bytes of the stream seeded with `seed`.
    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        Payload::new(seed).fill(&mut v);
        v
    }
}
