//! `balance`, server `maxconn` and `timeout.queue`: what is accepted, the
//! model it gives, and the errors.

use std::time::Duration;

use super::model::{Balance, Mode};
use super::{load_str, Config};

fn ok(text: &str) -> Config {
    match load_str("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

/// Exactly one error, at `pos` ("LINE:COL"), containing `part`.
fn one(text: &str, pos: &str, part: &str) {
    let e: Vec<String> = match load_str("t.toml", text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
    };
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with(&format!("{pos}: ")), "{e:#?}");
    assert!(e[0].contains(part), "{e:#?}");
}

/// Line 1 `[defaults]` with `defaults`, a frontend, then backend `b` with
/// `backend` on line 7.
fn conf(defaults: &str, backend: &str) -> String {
    format!(
        "[defaults]\n{defaults}\n[frontend.f]\nbind = \":8080\"\ndefault_backend = \"b\"\n\
         [backend.b]\n{backend}\nserver = [{{ name = \"s\", address = \"127.0.0.1:1\" }}]\n"
    )
}

#[test]
fn every_algorithm_is_accepted() {
    let cases = [
        ("roundrobin", Balance::RoundRobin),
        ("static-rr", Balance::StaticRr),
        ("leastconn", Balance::LeastConn),
        ("first", Balance::First),
        ("source", Balance::Source),
        ("uri", Balance::Uri),
        ("hdr(X-Tenant)", Balance::Hdr("x-tenant".into())),
        ("random", Balance::Random),
    ];
    for (name, want) in cases {
        let c = ok(&conf("mode = \"http\"", &format!("balance = \"{name}\"")));
        assert_eq!(c.backends[0].balance, want, "{name}");
        let c = ok(&conf(&format!("mode = \"http\"\nbalance = \"{name}\""), ""));
        assert_eq!(c.backends[0].balance, want, "{name} from [defaults]");
    }
}

#[test]
fn backend_overrides_defaults_and_listen_accepts() {
    let c = ok(&conf("balance = \"source\"", "balance = \"first\""));
    assert_eq!(c.backends[0].balance, Balance::First);
    let c = ok("[listen.l]\nbind = \":8080\"\nbalance = \"leastconn\"\n\
                server = [{ name = \"s\", address = \"127.0.0.1:1\" }]\n");
    assert_eq!(c.backends[0].balance, Balance::LeastConn);
}

#[test]
fn uri_and_hdr_are_accepted_in_tcp_mode() {
    for name in ["uri", "hdr(host)"] {
        let c = ok(&conf("mode = \"tcp\"", &format!("balance = \"{name}\"")));
        assert_eq!(c.backends[0].mode, Mode::Tcp);
    }
}

#[test]
fn bad_names() {
    one(
        &conf("", "balance = \"leastconns\""),
        "7:11",
        "did you mean `leastconn`?",
    );
    one(
        &conf("", "balance = \"static_rr\""),
        "7:11",
        "did you mean `static-rr`?",
    );
    one(
        &conf("balance = \"hdr\"", ""),
        "2:11",
        "did you mean `hdr(NAME)`",
    );
    one(
        &conf("", "balance = \"hdr()\""),
        "7:11",
        "needs a header name",
    );
    one(
        &conf("", "balance = \"hdr(x y)\""),
        "7:11",
        "invalid header name \"x y\"",
    );
    one(
        &conf("", "balance = \"hdr(host\""),
        "7:11",
        "unknown balance algorithm \"hdr(host\"",
    );
}

#[test]
fn server_maxconn_and_queue_timeout() {
    let text = "[defaults]\ntimeout = { connect = \"2s\", queue = \"7s\" }\n\
                [frontend.f]\nbind = \":8080\"\ndefault_backend = \"b\"\n\
                [backend.b]\nserver = [{ name = \"s\", address = \"127.0.0.1:1\", maxconn = 30 }, \
                { name = \"t\", address = \"127.0.0.1:2\" }]\n\
                [backend.c]\ntimeout.queue = \"250ms\"\n\
                server = [{ name = \"s\", address = \"127.0.0.1:1\" }]\n";
    let c = ok(text);
    let b = &c.backends[0];
    assert_eq!(
        (b.servers[0].maxconn, b.servers[1].maxconn),
        (Some(30), None)
    );
    assert_eq!(b.timeouts.queue, Some(Duration::from_secs(7)));
    assert_eq!(
        c.backends[1].timeouts.queue,
        Some(Duration::from_millis(250))
    );
    let c = ok(&conf("", ""));
    assert_eq!(c.backends[0].timeouts.queue, None);
}

#[test]
fn queue_timeout_is_a_backend_timeout() {
    one(
        &conf("", "").replace(
            "default_backend = \"b\"\n",
            "default_backend = \"b\"\ntimeout.queue = \"1s\"\n",
        ),
        "6:9",
        "`timeout.queue` does not apply to a frontend",
    );
    one(&conf("", "timeout.queue = \"soon\""), "7:17", "");
}

#[test]
fn hash_type_for_the_hashing_algorithms() {
    use super::model::HashType;
    let c = ok(&conf("mode = \"http\"", "balance = \"uri\""));
    assert_eq!(
        c.backends[0].hash_type,
        HashType::MapBased,
        "HAProxy's default"
    );
    let c = ok(&conf(
        "mode = \"http\"",
        "balance = \"uri\"\nhash_type = \"consistent\"",
    ));
    assert_eq!(c.backends[0].hash_type, HashType::Consistent);
    let c = ok(&conf(
        "hash_type = \"consistent\"\nbalance = \"source\"",
        "",
    ));
    assert_eq!(
        c.backends[0].hash_type,
        HashType::Consistent,
        "from [defaults]"
    );
    // [defaults] may set it for every backend, round-robin ones included.
    ok(&conf("hash_type = \"consistent\"", ""));
    one(
        &conf("", "balance = \"source\"\nhash_type = \"consistant\""),
        "8:13",
        "unknown hash_type \"consistant\": expected \"map-based\" or \"consistent\"; did you mean `consistent`?",
    );
    one(
        &conf("", "hash_type = \"consistent\""),
        "7:1",
        "`hash_type` applies to the hashing algorithms",
    );
}

#[test]
fn server_slots_default_and_bounds() {
    let c = ok(&conf("", ""));
    assert_eq!(
        c.backends[0].server_slots,
        1 + 16,
        "default: as many again, 16 at least"
    );
    let c = ok(&conf("", "server_slots = 40"));
    assert_eq!(c.backends[0].server_slots, 40);
    let c = ok(&conf("", "server_slots = 1"));
    assert_eq!(
        c.backends[0].server_slots, 1,
        "exactly the configured servers"
    );
    one(
        &conf("", "server_slots = 0"),
        "7:16",
        "`server_slots` must be between 1 and 65536",
    );
    let two = "[frontend.f]\nbind = \":8080\"\ndefault_backend = \"b\"\n[backend.b]\n\
               server_slots = 1\nserver = [{ name = \"s\", address = \"127.0.0.1:1\" }, \
               { name = \"t\", address = \"127.0.0.1:2\" }]\n";
    one(
        two,
        "5:1",
        "`server_slots` = 1 is less than the 2 servers backend \"b\"",
    );
}

#[test]
fn server_names_fit_their_slot() {
    let long = "s".repeat(128);
    let text = format!(
        "[frontend.f]\nbind = \":8080\"\ndefault_backend = \"b\"\n[backend.b]\n\
         server = [{{ name = \"{long}\", address = \"127.0.0.1:1\" }}]\n"
    );
    one(&text, "5:20", "at most 127 characters");
}
