//! The backend `check` table and server `check = true`: defaults, each
//! key, and the mistakes that are errors.

use std::time::Duration;

use super::load_str;
use super::model::{Backend, CheckKind, HealthCheck};

fn cfg(defaults: &str, backend: &str) -> String {
    format!(
        "[defaults]\n{defaults}\n[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n\
         [backend.app]\n{backend}\n"
    )
}

fn backend(defaults: &str, backend: &str) -> Backend {
    match load_str("t.toml", &cfg(defaults, backend)) {
        Ok(c) => c.backends[0].clone(),
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

fn check(defaults: &str, table: &str) -> HealthCheck {
    let b = backend(
        defaults,
        &format!(
            "check = {table}\nserver = [{{ name = \"a\", address = \"127.0.0.1:1\", check = true }}]"
        ),
    );
    assert!(b.servers[0].check);
    b.check.expect("a check")
}

/// The one error, as `LINE:COL: MESSAGE`.
fn error(backend: &str) -> String {
    match load_str("t.toml", &cfg("", backend)) {
        Ok(_) => panic!("expected an error for:\n{backend}"),
        Err(e) => {
            assert_eq!(e.len(), 1, "{e:#?}");
            format!("{}:{}: {}", e[0].line, e[0].col, e[0].message)
        }
    }
}

const SERVER: &str = "server = [{ name = \"a\", address = \"127.0.0.1:1\", check = true }]";

#[test]
fn defaults_are_haproxys() {
    let c = check("", "{}");
    assert_eq!(c.kind, CheckKind::Tcp);
    assert_eq!(c.interval, Duration::from_secs(2));
    assert_eq!(c.timeout, Duration::from_secs(2), "timeout = interval");
    assert_eq!((c.rise, c.fall), (2, 3));
    assert_eq!((c.tls, c.port), (true, None));
    let c = check("", "{ type = \"http\" }");
    assert_eq!(
        c.kind,
        CheckKind::Http {
            method: "GET".into(),
            path: "/".into(),
            host: None,
            expect: (200, 399),
        }
    );
}

#[test]
fn every_key_applies() {
    let c = check(
        "",
        "{ type = \"http\", method = \"HEAD\", path = \"/health?full=1\", host = \"app.example\", \
         expect_status = 204, interval = \"250ms\", timeout = 100, rise = 1, fall = 5 }",
    );
    assert_eq!(
        c.kind,
        CheckKind::Http {
            method: "HEAD".into(),
            path: "/health?full=1".into(),
            host: Some("app.example".into()),
            expect: (204, 204),
        }
    );
    assert_eq!(c.interval, Duration::from_millis(250));
    assert_eq!(c.timeout, Duration::from_millis(100));
    assert_eq!((c.rise, c.fall), (1, 5));
}

#[test]
fn expect_status_forms() {
    let expect =
        |v: &str| match check("", &format!("{{ type = \"http\", expect_status = {v} }}")).kind {
            CheckKind::Http { expect, .. } => expect,
            CheckKind::Tcp => unreachable!(),
        };
    assert_eq!(expect("200"), (200, 200));
    assert_eq!(expect("\"200\""), (200, 200));
    assert_eq!(expect("\"2xx\""), (200, 299));
    assert_eq!(expect("\"3XX\""), (300, 399));
    assert_eq!(expect("\"200-399\""), (200, 399));
    for bad in [
        "99",
        "600",
        "\"6xx\"",
        "\"300-200\"",
        "\"2x\"",
        "\"ok\"",
        "\"20-30\"",
    ] {
        let e = error(&format!(
            "check = {{ type = \"http\", expect_status = {bad} }}\n{SERVER}"
        ));
        assert!(e.contains("invalid `check.expect_status`"), "{bad}: {e}");
    }
}

#[test]
fn timeout_falls_back_to_timeout_check_then_interval() {
    let c = check("timeout = { check = \"300ms\" }", "{ interval = \"1s\" }");
    assert_eq!(c.timeout, Duration::from_millis(300));
    let b = backend(
        "timeout = { check = \"300ms\" }",
        &format!("timeout = {{ check = \"400ms\" }}\ncheck = {{ interval = \"1s\" }}\n{SERVER}"),
    );
    assert_eq!(b.check.map(|c| c.timeout), Some(Duration::from_millis(400)));
    let c = check("timeout = { check = \"300ms\" }", "{ timeout = \"50ms\" }");
    assert_eq!(c.timeout, Duration::from_millis(50));
    let c = check("", "{ interval = \"700ms\" }");
    assert_eq!(c.timeout, Duration::from_millis(700));
}

#[test]
fn a_check_port_and_no_tls() {
    let c = check("", "{ port = 8081, tls = false }");
    assert_eq!((c.tls, c.port), (false, Some(8081)));
    for bad in ["0", "65536", "-1"] {
        let e = error(&format!("check = {{ port = {bad} }}\n{SERVER}"));
        assert!(
            e.contains("`check.port` must be between 1 and 65535"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn a_table_without_checked_servers_is_fine() {
    let b = backend(
        "",
        "check = { type = \"tcp\" }\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]",
    );
    assert!(b.check.is_some() && !b.servers[0].check);
}

#[test]
fn mistakes() {
    let e = error(SERVER);
    assert!(
        e.starts_with("7:50: ") && e.contains("needs a `check` table in backend \"app\""),
        "{e}"
    );
    let e = error(&format!("check = {{ type = \"htp\" }}\n{SERVER}"));
    assert!(
        e.starts_with("7:18: ") && e.contains("did you mean `http`?"),
        "{e}"
    );
    let e = error(&format!("check = {{ path = \"/h\" }}\n{SERVER}"));
    assert!(
        e.starts_with("7:11: ") && e.contains("only applies to HTTP checks"),
        "{e}"
    );
    for (table, part) in [
        (
            "{ interval = \"0s\" }",
            "`check.interval` must be above zero",
        ),
        ("{ timeout = 0 }", "`check.timeout` must be above zero"),
        ("{ interval = \"2 s\" }", "invalid duration"),
        ("{ rise = 0 }", "`check.rise` must be between 1 and 1000"),
        ("{ fall = 1001 }", "`check.fall` must be between 1 and 1000"),
        (
            "{ type = \"http\", method = \"GET /x\" }",
            "invalid `check.method`",
        ),
        (
            "{ type = \"http\", path = \"health\" }",
            "invalid `check.path`",
        ),
        (
            "{ type = \"http\", path = \"/a b\" }",
            "invalid `check.path`",
        ),
        (
            "{ type = \"http\", host = \"a\\r\\nX: y\" }",
            "invalid `check.host`",
        ),
    ] {
        let e = error(&format!("check = {table}\n{SERVER}"));
        assert!(e.contains(part), "{table}: {e}");
    }
}

#[test]
fn timeout_check_in_a_frontend_is_an_error() {
    let text = "[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n\
                timeout = { check = \"1s\" }\n[backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n";
    let e = load_str("t.toml", text).expect_err("an error");
    assert!(
        e[0].message
            .contains("`timeout.check` does not apply to a frontend"),
        "{e:#?}"
    );
}
