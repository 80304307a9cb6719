//! An origin for health-check tests: it answers health checks (requests
//! for [`CHECK_PATH`]) with a status the test sets, any other request with
//! `200` and its name as the body, and counts both. It can stop listening
//! and listen again on the same port, like a server that is restarted.
//! Every answer closes the connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The target health checks use.
pub const CHECK_PATH: &str = "/check";

struct State {
    name: String,
    status: AtomicU16,
    checks: AtomicUsize,
    requests: AtomicUsize,
}

/// A running (or stopped) check origin.
pub struct CheckOrigin {
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CheckOrigin {
    /// Listens on 127.0.0.1, on a port of the kernel's choosing.
    pub fn start(name: &str) -> CheckOrigin {
        let state = Arc::new(State {
            name: name.to_string(),
            status: AtomicU16::new(200),
            checks: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("check origin: bind");
        let addr = listener.local_addr().expect("local_addr");
        let mut o = CheckOrigin {
            addr,
            state,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        o.serve(listener);
        o
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).expect("nonblocking");
        let (state, stop) = (self.state.clone(), self.stop.clone());
        self.thread = Some(thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let state = state.clone();
                        thread::spawn(move || answer(s, &state));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        }));
    }

    /// Stops listening: connections are refused from now on.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Listens again on the same address.
    pub fn restart(&mut self) {
        self.stop();
        self.stop = Arc::new(AtomicBool::new(false));
        let listener = TcpListener::bind(self.addr).expect("check origin: bind again");
        self.serve(listener);
    }

    /// The status health checks get from now on.
    pub fn set_check_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Health checks answered so far (TCP checks send no request and are
    /// not counted).
    pub fn checks(&self) -> usize {
        self.state.checks.load(Ordering::SeqCst)
    }

    /// Other requests answered so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for CheckOrigin {
    fn drop(&mut self) {
        self.stop();
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// Reads one request head and answers it.
fn answer(mut s: TcpStream, state: &State) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let line = String::from_utf8_lossy(&head);
    let target = line.split(' ').nth(1).unwrap_or("");
    let (status, body) = if target.starts_with(CHECK_PATH) {
        state.checks.fetch_add(1, Ordering::SeqCst);
        (state.status.load(Ordering::SeqCst), String::new())
    } else {
        state.requests.fetch_add(1, Ordering::SeqCst);
        (200, state.name.clone())
    };
    let resp = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    let _ = s.write_all(resp.as_bytes());
}

/// `GET /` through weir on a new connection: the status and the body, or
/// `None` if the exchange failed.
pub fn get(port: u16) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}
