//! The lines queued for one log target, and how they leave: datagrams in
//! one `sendmmsg(2)` per batch, console lines in one `write(2)`.
//!
//! A batch is bounded ([`MAX_LINES`] lines, [`MAX_BYTES`] bytes): the
//! [`super::Logger`] flushes it when the next line would not fit, when the
//! worker is about to poll, and at exit. Nothing here blocks on a socket:
//! what a syslog socket cannot take now is dropped and counted. Console
//! writes block only if the descriptor does (as before batching).

use crate::sys::{send_datagrams, SENDMMSG_MAX};
use std::io::ErrorKind;
use std::os::fd::BorrowedFd;

/// Lines queued at most before a flush (one `sendmmsg` carries them all).
pub const MAX_LINES: usize = SENDMMSG_MAX;
/// Bytes queued at most before a flush; a longer line goes out alone.
pub const MAX_BYTES: usize = 64 * 1024;

/// Formatted lines, back to back, and where each ends.
#[derive(Default)]
pub struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether a line of `len` bytes can be queued without a flush first.
    /// An empty batch takes any line.
    pub fn fits(&self, len: usize) -> bool {
        self.is_empty() || (self.ends.len() < MAX_LINES && self.bytes.len() + len <= MAX_BYTES)
    }

    /// Whether the batch reached a bound and should be flushed now.
    pub fn full(&self) -> bool {
        self.ends.len() >= MAX_LINES || self.bytes.len() >= MAX_BYTES
    }

    /// Queues one line made of `parts`.
    pub fn push(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.bytes.extend_from_slice(p);
        }
        self.ends.push(self.bytes.len());
    }

    fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Sends every line as one datagram to `to`, in order; returns how many
    /// were dropped. A datagram the socket refuses for good (too long, no
    /// receiver) is dropped; when the receiver's queue is full (`EAGAIN`),
    /// the lines not sent stay queued if `retry_later` (the next flush, the
    /// next loop turn, tries again), else they are dropped too.
    pub fn send(&mut self, fd: BorrowedFd<'_>, to: &socket2::SockAddr, retry_later: bool) -> u64 {
        let n = self.ends.len();
        let mut dropped = 0;
        let mut start = 0;
        while start < n {
            let mut lines: [&[u8]; MAX_LINES] = [&[]; MAX_LINES];
            let count = (n - start).min(MAX_LINES);
            for (k, slot) in lines.iter_mut().enumerate().take(count) {
                *slot = self.line(start + k);
            }
            match send_datagrams(fd, to, &lines[..count]) {
                Ok(0) => {
                    dropped += (n - start) as u64;
                    break;
                }
                Ok(sent) => start += sent,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS) =>
                {
                    if retry_later {
                        self.forget_first(start);
                        return dropped;
                    }
                    dropped += (n - start) as u64;
                    break;
                }
                // This one cannot go (EMSGSIZE, no receiver...): the next may.
                Err(_) => {
                    dropped += 1;
                    start += 1;
                }
            }
        }
        self.clear();
        dropped
    }

    /// Removes the first `k` lines.
    fn forget_first(&mut self, k: usize) {
        if k == 0 {
            return;
        }
        let cut = self.ends[k - 1];
        self.bytes.drain(..cut);
        self.ends.drain(..k);
        for e in &mut self.ends {
            *e -= cut;
        }
    }

    /// Writes every line to `fd` with as few `write` calls as it takes
    /// (one, unless the descriptor takes part of it); returns how many lines
    /// were dropped. If the descriptor refuses more in the middle of a
    /// line, the rest of that line stays queued (so the output keeps whole
    /// lines) and the lines after it are dropped.
    pub fn write(&mut self, fd: BorrowedFd<'_>) -> u64 {
        let total = self.bytes.len();
        let mut off = 0;
        while off < total {
            match nix::unistd::write(fd, &self.bytes[off..]) {
                Ok(0) => break,
                Ok(n) => off += n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        if off == total {
            self.clear();
            return 0;
        }
        // The first line not written whole.
        let i = self.ends.partition_point(|&e| e <= off);
        let line_start = if i == 0 { 0 } else { self.ends[i - 1] };
        if off == line_start {
            let dropped = (self.ends.len() - i) as u64;
            self.clear();
            return dropped;
        }
        let end = self.ends[i];
        let dropped = (self.ends.len() - i - 1) as u64;
        self.bytes.truncate(end);
        self.bytes.drain(..off);
        self.ends.clear();
        self.ends.push(end - off);
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn bounds() {
        let mut b = Batch::default();
        assert!(b.fits(MAX_BYTES * 2), "an empty batch takes any line");
        b.push(&[b"x"]);
        assert!(!b.fits(MAX_BYTES));
        for _ in 1..MAX_LINES {
            assert!(b.fits(1));
            b.push(&[b"y"]);
        }
        assert!(b.full());
        assert!(!b.fits(1));
    }

    #[test]
    fn datagrams_in_order_and_drops_counted() {
        let dir = std::env::temp_dir().join(format!("weir-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rx.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        tx.set_nonblocking(true).unwrap();
        let to = socket2::SockAddr::unix(&path).unwrap();
        let mut b = Batch::default();
        for i in 0..MAX_LINES {
            b.push(&[b"line ", i.to_string().as_bytes()]);
        }
        // A unix receiver queues few datagrams (net.unix.max_dgram_qlen,
        // often 10): what it refuses waits for the next flush.
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        for _ in 0..MAX_LINES {
            assert_eq!(b.send(tx.as_fd(), &to, true), 0);
            while let Ok(n) = rx.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            if b.is_empty() {
                break;
            }
        }
        assert!(b.is_empty());
        let want: Vec<String> = (0..MAX_LINES).map(|i| format!("line {i}")).collect();
        assert_eq!(got, want);
        // Without retry, what the full queue refuses is dropped and counted.
        for i in 0..MAX_LINES {
            b.push(&[b"again ", i.to_string().as_bytes()]);
        }
        let dropped = b.send(tx.as_fd(), &to, false);
        assert!(b.is_empty());
        let mut received = 0;
        while rx.recv(&mut buf).is_ok() {
            received += 1;
        }
        assert_eq!(received + dropped, MAX_LINES as u64);
        // Nobody at the address: every line is dropped, and counted.
        drop(rx);
        std::fs::remove_dir_all(&dir).unwrap();
        b.push(&[b"a"]);
        b.push(&[b"b"]);
        assert_eq!(b.send(tx.as_fd(), &to, true), 2);
        assert!(b.is_empty());
    }

    fn read_all(r: &OwnedFd) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = nix::unistd::read(r, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[test]
    fn console_lines_and_a_partial_write() {
        let (r, w) = nix::unistd::pipe().unwrap();
        fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let mut b = Batch::default();
        b.push(&[b"one\n"]);
        b.push(&[b"two", b"\n"]);
        assert_eq!(b.write(w.as_fd()), 0);
        assert_eq!(read_all(&r), b"one\ntwo\n");

        // A full non-blocking pipe takes part of a line: the rest of it
        // stays queued, the lines after it are dropped.
        fcntl(&w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let cap = fcntl(&w, FcntlArg::F_GETPIPE_SZ).unwrap() as usize;
        let long = vec![b'x'; cap + 10];
        b.push(&[&long, b"\n"]);
        b.push(&[b"after\n"]);
        assert_eq!(b.write(w.as_fd()), 1);
        assert_eq!(b.len(), 1);
        let mut got = read_all(&r);
        assert_eq!(b.write(w.as_fd()), 0);
        assert!(b.is_empty());
        got.extend_from_slice(&read_all(&r));
        assert_eq!(got.len(), cap + 11);
        assert!(got.iter().take(cap + 10).all(|&c| c == b'x'));
        assert!(got.ends_with(b"x\n"));
    }
}
