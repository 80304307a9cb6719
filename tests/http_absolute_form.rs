//! HTTP mode, absolute-form request targets (`GET http://host/p`): the
//! target's authority takes the place of the client's `Host` (RFC 9112
//! §3.2.2, as HAProxy 2.6 normalises it). The server receives that Host,
//! and rules and ACLs on `hdr(host)` see the very same value; a request
//! whose Host already matches is left as it is.

mod common;

use common::http::{http_config, Client};
use common::http_origin::HttpOrigin;
use common::{free_port, Weir};

fn config(port: u16, good: &HttpOrigin, other: &HttpOrigin) -> String {
    http_config(
        port,
        "",
        "use_backend = [{ backend = \"good\", if = \"{ hdr(host) -i origin.example }\" }]\n\
         default_backend = \"other\"\n\
         http_request = [{ set_header = [\"x-host-rule\", \"matched\"], if = \"{ hdr(host) -i origin.example }\" }]\n",
        &format!(
            "[backend.good]\nserver = [{{ name = \"g\", address = \"{}\" }}]\n\
             [backend.other]\nserver = [{{ name = \"o\", address = \"{}\" }}]\n",
            good.addr, other.addr
        ),
    )
}

#[test]
fn the_target_authority_replaces_the_host_for_rules_and_server() {
    let good = HttpOrigin::start("good");
    let other = HttpOrigin::start("other");
    let port = free_port();
    let _weir = Weir::start(&config(port, &good, &other));
    let mut c = Client::connect(port);
    c.send(b"GET http://origin.example/p?q=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    let r = c.read_response(false).expect("a response");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("X-Origin"),
        Some("good"),
        "use_backend saw the target's host, not the client's Host"
    );
    let seen = good.seen();
    let last = seen.last().expect("the request reached the origin");
    assert_eq!(last.header_values("host"), ["origin.example"], "{last:?}");
    assert_eq!(
        last.header("x-host-rule"),
        Some("matched"),
        "the rule saw it too"
    );
    assert_eq!(last.target, "http://origin.example/p?q=1");
    // A Host that already matches (whatever its case) is left alone.
    c.send(b"GET http://Origin.Example/q HTTP/1.1\r\nHost: origin.example\r\n\r\n");
    let r = c.read_response(false).expect("a response");
    assert_eq!(r.header("X-Origin"), Some("good"));
    let seen = good.seen();
    assert_eq!(
        seen.last().unwrap().header_values("host"),
        ["origin.example"]
    );
    // HTTP/1.0 without Host: the authority gives one.
    let mut c = Client::connect(port);
    c.send(b"GET http://origin.example/ten HTTP/1.0\r\n\r\n");
    let r = c.read_response(false).expect("a response");
    assert_eq!(r.header("X-Origin"), Some("good"));
    assert_eq!(
        good.seen().last().unwrap().header_values("host"),
        ["origin.example"]
    );
    assert!(other.seen().is_empty(), "nothing went by the client's Host");
}

#[test]
fn a_target_with_userinfo_is_refused() {
    let good = HttpOrigin::start("good");
    let other = HttpOrigin::start("other");
    let port = free_port();
    let _weir = Weir::start(&config(port, &good, &other));
    let mut c = Client::connect(port);
    c.send(b"GET http://user:pw@origin.example/p HTTP/1.1\r\nHost: origin.example\r\n\r\n");
    let r = c.read_response(false).expect("a response");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(good.seen().is_empty() && other.seen().is_empty());
}
