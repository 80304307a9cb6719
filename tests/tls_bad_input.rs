//! Bad input on a TLS bind gets a closed connection and a log line, and
//! nothing more: plain HTTP, garbage, a ClientHello cut short, one larger
//! than TLS allows, a client that says nothing (`handshake_timeout`), a
//! TLS 1.2 renegotiation attempt, and a flood of full handshakes.
//!
//! Each case runs against one worker, so that a canary shares its event
//! loop with the bad client: a TLS connection opened before the bad input
//! still echoes after it, and a new one handshakes and echoes, while the
//! worker that served them all is still the same process.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::client::{self, wait_closed};
use common::http::backend;
use common::http_origin::HttpOrigin;
use common::origin::{echo_origin, Origin};
use common::tls_certs::Ca;
use common::tls_client::{self, TlsConn};
use common::weir::TempDir;
use common::{ci, free_port, wait_until, Weir, DEADLINE};
use rustls::pki_types::ServerName;

/// A TCP-mode TLS frontend `fe` (one worker, a 1 s handshake timeout) in
/// front of an echo origin.
struct Fixture {
    weir: Weir,
    port: u16,
    ca: Ca,
    worker: i32,
    _origin: Origin,
    _dir: TempDir,
}

impl Fixture {
    fn start() -> Fixture {
        let dir = TempDir::new("tls-bad");
        let ca = Ca::new("Weir Test CA");
        let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
        let origin = echo_origin();
        let port = free_port();
        let config = format!(
            "[global]\nlog = \"stderr\"\nnbproc = 1\n\n\
             [defaults]\nmode = \"tcp\"\n\
             timeout = {{ connect = \"1s\", client = \"10s\", server = \"10s\" }}\n\n\
             [frontend.fe]\n\
             bind = [{{ address = \"127.0.0.1:{port}\", \
             tls = {{ crt = \"{}\", handshake_timeout = \"1s\" }} }}]\n\
             default_backend = \"be\"\n\n\
             [backend.be]\nserver = [{{ name = \"s1\", address = \"{}\" }}]\n",
            crt.display(),
            origin.addr
        );
        let weir = Weir::start(&config);
        let worker = weir.wait_workers(1, DEADLINE)[0];
        Fixture {
            weir,
            port,
            ca,
            worker,
            _origin: origin,
            _dir: dir,
        }
    }

    /// A TLS connection through to the echo origin, its first echo done.
    fn canary(&self) -> TlsConn {
        let config = tls_client::config(&self.ca.pem);
        let mut c = tls_client::connect(self.port, "a.test", &config)
            .unwrap_or_else(|e| panic!("canary handshake: {e}\n{}", self.weir.context()));
        let back = c.echo(b"canary hello").expect("canary echo");
        assert_eq!(back, b"canary hello");
        c
    }

    /// The canary opened before the bad input still echoes, a new TLS
    /// client is served, and the worker is the one that was there before.
    fn assert_unaffected(&self, mut before: TlsConn) {
        let back = before
            .echo(b"still here")
            .unwrap_or_else(|e| panic!("the canary's connection broke: {e}"));
        assert_eq!(back, b"still here");
        drop(self.canary());
        assert_eq!(
            self.weir.worker_pids(),
            vec![self.worker],
            "the worker changed\n{}",
            self.weir.context()
        );
    }

    /// The log line of the failed handshake of the client at `addr`:
    /// `ADDR [DATE] fe/1: WHAT…`.
    fn failure_line(&self, addr: SocketAddr) -> String {
        let start = format!("{addr} [");
        self.weir
            .wait_log_where(&start, DEADLINE, |l| {
                l.message.starts_with(&start) && l.message.contains("] fe/1: ")
            })
            .message
    }
}

/// Connects, sends `bytes` (a write the closing peer refuses is fine),
/// and returns the socket.
fn send_raw(port: u16, bytes: &[u8]) -> TcpStream {
    let mut s = client::connect(port).expect("connect");
    let _ = s.write_all(bytes);
    s
}

/// The first flight of a real TLS client (rustls): the record holding
/// its ClientHello.
fn client_hello() -> Vec<u8> {
    let ca = Ca::new("unused");
    let config = tls_client::config(&ca.pem);
    let name = ServerName::try_from("a.test").expect("name");
    let mut conn = rustls::ClientConnection::new(config, name).expect("client");
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).expect("write_tls");
    }
    assert_eq!(out[0], 0x16, "a handshake record");
    out
}

#[test]
fn plain_http_on_a_tls_port_is_closed_and_logged() {
    let f = Fixture::start();
    let before = f.canary();
    let mut s = send_raw(f.port, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    let addr = s.local_addr().unwrap();
    wait_closed(&mut s, Duration::from_secs(5)).expect("closed");
    let line = f.failure_line(addr);
    assert!(
        line.ends_with(
            "fe/1: SSL handshake failure (received corrupt message of type InvalidContentType)"
        ),
        "{line}"
    );
    f.assert_unaffected(before);
}

#[test]
fn plain_http_on_a_tls_port_in_http_mode_is_closed_and_logged() {
    let dir = TempDir::new("tls-bad-http");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let config = format!(
        "[global]\nlog = \"stderr\"\nnbproc = 1\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"10s\", server = \"10s\" }}\n\
         [frontend.fe]\nbind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{}\" }} }}]\n\
         default_backend = \"be\"\n{}",
        crt.display(),
        backend("be", "", &[origin.addr])
    );
    let weir = Weir::start(&config);
    let mut s = send_raw(port, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    let addr = s.local_addr().unwrap();
    let mut got = Vec::new();
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "an HTTP answer on a TLS port: {:?}",
        String::from_utf8_lossy(&got)
    );
    let start = format!("{addr} [");
    let line = weir
        .wait_log_where(&start, DEADLINE, |l| l.message.starts_with(&start))
        .message;
    assert!(line.contains("] fe/1: SSL handshake failure ("), "{line}");
    assert!(origin.seen().is_empty(), "the origin saw a request");
    // A TLS client is served.
    let config = tls_client::config(&ca.pem);
    let mut c = tls_client::connect(port, "a.test", &config).expect("handshake");
    c.stream
        .write_all(b"GET /after HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = Vec::new();
    let _ = c.stream.read_to_end(&mut resp);
    assert!(
        resp.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&resp)
    );
}

#[test]
fn garbage_is_closed_and_logged() {
    let f = Fixture::start();
    let before = f.canary();
    // Bytes that look like a handshake record of an unknown version, then
    // noise.
    let mut junk = vec![0x16, 0x7f, 0x7f, 0x00, 0x20];
    junk.extend((0u8..=255).cycle().take(4000).map(|b| b.wrapping_mul(37)));
    let mut s = send_raw(f.port, &junk);
    let addr = s.local_addr().unwrap();
    wait_closed(&mut s, Duration::from_secs(5)).expect("closed");
    let line = f.failure_line(addr);
    assert!(line.contains("fe/1: SSL handshake failure ("), "{line}");
    // Pure noise, no record header at all.
    let mut s = send_raw(f.port, &[0u8; 64]);
    let addr = s.local_addr().unwrap();
    wait_closed(&mut s, Duration::from_secs(5)).expect("closed");
    let line = f.failure_line(addr);
    assert!(line.contains("fe/1: SSL handshake failure ("), "{line}");
    f.assert_unaffected(before);
}

#[test]
fn a_truncated_client_hello_is_closed_and_logged() {
    let f = Fixture::start();
    let before = f.canary();
    let hello = client_hello();
    // Half of it, then the end of the stream.
    let mut s = send_raw(f.port, &hello[..hello.len() / 2]);
    let addr = s.local_addr().unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    wait_closed(&mut s, Duration::from_secs(5)).expect("closed");
    let line = f.failure_line(addr);
    assert!(
        line.ends_with("fe/1: Connection closed during SSL handshake"),
        "{line}"
    );
    // Half of it, and then nothing: the handshake timeout.
    let mut s = send_raw(f.port, &hello[..hello.len() / 2]);
    let addr = s.local_addr().unwrap();
    let took = wait_closed(&mut s, Duration::from_secs(8)).expect("closed");
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
    let line = f.failure_line(addr);
    assert!(
        line.ends_with("fe/1: Timeout during SSL handshake"),
        "{line}"
    );
    // A whole record whose handshake message says it is longer than the
    // record: rustls waits for the rest, the timeout ends it.
    let mut cut = hello.clone();
    // Record length: 4 bytes of handshake header and 10 of body.
    cut[3] = 0;
    cut[4] = 14;
    cut.truncate(5 + 14);
    let mut s = send_raw(f.port, &cut);
    let addr = s.local_addr().unwrap();
    wait_closed(&mut s, Duration::from_secs(8)).expect("closed");
    let line = f.failure_line(addr);
    assert!(
        line.ends_with("fe/1: Timeout during SSL handshake"),
        "{line}"
    );
    f.assert_unaffected(before);
}

#[test]
fn an_oversized_client_hello_is_closed_and_logged() {
    let f = Fixture::start();
    let before = f.canary();
    // A ClientHello that says it is 16 MiB long, sent as full records: TLS
    // caps a handshake message at 64 KiB, rustls refuses it once it has
    // its header, and weir holds nothing of the rest.
    let mut record = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff];
    record.resize(5 + 0x4000, 0x41);
    let mut s = client::connect(f.port).expect("connect");
    let addr = s.local_addr().unwrap();
    let mut sent = 0usize;
    for _ in 0..64 {
        if s.write_all(&record).is_err() {
            break;
        }
        sent += record.len();
    }
    wait_closed(&mut s, Duration::from_secs(5)).expect("closed");
    let line = f.failure_line(addr);
    assert!(line.contains("fe/1: SSL handshake failure ("), "{line}");
    assert!(
        sent < 64 * record.len() || line.contains("Payload"),
        "{line}"
    );
    // One record larger than TLS allows (a 2^14 + 2048 + 1 byte body).
    let mut s = send_raw(f.port, &[0x16, 0x03, 0x01, 0x48, 0x01, 0x01, 0x00]);
    let addr = s.local_addr().unwrap();
    wait_closed(&mut s, Duration::from_secs(5)).expect("closed");
    let line = f.failure_line(addr);
    assert!(line.contains("fe/1: SSL handshake failure ("), "{line}");
    f.assert_unaffected(before);
}

#[test]
fn a_silent_client_meets_the_handshake_timeout() {
    let f = Fixture::start();
    let before = f.canary();
    let mut s = client::connect(f.port).expect("connect");
    let addr = s.local_addr().unwrap();
    let took = wait_closed(&mut s, Duration::from_secs(8)).expect("closed");
    assert!(
        took >= Duration::from_millis(800) && took <= Duration::from_secs(4),
        "closed after {took:?} (handshake_timeout 1s)"
    );
    let line = f.failure_line(addr);
    assert!(
        line.ends_with("fe/1: Timeout during SSL handshake"),
        "{line}"
    );
    f.assert_unaffected(before);
}

/// `openssl s_client -tls1_2` to the port, with `stdin` fed by the caller.
fn s_client_tls12(port: u16) -> Child {
    Command::new("openssl")
        .args(["s_client", "-tls1_2", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "a.test"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (Debian package openssl)")
}

#[test]
fn a_tls12_renegotiation_is_refused() {
    if !ci::missing_commands(&["openssl"]).is_empty() {
        return ci::skip("no openssl");
    }
    let f = Fixture::start();
    let before = f.canary();
    let mut child = s_client_tls12(f.port);
    let mut stdin = child.stdin.take().expect("stdin");
    // Let the first handshake finish and the echo through, then ask for a
    // renegotiation (s_client's "R" line), then leave the input open.
    stdin.write_all(b"hello\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _ = stdin.write_all(b"R\n");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait s_client") {
            break Some(st);
        }
        if start.elapsed() > Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(stdin);
    let mut out = String::new();
    let mut err = String::new();
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    assert!(
        status.is_some(),
        "s_client still connected 10 s after asking for a renegotiation\n{out}\n{err}"
    );
    assert!(
        out.contains("Protocol  : TLSv1.2") || out.contains("TLSv1.2"),
        "{out}"
    );
    assert!(err.contains("RENEGOTIATING"), "{err}");
    // The first handshake's echo arrived; the renegotiation did not
    // succeed: OpenSSL ends the connection on weir's refusal.
    assert!(
        out.contains("\nhello\n") || out.ends_with("hello\n"),
        "{out}"
    );
    assert!(
        err.contains("no renegotiation") || err.contains("alert"),
        "s_client's stderr: {err}"
    );
    // The session is logged, ended by the client (`CD`: OpenSSL gives up
    // on weir's no_renegotiation alert and closes).
    let line = f
        .weir
        .wait_log_where("a session line", DEADLINE, |l| {
            l.message.contains(" fe~ be/s1 ") && l.message.contains(" CD ")
        })
        .message;
    assert!(line.contains(" fe~ be/s1 "), "{line}");
    f.assert_unaffected(before);
}

#[test]
fn a_handshake_flood_leaves_other_clients_served() {
    if !ci::missing_commands(&["openssl"]).is_empty() {
        return ci::skip("no openssl");
    }
    let f = Fixture::start();
    let before = f.canary();
    // Two `openssl s_time -new` at full rate (a full handshake per
    // connection, as many as they can make in 4 s), and threads sending
    // a ClientHello and closing at once.
    let flooders: Vec<Child> = (0..2)
        .map(|_| {
            Command::new("openssl")
                .args(["s_time", "-new", "-time", "4", "-connect"])
                .arg(format!("127.0.0.1:{}", f.port))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl s_time")
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let hello = client_hello();
    let abandoners: Vec<_> = (0..2)
        .map(|_| {
            let (stop, hello, port) = (stop.clone(), hello.clone(), f.port);
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut s) = client::connect(port) {
                        let _ = s.write_all(&hello);
                        n += 1;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                n
            })
        })
        .collect();
    // The canary: a new handshake and an echo every 50 ms, each timed.
    let config = tls_client::config(&f.ca.pem);
    let flood_start = Instant::now();
    let mut rounds = Vec::new();
    while flood_start.elapsed() < Duration::from_secs(4) {
        let t = Instant::now();
        let mut c = tls_client::connect(f.port, "a.test", &config)
            .unwrap_or_else(|e| panic!("canary handshake under the flood: {e}"));
        let back = c.echo(b"canary").expect("canary echo under the flood");
        assert_eq!(back, b"canary");
        rounds.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let abandoned: u32 = abandoners.into_iter().map(|h| h.join().unwrap()).sum();
    let mut made = 0u64;
    for mut c in flooders {
        let status = c.wait().expect("s_time");
        let mut out = String::new();
        let _ = c.stdout.take().expect("stdout").read_to_string(&mut out);
        assert!(status.success(), "s_time: {out}");
        // "N connections in T real seconds" (its first run, -new).
        made += out
            .lines()
            .find(|l| l.contains("connections in") && l.contains("real seconds"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    rounds.sort();
    let worst = *rounds.last().expect("canary rounds");
    eprintln!(
        "flood: {made} full handshakes by s_time, {abandoned} abandoned; canary: {} rounds, \
         median {:?}, worst {worst:?}",
        rounds.len(),
        rounds[rounds.len() / 2]
    );
    assert!(made >= 50, "the flood made only {made} handshakes");
    assert!(rounds.len() >= 10, "canary rounds: {}", rounds.len());
    // A shared 2-core machine: the canary waits behind the flood, but is
    // never starved.
    assert!(
        worst < Duration::from_secs(3),
        "canary's worst round {worst:?}"
    );
    // Every abandoned handshake is closed and logged.
    wait_until(
        Duration::from_secs(10),
        "abandoned handshakes logged",
        || {
            let failed = f
                .weir
                .logs()
                .iter()
                .filter(|l| {
                    l.message
                        .ends_with("fe/1: Connection closed during SSL handshake")
                        || l.message.contains("fe/1: SSL handshake failure (")
                })
                .count();
            failed >= abandoned as usize
        },
    );
    f.assert_unaffected(before);
}
