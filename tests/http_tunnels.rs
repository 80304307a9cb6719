//! HTTP mode, tunnels: `Upgrade: websocket` after a 101, and `CONNECT`
//! after a 2xx, become byte pipes between the client and the origin; an
//! idle tunnel ends at `timeout tunnel`.

mod common;

use std::time::{Duration, Instant};

use common::client::Payload;
use common::http::{backend, http_config, simple_config, Client};
use common::http_origin::{read_ws_frame, ws_accept, ws_frame, HttpOrigin};
use common::{free_port, seed, Weir, DEADLINE};

const HANDSHAKE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: test.local\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn ws_handshake(port: u16) -> Client {
    let mut c = Client::connect(port);
    c.send(HANDSHAKE);
    let r = c.read_head().expect("the 101");
    assert_eq!(r.status, 101, "{r:?}");
    assert!(
        r.has_token("Upgrade", "websocket"),
        "Upgrade reaches the client on a 101: {r:?}"
    );
    assert!(r.has_token("Connection", "upgrade"), "{r:?}");
    // The RFC 6455 example key and its answer.
    assert_eq!(
        r.header("Sec-WebSocket-Accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{r:?}"
    );
    assert_eq!(
        ws_accept("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    c
}

#[test]
fn websocket_echo_through_weir() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = ws_handshake(port);
    let seen = &origin.seen()[0];
    assert!(
        seen.header_values("Upgrade")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("websocket")),
        "Upgrade reaches the origin when tunnelling: {seen:?}"
    );
    assert_eq!(
        seen.header("Sec-WebSocket-Key"),
        Some("dGhlIHNhbXBsZSBub25jZQ==")
    );

    c.send(&ws_frame(1, b"hello weir", Some([1, 2, 3, 4])));
    let (op, payload) = read_ws_frame(&mut c.conn).expect("the echoed frame");
    assert_eq!((op, payload.as_slice()), (1, &b"hello weir"[..]));

    // A large binary frame too: no HTTP framing applies any more.
    let big = Payload::bytes(seed(), 200_000);
    c.send(&ws_frame(2, &big, Some([9, 8, 7, 6])));
    let (op, payload) = read_ws_frame(&mut c.conn).expect("the echoed binary frame");
    assert_eq!(op, 2);
    assert!(payload == big, "binary frame differs");

    // Bytes that look like HTTP are just data in a tunnel.
    let fake = b"GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send(&ws_frame(1, fake, Some([0, 0, 0, 0])));
    let (_, payload) = read_ws_frame(&mut c.conn).expect("echo");
    assert_eq!(payload, fake);
    assert_eq!(
        origin.seen().len(),
        1,
        "the origin saw one HTTP request only"
    );

    c.send(&ws_frame(8, b"\x03\xe8", Some([5, 5, 5, 5])));
    let (op, _) = read_ws_frame(&mut c.conn).expect("close frame");
    assert_eq!(op, 8);
    c.closed_silently(Duration::from_secs(5))
        .expect("the tunnel ends when the origin closes");
}

#[test]
fn connect_becomes_a_tunnel_after_the_2xx() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    c.send(b"CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n");
    let r = c.read_head().expect("the CONNECT answer");
    assert_eq!(r.status, 200, "{r:?}");
    let data = Payload::bytes(seed(), 100_000);
    c.send(&data);
    let mut back = Vec::new();
    c.conn
        .take(data.len() as u64, |b| back.extend_from_slice(b))
        .expect("the echo");
    assert!(back == data, "tunnel data differs");
    let seen = &origin.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("CONNECT", "upstream.example:443")
    );
    c.conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
    c.closed_silently(Duration::from_secs(5))
        .expect("the tunnel closes after both sides are done");
}

#[test]
fn idle_tunnel_is_closed_at_timeout_tunnel() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&http_config(
        port,
        "timeout = { connect = \"1s\", client = \"5s\", server = \"5s\", http_request = \"2s\", \
         tunnel = \"500ms\" }",
        "",
        &backend("be", "", &[origin.addr]),
    ));

    let mut c = ws_handshake(port);
    // Before the last bytes through the tunnel: its idle time starts later.
    let start = Instant::now();
    c.send(&ws_frame(1, b"ping", Some([1, 1, 1, 1])));
    assert_eq!(read_ws_frame(&mut c.conn).unwrap().1, b"ping");
    let (rest, closed) = c.read_until_closed(DEADLINE);
    let took = start.elapsed();
    assert!(closed, "an idle tunnel is closed (got {rest:?})");
    // At timeout.tunnel (500 ms) or later, and before timeout.client and
    // timeout.server (5 s), which would close it if timeout.tunnel did not.
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "closed after {took:?}, want timeout.tunnel (500 ms), before client/server (5 s)"
    );
}
