//! Balancing algorithms over real origins: how requests (HTTP) and
//! connections (TCP) spread, stick and fall back, and backup servers taking
//! over when every active server is out and handing back on reload.

mod common;
mod slow_origin;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use nix::sys::signal::Signal;
use socket2::{Domain, Socket, Type};

use common::client;
use common::http::{http_config, Client, Req, Response};
use common::http_wire::BufConn;
use common::origin::named_origin;
use common::{free_port, tcp_config, wait_for, Weir, DEADLINE};
use slow_origin::SlowOrigin;

/// `server = [ … ]` from (name, address, extra keys).
fn servers(list: &[(&str, SocketAddr, &str)]) -> String {
    let entries: Vec<String> = list
        .iter()
        .map(|(n, a, extra)| {
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(", {extra}")
            };
            format!("{{ name = \"{n}\", address = \"{a}\"{extra} }}")
        })
        .collect();
    format!("server = [ {} ]", entries.join(", "))
}

/// An HTTP config: backend `be` with `balance` and these servers.
fn http_backend(port: u16, balance: &str, list: &[(&str, SocketAddr, &str)]) -> String {
    http_config(
        port,
        "",
        "",
        &format!("[backend.be]\nbalance = \"{balance}\"\n{}\n", servers(list)),
    )
}

/// Which origin answered.
fn origin_of(r: &Response) -> String {
    assert_eq!(r.status, 200, "{r:?}");
    r.header("X-Origin").unwrap_or("?").to_string()
}

/// One request on a new connection.
fn get(port: u16, req: &Req) -> String {
    origin_of(&Client::connect(port).exchange(req))
}

/// One request on a new connection from `src` (a 127.0.0.x address).
fn get_from(src: Ipv4Addr, port: u16, target: &str) -> String {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddr::from((src, 0)).into())
        .unwrap_or_else(|e| panic!("bind {src}: {e}"));
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    sock.connect_timeout(&to.into(), Duration::from_secs(2))
        .expect("connect to weir");
    let stream: TcpStream = sock.into();
    stream
        .set_read_timeout(Some(client::IO_TIMEOUT))
        .expect("timeout");
    let mut c = Client {
        conn: BufConn::new(stream),
    };
    origin_of(&c.get(target))
}

fn tally(names: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for n in names {
        *out.entry(n).or_insert(0) += 1;
    }
    out
}

fn count(t: &BTreeMap<String, usize>, name: &str) -> usize {
    t.get(name).copied().unwrap_or(0)
}

#[test]
fn roundrobin_weights_over_http() {
    let (a, b) = (SlowOrigin::start("a", 0), SlowOrigin::start("b", 0));
    let port = free_port();
    let _weir = Weir::start(&http_backend(
        port,
        "roundrobin",
        &[("a", a.addr, "weight = 3"), ("b", b.addr, "weight = 1")],
    ));
    // One keep-alive connection: every request is balanced on its own.
    let mut c = Client::connect(port);
    let t = tally((0..40).map(|_| origin_of(&c.get("/"))));
    assert_eq!((count(&t, "a"), count(&t, "b")), (30, 10), "{t:?}");
}

#[test]
fn static_rr_weights_over_tcp() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let port = free_port();
    let _weir = Weir::start(&tcp_config(
        port,
        "",
        "",
        &format!(
            "balance = \"static-rr\"\n{}",
            servers(&[("s1", s1.addr, "weight = 1"), ("s2", s2.addr, "weight = 4")])
        ),
    ));
    let t = tally(
        (0..50).map(|i| client::read_all(port).unwrap_or_else(|e| panic!("connection #{i}: {e}"))),
    );
    assert_eq!((count(&t, "s1"), count(&t, "s2")), (10, 40), "{t:?}");
}

#[test]
fn leastconn_sends_less_to_the_slow_server() {
    let (slow, fast) = (SlowOrigin::start("slow", 300), SlowOrigin::start("fast", 0));
    let port = free_port();
    let _weir = Weir::start(&http_backend(
        port,
        "leastconn",
        &[("slow", slow.addr, ""), ("fast", fast.addr, "")],
    ));
    // 4 clients, 15 requests each: round robin would give the slow server
    // 30; leastconn gives it one only when it has nothing in progress and
    // the fast one neither.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Client::connect(port);
                (0..15).map(|_| origin_of(&c.get("/"))).collect::<Vec<_>>()
            })
        })
        .collect();
    let t = tally(threads.into_iter().flat_map(|t| t.join().unwrap()));
    assert_eq!(count(&t, "slow") + count(&t, "fast"), 60, "{t:?}");
    assert!(count(&t, "slow") <= 12, "slow server got too many: {t:?}");
}

#[test]
fn first_fills_servers_in_order() {
    let o: Vec<SlowOrigin> = ["s1", "s2", "s3"]
        .iter()
        .map(|n| SlowOrigin::start(n, 0))
        .collect();
    let port = free_port();
    let _weir = Weir::start(&http_backend(
        port,
        "first",
        &[
            ("s1", o[0].addr, "maxconn = 2"),
            ("s2", o[1].addr, "maxconn = 2"),
            ("s3", o[2].addr, "maxconn = 2"),
        ],
    ));
    // One at a time: the first server takes everything.
    let t = tally((0..10).map(|_| get(port, &Req::get("/"))));
    assert_eq!(count(&t, "s1"), 10, "{t:?}");
    // Five at once, each held 600 ms: s1 and s2 fill up, s3 takes the rest.
    let threads: Vec<_> = (0..5)
        .map(|_| thread::spawn(move || get(port, &Req::get("/?ms=600"))))
        .collect();
    let t = tally(threads.into_iter().map(|t| t.join().unwrap()));
    assert_eq!(
        (count(&t, "s1"), count(&t, "s2"), count(&t, "s3")),
        (2, 2, 1),
        "{t:?}"
    );
}

#[test]
fn source_sticks_per_client_address() {
    let o: Vec<SlowOrigin> = ["a", "b", "c"]
        .iter()
        .map(|n| SlowOrigin::start(n, 0))
        .collect();
    let port = free_port();
    let weir = Weir::start(&http_backend(
        port,
        "source",
        &[
            ("a", o[0].addr, ""),
            ("b", o[1].addr, ""),
            ("c", o[2].addr, ""),
        ],
    ));
    let mut homes = BTreeMap::new();
    for last in 2..=13u8 {
        let src = Ipv4Addr::new(127, 0, 0, last);
        let got: Vec<String> = (0..4).map(|_| get_from(src, port, "/")).collect();
        assert!(got.iter().all(|g| *g == got[0]), "{src}: {got:?}");
        homes.insert(src, got[0].clone());
    }
    let used = tally(homes.values().cloned());
    assert!(used.len() >= 2, "12 addresses all on one server: {homes:?}");
    // The log shows the real client addresses.
    let logs = common::logline::httplogs(&weir.stderr());
    assert!(
        logs.iter()
            .any(|l| l.client.ip() == Ipv4Addr::new(127, 0, 0, 7)),
        "{logs:?}"
    );
}

#[test]
fn uri_sticks_per_path() {
    let o: Vec<SlowOrigin> = ["a", "b", "c"]
        .iter()
        .map(|n| SlowOrigin::start(n, 0))
        .collect();
    let port = free_port();
    let _weir = Weir::start(&http_backend(
        port,
        "uri",
        &[
            ("a", o[0].addr, ""),
            ("b", o[1].addr, ""),
            ("c", o[2].addr, ""),
        ],
    ));
    let mut c = Client::connect(port);
    let mut homes = BTreeMap::new();
    for i in 0..12 {
        let first = origin_of(&c.get(&format!("/obj/{i}")));
        for q in 0..3 {
            // The query string is not part of the hash.
            let again = origin_of(&c.get(&format!("/obj/{i}?v={q}")));
            assert_eq!(again, first, "/obj/{i}");
        }
        homes.insert(i, first);
    }
    assert!(tally(homes.values().cloned()).len() >= 2, "{homes:?}");
}

#[test]
fn hdr_sticks_per_value_and_round_robins_without() {
    let (a, b) = (SlowOrigin::start("a", 0), SlowOrigin::start("b", 0));
    let port = free_port();
    let _weir = Weir::start(&http_backend(
        port,
        "hdr(X-Tenant)",
        &[("a", a.addr, ""), ("b", b.addr, "")],
    ));
    let mut homes = BTreeMap::new();
    for i in 0..12 {
        let v = format!("tenant-{i}");
        let got: Vec<String> = (0..3)
            .map(|_| get(port, &Req::get("/").header("x-tenant", &v)))
            .collect();
        assert!(got.iter().all(|g| *g == got[0]), "{v}: {got:?}");
        homes.insert(v, got[0].clone());
    }
    assert_eq!(tally(homes.values().cloned()).len(), 2, "{homes:?}");
    // Without the header: round robin.
    let t = tally((0..10).map(|_| get(port, &Req::get("/"))));
    assert_eq!((count(&t, "a"), count(&t, "b")), (5, 5), "{t:?}");
}

#[test]
fn random_honours_weights() {
    let (a, b) = (SlowOrigin::start("a", 0), SlowOrigin::start("b", 0));
    let port = free_port();
    let _weir = Weir::start(&http_backend(
        port,
        "random",
        &[("a", a.addr, "weight = 1"), ("b", b.addr, "weight = 3")],
    ));
    let mut c = Client::connect(port);
    let t = tally((0..400).map(|_| origin_of(&c.get("/"))));
    let share = count(&t, "b") as f64 / 400.0;
    assert!(
        (0.65..=0.85).contains(&share),
        "weight 3 of 4 got {share}: {t:?}"
    );
}

#[test]
fn backup_serves_only_without_active_and_hands_back() {
    let o: Vec<SlowOrigin> = ["a", "b", "spare"]
        .iter()
        .map(|n| SlowOrigin::start(n, 0))
        .collect();
    let port = free_port();
    let config = |disabled: bool| {
        http_backend(
            port,
            "roundrobin",
            &[
                ("a", o[0].addr, &format!("disabled = {disabled}")),
                ("b", o[1].addr, &format!("disabled = {disabled}")),
                ("spare", o[2].addr, "backup = true"),
            ],
        )
    };
    let weir = Weir::start(&config(true));
    let t = tally((0..6).map(|_| get(port, &Req::get("/"))));
    assert_eq!(count(&t, "spare"), 6, "every active is disabled: {t:?}");
    // Reload with the actives enabled: the backup hands back once the old
    // worker is gone.
    let old = weir.worker_pids();
    std::fs::write(&weir.config_path, config(false)).expect("rewrite config");
    weir.signal(Signal::SIGUSR2);
    wait_for(DEADLINE, "the old worker to leave after the reload", || {
        old.iter().all(|&p| !common::procfs::alive(p)).then_some(())
    });
    let t = tally((0..10).map(|_| get(port, &Req::get("/"))));
    assert_eq!(
        (count(&t, "a"), count(&t, "b"), count(&t, "spare")),
        (5, 5, 0),
        "{t:?}"
    );
}
