//! HTTP mode, ACLs and rules: every ACL criterion (with `-i`, `!`, implicit
//! AND, `||`, named and inline `{ }` terms), every `http_request` rule kind,
//! `use_backend` switching, `forwardfor` and `http_response` rules.
//!
//! The criteria are checked through the origin: each one is the condition
//! of a `set_header X-M-<criterion>` rule, so the set of `X-M-*` fields the
//! origin receives says which matched.

mod common;

use std::collections::BTreeSet;

use common::http::{assert_error_page, backend, http_config, Client, HttpLogs, Req};
use common::http_origin::HttpOrigin;
use common::{free_port, Weir, DEADLINE};

/// Request fields to send: (name, value).
type Fields = &'static [(&'static str, &'static str)];
/// (method, target, fields, markers expected).
type MatchCase = (&'static str, &'static str, Fields, &'static [&'static str]);
/// (method, target, fields, backend expected).
type SwitchCase = (&'static str, &'static str, Fields, &'static str);

/// (marker, condition) — one `set_header = ["X-M-marker", "1"]` each.
fn criteria(port: u16) -> Vec<(&'static str, String)> {
    let c = |m: &'static str, cond: &str| (m, cond.to_string());
    vec![
        c("named-acl", "static"),
        c("path", "{ path /exact }"),
        c("path-beg", "{ path_beg /beg/ /other-beg/ }"),
        c("path-end", "{ path_end .css .js }"),
        c("path-sub", "{ path_sub /sub/ }"),
        c("path-reg", "{ path_reg ^/user/[0-9]+$ }"),
        c("url", "{ url /exact?q=1 }"),
        c("url-beg", "{ url_beg /search? }"),
        c("method", "{ method PUT PATCH }"),
        c("hdr", "{ hdr(host) -i api.example.com }"),
        c("hdr-case", "{ hdr(x-test) Exact }"),
        c("hdr-beg", "{ hdr_beg(x-test) pre }"),
        c("hdr-end", "{ hdr_end(x-test) fix }"),
        c("hdr-sub", "{ hdr_sub(x-test) mid }"),
        c("hdr-reg", "{ hdr_reg(x-test) ^v[0-9]+$ }"),
        c("src", "{ src 127.0.0.0/8 }"),
        c("src-other", "{ src 10.0.0.0/8 192.0.2.1 }"),
        c("dst-port", &format!("{{ dst_port {port} }}")),
        c("dst-port-other", "{ dst_port 1-1023 }"),
        c("i-path", "{ path -i /CaSe }"),
        c("exact-case-path", "{ path /CaSe }"),
        c("not", "!{ method GET HEAD }"),
        c("and", "{ path_beg /and } { method POST }"),
        c("or", "{ path /or1 } || { path /or2 }"),
        c("and-or-not", "api !{ method DELETE } || { path /aon }"),
    ]
}

fn rules_config(port: u16, origin: &HttpOrigin) -> String {
    let rules: Vec<String> = criteria(port)
        .iter()
        .map(|(m, cond)| format!("  {{ set_header = [\"X-M-{m}\", \"1\"], if = \"{cond}\" }},"))
        .collect();
    http_config(
        port,
        "",
        &format!(
            "acl = {{ static = \"path_beg /static/ /img/\", api = \"hdr(host) -i api.example.com\" }}\n\
             http_request = [\n{}\n]",
            rules.join("\n")
        ),
        &backend("be", "", &[origin.addr]),
    )
}

#[test]
fn each_acl_criterion_matches_what_it_should() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&rules_config(port, &origin));

    // (method, target, headers, markers expected besides the constant ones)
    let cases: &[MatchCase] = &[
        ("GET", "/", &[], &[]),
        ("GET", "/static/a.png", &[], &["named-acl"]),
        ("GET", "/img/x", &[], &["named-acl"]),
        ("GET", "/staticx", &[], &[]),
        ("GET", "/exact", &[], &["path"]),
        ("GET", "/exact?q=1", &[], &["path", "url"]),
        ("GET", "/exact?q=2", &[], &["path"]),
        ("GET", "/exact/", &[], &[]),
        ("GET", "/beg/x", &[], &["path-beg"]),
        ("GET", "/other-beg/", &[], &["path-beg"]),
        ("GET", "/x/beg/", &[], &[]),
        ("GET", "/a/b.css", &[], &["path-end"]),
        ("GET", "/a/b.js?v=.css", &[], &["path-end"]),
        ("GET", "/a/b.css?x", &[], &["path-end"]),
        ("GET", "/a/css", &[], &[]),
        ("GET", "/x/sub/y", &[], &["path-sub"]),
        ("GET", "/user/42", &[], &["path-reg"]),
        ("GET", "/user/42x", &[], &[]),
        ("GET", "/search?q=a", &[], &["url-beg"]),
        ("GET", "/search", &[], &[]),
        ("PUT", "/", &[], &["method", "not"]),
        ("PATCH", "/", &[], &["method", "not"]),
        ("HEAD", "/", &[], &[]),
        ("DELETE", "/", &[], &["not"]),
        (
            "GET",
            "/",
            &[("Host", "API.Example.COM")],
            &["hdr", "and-or-not"],
        ),
        (
            "DELETE",
            "/",
            &[("Host", "api.example.com")],
            &["hdr", "not"],
        ),
        (
            "DELETE",
            "/aon",
            &[("Host", "api.example.com")],
            &["hdr", "not", "and-or-not"],
        ),
        ("GET", "/", &[("X-Test", "Exact")], &["hdr-case"]),
        ("GET", "/", &[("X-Test", "exact")], &[]),
        ("GET", "/", &[("X-Test", "prefix")], &["hdr-beg", "hdr-end"]),
        ("GET", "/", &[("X-Test", "a-suffix")], &["hdr-end"]),
        ("GET", "/", &[("X-Test", "amidb")], &["hdr-sub"]),
        ("GET", "/", &[("X-Test", "v12")], &["hdr-reg"]),
        ("GET", "/", &[("X-Test", "v12x")], &[]),
        // hdr() looks at every comma-separated value.
        ("GET", "/", &[("X-Test", "zzz, v7")], &["hdr-reg"]),
        (
            "GET",
            "/",
            &[("X-Test", "one"), ("X-Test", "Exact")],
            &["hdr-case"],
        ),
        ("GET", "/CaSe", &[], &["i-path", "exact-case-path"]),
        ("GET", "/case", &[], &["i-path"]),
        ("GET", "/CASE", &[], &["i-path"]),
        ("POST", "/and/x", &[], &["and", "not"]),
        ("GET", "/and/x", &[], &[]),
        ("POST", "/x", &[], &["not"]),
        ("GET", "/or1", &[], &["or"]),
        ("GET", "/or2", &[], &["or"]),
        ("GET", "/or3", &[], &[]),
        ("GET", "/aon", &[], &["and-or-not"]),
    ];
    // Always true from here: src 127/8 and our dst_port.
    let always = ["src", "dst-port"];
    let mut c = Client::connect(port);
    let mut failures = Vec::new();
    for (method, target, headers, want) in cases {
        let mut req = Req::new(method, target);
        for (n, v) in headers.iter() {
            req = req.header(n, v);
        }
        let r = c.exchange(&req);
        if *method == "HEAD" {
            // No report in a HEAD answer: ask the origin what it saw.
            let seen = origin.seen().pop().unwrap();
            let got: BTreeSet<String> = seen
                .headers
                .iter()
                .filter_map(|(n, _)| n.strip_prefix("X-M-").or(n.strip_prefix("x-m-")))
                .map(str::to_ascii_lowercase)
                .collect();
            let want: BTreeSet<String> =
                want.iter().chain(&always).map(|s| s.to_string()).collect();
            if got != want {
                failures.push(format!(
                    "{method} {target} {headers:?}: {got:?}, want {want:?}"
                ));
            }
            continue;
        }
        assert_eq!(r.status, 200, "{method} {target}: {r:?}");
        let got: BTreeSet<String> = r
            .report()
            .headers
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-m-"))
            .map(|(n, _)| n[4..].to_ascii_lowercase())
            .collect();
        let want: BTreeSet<String> = want.iter().chain(&always).map(|s| s.to_string()).collect();
        if got != want {
            failures.push(format!(
                "{method} {target} {headers:?}: {got:?}, want {want:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases matched the wrong criteria:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn full_config(port: u16, be: &HttpOrigin, assets: &HttpOrigin, api: &HttpOrigin) -> String {
    let frontend = r#"forwardfor = true
acl = { static = "path_beg /static/ /img/", api = "hdr(host) -i api.example.com" }
use_backend = [ { backend = "assets", if = "static" }, { backend = "api", if = "api !{ method DELETE }" } ]
http_request = [
  { deny = 403, if = "{ path_beg /admin }" },
  { deny = 403, unless = "{ hdr(x-token) secret } || !{ path_beg /private }" },
  { return = { status = 200, content_type = "text/plain", body = "pong" }, if = "{ path /ping }" },
  { redirect = { location = "https://example.com/", code = 301 }, if = "{ path /old }" },
  { redirect = { prefix = "https://new.example", code = 302 }, if = "{ path_beg /moved/ }" },
  { redirect = { scheme = "https", code = 302 }, if = "{ path_beg /secure/ }" },
  { set_header = ["X-Set", "1"] },
  { add_header = ["X-Add", "a"] },
  { del_header = "X-Drop" },
  { set_path = "/rewritten", if = "{ path /to-rewrite }" },
]
http_response = [ { set_header = ["X-Resp", "yes"] }, { del_header = "Server" }, { add_header = ["X-Resp-Add", "r"], if = "{ hdr(x-origin) assets }" } ]"#;
    http_config(
        port,
        "",
        frontend,
        &format!(
            "{}{}{}",
            backend("be", "", &[be.addr]),
            backend("assets", "", &[assets.addr]),
            backend("api", "", &[api.addr])
        ),
    )
}

struct Setup {
    port: u16,
    be: HttpOrigin,
    assets: HttpOrigin,
    api: HttpOrigin,
    weir: Weir,
}

fn setup() -> Setup {
    let (be, assets, api) = (
        HttpOrigin::start("be"),
        HttpOrigin::start("assets"),
        HttpOrigin::start("api"),
    );
    let port = free_port();
    let weir = Weir::start(&full_config(port, &be, &assets, &api));
    Setup {
        port,
        be,
        assets,
        api,
        weir,
    }
}

#[test]
fn use_backend_switches_on_named_acls() {
    let s = setup();
    let mut c = Client::connect(s.port);
    let cases: &[SwitchCase] = &[
        ("GET", "/", &[], "be"),
        ("GET", "/static/app.js", &[], "assets"),
        ("GET", "/img/logo.png", &[], "assets"),
        ("GET", "/v1/users", &[("Host", "api.example.com")], "api"),
        ("GET", "/v1/users", &[("Host", "API.EXAMPLE.COM")], "api"),
        (
            "DELETE",
            "/v1/users/1",
            &[("Host", "api.example.com")],
            "be",
        ),
        // The first rule that matches wins.
        ("GET", "/static/x", &[("Host", "api.example.com")], "assets"),
        ("GET", "/", &[("Host", "www.example.com")], "be"),
    ];
    for (method, target, headers, want) in cases {
        let mut req = Req::new(method, target);
        for (n, v) in headers.iter() {
            req = req.header(n, v);
        }
        let r = c.exchange(&req);
        assert_eq!(r.status, 200, "{method} {target}: {r:?}");
        assert_eq!(
            r.header("X-Origin"),
            Some(*want),
            "{method} {target} {headers:?} went to the wrong backend"
        );
    }
    assert!(s.be.accepted() >= 1 && s.assets.accepted() >= 1 && s.api.accepted() >= 1);
    let logs = s.weir.wait_httplogs(cases.len(), DEADLINE);
    let backends: Vec<&str> = logs.iter().map(|l| l.backend.as_str()).collect();
    assert_eq!(
        backends,
        cases.iter().map(|c| c.3).collect::<Vec<_>>(),
        "the log names the chosen backend"
    );
}

#[test]
fn deny_answers_403_and_closes_without_reaching_a_server() {
    let s = setup();
    let (bytes, closed) =
        common::http::raw_exchange(s.port, &Req::get("/admin/users").bytes(), DEADLINE);
    assert_error_page(&bytes, 403, "deny");
    assert!(closed, "a deny closes the connection");
    // `unless`: denied without the token, allowed with it.
    let (bytes, _) = common::http::raw_exchange(s.port, &Req::get("/private/x").bytes(), DEADLINE);
    assert_error_page(&bytes, 403, "deny unless token");
    let mut c = Client::connect(s.port);
    let r = c.exchange(&Req::get("/private/x").header("X-Token", "secret"));
    assert_eq!(r.status, 200, "{r:?}");
    let targets: Vec<String> = [&s.be, &s.assets, &s.api]
        .iter()
        .flat_map(|o| o.seen_targets())
        .collect();
    assert_eq!(targets, ["/private/x"], "denied requests reach no server");
}

#[test]
fn return_and_redirect_are_answered_by_weir() {
    let s = setup();
    let mut c = Client::connect(s.port);
    let r = c.get("/ping");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "pong");
    assert_eq!(r.header("Content-Type"), Some("text/plain"));

    let mut c = Client::connect(s.port);
    let r = c.get("/old");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("Location"), Some("https://example.com/"));

    let mut c = Client::connect(s.port);
    let r = c.get("/moved/page?x=1");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(
        r.header("Location"),
        Some("https://new.example/moved/page?x=1")
    );

    let mut c = Client::connect(s.port);
    let r = c.exchange(&Req::get("/secure/login?next=/").header("Host", "shop.example"));
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(
        r.header("Location"),
        Some("https://shop.example/secure/login?next=/")
    );

    let reached: usize = [&s.be, &s.assets, &s.api]
        .iter()
        .map(|o| o.seen().len())
        .sum();
    assert_eq!(reached, 0, "weir answered all of them itself");
}

#[test]
fn header_rules_and_set_path_rewrite_the_request() {
    let s = setup();
    let mut c = Client::connect(s.port);
    let r = c.exchange(
        &Req::get("/to-rewrite?q=1")
            .header("X-Set", "old1")
            .header("X-Set", "old2")
            .header("X-Add", "c")
            .header("X-Drop", "gone")
            .header("x-drop", "gone too"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(
        rep.get("target"),
        "/rewritten?q=1",
        "set_path keeps the query"
    );
    assert_eq!(rep.header_values("X-Set"), ["1"], "set_header replaces");
    let add: Vec<&str> = rep
        .header_values("X-Add")
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    assert_eq!(add, ["c", "a"], "add_header appends");
    assert!(
        rep.header("X-Drop").is_none(),
        "del_header removes all: {rep:?}"
    );

    let r = c.get("/other");
    assert_eq!(
        r.report().get("target"),
        "/other",
        "set_path only if its ACL"
    );
}

#[test]
fn forwardfor_appends_the_client_address() {
    let s = setup();
    let mut c = Client::connect(s.port);
    let r = c.get("/xff");
    assert_eq!(r.report().header_values("X-Forwarded-For"), ["127.0.0.1"]);
    let r = c.exchange(&Req::get("/xff").header("X-Forwarded-For", "203.0.113.7"));
    let all = r.report().header_values("X-Forwarded-For").join(", ");
    assert_eq!(all, "203.0.113.7, 127.0.0.1", "{:?}", r.report());

    // Without forwardfor, nothing is added.
    let origin = HttpOrigin::start("plain");
    let port = free_port();
    let _weir = Weir::start(&common::http::simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    let r = c.get("/noxff");
    assert!(r.report().header("X-Forwarded-For").is_none(), "{r:?}");
}

#[test]
fn response_rules_rewrite_the_answer() {
    let s = setup();
    let mut c = Client::connect(s.port);
    let r = c.get("/");
    assert_eq!(r.header("X-Resp"), Some("yes"), "{r:?}");
    assert!(r.header("Server").is_none(), "del_header Server: {r:?}");
    assert!(
        r.header("X-Resp-Add").is_none(),
        "hdr() reads the response: {r:?}"
    );
    let r = c.get("/static/a.css");
    assert_eq!(r.header("X-Origin"), Some("assets"));
    assert_eq!(r.header("X-Resp-Add"), Some("r"), "{r:?}");
}

#[test]
fn backend_forwardfor_and_use_backend_unless() {
    let (a, b) = (HttpOrigin::start("a"), HttpOrigin::start("b"));
    let port = free_port();
    let _weir = Weir::start(&http_config(
        port,
        "",
        r#"use_backend = [ { backend = "b", unless = "{ path_beg /to-a } || { method POST }" } ]"#,
        &format!(
            "{}{}",
            backend("be", "forwardfor = true", &[a.addr]),
            backend("b", "", &[b.addr])
        ),
    ));
    let mut c = Client::connect(port);
    let r = c.get("/x");
    assert_eq!(
        r.header("X-Origin"),
        Some("b"),
        "unless: not /to-a, not POST"
    );
    assert!(r.report().header("X-Forwarded-For").is_none());
    let r = c.get("/to-a/x");
    assert_eq!(r.header("X-Origin"), Some("a"));
    assert_eq!(
        r.report().header_values("X-Forwarded-For"),
        ["127.0.0.1"],
        "forwardfor set on the backend"
    );
    let r = c.exchange(&Req::new("POST", "/x").body(b"1"));
    assert_eq!(r.header("X-Origin"), Some("a"));
}
