//! How weir ends a TLS connection: a clean end sends close_notify before
//! the FIN, so that the client knows nothing was cut off; an abort does
//! not, so that a client sees the truncation (rustls reports an EOF
//! without close_notify as `UnexpectedEof`).
//!
//! Clean ends: an HTTP response to `Connection: close`, an idle
//! keep-alive connection closed by `timeout.http_keep_alive`, a TCP-mode
//! session whose server closed. Abort: a TCP-mode server that resets the
//! connection.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use common::http::backend;
use common::http_origin::HttpOrigin;
use common::origin::{named_origin, Origin};
use common::tls_certs::Ca;
use common::tls_client::{self, TlsConn};
use common::weir::TempDir;
use common::{free_port, Weir};

/// Reads until the end of the stream: `Ok(bytes)` if it ended with the
/// server's close_notify, the error (`UnexpectedEof`: a bare FIN)
/// otherwise.
fn read_to_close(c: &mut TlsConn) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    c.stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(10)))?;
    c.stream.read_to_end(&mut out).map(|_| out)
}

fn tls_config(mode: &str, port: u16, crt: &std::path::Path, rest: &str, extra: &str) -> String {
    format!(
        "[global]\nlog = \"stderr\"\nnbproc = 1\n[defaults]\nmode = \"{mode}\"\n\
         timeout = {{ connect = \"1s\", client = \"10s\", server = \"10s\"{extra} }}\n\
         [frontend.fe]\nbind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{}\" }} }}]\n\
         default_backend = \"be\"\n{rest}",
        crt.display()
    )
}

/// One HTTP request over TLS to weir in HTTP mode (`extra` added to its
/// timeouts); what the client read until weir closed with close_notify.
fn http_until_close_notify(tag: &str, extra: &str, request: &[u8]) -> Vec<u8> {
    let dir = TempDir::new(tag);
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let be = backend("be", "", &[origin.addr]);
    let _weir = Weir::start(&tls_config("http", port, &crt, &be, extra));
    let client = tls_client::config(&ca.pem);
    let mut c = tls_client::connect(port, "a.test", &client).expect("handshake");
    c.stream.write_all(request).unwrap();
    read_to_close(&mut c).expect("the response, then close_notify")
}

#[test]
fn an_http_response_with_connection_close_ends_with_close_notify() {
    let got = http_until_close_notify(
        "tls-close-http",
        "",
        b"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    );
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_with_close_notify() {
    let got = http_until_close_notify(
        "tls-close-ka",
        ", http_keep_alive = \"300ms\"",
        b"GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n",
    );
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn a_tcp_session_whose_server_closes_ends_with_close_notify() {
    let dir = TempDir::new("tls-close-tcp");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    let origin = named_origin("hello from s1");
    let port = free_port();
    let be = format!(
        "[backend.be]\nserver = [{{ name = \"s1\", address = \"{}\" }}]\n",
        origin.addr
    );
    let _weir = Weir::start(&tls_config("tcp", port, &crt, &be, ""));
    let client = tls_client::config(&ca.pem);
    let mut c = tls_client::connect(port, "a.test", &client).expect("handshake");
    let got = read_to_close(&mut c).expect("the bytes, then close_notify");
    assert_eq!(got, b"hello from s1");
}

#[test]
fn a_server_reset_reaches_a_tls_client_as_a_truncation() {
    let dir = TempDir::new("tls-close-rst");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    // Sends a few bytes, then resets the connection (SO_LINGER 0).
    let origin = Origin::spawn(|mut s| {
        let _ = s.write_all(b"partial");
        std::thread::sleep(Duration::from_millis(200));
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        let _ = s.shutdown(Shutdown::Read);
    });
    let port = free_port();
    let be = format!(
        "[backend.be]\nserver = [{{ name = \"s1\", address = \"{}\" }}]\n",
        origin.addr
    );
    let _weir = Weir::start(&tls_config("tcp", port, &crt, &be, ""));
    let client = tls_client::config(&ca.pem);
    let mut c = tls_client::connect(port, "a.test", &client).expect("handshake");
    let mut first = [0u8; 7];
    c.stream.read_exact(&mut first).expect("the first bytes");
    assert_eq!(&first, b"partial");
    let end = read_to_close(&mut c);
    assert!(
        matches!(&end, Err(e) if e.kind() == ErrorKind::UnexpectedEof
            || e.kind() == ErrorKind::ConnectionReset),
        "a reset server must not look like a clean end: {end:?}"
    );
}
