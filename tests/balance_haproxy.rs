//! Hash-based balancing places keys exactly as HAProxy 2.6 does: HAProxy
//! itself (the Debian package, `make deps`) and weir run the same backends
//! — four origins that say who they are (`X-Origin`), weights 10, 30, 20
//! and 50 — for `balance uri`, `hdr(x-tenant)` and `source`, with
//! map-based hashing (HAProxy's default) and with consistent hashing; the
//! same 1,000 URLs, 1,000 header values and 200 client addresses
//! (127.0.0.x) must reach the same server through both. Then consistent
//! hashing moves only the keys of a server taken out (runtime API
//! `disable server`), and they come back when it returns.

mod common;
mod haproxy;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::http::{Client, Req};
use common::http_origin::HttpOrigin;
use common::http_wire::BufConn;
use common::weir::TempDir;
use common::{free_port, wait_until, Weir, DEADLINE};
use haproxy::{api, HaProxy};

const WEIGHTS: [u32; 4] = [10, 30, 20, 50];

/// One balancing setup, served by a listen section of both proxies.
struct Setup {
    name: &'static str,
    haproxy: &'static str,
    weir: &'static str,
}

const SETUPS: [Setup; 6] = [
    Setup {
        name: "uri",
        haproxy: "balance uri",
        weir: "balance = \"uri\"",
    },
    Setup {
        name: "uri_chash",
        haproxy: "balance uri\n    hash-type consistent",
        weir: "balance = \"uri\"\nhash_type = \"consistent\"",
    },
    Setup {
        name: "hdr",
        haproxy: "balance hdr(x-tenant)",
        weir: "balance = \"hdr(x-tenant)\"",
    },
    Setup {
        name: "hdr_chash",
        haproxy: "balance hdr(x-tenant)\n    hash-type consistent",
        weir: "balance = \"hdr(x-tenant)\"\nhash_type = \"consistent\"",
    },
    Setup {
        name: "src",
        haproxy: "balance source",
        weir: "balance = \"source\"",
    },
    Setup {
        name: "src_chash",
        haproxy: "balance source\n    hash-type consistent",
        weir: "balance = \"source\"\nhash_type = \"consistent\"",
    },
];

fn haproxy_config(ports: &[u16], origins: &[HttpOrigin]) -> String {
    let mut cfg = String::from(
        "global\n    nbthread 1\n\ndefaults\n    mode http\n    timeout connect 1s\n    \
         timeout client 5s\n    timeout server 5s\n",
    );
    for (setup, port) in SETUPS.iter().zip(ports) {
        cfg += &format!(
            "\nlisten {}\n    bind 127.0.0.1:{port}\n    {}\n",
            setup.name, setup.haproxy
        );
        for (i, (o, w)) in origins.iter().zip(WEIGHTS).enumerate() {
            cfg += &format!("    server s{} {} weight {w}\n", i + 1, o.addr);
        }
    }
    cfg
}

fn weir_config(ports: &[u16], origins: &[HttpOrigin], socket: &str) -> String {
    let mut cfg = format!(
        "[global]\nlog = \"stderr\"\nstats_socket = \"{socket}\"\n\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n"
    );
    let servers: Vec<String> = origins
        .iter()
        .zip(WEIGHTS)
        .enumerate()
        .map(|(i, (o, w))| {
            format!(
                "{{ name = \"s{}\", address = \"{}\", weight = {w} }}",
                i + 1,
                o.addr
            )
        })
        .collect();
    for (setup, port) in SETUPS.iter().zip(ports) {
        cfg += &format!(
            "\n[listen.{}]\nbind = \"127.0.0.1:{port}\"\n{}\nserver = [{}]\n",
            setup.name,
            setup.weir,
            servers.join(", ")
        );
    }
    cfg
}

/// The origin that answered each request, sent on one connection.
fn answers(port: u16, reqs: &[Req]) -> Vec<String> {
    let mut c = Client::connect(port);
    reqs.iter()
        .map(|r| {
            let resp = c.exchange(r);
            assert_eq!(resp.status, 200, "{} on :{port}", r.target);
            resp.header("X-Origin").unwrap_or("?").to_string()
        })
        .collect()
}

/// The origin that answered a request from each of these client
/// addresses, one connection each.
fn answers_from(port: u16, clients: &[[u8; 4]]) -> Vec<String> {
    clients
        .iter()
        .map(|&ip| {
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .expect("socket");
            s.bind(&SocketAddr::from((ip, 0)).into())
                .expect("bind 127.0.0.x");
            s.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())
                .expect("connect");
            let stream: TcpStream = s.into();
            stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let mut c = Client {
                conn: BufConn::new(stream),
            };
            let resp = c.exchange(&Req::get("/").header("Connection", "close"));
            assert_eq!(resp.status, 200);
            resp.header("X-Origin").unwrap_or("?").to_string()
        })
        .collect()
}

fn urls() -> Vec<String> {
    (0..1000)
        .map(|i| match i % 4 {
            0 => format!("/obj/{i}"),
            1 => format!("/static/img/{i}.png?v={}", i * 7),
            2 => format!("/a/b/c/{i}/index.html"),
            _ => format!("/api/v1/users/{}?page={i}", i * 31),
        })
        .collect()
}

fn tenants() -> Vec<String> {
    (0..1000)
        .map(|i| match i % 3 {
            0 => format!("tenant-{i}"),
            1 => format!("t{i}, other-{i}"),
            _ => format!("customer.{i}.example.com"),
        })
        .collect()
}

fn clients() -> Vec<[u8; 4]> {
    (2..202u32)
        .map(|i| [127, 0, (i >> 8) as u8, i as u8])
        .collect()
}

/// What each setup's keys reach through the proxy listening on `port`.
fn placements(setup: &Setup, port: u16) -> Vec<String> {
    if setup.name.starts_with("uri") {
        let urls = urls();
        let reqs: Vec<Req> = urls.iter().map(|u| Req::get(u)).collect();
        answers(port, &reqs)
    } else if setup.name.starts_with("hdr") {
        let tenants = tenants();
        let reqs: Vec<Req> = tenants
            .iter()
            .map(|t| Req::get("/").header("X-Tenant", t))
            .collect();
        answers(port, &reqs)
    } else {
        answers_from(port, &clients())
    }
}

fn spread(placed: &[String]) -> BTreeMap<&str, usize> {
    let mut out = BTreeMap::new();
    for p in placed {
        *out.entry(p.as_str()).or_insert(0) += 1;
    }
    out
}

#[test]
fn hashing_places_every_key_on_haproxys_server() {
    let origins: Vec<HttpOrigin> = (1..=4)
        .map(|i| HttpOrigin::start(&format!("s{i}")))
        .collect();
    let hap_ports: Vec<u16> = SETUPS.iter().map(|_| free_port()).collect();
    let weir_ports: Vec<u16> = SETUPS.iter().map(|_| free_port()).collect();
    let socket_dir = TempDir::new("hash-sock");
    let socket = socket_dir.path.join("admin.sock");
    let _haproxy = HaProxy::start(&haproxy_config(&hap_ports, &origins), &hap_ports);
    let socket_text = socket.display().to_string();
    let weir = Weir::start(&weir_config(&weir_ports, &origins, &socket_text));

    for (i, setup) in SETUPS.iter().enumerate() {
        let theirs = placements(setup, hap_ports[i]);
        let ours = placements(setup, weir_ports[i]);
        let spread = spread(&theirs);
        assert!(
            spread.len() == 4,
            "{}: every server used: {spread:?}",
            setup.name
        );
        let differ: Vec<usize> = (0..theirs.len())
            .filter(|&k| theirs[k] != ours[k])
            .collect();
        assert!(
            differ.is_empty(),
            "{}: {} of {} keys on another server than HAProxy's (first: key #{} on {} instead \
             of {}); HAProxy's spread {spread:?}",
            setup.name,
            differ.len(),
            theirs.len(),
            differ[0],
            ours[differ[0]],
            theirs[differ[0]]
        );
    }
    drop(weir);
}

#[test]
fn consistent_hashing_moves_only_the_removed_servers_keys() {
    let origins: Vec<HttpOrigin> = (1..=4)
        .map(|i| HttpOrigin::start(&format!("s{i}")))
        .collect();
    let ports: Vec<u16> = SETUPS.iter().map(|_| free_port()).collect();
    let socket_dir = TempDir::new("chash-sock");
    let socket = socket_dir.path.join("admin.sock");
    let weir = Weir::start(&weir_config(
        &ports,
        &origins,
        &socket.display().to_string(),
    ));
    wait_until(DEADLINE, "the stats socket", || socket.exists());
    let setup = &SETUPS[1];
    assert_eq!(setup.name, "uri_chash");

    let before = placements(setup, ports[1]);
    assert!(api(&socket, "disable server uri_chash/s3")
        .trim()
        .is_empty());
    let during = placements(setup, ports[1]);
    let mut moved = 0;
    for (b, d) in before.iter().zip(&during) {
        if b == "s3" {
            assert_ne!(d, "s3", "s3 is in maintenance");
            moved += 1;
        } else {
            assert_eq!(b, d, "a key of {b} moved when s3 left");
        }
    }
    assert!(moved > 100, "s3 (weight 20 of 110) had {moved} of the keys");
    assert!(api(&socket, "enable server uri_chash/s3").trim().is_empty());
    let after = placements(setup, ports[1]);
    assert_eq!(after, before, "s3 takes its keys back");

    // Map-based hashing, for contrast, spreads most keys anew.
    let map_before = placements(&SETUPS[0], ports[0]);
    assert!(api(&socket, "disable server uri/s3").trim().is_empty());
    let map_during = placements(&SETUPS[0], ports[0]);
    let others_moved = map_before
        .iter()
        .zip(&map_during)
        .filter(|(b, d)| *b != "s3" && b != d)
        .count();
    assert!(
        others_moved > 100,
        "map-based: {others_moved} keys of other servers moved"
    );

    // As in HAProxy, a map-based backend is static: weights 0% and 100%
    // only; a consistent one takes any weight.
    assert!(api(&socket, "set weight uri/s1 15").contains("static LB algorithm"));
    assert!(api(&socket, "set weight uri/s1 0").trim().is_empty());
    assert!(api(&socket, "set weight uri_chash/s1 15").trim().is_empty());
    drop(weir);
}
