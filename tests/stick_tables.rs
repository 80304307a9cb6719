//! Rate-limit tables end to end (SPEC §11): real weir processes with two
//! workers, real clients from 127.0.0.1 and 127.0.0.2, an origin. The
//! counts must be exact whichever worker takes each connection: both
//! workers count into the same shared entries.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use common::http::{backend, http_config, Client};
use common::http_origin::HttpOrigin;
use common::http_wire::BufConn;
use common::{free_port, wait_for, Weir, DEADLINE};

/// A connection to weir from `src` (127.0.0.1 or 127.0.0.2).
fn client_from(src: &str, port: u16) -> Client {
    let ip: IpAddr = src.parse().expect("address");
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddr::new(ip, 0).into()).expect("bind");
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    sock.connect_timeout(&to.into(), DEADLINE).expect("connect");
    let stream: TcpStream = sock.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    Client {
        conn: BufConn::new(stream),
    }
}

/// Two workers, one socket each (the kernel spreads connections by a hash
/// of their addresses), `frontend` lines on the frontend.
fn start(port: u16, origin: &HttpOrigin, frontend: &str) -> Weir {
    let cfg = http_config(
        port,
        "",
        &format!("shards = \"by-worker\"\n{frontend}"),
        &backend("be", "", &[origin.addr]),
    )
    .replacen("nbproc = 1", "nbproc = 2\ncpu_map = \"none\"", 1);
    let weir = Weir::start(&cfg);
    weir.wait_workers(2, DEADLINE);
    weir
}

/// The pids of the workers that logged a request for a target starting
/// with `prefix`, once `want` such lines are there.
fn workers_serving(weir: &Weir, prefix: &str, want: usize) -> BTreeSet<i32> {
    let pattern = format!("\"GET {prefix}");
    wait_for(DEADLINE, "the requests' log lines", || {
        let lines: Vec<_> = weir
            .logs()
            .into_iter()
            .filter(|l| l.message.contains(&pattern))
            .collect();
        (lines.len() >= want).then(|| lines.iter().map(|l| l.pid).collect())
    })
}

/// `sc_http_req_rate(0) gt 10`: of 30 requests on fresh connections from
/// one source, spread over both workers, exactly the first 10 pass and the
/// next 20 get a 429; another source is untouched.
#[test]
fn deny_at_the_right_request_across_two_workers() {
    let origin = HttpOrigin::start("stick-deny");
    let port = free_port();
    let weir = start(
        port,
        &origin,
        "table = { type = \"ip\", size = 1000, expire = \"1m\", store = [\"http_req_rate(1m)\"] }\n\
         http_request = [{ track = \"src\" }, { deny = 429, if = \"{ sc_http_req_rate(0) gt 10 }\" }]",
    );
    // Every connection stays open until the end, so that each is a new
    // one whichever worker holds the others.
    let mut held = Vec::new();
    let mut statuses = Vec::new();
    for i in 0..30 {
        let mut c = client_from("127.0.0.1", port);
        statuses.push(c.get(&format!("/r{i}")).status);
        held.push(c);
    }
    let want: Vec<u16> = (0..30).map(|i| if i < 10 { 200 } else { 429 }).collect();
    assert_eq!(statuses, want, "{}", weir.context());
    let pids = workers_serving(&weir, "/r", 30);
    assert_eq!(pids.len(), 2, "both workers took connections: {pids:?}");
    // Another source has an entry of its own.
    let mut other = client_from("127.0.0.2", port);
    assert_eq!(other.get("/other").status, 200);
    drop(held);
}

/// `tcp_request` tracks each connection at accept and rejects a fourth
/// concurrent one from the same source (`sc_conn_cur(0) gt 3`), counted
/// over both workers; once one closes, a new one is taken again.
#[test]
fn conn_cur_limit_rejects_at_accept() {
    let origin = HttpOrigin::start("stick-conn");
    let port = free_port();
    let weir = start(
        port,
        &origin,
        "table = { type = \"ip\", size = 1000, store = [\"conn_cur\", \"conn_cnt\"] }\n\
         tcp_request = [{ track = \"src\" }, { reject = true, if = \"{ sc_conn_cur(0) gt 3 }\" }]",
    );
    let mut open: Vec<Client> = (0..3)
        .map(|i| {
            let mut c = client_from("127.0.0.1", port);
            assert_eq!(c.get(&format!("/c{i}")).status, 200);
            c
        })
        .collect();
    let mut fourth = client_from("127.0.0.1", port);
    fourth.send(b"GET /c3 HTTP/1.1\r\nHost: x\r\n\r\n");
    fourth
        .closed_silently(DEADLINE)
        .unwrap_or_else(|e| panic!("the fourth connection: {e}\n{}", weir.context()));
    // Another source is not limited.
    let mut other = client_from("127.0.0.2", port);
    assert_eq!(other.get("/o").status, 200);
    // Keep-alive connections still work.
    assert_eq!(open[0].get("/again").status, 200);
    drop(open.pop());
    wait_for(DEADLINE, "a connection taken once one closed", || {
        let mut c = client_from("127.0.0.1", port);
        c.send(b"GET /c4 HTTP/1.1\r\nHost: x\r\n\r\n");
        c.read_response(false).ok().filter(|r| r.status == 200)
    });
}

/// `http_response` `inc_gpc0` counts the 401s of a source; a request
/// rule denies it from the third on (`sc_get_gpc0(0) ge 3`).
#[test]
fn inc_gpc0_counts_401s() {
    let origin = HttpOrigin::start("stick-gpc0");
    let port = free_port();
    let weir = start(
        port,
        &origin,
        "table = { type = \"ip\", size = 100, store = [\"gpc0\", \"http_err_cnt\"] }\n\
         http_request = [{ track = \"src\" }, { deny = 403, if = \"{ sc_get_gpc0(0) ge 3 }\" }]\n\
         http_response = [{ inc_gpc0 = 0, if = \"{ status 401 }\" }]",
    );
    let mut statuses = Vec::new();
    for target in [
        "/status/200",
        "/status/401",
        "/status/401",
        "/status/200",
        "/status/401",
        "/status/200",
    ] {
        let mut c = client_from("127.0.0.1", port);
        statuses.push(c.get(target).status);
    }
    assert_eq!(
        statuses,
        [200, 401, 401, 200, 401, 403],
        "{}",
        weir.context()
    );
}

/// Tracking on a header, in another section's table (a string table on
/// a backend), on slot 1: each API key has its own count.
#[test]
fn tracking_a_header_in_another_table() {
    let origin = HttpOrigin::start("stick-hdr");
    let port = free_port();
    let cfg = http_config(
        port,
        "",
        "http_request = [{ track = \"hdr(x-api-key)\", slot = 1, table = \"keys\" }, \
         { deny = 429, if = \"{ sc1_http_req_rate gt 2 }\" }]",
        &format!(
            "{}[backend.keys]\ntable = {{ type = \"string\", size = 100, store = [\"http_req_rate(1m)\"] }}\n\
             server = [{{ name = \"k\", address = \"{}\" }}]\n",
            backend("be", "", &[origin.addr]),
            origin.addr
        ),
    );
    let weir = Weir::start(&cfg);
    let get = |key: &str| {
        let mut c = Client::connect(port);
        let req = common::http::Req::get("/").header("X-Api-Key", key);
        c.exchange(&req).status
    };
    let seen: Vec<u16> = ["a", "a", "b", "a", "a", "b"]
        .iter()
        .map(|k| get(k))
        .collect();
    assert_eq!(seen, [200, 200, 200, 429, 429, 200], "{}", weir.context());
}
