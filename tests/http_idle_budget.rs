//! HTTP mode, unused server connections under file-descriptor pressure: a
//! worker holds at most a quarter of its open-file limit in server
//! connections nobody uses (kept by idle keep-alive clients or parked), as
//! HAProxy's `tune.pool-high-fd-ratio`; past that, a clean server
//! connection is closed after its response instead of being kept, and the
//! client connection stays open and served.
//!
//! The worker's limit comes from this test process (the master only ever
//! raises it, and `maxconn = 170` needs less than the 512 set here): the
//! test lowers its own soft limit while weir starts, then restores it (the
//! origin, in this process, needs more). This file holds a single test, as
//! the limit is the whole test binary's.

mod common;

use std::fs;
use std::time::Duration;

use common::http::{backend, http_config, Client};
use common::http_origin::HttpOrigin;
use common::{free_port, wait_for, Weir};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

const NOFILE: u64 = 512;
/// 25 % of NOFILE.
const BUDGET: usize = 128;
const CLIENTS: usize = 160;

/// Established TCP connections (IPv4, from /proc/net/tcp) whose remote
/// port is `port`: the server connections weir holds open to the origin.
fn established_to(port: u16) -> usize {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let want = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[2].ends_with(&want) && f[3] == "01"
        })
        .count()
}

#[test]
fn idle_server_connections_stay_within_a_quarter_of_the_fd_limit() {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let hard = hard.max(soft);
    setrlimit(Resource::RLIMIT_NOFILE, NOFILE.min(hard), hard).expect("lower the soft fd limit");

    let origin = HttpOrigin::start("o1");
    let port = free_port();
    // Long keep-alive: the idle clients must stay for the whole test.
    let mut config = http_config(
        port,
        "timeout = { connect = \"1s\", client = \"60s\", server = \"60s\", http_keep_alive = \"60s\" }",
        "",
        &backend("be", "http_reuse = \"safe\"", &[origin.addr]),
    );
    config = config.replacen("[global]\n", "[global]\nmaxconn = 170\n", 1);
    assert!(config.contains("maxconn = 170"), "{config}");
    let weir = Weir::start(&config);
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("restore the soft fd limit");

    // A few clients first: each keeps its server connection (the budget is
    // far away), so the count at the origin follows the clients.
    let mut clients: Vec<Client> = (0..8).map(|_| Client::connect(port)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        let r = c.get(&format!("/first/{i}"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    wait_for(Duration::from_secs(5), "8 kept server connections", || {
        (established_to(origin.addr.port()) == 8).then_some(())
    });

    // Then many more than the budget, all idle after one request.
    for i in 8..CLIENTS {
        let mut c = Client::connect(port);
        let r = c.get(&format!("/first/{i}"));
        assert_eq!(r.status, 200, "client {i}: {r:?}\n{}", weir.context());
        clients.push(c);
    }
    let held = wait_for(Duration::from_secs(5), "the budget to hold", || {
        let n = established_to(origin.addr.port());
        (n <= BUDGET).then_some(n)
    });
    assert!(
        held >= BUDGET - 8,
        "the worker should still keep about {BUDGET} server connections, holds {held}"
    );

    // Every client is still served on its connection, kept or not.
    for (i, c) in clients.iter_mut().enumerate() {
        let r = c.get(&format!("/second/{i}"));
        assert_eq!(r.status, 200, "client {i}: {r:?}\n{}", weir.context());
        assert_eq!(r.report().get("target"), format!("/second/{i}"));
    }
    assert!(established_to(origin.addr.port()) <= BUDGET);
    assert_eq!(origin.bad_requests(), 0);
}
