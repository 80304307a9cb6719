//! Health checks over TLS, end to end, against an origin that is not
//! weir's TLS stack (Python's `ssl`, OpenSSL underneath): a server with
//! `tls` is checked with the same settings (its CA, its SNI) — an HTTP
//! check passes as `L7OK`, a TCP check as `L6OK` once the handshake is
//! done; a certificate from another CA fails the handshake (`L6RSP`, the
//! server DOWN, HAProxy's log line with rustls's reason); a handshake that
//! never ends is `L6TOUT`; `check.tls = false` with `check.port` checks a
//! plaintext health port while traffic still goes in TLS.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::check_origin::{CheckOrigin, CHECK_PATH};
use common::origin::silent_origin;
use common::runtime::stat_text;
use common::tls_certs::Ca;
use common::tls_origin::{Kind, TlsOrigin};
use common::weir::TempDir;
use common::{ci, client, free_port, wait_for, Weir, DEADLINE};

/// Whether the tools are here (else the test says why and returns).
fn tools_here() -> bool {
    let missing = ci::missing_commands(&["python3"]);
    if !missing.is_empty() {
        ci::skip(&format!("missing {missing:?}"));
        return false;
    }
    true
}

/// An HTTP-mode config: frontend `fe` on `port` to backend `be`, the
/// runtime API on `sock`, and `backends` (whole sections).
fn config(port: u16, sock: &Path, backends: &str) -> String {
    format!(
        "[global]\nlog = \"stderr\"\nstats_socket = \"{}\"\n\n\
         [defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\n\
         [frontend.fe]\nbind = [\"127.0.0.1:{port}\"]\ndefault_backend = \"be\"\n\n{backends}",
        sock.display()
    )
}

/// `tls = { ca = CA, sni = "origin.test" }`: the server's TLS settings.
fn server_tls(ca: &Path) -> String {
    format!(
        "tls = {{ ca = \"{}\", sni = \"origin.test\" }}",
        ca.display()
    )
}

/// The CA weir trusts, written to `dir`, and a TLS origin whose
/// certificate for `origin.test` is signed by `signer`.
fn origin(dir: &Path, trusted: &Ca, signer: &Ca, kind: Kind) -> (PathBuf, TlsOrigin) {
    let ca = trusted.write(dir, "ca.pem");
    let (crt, key) = signer.leaf(&["origin.test"]).write_apart(dir, "origin");
    let origin = TlsOrigin::start(kind, &crt, &key).expect("python3");
    (ca, origin)
}

/// Waits until `show stat` says `check_status` of `px/sv` is `want`.
fn wait_status(sock: &Path, px: &str, sv: &str, want: &str) {
    wait_for(DEADLINE, &format!("{px}/{sv} check_status {want}"), || {
        (stat_text(sock, px, sv, "check_status").as_deref() == Some(want)).then_some(())
    });
}

/// `GET /` through weir; the response.
fn get(port: u16) -> String {
    let resp = client::request(
        port,
        b"GET / HTTP/1.1\r\nHost: weir.test\r\nConnection: close\r\n\r\n",
    )
    .expect("request through weir");
    String::from_utf8_lossy(&resp).into_owned()
}

#[test]
fn checks_use_the_servers_tls_settings() {
    if !tools_here() {
        return;
    }
    let dir = TempDir::new("tls-checks-ok");
    let ca = Ca::new("Weir Test CA");
    let (ca_path, origin) = origin(&dir.path, &ca, &ca, Kind::Http);
    let sock = dir.path.join("admin.sock");
    let tls = server_tls(&ca_path);
    let backends = format!(
        "[backend.be]\ncheck = {{ type = \"http\", path = \"{CHECK_PATH}\", interval = \"100ms\" }}\n\
         server = [{{ name = \"s1\", address = \"{a}\", check = true, {tls} }}]\n\n\
         [backend.raw]\nmode = \"tcp\"\ncheck = {{ type = \"tcp\", interval = \"100ms\" }}\n\
         server = [{{ name = \"s2\", address = \"{a}\", check = true, {tls} }}]\n",
        a = origin.addr
    );
    let port = free_port();
    let _weir = Weir::start(&config(port, &sock, &backends));
    wait_status(&sock, "be", "s1", "L7OK");
    wait_status(&sock, "raw", "s2", "L6OK");
    assert_eq!(
        stat_text(&sock, "raw", "s2", "check_desc").as_deref(),
        Some("Layer6 check passed")
    );
    let resp = get(port);
    assert!(
        resp.starts_with("HTTP/1.1 200") && resp.ends_with("tls origin\n"),
        "{resp}"
    );
}

#[test]
fn a_certificate_from_another_ca_takes_the_server_down() {
    if !tools_here() {
        return;
    }
    let dir = TempDir::new("tls-checks-ca");
    let (ca, other) = (Ca::new("Weir Test CA"), Ca::new("Another CA"));
    let (ca_path, origin) = origin(&dir.path, &ca, &other, Kind::Http);
    let sock = dir.path.join("admin.sock");
    let backends = format!(
        "[backend.be]\ncheck = {{ type = \"http\", path = \"{CHECK_PATH}\", interval = \"100ms\", \
         fall = 2 }}\nserver = [{{ name = \"s1\", address = \"{}\", check = true, {} }}]\n",
        origin.addr,
        server_tls(&ca_path)
    );
    let port = free_port();
    let weir = Weir::start(&config(port, &sock, &backends));
    let down = weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    let prefix = "Server be/s1 is DOWN, reason: Layer6 invalid response, \
                  info: \"SSL handshake failure (invalid peer certificate: ";
    assert!(
        down.message.starts_with(prefix)
            && down.message.contains("UnknownIssuer")
            && down.message.ends_with(
                "ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, \
                 0 remaining in queue."
            ),
        "{}",
        down.message
    );
    assert_eq!(down.pid, weir.control_pid().expect("control process"));
    weir.wait_log("backend be has no server available!", DEADLINE);
    wait_status(&sock, "be", "s1", "L6RSP");
    assert_eq!(
        stat_text(&sock, "be", "s1", "status").as_deref(),
        Some("DOWN")
    );
    assert!(
        get(port).starts_with("HTTP/1.1 503"),
        "no server to send to"
    );
}

#[test]
fn a_handshake_that_never_ends_is_a_layer6_timeout() {
    let dir = TempDir::new("tls-checks-tout");
    let ca = Ca::new("Weir Test CA");
    let ca_path = ca.write(&dir.path, "ca.pem");
    let silent = silent_origin();
    let sock = dir.path.join("admin.sock");
    let backends = format!(
        "[backend.be]\ncheck = {{ type = \"tcp\", interval = \"100ms\", timeout = \"300ms\", \
         fall = 1 }}\nserver = [{{ name = \"s1\", address = \"{}\", check = true, {} }}]\n",
        silent.addr,
        server_tls(&ca_path)
    );
    let weir = Weir::start(&config(free_port(), &sock, &backends));
    let down = weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    assert!(
        down.message
            .starts_with("Server be/s1 is DOWN, reason: Layer6 timeout, check duration: 3"),
        "{}",
        down.message
    );
    wait_status(&sock, "be", "s1", "L6TOUT");
}

#[test]
fn check_tls_false_checks_a_plaintext_port() {
    if !tools_here() {
        return;
    }
    let dir = TempDir::new("tls-checks-plain");
    let ca = Ca::new("Weir Test CA");
    let (ca_path, origin) = origin(&dir.path, &ca, &ca, Kind::Http);
    let health = CheckOrigin::start("health");
    let sock = dir.path.join("admin.sock");
    let backends = format!(
        "[backend.be]\ncheck = {{ type = \"http\", path = \"{CHECK_PATH}\", interval = \"100ms\", \
         fall = 2, tls = false, port = {} }}\n\
         server = [{{ name = \"s1\", address = \"{}\", check = true, {} }}]\n",
        health.addr.port(),
        origin.addr,
        server_tls(&ca_path)
    );
    let port = free_port();
    let weir = Weir::start(&config(port, &sock, &backends));
    wait_status(&sock, "be", "s1", "L7OK");
    assert!(
        health.checks() >= 1,
        "the plaintext health port was checked"
    );
    // Traffic still goes to the server's own address, in TLS.
    let resp = get(port);
    assert!(resp.ends_with("tls origin\n"), "{resp}");

    health.set_check_status(503);
    let down = weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    assert!(
        down.message
            .starts_with("Server be/s1 is DOWN, reason: Layer7 wrong status, code: 503"),
        "{}",
        down.message
    );
}
