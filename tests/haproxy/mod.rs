//! A real HAProxy (the Debian package `haproxy`, 2.6, which `make deps`
//! installs) for the tests that compare weir with it: `haproxy -db -f CFG`
//! in the foreground, stopped by pid on drop, and its runtime API.
//!
//! Included by several test files, not all of which use every function.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::weir::TempDir;
use crate::common::{procfs, DEADLINE, POLL};

/// A running `haproxy`.
pub struct HaProxy {
    child: Child,
    pub dir: TempDir,
}

impl HaProxy {
    /// Starts HAProxy on `cfg` (`{dir}` stands for a private temporary
    /// directory, for stats sockets) and waits until every port of `ports`
    /// listens.
    pub fn start(cfg: &str, ports: &[u16]) -> HaProxy {
        let dir = TempDir::new("haproxy");
        let path = dir.path.join("haproxy.cfg");
        let cfg = cfg.replace("{dir}", &dir.path.display().to_string());
        std::fs::write(&path, cfg).expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run haproxy (Debian package haproxy: make deps)");
        let mut h = HaProxy { child, dir };
        let start = Instant::now();
        while !ports.iter().all(|&p| procfs::is_listening(p)) {
            if let Ok(Some(status)) = h.child.try_wait() {
                panic!("haproxy exited at start-up: {status}");
            }
            assert!(start.elapsed() < DEADLINE, "haproxy does not listen");
            std::thread::sleep(POLL);
        }
        h
    }

    /// A path in its temporary directory (`{dir}` in the config).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path.join(name)
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one command to a runtime API socket (HAProxy's or weir's) and
/// returns the whole answer.
pub fn api(socket: &Path, cmd: &str) -> String {
    let mut s = UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()));
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(format!("{cmd}\n").as_bytes()).expect("send");
    let mut out = String::new();
    for line in BufReader::new(s).lines() {
        out += &line.expect("read");
        out.push('\n');
    }
    out
}
