//! HTTP mode, clients that close and servers that stay open (issue 16):
//! a client sending one request per connection (`Connection: close`)
//! leaves its server connection parked, and the next client's first
//! request takes it — weir can send such a request again should the
//! parked connection turn out dead. Counted at the origin.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::http::{backend, http_config, Client, Req};
use common::http_origin::HttpOrigin;
use common::{free_port, Weir};

fn config(port: u16, origin: &HttpOrigin, reuse: &str) -> String {
    http_config(
        port,
        "",
        "",
        &backend("be", &format!("http_reuse = \"{reuse}\""), &[origin.addr]),
    )
}

/// One request on a new client connection, `Connection: close`; the
/// origin's connection number it went over.
fn one_request(port: u16, target: &str) -> String {
    let mut c = Client::connect(port);
    let r = c.exchange(&Req::get(target).header("Connection", "close"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.report().get("target"), target);
    assert!(
        r.has_token("Connection", "close"),
        "the client asked to close: {r:?}"
    );
    // The request went to the server without the client's close.
    assert_eq!(r.report().header("connection"), None, "{r:?}");
    r.header("X-Conn").unwrap().to_string()
}

#[test]
fn one_request_per_client_connection_reuses_server_connections() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config(port, &origin, "safe"));
    let mut conns = BTreeSet::new();
    for i in 0..200 {
        conns.insert(one_request(port, &format!("/r/{i}")));
    }
    assert!(
        origin.accepted() <= 3,
        "200 requests, each on a client connection of its own, took {} server connections",
        origin.accepted()
    );
    assert_eq!(conns.len(), origin.accepted());
}

#[test]
fn a_server_closing_its_idle_connection_costs_no_request() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config(port, &origin, "safe"));
    const N: usize = 30;
    for i in 0..N {
        // quit=1: the origin answers as keep-alive, then closes the
        // connection weir parked. The next request finds it closed (the
        // event came first: weir dropped it) or dead (it came after:
        // nothing comes back, and weir sends the request again on a new
        // connection); either way the client gets its answer.
        let mut c = Client::connect(port);
        let target = format!("/r/{i}?quit=1");
        let r = c.exchange(&Req::get(&target).header("Connection", "close"));
        assert_eq!(r.status, 200, "request {i}: {r:?}");
        assert_eq!(r.report().get("target"), target);
        // Let the close reach weir sometimes, not always.
        if i % 3 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let seen = origin.seen_targets();
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        N,
        "every request reached the origin: {seen:?}"
    );
    assert_eq!(
        origin.accepted(),
        seen.len(),
        "one request per server connection"
    );
}

#[test]
fn never_reuse_still_closes_per_request() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&config(port, &origin, "never"));
    for i in 0..20 {
        let mut c = Client::connect(port);
        let r = c.exchange(&Req::get(&format!("/r/{i}")).header("Connection", "close"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(origin.accepted(), 20);
}
