//! HTTP mode, defenses: malformed and smuggling-shaped requests are
//! refused with HAProxy's 400 page and the connection closed, and the
//! origin receives nothing of them (only the valid request before one, if
//! any); near misses still pass. And 500 slowloris connections are cut at
//! `timeout http_request` while a normal client keeps being served.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::http::{
    assert_error_page, backend, http_config, raw_exchange, simple_config, statuses, Client,
    HttpLogs,
};
use common::http_origin::HttpOrigin;
use common::logline::{date_ms, HttpLog};
use common::{free_port, wait_for, Weir, DEADLINE};

const H: &str = "Host: test.local\r\n";

/// What a case must produce.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Refused with 400 and closed; the origin received nothing.
    Refused,
    /// A valid request first (target `/ok`, answered 200), then a refused
    /// one: the origin received `/ok` only.
    OkThenRefused,
    /// Accepted: a 200 and the origin received the request.
    Accepted,
}

fn cases() -> Vec<(&'static str, Vec<u8>, Want)> {
    use Want::*;
    let post = |fields: &str, body: &str| {
        format!("POST /target HTTP/1.1\r\n{H}{fields}\r\n{body}").into_bytes()
    };
    let get = |fields: &str| format!("GET /target HTTP/1.1\r\n{H}{fields}\r\n").into_bytes();
    let ok = format!("GET /ok HTTP/1.1\r\n{H}\r\n");
    let then = |bad: &[u8]| {
        let mut v = ok.clone().into_bytes();
        v.extend_from_slice(bad);
        v
    };
    let smuggled = format!("GET /smuggled HTTP/1.1\r\n{H}\r\n");
    let mut head_101 = format!("GET /target HTTP/1.1\r\n{H}");
    for i in 0..100 {
        head_101.push_str(&format!("X-F{i}: v\r\n"));
    }
    head_101.push_str("\r\n");
    let mut head_100 = format!("GET /target HTTP/1.1\r\n{H}");
    for i in 0..99 {
        head_100.push_str(&format!("X-F{i}: v\r\n"));
    }
    head_100.push_str("\r\n");
    let long_value = format!(
        "GET /target HTTP/1.1\r\n{H}X-Big: {}\r\n\r\n",
        "a".repeat(17 * 1024)
    );
    let long_line = format!("GET /{} HTTP/1.1\r\n{H}\r\n", "a".repeat(17 * 1024));
    let many_small = {
        // 16k spread over fields of 200 bytes (under 100 fields).
        let mut s = format!("GET /target HTTP/1.1\r\n{H}");
        for i in 0..90 {
            s.push_str(&format!("X-P{i}: {}\r\n", "b".repeat(200)));
        }
        s + "\r\n"
    };

    vec![
        // The smuggling classics: CL.TE, TE.CL, TE.TE.
        (
            "CL.TE",
            post(
                "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                &format!("0\r\n\r\n{smuggled}"),
            ),
            Refused,
        ),
        (
            "TE.CL",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                &format!("{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len()),
            ),
            Refused,
        ),
        (
            "TE.TE xchunked",
            post(
                "Transfer-Encoding: xchunked\r\n",
                &format!("0\r\n\r\n{smuggled}"),
            ),
            Refused,
        ),
        (
            "TE.TE tab-chunked with CL",
            post(
                "Content-Length: 4\r\nTransfer-Encoding:\tchunked\r\n",
                "5c\r\n",
            ),
            Refused,
        ),
        (
            "TE.TE chunked, identity",
            post("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"),
            Refused,
        ),
        (
            "TE.TE two lines, identity last",
            post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                "0\r\n\r\n",
            ),
            Refused,
        ),
        (
            "TE.TE space before colon",
            post(
                "Content-Length: 4\r\nTransfer-Encoding : chunked\r\n",
                "0\r\n\r\n",
            ),
            Refused,
        ),
        (
            "TE.TE obs-folded",
            post(
                "Content-Length: 4\r\nTransfer-Encoding: gzip\r\n chunked\r\n",
                "0\r\n\r\n",
            ),
            Refused,
        ),
        (
            "TE chunked twice",
            post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"),
            Refused,
        ),
        (
            "TE chunked;param",
            post("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n"),
            Refused,
        ),
        (
            "TE in HTTP/1.0",
            b"POST /target HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            Refused,
        ),
        (
            "duplicate differing CL",
            post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
            Refused,
        ),
        (
            "CL list differing",
            post("Content-Length: 5, 6\r\n", "hello!"),
            Refused,
        ),
        ("CL negative", post("Content-Length: -1\r\n", ""), Refused),
        (
            "CL plus sign",
            post("Content-Length: +5\r\n", "hello"),
            Refused,
        ),
        ("CL hex", post("Content-Length: 0x5\r\n", "hello"), Refused),
        (
            "CL overflow",
            post("Content-Length: 18446744073709551616\r\n", ""),
            Refused,
        ),
        ("obs-fold", get("X-A: a\r\n b\r\n"), Refused),
        (
            "whitespace before the first field",
            format!("GET /target HTTP/1.1\r\n {H}\r\n").into_bytes(),
            Refused,
        ),
        (
            "bare LF line ends",
            b"GET /target HTTP/1.1\nHost: test.local\n\n".to_vec(),
            Refused,
        ),
        ("bare LF in fields", get("X-A: a\nX-B: b\r\n"), Refused),
        ("bare CR in a value", get("X-A: a\rb\r\n"), Refused),
        (
            "CR-only line ends",
            b"GET /target HTTP/1.1\rHost: test.local\r\r".to_vec(),
            Refused,
        ),
        ("NUL in a value", get("X-A: a\0b\r\n"), Refused),
        (
            "NUL in the target",
            format!("GET /a\0b HTTP/1.1\r\n{H}\r\n").into_bytes(),
            Refused,
        ),
        ("control byte in a value", get("X-A: a\x01b\r\n"), Refused),
        ("DEL in a value", get("X-A: a\x7fb\r\n"), Refused),
        ("space before colon", get("X-A : b\r\n"), Refused),
        ("non-token field name", get("X(A): b\r\n"), Refused),
        ("empty field name", get(": b\r\n"), Refused),
        ("field without colon", get("Junk\r\n"), Refused),
        (
            "invalid method byte",
            format!("G(T /target HTTP/1.1\r\n{H}\r\n").into_bytes(),
            Refused,
        ),
        (
            "control byte in the method",
            format!("G\x01T /target HTTP/1.1\r\n{H}\r\n").into_bytes(),
            Refused,
        ),
        (
            "double space in request line",
            format!("GET  /target HTTP/1.1\r\n{H}\r\n").into_bytes(),
            Refused,
        ),
        (
            "space in target",
            format!("GET /a b HTTP/1.1\r\n{H}\r\n").into_bytes(),
            Refused,
        ),
        (
            "missing Host in 1.1",
            b"GET /target HTTP/1.1\r\nX-A: b\r\n\r\n".to_vec(),
            Refused,
        ),
        (
            "two Host fields",
            b"GET /target HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            Refused,
        ),
        (
            // The real preface starts HTTP/2 (tests/h2_*.rs); a near miss
            // is an HTTP/1 request of version 2.0.
            "HTTP/2 preface, mangled",
            b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".to_vec(),
            Refused,
        ),
        (
            "HTTP/1.2",
            format!("GET /target HTTP/1.2\r\n{H}\r\n").into_bytes(),
            Refused,
        ),
        ("HTTP/0.9", b"GET /target\r\n\r\n".to_vec(), Refused),
        (
            "head over bufsize (one field)",
            long_value.into_bytes(),
            Refused,
        ),
        ("request line over bufsize", long_line.into_bytes(), Refused),
        ("101 fields", head_101.into_bytes(), Refused),
        (
            "invalid chunk size",
            post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"),
            Refused,
        ),
        (
            "chunk longer than its size",
            post(
                "Transfer-Encoding: chunked\r\n",
                &format!("3\r\nabcdef\r\n0\r\n\r\n{smuggled}"),
            ),
            Refused,
        ),
        // After a valid request on the same connection.
        (
            "valid then CL.TE",
            then(&post(
                "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                &format!("0\r\n\r\n{smuggled}"),
            )),
            OkThenRefused,
        ),
        ("valid then NUL", then(&get("X-A: \0\r\n")), OkThenRefused),
        (
            "valid then obs-fold",
            then(&get("X-A: a\r\n\tb\r\n")),
            OkThenRefused,
        ),
        // Near misses that are valid HTTP.
        ("100 fields", head_100.into_bytes(), Accepted),
        (
            "head of ~18k in many fields is over 16k",
            many_small.into_bytes(),
            Refused,
        ),
        (
            "identical duplicate CL",
            post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
            Accepted,
        ),
        (
            "TE with extra whitespace",
            post(
                "Transfer-Encoding:   chunked  \r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            Accepted,
        ),
        (
            "HTTP/1.0 without Host",
            b"GET /target HTTP/1.0\r\n\r\n".to_vec(),
            Accepted,
        ),
    ]
}

#[test]
fn malformed_and_smuggling_shaped_requests_are_refused() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));

    let cases = cases();
    assert!(cases.iter().filter(|c| c.2 != Want::Accepted).count() >= 40);
    let mut failures = Vec::new();
    for (name, bytes, want) in &cases {
        let before = origin.seen().len();
        let logged = weir.httplogs().len();
        let (got, closed) = if *want == Want::Accepted {
            // A kept-alive connection: read the one response, not until close.
            let mut c = Client::connect(port);
            c.send(bytes);
            let status = c.read_response(false).map(|r| r.status).unwrap_or(0);
            (vec![status], false)
        } else {
            let (reply, closed) = raw_exchange(port, bytes, Duration::from_secs(3));
            let page = reply.starts_with(b"HTTP/1.1 400 ") || statuses(&reply) == [200, 400];
            (statuses(&reply), closed && page)
        };
        // Wait until weir is done with the case: its log lines, one per
        // request (the 400 too). A request forwarded to the origin would
        // have reached it before weir could log its answer, and shows in
        // the line as server s1; a refused one is weir's own (<NOSRV>).
        let lines = match want {
            Want::OkThenRefused => 2,
            Want::Refused | Want::Accepted => 1,
        };
        let logs = weir.wait_httplogs(logged + lines, DEADLINE);
        let logs: Vec<String> = logs[logged..]
            .iter()
            .map(|l| format!("{} {}", l.status, l.server))
            .collect();
        let want_logs = match want {
            Want::Refused => vec!["400 <NOSRV>"],
            Want::OkThenRefused => vec!["200 s1", "400 <NOSRV>"],
            Want::Accepted => vec!["200 s1"],
        };
        let reached: Vec<String> = origin.seen()[before..]
            .iter()
            .map(|s| s.target.clone())
            .collect();
        if logs != want_logs {
            failures.push(format!("{name}: logged {logs:?}, want {want_logs:?}"));
        }
        let problem = match want {
            Want::Refused => {
                (got != [400] || !closed || !reached.is_empty()).then(|| {
                    format!("want 400 and close, origin nothing; got {got:?} closed={closed}, origin {reached:?}")
                })
            }
            Want::OkThenRefused => (got != [200, 400] || !closed || reached != ["/ok"]).then(|| {
                format!("want 200, 400 and close, origin [/ok]; got {got:?} closed={closed}, origin {reached:?}")
            }),
            Want::Accepted => (got.first() != Some(&200) || reached != ["/target"]).then(|| {
                format!("want 200, origin [/target]; got {got:?}, origin {reached:?}")
            }),
        };
        if let Some(p) = problem {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        weir.context()
    );
    assert!(
        !origin.seen_targets().iter().any(|t| t == "/smuggled"),
        "a smuggled request reached the origin"
    );
    // Over the whole run the origin saw exactly the valid requests, in order.
    let expected: Vec<&str> = cases
        .iter()
        .filter_map(|c| match c.2 {
            Want::Refused => None,
            Want::OkThenRefused => Some("/ok"),
            Want::Accepted => Some("/target"),
        })
        .collect();
    assert_eq!(origin.seen_targets(), expected, "what the origin received");
    assert_eq!(origin.bad_requests(), 0, "weir sent the origin garbage");
}

#[test]
fn the_400_page_is_haproxys() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));
    let (reply, closed) = raw_exchange(port, b"GET / HTTP/1.1\r\n\r\n", Duration::from_secs(3));
    assert_error_page(&reply, 400, "missing Host");
    assert!(closed);
}

/// Raises this process' open-file soft limit to its hard limit.
fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

#[test]
fn slowloris_connections_are_cut_while_others_are_served() {
    raise_nofile();
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    // timeout.http_request, which cuts the slow heads.
    const HTTP_REQUEST: Duration = Duration::from_secs(3);
    let weir = Weir::start(&http_config(
        port,
        "timeout = { connect = \"1s\", client = \"10s\", server = \"5s\", http_request = \"3s\", \
         http_keep_alive = \"1s\" }",
        "",
        &backend("be", "", &[origin.addr]),
    ));

    const SLOW: usize = 500;
    let prefix = b"GET /slow HTTP/1.1\r\nHost: test.local\r\nX-Slow: ";
    let mut slow: Vec<(TcpStream, Option<Instant>, Vec<u8>)> = Vec::new();
    for _ in 0..SLOW {
        let s = common::http::open(port);
        s.set_nonblocking(true).unwrap();
        slow.push((s, None, Vec::new()));
    }
    let started = Instant::now();

    // A normal client, 20 requests during the attack.
    let normal = thread::spawn(move || -> Vec<Duration> {
        thread::sleep(Duration::from_millis(100));
        let mut lat = Vec::new();
        for i in 0..20 {
            let t = Instant::now();
            let mut c = Client::connect(port);
            let r = c.get(&format!("/normal/{i}"));
            assert_eq!(r.status, 200, "{r:?}");
            lat.push(t.elapsed());
            thread::sleep(Duration::from_millis(30));
        }
        lat
    });

    // Trickle: one byte per connection every 200 ms, until each is closed.
    let mut sent = 0usize;
    let deadline = started + Duration::from_secs(8);
    while Instant::now() < deadline && slow.iter().any(|(_, closed, _)| closed.is_none()) {
        let byte = [*prefix.get(sent).unwrap_or(&b'a')];
        for (s, closed, got) in slow.iter_mut().filter(|(_, c, _)| c.is_none()) {
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        *closed = Some(Instant::now());
                        break;
                    }
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        *closed = Some(Instant::now());
                        break;
                    }
                }
            }
            if closed.is_none() && s.write(&byte).is_err() {
                *closed = Some(Instant::now());
            }
        }
        sent += 1;
        thread::sleep(Duration::from_millis(200));
    }
    let latencies = normal.join().unwrap();

    let open = slow.iter().filter(|(_, c, _)| c.is_none()).count();
    assert_eq!(
        open, 0,
        "{open} of {SLOW} slowloris connections still open after 8 s"
    );
    // Cut by http_request (plus the trickle's rounds), long before
    // timeout.client (10 s) would.
    let late: Vec<Duration> = slow
        .iter()
        .filter_map(|(_, c, _)| c.map(|t| t - started))
        .filter(|d| *d > HTTP_REQUEST + Duration::from_secs(3))
        .collect();
    assert!(
        late.is_empty(),
        "{} connections were cut more than 3 s after timeout http_request ({HTTP_REQUEST:?})",
        late.len()
    );
    let answered_408 = slow
        .iter()
        .filter(|(_, _, got)| got.starts_with(b"HTTP/1.1 408 "))
        .count();
    assert!(
        answered_408 >= SLOW * 9 / 10,
        "only {answered_408} of {SLOW} got a 408 (bytes were received)"
    );
    // Served during the attack, not after it: every normal request was
    // answered before weir cut the first slow connection (a weir held up
    // by the slow heads would serve them only once http_request freed
    // it). Both ends in weir's own log: accept date + Ta.
    let logs = wait_for(DEADLINE, "the 20 normal lines and every 408 line", || {
        let logs = weir.httplogs();
        let normal = logs.iter().filter(|l| l.target().starts_with("/normal/"));
        let cut = logs.iter().filter(|l| l.status == 408);
        (normal.count() == 20 && cut.count() >= answered_408).then_some(logs)
    });
    let end = |l: &HttpLog| date_ms(&l.date).expect("log date") + l.t_active();
    let first_cut = logs.iter().filter(|l| l.status == 408).map(end).min();
    let last_normal = logs
        .iter()
        .filter(|l| l.target().starts_with("/normal/"))
        .map(end)
        .max();
    assert!(
        last_normal < first_cut,
        "the last normal request ended at {last_normal:?} ms, the first slow connection was \
         cut at {first_cut:?} ms (client latencies {latencies:?})"
    );
    let targets = origin.seen_targets();
    assert!(
        targets.iter().all(|t| t.starts_with("/normal/")),
        "no slowloris request reached the origin: {targets:?}"
    );
    assert_eq!(targets.len(), 20, "{targets:?}");
}

#[test]
fn bufsize_bounds_the_head() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));
    // Just under the default 16k: accepted.
    let head = |total: usize| {
        let start = format!("GET /target HTTP/1.1\r\n{H}Connection: close\r\nX-Pad: ");
        let pad = total - start.len() - 4;
        format!("{start}{}\r\n\r\n", "p".repeat(pad))
    };
    let (reply, _) = raw_exchange(port, head(16_000).as_bytes(), Duration::from_secs(3));
    assert_eq!(statuses(&reply).first(), Some(&200), "a 16000-byte head");
    let (reply, _) = raw_exchange(port, head(16_500).as_bytes(), Duration::from_secs(3));
    assert_error_page(&reply, 400, "a 16500-byte head");

    // A smaller configured bufsize.
    let port = free_port();
    let config =
        simple_config(port, origin.addr).replace("[global]\n", "[global]\nbufsize = \"4k\"\n");
    let _small = Weir::start(&config);
    let (reply, _) = raw_exchange(port, head(3_000).as_bytes(), Duration::from_secs(3));
    assert_eq!(statuses(&reply).first(), Some(&200), "a 3000-byte head");
    let (reply, _) = raw_exchange(port, head(5_000).as_bytes(), Duration::from_secs(3));
    assert_error_page(&reply, 400, "a 5000-byte head with bufsize 4k");
}
