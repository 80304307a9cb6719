//! HTTP mode, the messages themselves: GET/HEAD/POST through weir with real
//! clients (curl and a raw socket), both body framings, bodiless responses,
//! `Expect: 100-continue`, pipelining, HTTP/1.0 with and without
//! keep-alive, and the hop-by-hop fields that must not cross weir.

mod common;

use std::time::Duration;

use common::http::{curl, simple_config, Client, Req};
use common::http_origin::HttpOrigin;
use common::http_wire::hash_of;
use common::{free_port, Weir, DEADLINE};

#[test]
fn get_reaches_the_origin_and_the_answer_the_client() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    let r = c.exchange(&Req::get("/hello/world?x=1&y=2").header("X-Client", "raw"));
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("origin"), "o1");
    assert_eq!(rep.get("method"), "GET");
    assert_eq!(rep.get("target"), "/hello/world?x=1&y=2");
    assert_eq!(rep.get("version"), "HTTP/1.1");
    assert_eq!(rep.header("Host"), Some("test.local"), "{rep:?}");
    assert_eq!(rep.header("X-Client"), Some("raw"), "{rep:?}");
    assert_eq!(rep.get("body_len"), "0");
    assert_eq!(r.header("X-Origin"), Some("o1"), "response fields pass");
}

#[test]
fn curl_get_head_and_post_with_both_framings() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let get = curl(port, "/page", &[]);
    assert_eq!(get.status, 200, "{get:?}");
    assert_eq!(get.report().get("method"), "GET");

    // HEAD: the origin announces the length of the report but sends no
    // body; curl -I must not wait for one.
    let head = curl(port, "/page", &["-I"]);
    assert_eq!(head.status, 200, "{head:?}");
    // (with -I, curl writes the head where the body would go)
    assert_eq!(
        String::from_utf8_lossy(&head.body),
        head.headers,
        "HEAD has no body"
    );
    assert!(
        head.headers
            .to_ascii_lowercase()
            .contains("content-length:"),
        "{head:?}"
    );

    let body: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let dir = common::weir::TempDir::new("post");
    let file = dir.path.join("body");
    std::fs::write(&file, &body).unwrap();
    let at_file = format!("@{}", file.display());

    let cl = curl(port, "/upload", &["--data-binary", &at_file]);
    assert_eq!(cl.status, 200, "{cl:?}");
    let rep = cl.report();
    assert_eq!(rep.get("method"), "POST");
    assert_eq!(rep.get("chunked"), "0");
    assert_eq!(rep.get("body_len"), body.len().to_string());
    assert_eq!(rep.get("body_hash"), hash_of(&body));

    let chunked = curl(
        port,
        "/upload",
        &[
            "--data-binary",
            &at_file,
            "-H",
            "Transfer-Encoding: chunked",
        ],
    );
    assert_eq!(chunked.status, 200, "{chunked:?}");
    let rep = chunked.report();
    assert_eq!(rep.get("chunked"), "1", "chunked stays chunked: {rep:?}");
    assert_eq!(rep.get("body_len"), body.len().to_string());
    assert_eq!(rep.get("body_hash"), hash_of(&body));
}

#[test]
fn head_204_and_304_have_no_body_on_a_kept_alive_connection() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    let head = c.exchange(&Req::new("HEAD", "/download?bytes=5000"));
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("5000"), "{head:?}");
    let no_content = c.get("/status/204");
    assert_eq!(no_content.status, 204);
    let not_modified = c.get("/status/304");
    assert_eq!(not_modified.status, 304);
    // Had weir sent a body after any of those, this would read it as the
    // next response.
    let after = c.get("/after");
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(after.report().get("target"), "/after");
    assert!(c.conn.buffered().is_empty(), "nothing extra was sent");
}

#[test]
fn expect_100_continue_reaches_the_client_before_the_body_is_sent() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let body = vec![b'z'; 10_000];
    let mut c = Client::connect(port);
    c.send(
        b"POST /upload HTTP/1.1\r\nHost: test.local\r\nExpect: 100-continue\r\n\
          Content-Length: 10000\r\n\r\n",
    );
    // The client waits for the interim answer that the origin sends.
    let interim = c.read_head().expect("an interim response");
    assert_eq!(interim.status, 100, "{interim:?}");
    c.send(&body);
    let r = c.read_response(false).expect("the final response");
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("body_len"), "10000");
    assert_eq!(rep.get("body_hash"), hash_of(&body));
    assert!(
        rep.header_values("Expect")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("100-continue")),
        "Expect is forwarded: {rep:?}"
    );

    // And curl, which sends Expect on large bodies and waits up to a second.
    let big = vec![b'q'; 2_000_000];
    let dir = common::weir::TempDir::new("expect");
    let file = dir.path.join("body");
    std::fs::write(&file, &big).unwrap();
    let start = std::time::Instant::now();
    let out = curl(
        port,
        "/upload",
        &[
            "--data-binary",
            &format!("@{}", file.display()),
            "-H",
            "Expect: 100-continue",
            "--expect100-timeout",
            "5",
        ],
    );
    assert_eq!(out.status, 200, "{out:?}");
    assert_eq!(out.report().get("body_len"), "2000000");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "curl got its 100 Continue instead of waiting: {:?}",
        start.elapsed()
    );
}

#[test]
fn three_pipelined_requests_are_answered_in_order() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    let mut all = Req::get("/first").bytes();
    all.extend(Req::new("POST", "/second").body(b"0123456789").bytes());
    all.extend(
        Req::new("POST", "/third")
            .header("Transfer-Encoding", "chunked")
            .body(b"3\r\nabc\r\n0\r\n\r\n")
            .bytes(),
    );
    c.send(&all);
    for (target, len) in [("/first", "0"), ("/second", "10"), ("/third", "3")] {
        let r = c.read_response(false).expect("pipelined response");
        assert_eq!(r.status, 200, "{r:?}");
        let rep = r.report();
        assert_eq!(rep.get("target"), target, "responses in request order");
        assert_eq!(rep.get("body_len"), len, "{rep:?}");
    }
    // The connection is still usable.
    assert_eq!(c.get("/fourth").report().get("target"), "/fourth");
}

#[test]
fn http10_without_keep_alive_is_closed_after_the_response() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    let r = c.exchange(&Req::get("/old").version("HTTP/1.0"));
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("target"), "/old");
    c.closed_silently(DEADLINE)
        .expect("an HTTP/1.0 connection without keep-alive ends with its response");
}

#[test]
fn http10_with_keep_alive_stays_open() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    for i in 0..3 {
        let target = format!("/ka/{i}");
        let r = c.exchange(
            &Req::get(&target)
                .version("HTTP/1.0")
                .header("Connection", "keep-alive"),
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            r.has_token("Connection", "keep-alive"),
            "an HTTP/1.0 keep-alive answer says so: {r:?}"
        );
        assert!(r.header("Content-Length").is_some(), "{r:?}");
        assert_eq!(r.report().get("target"), target);
    }
}

#[test]
fn hop_by_hop_fields_do_not_cross_weir() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    let r = c.exchange(
        &Req::get("/resp-hop")
            .header("Connection", "keep-alive, X-Hop")
            .header("X-Hop", "secret")
            .header("Keep-Alive", "timeout=100")
            .header("Proxy-Connection", "keep-alive")
            .header("TE", "trailers")
            .header("Upgrade", "foo/2")
            .header("X-Normal", "kept"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    for name in ["X-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade"] {
        assert!(
            rep.header(name).is_none(),
            "{name} must not reach the origin: {rep:?}"
        );
    }
    // `TE: trailers` goes on, as through HAProxy 2.6: it says the client
    // takes trailers (gRPC needs it at an HTTP/2 server).
    assert_eq!(rep.header("TE"), Some("trailers"), "{rep:?}");
    assert!(
        !rep.header_values("Connection")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("x-hop")),
        "{rep:?}"
    );
    assert_eq!(rep.header("X-Normal"), Some("kept"));

    // The same on the way back.
    assert!(r.header("X-Resp-Hop").is_none(), "{r:?}");
    assert!(r.header("Keep-Alive").is_none(), "{r:?}");
    assert_eq!(r.header("X-Resp-Normal"), Some("1"), "{r:?}");
    // And the connection still works.
    assert_eq!(c.get("/next").report().get("target"), "/next");
}

#[test]
fn large_response_heads_and_many_fields_pass() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    // 60 fields of 100 bytes: ~6 KiB of head, under bufsize.
    let values: Vec<String> = (0..60)
        .map(|i| format!("{i:03}{}", "v".repeat(97)))
        .collect();
    let names: Vec<String> = (0..60).map(|i| format!("X-Field-{i}")).collect();
    let mut req = Req::get("/many");
    for (n, v) in names.iter().zip(&values) {
        req = req.header(n, v);
    }
    let mut c = Client::connect(port);
    let r = c.exchange(&req);
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    for (n, v) in names.iter().zip(&values) {
        assert_eq!(rep.header(n), Some(v.as_str()), "{n}");
    }
}

#[test]
fn a_slow_first_pipelined_request_keeps_the_order() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    let mut all = Req::get("/delay?ms=300").bytes();
    all.extend(Req::get("/fast/1").bytes());
    all.extend(Req::get("/fast/2").bytes());
    c.send(&all);
    for target in ["/delay?ms=300", "/fast/1", "/fast/2"] {
        let r = c.read_response(false).expect("pipelined response");
        assert_eq!(
            r.report().get("target"),
            target,
            "responses in request order"
        );
    }
}
