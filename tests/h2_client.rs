//! HTTP/2 on the client side with real clients (issue 12 item 1, 2, 4):
//! curl in h2c (prior knowledge) and over TLS (ALPN, with HTTP/1.1 on the
//! same bind), a `proto = "h2"` bind, nghttp and h2load for many streams,
//! and a scripted python3-h2 peer (`tests/h2_peer.py`) for what curl will
//! not send. Each stream is an HTTP/1.1 request to the origin (Host from
//! `:authority`), logged as `HTTP/2.0`, counted, ruled like any other.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::client::Payload;
use common::h2::{self, have, info, peer, PROTOCOL_ERROR, REFUSED_STREAM};
use common::http::{curl, HttpLogs, DEFAULT_TIMEOUTS};
use common::http_origin::HttpOrigin;
use common::http_wire::hash_of;
use common::runtime;
use common::{free_port, seed, wait_until, Weir, DEADLINE};

/// One frontend `fe` with `binds`, extra `frontend` lines, backend `be` on
/// `origin`, a stats socket at `sock`, `global` lines.
fn config(binds: &str, global: &str, frontend: &str, origin: SocketAddr, sock: &Path) -> String {
    format!(
        "[global]\nnbproc = 1\nlog = \"stderr\"\nstats_socket = \"{}\"\n{global}\n\n\
         [defaults]\nmode = \"http\"\n{DEFAULT_TIMEOUTS}\n\n\
         [frontend.fe]\nbind = [{binds}]\ndefault_backend = \"be\"\n{frontend}\n\n\
         [backend.be]\nserver = [ {{ name = \"s1\", address = \"{origin}\" }} ]\n",
        sock.display()
    )
}

/// A running weir and its stats socket.
struct Setup {
    weir: Weir,
    sock: std::path::PathBuf,
    _dir: common::weir::TempDir,
}

fn start(binds: &str, global: &str, frontend: &str, origin: &HttpOrigin) -> Setup {
    let dir = common::weir::TempDir::new("h2sock");
    let sock = dir.path.join("stats.sock");
    let weir = Weir::start(&config(binds, global, frontend, origin.addr, &sock));
    Setup {
        weir,
        sock,
        _dir: dir,
    }
}

fn h2c(port: u16, path: &str, extra: &[&str]) -> common::http::CurlOutput {
    let mut args = vec!["--http2-prior-knowledge"];
    args.extend_from_slice(extra);
    curl(port, path, &args)
}

#[test]
fn h2c_streams_reach_the_origin_as_http11_and_are_logged_and_counted() {
    if !have(&["curl"]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let st = start(&format!("\"127.0.0.1:{port}\""), "", "", &origin);
    let (w, sock) = (&st.weir, &st.sock);

    let r = h2c(port, "/p?x=1", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.headers.starts_with("HTTP/2 200"), "{}", r.headers);
    let rep = r.report();
    assert_eq!(rep.get("version"), "HTTP/1.1");
    assert_eq!(rep.get("target"), "/p?x=1");
    // Host from :authority (RFC 9113 §8.3.1).
    assert_eq!(
        rep.header("host"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    let log = w.wait_httplog("GET /p?x=1 HTTP/2.0", DEADLINE, |l| {
        l.request == "GET /p?x=1 HTTP/2.0"
    });
    assert_eq!((log.status, log.backend.as_str()), (200, "be"));

    // Any :authority becomes the Host the origin sees.
    let o = peer("get", port, &["/auth", "example.org:8443"]);
    assert_eq!(o.status(1), Some(200), "{}", o.text);
    let seen = origin.seen();
    let last = seen
        .iter()
        .find(|s| s.target == "/auth")
        .expect("seen /auth");
    assert_eq!(last.header("host"), Some("example.org:8443"));

    wait_until(DEADLINE, "h2 counters", || {
        info(sock, "H2Conns").unwrap_or(0) >= 2 && info(sock, "H2Streams").unwrap_or(0) >= 2
    });
    assert!(info(sock, "CumReq").unwrap_or(0) >= 2);
    assert!(runtime::stat(sock, "fe", "FRONTEND", "req_tot").unwrap_or(0) >= 2);
}

#[test]
fn a_deny_rule_answers_403_on_its_stream_and_the_connection_goes_on() {
    if !have(&[]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let rules = "http_request = [ { deny = 403, if = \"{ path_beg /admin }\" } ]";
    let _w = start(&format!("\"127.0.0.1:{port}\""), "", rules, &origin);
    // One connection, one stream after the other (curl 7.88 cannot reuse
    // an h2c connection: its second transfer fails, against HAProxy too).
    let o = peer("seq", port, &["/admin/x", "/ok"]);
    assert_eq!(
        (o.status(1), o.status(3)),
        (Some(403), Some(200)),
        "{}",
        o.text
    );
    assert!(!o.closed && o.goaways.is_empty(), "{}", o.text);
    assert_eq!(origin.seen_targets(), ["/ok"]);
}

#[test]
fn tls_alpn_h2_and_http11_share_a_bind() {
    if !have(&["curl"]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let dir = common::weir::TempDir::new("h2tls");
    let pem = dir.path.join("site.pem");
    h2::write_cert(&pem);
    let bind = format!(
        "{{ address = \"127.0.0.1:{port}\", tls = {{ crt = [\"{}\"], alpn = [\"h2\", \"http/1.1\"] }} }}",
        pem.display()
    );
    let st = start(&bind, "", "", &origin);
    let w = &st.weir;
    for (flag, path, version) in [("--http2", "/a", "2"), ("--http1.1", "/b", "1.1")] {
        let out = Command::new("curl")
            .args([
                "-sS",
                "-k",
                flag,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{http_version}",
            ])
            .arg(format!("https://127.0.0.1:{port}{path}"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("200 {version}"),
            "{out:?}"
        );
    }
    w.wait_httplog("GET /a HTTP/2.0", DEADLINE, |l| {
        l.request == "GET /a HTTP/2.0"
    });
    w.wait_httplog("GET /b HTTP/1.1", DEADLINE, |l| {
        l.request == "GET /b HTTP/1.1"
    });
    assert!(origin.seen().iter().all(|s| s.version == "HTTP/1.1"));
}

#[test]
fn an_h2_bind_serves_h2c_and_refuses_http1_with_goaway() {
    if !have(&["curl"]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let st = start(
        &format!("{{ address = \"127.0.0.1:{port}\", proto = \"h2\" }}"),
        "",
        "",
        &origin,
    );
    let w = &st.weir;
    assert_eq!(h2c(port, "/h2", &[]).status, 200);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /h1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    // weir's SETTINGS, then GOAWAY PROTOCOL_ERROR: frames, no HTTP/1.
    assert!(!got.starts_with(b"HTTP/"), "{got:?}");
    let goaway = frames(&got)
        .into_iter()
        .find(|f| f.0 == 7)
        .expect("a GOAWAY");
    assert_eq!(
        u32::from_be_bytes(goaway.1[4..8].try_into().unwrap()),
        PROTOCOL_ERROR
    );
    assert_eq!(origin.seen_targets(), ["/h2"]);
    wait_until(DEADLINE, "the error is logged", || {
        w.stderr()
            .contains("HTTP/2 connection error: invalid connection preface")
    });
}

/// (type, payload) of each whole frame in `b`.
fn frames(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut v = Vec::new();
    while b.len() >= 9 {
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
        if b.len() < 9 + n {
            break;
        }
        v.push((b[3], b[9..9 + n].to_vec()));
        b = &b[9 + n..];
    }
    v
}

#[test]
fn many_streams_at_once_share_few_origin_connections() {
    if !have(&["h2load", "nghttp"]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _w = start(&format!("\"127.0.0.1:{port}\""), "", "", &origin);
    let out = Command::new("h2load")
        .args(["-n", "400", "-c", "2", "-m", "10"])
        .arg(format!("http://127.0.0.1:{port}/load"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored"
        ),
        "{text}"
    );
    assert!(text.contains("status codes: 400 2xx"), "{text}");
    // At most one server connection per stream in flight, kept and reused.
    let accepted = origin.accepted();
    assert!(accepted <= 2 * 10 + 2, "{accepted} origin connections");

    let out = Command::new("nghttp")
        .args(["-n", "-s", "-m", "10"])
        .arg(format!("http://127.0.0.1:{port}/nghttp"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let n = origin
        .seen_targets()
        .iter()
        .filter(|t| *t == "/nghttp")
        .count();
    assert_eq!(n, 10);
}

#[test]
fn connection_specific_headers_are_refused() {
    if !have(&[]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _w = start(&format!("\"127.0.0.1:{port}\""), "", "", &origin);
    let o = peer("conn_headers", port, &[]);
    // connection, keep-alive, transfer-encoding, upgrade, te: gzip,
    // proxy-connection: each stream reset, malformed (RFC 9113 §8.2.2).
    for id in [1, 3, 5, 7, 9, 11] {
        assert_eq!(
            o.rst.get(&id),
            Some(&PROTOCOL_ERROR),
            "stream {id}: {}",
            o.text
        );
    }
    // te: trailers is allowed; the connection goes on.
    assert_eq!(o.status(13), Some(200), "{}", o.text);
    assert!(!o.closed && o.goaways.is_empty(), "{}", o.text);
    assert_eq!(origin.seen_targets(), ["/ok"]);
}

#[test]
fn large_bodies_arrive_byte_exact_both_ways() {
    if !have(&["curl"]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _w = start(&format!("\"127.0.0.1:{port}\""), "", "", &origin);
    let n = 12 * 1024 * 1024 + 5;
    let s = seed() % 1000;
    let r = h2c(
        port,
        &format!("/download?bytes={n}&seed={s}"),
        &["--max-time", "60"],
    );
    assert_eq!(r.status, 200, "{}", r.stderr);
    assert_eq!(r.body.len(), n);
    assert!(r.body == Payload::bytes(s, n), "download differs");

    let dir = common::weir::TempDir::new("h2up");
    let file = dir.path.join("up.bin");
    let body = Payload::bytes(s + 1, n);
    std::fs::write(&file, &body).unwrap();
    // With a content-length.
    let arg = format!("@{}", file.display());
    let r = h2c(port, "/up", &["--data-binary", &arg, "--max-time", "60"]);
    assert_eq!(r.status, 200, "{}", r.stderr);
    let rep = r.report();
    assert_eq!(
        (rep.get("chunked"), rep.get("body_len")),
        ("0", n.to_string().as_str())
    );
    assert_eq!(rep.get("body_hash"), hash_of(&body));
}

/// A request body without a length goes to the origin chunked. (It used
/// to stall now and then: a read that stopped on its budget with bytes
/// left waited for an edge that never came.)
#[test]
fn a_body_without_length_arrives_chunked() {
    if !have(&[]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _w = start(&format!("\"127.0.0.1:{port}\""), "", "", &origin);
    let o = peer("upload", port, &["3000000", "chunked"]);
    assert_eq!(o.status(1), Some(200), "{}", o.text);
    let seen = origin.seen();
    let up = seen.iter().find(|s| s.target == "/upload").expect("seen");
    assert!(up.chunked);
    assert_eq!(up.body_len, 3_000_000);
}

#[test]
fn trailers_go_both_ways() {
    if !have(&[]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _w = start(&format!("\"127.0.0.1:{port}\""), "", "", &origin);
    // The client's trailers reach the origin as chunked trailers.
    let o = peer("trailers_up", port, &[]);
    assert_eq!(o.status(1), Some(200), "{}", o.text);
    let seen = origin.seen();
    let up = seen.iter().find(|s| s.target == "/up").expect("seen /up");
    assert!(up.chunked);
    assert_eq!(up.body.as_deref(), Some(&b"hello world"[..]));
    let t: Vec<_> = up
        .trailers
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect();
    assert!(t.contains(&("x-trailer".into(), "t1".into())), "{t:?}");
    assert!(t.contains(&("grpc-status".into(), "0".into())), "{t:?}");
    // The origin's chunked trailers reach the client as a trailing HEADERS.
    let o = peer("get", port, &["/chunked?bytes=100000&seed=3&chunk=7000"]);
    assert_eq!(o.status(1), Some(200), "{}", o.text);
    assert_eq!(o.data.get(&1), Some(&100_000));
    let trailers = o.trailers.get(&1).expect("trailers");
    assert!(
        trailers.iter().any(|(k, _)| k == "x-trailer-hash"),
        "{trailers:?}"
    );
    assert!(o.ended.contains(&1));
}

/// An origin that answers any request with a 1 GiB body, as fast as the
/// socket takes it, and counts what it wrote.
fn firehose() -> (SocketAddr, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let w = written.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let w = w.clone();
            std::thread::spawn(move || {
                let mut s = s;
                let mut head = [0u8; 4096];
                let _ = s.read(&mut head);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
                let chunk = vec![b'z'; 64 * 1024];
                while s.write_all(&chunk).is_ok() {
                    w.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
                let _ = s.shutdown(Shutdown::Both);
            });
        }
    });
    (addr, written)
}

#[test]
fn a_reader_that_never_opens_its_window_holds_weir_to_a_bound() {
    if !have(&[]) {
        return;
    }
    let (addr, written) = firehose();
    let port = free_port();
    let cfg = format!(
        "[global]\nnbproc = 1\nlog = \"stderr\"\n\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"2s\", server = \"10s\", http_keep_alive = \"1s\" }}\n\n\
         [frontend.fe]\nbind = [\"127.0.0.1:{port}\"]\ndefault_backend = \"be\"\n\n\
         [backend.be]\nserver = [ {{ name = \"s1\", address = \"{addr}\" }} ]\n"
    );
    let w = Weir::start(&cfg);
    let worker = w.worker_pids()[0];
    let before = common::http::rss_kib(worker).unwrap_or(0);
    let mon = common::http::RssMonitor::start(worker);
    // Reads for up to 8 s and never sends WINDOW_UPDATE.
    let o = peer("slow_reader", port, &["/huge", "8"]);
    let peak = mon.stop();
    // No more than the stream's window went to the client...
    assert!(o.data.get(&1).copied().unwrap_or(0) <= 65_535, "{}", o.text);
    // ...the origin could write only what socket buffers and weir's
    // bounded buffers hold (1 GiB was on offer)...
    let wrote = written.load(Ordering::SeqCst);
    assert!(wrote < 48 * 1024 * 1024, "origin wrote {wrote} bytes");
    assert!(
        peak < before + 32 * 1024,
        "worker RSS {before} KiB, then {peak} KiB"
    );
    // ...and timeout.client ended it: the stream (cD), then the connection.
    assert!(o.closed, "weir closed the connection: {}", o.text);
    let l = w.wait_httplog("GET /huge", DEADLINE, |l| l.request == "GET /huge HTTP/2.0");
    assert!(l.termination.starts_with("cD"), "{l:?}");
}

#[test]
fn h2_tunables_are_what_weir_advertises_and_enforces() {
    if !have(&[]) {
        return;
    }
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let global = "h2 = { max_concurrent_streams = 5, initial_window_size = \"1m\", max_frame_size = \"32k\" }";
    let _w = start(&format!("\"127.0.0.1:{port}\""), global, "", &origin);
    let o = peer("settings", port, &[]);
    assert_eq!(o.settings.get(&3), Some(&5), "{}", o.text);
    assert_eq!(o.settings.get(&4), Some(&1_048_576), "{}", o.text);
    assert_eq!(o.settings.get(&5), Some(&32_768), "{}", o.text);
    // The connection window is raised to the same.
    assert_eq!(o.window, 1_048_576 - 65_535, "{}", o.text);
    // Seven streams left open (their bodies never end): two refused.
    let o = peer("streams", port, &["7", "2"]);
    assert_eq!(o.rst.get(&11), Some(&REFUSED_STREAM), "{}", o.text);
    assert_eq!(o.rst.get(&13), Some(&REFUSED_STREAM), "{}", o.text);
    for id in [1, 3, 5, 7, 9] {
        assert!(!o.rst.contains_key(&id), "stream {id}: {}", o.text);
    }
}
