//! Logging in the configuration: `log_format` (custom strings compiled,
//! each error at its column), per-proxy `log`, header captures and
//! `errorfile`, each mistake at the right line and column.

use std::sync::atomic::{AtomicU64, Ordering};

use super::load_str;
use super::model::{Config, LogFormat, LogLevel, LogTarget};

const BACKEND: &str = "[backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n";

fn ok(text: &str) -> Config {
    match load_str("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors: {e:#?}\n{text}"),
    }
}

fn diags(text: &str) -> Vec<String> {
    match load_str("t.toml", text) {
        Ok(c) => c
            .warnings
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
        Err(e) => e
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
    }
}

/// Exactly one error (or warning), at `pos` ("LINE:COL"), containing `part`.
fn one(text: &str, pos: &str, part: &str) {
    let e = diags(text);
    assert_eq!(e.len(), 1, "{e:#?}\n{text}");
    assert!(e[0].starts_with(&format!("{pos}: ")), "{e:#?}");
    assert!(e[0].contains(part), "{e:#?}");
}

/// An HTTP frontend `web` with `extra` on line 5, backend `app` after.
fn fe(extra: &str) -> String {
    format!(
        "[defaults]\nmode = \"http\"\n[frontend.web]\nbind = \":8080\"\n{extra}\ndefault_backend = \"app\"\n{BACKEND}"
    )
}

#[test]
fn custom_formats_compile() {
    let c = ok(&fe("log_format = '%ci [%tr] %{+Q}r %hr'"));
    match &c.frontends[0].log_format {
        LogFormat::Custom(f) => assert_eq!(f.text(), "%ci [%tr] %{+Q}r %hr"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_alias_is_reported_at_its_column() {
    // Columns count characters of the file: quotes, escapes and all.
    one(
        &fe("log_format = \"%ci %bogus\""),
        "5:19",
        "in log_format: unknown alias %bogus",
    );
    one(
        &fe("log_format = '%ci \"%r\" %bogus'"),
        "5:24",
        "unknown alias %bogus",
    );
    one(
        &fe("log_format = \"%ci \\\"%r\\\" %bogus\""),
        "5:26",
        "unknown alias %bogus",
    );
    one(
        &fe("log_format = \"\\u00e9 %{+W}r\""),
        "5:25",
        "unknown flag \"W\"",
    );
    one(
        &fe("log_format = \"\"\"\n%ci \\\n  %bogus\"\"\""),
        "7:3",
        "unknown alias %bogus",
    );
    let e = diags(&fe("log_format = '%foo %ci %[bar]'"));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with("5:15: in log_format: unknown alias %foo"),
        "{e:#?}"
    );
    assert!(
        e[1].starts_with("5:24: in log_format: sample expression %[bar]"),
        "{e:#?}"
    );
}

#[test]
fn formats_and_modes() {
    let tcp = |extra: &str| {
        format!("[frontend.t]\nbind = \":81\"\ndefault_backend = \"app\"\n{extra}\n{BACKEND}")
    };
    one(
        &tcp("log_format = \"httpslog\""),
        "4:1",
        "log_format \"httpslog\" needs mode = \"http\"",
    );
    assert_eq!(
        ok(&tcp("log_format = \"json\"")).frontends[0].log_format,
        LogFormat::Json
    );
    // HTTP aliases in a TCP proxy: a warning at each, the config valid.
    let e = diags(&tcp("log_format = \"%ci %r %HU\""));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with("4:19: in log_format: %r needs HTTP"),
        "{e:#?}"
    );
    assert!(
        e[1].starts_with("4:22: in log_format: %HU needs HTTP"),
        "{e:#?}"
    );
}

#[test]
fn proxy_log_targets() {
    let c = ok(
        "[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n\
         log = [\"global\", \"udp://127.0.0.1:5514\"]\nlog_facility = \"local3\"\nlog_level = \"notice\"\n\
         [backend.app]\nlog = \"unix:/dev/log\"\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n\
         [listen.l]\nbind = \":81\"\nlog = \"stdout\"\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n"
    );
    let l = c.frontends[0].log.as_ref().unwrap();
    assert!(l.global);
    assert_eq!(
        l.targets,
        [LogTarget::Udp("127.0.0.1:5514".parse().unwrap())]
    );
    assert_eq!((l.facility, l.level), (19, LogLevel::Notice));
    let b = c.backends[0].log.as_ref().unwrap();
    assert!(!b.global);
    assert_eq!(b.targets, [LogTarget::Unix("/dev/log".into())]);
    assert_eq!((b.facility, b.level), (16, LogLevel::Info));
    assert_eq!(c.frontends[1].log, c.backends[1].log);
    assert_eq!(
        c.frontends[1].log.as_ref().unwrap().targets,
        [LogTarget::Stdout]
    );
    assert!(c.backends.iter().chain([]).count() == 2);

    one(
        &fe("log = [\"udp://127.0.0.1:99999\"]"),
        "5:8",
        "invalid log target \"udp://127.0.0.1:99999\"",
    );
    let e = diags(&fe("log = [\"stderr\", \"golbal\"]"));
    assert!(
        e[0].starts_with("5:18: ") && e[0].contains("or \"global\""),
        "{e:#?}"
    );
    one(
        &fe("log_level = \"debug\""),
        "5:1",
        "`log_level` applies to this proxy's own `log` targets",
    );
    one(&fe("log = []"), "5:1", "`log` is empty");
}

#[test]
fn captures() {
    let c = ok(&fe(
        "capture_request_header = [{ name = \"Host\", len = 32 }, { name = \"User-Agent\" }]\n\
         capture_response_header = [{ name = \"Server\", len = 8 }]",
    ));
    let f = &c.frontends[0];
    let got: Vec<(&str, usize)> = f
        .capture_request
        .iter()
        .map(|c| (c.name.as_str(), c.len))
        .collect();
    assert_eq!(got, [("Host", 32), ("User-Agent", 64)]);
    assert_eq!(f.capture_response[0].len, 8);
    one(
        &fe("capture_request_header = [{ name = \"Host\" }, { name = \"host\" }]"),
        "5:55",
        "header \"host\" is captured twice",
    );
    one(
        &fe("capture_request_header = [{ name = \"a b\" }]"),
        "5:36",
        "invalid header name",
    );
    one(
        &fe("capture_request_header = [{ name = \"a\", len = 0 }]"),
        "5:47",
        "`len` must be between 1 and 65535",
    );
    one(
        &fe("capture_request_header = [{ nam = \"a\" }]"),
        "5:29",
        "did you mean `name`?",
    );
    let tcp = "[frontend.t]\nbind = \":81\"\ndefault_backend = \"app\"\n\
               capture_request_header = [{ name = \"Host\" }]\n";
    one(
        &format!("{tcp}{BACKEND}"),
        "4:1",
        "`capture_request_header` only applies in HTTP mode",
    );
}

/// A file in a fresh directory, removed at the end of the test process.
fn file(name: &str, bytes: &[u8]) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "weir-errorfile-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

const PAGE_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy\n";

#[test]
fn errorfiles_are_loaded_and_inherited() {
    let p503 = file("503.http", PAGE_503);
    let p403 = file("403.http", b"HTTP/1.0 403 Go away\r\n\r\nno\n");
    let p503b = file(
        "503b.http",
        b"HTTP/1.1 503 Other\r\nContent-Length: 0\r\n\r\n",
    );
    let c = ok(&format!(
        "[defaults]\nmode = \"http\"\nerrorfile = {{ 503 = \"{p503}\", 403 = \"{p403}\" }}\n\
         [frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\nerrorfile = {{ 503 = \"{p503b}\" }}\n{BACKEND}"
    ));
    let fe = &c.frontends[0].errorfiles;
    assert_eq!(
        fe.get(503),
        Some(&b"HTTP/1.1 503 Other\r\nContent-Length: 0\r\n\r\n"[..])
    );
    assert_eq!(fe.get(403), Some(&b"HTTP/1.0 403 Go away\r\n\r\nno\n"[..]));
    assert_eq!(fe.get(502), None);
    assert_eq!(c.backends[0].errorfiles.get(503), Some(PAGE_503));
}

#[test]
fn bad_errorfiles_are_reported_at_their_status() {
    let at = |entry: &str| fe(&format!("errorfile = {{ {entry} }}"));
    one(
        &at("503 = \"/nonexistent/503.http\""),
        "5:15",
        "errorfile 503 \"/nonexistent/503.http\": cannot read it",
    );
    let html = file("x.html", b"<html>busy</html>\n");
    one(
        &at(&format!("503 = \"{html}\"")),
        "5:15",
        "not an HTTP response",
    );
    let page = file("503.http", PAGE_503);
    one(
        &at(&format!("502 = \"{page}\"")),
        "5:15",
        "the response's status is 503, not 502",
    );
    let mut big = b"HTTP/1.1 503 Busy\r\n\r\n".to_vec();
    big.resize(20_000, b'x');
    let big = file("big.http", &big);
    one(
        &at(&format!("503 = \"{big}\"")),
        "5:15",
        "too large: 20000 bytes",
    );
    let e = diags(&at(&format!("999 = \"{page}\"")));
    assert!(
        e[0].starts_with("5:15: errorfile for \"999\": expected one of the statuses"),
        "{e:#?}"
    );
    let short = file(
        "s.http",
        b"HTTP/1.1 503 Busy\r\nContent-Length: 10\r\n\r\nbusy",
    );
    one(
        &at(&format!("503 = \"{short}\"")),
        "5:15",
        "Content-Length says 10 bytes but the body has 4",
    );
    one(&at("503 = 5"), "5:21", "");
}
