//! A syslog receiver in the test: a UDP socket on 127.0.0.1:0 and a thread
//! keeping every datagram, bytes as received. [`Syslog::messages`] checks
//! each one's RFC 3164 header and returns its message (the bytes after
//! `weir[PID]: `), for tests that parse what weir sent.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::wait_for;

/// One datagram: its priority, the pid in `weir[PID]`, and the message.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub pri: u8,
    pub pid: i32,
    pub message: Vec<u8>,
}

pub struct Syslog {
    /// The `log` target naming it: `udp://127.0.0.1:PORT`.
    pub target: String,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Syslog {
    pub fn start() -> Syslog {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind a syslog socket");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let target = format!("udp://{}", sock.local_addr().expect("local_addr"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            while !s.load(Ordering::SeqCst) {
                if let Ok(n) = sock.recv(&mut buf) {
                    g.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        Syslog {
            target,
            got,
            stop,
            thread: Some(thread),
        }
    }

    /// Every datagram so far, its header checked.
    pub fn datagrams(&self) -> Vec<Datagram> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|d| {
                parse(d).unwrap_or_else(|| {
                    panic!(
                        "not a weir syslog datagram: {:?}",
                        String::from_utf8_lossy(d)
                    )
                })
            })
            .collect()
    }

    /// The messages so far that `keep` selects.
    pub fn messages(&self, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        self.datagrams()
            .into_iter()
            .map(|d| d.message)
            .filter(|m| keep(m))
            .collect()
    }

    /// Waits until `n` messages that `keep` selects arrived; returns them.
    pub fn wait(&self, n: usize, timeout: Duration, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        wait_for(
            timeout,
            &format!("{n} log lines at {}", self.target),
            || {
                let got = self.messages(&keep);
                (got.len() >= n).then_some(got)
            },
        )
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `<PRI>Mmm dd hh:mm:ss weir[PID]: MESSAGE`.
fn parse(d: &[u8]) -> Option<Datagram> {
    let rest = d.strip_prefix(b"<")?;
    let close = rest.iter().position(|&b| b == b'>')?;
    let pri = std::str::from_utf8(&rest[..close]).ok()?.parse().ok()?;
    let rest = &rest[close + 1..];
    // The date is 15 bytes, then a space.
    let rest = rest.get(16..)?;
    let rest = rest.strip_prefix(b"weir[")?;
    let close = rest.iter().position(|&b| b == b']')?;
    let pid = std::str::from_utf8(&rest[..close]).ok()?.parse().ok()?;
    let message = rest[close + 1..].strip_prefix(b": ")?.to_vec();
    if message.contains(&b'\n') {
        return None;
    }
    Some(Datagram { pri, pid, message })
}
