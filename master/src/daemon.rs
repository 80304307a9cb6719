//! `-D`: detach from the terminal — fork, setsid, fork again, stdio to
//! /dev/null, cwd to `/`.
//!
//! The command the user typed returns only when the daemon says it is up
//! (pidfile written, workers forked) or has failed, through a pipe: so
//! `weir -D -p FILE && cat FILE` always finds the pid, and a start-up
//! failure after detaching still gives exit status 1.

use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, pipe, setsid};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use weir_core::sys::{self, Fork};

/// The daemon's end of the readiness pipe.
pub struct Ready {
    pipe: Option<File>,
}

impl Ready {
    /// Not daemonized: nothing to report.
    pub fn none() -> Ready {
        Ready { pipe: None }
    }

    /// Tells the waiting command that the service is up.
    pub fn up(&mut self) {
        if let Some(mut p) = self.pipe.take() {
            let _ = p.write_all(b"0");
        }
    }

    /// Tells the waiting command that start-up failed, and why.
    pub fn failed(&mut self, why: &str) {
        if let Some(mut p) = self.pipe.take() {
            let _ = p.write_all(format!("1{why}").as_bytes());
        }
    }
}

/// Detaches. Returns in the daemon only; the original process exits with
/// the daemon's verdict.
pub fn daemonize() -> std::io::Result<Ready> {
    let (r, w): (OwnedFd, OwnedFd) = pipe()?;
    match sys::fork()? {
        Fork::Parent(_) => {
            drop(w);
            // One byte says it all; the workers hold copies of the write end,
            // so EOF would only come when they exit.
            let mut pipe = File::from(r);
            let mut verdict = [0u8; 1];
            match pipe.read(&mut verdict) {
                Ok(1) if verdict[0] == b'0' => std::process::exit(0),
                Ok(1) => {
                    let mut why = String::new();
                    let _ = pipe.read_to_string(&mut why);
                    eprintln!("weir: start-up failed: {why}");
                    std::process::exit(1)
                }
                _ => {
                    eprintln!("weir: the daemon exited before it was ready");
                    std::process::exit(1)
                }
            }
        }
        Fork::Child => {}
    }
    drop(r);
    setsid()?;
    // A second fork: the daemon is not a session leader, so it can never
    // acquire a controlling terminal.
    if let Fork::Parent(_) = sys::fork()? {
        std::process::exit(0);
    }
    std::env::set_current_dir("/")?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    dup2_stdin(&null)?;
    dup2_stdout(&null)?;
    dup2_stderr(&null)?;
    Ok(Ready {
        pipe: Some(File::from(w)),
    })
}
