//! The rule engine against hand-made requests, the rules loaded from TOML
//! with `weir_core::config::load_str`.

use std::net::IpAddr;

use weir_core::config::load_str;
use weir_core::config::model::{Frontend, HttpAction, RedirectTarget};

use super::*;

/// A request, as the session would present it.
struct Req {
    method: &'static str,
    url: &'static str,
    headers: Vec<(&'static str, &'static [u8])>,
    src: IpAddr,
    port: u16,
}

fn req(method: &'static str, url: &'static str) -> Req {
    Req {
        method,
        url,
        headers: Vec::new(),
        src: "192.0.2.1".parse().unwrap(),
        port: 80,
    }
}

impl Req {
    fn hdr(mut self, name: &'static str, value: &'static str) -> Req {
        self.headers.push((name, value.as_bytes()));
        self
    }
    fn from(mut self, ip: &str) -> Req {
        self.src = ip.parse().unwrap();
        self
    }
    fn port(mut self, p: u16) -> Req {
        self.port = p;
        self
    }
}

impl Sample for Req {
    fn method(&self) -> &[u8] {
        self.method.as_bytes()
    }
    fn url(&self) -> &[u8] {
        self.url.as_bytes()
    }
    fn path(&self) -> &[u8] {
        let u = path_and_query(self.url.as_bytes());
        u.iter().position(|&b| b == b'?').map_or(u, |i| &u[..i])
    }
    fn any_header_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let fields = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        for (_, v) in fields {
            for part in v.split(|&b| b == b',') {
                if f(part.trim_ascii()) {
                    return true;
                }
            }
        }
        false
    }
    fn src(&self) -> IpAddr {
        self.src
    }
    fn dst_port(&self) -> u16 {
        self.port
    }
}

/// An HTTP frontend with `extra` keys, and backends app (0), a (1), b (2).
fn frontend(extra: &str) -> Frontend {
    let srv = |p: u16| format!("server = [{{ name = \"s\", address = \"127.0.0.1:{p}\" }}]\n");
    let text = format!(
        "[defaults]\nmode = \"http\"\n[frontend.web]\nbind = \":8080\"\n{extra}\n\
         [backend.app]\n{}[backend.a]\n{}[backend.b]\n{}",
        srv(1),
        srv(2),
        srv(3)
    );
    match load_str("t.toml", &text) {
        Ok(mut c) => c.frontends.remove(0),
        Err(e) => panic!("{e:#?}\n{text}"),
    }
}

/// Whether the ACL `text` matches `r`.
fn m(text: &str, r: &Req) -> bool {
    let fe = frontend(&format!(
        "default_backend = \"app\"\nacl = {{ x = '{text}' }}"
    ));
    criterion_matches(&fe.acls[0].criterion, r)
}

/// Whether the condition `cond` (over ACLs a: path /a, b: method POST) holds.
fn holds(cond: &str, r: &Req) -> bool {
    let fe = frontend(&format!(
        "default_backend = \"app\"\nacl = {{ a = \"path /a\", b = \"method POST\" }}\n\
         use_backend = [{{ backend = \"a\", if = '{cond}' }}]"
    ));
    let c = fe.use_backend[0].cond.as_ref().unwrap();
    condition_holds(c, &fe.acls, r)
}

#[test]
fn path_criteria() {
    let r = req("GET", "/static/img/Logo.PNG?v=1");
    assert!(m("path /static/img/Logo.PNG", &r));
    assert!(
        !m("path /static/img/Logo.PNG?v=1", &r),
        "no query string in path"
    );
    assert!(!m("path /static/img/logo.png", &r));
    assert!(m("path -i /STATIC/img/logo.png", &r));
    assert!(m("path_beg /img/ /static/", &r));
    assert!(!m("path_beg /Static/", &r));
    assert!(m("path_beg -i /Static/", &r));
    assert!(m("path_end .PNG", &r));
    assert!(!m("path_end .png", &r));
    assert!(m("path_end -i .png .jpg", &r));
    assert!(!m("path_end -i .png?v=1", &r));
    assert!(m("path_sub img/", &r));
    assert!(!m("path_sub IMG/", &r));
    assert!(m("path_sub -i IMG/", &r));
    assert!(m("path_reg ^/static/.*\\.PNG$", &r));
    assert!(!m("path_reg \\.png$", &r));
    assert!(m("path_reg -i \\.png$", &r));
}

#[test]
fn url_and_method_criteria() {
    let r = req("GET", "/search?q=weir");
    assert!(m("url /search?q=weir", &r));
    assert!(!m("url /search", &r));
    assert!(m("url_beg /search?q=", &r));
    assert!(m("url_end q=weir", &r));
    assert!(m("url_sub ?q", &r));
    assert!(m("url_reg q=w.*r$", &r));
    assert!(m("method GET HEAD", &r));
    assert!(!m("method get", &r));
    assert!(m("method -i get", &r));
    assert!(!m("method POST", &r));
}

#[test]
fn header_criteria() {
    let r = req("GET", "/")
        .hdr("Host", "API.example.com")
        .hdr("Accept", "text/html, application/json;q=0.9")
        .hdr("X-Tag", "one")
        .hdr("x-tag", "two");
    assert!(m("hdr(host) API.example.com", &r));
    assert!(!m("hdr(host) api.example.com", &r));
    assert!(m("hdr(host) -i api.example.com", &r));
    assert!(m("hdr_beg(host) API.", &r));
    assert!(m("hdr_beg(host) -i api.", &r));
    assert!(m("hdr_end(host) .com", &r));
    assert!(m("hdr_sub(host) example", &r));
    assert!(m("hdr_reg(host) ^API\\.", &r));
    assert!(m("hdr_reg(host) -i ^api\\.", &r));
    // Comma-separated values are split and trimmed.
    assert!(m("hdr(accept) application/json;q=0.9", &r));
    assert!(m("hdr_beg(accept) application/", &r));
    // Every field of that name, any pattern against any value.
    assert!(m("hdr(x-tag) zero two", &r));
    assert!(!m("hdr(x-tag) three", &r));
    // A missing header matches nothing.
    assert!(!m("hdr(x-none) foo", &r));
    assert!(!m("hdr_sub(x-none) \"\"", &r));
    assert!(
        m("hdr_sub(host) \"\"", &r),
        "an empty pattern is in every value"
    );
}

#[test]
fn src_and_dst_port_criteria() {
    let r = req("GET", "/").from("10.1.2.3").port(8443);
    assert!(m("src 10.0.0.0/8", &r));
    assert!(m("src 192.168.0.0/16 10.1.2.3", &r));
    assert!(!m("src 10.1.2.4", &r));
    assert!(m("src 0.0.0.0/0", &r));
    assert!(!m("src ::/0", &r), "an IPv4 client is not in an IPv6 block");
    // A dual-stack listener reports IPv4 clients as mapped addresses.
    let mapped = req("GET", "/").from("::ffff:10.1.2.3");
    assert!(m("src 10.0.0.0/8", &mapped));
    assert!(m("src ::ffff:10.0.0.0/104", &mapped));
    let v6 = req("GET", "/").from("2001:db8::7");
    assert!(m("src 2001:db8::/32", &v6));
    assert!(!m("src 2001:db9::/32 10.0.0.0/8", &v6));
    assert!(m("dst_port 8443", &r));
    assert!(m("dst_port 80 8000-8999", &r));
    assert!(!m("dst_port 80 443", &r));
    assert!(m("dst_port 8443-8443", &r));
}

#[test]
fn non_utf8_samples() {
    let r = Req {
        headers: vec![("x-raw", b"caf\xe9")],
        ..req("GET", "/")
    };
    assert!(m("hdr_beg(x-raw) caf", &r));
    assert!(m("hdr_reg(x-raw) ^caf", &r));
}

#[test]
fn and_or_not_unless() {
    let get_a = req("GET", "/a");
    let post_a = req("POST", "/a");
    let post_b = req("POST", "/b");
    assert!(holds("a", &get_a));
    assert!(!holds("a b", &get_a));
    assert!(holds("a b", &post_a));
    assert!(holds("a !b", &get_a));
    assert!(holds("a ! b", &get_a));
    assert!(!holds("a !b", &post_a));
    assert!(holds("a || b", &post_b));
    assert!(holds("a or b", &get_a));
    assert!(!holds("!a !b || a b", &post_b));
    assert!(holds("!a b || a !b", &post_b));
    // unless: the whole condition inverted.
    let fe = frontend(
        "default_backend = \"app\"\nacl = { a = \"path /a\" }\n\
         http_request = [{ deny = 403, unless = \"a || { method GET }\" }]",
    );
    let rule = &fe.http_request[0];
    assert!(!rule_applies(rule, &fe.acls, &get_a));
    assert!(!rule_applies(rule, &fe.acls, &post_a));
    assert!(rule_applies(rule, &fe.acls, &post_b));
}

#[test]
fn inline_terms() {
    let r = req("GET", "/api/v1").hdr("Host", "example.com");
    assert!(holds("{ path_beg /api/ }", &r));
    assert!(holds("!{ path_beg /admin/ } { hdr(host) example.com }", &r));
    assert!(!holds("{ path_beg /api/ } !{ hdr(host) example.com }", &r));
    // A missing header matches nothing, so its negation holds.
    assert!(holds("!{ hdr(x-debug) 1 }", &r));
    assert!(holds("{ method POST } || { src 192.0.2.0/24 }", &r));
}

#[test]
fn select_backend_takes_the_first_match() {
    let fe = frontend(
        "default_backend = \"app\"\nacl = { api = \"path_beg /api/\", v2 = \"path_beg /api/v2/\" }\n\
         use_backend = [{ backend = \"a\", if = \"api\" }, { backend = \"b\", if = \"v2\" }]",
    );
    assert_eq!(select_backend(&fe, &req("GET", "/api/v2/x")), Some(1));
    assert_eq!(select_backend(&fe, &req("GET", "/api/v1/x")), Some(1));
    assert_eq!(select_backend(&fe, &req("GET", "/")), Some(0));
    let fe = frontend(
        "acl = { v2 = \"path_beg /api/v2/\" }\n\
         use_backend = [{ backend = \"b\", if = \"v2\" }, { backend = \"a\", unless = \"v2\" }]",
    );
    assert_eq!(select_backend(&fe, &req("GET", "/api/v2/x")), Some(2));
    assert_eq!(select_backend(&fe, &req("GET", "/x")), Some(1));
    // No default_backend and no match: no backend (503).
    let fe = frontend("use_backend = [{ backend = \"b\", if = \"{ path /b }\" }]");
    assert_eq!(select_backend(&fe, &req("GET", "/x")), None);
    assert_eq!(select_backend(&fe, &req("GET", "/b")), Some(2));
}

#[test]
fn rules_in_order_until_a_terminal_one() {
    let fe = frontend(
        "default_backend = \"app\"\nhttp_request = [\
         { set_header = [\"X-A\", \"1\"] }, \
         { deny = 403, if = \"{ path_beg /admin }\" }, \
         { redirect = { scheme = \"https\" }, if = \"{ dst_port 80 }\" }, \
         { add_header = [\"X-B\", \"2\"] }]",
    );
    let run = |r: &Req| -> Vec<&HttpAction> {
        let mut out = Vec::new();
        for rule in &fe.http_request {
            if rule_applies(rule, &fe.acls, r) {
                out.push(&rule.action);
                if is_terminal(&rule.action) {
                    break;
                }
            }
        }
        out
    };
    let names = |v: Vec<&HttpAction>| -> Vec<&'static str> {
        v.iter()
            .map(|a| match a {
                HttpAction::SetHeader { .. } => "set",
                HttpAction::Deny { .. } => "deny",
                HttpAction::Redirect { .. } => "redirect",
                HttpAction::AddHeader { .. } => "add",
                _ => "other",
            })
            .collect()
    };
    assert_eq!(names(run(&req("GET", "/admin/x"))), ["set", "deny"]);
    assert_eq!(names(run(&req("GET", "/x"))), ["set", "redirect"]);
    assert_eq!(names(run(&req("GET", "/x").port(443))), ["set", "add"]);
}

#[test]
fn redirect_locations() {
    let r = req("GET", "/a/b?x=1").hdr("Host", "example.com:8080");
    let loc = |t: RedirectTarget, r: &Req| {
        let mut out = b"HTTP".to_vec();
        redirect_location(&t, r, &mut out);
        String::from_utf8(out.split_off(4)).unwrap()
    };
    assert_eq!(
        loc(RedirectTarget::Location("/elsewhere".into()), &r),
        "/elsewhere"
    );
    let prefix = RedirectTarget::Prefix("https://new.example.com".into());
    assert_eq!(loc(prefix, &r), "https://new.example.com/a/b?x=1");
    assert_eq!(loc(RedirectTarget::Prefix("/".into()), &r), "/a/b?x=1");
    let https = RedirectTarget::Scheme("https".into());
    assert_eq!(loc(https.clone(), &r), "https://example.com:8080/a/b?x=1");
    assert_eq!(loc(https.clone(), &req("GET", "/p")), "/p");
    let absolute = req("GET", "http://h.example/p?q").hdr("host", "h.example");
    assert_eq!(loc(https, &absolute), "https://h.example/p?q");
}

#[test]
fn origin_form_of_targets() {
    assert_eq!(path_and_query(b"/a?b"), b"/a?b");
    assert_eq!(path_and_query(b"http://h/a?b"), b"/a?b");
    assert_eq!(path_and_query(b"http://h"), b"/");
    assert_eq!(path_and_query(b"http://h?q"), b"?q");
    assert_eq!(path_and_query(b"*"), b"*");
}
