//! HTTP/2 towards servers (SPEC §9, server side), with real peers: nghttpd
//! (Debian nghttp2-server) as an h2 origin in clear text and over TLS,
//! grpcio's server and client (Debian python3-grpcio) for gRPC end to end,
//! curl and h2load (nghttp2-client) as clients. What the client and the
//! origin see is asserted: bodies byte for byte, gRPC statuses, messages,
//! trailers and deadlines, how many connections weir opens to the origin,
//! and what happens when the origin is gone or does not speak h2.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::http::http_config;
use common::logline::HttpLog;
use common::tls_certs::Ca;
use common::weir::TempDir;
use common::{ci, free_port, procfs, wait_until, Weir, DEADLINE, POLL};

const PYTHON: &str = "/usr/bin/python3";

/// A peer process, killed on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Peer {
    /// Runs `cmd` and waits until `port` listens.
    fn start(cmd: &mut Command, port: u16) -> Peer {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the peer");
        let mut p = Peer(child);
        let start = Instant::now();
        while !procfs::is_listening(port) {
            if let Ok(Some(status)) = p.0.try_wait() {
                panic!("{cmd:?} exited at start-up: {status}");
            }
            assert!(start.elapsed() < DEADLINE, "{cmd:?} does not listen");
            std::thread::sleep(POLL);
        }
        p
    }
}

/// Whether the commands are here (else the test skips, or fails under CI).
fn have(cmds: &[&str]) -> bool {
    let missing = ci::missing_commands(cmds);
    if missing.is_empty() {
        return true;
    }
    ci::skip(&format!("{missing:?} not installed (make deps)"));
    false
}

fn have_grpc() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        ci::skip("python3-grpcio is not installed (make deps)");
    }
    ok
}

/// nghttpd serving `root` on `port` (clear text, or TLS with `tls`:
/// (key, cert)); `extra` options.
fn nghttpd(root: &Path, port: u16, tls: Option<(&Path, &Path)>, extra: &[&str]) -> Peer {
    let mut cmd = Command::new("nghttpd");
    cmd.arg("-d").arg(root).args(extra);
    match tls {
        None => {
            cmd.arg("--no-tls").arg(port.to_string());
        }
        Some((key, cert)) => {
            cmd.arg(port.to_string()).arg(key).arg(cert);
        }
    }
    Peer::start(&mut cmd, port)
}

/// Established connections to `port` (from anyone: the origin's own).
fn connections_to(port: u16) -> usize {
    let out = Command::new("ss")
        .args(["-Htn", "state", "established"])
        .arg(format!("( dport = :{port} )"))
        .output()
        .expect("ss");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl")
}

fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// Bytes no compression makes smaller, the same on every run.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A weir in front of `servers` (server entries) with an HTTP/1.1 bind on
/// `port` and an `proto = "h2"` bind on `h2c`.
fn weir_to(port: u16, h2c: u16, servers: &str) -> Weir {
    Weir::start(
        &http_config(
            port,
            "",
            "",
            &format!("[backend.be]\nserver = [{servers}]\n"),
        )
        .replacen(
            &format!("bind = [\"127.0.0.1:{port}\"]"),
            &format!(
            "bind = [\"127.0.0.1:{port}\", {{ address = \"127.0.0.1:{h2c}\", proto = \"h2\" }}]"
        ),
            1,
        ),
    )
}

#[test]
fn an_h2_origin_serves_http1_and_h2_clients_over_one_connection() {
    if !have(&["nghttpd", "h2load", "curl", "ss"]) {
        return;
    }
    let root = TempDir::new("h2root");
    let big = pattern(5 << 20);
    std::fs::write(root.path.join("big.bin"), &big).expect("write");
    std::fs::write(root.path.join("small"), b"hello from nghttpd\n").expect("write");
    let origin_port = free_port();
    let _origin = nghttpd(&root.path, origin_port, None, &[]);
    let (port, h2c) = (free_port(), free_port());
    let weir = weir_to(
        port,
        h2c,
        &format!("{{ name = \"n\", address = \"127.0.0.1:{origin_port}\", proto = \"h2\" }}"),
    );

    // HTTP/1.1 in, HTTP/2 out, and the other way.
    let out = curl(&[&format!("http://127.0.0.1:{port}/small")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from nghttpd\n");
    let out = curl(&[
        "--http2-prior-knowledge",
        &format!("http://127.0.0.1:{h2c}/small"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from nghttpd\n");
    // 5 MiB, byte for byte, both ways in.
    for url in [
        format!("http://127.0.0.1:{port}/big.bin"),
        format!("http://127.0.0.1:{h2c}/big.bin"),
    ] {
        let out = curl(&["--http2-prior-knowledge", &url]);
        assert_eq!(out.stdout.len(), big.len(), "{url}");
        assert_eq!(sha256(&out.stdout), sha256(&big), "{url}");
    }
    // 100 streams at once from 10 clients: nghttpd takes 100 concurrent
    // streams per connection, so one connection carries them all.
    let out = Command::new("h2load")
        .args(["-n", "2000", "-c", "10", "-m", "10"])
        .arg(format!("http://127.0.0.1:{h2c}/small"))
        .output()
        .expect("h2load");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2000 succeeded, 0 failed"), "{text}");
    assert!(text.contains("2000 2xx"), "{text}");
    assert_eq!(
        connections_to(origin_port),
        1,
        "one h2 connection to the origin"
    );
    let log = weir.wait_log("GET /small HTTP/2.0", DEADLINE);
    let log = HttpLog::parse(log.pid, &log.message).expect("an httplog line");
    assert_eq!(log.status, 200);
    assert_eq!(log.server, "n");
}

#[test]
fn the_servers_stream_limit_opens_more_connections() {
    if !have(&["nghttpd", "h2load", "ss"]) {
        return;
    }
    let root = TempDir::new("h2root");
    std::fs::write(root.path.join("small"), b"ok\n").expect("write");
    let origin_port = free_port();
    // Two streams per connection at most.
    let _origin = nghttpd(&root.path, origin_port, None, &["-m", "2"]);
    let (port, h2c) = (free_port(), free_port());
    let _weir = weir_to(
        port,
        h2c,
        &format!("{{ name = \"n\", address = \"127.0.0.1:{origin_port}\", proto = \"h2\" }}"),
    );
    let out = Command::new("h2load")
        .args(["-n", "600", "-c", "4", "-m", "5"])
        .arg(format!("http://127.0.0.1:{h2c}/small"))
        .output()
        .expect("h2load");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("600 succeeded, 0 failed"), "{text}");
    // 20 streams in flight at most, 2 per connection: 10 connections at
    // most (parked ones stay for a few seconds), more than one.
    let n = connections_to(origin_port);
    assert!((2..=10).contains(&n), "{n} connections to the origin");
}

#[test]
fn h2_over_tls_to_the_origin_needs_alpn_h2() {
    if !have(&["nghttpd", "curl"]) {
        return;
    }
    let dir = TempDir::new("h2tls");
    let ca = Ca::new("weir test CA");
    let leaf = ca.leaf(&["origin.test"]);
    let (cert, key) = leaf.write_apart(&dir.path, "origin");
    let ca_file = ca.write(&dir.path, "ca.pem");
    std::fs::write(dir.path.join("small"), b"over tls\n").expect("write");
    let origin_port = free_port();
    let _origin = nghttpd(&dir.path, origin_port, Some((&key, &cert)), &[]);
    // A TLS server that offers only http/1.1: weir's own listener.
    let h1_only = free_port();
    let both = dir.path.join("h1.pem");
    std::fs::write(&both, leaf.combined()).expect("write");
    let (port, h2c) = (free_port(), free_port());
    let servers = format!(
        "{{ name = \"n\", address = \"127.0.0.1:{origin_port}\", proto = \"h2\", tls = {{ ca = \"{}\", sni = \"origin.test\" }} }}",
        ca_file.display()
    );
    let config = http_config(
        port,
        "",
        "",
        &format!(
            "[backend.be]\nserver = [{servers}]\n\n[backend.h1]\nserver = [{{ name = \"w\", \
             address = \"127.0.0.1:{h1_only}\", proto = \"h2\", tls = {{ ca = \"{}\", sni = \
             \"origin.test\" }} }}]\n\n[frontend.to_h1]\nbind = [\"127.0.0.1:{h2c}\"]\n\
             default_backend = \"h1\"\n\n[listen.h1only]\nbind = [{{ address = \
             \"127.0.0.1:{h1_only}\", tls = {{ crt = \"{}\", alpn = [\"http/1.1\"] }} }}]\n\
             http_request = [{{ return = {{ status = 200, body = \"h1\" }} }}]\n\
             server = [{{ name = \"unused\", address = \"127.0.0.1:9\" }}]\n",
            ca_file.display(),
            both.display()
        ),
    );
    let weir = Weir::start(&config);
    let out = curl(&[&format!("http://127.0.0.1:{port}/small")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over tls\n");
    // The server that cannot do h2: the connect fails (retries, then 503)
    // and a warning says why.
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://127.0.0.1:{h2c}/x"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "503");
    wait_until(DEADLINE, "the ALPN warning", || {
        // rustls's server refuses the handshake (no_application_protocol);
        // a server without ALPN completes it and weir refuses it.
        weir.stderr()
            .contains("TLS handshake with server h1/w failed")
    });
}

#[test]
fn an_origin_that_goes_away_and_comes_back() {
    if !have(&["nghttpd", "curl"]) {
        return;
    }
    let root = TempDir::new("h2root");
    std::fs::write(root.path.join("small"), b"back\n").expect("write");
    let origin_port = free_port();
    let origin = nghttpd(&root.path, origin_port, None, &[]);
    let (port, h2c) = (free_port(), free_port());
    let _weir = weir_to(
        port,
        h2c,
        &format!("{{ name = \"n\", address = \"127.0.0.1:{origin_port}\", proto = \"h2\" }}"),
    );
    let get = || {
        let out = curl(&[
            "-w",
            " %{http_code}",
            &format!("http://127.0.0.1:{port}/small"),
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(get(), "back\n 200");
    // The connection weir keeps dies with the origin; the next request
    // finds nobody (503 after the retries).
    drop(origin);
    assert!(get().ends_with(" 503"));
    let _origin = nghttpd(&root.path, origin_port, None, &[]);
    assert_eq!(get(), "back\n 200");
}

#[test]
fn grpc_end_to_end_unary_bidi_trailers_status_deadline() {
    if !have(&["curl"]) || !have_grpc() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/h2_peers/grpc_peer.py");
    let grpc_port = free_port();
    let _server = Peer::start(
        Command::new(PYTHON)
            .arg(&script)
            .args(["server", &grpc_port.to_string()]),
        grpc_port,
    );
    let (port, h2c) = (free_port(), free_port());
    let weir = weir_to(
        port,
        h2c,
        &format!("{{ name = \"g\", address = \"127.0.0.1:{grpc_port}\", proto = \"h2\" }}"),
    );
    let mut client = Command::new(PYTHON)
        .arg(&script)
        .args(["client", &h2c.to_string(), "8000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("grpc client");
    let lines: Vec<String> = BufReader::new(client.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = client.wait().expect("grpc client");
    assert!(
        status.success(),
        "grpc client: {status}: {lines:?}\n{}",
        weir.stderr()
    );
    assert_eq!(
        lines,
        [
            "unary echo:hi OK t1",
            "big 8000005 True",
            "bidi ['bidi:a', 'bidi:b', 'bidi:c'] 100005 0 OK",
            "fail PERMISSION_DENIED nope",
            "deadline DEADLINE_EXCEEDED",
        ]
    );
    let log = weir.wait_log("POST /t.S/Slow HTTP/2.0", Duration::from_secs(5));
    let log = HttpLog::parse(log.pid, &log.message).expect("an httplog line");
    // At the deadline the client cancels (a client abort, CD) or the
    // server answers DEADLINE_EXCEEDED itself (grpc-timeout reached it):
    // whichever comes first.
    assert!(
        log.termination.starts_with("CD") || log.status == 200,
        "{log:?}"
    );
    let log = weir.wait_log("POST /t.S/B HTTP/2.0", DEADLINE);
    let log = HttpLog::parse(log.pid, &log.message).expect("an httplog line");
    assert_eq!(log.status, 200);
}

#[test]
fn server_proto_is_checked() {
    let bad = |server: &str, want: &str| {
        let port = free_port();
        let cfg = http_config(
            port,
            "",
            "",
            &format!(
                "[backend.be]\nserver = [{{ name = \"s\", address = \"127.0.0.1:9\"{server} }}]\n"
            ),
        );
        let dir = TempDir::new("h2cfg");
        let path = dir.path.join("weir.toml");
        std::fs::write(&path, cfg).expect("write");
        let out = Command::new(common::weir::bin())
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("weir -c");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{server}: accepted");
        assert!(err.contains(want), "{server}: {err}");
    };
    bad(", proto = \"h3\"", "unknown server proto \"h3\"");
    bad(
        ", proto = \"h2\", send_proxy = true",
        "an HTTP/2 server connection carries the streams of many",
    );
    bad(
        ", tls = { verify = \"none\", alpn = [\"h2\", \"http/1.1\"] }",
        "lists \"h2\" with another protocol",
    );
    bad(
        ", proto = \"http/1.1\", tls = { verify = \"none\", alpn = [\"h2\"] }",
        "disagree",
    );
}
