//! Per-server `maxconn` and the backend queue: requests beyond a server's
//! limit wait and are served in order, the origin never sees more than the
//! limit, and a wait longer than `timeout.queue` ends with a 503 (HTTP) or
//! a close (TCP), logged `sQ`.

mod common;
mod slow_origin;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use common::client;
use common::http::{assert_error_page, http_config, raw_exchange, Client};
use common::logline::{httplogs, HttpLog};
use common::origin::Origin;
use common::weir::TempDir;
use common::{free_port, runtime, tcp_config, wait_for, wait_until, Weir, DEADLINE};
use slow_origin::SlowOrigin;

/// HTTP config: one server with `maxconn`, and these timeouts.
fn one_limited(port: u16, addr: std::net::SocketAddr, maxconn: usize, timeout: &str) -> String {
    http_config(
        port,
        &format!("timeout = {{ {timeout}, client = \"5s\", server = \"5s\", http_request = \"2s\" }}"),
        "",
        &format!(
            "[backend.be]\nserver = [ {{ name = \"s1\", address = \"{addr}\", maxconn = {maxconn} }} ]\n"
        ),
    )
}

/// Waits for `n` httplog lines.
fn wait_httplogs(weir: &Weir, n: usize) -> Vec<HttpLog> {
    wait_for(DEADLINE, &format!("{n} httplog lines"), || {
        let logs = httplogs(&weir.stderr());
        (logs.len() >= n).then_some(logs)
    })
}

#[test]
fn fifty_requests_through_five_slots() {
    let origin = SlowOrigin::start("s1", 100);
    let port = free_port();
    let weir = Weir::start(&one_limited(
        port,
        origin.addr,
        5,
        "connect = \"1s\", queue = \"10s\"",
    ));
    let start = Instant::now();
    let threads: Vec<_> = (0..50)
        .map(|_| thread::spawn(move || Client::connect(port).get("/").status))
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let took = start.elapsed();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(origin.total(), 50);
    assert!(
        origin.max_inflight() <= 5,
        "the origin held {} requests at once, maxconn is 5",
        origin.max_inflight()
    );
    // 10 rounds of 100 ms at least.
    assert!(took >= Duration::from_millis(950), "took {took:?}");
    let logs = wait_httplogs(&weir, 50);
    assert!(logs.iter().all(|l| l.termination == "----"), "{logs:#?}");
    assert!(
        logs.iter().all(|l| l.counters[3] <= 5),
        "srv_conn over 5: {logs:#?}"
    );
    let queued: Vec<&HttpLog> = logs.iter().filter(|l| l.t_queue() > 0).collect();
    assert!(queued.len() >= 30, "few lines show a queue time: {logs:#?}");
    assert!(
        logs.iter().any(|l| l.queues.1 >= 20),
        "some request should have found 20 or more ahead: {logs:#?}"
    );
    assert!(logs.iter().all(|l| l.queues.0 == 0), "{logs:#?}");
}

#[test]
fn queue_is_first_come_first_served() {
    let origin = SlowOrigin::start("s1", 150);
    let port = free_port();
    let dir = TempDir::new("fifo");
    let sock = dir.path.join("admin.sock");
    let config = one_limited(port, origin.addr, 1, "connect = \"1s\", queue = \"5s\"").replace(
        "nbproc = 1",
        &format!("nbproc = 1\nstats_socket = \"{}\"", sock.display()),
    );
    let weir = Weir::start(&config);
    // The origin keeps request 0 until all are queued behind it. Request i
    // is sent once weir has taken request i - 1 into the backend
    // (be,BACKEND stot counts a request when it is routed there, in the
    // same turn that queues it): the order of arrival is the order of i.
    origin.hold();
    let threads: Vec<_> = (0..5)
        .map(|i| {
            let t = thread::spawn(move || Client::connect(port).get(&format!("/?i={i}")).status);
            wait_until(DEADLINE, &format!("request {i} in the backend"), || {
                runtime::stat(&sock, "be", "BACKEND", "stot").is_some_and(|n| n > i)
            });
            t
        })
        .collect();
    wait_until(DEADLINE, "request 0 at the origin", || origin.total() >= 1);
    assert_eq!(origin.total(), 1, "one request at the origin, four queued");
    origin.release();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let logs = wait_httplogs(&weir, 5);
    let order: Vec<&str> = logs.iter().map(|l| l.target()).collect();
    assert_eq!(order, ["/?i=0", "/?i=1", "/?i=2", "/?i=3", "/?i=4"]);
    let ahead: Vec<i64> = logs.iter().map(|l| l.queues.1).collect();
    assert_eq!(ahead, [0, 0, 1, 2, 3], "{logs:#?}");
    assert_eq!(origin.max_inflight(), 1);
}

#[test]
fn http_queue_timeout_gives_503_logged_sq() {
    // The slot is held 800 ms; queued requests give up at timeout.queue
    // (200 ms), long before timeout.connect (3 s, what a queue without
    // timeout.queue waits).
    let origin = SlowOrigin::start("s1", 800);
    let port = free_port();
    let weir = Weir::start(&one_limited(
        port,
        origin.addr,
        1,
        "connect = \"3s\", queue = \"200ms\"",
    ));
    let holder = thread::spawn(move || {
        let status = Client::connect(port).get("/").status;
        (status, Instant::now())
    });
    wait_for(DEADLINE, "the first request at the origin", || {
        (origin.total() == 1).then_some(())
    });
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(move || {
                let start = Instant::now();
                let (bytes, closed) = raw_exchange(
                    port,
                    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                    Duration::from_secs(5),
                );
                (bytes, closed, start.elapsed(), Instant::now())
            })
        })
        .collect();
    let waited: Vec<_> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    let (status, slot_freed) = holder.join().unwrap();
    assert_eq!(status, 200);
    for (bytes, closed, took, at) in waited {
        assert_error_page(&bytes, 503, "queued past timeout.queue");
        assert!(closed, "the connection closes after the 503");
        // Not before timeout.queue (the clock started before the
        // connection), and while the slot was still taken: the 503 is the
        // queue's timeout, not the connect timeout, nor the slot freeing.
        assert!(took >= Duration::from_millis(200), "503 after {took:?}");
        assert!(
            at < slot_freed,
            "503 after {took:?}, once the slot had freed"
        );
    }
    assert_eq!(origin.total(), 1, "no queued request reached the origin");
    let logs = wait_httplogs(&weir, 4);
    let sq: Vec<&HttpLog> = logs.iter().filter(|l| l.termination == "sQ--").collect();
    assert_eq!(sq.len(), 3, "{logs:#?}");
    for l in sq {
        assert_eq!((l.status, l.server.as_str()), (503, "<NOSRV>"), "{l:?}");
        assert!(
            (200..3000).contains(&l.t_queue()),
            "Tw {} (timeout.queue 200 ms, timeout.connect 3 s): {l:?}",
            l.t_queue()
        );
        assert_eq!(l.t_connect(), -1, "{l:?}");
    }
}

#[test]
fn queues_hold_across_workers() {
    let origin = SlowOrigin::start("s1", 100);
    let port = free_port();
    let config = one_limited(port, origin.addr, 4, "connect = \"1s\", queue = \"10s\"")
        .replace("nbproc = 1", "nbproc = 2");
    let _weir = Weir::start(&config);
    let threads: Vec<_> = (0..40)
        .map(|_| thread::spawn(move || Client::connect(port).get("/").status))
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    assert_eq!(origin.total(), 40);
    // Two workers that pick at the same instant may exceed by one.
    assert!(origin.max_inflight() <= 5, "max {}", origin.max_inflight());
}

/// A TCP origin that holds each connection `ms` then sends "ok" and closes.
fn holding_origin(ms: u64) -> Origin {
    Origin::spawn(move |mut s| {
        let mut b = [0u8; 64];
        let _ = s.set_read_timeout(Some(Duration::from_millis(ms)));
        let _ = s.read(&mut b);
        let _ = s.write_all(b"ok");
        let _ = s.shutdown(std::net::Shutdown::Write);
    })
}

#[test]
fn tcp_queue_serves_in_turn_then_times_out_with_sq() {
    let origin = holding_origin(250);
    let port = free_port();
    // No timeout.queue: the connect timeout (600 ms) applies.
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "timeout = { connect = \"600ms\", client = \"5s\", server = \"5s\" }",
        &format!(
            "server = [ {{ name = \"s1\", address = \"{}\", maxconn = 1 }} ]",
            origin.addr
        ),
    ));
    // Two in turn: the second waits about 250 ms, then gets through.
    let threads: Vec<_> = (0..2)
        .map(|_| thread::spawn(move || client::read_all(port)))
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().expect("read"), "ok");
    }
    let logs = weir.wait_tcplogs(2, DEADLINE);
    assert!(logs.iter().all(|(_, l)| l.termination == "--"), "{logs:#?}");
    assert!(logs.iter().any(|(_, l)| l.tw >= 150), "{logs:#?}");

    // Four at once, each held 250 ms, 600 ms of patience: two or three get
    // through, the rest are closed with sQ.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut s = client::connect(port).expect("connect");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out
            })
        })
        .collect();
    let got: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let served = got.iter().filter(|g| *g == "ok").count();
    assert!((2..=3).contains(&served), "{got:?}");
    let logs = weir.wait_tcplogs(6, DEADLINE);
    let sq: Vec<_> = logs.iter().filter(|(_, l)| l.termination == "sQ").collect();
    assert_eq!(sq.len(), 4 - served, "{logs:#?}");
    for (_, l) in sq {
        assert_eq!(
            (l.server.as_str(), l.tc, l.bytes),
            ("<NOSRV>", -1, 0),
            "{l:?}"
        );
        // timeout.connect (600 ms) ends the wait, not timeout.client or
        // timeout.server (5 s).
        assert!((550..5000).contains(&l.tw), "Tw {}: {l:?}", l.tw);
    }
}
