//! The transport of a stream whose server speaks HTTP/2: no socket of its
//! own, a share of one of the worker's HTTP/2 connections to that server
//! ([`crate::mux::h2_server`]). The stream writes its request as HTTP/1.1
//! text and reads its response as HTTP/1.1 text, exactly as over a
//! socket; the server mux frames the one and unframes the other. The
//! client-side [`super::pipe::Pipe`] is the same idea facing the other
//! way.
//!
//! Both ends hold the [`LinkState`] (`Rc<RefCell<…>>`: a worker is one
//! thread, and the two ends live in different tables). The stream's end
//! going away (its [`Conn`](super::Conn) dropped) is how the mux learns
//! the stream is over: a request or response still under way is then
//! reset (CANCEL). A link has no poller: the mux wakes the stream's task
//! when it changed something, and the stream's connection counts every
//! wake as readiness ([`super::Conn::link_edge`]).
//!
//! Back-pressure: the request side takes what fits under `limit`; the
//! response side is bounded by the stream's HTTP/2 window, whose credit
//! the mux gives back only once the stream has read what it was given.

use std::cell::RefCell;
use std::io::{self, ErrorKind, IoSlice};
use std::rc::Rc;

/// Where the connection under a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Up {
    /// The server connection is being opened (TCP, TLS).
    #[default]
    Connecting,
    /// Requests may go.
    Ready,
    /// It could not be opened: the stream's connect failed (it retries).
    Failed,
}

/// What the two ends of a link share.
#[derive(Debug, Default)]
pub struct LinkState {
    pub up: Up,
    /// Request bytes (HTTP/1.1 text) the stream wrote, not framed yet.
    pub out: Vec<u8>,
    /// Response bytes (HTTP/1.1 text) for the stream; `inb[taken..]` are
    /// still to read.
    pub inb: Vec<u8>,
    taken: usize,
    /// The response is complete: reads return 0 once `inb` is read.
    pub end: bool,
    /// The stream was reset (by the server, or the connection failed):
    /// reads and writes fail.
    pub reset: bool,
    /// The most `out` may hold.
    pub limit: usize,
}

impl LinkState {
    /// A link whose request side holds up to `limit` bytes.
    pub fn new(up: Up, limit: usize) -> LinkState {
        LinkState {
            up,
            limit,
            ..LinkState::default()
        }
    }

    /// Response bytes not read yet.
    pub fn unread(&self) -> usize {
        self.inb.len() - self.taken
    }
}

/// The stream's end.
#[derive(Debug)]
pub struct Link {
    pub state: Rc<RefCell<LinkState>>,
    /// The mux's task, woken when the stream wrote or read.
    pub task: usize,
}

impl Link {
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.state.borrow_mut();
        if s.reset {
            return Err(ErrorKind::ConnectionReset.into());
        }
        let avail = &s.inb[s.taken..];
        if avail.is_empty() {
            return if s.end {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        s.taken += n;
        if s.taken == s.inb.len() {
            s.inb.clear();
            s.taken = 0;
        }
        Ok(n)
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut s = self.state.borrow_mut();
        if s.reset || s.up == Up::Failed {
            return Err(ErrorKind::ConnectionReset.into());
        }
        let limit = s.limit;
        super::pipe::append_bounded(&mut s.out, limit, bufs)
    }

    /// Whether the mux has framed everything the stream wrote.
    pub fn flushed(&self) -> bool {
        self.state.borrow().out.is_empty()
    }

    /// Whether the connection under it is up: `Err` when it failed.
    pub fn connected(&self) -> io::Result<bool> {
        match self.state.borrow().up {
            Up::Connecting => Ok(false),
            Up::Ready => Ok(true),
            Up::Failed => Err(ErrorKind::ConnectionRefused.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_mux_gave_then_eof_at_the_end() {
        let state = Rc::new(RefCell::new(LinkState {
            limit: 4,
            ..LinkState::default()
        }));
        let mut l = Link {
            state: state.clone(),
            task: 0,
        };
        let mut buf = [0u8; 3];
        assert_eq!(l.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        state.borrow_mut().inb.extend_from_slice(b"hello");
        assert_eq!(l.read(&mut buf).unwrap(), 3);
        assert_eq!(state.borrow().unread(), 2);
        assert_eq!(l.read(&mut buf).unwrap(), 2);
        assert!(state.borrow().inb.is_empty());
        state.borrow_mut().end = true;
        assert_eq!(l.read(&mut buf).unwrap(), 0);
        state.borrow_mut().reset = true;
        assert!(l.read(&mut buf).is_err());
    }

    #[test]
    fn writes_stop_at_the_limit() {
        let state = Rc::new(RefCell::new(LinkState {
            limit: 4,
            ..LinkState::default()
        }));
        let mut l = Link { state, task: 0 };
        assert_eq!(
            l.write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"def")])
                .unwrap(),
            4
        );
        assert_eq!(
            l.write_vectored(&[IoSlice::new(b"x")]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(!l.flushed());
    }
}
