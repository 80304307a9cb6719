//! `[resolvers.NAME]`, servers with `resolvers` and `server_template`.

use std::time::Duration;

use super::{load_str, Config};

fn ok(text: &str) -> Config {
    match load_str("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

/// Exactly one error, at `pos` ("LINE:COL"), containing `part`.
fn one(text: &str, pos: &str, part: &str) {
    let e = match load_str("t.toml", text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect::<Vec<_>>(),
    };
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with(&format!("{pos}: ")), "{e:#?}");
    assert!(e[0].contains(part), "{e:#?}");
}

const FE: &str = "[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n";
const RES: &str = "[resolvers.dc]\nnameservers = [\"127.0.0.1:8600\", \"10.0.0.1\"]\n";

#[test]
fn resolvers_section_with_spec_keys() {
    let text = format!(
        "{FE}{RES}timeout = {{ resolve = \"2s\", retry = \"500ms\" }}\nretries = 2\n\
         hold = {{ valid = \"1s\", nx = \"3s\", timeout = \"4s\", other = \"5s\" }}\n\
         accepted_payload_size = 8192\n\
         [backend.app]\nserver = [{{ name = \"api\", address = \"api.internal:8080\", \
         resolvers = \"dc\", init_addr = \"last,none\" }}]\n"
    );
    let c = ok(&text);
    let r = &c.resolvers[0];
    assert_eq!(r.name, "dc");
    assert_eq!(r.nameservers.len(), 2);
    assert_eq!(r.nameservers[1], "10.0.0.1:53".parse().unwrap());
    assert_eq!(r.resolve, Duration::from_secs(2));
    assert_eq!(r.retry, Duration::from_millis(500));
    assert_eq!(r.retries, 2);
    assert_eq!(r.hold_valid, Duration::from_secs(1));
    assert_eq!(r.hold_nx, Duration::from_secs(3));
    assert_eq!(r.hold_timeout, Duration::from_secs(4));
    assert_eq!(r.hold_other, Duration::from_secs(5));
    assert_eq!(r.accepted_payload_size, 8192);
    let s = &c.backends[0].servers[0];
    let dns = s.dns.as_ref().unwrap();
    assert_eq!(dns.host, "api.internal");
    assert!(dns.start_none);
    assert!(dns.last, "a reload keeps the resolved address");
    assert!(s.disabled, "no address yet: in maintenance");
    assert_eq!(s.addr.port(), 8080);
}

#[test]
fn defaults_are_haproxys() {
    let text = format!(
        "{FE}{RES}[backend.app]\nserver = [{{ name = \"a\", address = \"localhost:80\", \
         resolvers = \"dc\" }}]\n"
    );
    let c = ok(&text);
    let r = &c.resolvers[0];
    assert_eq!(r.retries, 3);
    assert_eq!(r.hold_valid, Duration::from_secs(10));
    assert_eq!(r.accepted_payload_size, 512);
    let s = &c.backends[0].servers[0];
    assert!(
        !s.dns.as_ref().unwrap().start_none,
        "libc resolved localhost"
    );
    assert!(s.addr.ip().is_loopback());
    assert!(!s.disabled);
}

#[test]
fn template_fills_slots_in_maintenance() {
    let text = format!(
        "{FE}{RES}[backend.app]\nserver_slots = 8\n\
         server = [{{ name = \"static\", address = \"127.0.0.1:1\" }}]\n\
         server_template = {{ prefix = \"web\", count = 3, name = \"_http._tcp.web.service.consul\", \
         resolvers = \"dc\", port = 8080 }}\n"
    );
    let c = ok(&text);
    let b = &c.backends[0];
    let names: Vec<&str> = b.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["static", "web1", "web2", "web3"]);
    assert!(b.servers[1..].iter().all(|s| s.disabled));
    let t = &b.templates[0];
    assert_eq!((t.first, t.count, t.port), (1, 3, Some(8080)));
    assert!(t.last, "init_addr \"last,none\" by default");
    assert_eq!(b.discovered(0), None);
    assert_eq!(b.discovered(2), Some(true));
    assert_eq!(t.name, "_http._tcp.web.service.consul");
}

#[test]
fn template_alone_is_a_backend() {
    let text = format!(
        "{FE}{RES}[backend.app]\n\
         server_template = {{ prefix = \"web\", count = 2, name = \"web.local\", resolvers = \"dc\", port = 80 }}\n"
    );
    assert_eq!(ok(&text).backends[0].servers.len(), 2);
}

#[test]
fn template_of_address_records_needs_a_port() {
    let text = format!(
        "{FE}{RES}[backend.app]\n\
         server_template = {{ prefix = \"web\", count = 2, name = \"web.local\", resolvers = \"dc\" }}\n"
    );
    one(&text, "7:55", "add port = N");
}

#[test]
fn unknown_resolvers() {
    let text = format!(
        "{FE}{RES}[backend.app]\nserver = [{{ name = \"a\", address = \"x.local:80\", \
         resolvers = \"dx\", init_addr = \"none\" }}]\n"
    );
    one(&text, "7:61", "unknown resolvers \"dx\"");
}

#[test]
fn host_name_that_libc_cannot_resolve_needs_none() {
    let text = format!(
        "{FE}{RES}[backend.app]\nserver = [{{ name = \"a\", address = \"nowhere.invalid:80\", \
         resolvers = \"dc\", init_addr = \"last,libc\" }}]\n"
    );
    one(&text, "7:35", "add \"none\" to init_addr");
}

#[test]
fn init_addr_without_resolvers() {
    let text = format!(
        "{FE}[backend.app]\nserver = [{{ name = \"a\", address = \"127.0.0.1:80\", \
         init_addr = \"none\" }}]\n"
    );
    one(
        &text,
        "5:63",
        "`init_addr` applies to a server with `resolvers`",
    );
}

#[test]
fn template_count_over_server_slots() {
    let text = format!(
        "{FE}{RES}[backend.app]\nserver_slots = 4\n\
         server_template = {{ prefix = \"web\", count = 10, name = \"_web._tcp.local\", resolvers = \"dc\" }}\n"
    );
    one(
        &text,
        "7:1",
        "`server_slots` = 4 is less than the 10 servers",
    );
}

#[test]
fn resolvers_without_nameservers() {
    let text = format!("{FE}[resolvers.dc]\nretries = 2\n[backend.app]\nserver = []\n");
    let e = load_str("t.toml", &text).unwrap_err();
    assert!(
        e.iter()
            .any(|d| d.line == 4 && d.message.contains("has no nameserver")),
        "{e:#?}"
    );
}

#[test]
fn bad_nameserver_and_unknown_hold_key() {
    let text = format!(
        "{FE}[resolvers.dc]\nnameservers = [\"dns.local\"]\nhold = {{ valid = \"1s\", nxx = \"1s\" }}\n\
         [backend.app]\nserver = [{{ name = \"a\", address = \"127.0.0.1:80\" }}]\n"
    );
    let e = load_str("t.toml", &text).unwrap_err();
    let e: Vec<String> = e
        .iter()
        .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
        .collect();
    assert!(
        e.iter().any(|m| m.starts_with("5:16: invalid nameserver")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("6:24: unknown key `nxx`") && m.contains("`nx`")),
        "{e:#?}"
    );
}
