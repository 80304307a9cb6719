//! The PROXY protocol (SPEC §10), with HAProxy 2.6 itself on the other
//! side: HAProxy `send-proxy-v2` in front of a weir bind with
//! `accept_proxy` (the client's address reaches weir's log and
//! X-Forwarded-For), weir `send_proxy` to a HAProxy `accept-proxy` bind
//! behind it (HAProxy's X-Forwarded-For says the client), curl's
//! `--haproxy-protocol` (v1), a v2 LOCAL header, and headers that are
//! missing or malformed: closed and logged, with a canary served.

mod common;
mod haproxy;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::http::http_config;
use common::http_origin::HttpOrigin;
use common::{free_port, Weir, DEADLINE};
use haproxy::HaProxy;

/// A TCP connection from `from` (a 127.0.0.x address) to `port`.
fn connect_from(from: &str, port: u16) -> TcpStream {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("address");
    sock.bind(&local.into()).expect("bind the client address");
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    sock.connect(&to.into()).expect("connect");
    sock.set_read_timeout(Some(DEADLINE)).expect("timeout");
    sock.into()
}

/// Sends a GET (with `Connection: close`) and returns the response text.
fn get_over(mut s: TcpStream, prefix: &[u8], target: &str) -> String {
    let mut req = prefix.to_vec();
    req.extend_from_slice(
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    s.write_all(&req).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn weir_accepting(port: u16, origin: &HttpOrigin) -> Weir {
    Weir::start(
        &http_config(
            port,
            "",
            "forwardfor = true\n",
            &format!(
                "[backend.be]\nserver = [{{ name = \"o\", address = \"{}\" }}]\n",
                origin.addr
            ),
        )
        .replacen(
            &format!("bind = [\"127.0.0.1:{port}\"]"),
            &format!("bind = [{{ address = \"127.0.0.1:{port}\", accept_proxy = true }}]"),
            1,
        ),
    )
}

#[test]
fn haproxy_send_proxy_v2_in_front_of_weir() {
    let origin = HttpOrigin::start("o");
    let weir_port = free_port();
    let weir = weir_accepting(weir_port, &origin);
    let hap_port = free_port();
    let _hap = HaProxy::start(
        &format!(
            "global\n    nbthread 1\n\ndefaults\n    mode tcp\n    timeout connect 1s\n    \
             timeout client 5s\n    timeout server 5s\n\nlisten front\n    \
             bind 127.0.0.1:{hap_port}\n    server w 127.0.0.1:{weir_port} send-proxy-v2\n"
        ),
        &[hap_port],
    );
    let text = get_over(connect_from("127.0.0.2", hap_port), b"", "/through-haproxy");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let seen = origin.seen();
    let last = seen.last().expect("the request reached the origin");
    assert_eq!(
        last.header_values("x-forwarded-for"),
        ["127.0.0.2"],
        "weir forwarded the client HAProxy carried: {last:?}"
    );
    weir.wait_log_where("a line from 127.0.0.2", DEADLINE, |l| {
        l.message.starts_with("127.0.0.2:") && l.message.contains("/through-haproxy")
    });
}

#[test]
fn weir_send_proxy_to_haproxy_accept_proxy_behind() {
    let origin = HttpOrigin::start("o");
    for (key, label) in [("send_proxy", "v1"), ("send_proxy_v2", "v2")] {
        let hap_port = free_port();
        let _hap = HaProxy::start(
            &format!(
                "global\n    nbthread 1\n\ndefaults\n    mode http\n    timeout connect 1s\n    \
                 timeout client 5s\n    timeout server 5s\n    option forwardfor\n\n\
                 listen back\n    bind 127.0.0.1:{hap_port} accept-proxy\n    \
                 server o {}\n",
                origin.addr
            ),
            &[hap_port],
        );
        let port = free_port();
        let _weir = Weir::start(&http_config(
            port,
            "",
            "",
            &format!(
                "[backend.be]\nserver = [{{ name = \"h\", address = \"127.0.0.1:{hap_port}\", {key} = true }}]\n"
            ),
        ));
        let text = get_over(connect_from("127.0.0.3", port), b"", &format!("/{label}"));
        assert!(text.starts_with("HTTP/1.1 200"), "{label}: {text}");
        let seen = origin.seen();
        let last = seen.last().expect("the request reached the origin");
        assert_eq!(last.target, format!("/{label}"));
        assert_eq!(
            last.header_values("x-forwarded-for"),
            ["127.0.0.3"],
            "{label}: HAProxy learnt the client from weir's header: {last:?}"
        );
    }
}

#[test]
fn curl_v1_and_a_v2_local_header() {
    let origin = HttpOrigin::start("o");
    let port = free_port();
    let weir = weir_accepting(port, &origin);
    let out = std::process::Command::new("curl")
        .args(["-s", "--haproxy-protocol"])
        .arg(format!("http://127.0.0.1:{port}/curl"))
        .output()
        .expect("curl");
    assert!(out.status.success());
    assert_eq!(
        origin.seen().last().map(|s| s.target.clone()),
        Some("/curl".into())
    );
    // A v1 line with other addresses: they are the client's.
    let text = get_over(
        connect_from("127.0.0.1", port),
        b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\n",
        "/v1",
    );
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let seen = origin.seen();
    assert_eq!(
        seen.last().unwrap().header_values("x-forwarded-for"),
        ["192.0.2.7"]
    );
    weir.wait_log_where("a line from 192.0.2.7:40000", DEADLINE, |l| {
        l.message.starts_with("192.0.2.7:40000 ")
    });
    // v2 LOCAL (a health check from the balancer in front): the
    // connection's own address stands.
    let mut local = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    let text = get_over(connect_from("127.0.0.4", port), &local, "/local");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(
        origin
            .seen()
            .last()
            .unwrap()
            .header_values("x-forwarded-for"),
        ["127.0.0.4"]
    );
}

#[test]
fn missing_or_malformed_headers_close_that_connection_only() {
    let origin = HttpOrigin::start("o");
    let port = free_port();
    let weir = weir_accepting(port, &origin);
    let canary = |i: usize| {
        let text = get_over(
            connect_from("127.0.0.1", port),
            b"PROXY TCP4 192.0.2.9 198.51.100.1 1000 443\r\n",
            &format!("/canary/{i}"),
        );
        assert!(text.starts_with("HTTP/1.1 200"), "canary {i}: {text}");
    };
    let bad: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.1 99999 443\r\n",
        b"PROXY TCP4 not-an-address 198.51.100.1 1 2\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c",
    ];
    for (i, b) in bad.iter().enumerate() {
        let mut s = connect_from("127.0.0.5", port);
        s.write_all(b).expect("send");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(out.is_empty(), "case {i}: weir answered {out:?}");
        canary(i);
    }
    weir.wait_log("does not look like a PROXY protocol header", DEADLINE);
    weir.wait_log("invalid PROXY protocol header", DEADLINE);
    weir.wait_log("invalid PROXY protocol v2 header", DEADLINE);
    assert!(
        origin
            .seen()
            .iter()
            .all(|s| s.target.starts_with("/canary/")),
        "nothing but the canary reached the origin"
    );
}
