//! Load balancing in TCP mode: round robin, weights, retries past a dead
//! server, all servers dead, disabled servers.

mod common;

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use common::client;
use common::origin::{dead_port, named_origin};
use common::{free_port, tcp_config, Weir, DEADLINE};

/// Makes `n` sequential connections and counts the names the origins sent.
fn tally(port: u16, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for i in 0..n {
        let name = client::read_all(port).unwrap_or_else(|e| panic!("connection #{i}: {e}"));
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

fn count(counts: &BTreeMap<String, usize>, name: &str) -> usize {
    counts.get(name).copied().unwrap_or(0)
}

#[test]
fn roundrobin_spreads_evenly() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let port = free_port();
    let _weir = Weir::start(&tcp_config(
        port,
        "",
        "",
        &format!(
            "balance = \"roundrobin\"\n\
             server = [ {{ name = \"s1\", address = \"{}\" }}, {{ name = \"s2\", address = \"{}\" }} ]",
            s1.addr, s2.addr
        ),
    ));
    let counts = tally(port, 100);
    assert_eq!(counts.values().sum::<usize>(), 100, "{counts:?}");
    for name in ["s1", "s2"] {
        let c = count(&counts, name);
        assert!((45..=55).contains(&c), "{name} got {c} of 100: {counts:?}");
    }
    assert_eq!(
        (s1.accepted(), s2.accepted()),
        (count(&counts, "s1"), count(&counts, "s2"))
    );
}

#[test]
fn roundrobin_honours_weights() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let port = free_port();
    let _weir = Weir::start(&tcp_config(
        port,
        "",
        "",
        &format!(
            "balance = \"roundrobin\"\n\
             server = [ {{ name = \"s1\", address = \"{}\", weight = 3 }}, \
                        {{ name = \"s2\", address = \"{}\", weight = 1 }} ]",
            s1.addr, s2.addr
        ),
    ));
    let counts = tally(port, 100);
    let c1 = count(&counts, "s1");
    let c2 = count(&counts, "s2");
    assert_eq!(c1 + c2, 100, "{counts:?}");
    assert!(
        (70..=80).contains(&c1),
        "weight 3 server got {c1} of 100: {counts:?}"
    );
    assert!(
        (20..=30).contains(&c2),
        "weight 1 server got {c2} of 100: {counts:?}"
    );
}

#[test]
fn dead_server_is_skipped_by_retries() {
    let dead = dead_port();
    let live = named_origin("s2");
    let port = free_port();
    // Without `redispatch`, HAProxy retries the same server; with it, the
    // retry goes to another one. The short connect timeout bounds HAProxy's
    // turn-around delay between retries (min(connect, 1 s)).
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "timeout = { connect = \"200ms\", client = \"5s\", server = \"5s\" }",
        &format!(
            "balance = \"roundrobin\"\nretries = 3\nredispatch = true\n\
             server = [ {{ name = \"s1\", address = \"{}\" }}, {{ name = \"s2\", address = \"{}\" }} ]",
            dead.addr, live.addr
        ),
    ));
    // 20 clients at once, so that the retries' delays overlap.
    let threads: Vec<_> = (0..20)
        .map(|_| thread::spawn(move || client::read_all(port)))
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let got = t
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("client #{i}: {e}"));
        assert_eq!(got, "s2", "client #{i} should reach the live server");
    }
    let logs = weir.wait_tcplogs(20, DEADLINE);
    for (_, log) in &logs {
        assert_eq!(
            (log.server.as_str(), log.termination.as_str()),
            ("s2", "--"),
            "{log:?}"
        );
    }
    let retried = logs.iter().filter(|(_, l)| l.retries() > 0).count();
    assert!(
        retried > 0,
        "round robin sends some sessions to the dead s1 first, so some lines must show retries: {logs:?}"
    );
}

#[test]
fn all_servers_dead_closes_client_promptly_with_sc() {
    let (d1, d2) = (dead_port(), dead_port());
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "timeout = { connect = \"200ms\", client = \"5s\", server = \"5s\" }",
        &format!(
            "retries = 2\n\
             server = [ {{ name = \"s1\", address = \"{}\" }}, {{ name = \"s2\", address = \"{}\" }} ]",
            d1.addr, d2.addr
        ),
    ));
    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    let took = client::wait_closed(&mut s, Duration::from_secs(5))
        .expect("weir must close the client when no server can be reached");
    assert!(
        took < Duration::from_secs(2),
        "client closed after {took:?}, want < 2 s"
    );

    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(log.termination, "SC", "{log:?}");
    assert_eq!(
        (log.frontend.as_str(), log.backend.as_str()),
        ("fe", "be"),
        "{log:?}"
    );
    assert_eq!(log.bytes, 0, "{log:?}");
    assert_eq!(log.retries(), 2, "every retry was used: {log:?}");
}

#[test]
fn disabled_server_gets_nothing() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let port = free_port();
    let _weir = Weir::start(&tcp_config(
        port,
        "",
        "",
        &format!(
            "server = [ {{ name = \"s1\", address = \"{}\", disabled = true }}, \
                        {{ name = \"s2\", address = \"{}\" }} ]",
            s1.addr, s2.addr
        ),
    ));
    let counts = tally(port, 20);
    assert_eq!(count(&counts, "s2"), 20, "{counts:?}");
    assert_eq!(s1.accepted(), 0, "the disabled server was connected to");
}
