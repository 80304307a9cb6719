//! HTTP mode in the configuration: modes, `log_format`, `forwardfor`,
//! `http_reuse`, ACLs, conditions, `use_backend` and the HTTP rules, each
//! accepted value and each mistake at the right line and column.

use std::net::IpAddr;
use std::time::Duration;

use super::load_str;
use super::model::{
    Condition, Config, Criterion, Fetch, HttpAction, HttpReuse, LogFormat, MatchOp, Mode, Patterns,
    RedirectTarget, TermRef,
};

const BACKENDS: &str = "[backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n\
                        [backend.assets]\nserver = [{ name = \"b\", address = \"127.0.0.1:8001\" }]\n";

fn ok(text: &str) -> Config {
    match load_str("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors: {e:#?}\n{text}"),
    }
}

fn errs(text: &str) -> Vec<String> {
    match load_str("t.toml", text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
    }
}

/// Exactly one error, at `pos` ("LINE:COL"), containing `part`.
fn one(text: &str, pos: &str, part: &str) {
    let e = errs(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with(&format!("{pos}: ")), "{e:#?}");
    assert!(e[0].contains(part), "{e:#?}");
}

/// HTTP mode from [defaults]; `extra` is on line 6 of [frontend.web].
fn fe(extra: &str) -> String {
    format!(
        "[defaults]\nmode = \"http\"\n[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n\
         {extra}\n{BACKENDS}"
    )
}

/// The criterion of the only ACL of `acl = { a = "TEXT" }`.
fn acl(text: &str) -> Criterion {
    let c = ok(&fe(&format!("acl = {{ a = '{text}' }}")));
    c.frontends[0].acls[0].criterion.clone()
}

fn strs(c: &Criterion) -> Vec<String> {
    match &c.patterns {
        Patterns::Str(v) => v.clone(),
        other => panic!("not strings: {other:?}"),
    }
}

/// The condition of the first use_backend rule, with ACLs a, b, c.
fn cond(text: &str) -> Condition {
    let c = ok(&fe(&format!(
        "acl = {{ a = \"path /a\", b = \"path /b\", c = \"path /c\" }}\n\
         use_backend = [{{ backend = \"assets\", if = '{text}' }}]"
    )));
    c.frontends[0].use_backend[0]
        .cond
        .clone()
        .expect("a condition")
}

#[test]
fn http_mode_takes_http_defaults() {
    let c = ok(&fe(
        "timeout = { http_request = \"5s\", http_keep_alive = \"2s\" }",
    ));
    let f = &c.frontends[0];
    assert_eq!(f.mode, Mode::Http);
    assert_eq!(f.log_format, LogFormat::HttpLog);
    assert_eq!(f.timeouts.http_request, Some(Duration::from_secs(5)));
    assert_eq!(f.timeouts.http_keep_alive, Some(Duration::from_secs(2)));
    assert!(!f.forwardfor);
    let b = &c.backends[0];
    assert_eq!(b.mode, Mode::Http);
    assert_eq!(b.http_reuse, HttpReuse::Safe);
}

#[test]
fn log_format_follows_the_mode() {
    let tcp = "[frontend.t]\nbind = \":81\"\ndefault_backend = \"db\"\n\
               [backend.db]\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n";
    let both = |defaults: &str| {
        let text = format!(
            "[defaults]\n{defaults}\n[frontend.web]\nmode = \"http\"\nbind = \":8080\"\n\
             default_backend = \"app\"\n[backend.app]\nmode = \"http\"\n\
             server = [{{ name = \"a\", address = \"127.0.0.1:1\" }}]\n{tcp}"
        );
        let c = ok(&text);
        (
            c.frontends[0].log_format.clone(),
            c.frontends[1].log_format.clone(),
        )
    };
    assert_eq!(both(""), (LogFormat::HttpLog, LogFormat::TcpLog));
    // "httplog" in [defaults] gives "tcplog" to TCP proxies, as in HAProxy.
    let h = "log_format = \"httplog\"";
    assert_eq!(both(h), (LogFormat::HttpLog, LogFormat::TcpLog));
    let t = "log_format = \"tcplog\"";
    assert_eq!(both(t), (LogFormat::TcpLog, LogFormat::TcpLog));
    let s = "log_format = \"httpslog\"";
    assert_eq!(both(s), (LogFormat::HttpsLog, LogFormat::TcpLog));
    let j = "log_format = \"json\"";
    assert_eq!(both(j), (LogFormat::Json, LogFormat::Json));
    one(
        &fe("log_format = \"htplog\""),
        "6:14",
        "unknown log_format \"htplog\": expected \"tcplog\", \"httplog\", \"httpslog\", \"json\" \
         or a string of %-aliases such as \"%ci [%tr] %{+Q}r\"; did you mean `httplog`?",
    );
}

#[test]
fn a_frontend_uses_backends_of_its_mode() {
    let text = format!(
        "[frontend.web]\nmode = \"http\"\nbind = \":80\"\ndefault_backend = \"app\"\n{BACKENDS}"
    );
    one(
        &text,
        "4:19",
        "backend \"app\" is in TCP mode but this frontend is in HTTP mode",
    );
    let text = String::from(
        "[frontend.web]\nbind = \":80\"\ndefault_backend = \"app\"\n[backend.app]\nmode = \"http\"\n\
         server = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n"
    );
    one(
        &text,
        "3:19",
        "is in HTTP mode but this frontend is in TCP mode",
    );
    let text = fe("use_backend = [{ backend = \"db\", if = \"{ path / }\" }]")
        + "[backend.db]\nmode = \"tcp\"\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n";
    one(&text, "6:28", "backend \"db\" is in TCP mode");
}

#[test]
fn every_criterion_parses() {
    let cases: &[(&str, Fetch, MatchOp)] = &[
        ("path /", Fetch::Path, MatchOp::Exact),
        ("path_beg /s", Fetch::Path, MatchOp::Beg),
        ("path_end .css", Fetch::Path, MatchOp::End),
        ("path_sub adm", Fetch::Path, MatchOp::Sub),
        ("path_reg ^/a", Fetch::Path, MatchOp::Reg),
        ("url /?x", Fetch::Url, MatchOp::Exact),
        ("url_beg /a", Fetch::Url, MatchOp::Beg),
        ("method GET", Fetch::Method, MatchOp::Exact),
        ("hdr(Host) a", Fetch::Hdr("host".into()), MatchOp::Exact),
        ("hdr_beg(host) a", Fetch::Hdr("host".into()), MatchOp::Beg),
        ("hdr_end(host) a", Fetch::Hdr("host".into()), MatchOp::End),
        ("hdr_sub(x-a) a", Fetch::Hdr("x-a".into()), MatchOp::Sub),
        ("hdr_reg(x-a) a", Fetch::Hdr("x-a".into()), MatchOp::Reg),
        ("src 10.0.0.0/8", Fetch::Src, MatchOp::Exact),
        ("dst_port 80", Fetch::DstPort, MatchOp::Exact),
    ];
    for (text, fetch, op) in cases {
        let c = acl(text);
        assert_eq!((&c.fetch, c.op), (fetch, *op), "{text}");
        assert_eq!(c.text, *text);
        assert!(!c.ignore_case);
    }
    let c = acl("path_beg /static/ /img/");
    assert_eq!(strs(&c), ["/static/", "/img/"]);
}

#[test]
fn ignore_case_lowercases_patterns_and_regexes() {
    let c = acl("hdr(host) -i API.Example.com www.EXAMPLE.com");
    assert!(c.ignore_case);
    assert_eq!(strs(&c), ["api.example.com", "www.example.com"]);
    // `--` ends the flags, so a pattern may start with `-`.
    let c = acl("path_sub -i -- -Old");
    assert_eq!(strs(&c), ["-old"]);
    let c = acl("path_reg -i ^/API/");
    let Patterns::Regex(r) = &c.patterns else {
        panic!("{c:?}")
    };
    assert!(r[0].is_match("/api/x"));
    let c = acl("path_reg ^/API/");
    let Patterns::Regex(r) = &c.patterns else {
        panic!("{c:?}")
    };
    assert!(!r[0].is_match("/api/x"));
    one(
        &fe("acl = { a = \"path -m /x\" }"),
        "6:19",
        "unknown flag `-m`",
    );
    one(
        &fe("acl = { a = \"src -i 10.0.0.1\" }"),
        "6:18",
        "`-i` does not apply to `src`",
    );
}

#[test]
fn quoted_and_escaped_patterns() {
    let text = fe(r#"acl.a = '''hdr(x-a) "a b" c\ d 'e"f' "g\"h" x'''"#);
    let c = &ok(&text).frontends[0].acls[0].criterion;
    assert_eq!(strs(c), ["a b", "c d", "e\"f", "g\"h", "x"]);
    one(
        &fe("acl = { a = 'path \"/x' }"),
        "6:19",
        "unterminated quote \"",
    );
}

#[test]
fn src_takes_addresses_and_cidrs() {
    let c =
        acl("src 10.1.2.3/8 192.168.0.7 2001:db8::1/32 ::ffff:172.16.0.0/108 10.0.0.0/255.255.0.0");
    let Patterns::Net(n) = &c.patterns else {
        panic!("{c:?}")
    };
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        n,
        &[
            (ip("10.0.0.0"), 8),
            (ip("192.168.0.7"), 32),
            (ip("2001:db8::"), 32),
            (ip("172.16.0.0"), 12),
            (ip("10.0.0.0"), 16),
        ]
    );
    one(
        &fe("acl = { local = \"src 127.0.0.1 10.0.0.0/33\" }"),
        "6:32",
        "invalid prefix length \"33\" in \"10.0.0.0/33\": 0 to 32",
    );
    one(
        &fe("acl = { local = \"src localhost\" }"),
        "6:22",
        "invalid address \"localhost\"",
    );
}

#[test]
fn dst_port_takes_ports_and_ranges() {
    let c = acl("dst_port 80 8000-8999 9000:9100");
    let Patterns::Port(p) = &c.patterns else {
        panic!("{c:?}")
    };
    assert_eq!(p, &[(80, 80), (8000, 8999), (9000, 9100)]);
    one(
        &fe("acl = { p = \"dst_port 443 90-80\" }"),
        "6:27",
        "invalid port range \"90-80\": 90 is above 80",
    );
    one(
        &fe("acl = { p = \"dst_port http\" }"),
        "6:23",
        "invalid port \"http\"",
    );
}

#[test]
fn criterion_mistakes_point_inside_the_string() {
    one(
        &fe("acl = { a = \"path_begin /x\" }"),
        "6:14",
        "unknown criterion `path_begin`; expected path, path_beg",
    );
    assert!(errs(&fe("acl = { a = \"path_begin /x\" }"))[0].ends_with("did you mean `path_beg`?"));
    one(
        &fe("acl = { a = \"path_reg /(x\" }"),
        "6:23",
        "invalid regex \"/(x\": unclosed group",
    );
    one(
        &fe("acl = { a = \"path_beg -i\" }"),
        "6:25",
        "missing pattern: `path_beg` needs at least one pattern",
    );
    one(
        &fe("acl = { a = \"hdr(host foo\" }"),
        "6:22",
        "missing `)` after `hdr(host`",
    );
    one(
        &fe("acl = { a = \"hdr x\" }"),
        "6:14",
        "`hdr` needs a header name: `hdr(NAME)`",
    );
    one(
        &fe("acl = { a = \"path(x) /\" }"),
        "6:14",
        "`path` takes no argument",
    );
    // A string written with escapes: the error points at the string.
    one(
        &fe("acl = { a = \"\\u0070ath_bog /x\" }"),
        "6:13",
        "unknown criterion `path_bog`",
    );
    one(
        &fe("acl = { \"a b\" = \"path /\" }"),
        "6:9",
        "invalid ACL name \"a b\"",
    );
}

#[test]
fn acls_and_rules_need_http_mode() {
    let tcp = |extra: &str| {
        format!("[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n{extra}\n{BACKENDS}")
    };
    one(
        &tcp("acl = { a = \"src 10.0.0.0/8\" }"),
        "4:1",
        "`acl` needs mode = \"http\" (ACLs and rules apply to HTTP requests); this frontend is in TCP mode",
    );
    one(
        &tcp("http_request = [{ deny = 403 }]"),
        "4:1",
        "`http_request` needs mode = \"http\"",
    );
    one(
        &tcp("http_response = [{ del_header = \"server\" }]"),
        "4:1",
        "`http_response` needs mode = \"http\"",
    );
}

#[test]
fn conditions_and_or_not() {
    let c = cond("a b || !c");
    assert!(!c.unless);
    assert_eq!(c.any_of.len(), 2);
    let shape: Vec<Vec<(bool, usize)>> = c
        .any_of
        .iter()
        .map(|g| {
            g.iter()
                .map(|t| match t.what {
                    TermRef::Acl(i) => (t.negate, i),
                    TermRef::Inline(_) => panic!("inline"),
                })
                .collect()
        })
        .collect();
    assert_eq!(shape, vec![vec![(false, 0), (false, 1)], vec![(true, 2)]]);
    let c = cond("a or ! b");
    assert_eq!(c.any_of.len(), 2);
    assert!(c.any_of[1][0].negate);
}

#[test]
fn inline_criteria_in_conditions() {
    let c = cond("!{ path_beg -i /API } a || { src 10.0.0.0/8 }");
    assert_eq!(c.any_of.len(), 2);
    let t = &c.any_of[0][0];
    assert!(t.negate);
    let TermRef::Inline(crit) = &t.what else {
        panic!("{t:?}")
    };
    assert_eq!(crit.text, "path_beg -i /API");
    assert_eq!(strs(crit), ["/api"]);
    assert!(matches!(c.any_of[0][1].what, TermRef::Acl(0)));
    let TermRef::Inline(crit) = &c.any_of[1][0].what else {
        panic!()
    };
    assert_eq!(crit.fetch, Fetch::Src);
    let c = cond("! { method POST }");
    assert!(c.any_of[0][0].negate);
}

#[test]
fn unless_negates_the_whole() {
    let c = ok(&fe(
        "acl = { a = \"path /a\" }\nhttp_request = [{ deny = true, unless = \"a\" }]",
    ));
    let r = &c.frontends[0].http_request[0];
    assert_eq!(r.action, HttpAction::Deny { status: 403 });
    assert!(r.cond.as_ref().is_some_and(|c| c.unless));
}

#[test]
fn condition_mistakes() {
    let rule = |cond: &str| {
        fe(&format!(
            "acl = {{ static = \"path_beg /s/\" }}\nhttp_request = [{{ deny = 403, if = \"{cond}\" }}]"
        ))
    };
    // Line 7: `http_request = [{ deny = 403, if = "` is 36 characters.
    one(
        &rule("statc"),
        "7:37",
        "unknown ACL \"statc\"; did you mean `static`?",
    );
    one(
        &rule("static !path_beg"),
        "7:45",
        "unknown ACL \"path_beg\"; to test `path_beg` here, write an inline criterion between braces",
    );
    one(&rule(""), "7:37", "empty condition");
    one(
        &rule("static ||"),
        "7:44",
        "`||` must come between two terms",
    );
    one(
        &rule("|| static"),
        "7:37",
        "`||` must come between two terms",
    );
    one(&rule("static !"), "7:44", "`!` must be followed by");
    one(&rule("{ path_beg /x"), "7:37", "missing `}` after `{`");
    one(&rule("{ }"), "7:37", "empty `{ }`");
    one(&rule("static }"), "7:44", "`}` without `{`");
    one(&rule("{ pth /x }"), "7:39", "unknown criterion `pth`");
    one(
        &fe("http_request = [{ deny = 403, if = \"a\", unless = \"b\" }]"),
        "6:41",
        "`if` and `unless` on the same rule: keep one",
    );
}

#[test]
fn a_broken_acl_is_reported_once() {
    let text = fe("acl = { a = \"path_bg /x\" }\nhttp_request = [{ deny = 403, if = \"a\" }]");
    one(&text, "6:14", "unknown criterion `path_bg`");
}

#[test]
fn use_backend_rules_in_order() {
    let c = ok(&fe("acl = { static = \"path_beg /static/\" }\n\
         use_backend = [{ backend = \"assets\", if = \"static\" }, \
         { backend = \"app\", unless = \"{ method GET HEAD }\" }]"));
    let f = &c.frontends[0];
    assert_eq!(f.use_backend.len(), 2);
    assert_eq!(f.use_backend[0].backend, 1);
    assert_eq!(f.use_backend[1].backend, 0);
    assert!(f.use_backend[1].cond.as_ref().is_some_and(|c| c.unless));
    // A frontend with use_backend may go without default_backend.
    let text = fe("use_backend = [{ backend = \"assets\", if = \"{ path / }\" }]")
        .replace("default_backend = \"app\"\n", "");
    assert_eq!(ok(&text).frontends[0].default_backend, None);
}

#[test]
fn use_backend_mistakes() {
    one(
        &fe("use_backend = [{ backend = \"asets\", if = \"{ path / }\" }]"),
        "6:28",
        "unknown backend \"asets\" in `use_backend`; did you mean `assets`?",
    );
    one(
        &fe("use_backend = [{ backend = \"assets\" }]"),
        "6:16",
        "a use_backend entry needs `if` or `unless`; for the backend that gets everything else, use default_backend",
    );
    one(
        &fe("use_backend = [{ backend = \"assets\", iff = \"a\" }]"),
        "6:38",
        "unknown key `iff` in a `use_backend` entry of [frontend.web]; did you mean `if`?",
    );
    one(
        &fe("use_backend = [{ if = \"{ path / }\" }]"),
        "6:16",
        "use_backend entry without `backend`",
    );
    let text = fe("").replace("default_backend = \"app\"\n", "");
    one(
        &text,
        "3:11",
        "has no `default_backend` and no `use_backend`",
    );
}

#[test]
fn deny_and_return() {
    let c = ok(&fe(
        "http_request = [{ deny = 429 }, { deny = true }, { return = {} }, \
         { return = { status = 503, content_type = \"text/plain\", body = \"down\\n\" } }]",
    ));
    let r: Vec<&HttpAction> = c.frontends[0]
        .http_request
        .iter()
        .map(|r| &r.action)
        .collect();
    assert_eq!(r[0], &HttpAction::Deny { status: 429 });
    assert_eq!(r[1], &HttpAction::Deny { status: 403 });
    let empty = HttpAction::Return {
        status: 200,
        content_type: None,
        body: String::new(),
    };
    assert_eq!(r[2], &empty);
    let down = HttpAction::Return {
        status: 503,
        content_type: Some("text/plain".into()),
        body: "down\n".into(),
    };
    assert_eq!(r[3], &down);
    assert!(c.frontends[0].http_request[0].cond.is_none());
    let rule = |r: &str| fe(&format!("http_request = [{r}]"));
    one(
        &rule("{ deny = 99 }"),
        "6:26",
        "`deny` status must be between 200 and 599, got 99",
    );
    one(
        &rule("{ deny = false }"),
        "6:26",
        "`deny = false` does nothing",
    );
    one(
        &rule("{ deny = \"no\" }"),
        "6:26",
        "must be a status code such as 403, or true, found a string (\"no\")",
    );
    one(
        &rule("{ return = { status = 204, body = \"x\" } }"),
        "6:51",
        "a 204 response has no body",
    );
    one(
        &rule("{ return = { status = 200, bdy = \"x\" } }"),
        "6:44",
        "unknown key `bdy` in `return` of a `http_request` entry of [frontend.web]; did you mean `body`?",
    );
}

#[test]
fn redirects() {
    let c = ok(&fe(
        "http_request = [{ redirect = { scheme = \"HTTPS\", code = 301 } }, \
         { redirect = { location = \"https://example.com/\" } }, \
         { redirect = { prefix = \"https://example.com\", code = 308 } }]",
    ));
    let r: Vec<&HttpAction> = c.frontends[0]
        .http_request
        .iter()
        .map(|r| &r.action)
        .collect();
    let redirect = |target, code| HttpAction::Redirect { target, code };
    assert_eq!(r[0], &redirect(RedirectTarget::Scheme("https".into()), 301));
    let loc = RedirectTarget::Location("https://example.com/".into());
    assert_eq!(r[1], &redirect(loc, 302));
    let prefix = RedirectTarget::Prefix("https://example.com".into());
    assert_eq!(r[2], &redirect(prefix, 308));
    let rule = |r: &str| fe(&format!("http_request = [{r}]"));
    one(
        &rule("{ redirect = { scheme = \"https\", code = 300 } }"),
        "6:57",
        "redirect `code` must be 301, 302, 303, 307 or 308, got 300",
    );
    one(
        &rule("{ redirect = { location = \"/a\", prefix = \"/b\" } }"),
        "6:49",
        "not both `location` and `prefix`",
    );
    one(
        &rule("{ redirect = { code = 301 } }"),
        "6:30",
        "redirect needs one of `location`, `prefix` or `scheme`",
    );
    one(
        &rule("{ redirect = { scheme = \"ht tp\" } }"),
        "6:41",
        "invalid scheme \"ht tp\"",
    );
}

#[test]
fn header_and_path_rules() {
    let c = ok(&fe(
        "http_request = [{ set_header = [\"X-Proto\", \"https\"], if = \"{ dst_port 443 }\" }, \
         { add_header = [\"Via\", \"weir\"] }, { del_header = \"X-Debug\" }, { set_path = \"/v2/a\" }]\n\
         http_response = [{ del_header = \"Server\" }, { set_header = [\"X-Frame-Options\", \"DENY\"] }]",
    ));
    let f = &c.frontends[0];
    let r: Vec<&HttpAction> = f.http_request.iter().map(|r| &r.action).collect();
    let set = HttpAction::SetHeader {
        name: "X-Proto".into(),
        value: "https".into(),
    };
    assert_eq!(r[0], &set);
    assert!(f.http_request[0].cond.is_some());
    let add = HttpAction::AddHeader {
        name: "Via".into(),
        value: "weir".into(),
    };
    assert_eq!(r[1], &add);
    let del = HttpAction::DelHeader {
        name: "X-Debug".into(),
    };
    assert_eq!(r[2], &del);
    let path = HttpAction::SetPath {
        path: "/v2/a".into(),
    };
    assert_eq!(r[3], &path);
    assert_eq!(f.http_response.len(), 2);
}

#[test]
fn header_and_path_mistakes() {
    let rule = |r: &str| fe(&format!("http_request = [{r}]"));
    one(
        &rule("{ set_header = [\"X Bad\", \"v\"] }"),
        "6:33",
        "invalid header name \"X Bad\"",
    );
    one(
        &rule("{ add_header = [\"X-A\"] }"),
        "6:32",
        "`add_header` takes a header name and a value",
    );
    one(
        &rule("{ set_header = [\"X-A\", \"a\\r\\nb\"] }"),
        "6:40",
        "control characters",
    );
    one(
        &rule("{ set_header = [\"X-Real-IP\", \"%[src]\"] }"),
        "6:47",
        "\"%[\" is not supported yet",
    );
    one(
        &rule("{ del_header = \"Content-Length\" }"),
        "6:32",
        "weir manages message framing itself",
    );
    one(
        &rule("{ set_path = \"v2\" }"),
        "6:30",
        "invalid set_path \"v2\": it must start with `/`",
    );
    one(
        &rule("{ set_path = \"/a?b=1\" }"),
        "6:30",
        "the query string is kept",
    );
}

#[test]
fn rule_shape_mistakes() {
    let rule = |r: &str| fe(&format!("http_request = [{r}]"));
    one(
        &rule("{ deny = 403, redirect = { scheme = \"https\" } }"),
        "6:31",
        "one action per rule: `deny` and `redirect` are both set; write two rules",
    );
    one(
        &rule("{ if = \"{ path / }\" }"),
        "6:17",
        "rule without an action",
    );
    one(&rule("{ dney = 403 }"), "6:19", "did you mean `deny`?");
    one(
        &fe("http_response = [{ deny = 403 }]"),
        "6:20",
        "`deny` is not allowed in a `http_response` entry of [frontend.web]: response rules take only set_header, add_header, del_header and inc_gpc0",
    );
}

#[test]
fn forwardfor_applies_in_http_mode() {
    let c = ok(&fe("forwardfor = true"));
    assert!(c.frontends[0].forwardfor);
    assert!(!c.backends[0].forwardfor);
    // From [defaults]: HTTP proxies apply it, TCP ones do not.
    let text = String::from(
        "[defaults]\nforwardfor = true\n[frontend.web]\nmode = \"http\"\nbind = \":80\"\n\
         default_backend = \"app\"\n[backend.app]\nmode = \"http\"\n\
         server = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n[listen.db]\nbind = \":81\"\n\
         server = [{ name = \"a\", address = \"127.0.0.1:2\" }]\n",
    );
    let c = ok(&text);
    assert!(c.frontends[0].forwardfor && c.backends[0].forwardfor);
    assert!(!c.frontends[1].forwardfor && !c.backends[1].forwardfor);
}

#[test]
fn http_reuse_values() {
    let be = |defaults: &str, own: &str| {
        format!(
            "[defaults]\nmode = \"http\"\n{defaults}\n[frontend.web]\nbind = \":80\"\n\
             default_backend = \"app\"\n[backend.app]\n{own}\n\
             server = [{{ name = \"a\", address = \"127.0.0.1:1\" }}]\n"
        )
    };
    assert_eq!(
        ok(&be("", "http_reuse = \"never\"")).backends[0].http_reuse,
        HttpReuse::Never
    );
    let c = ok(&be("http_reuse = \"never\"", ""));
    assert_eq!(c.backends[0].http_reuse, HttpReuse::Never);
    one(
        &be("", "http_reuse = \"saf\""),
        "8:14",
        "unknown http_reuse \"saf\": expected \"safe\" or \"never\"; did you mean `safe`?",
    );
    one(
        &be("", "http_reuse = \"always\""),
        "8:1",
        "\"http_reuse\" is not supported yet: only \"safe\" and \"never\"",
    );
}

#[test]
fn listen_in_http_mode_has_both_halves() {
    let c = ok(
        "[listen.www]\nmode = \"http\"\nbind = \":80\"\nacl = { api = \"path_beg /api/\" }\n\
         http_request = [{ return = { body = \"hi\" }, if = \"api\" }]\nforwardfor = true\n\
         http_reuse = \"never\"\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n",
    );
    let (f, b) = (&c.frontends[0], &c.backends[0]);
    assert_eq!((f.mode, b.mode), (Mode::Http, Mode::Http));
    assert_eq!(f.default_backend, Some(0));
    assert_eq!(f.acls[0].name, "api");
    assert_eq!(f.http_request.len(), 1);
    assert!(f.forwardfor && b.forwardfor);
    assert_eq!(b.http_reuse, HttpReuse::Never);
}

#[test]
fn stats_page_and_socket() {
    let listen = |stats: &str, mode: &str| {
        format!(
            "[global]\nstats_socket = \"/run/weir/admin.sock\"\n[listen.www]\nmode = \"{mode}\"\n\
             bind = \":80\"\n{stats}\nserver = [{{ name = \"a\", address = \"127.0.0.1:1\" }}]\n"
        )
    };
    let c = ok(&listen(
        "stats = { uri = \"/stats\", refresh = \"5s\", prometheus = \"/metrics\" }",
        "http",
    ));
    let page = c.frontends[0]
        .stats
        .as_ref()
        .map(|s| (s.uri.as_str(), s.refresh, s.prometheus.as_deref()));
    assert_eq!(
        page,
        Some(("/stats", Some(Duration::from_secs(5)), Some("/metrics")))
    );
    assert_eq!(
        c.global.stats_socket.as_deref(),
        Some(std::path::Path::new("/run/weir/admin.sock"))
    );
    one(
        &listen("stats = { uri = \"/stats\" }", "tcp"),
        "6:1",
        "`stats` needs mode = \"http\"",
    );
    one(
        &listen("stats = { uri = \"stats\" }", "http"),
        "6:17",
        "must be a path starting with '/'",
    );
    one(
        &listen("stats = { refresh = \"5s\" }", "http"),
        "6:1",
        "`stats` has no `uri`",
    );
    one(
        &listen("stats = { uri = \"/s\", prometheus = \"/s\" }", "http"),
        "6:23",
        "must differ from `stats.uri`",
    );
}
