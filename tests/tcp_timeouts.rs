//! Timeouts in TCP mode: client, connect (with retries), server.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::client;
use common::origin::{blackhole, echo_origin, silent_origin};
use common::{assert_between, free_port, one_server, tcp_config, Weir, DEADLINE};

#[test]
fn idle_client_is_closed_after_timeout_client() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "timeout = { connect = \"1s\", client = \"300ms\", server = \"5s\" }",
        &one_server(origin.addr),
    ));
    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    let took = client::wait_closed(&mut s, Duration::from_secs(5))
        .expect("an idle client must be closed by `timeout client`");
    assert_between(
        "idle client closed",
        took,
        Duration::from_millis(250),
        Duration::from_secs(3),
    );
    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(log.termination, "cD", "{log:?}");
    assert_eq!(log.server, "s1", "the server was connected: {log:?}");
}

#[test]
fn connect_timeout_is_honoured_on_every_retry() {
    // A server that never answers SYNs (see `origin::blackhole`).
    let hole = blackhole();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "timeout = { connect = \"300ms\", client = \"5s\", server = \"5s\" }\nretries = 2",
        &one_server(hole.addr),
    ));
    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    let start = Instant::now();
    client::wait_closed(&mut s, Duration::from_secs(6))
        .expect("weir must give up on a server that never answers");
    // 1 try + 2 retries, 300 ms each: about 0.9 s.
    assert_between(
        "connect timeout x (retries + 1)",
        start.elapsed(),
        Duration::from_millis(850),
        Duration::from_secs(4),
    );
    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(log.termination, "sC", "{log:?}");
    assert_eq!(log.retries(), 2, "{log:?}");
    assert_eq!(log.bytes, 0, "{log:?}");
}

#[test]
fn silent_server_is_closed_after_timeout_server() {
    let origin = silent_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "timeout = { connect = \"1s\", client = \"5s\", server = \"300ms\" }",
        &one_server(origin.addr),
    ));
    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    s.write_all(b"ping\n").unwrap();
    let took = client::wait_closed(&mut s, Duration::from_secs(5))
        .expect("a silent server must be cut by `timeout server`");
    assert_between(
        "silent server cut",
        took,
        Duration::from_millis(250),
        Duration::from_secs(3),
    );
    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(log.termination, "sD", "{log:?}");
    assert_eq!(log.server, "s1", "{log:?}");
    assert_eq!(origin.accepted(), 1);
}
