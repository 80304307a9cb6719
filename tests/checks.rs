//! Health checks end to end: a server that stops answering goes DOWN and
//! gets no more traffic, comes back UP when it answers again, each change
//! logged in HAProxy's words; wrong statuses and timeouts; and with several
//! workers, one check per interval for the whole service.

mod common;

use std::time::{Duration, Instant};

use common::check_origin::{get, CheckOrigin, CHECK_PATH};
use common::http::{assert_error_page, http_config, raw_exchange};
use common::origin::{blackhole, silent_origin};
use common::{free_port, tcp_config, wait_until, Weir};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Generous slack over the theoretical delays (debug builds, busy CI).
const SLACK: Duration = Duration::from_millis(1500);

fn servers(list: &[(&str, std::net::SocketAddr)]) -> String {
    let entries: Vec<String> = list
        .iter()
        .map(|(n, a)| format!("{{ name = \"{n}\", address = \"{a}\", check = true }}"))
        .collect();
    format!("server = [ {} ]", entries.join(", "))
}

/// The names of the servers that answered `n` requests (all must succeed).
fn answers(port: u16, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match get(port) {
            Some((200, body)) => body,
            other => panic!("request {i}: {other:?}"),
        })
        .collect()
}

#[test]
fn a_stopped_server_goes_down_then_up_again() {
    let (mut s1, s2) = (CheckOrigin::start("s1"), CheckOrigin::start("s2"));
    let port = free_port();
    let backend = format!(
        "retries = 0\ncheck = {{ type = \"tcp\", interval = \"100ms\", rise = 2, fall = 2 }}\n{}",
        servers(&[("s1", s1.addr), ("s2", s2.addr)])
    );
    let weir = Weir::start(&tcp_config(port, "", "", &backend));
    let got = answers(port, 4);
    assert!(
        got.contains(&"s1".to_string()) && got.contains(&"s2".to_string()),
        "{got:?}"
    );

    s1.stop();
    let t0 = Instant::now();
    let down = weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    let took = t0.elapsed();
    assert!(took < 2 * Duration::from_millis(100) + SLACK, "{took:?}");
    assert_eq!(
        down.message,
        format!(
            "Server be/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", \
             check duration: {}ms. 1 active and 0 backup servers left. 0 sessions active, \
             0 requeued, 0 remaining in queue.",
            duration_ms(&down.message)
        )
    );
    assert_eq!(
        Some(down.pid),
        weir.control_pid(),
        "logged by the control process"
    );
    // With retries = 0 a request sent to s1 would fail: none is.
    assert!(answers(port, 10).iter().all(|b| b == "s2"));

    s1.restart();
    let t0 = Instant::now();
    let up = weir.wait_log("Server be/s1 is UP", Duration::from_secs(5));
    assert!(t0.elapsed() < 2 * Duration::from_millis(100) + SLACK);
    assert!(
        up.message
            .starts_with("Server be/s1 is UP, reason: Layer4 check passed, check duration: ")
            && up.message.ends_with(
                "ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
            ),
        "{}",
        up.message
    );
    wait_until(Duration::from_secs(5), "traffic to s1 again", || {
        get(port).is_some_and(|(_, b)| b == "s1")
    });
}

/// The `check duration: Nms` figure of a line.
fn duration_ms(line: &str) -> u64 {
    line.split("check duration: ")
        .nth(1)
        .and_then(|r| r.split("ms").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no check duration in {line:?}"))
}

#[test]
fn http_check_wrong_status_then_passing_again() {
    let (s1, s2) = (CheckOrigin::start("s1"), CheckOrigin::start("s2"));
    let port = free_port();
    let backends = format!(
        "[backend.be]\ncheck = {{ type = \"http\", path = \"{CHECK_PATH}\", interval = \"100ms\", \
         rise = 2, fall = 2 }}\n{}\n",
        servers(&[("s1", s1.addr), ("s2", s2.addr)])
    );
    let weir = Weir::start(&http_config(port, "", "", &backends));
    wait_until(Duration::from_secs(5), "first checks", || s1.checks() >= 1);

    s1.set_check_status(500);
    let down = weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    assert!(
        down.message.starts_with(
            "Server be/s1 is DOWN, reason: Layer7 wrong status, code: 500, \
             info: \"Internal Server Error\", check duration: "
        ),
        "{}",
        down.message
    );
    let first = weir.wait_log(
        "Health check for server be/s1 failed",
        Duration::from_secs(1),
    );
    assert!(
        first.message.ends_with(", status: 1/2 UP."),
        "{}",
        first.message
    );
    let before = s1.requests();
    assert!(answers(port, 10).iter().all(|b| b == "s2"));
    assert_eq!(s1.requests(), before, "no traffic to a DOWN server");

    s1.set_check_status(200);
    let up = weir.wait_log("Server be/s1 is UP", Duration::from_secs(5));
    assert!(
        up.message.starts_with(
            "Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: "
        ),
        "{}",
        up.message
    );
}

#[test]
fn timeouts_at_layer4_and_layer7() {
    let hole = blackhole();
    let silent = silent_origin();
    let ok = CheckOrigin::start("ok");
    let port = free_port();
    let backends = format!(
        "[backend.be]\ncheck = {{ type = \"tcp\", interval = \"200ms\", timeout = \"100ms\", fall = 1 }}\n{}\n\
         [backend.web]\ncheck = {{ type = \"http\", interval = \"200ms\", timeout = \"100ms\", fall = 1 }}\n{}\n",
        servers(&[("hole", hole.addr), ("ok", ok.addr)]),
        servers(&[("silent", silent.addr), ("ok", ok.addr)]),
    );
    let weir = Weir::start(&http_config(port, "", "", &backends));
    let l4 = weir.wait_log("Server be/hole is DOWN", Duration::from_secs(5));
    assert!(
        l4.message
            .starts_with("Server be/hole is DOWN, reason: Layer4 timeout, check duration: "),
        "{}",
        l4.message
    );
    assert!(duration_ms(&l4.message) >= 100, "{}", l4.message);
    let l7 = weir.wait_log("Server web/silent is DOWN", Duration::from_secs(5));
    assert!(
        l7.message
            .starts_with("Server web/silent is DOWN, reason: Layer7 timeout, check duration: "),
        "{}",
        l7.message
    );
    assert!(!weir.stderr().contains("has no server available"));
}

/// The only server is alive but fails its health check (it answers the
/// check with 500): it goes DOWN, the backend has no server left, and a
/// client gets weir's 503 while the origin receives no request at all.
#[test]
fn the_last_server_down_leaves_the_backend_without_server() {
    let s1 = CheckOrigin::start("s1");
    s1.set_check_status(500);
    let port = free_port();
    let backends = format!(
        "[backend.be]\nretries = 0\ncheck = {{ type = \"http\", path = \"{CHECK_PATH}\", \
         interval = \"100ms\", fall = 1 }}\n{}\n",
        servers(&[("s1", s1.addr)])
    );
    let weir = Weir::start(&http_config(port, "", "", &backends));
    let down = weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    assert!(
        down.message
            .starts_with("Server be/s1 is DOWN, reason: Layer7 wrong status, code: 500, "),
        "{}",
        down.message
    );
    let line = weir.wait_log("has no server available", Duration::from_secs(1));
    assert_eq!(line.message, "backend be has no server available!");
    assert!(s1.checks() >= 1, "the origin is up and answers its checks");
    // A DOWN server takes no traffic: weir answers 503 itself.
    for i in 0..5 {
        let (reply, closed) = raw_exchange(
            port,
            b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
            Duration::from_secs(5),
        );
        assert_error_page(
            &reply,
            503,
            &format!("request {i} with the only server DOWN"),
        );
        assert!(closed, "request {i}: the connection closes after the 503");
    }
    assert_eq!(s1.requests(), 0, "a request reached the DOWN server");
}

#[test]
fn two_workers_one_check_per_interval_and_both_avoid_a_down_server() {
    let (s1, s2) = (CheckOrigin::start("s1"), CheckOrigin::start("s2"));
    let port = free_port();
    let interval = Duration::from_millis(200);
    let backend = format!(
        "retries = 0\ncheck = {{ type = \"http\", path = \"{CHECK_PATH}\", interval = \"200ms\", \
         rise = 2, fall = 2 }}\n{}",
        servers(&[("s1", s1.addr), ("s2", s2.addr)])
    );
    let weir = Weir::start(&tcp_config(port, "nbproc = 2", "", &backend));
    assert_eq!(weir.worker_pids().len(), 2);
    wait_until(Duration::from_secs(5), "first checks", || s1.checks() >= 1);

    // Six more checks take six intervals for the service (give or take
    // the one in progress); a checker per worker would do them in three,
    // a checker at twice the interval in twelve or more.
    const N: usize = 6;
    let (c0, t0) = (s1.checks(), Instant::now());
    wait_until(Duration::from_secs(5), "6 more checks", || {
        s1.checks() >= c0 + N
    });
    let periods = (t0.elapsed().as_millis() / interval.as_millis()) as usize;
    assert!(
        periods + 2 >= N,
        "{N} checks in {periods} intervals (one per interval for the service, not one per worker)"
    );
    assert!(periods < 2 * N, "{N} checks in {periods} intervals");

    s1.set_check_status(503);
    weir.wait_log("Server be/s1 is DOWN", Duration::from_secs(5));
    let before = s1.requests();
    // Each worker in turn takes every new connection (the other one is
    // paused with SIGTTOU): each must route around the DOWN server.
    let workers = weir.worker_pids();
    for &w in &workers {
        let others: Vec<i32> = workers.iter().copied().filter(|&o| o != w).collect();
        for &o in &others {
            signal_and_wait(&weir, o, Signal::SIGTTOU, "paused");
        }
        assert!(answers(port, 10).iter().all(|b| b == "s2"));
        for &o in &others {
            signal_and_wait(&weir, o, Signal::SIGTTIN, "resumed");
        }
        wait_until(Duration::from_secs(5), "the worker's log lines", || {
            let served = weir
                .tcplogs()
                .into_iter()
                .filter(|(pid, t)| *pid == w && t.server == "s2");
            served.count() >= 10
        });
    }
    assert_eq!(s1.requests(), before, "no traffic to a DOWN server");
    assert_eq!(
        weir.stderr().matches("Server be/s1 is DOWN").count(),
        1,
        "one checker for the service"
    );
}

/// Sends `sig` to worker `pid` and waits for its `Proxy fe VERB.` line.
fn signal_and_wait(weir: &Weir, pid: i32, sig: Signal, verb: &str) {
    kill(Pid::from_raw(pid), sig).expect("kill(worker)");
    let what = format!("Proxy fe {verb}.");
    weir.wait_log_where(&what, Duration::from_secs(5), |l| {
        l.pid == pid && l.message == what
    });
}
