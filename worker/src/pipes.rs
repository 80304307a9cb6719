//! The pipe pool: kernel pipes that channels borrow to move bytes with
//! `splice(2)` (socket → pipe → socket, never copied to user space), the
//! way channels borrow buffers from the buffer pool.
//!
//! A channel takes a pipe when it starts splicing and gives it back the
//! moment the pipe is empty, so an idle connection holds none. The pool is
//! per worker and bounded: at most `maxconn / 4` pipes exist (HAProxy's
//! `tune.maxpipes` default), and a pipe is made only while the descriptors
//! of the connections open now leave room for its two ends. When no pipe
//! can be had, the channel stays on the buffer path. Each pipe is sized
//! to [`PIPE_SIZE`]; one the kernel keeps smaller than 64 KiB is not used.
//! Free pipes beyond a small reserve (and beyond the number in use) are
//! closed; SIGQUIT closes them all ([`PipePool::release_unused`]).

use nix::fcntl::{fcntl, splice, FcntlArg, OFlag, SpliceFFlags};
use nix::sys::resource::{getrlimit, Resource};
use nix::unistd::pipe2;
use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use weir_core::config::model::Config;

/// The size asked of each pipe with `F_SETPIPE_SZ` (the kernel's default
/// is 64 KiB, 16 slots). 256 KiB moves a 256 KiB response in two
/// splice pairs instead of five (`strace -c`: 7.1 against 14.0 syscalls
/// per request on tcp-ka-256k), for the same CPU; 1 MiB cost more CPU.
pub const PIPE_SIZE: usize = 256 * 1024;

/// A pipe the kernel made smaller than this is not worth splicing
/// through (an unprivileged user past `fs.pipe-user-pages-soft` gets
/// 2-slot pipes): it is closed, and the channel keeps its buffer.
const MIN_PIPE: usize = 64 * 1024;

/// Free pipes always kept, however few are in use.
const RESERVE: usize = 8;

/// After the kernel refused a pipe (or gave a small one), this many
/// requests for a new one are refused before it is asked again.
const BACKOFF: u32 = 1024;

/// Descriptors a worker keeps besides connections and pipes (the poller,
/// the signal queue, log sockets, slack), as the master counts them.
const FIXED_FDS: usize = 64;

/// The pool of a worker: `maxconn / 4` pipes at most, within the
/// descriptor limit the master set.
pub fn for_worker(config: &Config, listeners: usize) -> PipePool {
    let nofile = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    let nofile = usize::try_from(nofile).unwrap_or(usize::MAX);
    let fd_room = nofile.saturating_sub(listeners + FIXED_FDS);
    PipePool::new(config.global.maxconn / 4, fd_room)
}

/// One pipe: its two ends. The pool counts it until it is dropped.
pub struct Pipe {
    rd: OwnedFd,
    wr: OwnedFd,
    live: Rc<Cell<usize>>,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.live.set(self.live.get().saturating_sub(1));
    }
}

impl Pipe {
    /// Moves at most `max` bytes from the socket `src` into the pipe.
    /// `Ok(0)` is the socket's EOF; `WouldBlock` means the socket is empty
    /// *or* the pipe is full (the kernel does not say which).
    pub fn fill_from<S: AsFd>(&self, src: S, max: usize) -> io::Result<usize> {
        splice(src, None, &self.wr, None, max, flags()).map_err(io::Error::from)
    }

    /// Moves at most `len` bytes from the pipe to the socket `dst`.
    pub fn drain_to<D: AsFd>(&self, dst: D, len: usize) -> io::Result<usize> {
        splice(&self.rd, None, dst, None, len, flags()).map_err(io::Error::from)
    }
}

fn flags() -> SpliceFFlags {
    SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
}

/// Usage figures, for SIGQUIT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipeStats {
    /// Bytes the last pipe made holds (`F_GETPIPE_SZ`).
    pub size: usize,
    /// Pipes that may exist at once.
    pub max: usize,
    /// Pipes that exist (in use + free).
    pub allocated: usize,
    /// Pipes held by channels now.
    pub used: usize,
    /// Most pipes ever in use at once.
    pub peak_used: usize,
    /// Times a channel wanted a pipe and got none (it used its buffer).
    pub refused: u64,
    /// Bytes that went through pipes.
    pub spliced: u64,
}

/// A bounded free list of pipes.
pub struct PipePool {
    free: Vec<Pipe>,
    live: Rc<Cell<usize>>,
    max: usize,
    /// Descriptors left for connections and pipes (`RLIMIT_NOFILE` minus
    /// listeners and fixed ones).
    fd_room: usize,
    size: usize,
    /// Requests to refuse before asking the kernel again (see [`BACKOFF`]).
    backoff: u32,
    peak_used: usize,
    refused: u64,
    spliced: u64,
}

impl PipePool {
    /// A pool of at most `max` pipes, made only while `2 × connections +
    /// 2 × pipes` stays within `fd_room` descriptors.
    pub fn new(max: usize, fd_room: usize) -> PipePool {
        PipePool {
            free: Vec::with_capacity(RESERVE),
            live: Rc::new(Cell::new(0)),
            max,
            fd_room,
            size: 0,
            backoff: 0,
            peak_used: 0,
            refused: 0,
            spliced: 0,
        }
    }

    /// Pipes held by channels now.
    pub fn used(&self) -> usize {
        self.live.get() - self.free.len()
    }

    /// A pipe for a channel, or `None` when the pool is at its bound, the
    /// descriptors of `conns` open connections leave no room, or the kernel
    /// refuses one.
    pub fn get(&mut self, conns: usize) -> Option<Pipe> {
        let pipe = match self.free.pop() {
            Some(p) => p,
            None => {
                let live = self.live.get();
                let fds = 2 * conns.saturating_add(live + 1);
                if live >= self.max || fds > self.fd_room || self.backoff > 0 {
                    self.backoff = self.backoff.saturating_sub(1);
                    self.refused += 1;
                    return None;
                }
                match self.make() {
                    Ok(p) => p,
                    Err(_) => {
                        self.backoff = BACKOFF;
                        self.refused += 1;
                        return None;
                    }
                }
            }
        };
        self.peak_used = self.peak_used.max(self.used());
        Some(pipe)
    }

    fn make(&mut self) -> io::Result<Pipe> {
        let (rd, wr) = pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        // Refused beyond `fs.pipe-max-size` or the per-user limits: the
        // pipe keeps the size it has, checked below.
        let _ = fcntl(&wr, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE as i32));
        self.size = fcntl(&wr, FcntlArg::F_GETPIPE_SZ).map_or(0, |n| n.max(0) as usize);
        if self.size < MIN_PIPE {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        self.live.set(self.live.get() + 1);
        Ok(Pipe {
            rd,
            wr,
            live: Rc::clone(&self.live),
        })
    }

    /// Takes back an empty pipe: kept for reuse while free pipes number
    /// fewer than those in use plus a small reserve, else closed.
    pub fn put(&mut self, pipe: Pipe) {
        let used = self.used().saturating_sub(1);
        if self.free.len() < used + RESERVE {
            self.free.push(pipe);
        }
    }

    /// Counts bytes that went through a pipe.
    pub fn count(&mut self, n: usize) {
        self.spliced += n as u64;
    }

    /// Closes every free pipe (and asks the kernel again at the next
    /// need); returns how many.
    pub fn release_unused(&mut self) -> usize {
        self.backoff = 0;
        let n = self.free.len();
        self.free = Vec::new();
        n
    }

    pub fn stats(&self) -> PipeStats {
        PipeStats {
            size: self.size,
            max: self.max,
            allocated: self.live.get(),
            used: self.used(),
            peak_used: self.peak_used,
            refused: self.refused,
            spliced: self.spliced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn bounded_reused_and_released() {
        let mut pool = PipePool::new(2, 1000);
        let a = pool.get(0).expect("first pipe");
        let b = pool.get(0).expect("second pipe");
        assert!(pool.get(0).is_none(), "bound of 2");
        assert_eq!(pool.stats().refused, 1);
        pool.put(a);
        assert_eq!((pool.stats().allocated, pool.stats().used), (2, 1));
        let c = pool.get(0).expect("reused");
        assert_eq!(pool.stats().allocated, 2);
        pool.put(b);
        pool.put(c);
        assert_eq!(pool.stats().peak_used, 2);
        assert_eq!(pool.release_unused(), 2);
        assert_eq!(pool.stats().allocated, 0);
        // A pipe dropped by its holder is no longer counted.
        let d = pool.get(0).expect("new pipe");
        drop(d);
        assert_eq!((pool.stats().allocated, pool.stats().used), (0, 0));
    }

    #[test]
    fn no_pipe_when_connections_need_the_descriptors() {
        let mut pool = PipePool::new(100, 10);
        assert!(pool.get(5).is_none(), "5 connections take all 10 fds");
        assert!(pool.get(4).is_some(), "4 connections leave room for one");
    }

    #[test]
    fn splices_socket_to_socket() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l2.local_addr().unwrap()).unwrap();
        let (mut d, _) = l2.accept().unwrap();
        let mut pool = PipePool::new(1, 1000);
        let pipe = pool.get(0).unwrap();
        a.write_all(b"spliced").unwrap();
        let n = loop {
            match pipe.fill_from(&b, 1 << 16) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                r => break r.unwrap(),
            }
        };
        assert_eq!(n, 7);
        assert_eq!(pipe.drain_to(&c, n).unwrap(), 7);
        let mut got = [0u8; 7];
        d.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"spliced");
        assert!(pool.stats().size >= MIN_PIPE);
    }
}
