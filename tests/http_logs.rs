//! HTTP mode, logs: one httplog line per request (not per connection) in
//! HAProxy's layout, with the bytes sent to the client, the timers (-1 for
//! stages not reached) and the termination state; and Debian's `halog`
//! reads weir's stderr as it is.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::http::{backend, http_config, raw_exchange, simple_config, Client, HttpLogs, Req};
use common::http_origin::HttpOrigin;
use common::logline::{self, is_haproxy_date, HttpLog};
use common::{free_port, Weir, DEADLINE};

#[test]
fn one_line_per_request_with_haproxy_fields() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let worker = weir.worker_pids()[0];

    let mut c = Client::connect(port);
    let me = c.local_addr();
    let mut sizes = Vec::new();
    let reqs = [
        Req::get("/index.html"),
        Req::new("POST", "/form?x=1").body(b"a=1&b=2"),
        Req::new("HEAD", "/download?bytes=99"),
    ];
    for r in &reqs {
        let resp = c.exchange(r);
        assert_eq!(resp.status, 200);
        sizes.push(resp.wire_len);
    }
    let logs: Vec<HttpLog> = weir
        .wait_httplogs(3, DEADLINE)
        .into_iter()
        .filter(|l| l.client == me)
        .collect();
    assert_eq!(logs.len(), 3, "one line per request: {logs:?}");
    let want = [
        "GET /index.html HTTP/1.1",
        "POST /form?x=1 HTTP/1.1",
        "HEAD /download?bytes=99 HTTP/1.1",
    ];
    for ((log, want), size) in logs.iter().zip(want).zip(&sizes) {
        assert_eq!(log.pid, worker, "the worker logs: {log:?}");
        assert_eq!(log.request, want);
        assert!(is_haproxy_date(&log.date), "{log:?}");
        assert_eq!(
            (
                log.frontend.as_str(),
                log.backend.as_str(),
                log.server.as_str()
            ),
            ("fe", "be", "s1")
        );
        assert_eq!(log.status, 200);
        assert_eq!(
            log.bytes, *size,
            "bytes sent to the client, head and body: {log:?}"
        );
        assert_eq!(log.termination, "----", "{log:?}");
        assert!(
            log.timers.iter().all(|&t| t >= 0),
            "every stage reached: {log:?}"
        );
        assert!(log.t_active() >= log.t_response(), "{log:?}");
        assert_eq!(log.queues, (0, 0));
        assert!(log.counters[..4].iter().all(|&n| n >= 0), "{log:?}");
    }
}

fn rules_config(port: u16, origin: &HttpOrigin) -> String {
    http_config(
        port,
        "",
        r#"http_request = [ { deny = 403, if = "{ path_beg /admin }" }, { return = { status = 200, content_type = "text/plain", body = "pong" }, if = "{ path /ping }" }, { redirect = { location = "/new", code = 302 }, if = "{ path /old }" } ]"#,
        &backend("be", "", &[origin.addr]),
    )
}

/// The log line of a request weir answered itself: no server, the stages
/// after the request head not reached.
fn check_local_answer(log: &HttpLog, status: u16, termination: &str) {
    assert_eq!(log.status, i64::from(status), "{log:?}");
    assert_eq!(log.server, "<NOSRV>", "{log:?}");
    assert_eq!(log.termination, termination, "{log:?}");
    assert_eq!(
        (log.t_queue(), log.t_connect(), log.t_response()),
        (-1, -1, -1),
        "no server stage: {log:?}"
    );
    assert!(log.t_active() >= 0, "{log:?}");
}

#[test]
fn denied_and_bad_requests_are_logged_pr_without_server() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&rules_config(port, &origin));

    let mut c = Client::connect(port);
    let me = c.local_addr();
    assert_eq!(c.get("/admin").status, 403);
    let log = weir.wait_httplog("403", DEADLINE, |l| l.client == me);
    check_local_answer(&log, 403, "PR--");
    assert!(log.t_request() >= 0, "{log:?}");

    let (bytes, _) = raw_exchange(
        port,
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n",
        DEADLINE,
    );
    assert!(bytes.starts_with(b"HTTP/1.1 400 "));
    let log = weir.wait_httplog("400", DEADLINE, |l| l.status == 400);
    check_local_answer(&log, 400, "PR--");
}

/// As HAProxy 2.6 logs them: `L` (processed locally), not `P` (blocked).
#[test]
fn returned_and_redirected_requests_are_logged_lr_without_server() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&rules_config(port, &origin));

    for (target, status) in [("/ping", 200), ("/old", 302)] {
        let mut c = Client::connect(port);
        let me = c.local_addr();
        assert_eq!(c.get(target).status, status);
        let log = weir.wait_httplog(target, DEADLINE, |l| l.client == me);
        check_local_answer(&log, status, "LR--");
        assert!(log.t_request() >= 0, "{log:?}");
    }
}

#[test]
fn client_aborting_during_the_response_body_is_cd() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    let me = c.local_addr();
    c.send(&Req::get("/download?bytes=200000000").bytes());
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    c.conn.take(100_000, |_| {}).unwrap();
    drop(c);
    let log = weir.wait_httplog("abort", DEADLINE, |l| l.client == me);
    assert!(log.termination.starts_with("CD"), "{log:?}");
    assert!(log.bytes < 200_000_000, "{log:?}");
}

/// Runs halog with `args` on `input` and returns its stdout.
fn halog(args: &[&str], input: &str) -> String {
    let bin = ["halog", "/usr/sbin/halog", "/usr/bin/halog"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("-h")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        })
        .expect("halog is installed (package haproxy; make deps)");
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run halog");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn halog_reads_the_log() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&http_config(
        port,
        "",
        r#"http_request = [ { deny = 403, if = "{ path_beg /admin }" } ]"#,
        &backend("be", "", &[origin.addr]),
    ));

    let mut c = Client::connect(port);
    for i in 0..5 {
        assert_eq!(c.get(&format!("/page/{}", i % 2)).status, 200);
    }
    assert_eq!(c.get("/status/404").status, 404);
    for _ in 0..2 {
        let mut d = Client::connect(port);
        assert_eq!(d.get("/admin").status, 403);
    }
    let (bytes, _) = raw_exchange(port, b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", DEADLINE);
    assert!(bytes.starts_with(b"HTTP/1.1 400 "), "{bytes:?}");
    // Nine whole lines (httplogs counts only newline-terminated ones), and
    // halog reads exactly the whole lines.
    weir.wait_httplogs(9, DEADLINE);
    let stderr = weir.stderr();
    let log = logline::whole_lines(&stderr);

    let st = halog(&["-st", "-q"], log);
    let mut counts: Vec<(String, u64)> = st
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("200".to_string(), 5),
            ("400".to_string(), 1),
            ("403".to_string(), 2),
            ("404".to_string(), 1)
        ],
        "halog -st on:\n{log}"
    );

    let urls = halog(&["-u", "-q"], log);
    let req_count = |url: &str| -> u64 {
        urls.lines()
            .find(|l| l.split_whitespace().last() == Some(url))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(req_count("/page/0"), 3, "halog -u:\n{urls}");
    assert_eq!(req_count("/page/1"), 2, "halog -u:\n{urls}");
    assert_eq!(req_count("/admin"), 2, "halog -u:\n{urls}");

    let tc = halog(&["-tc", "-q"], log);
    assert!(
        tc.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["PR", "3"]),
        "halog -tc counts PR for the 403s and the 400:\n{tc}"
    );
}
