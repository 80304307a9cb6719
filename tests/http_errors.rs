//! HTTP mode, errors from real conditions: 408 (a client too slow with its
//! head), 502 (an origin sending garbage or closing before answering), 503
//! (no server could be connected; no server at all), 504 (an origin that
//! never answers). Each is HAProxy's page, closes the connection, is logged
//! with its termination state, and leaves other clients unaffected.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::http::{assert_error_page, backend, http_config, simple_config, Client, HttpLogs, Req};
use common::http_origin::HttpOrigin;
use common::origin::dead_port;
use common::{free_port, Weir, DEADLINE};

/// timeout.client: what would cut a silent client or a silent origin if
/// http_request or server did not.
const CLIENT: Duration = Duration::from_secs(5);
/// timeout.http_keep_alive: what would cut a connection waiting for its
/// next request if http_request did not.
const KEEP_ALIVE: Duration = Duration::from_secs(3);

fn timeouts(http_request: &str, server: &str) -> String {
    format!(
        "timeout = {{ connect = \"500ms\", client = \"5s\", server = \"{server}\", \
         http_request = \"{http_request}\", http_keep_alive = \"3s\" }}\nretries = 1"
    )
}

/// A second frontend `fe2` on `port2` to a working origin, to show that
/// other clients are served meanwhile.
fn with_second_frontend(config: String, port2: u16, good: &HttpOrigin) -> String {
    format!(
        "{config}\n[frontend.fe2]\nbind = [\"127.0.0.1:{port2}\"]\ndefault_backend = \"good\"\n\n{}",
        backend("good", "", &[good.addr])
    )
}

/// Runs `n` probes on the second frontend while the first one is busy
/// failing; returns when each was answered.
fn probes_meanwhile(port2: u16, n: usize) -> thread::JoinHandle<Vec<Instant>> {
    thread::spawn(move || {
        (0..n)
            .map(|i| {
                let mut c = Client::connect(port2);
                let r = c.get(&format!("/probe/{i}"));
                assert_eq!(r.status, 200, "{r:?}");
                let answered = Instant::now();
                thread::sleep(Duration::from_millis(50));
                answered
            })
            .collect()
    })
}

/// Other clients are served while a request waits for its error: each
/// probe was answered before the error came (a weir held up by the failing
/// request would answer them only after it).
fn probes_answered_before(probes: thread::JoinHandle<Vec<Instant>>, error_at: Instant) {
    for (i, at) in probes.join().unwrap().into_iter().enumerate() {
        assert!(
            at < error_at,
            "probe {i} was answered {:?} after the error page",
            at - error_at
        );
    }
}

#[test]
fn silent_client_gets_408_at_timeout_http_request() {
    let origin = HttpOrigin::start("o1");
    let good = HttpOrigin::start("good");
    let (port, port2) = (free_port(), free_port());
    let weir = Weir::start(&with_second_frontend(
        http_config(
            port,
            &timeouts("2s", "5s"),
            "",
            &backend("be", "", &[origin.addr]),
        ),
        port2,
        &good,
    ));

    // The clock starts before the connections, so before weir's timers.
    let start = Instant::now();
    // Nothing sent at all, on the first request of a connection.
    let mut silent = Client::connect(port);
    let me = silent.local_addr();
    // A partial head.
    let mut partial = Client::connect(port);
    partial.send(b"GET /partial HTTP/1.1\r\nHost: x\r\n");
    let probes = probes_meanwhile(port2, 5);
    let mut first_408 = None;
    for (c, what) in [(&mut silent, "silent"), (&mut partial, "partial")] {
        let (bytes, closed) = c.read_until_closed(DEADLINE);
        first_408.get_or_insert_with(Instant::now);
        assert!(closed, "{what}: closed");
        assert_error_page(&bytes, 408, what);
    }
    let took = start.elapsed();
    // At http_request (2 s), never before it, and not at timeout.client.
    assert!(
        took >= Duration::from_secs(2) && took < CLIENT,
        "408 after {took:?}, want http_request (2 s), before timeout.client ({CLIENT:?})"
    );
    probes_answered_before(probes, first_408.expect("a 408"));
    assert!(origin.seen().is_empty());
    let log = weir.wait_httplog("408", DEADLINE, |l| l.client == me);
    assert_eq!(log.status, 408, "{log:?}");
    assert_eq!(log.termination, "cR--", "{log:?}");
}

#[test]
fn origin_sending_garbage_gives_502() {
    let origin = HttpOrigin::start("o1");
    let good = HttpOrigin::start("good");
    let (port, port2) = (free_port(), free_port());
    let weir = Weir::start(&with_second_frontend(
        simple_config(port, origin.addr),
        port2,
        &good,
    ));
    let probes = probes_meanwhile(port2, 3);
    let mut c = Client::connect(port);
    let me = c.local_addr();
    c.send(&Req::get("/garbage").bytes());
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    assert_error_page(&bytes, 502, "garbage");
    assert!(closed);
    probes.join().unwrap();
    let log = weir.wait_httplog("502", DEADLINE, |l| l.client == me);
    assert_eq!((log.status, log.server.as_str()), (502, "s1"), "{log:?}");
    assert_eq!(log.termination, "PH--", "{log:?}");
}

#[test]
fn origin_closing_before_the_head_gives_502() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    let me = c.local_addr();
    c.send(&Req::get("/hangup").bytes());
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    assert_error_page(&bytes, 502, "hangup");
    assert!(closed);
    let log = weir.wait_httplog("502", DEADLINE, |l| l.client == me);
    assert_eq!(log.status, 502, "{log:?}");
    assert_eq!(log.termination, "SH--", "{log:?}");
}

#[test]
fn invalid_response_heads_give_502() {
    // Origins whose answer breaks the response rules.
    let bad: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ];
    for &reply in bad {
        let what = format!("{:?}", String::from_utf8_lossy(reply));
        let reply = reply.to_vec();
        let origin = common::origin::Origin::spawn(move |mut s| {
            use std::io::{Read, Write};
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&reply);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        });
        let port = free_port();
        let _weir = Weir::start(&simple_config(port, origin.addr));
        let mut c = Client::connect(port);
        c.send(&Req::get("/").bytes());
        let (bytes, _) = c.read_until_closed(DEADLINE);
        assert_error_page(&bytes, 502, &what);
    }
}

#[test]
fn dead_server_gives_503_after_the_retries() {
    let dead = dead_port();
    let good = HttpOrigin::start("good");
    let (port, port2) = (free_port(), free_port());
    let weir = Weir::start(&with_second_frontend(
        http_config(
            port,
            &timeouts("2s", "5s"),
            "",
            &backend("be", "", &[dead.addr]),
        ),
        port2,
        &good,
    ));
    let probes = probes_meanwhile(port2, 3);
    let mut c = Client::connect(port);
    let me = c.local_addr();
    c.send(&Req::get("/").bytes());
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    assert_error_page(&bytes, 503, "dead server");
    assert!(closed);
    probes.join().unwrap();
    let log = weir.wait_httplog("503", DEADLINE, |l| l.client == me);
    assert_eq!(log.status, 503, "{log:?}");
    assert_eq!(log.termination, "SC--", "{log:?}");
    assert_eq!(log.counters[4], 1, "one retry: {log:?}");
}

#[test]
fn backend_without_usable_server_gives_503_nosrv() {
    let port = free_port();
    let dead = dead_port();
    let weir = Weir::start(&http_config(
        port,
        "",
        "",
        &format!(
            "[backend.be]\nserver = [ {{ name = \"s1\", address = \"{}\", disabled = true }} ]\n",
            dead.addr
        ),
    ));
    let mut c = Client::connect(port);
    let me = c.local_addr();
    c.send(&Req::get("/").bytes());
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    assert_error_page(&bytes, 503, "no server");
    assert!(closed);
    let log = weir.wait_httplog("503", DEADLINE, |l| l.client == me);
    assert_eq!(
        (log.status, log.backend.as_str(), log.server.as_str()),
        (503, "be", "<NOSRV>"),
        "{log:?}"
    );
}

#[test]
fn silent_origin_gives_504_at_timeout_server() {
    let origin = HttpOrigin::start("o1");
    let good = HttpOrigin::start("good");
    let (port, port2) = (free_port(), free_port());
    let weir = Weir::start(&with_second_frontend(
        http_config(
            port,
            &timeouts("2s", "2s"),
            "",
            &backend("be", "", &[origin.addr]),
        ),
        port2,
        &good,
    ));
    let mut c = Client::connect(port);
    let me = c.local_addr();
    let start = Instant::now();
    c.send(&Req::get("/silent").bytes());
    let probes = probes_meanwhile(port2, 5);
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    let took = start.elapsed();
    assert_error_page(&bytes, 504, "silent origin");
    assert!(closed);
    // At timeout.server (2 s; its clock starts after the request is sent),
    // and not at timeout.client.
    assert!(
        took >= Duration::from_secs(2) && took < CLIENT,
        "504 after {took:?}, want timeout.server (2 s), before timeout.client ({CLIENT:?})"
    );
    probes_answered_before(probes, start + took);
    let log = weir.wait_httplog("504", DEADLINE, |l| l.client == me);
    assert_eq!(log.status, 504, "{log:?}");
    assert_eq!(log.termination, "sH--", "{log:?}");
    assert_eq!(log.t_response(), -1, "no response head: {log:?}");
}

#[test]
fn an_error_on_a_kept_alive_connection_closes_it_after_the_page() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    assert_eq!(c.get("/first").status, 200);
    c.send(&Req::get("/garbage").bytes());
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    assert_error_page(&bytes, 502, "502 after a good request");
    assert!(closed, "the connection closes after an error page");
}

#[test]
fn partial_second_request_on_a_kept_alive_connection_gets_408() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&http_config(
        port,
        &timeouts("500ms", "5s"),
        "",
        &backend("be", "", &[origin.addr]),
    ));
    let mut c = Client::connect(port);
    // Before the first request: every timer of the second wait starts later.
    let start = Instant::now();
    assert_eq!(c.get("/first").status, 200);
    // One byte of the next head is enough for the 408 to be due.
    c.send(b"GET /sec");
    let (bytes, closed) = c.read_until_closed(DEADLINE);
    let took = start.elapsed();
    assert_error_page(&bytes, 408, "partial second request");
    assert!(closed);
    // At http_request (500 ms), not at http_keep_alive, which applies only
    // while no byte of the next request has come.
    assert!(
        took >= Duration::from_millis(500) && took < KEEP_ALIVE,
        "408 after {took:?}, want http_request (500 ms), before http_keep_alive ({KEEP_ALIVE:?})"
    );
}
