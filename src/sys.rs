//! The syscall layer: the only module of weir where `unsafe` is allowed.
//!
//! Most process and socket calls go through nix and socket2, which are safe.
//! What remains here are the calls whose safety depends on the caller's
//! situation (fork), on ownership of a raw descriptor (inherited `fd@N`), or
//! on libc state (local time). Each `unsafe` block says why it is sound.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The two sides of a fork.
pub enum Fork {
    Parent(nix::unistd::Pid),
    Child,
}

/// Forks the current process.
///
/// The caller must be single-threaded: weir's master never starts a thread,
/// so the child gets a consistent copy of every lock and allocator state.
pub fn fork() -> io::Result<Fork> {
    // SAFETY: the master process is single-threaded (no thread is ever
    // spawned before or while it forks), so the child may run arbitrary code,
    // including allocation, after the fork returns.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Fork::Parent(child)),
        Ok(nix::unistd::ForkResult::Child) => Ok(Fork::Child),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Takes ownership of descriptor `fd`, inherited from the process that
/// started us (`bind = ["fd@N"]`). Fails if `fd` is not open.
pub fn adopt_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    nix::fcntl::fcntl(
        // SAFETY: only used to query flags for the duration of this call.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .map_err(|e| io::Error::new(io::ErrorKind::NotFound, format!("fd@{fd} is not open: {e}")))?;
    // SAFETY: the descriptor is open (checked above) and was handed to us by
    // our parent for this purpose; nothing else in weir owns it, and the
    // configuration validator rejects the same fd@N named twice.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Broken-down local time, as HAProxy's log dates need it.
#[derive(Debug, Clone, Copy)]
pub struct LocalTime {
    pub year: i32,
    /// 0..=11
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
}

/// Loads the time zone once. Call before chroot: afterwards /etc/localtime
/// may be out of reach, and libc keeps what it loaded.
pub fn tzset() {
    extern "C" {
        fn tzset();
    }
    // SAFETY: tzset only reads the TZ environment variable and the zone
    // files; it is called while the process is single-threaded.
    unsafe { tzset() }
}

/// Converts seconds since the epoch to local time.
pub fn localtime(secs: i64) -> LocalTime {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value (plain integers and a null
    // zone pointer), and localtime_r writes only into it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // reentrant variant and keeps no reference to them.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return LocalTime {
            year: 1970,
            month: 0,
            day: 1,
            hour: 0,
            min: 0,
            sec: 0,
        };
    }
    LocalTime {
        year: tm.tm_year + 1900,
        month: tm.tm_mon.clamp(0, 11) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        min: tm.tm_min as u32,
        sec: tm.tm_sec as u32,
    }
}

/// The most datagrams [`send_datagrams`] passes to one `sendmmsg(2)`.
pub const SENDMMSG_MAX: usize = 64;

/// Sends each of `datagrams` (at most [`SENDMMSG_MAX`]; the rest are left
/// out) as one datagram to `to`, in order, with one `sendmmsg(2)`; returns
/// how many the kernel took. As with `sendmmsg`, an error is returned only
/// if the first one failed; the caller retries from the first one not sent
/// to learn why it was not. The socket should be non-blocking.
///
/// (nix's `sendmmsg` cannot say how many were sent without reading address
/// storage that only `recvmmsg` fills, hence this wrapper.)
pub fn send_datagrams(
    fd: std::os::fd::BorrowedFd<'_>,
    to: &socket2::SockAddr,
    datagrams: &[&[u8]],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let n = datagrams.len().min(SENDMMSG_MAX);
    if n == 0 {
        return Ok(0);
    }
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; SENDMMSG_MAX];
    // SAFETY: an all-zero `mmsghdr` is a valid value (null pointers, zero
    // lengths and flags).
    let mut msgs: [libc::mmsghdr; SENDMMSG_MAX] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        iov[i] = libc::iovec {
            iov_base: datagrams[i].as_ptr() as *mut libc::c_void,
            iov_len: datagrams[i].len(),
        };
        let h = &mut msgs[i].msg_hdr;
        h.msg_name = to.as_ptr() as *mut libc::c_void;
        h.msg_namelen = to.len();
        h.msg_iov = &mut iov[i];
        h.msg_iovlen = 1;
    }
    // SAFETY: `msgs[..n]` point to `n` iovecs and one address, all alive
    // for the call; the kernel only reads through msg_name, msg_iov and the
    // buffers (`sendmmsg` never writes to them), and writes only `msg_len`
    // of each header. `n` is at most the arrays' length.
    let sent = unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), n as libc::c_uint, 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sent as usize)
}

/// Maps `words` zeroed 64-bit atomics shared with every process forked
/// afterwards (MAP_SHARED | MAP_ANONYMOUS). The mapping is never unmapped:
/// it lives as long as the process, hence `'static`.
pub fn shared_words(words: usize) -> io::Result<&'static [std::sync::atomic::AtomicU64]> {
    use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
    let len = std::num::NonZeroUsize::new(words.max(1) * 8)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty shared region"))?;
    // SAFETY: a fresh anonymous mapping aliases no Rust object; the kernel
    // returns page-aligned, zero-filled memory of at least `len` bytes.
    let ptr = unsafe {
        mmap_anonymous(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }
    .map_err(io::Error::from)?;
    // SAFETY: the region is `words * 8` bytes, page-aligned (so aligned for
    // AtomicU64), zero-initialised (a valid AtomicU64 is any bit pattern),
    // only ever accessed through these atomics (by this process and its
    // forked children), and never unmapped, so the `'static` borrow holds.
    Ok(unsafe {
        std::slice::from_raw_parts(
            ptr.as_ptr().cast::<std::sync::atomic::AtomicU64>(),
            words.max(1),
        )
    })
}

/// Takes ownership of a descriptor received in an SCM_RIGHTS message.
pub fn adopt_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel installed this descriptor in our table when it
    // delivered the SCM_RIGHTS message; nothing else refers to it, so it
    // gets exactly one owner here.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Allocation counts of this process, when built with the `count-alloc`
/// feature (`cargo build --release -p weir --features count-alloc`): calls
/// to `alloc` (and `alloc_zeroed`), `realloc` and `dealloc` since start.
/// A worker reports them on SIGQUIT, so a benchmark can show that requests
/// in steady state allocate nothing. `None` without the feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocCounts {
    pub allocs: u64,
    pub reallocs: u64,
    pub frees: u64,
}

/// This process's allocation counts (see [`AllocCounts`]).
pub fn alloc_counts() -> Option<AllocCounts> {
    #[cfg(feature = "count-alloc")]
    {
        Some(counting::counts())
    }
    #[cfg(not(feature = "count-alloc"))]
    {
        None
    }
}

/// The counting global allocator: `std::alloc::System` plus three relaxed
/// atomic counters (a worker is single-threaded; relaxed is enough).
#[cfg(feature = "count-alloc")]
mod counting {
    use super::AllocCounts;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    static ALLOCS: AtomicU64 = AtomicU64::new(0);
    static REALLOCS: AtomicU64 = AtomicU64::new(0);
    static FREES: AtomicU64 = AtomicU64::new(0);

    struct Counting;

    // SAFETY: every method forwards its arguments unchanged to `System`,
    // which upholds the `GlobalAlloc` contract; the counters have no effect
    // on the memory returned.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCS.fetch_add(1, Relaxed);
            // SAFETY: the caller's obligations (non-zero size) pass through.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            ALLOCS.fetch_add(1, Relaxed);
            // SAFETY: as for `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            FREES.fetch_add(1, Relaxed);
            // SAFETY: `ptr` was allocated by `System` with `layout` (every
            // allocation of the process goes through this allocator).
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            REALLOCS.fetch_add(1, Relaxed);
            // SAFETY: as for `dealloc`; the caller guarantees `new_size`.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn counts() -> AllocCounts {
        AllocCounts {
            allocs: ALLOCS.load(Relaxed),
            reallocs: REALLOCS.load(Relaxed),
            frees: FREES.load(Relaxed),
        }
    }
}

/// Process titles, as nginx's `ngx_setproctitle` writes them: what `ps`
/// shows of a process is read from the memory that held its command line
/// (`/proc/PID/cmdline`), so a process renames itself by writing there.
///
/// The kernel gave the process its arguments and then its environment
/// strings, one after the other, at the top of its stack. [`init_title`]
/// learns where that area is (`/proc/self/stat`, fields 48 to 51), copies
/// the environment strings elsewhere and points `environ` at the copies, so
/// that the whole area may hold the title; [`set_title`] writes a title
/// there. A title longer than the original arguments runs on into the old
/// environment strings: the kernel then reads it up to its terminating NUL.
pub mod title {
    use std::ffi::{c_char, CStr};
    use std::io;
    use std::sync::OnceLock;

    /// `[start, end)`: the bytes a title may use (addresses in this process).
    static AREA: OnceLock<(usize, usize)> = OnceLock::new();

    extern "C" {
        /// libc's environment: a NULL-terminated array of C strings.
        static mut environ: *mut *mut c_char;
    }

    /// `arg_start`, `arg_end`, `env_start`, `env_end` of this process.
    fn bounds() -> io::Result<(usize, usize, usize, usize)> {
        let stat = std::fs::read_to_string("/proc/self/stat")?;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/self/stat");
        // Fields after the command name (which may hold spaces and
        // parentheses) start at field 3; arg_start is field 48.
        let rest = stat
            .get(stat.rfind(')').ok_or_else(bad)? + 1..)
            .ok_or_else(bad)?;
        let fields: Vec<usize> = rest
            .split_whitespace()
            .skip(45)
            .take(4)
            .map(|f| f.parse().map_err(|_| bad()))
            .collect::<io::Result<_>>()?;
        match fields[..] {
            [a, b, c, d] if 0 < a && a < b && b <= c && c <= d => Ok((a, b, c, d)),
            _ => Err(bad()),
        }
    }

    /// Prepares the area. Call once, early, while the process is
    /// single-threaded, after the command line has been read: from then on
    /// `std::env::args()` reads the title, not the arguments.
    pub fn init_title() -> io::Result<()> {
        if AREA.get().is_some() {
            return Ok(());
        }
        let (arg_start, arg_end, env_start, env_end) = bounds()?;
        // The environment strings may be used only if they follow the
        // arguments directly (the kernel's layout, and its condition for
        // reading a title past `arg_end`).
        let end = if env_start == arg_end {
            // SAFETY: `environ` is libc's NULL-terminated array of valid C
            // strings; the process is single-threaded (the caller's
            // contract), so nothing reads or changes the environment while
            // this loop replaces the pointers into [env_start, env_end) by
            // pointers to copies. The copies are leaked on purpose: the
            // environment keeps them for the life of the process.
            unsafe {
                let mut p = environ;
                while !p.is_null() && !(*p).is_null() {
                    let at = *p as usize;
                    if (env_start..env_end).contains(&at) {
                        let copy = CStr::from_ptr(*p).to_owned();
                        *p = copy.into_raw();
                    }
                    p = p.add(1);
                }
            }
            env_end
        } else {
            arg_end
        };
        let _ = AREA.set((arg_start, end));
        Ok(())
    }

    /// Writes `title` as this process's command line (truncated to the
    /// area, at a character boundary), NUL-padded to the end of the area.
    /// Does nothing before [`init_title`].
    pub fn set_title(title: &str) {
        let Some(&(start, end)) = AREA.get() else {
            return;
        };
        let len = end - start;
        let mut n = title.len().min(len.saturating_sub(1));
        while !title.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: [start, end) is this process's argument and environment
        // string area (from /proc/self/stat), mapped read-write on its stack
        // for its whole life. No Rust value lives there: the environment
        // was moved out by `init_title`, and the only pointers left into it
        // are the argument pointers that std and libc keep, which read C
        // strings and so always find a NUL within the area (its last byte
        // is written 0 here). The process is single-threaded when it names
        // itself (the master at start-up, a worker right after fork).
        unsafe {
            let area = std::slice::from_raw_parts_mut(start as *mut u8, len);
            area[..n].copy_from_slice(&title.as_bytes()[..n]);
            area[n..].fill(0);
        }
    }
}
