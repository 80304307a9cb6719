//! Rate-limit tables end to end (SPEC §11): real weir processes with two
//! workers, real clients from 127.0.0.1 and 127.0.0.2, an origin. The
//! counts must be exact whichever worker takes each connection: both
//! workers count into the same shared entries.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::http::{backend, http_config, Client};
use common::http_origin::HttpOrigin;
use common::http_wire::BufConn;
use common::weir::TempDir;
use common::{free_port, runtime, wait_for, Weir, DEADLINE};

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
    start_with(port, origin, frontend, "")
}

/// [`start`] with `global` lines too.
fn start_with(port: u16, origin: &HttpOrigin, frontend: &str, global: &str) -> Weir {
    let cfg = http_config(
        port,
        "",
        &format!("shards = \"by-worker\"\n{frontend}"),
        &backend("be", "", &[origin.addr]),
    )
    .replacen(
        "nbproc = 1",
        &format!("nbproc = 2\ncpu_map = \"none\"\n{global}"),
        1,
    );
    let weir = Weir::start(&cfg);
    weir.wait_workers(2, DEADLINE);
    weir
}

/// A runtime API socket path in a fresh directory.
fn api_socket(tag: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    let sock = dir.path.join("api.sock");
    (dir, sock)
}

fn api(sock: &Path, command: &str) -> String {
    wait_for(DEADLINE, "the runtime API", || {
        runtime::command(sock, command)
    })
}

/// The entry lines of `show table NAME …`: key → (the rest of the line
/// as `name=value` pairs).
fn entries(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    text.lines()
        .filter(|l| l.starts_with("0x"))
        .map(|l| {
            let (addr, rest) = l.split_once(": ").expect("0xADDR: …");
            assert!(u64::from_str_radix(&addr[2..], 16).is_ok(), "{l}");
            let pairs: BTreeMap<String, String> = rest
                .split(' ')
                .map(|p| {
                    let (k, v) = p.split_once('=').expect("name=value");
                    (k.to_string(), v.to_string())
                })
                .collect();
            (pairs["key"].clone(), pairs)
        })
        .collect()
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

/// 200 requests on fresh connections over two workers: `show table`
/// counts exactly 200 (count and rate), the deny threshold (`gt 150`)
/// hits at request 151 exactly; the runtime API shows, filters and clears
/// entries in HAProxy's format, and a cleared client is let in again.
#[test]
fn exact_counts_and_the_runtime_api() {
    let origin = HttpOrigin::start("stick-api");
    let port = free_port();
    let (_dir, sock) = api_socket("stick-api");
    let weir = start_with(
        port,
        &origin,
        "table = { type = \"ip\", size = 1000, expire = \"1m\", \
         store = [\"http_req_cnt\", \"http_req_rate(1m)\", \"conn_cur\", \"http_err_cnt\"] }\n\
         tcp_request = [{ track = \"src\" }]\n\
         http_request = [{ deny = 429, if = \"{ sc_http_req_rate(0) gt 150 }\" }]",
        &format!("stats_socket = \"{}\"", sock.display()),
    );
    let mut first_denied = None;
    for i in 0..200 {
        let mut c = client_from("127.0.0.1", port);
        let status = c.get(&format!("/n{i}")).status;
        if status == 429 && first_denied.is_none() {
            first_denied = Some(i + 1);
        }
        assert!(
            status == 200 || (status == 429 && i >= 150),
            "request {}: {status}",
            i + 1
        );
    }
    assert_eq!(first_denied, Some(151));
    assert_eq!(
        workers_serving(&weir, "/n", 200).len(),
        2,
        "both workers served"
    );
    let mut other = client_from("127.0.0.2", port);
    assert_eq!(other.get("/other").status, 200);

    let info = api(&sock, "show info");
    assert!(
        info.contains("\nStickTables: 1\nStickTableSize: 1000\nStickTableUsed: 2\n"),
        "{info}"
    );
    let list = api(&sock, "show table");
    assert_eq!(
        list, "# table: fe, type: ip, size:1000, used:2\n\n",
        "{list}"
    );
    let all = api(&sock, "show table fe");
    assert!(
        all.starts_with("# table: fe, type: ip, size:1000, used:2\n"),
        "{all}"
    );
    // Closed connections are counted out once the workers saw them close.
    let shown = wait_for(DEADLINE, "conn_cur back to 0", || {
        let e = entries(&api(&sock, "show table fe key 127.0.0.1"));
        (e.get("127.0.0.1")?.get("conn_cur")? == "0").then_some(e)
    });
    let line = api(&sock, "show table fe key 127.0.0.1");
    let data = line
        .lines()
        .nth(1)
        .and_then(|l| l.split_once(" exp="))
        .map(|(_, d)| d);
    let data = data.and_then(|d| d.split_once(' ')).map(|(_, d)| d);
    assert_eq!(
        data,
        Some("conn_cur=0 http_req_cnt=200 http_req_rate(60000)=200 http_err_cnt=50"),
        "HAProxy's order of data types: {line}"
    );
    let e = &shown["127.0.0.1"];
    assert_eq!(e["use"], "0");
    assert_eq!(e["http_req_cnt"], "200");
    assert_eq!(e["http_req_rate(60000)"], "200");
    assert_eq!(e["http_err_cnt"], "50", "the 429s are errors");
    let exp: u64 = e["exp"].parse().expect("exp");
    assert!((50_000..=60_000).contains(&exp), "{exp}");
    let keys: Vec<String> = entries(&all).into_keys().collect();
    assert_eq!(keys, ["127.0.0.1", "127.0.0.2"]);
    let busy = entries(&api(&sock, "show table fe data.http_req_cnt gt 100"));
    assert_eq!(busy.keys().collect::<Vec<_>>(), ["127.0.0.1"]);
    let quiet = entries(&api(&sock, "show table fe data.http_req_cnt ne 200"));
    assert_eq!(quiet.keys().collect::<Vec<_>>(), ["127.0.0.2"]);
    assert_eq!(
        api(&sock, "show table fe data.gpc0 gt 1"),
        "Filter entry #1: Data type not stored in this table\n\n"
    );
    assert_eq!(api(&sock, "show table nope"), "No such table\n\n");
    assert_eq!(
        api(&sock, "show table fe key x"),
        "\n",
        "HAProxy answers nothing"
    );
    assert_eq!(
        api(&sock, "show table fe key 127.0.0.9"),
        "\n",
        "nor for a key not there"
    );
    assert_eq!(
        api(&sock, "show table fe data.http_req_cnt xx 1"),
        "Filter entry #1: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n\n"
    );
    // Clearing unblocks a client.
    let mut c = client_from("127.0.0.1", port);
    assert_eq!(c.get("/still").status, 429);
    assert_eq!(api(&sock, "clear table fe key 127.0.0.1"), "\n");
    assert_eq!(
        api(&sock, "show table"),
        "# table: fe, type: ip, size:1000, used:1\n\n"
    );
    let mut c = client_from("127.0.0.1", port);
    assert_eq!(c.get("/again").status, 200);
    assert_eq!(api(&sock, "clear table fe"), "\n");
    assert_eq!(
        api(&sock, "show table"),
        "# table: fe, type: ip, size:1000, used:0\n\n"
    );
}

/// The config of [`start`], for a reload by a new master (`-sf`).
fn config_of(port: u16, origin: &HttpOrigin, frontend: &str) -> String {
    http_config(
        port,
        "",
        &format!("shards = \"by-worker\"\n{frontend}"),
        &backend("be", "", &[origin.addr]),
    )
    .replacen("nbproc = 1", "nbproc = 2\ncpu_map = \"none\"", 1)
}

/// Entries survive a reload in place (USR2) and a new master (`-sf`): a
/// source's rate goes on counting where it was, and its deny holds.
#[test]
fn entries_survive_reloads() {
    let origin = HttpOrigin::start("stick-reload");
    let port = free_port();
    let fe = "table = { type = \"ip\", size = 100, expire = \"1m\", store = [\"http_req_rate(1m)\", \"http_req_cnt\"] }\n\
              http_request = [{ track = \"src\" }, { deny = 429, if = \"{ sc_http_req_rate(0) gt 5 }\" }]";
    let cfg = config_of(port, &origin, fe);
    let weir = Weir::start(&cfg);
    weir.wait_workers(2, DEADLINE);
    let get = |src: &str, target: &str| client_from(src, port).get(target).status;
    for i in 0..4 {
        assert_eq!(get("127.0.0.1", &format!("/a{i}")), 200);
    }
    weir.signal(nix::sys::signal::Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    // The fifth counts on the fourth: 200; the sixth is over the limit.
    assert_eq!(get("127.0.0.1", "/b5"), 200, "{}", weir.context());
    assert_eq!(get("127.0.0.1", "/b6"), 429, "{}", weir.context());
    let old_pid = weir.pid().to_string();
    let new = Weir::start_with(&cfg, &["-sf", &old_pid]);
    new.wait_log("took 1 rate-limit table entries over", DEADLINE);
    weir.wait_exit(Duration::from_secs(15));
    assert_eq!(get("127.0.0.1", "/c7"), 429, "{}", new.context());
    assert_eq!(get("127.0.0.2", "/c1"), 200, "{}", new.context());
}

/// A table of 10 entries under 50 sources: every request is served, the
/// table stays full, and the newest source has an entry (the least
/// recently updated ones were evicted).
#[test]
fn a_full_table_evicts_and_never_fails_a_request() {
    let origin = HttpOrigin::start("stick-full");
    let port = free_port();
    let (_dir, sock) = api_socket("stick-full");
    let _weir = start_with(
        port,
        &origin,
        "table = { type = \"ip\", size = 10, store = [\"http_req_cnt\"] }\n\
         http_request = [{ track = \"src\" }, { deny = 429, if = \"{ sc_http_req_cnt(0) gt 1 }\" }]",
        &format!("stats_socket = \"{}\"", sock.display()),
    );
    for i in 1..=50 {
        let src = format!("127.0.1.{i}");
        assert_eq!(client_from(&src, port).get("/x").status, 200, "{src}");
    }
    let all = api(&sock, "show table fe");
    assert!(
        all.starts_with("# table: fe, type: ip, size:10, used:10\n"),
        "{all}"
    );
    let e = entries(&all);
    assert_eq!(e.len(), 10, "{all}");
    assert!(e.contains_key("127.0.1.50"), "{all}");
    assert!(e.values().all(|v| v["http_req_cnt"] == "1"), "{all}");
}

/// TCP mode: `tcp_request` tracks at accept and rejects a source over
/// its connection rate (`sc0_conn_rate gt 3`); the bytes it sent count in
/// `bytes_in_rate` once its connections close.
#[test]
fn tcp_mode_connection_rate_and_bytes() {
    use std::io::{Read, Write};
    let echo = common::origin::echo_origin();
    let port = free_port();
    let (_dir, sock) = api_socket("stick-tcp");
    let cfg = format!(
        "[global]\nnbproc = 2\ncpu_map = \"none\"\nlog = \"stderr\"\nstats_socket = \"{}\"\n\
         [listen.db]\nmode = \"tcp\"\nbind = \"127.0.0.1:{port}\"\nshards = \"by-worker\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\
         server = [{{ name = \"e\", address = \"127.0.0.1:{}\" }}]\n\
         table = {{ type = \"ip\", size = 100, store = [\"conn_rate(1m)\", \"conn_cnt\", \"bytes_in_rate(1m)\"] }}\n\
         tcp_request = [{{ track = \"src\" }}, {{ reject = true, if = \"{{ sc0_conn_rate gt 3 }}\" }}]\n",
        sock.display(),
        echo.port()
    );
    let weir = Weir::start(&cfg);
    weir.wait_workers(2, DEADLINE);
    for i in 0..3 {
        let mut c = client_from("127.0.0.1", port).conn.stream;
        c.write_all(b"0123456789").expect("send");
        let mut back = [0u8; 10];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("connection {i}: {e}\n{}", weir.context()));
        assert_eq!(&back, b"0123456789");
    }
    let mut fourth = client_from("127.0.0.1", port);
    fourth
        .closed_silently(DEADLINE)
        .unwrap_or_else(|e| panic!("the fourth connection: {e}\n{}", weir.context()));
    let e = wait_for(DEADLINE, "the three connections counted out", || {
        let e = entries(&api(&sock, "show table db"));
        let e = e.get("127.0.0.1")?.clone();
        (e.get("bytes_in_rate(60000)")? == "30").then_some(e)
    });
    assert_eq!(e["conn_cnt"], "4", "the rejected one was tracked too");
    assert_eq!(e["conn_rate(60000)"], "4");
}

/// An entry not updated for `expire` is gone: the source starts over.
#[test]
fn entries_expire() {
    let origin = HttpOrigin::start("stick-exp");
    let port = free_port();
    let (_dir, sock) = api_socket("stick-exp");
    let _weir = start_with(
        port,
        &origin,
        "table = { type = \"ip\", size = 100, expire = \"400ms\", store = [\"http_req_cnt\"] }\n\
         http_request = [{ track = \"src\" }, { deny = 429, if = \"{ sc_http_req_cnt(0) gt 1 }\" }]",
        &format!("stats_socket = \"{}\"", sock.display()),
    );
    let get = |target: &str| client_from("127.0.0.1", port).get(target).status;
    assert_eq!(get("/1"), 200);
    assert_eq!(get("/2"), 429);
    let started = std::time::Instant::now();
    wait_for(DEADLINE, "the entry gone", || {
        api(&sock, "show table").contains("used:0").then_some(())
    });
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "not before its time"
    );
    assert_eq!(get("/3"), 200);
}

/// Counter criteria work in `use_backend` too: a source over its rate
/// goes to another backend (`src_http_req_cnt`, the frontend's own
/// table, with the request tracked by a rule).
#[test]
fn use_backend_on_a_counter() {
    let main = HttpOrigin::start("stick-main");
    let slow = HttpOrigin::start("stick-slow");
    let port = free_port();
    let cfg = http_config(
        port,
        "",
        "table = { type = \"ip\", size = 100, store = [\"http_req_cnt\"] }\n\
         http_request = [{ track = \"src\" }]\n\
         use_backend = [{ backend = \"slow\", if = \"{ src_http_req_cnt gt 2 }\" }]",
        &format!(
            "{}{}",
            backend("be", "", &[main.addr]),
            backend("slow", "", &[slow.addr])
        ),
    );
    let weir = Weir::start(&cfg);
    for i in 0..4 {
        let r = Client::connect(port).get(&format!("/u{i}"));
        assert_eq!(r.status, 200, "{}", weir.context());
    }
    assert_eq!(main.seen_targets(), ["/u0", "/u1"]);
    assert_eq!(slow.seen_targets(), ["/u2", "/u3"]);
}

/// `weir -c` reports the table mistakes of a file at FILE:LINE:COL, all
/// of them, and the SPEC's example configuration is valid.
#[test]
fn weir_c_reports_table_mistakes() {
    let dir = TempDir::new("stick-check");
    let check = |text: &str| {
        let path = dir.path.join("weir.toml");
        std::fs::write(&path, text).expect("write");
        let out = std::process::Command::new(common::weir::bin())
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("run weir -c");
        let err = String::from_utf8_lossy(&out.stderr).replace(&*path.to_string_lossy(), "F");
        (out.status.success(), err)
    };
    let bad = "[frontend.web]\nmode = \"http\"\nbind = \":8080\"\ndefault_backend = \"app\"\n\
               table = { type = \"ip\", size = \"1k\", store = [\"conn_cur\"] }\n\
               http_request = [{ track = \"src\", slot = 3 }, { track = \"src\", slot = 1, table = \"nope\" }, \
               { track = \"src\" }, { deny = 429, if = \"{ sc_http_req_rate(0) gt 10 } { sc1_conn_cur gt 1 }\" }]\n\
               [backend.app]\nmode = \"http\"\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n";
    let (ok, err) = check(bad);
    assert!(!ok);
    for want in [
        "F:6:41: error: slot 3 is out of range",
        "F:6:81: error: unknown table \"nope\"",
        "F:6:132: error: table \"web\" does not store http_req_rate",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
    // Nothing more: `sc1_conn_cur` reads a slot whose tracker was
    // reported already.
    assert_eq!(err.matches(": error: ").count(), 3, "{err}");
    let spec = "[frontend.web]\nmode = \"http\"\nbind = \":8080\"\ndefault_backend = \"app\"\n\
        table = { type = \"ip\", size = \"100k\", expire = \"30s\",\n\
                  store = [\"http_req_rate(10s)\", \"conn_cur\", \"conn_rate(10s)\", \"http_err_rate(10s)\", \"gpc0\"] }\n\
        tcp_request = [\n  { track = \"src\" },\n  { reject = true, if = \"{ sc_conn_cur(0) gt 50 }\" },\n]\n\
        http_request = [\n  { track = \"hdr(x-api-key)\", slot = 1, table = \"api\" },\n\
          { deny = 429, if = \"{ sc_http_req_rate(0) gt 100 }\" },\n]\n\
        http_response = [\n  { inc_gpc0 = 0, if = \"{ status 401 }\" },\n]\n\
        [backend.app]\nmode = \"http\"\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n\
        [backend.api]\nmode = \"http\"\nserver = [{ name = \"b\", address = \"127.0.0.1:8001\" }]\n\
        table = { type = \"string\", size = \"10k\", store = [\"http_req_rate(1m)\"] }\n";
    let (ok, err) = check(spec);
    assert!(ok, "{err}");
}
