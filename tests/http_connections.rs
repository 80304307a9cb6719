//! HTTP mode, connections: client keep-alive and its timeout, server-side
//! reuse (`http_reuse = "safe"` and `"never"`, counted on the origin; the
//! close path's reuse is in http_reuse_close.rs), a
//! server connection never carrying two requests at once, and 200
//! concurrent keep-alive clients without cross-talk.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::http::{backend, http_config, simple_config, Client, Req};
use common::http_origin::HttpOrigin;
use common::http_wire::hash_of;
use common::{free_port, seed, Weir, DEADLINE};

fn config_with_reuse(port: u16, origin: &HttpOrigin, reuse: &str) -> String {
    http_config(
        port,
        "",
        "",
        &backend("be", &format!("http_reuse = \"{reuse}\""), &[origin.addr]),
    )
}

#[test]
fn safe_reuse_serves_a_keep_alive_client_on_few_server_connections() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config_with_reuse(port, &origin, "safe"));

    const N: usize = 10;
    let mut c = Client::connect(port);
    let mut conns = BTreeSet::new();
    for i in 0..N {
        let target = format!("/req/{i}");
        let r = c.get(&target);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.report().get("target"), target);
        conns.insert(r.header("X-Conn").unwrap().to_string());
    }
    assert!(
        origin.accepted() <= 2,
        "{N} requests on one client connection took {} server connections ({conns:?})",
        origin.accepted()
    );
}

#[test]
fn never_reuse_opens_one_server_connection_per_request() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config_with_reuse(port, &origin, "never"));

    const N: usize = 6;
    let mut c = Client::connect(port);
    let mut conns = BTreeSet::new();
    for i in 0..N {
        let r = c.get(&format!("/req/{i}"));
        assert_eq!(r.status, 200, "{r:?}");
        conns.insert(r.header("X-Conn").unwrap().to_string());
    }
    assert_eq!(conns.len(), N, "each request on its own server connection");
    assert_eq!(origin.accepted(), N);
}

#[test]
fn safe_reuse_never_puts_a_first_request_it_cannot_replay_on_an_idle_connection() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config_with_reuse(port, &origin, "safe"));

    // Client A leaves an idle server connection behind: it closes after
    // its answer, and weir parks the server connection.
    let mut a = Client::connect(port);
    let ra = a.exchange(&Req::get("/a1").header("Connection", "close"));
    let a_conn = ra.header("X-Conn").unwrap().to_string();
    // Client B's first request has a body: weir could not send it again
    // if an idle connection turned out dead, so it gets a connection of
    // its own.
    let mut b = Client::connect(port);
    let rb = b.exchange(&Req::new("POST", "/b1").body(b"payload"));
    assert_eq!(rb.status, 200, "{rb:?}");
    assert_ne!(
        rb.header("X-Conn").unwrap(),
        a_conn,
        "a first request with a body went to another client's idle server connection"
    );
    // Later requests of B work as well, whichever connection they take.
    assert_eq!(b.get("/b2").report().get("target"), "/b2");
}

#[test]
fn a_server_connection_carries_one_request_at_a_time() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config_with_reuse(port, &origin, "safe"));

    // 20 clients, 4 slow requests each, all at once: with reuse, idle
    // server connections go from one client to another, but a request must
    // never be sent on a connection whose previous answer is still due.
    const CLIENTS: usize = 20;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || -> Result<(), String> {
                let mut c = Client::connect(port);
                barrier.wait();
                for k in 0..4 {
                    let target = format!("/delay?ms=30&c={i}&k={k}");
                    c.send(&Req::get(&target).bytes());
                    let r = c
                        .read_response(false)
                        .map_err(|e| format!("client {i} request {k}: {e}"))?;
                    let got = r.report().get("target").to_string();
                    if r.status != 200 || got != target {
                        return Err(format!("client {i} asked {target}, got {} {got}", r.status));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let errors: Vec<String> = threads
        .into_iter()
        .filter_map(|t| t.join().unwrap().err())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        origin.overlaps(),
        0,
        "a request was sent on a server connection before the previous answer"
    );
    assert!(origin.accepted() <= CLIENTS * 4);
}

#[test]
fn two_hundred_keep_alive_clients_without_cross_talk() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));

    const CLIENTS: usize = 200;
    const REQUESTS: usize = 5;
    let base = seed();
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || -> Result<(), String> {
                let mut c = Client::connect(port);
                barrier.wait();
                for k in 0..REQUESTS {
                    let target = format!("/client/{i}/req/{k}");
                    // Every other request carries a body unique to it.
                    let body = format!("{base:x}-{i}-{k}").repeat(1 + (i + k) % 7);
                    let req = if k % 2 == 0 {
                        Req::get(&target)
                    } else {
                        Req::new("POST", &target).body(body.as_bytes())
                    };
                    c.send(&req.bytes());
                    let r = c
                        .read_response(false)
                        .map_err(|e| format!("client {i} request {k}: {e}"))?;
                    let rep = r.report();
                    if r.status != 200 || rep.get("target") != target {
                        return Err(format!(
                            "client {i} asked {target}, got {} for {:?}",
                            r.status,
                            rep.get("target")
                        ));
                    }
                    if k % 2 == 1 && rep.get("body_hash") != hash_of(body.as_bytes()) {
                        return Err(format!(
                            "client {i} request {k}: body differs at the origin"
                        ));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let errors: Vec<String> = threads
        .into_iter()
        .filter_map(|t| t.join().unwrap().err())
        .collect();
    assert!(
        errors.is_empty(),
        "{} of {CLIENTS} clients failed: {:?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    assert_eq!(origin.seen().len(), CLIENTS * REQUESTS);
    assert!(weir.try_exit().is_none(), "weir still runs");
}

#[test]
fn idle_keep_alive_connection_is_closed_silently_after_http_keep_alive() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&http_config(
        port,
        "timeout = { connect = \"1s\", client = \"5s\", server = \"5s\", http_request = \"3s\", \
         http_keep_alive = \"400ms\" }",
        "",
        &backend("be", "", &[origin.addr]),
    ));

    let mut c = Client::connect(port);
    // Before the request: the keep-alive wait starts after it.
    let start = Instant::now();
    assert_eq!(c.get("/one").status, 200);
    c.closed_silently(DEADLINE)
        .expect("an idle keep-alive connection is closed without a 408");
    let took = start.elapsed();
    // At http_keep_alive (400 ms) or later, and before http_request (3 s),
    // which would close it if http_keep_alive did not.
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "closed after {took:?}, want http_keep_alive (400 ms), before http_request (3 s)"
    );
}

#[test]
fn a_server_closing_after_its_answer_does_not_close_the_client() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    for i in 0..3 {
        // close=1: the origin answers with `Connection: close` and closes.
        let r = c.get(&format!("/closing/{i}?close=1"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(origin.accepted(), 3, "a new server connection each time");
    assert_eq!(c.get("/last").report().get("target"), "/last");
}
