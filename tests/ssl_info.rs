//! `show info`'s TLS lines and their Prometheus twins, with real TLS
//! clients, summed over two workers: client handshakes full and resumed
//! (CumSslConns, CurrSslConns, SslRate, SslFrontendKeyRate, the reuse
//! percentage, the maxima), handshakes with a server in TLS (a Python
//! `ssl` origin: SslBackendKeyRate, CumSslConns), and the session cache
//! that TLS 1.2 session IDs resume from (`openssl s_client -sess_in`).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::origin::echo_origin;
use common::runtime::{command, info};
use common::tls_certs::Ca;
use common::tls_client::{self, TlsConn};
use common::tls_origin::{Kind, TlsOrigin};
use common::weir::TempDir;
use common::{ci, client, free_port, wait_until, Weir, DEADLINE};

/// Milliseconds since the epoch (the clock weir's rates use).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `[global]` and `[defaults]` for TCP mode, with the runtime API.
fn head(nbproc: usize, sock: &Path) -> String {
    format!(
        "[global]\nlog = \"stderr\"\nnbproc = {nbproc}\nstats_socket = \"{}\"\n\n\
         [defaults]\nmode = \"tcp\"\n\
         timeout = {{ connect = \"1s\", client = \"10s\", server = \"10s\" }}\n\n",
        sock.display()
    )
}

/// A TLS frontend `fe` on `port` serving `crt`, to an echo origin, and a
/// stats listener on `stats` with Prometheus at `/metrics`.
fn tls_frontend(port: u16, crt: &Path, origin: std::net::SocketAddr, stats: u16) -> String {
    format!(
        "[frontend.fe]\n\
         bind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{}\" }} }}]\n\
         default_backend = \"be\"\n\n\
         [backend.be]\nserver = [{{ name = \"s1\", address = \"{origin}\" }}]\n\n\
         [listen.stats]\nmode = \"http\"\nbind = [\"127.0.0.1:{stats}\"]\n\
         stats = {{ uri = \"/stats\", prometheus = \"/metrics\" }}\n",
        crt.display()
    )
}

/// Every `show info` line that starts with `Ssl`, `CurrSsl`, `CumSsl` or
/// `MaxSsl`, as (key, value).
fn ssl_lines(sock: &Path) -> Vec<(String, u64)> {
    let text = command(sock, "show info").expect("show info");
    text.lines()
        .filter(|l| {
            ["Ssl", "CurrSsl", "CumSsl", "MaxSsl"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .filter_map(|l| {
            let (k, v) = l.split_once(": ")?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn get(lines: &[(String, u64)], key: &str) -> u64 {
    lines
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

/// `GET /metrics` of the stats listener.
fn metrics(port: u16) -> String {
    let resp = client::request(
        port,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("metrics");
    String::from_utf8_lossy(&resp).into_owned()
}

/// A sample's value in a Prometheus exposition.
fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))?
        .trim()
        .parse()
        .ok()
}

#[test]
fn client_handshakes_full_and_resumed_over_two_workers() {
    let dir = TempDir::new("ssl-info");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    let sock = dir.path.join("admin.sock");
    let origin = echo_origin();
    let (port, stats) = (free_port(), free_port());
    let config = head(2, &sock) + &tls_frontend(port, &crt, origin.addr, stats);
    let _weir = Weir::start(&config);
    let before = ssl_lines(&sock);
    for key in [
        "CurrSslConns",
        "CumSslConns",
        "SslRate",
        "SslFrontendKeyRate",
    ] {
        assert_eq!(get(&before, key), 0, "{key}");
    }
    assert_eq!(get(&before, "MaxSslConns"), 0, "no limit");
    assert_eq!(get(&before, "SslRateLimit"), 0, "no limit");

    // Five handshakes, three of them resumed (two clients: each resumes
    // the session of its first connection). The rates cover the current
    // second and the one before: measured within one second, with none
    // before it, they are exact; otherwise measured again.
    let mut attempts = 0;
    let mut last: Option<u64> = None;
    let (open, lines) = loop {
        attempts += 1;
        assert!(attempts <= 4, "never measured within one second");
        // A fresh second, the one before it without handshakes.
        wait_until(
            Duration::from_secs(5),
            "the start of a fresh second",
            || {
                let t = now_ms();
                last.is_none_or(|l| t / 1000 >= l + 2) && t % 1000 < 300
            },
        );
        let second = now_ms() / 1000;
        let mut open: Vec<TlsConn> = Vec::new();
        for _ in 0..2 {
            let config = tls_client::config(&ca.pem);
            let n = if open.is_empty() { 3 } else { 2 };
            for i in 0..n {
                let mut c = tls_client::connect(port, "a.test", &config).expect("handshake");
                assert_eq!(c.resumed(), i > 0, "connection {i} of a client");
                assert_eq!(c.echo(b"ping").expect("echo"), b"ping");
                open.push(c);
            }
        }
        let lines = ssl_lines(&sock);
        let end = now_ms() / 1000;
        if end == second {
            break (open, lines);
        }
        last = Some(end);
    };
    let cum = 5 * attempts;
    assert_eq!(get(&lines, "CurrSslConns"), 5, "{lines:?}");
    assert_eq!(get(&lines, "CumSslConns"), cum, "{lines:?}");
    assert_eq!(get(&lines, "SslRate"), 5, "{lines:?}");
    assert_eq!(get(&lines, "SslFrontendKeyRate"), 2, "{lines:?}");
    assert_eq!(get(&lines, "SslFrontendSessionReuse_pct"), 60, "{lines:?}");
    assert!(get(&lines, "MaxSslRate") >= 5, "{lines:?}");
    assert!(get(&lines, "SslFrontendMaxKeyRate") >= 2, "{lines:?}");
    assert_eq!(get(&lines, "SslBackendKeyRate"), 0, "{lines:?}");

    let m = metrics(stats);
    assert_eq!(
        sample(&m, "haproxy_process_current_ssl_connections"),
        Some(5),
        "{m}"
    );
    assert_eq!(
        sample(&m, "haproxy_process_ssl_connections_total"),
        Some(cum),
        "{m}"
    );
    assert!(
        sample(&m, "haproxy_process_max_ssl_rate").is_some_and(|v| v >= 5),
        "{m}"
    );
    assert!(m.contains("# TYPE haproxy_process_ssl_connections_total counter\n"));
    assert!(m.contains("# TYPE haproxy_process_frontend_ssl_reuse gauge\n"));

    drop(open);
    wait_until(DEADLINE, "CurrSslConns back to 0", || {
        info(&sock, "CurrSslConns") == Some(0)
    });
    assert_eq!(info(&sock, "CumSslConns"), Some(cum));
}

#[test]
fn handshakes_with_servers_are_counted() {
    let missing = ci::missing_commands(&["python3"]);
    if !missing.is_empty() {
        return ci::skip(&format!("missing {missing:?}"));
    }
    let dir = TempDir::new("ssl-info-be");
    let ca = Ca::new("Weir Test CA");
    let ca_path = ca.write(&dir.path, "ca.pem");
    let (crt, key) = ca.leaf(&["origin.test"]).write_apart(&dir.path, "origin");
    let origin = TlsOrigin::start(Kind::Echo, &crt, &key).expect("python3");
    let sock = dir.path.join("admin.sock");
    let port = free_port();
    let config = head(2, &sock)
        + &format!(
            "[frontend.fe]\nbind = [\"127.0.0.1:{port}\"]\ndefault_backend = \"be\"\n\n\
             [backend.be]\nserver = [{{ name = \"s1\", address = \"{}\", \
             tls = {{ ca = \"{}\", sni = \"origin.test\" }} }}]\n",
            origin.addr,
            ca_path.display()
        );
    let _weir = Weir::start(&config);
    for i in 0..3 {
        let mut c = client::connect(port).expect("connect");
        c.write_all(b"ping").expect("write");
        let mut back = [0u8; 4];
        c.read_exact(&mut back).expect("echo through TLS");
        assert_eq!(&back, b"ping");
        if i == 2 {
            // The server side's TLS connection is open while the session is.
            assert_eq!(info(&sock, "CurrSslConns"), Some(1));
        }
    }
    wait_until(DEADLINE, "CurrSslConns back to 0", || {
        info(&sock, "CurrSslConns") == Some(0)
    });
    let lines = ssl_lines(&sock);
    assert_eq!(get(&lines, "CumSslConns"), 3, "{lines:?}");
    assert!(get(&lines, "SslBackendMaxKeyRate") >= 1, "{lines:?}");
    assert_eq!(get(&lines, "SslFrontendMaxKeyRate"), 0, "{lines:?}");
    assert_eq!(
        get(&lines, "MaxSslRate"),
        0,
        "no client handshake: {lines:?}"
    );
}

/// `openssl s_client` in TLS 1.2 without tickets, saving or resuming its
/// session; whether the handshake says `Reused`.
fn s_client_tls12(port: u16, session: &Path, resume: bool) -> bool {
    let flag = if resume { "-sess_in" } else { "-sess_out" };
    let out = Command::new("openssl")
        .args(["s_client", "-tls1_2", "-no_ticket", "-servername", "a.test"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg(flag)
        .arg(session)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("openssl s_client");
    String::from_utf8_lossy(&out.stdout).contains("Reused, TLSv1.2")
}

#[test]
fn session_id_resumption_looks_in_the_session_cache() {
    let missing = ci::missing_commands(&["openssl"]);
    if !missing.is_empty() {
        return ci::skip(&format!("missing {missing:?}"));
    }
    let dir = TempDir::new("ssl-info-cache");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    let sock = dir.path.join("admin.sock");
    let origin = echo_origin();
    let (port, stats) = (free_port(), free_port());
    // One worker: each worker has its own session cache.
    let _weir = Weir::start(&(head(1, &sock) + &tls_frontend(port, &crt, origin.addr, stats)));
    let session: PathBuf = dir.path.join("session.pem");
    assert!(
        !s_client_tls12(port, &session, false),
        "a first, full handshake"
    );
    assert!(
        s_client_tls12(port, &session, true),
        "resumed by session ID"
    );
    let lines = ssl_lines(&sock);
    let (lookups, misses) = (
        get(&lines, "SslCacheLookups"),
        get(&lines, "SslCacheMisses"),
    );
    assert!(lookups >= 1 && lookups - misses == 1, "one hit: {lines:?}");
    assert_eq!(get(&lines, "CumSslConns"), 2, "{lines:?}");
    let m = metrics(stats);
    assert_eq!(
        sample(&m, "haproxy_process_ssl_cache_lookups_total"),
        Some(lookups),
        "{m}"
    );
}
