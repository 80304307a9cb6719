//! HTTP mode: configs, a raw-socket HTTP/1.1 client, curl, the httplog
//! lines of a running weir, and the worker's memory.
//!
//! The origin is in [`super::http_origin`], the wire helpers shared by both
//! ends in [`super::http_wire`].

use std::io::{self, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::client::{self, IO_TIMEOUT};
use super::http_origin::Report;
use super::http_wire::{has_token, parse_head, values, BufConn, MAX_HEAD};
use super::logline::{self, HttpLog};
use super::weir::TempDir;
use super::{procfs, Weir, POLL};

/// The timeouts every HTTP test config gets unless it sets `timeout`.
pub const DEFAULT_TIMEOUTS: &str =
    "timeout = { connect = \"1s\", client = \"5s\", server = \"5s\", \
     http_request = \"2s\", http_keep_alive = \"2s\" }";

/// An HTTP-mode config: frontend `fe` on 127.0.0.1:`port` with
/// `default_backend = "be"` (unless `frontend` sets one) and the extra
/// `frontend` lines; `defaults` gets [`DEFAULT_TIMEOUTS`] unless it sets
/// `timeout`; `backends` is whole `[backend.NAME]` sections (see
/// [`backend`]).
pub fn http_config(port: u16, defaults: &str, frontend: &str, backends: &str) -> String {
    let timeout = if defaults.contains("timeout") {
        ""
    } else {
        DEFAULT_TIMEOUTS
    };
    let default_backend = if frontend.contains("default_backend") {
        ""
    } else {
        "default_backend = \"be\""
    };
    format!(
        "[global]\n\
         nbproc = 1\n\
         log = \"stderr\"\n\
         \n\
         [defaults]\n\
         mode = \"http\"\n\
         {timeout}\n\
         {defaults}\n\
         \n\
         [frontend.fe]\n\
         bind = [\"127.0.0.1:{port}\"]\n\
         {default_backend}\n\
         {frontend}\n\
         \n\
         {backends}\n"
    )
}

/// A `[backend.NAME]` section with `extra` lines and one server per
/// address, named `s1`, `s2`, ….
pub fn backend(name: &str, extra: &str, servers: &[SocketAddr]) -> String {
    let list: Vec<String> = servers
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{{ name = \"s{}\", address = \"{a}\" }}", i + 1))
        .collect();
    format!(
        "[backend.{name}]\n{extra}\nserver = [ {} ]\n\n",
        list.join(", ")
    )
}

/// The simplest setup: [`http_config`] with one backend `be` on `origin`.
pub fn simple_config(port: u16, origin: SocketAddr) -> String {
    http_config(port, "", "", &backend("be", "", &[origin]))
}

/// A response as a client received it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
    pub trailers: Vec<(String, String)>,
    /// Interim (1xx) statuses received before this one.
    pub interim: Vec<u16>,
    /// Bytes of this response on the wire, head and body (not the interim
    /// ones).
    pub wire_len: u64,
    /// The body ended with the connection.
    pub close_delimited: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        values(&self.headers, name).first().copied()
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        values(&self.headers, name)
    }

    pub fn has_token(&self, name: &str, token: &str) -> bool {
        has_token(&self.headers, name, token)
    }

    /// The origin's report in the body.
    pub fn report(&self) -> Report {
        Report::parse(&self.body)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request to build: [`Req::bytes`] adds `Host` unless given, and
/// `Content-Length` for a body unless a framing field is given.
pub struct Req<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<&'a [u8]>,
}

impl<'a> Req<'a> {
    pub fn get(target: &'a str) -> Req<'a> {
        Req::new("GET", target)
    }

    pub fn new(method: &'a str, target: &'a str) -> Req<'a> {
        Req {
            method,
            target,
            version: "HTTP/1.1",
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &'a str, value: &'a str) -> Req<'a> {
        self.headers.push((name, value));
        self
    }

    pub fn body(mut self, body: &'a [u8]) -> Req<'a> {
        self.body = Some(body);
        self
    }

    pub fn version(mut self, v: &'a str) -> Req<'a> {
        self.version = v;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut h = format!("{} {} {}\r\n", self.method, self.target, self.version);
        let has = |n: &str| self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has("Host") && self.version == "HTTP/1.1" {
            h.push_str("Host: test.local\r\n");
        }
        for (n, v) in &self.headers {
            h.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(b) = self.body {
            if !has("Content-Length") && !has("Transfer-Encoding") {
                h.push_str(&format!("Content-Length: {}\r\n", b.len()));
            }
        }
        h.push_str("\r\n");
        let mut out = h.into_bytes();
        if let Some(b) = self.body {
            out.extend_from_slice(b);
        }
        out
    }
}

/// A client connection to weir.
pub struct Client {
    pub conn: BufConn,
}

impl Client {
    /// Connects to 127.0.0.1:`port` (panics if it cannot).
    pub fn connect(port: u16) -> Client {
        let s = client::connect(port).unwrap_or_else(|e| panic!("connect to weir :{port}: {e}"));
        Client {
            conn: BufConn::new(s),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.conn.stream.local_addr().unwrap()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.conn.write_all(bytes).expect("send to weir");
    }

    /// Sends `req` and reads its response (panics on an I/O error).
    pub fn exchange(&mut self, req: &Req) -> Response {
        self.send(&req.bytes());
        self.read_response(req.method == "HEAD")
            .unwrap_or_else(|e| panic!("response to {} {}: {e}", req.method, req.target))
    }

    /// `GET target` on this connection.
    pub fn get(&mut self, target: &str) -> Response {
        self.exchange(&Req::get(target))
    }

    /// One head (a 1xx or a final one), without its body.
    pub fn read_head(&mut self) -> io::Result<Response> {
        let before = self.conn.total_read - self.conn.buffered().len() as u64;
        let head = self
            .conn
            .read_head(MAX_HEAD)?
            .ok_or_else(|| io::Error::new(ErrorKind::UnexpectedEof, "closed before a response"))?;
        let (line, headers) = parse_head(&head);
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_string();
        let status = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| {
            io::Error::new(ErrorKind::InvalidData, format!("status line {line:?}"))
        })?;
        let reason = parts.next().unwrap_or_default().to_string();
        let after = self.conn.total_read - self.conn.buffered().len() as u64;
        Ok(Response {
            version,
            status,
            reason,
            headers,
            wire_len: after - before,
            ..Response::default()
        })
    }

    /// The next final response with its body (interim ones are collected in
    /// [`Response::interim`]); `head_request` says the request was HEAD.
    pub fn read_response(&mut self, head_request: bool) -> io::Result<Response> {
        let mut interim = Vec::new();
        loop {
            let mut r = self.read_head()?;
            if (100..200).contains(&r.status) && r.status != 101 {
                interim.push(r.status);
                continue;
            }
            r.interim = interim;
            self.read_body(&mut r, head_request)?;
            return Ok(r);
        }
    }

    fn read_body(&mut self, r: &mut Response, head_request: bool) -> io::Result<()> {
        let before = self.conn.total_read - self.conn.buffered().len() as u64;
        let mut body = Vec::new();
        if head_request || r.status == 101 || r.status == 204 || r.status == 304 {
            // no body
        } else if r.has_token("Transfer-Encoding", "chunked") {
            r.chunked = true;
            r.trailers = self
                .conn
                .read_chunked(|b| body.extend_from_slice(b), |_| {})?;
        } else if let Some(cl) = r.header("Content-Length") {
            let n: u64 = cl
                .parse()
                .map_err(|_| io::Error::new(ErrorKind::InvalidData, "bad Content-Length"))?;
            self.conn.take(n, |b| body.extend_from_slice(b))?;
        } else {
            r.close_delimited = true;
            self.conn.take_to_eof(|b| body.extend_from_slice(b))?;
        }
        let after = self.conn.total_read - self.conn.buffered().len() as u64;
        r.body = body;
        r.wire_len += after - before;
        Ok(())
    }

    /// Reads until weir closes the connection (EOF or reset), for at most
    /// `timeout`: what came, and whether it closed.
    pub fn read_until_closed(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        let start = Instant::now();
        let mut out = self.conn.buffered().to_vec();
        let n = out.len();
        self.conn.consume(n);
        let closed = loop {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                break false;
            }
            let _ = self.conn.stream.set_read_timeout(Some(left));
            let r = self.conn.fill();
            let n = self.conn.buffered().len();
            out.extend_from_slice(self.conn.buffered());
            self.conn.consume(n);
            match r {
                Ok(true) => continue,
                Ok(false) => break true,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    break false
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // reset, aborted…: closed
                Err(_) => break true,
            }
        };
        let _ = self.conn.stream.set_read_timeout(Some(IO_TIMEOUT));
        (out, closed)
    }

    /// `Ok` if weir closes the connection within `timeout` having sent
    /// nothing more.
    pub fn closed_silently(&mut self, timeout: Duration) -> Result<(), String> {
        match self.read_until_closed(timeout) {
            (b, true) if b.is_empty() => Ok(()),
            (b, true) => Err(format!(
                "closed after sending {:?}",
                String::from_utf8_lossy(&b)
            )),
            (b, false) => Err(format!(
                "still open after {timeout:?} (received {:?})",
                String::from_utf8_lossy(&b)
            )),
        }
    }
}

/// Sends `bytes` on a new connection (and nothing else), then reads until
/// weir closes it, for at most `timeout`. Returns what weir sent and whether
/// it closed.
pub fn raw_exchange(port: u16, bytes: &[u8], timeout: Duration) -> (Vec<u8>, bool) {
    let mut c = Client::connect(port);
    // weir may refuse and close before reading everything: ignore EPIPE.
    let _ = c.conn.stream.write_all(bytes);
    c.read_until_closed(timeout)
}

/// The status codes of the responses in `bytes` (heads found one after the
/// other, skipping Content-Length bodies).
pub fn statuses(mut bytes: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    while let Some(end) = super::http_wire::find(bytes, b"\r\n\r\n") {
        let (line, fields) = parse_head(&bytes[..end + 4]);
        let Some(status) = line.split(' ').nth(1).and_then(|s| s.parse().ok()) else {
            break;
        };
        out.push(status);
        let len: usize = values(&fields, "Content-Length")
            .first()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        bytes = bytes.get(end + 4 + len..).unwrap_or_default();
    }
    out
}

/// The status line of an error page weir sends, as HAProxy words it.
pub fn error_status_line(status: u16) -> &'static str {
    match status {
        400 => "HTTP/1.1 400 Bad request\r\n",
        403 => "HTTP/1.1 403 Forbidden\r\n",
        408 => "HTTP/1.1 408 Request Time-out\r\n",
        500 => "HTTP/1.1 500 Internal Server Error\r\n",
        502 => "HTTP/1.1 502 Bad Gateway\r\n",
        503 => "HTTP/1.1 503 Service Unavailable\r\n",
        504 => "HTTP/1.1 504 Gateway Time-out\r\n",
        _ => panic!("no error page for {status}"),
    }
}

/// Checks that `bytes` is exactly one error page for `status` (a status
/// line as HAProxy's, a text/html body of the announced length, nothing
/// after it).
pub fn assert_error_page(bytes: &[u8], status: u16, what: &str) {
    let text = String::from_utf8_lossy(bytes);
    // Compare the status line case-insensitively on the reason phrase: the
    // code is what clients act on.
    let line = error_status_line(status);
    assert!(
        text.len() >= line.len() && text[..line.len()].eq_ignore_ascii_case(line),
        "{what}: expected a {status} page, got {text:?}"
    );
    let end = super::http_wire::find(bytes, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{what}: no end of head in {text:?}"));
    let (_, fields) = parse_head(&bytes[..end + 4]);
    let cl: usize = values(&fields, "Content-Length")
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no Content-Length in {text:?}"));
    assert_eq!(
        bytes.len(),
        end + 4 + cl,
        "{what}: one page and nothing else: {text:?}"
    );
    assert!(
        has_token(&fields, "Connection", "close"),
        "{what}: the page says it closes: {text:?}"
    );
    let ct = values(&fields, "Content-Type");
    assert_eq!(ct, ["text/html"], "{what}: {text:?}");
}

/// The output of one `curl` run.
#[derive(Debug)]
pub struct CurlOutput {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
    pub stderr: String,
}

impl CurlOutput {
    pub fn report(&self) -> Report {
        Report::parse(&self.body)
    }
}

/// Runs `curl -sS` with `args`, saving the body and the response heads;
/// `url_path` is appended to `http://127.0.0.1:PORT`.
pub fn curl(port: u16, url_path: &str, args: &[&str]) -> CurlOutput {
    let dir = TempDir::new("curl");
    let body = dir.path.join("body");
    let heads = dir.path.join("heads");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-o"])
        .arg(&body)
        .arg("-D")
        .arg(&heads)
        .args(["-w", "%{http_code}"])
        .args(args)
        .arg(format!("http://127.0.0.1:{port}{url_path}"))
        .output()
        .expect("run curl (is it installed? make deps)");
    CurlOutput {
        status: String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        headers: std::fs::read_to_string(&heads).unwrap_or_default(),
        body: std::fs::read(&body).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Reading weir's httplog lines.
pub trait HttpLogs {
    /// Every httplog line so far.
    fn httplogs(&self) -> Vec<HttpLog>;
    /// Waits until there are at least `n` httplog lines, and returns them.
    fn wait_httplogs(&self, n: usize, timeout: Duration) -> Vec<HttpLog>;
    /// Waits for an httplog line matching `pred`.
    fn wait_httplog(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&HttpLog) -> bool,
    ) -> HttpLog;
}

impl HttpLogs for Weir {
    fn httplogs(&self) -> Vec<HttpLog> {
        logline::httplogs(&self.stderr())
    }

    fn wait_httplogs(&self, n: usize, timeout: Duration) -> Vec<HttpLog> {
        let start = Instant::now();
        loop {
            let logs = self.httplogs();
            if logs.len() >= n {
                return logs;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{} httplog lines after {timeout:?}, want {n}\n{}",
                    logs.len(),
                    self.context()
                );
            }
            thread::sleep(POLL);
        }
    }

    fn wait_httplog(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&HttpLog) -> bool,
    ) -> HttpLog {
        let start = Instant::now();
        loop {
            if let Some(l) = self.httplogs().into_iter().find(|l| pred(l)) {
                return l;
            }
            if start.elapsed() > timeout {
                panic!(
                    "no httplog line {what:?} after {timeout:?}\n{}",
                    self.context()
                );
            }
            thread::sleep(POLL);
        }
    }
}

/// Samples `VmRSS` of a process every few milliseconds until stopped, and
/// keeps the peak.
pub struct RssMonitor {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RssMonitor {
    pub fn start(pid: i32) -> RssMonitor {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak_kib.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if let Some(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::SeqCst);
                }
                thread::sleep(Duration::from_millis(5));
            }
        });
        RssMonitor {
            stop,
            peak_kib,
            thread: Some(thread),
        }
    }

    /// The peak so far, in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.peak_kib.load(Ordering::SeqCst)
    }

    /// Stops sampling and returns the peak, in KiB.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak_kib()
    }
}

impl Drop for RssMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// `VmRSS` of `pid`, in KiB.
pub fn rss_kib(pid: i32) -> Option<u64> {
    procfs::status_field(pid, "VmRSS")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A connection that stays open: connects with [`client::connect`] but
/// returns the bare stream.
pub fn open(port: u16) -> TcpStream {
    client::connect(port).unwrap_or_else(|e| panic!("connect to weir :{port}: {e}"))
}

/// Writes all of `bytes`, flushing.
pub fn write_now(s: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    s.write_all(bytes)?;
    s.flush()
}
