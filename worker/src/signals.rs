//! The worker's signal queue: a signalfd read by the loop.
//!
//! The master blocks weir's signals before forking, so no handler ever runs
//! in a worker: the kernel queues the signals and the loop drains the queue
//! as its first step, like HAProxy's `signal_process_queue()`.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io;

/// What a signal asks the worker to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    SoftStop,
    HardStop,
    DumpServers,
    DumpPools,
    Pause,
    Resume,
    /// Reloads are the master's business; a worker only notes it.
    Ignore(Signal),
}

/// The signals weir handles; the master blocks exactly these.
pub fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

pub fn command(sig: Signal) -> Command {
    match sig {
        Signal::SIGUSR1 => Command::SoftStop,
        Signal::SIGTERM | Signal::SIGINT => Command::HardStop,
        Signal::SIGHUP => Command::DumpServers,
        Signal::SIGQUIT => Command::DumpPools,
        Signal::SIGTTOU => Command::Pause,
        Signal::SIGTTIN => Command::Resume,
        other => Command::Ignore(other),
    }
}

/// Opens a non-blocking signalfd for [`handled`] (the mask must already be
/// blocked, as the master arranges before forking).
pub fn open() -> io::Result<SignalFd> {
    SignalFd::with_flags(&handled(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(io::Error::from)
}

/// Takes every queued signal.
pub fn drain(fd: &SignalFd) -> Vec<Signal> {
    let mut out = Vec::new();
    while let Ok(Some(info)) = fd.read_signal() {
        if let Ok(sig) = Signal::try_from(info.ssi_signo as i32) {
            out.push(sig);
        }
    }
    out
}
