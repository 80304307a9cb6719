//! End-to-end tests of [`super::load_str`] and [`super::load`]: each
//! mistake gives one error at the right line and column.

use std::time::Duration;

use super::model::{BindAddr, CpuMap, LogLevel, LogTarget};
use super::{load, load_str, Config};

const BACKEND: &str = "[backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n";

fn ok(text: &str) -> Config {
    match load_str("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

/// The errors, as `LINE:COL: MESSAGE` strings.
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

fn fe(extra: &str) -> String {
    format!("[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n{extra}\n{BACKEND}")
}

#[test]
fn minimal_config_gets_the_defaults() {
    let c = ok(&fe(""));
    assert_eq!(c.global.nbproc, 1);
    assert_eq!(c.global.cpu_map, CpuMap::Auto);
    assert_eq!(c.global.maxconn, 4096);
    assert_eq!(c.global.log, vec![LogTarget::Stderr]);
    assert_eq!(c.global.log_facility, 16);
    assert_eq!(c.global.log_level, LogLevel::Info);
    assert_eq!(c.global.bufsize, 16384);
    let f = &c.frontends[0];
    assert_eq!(
        f.binds[0].addr,
        BindAddr::Inet("0.0.0.0:8080".parse().unwrap())
    );
    assert_eq!(f.default_backend, Some(0));
    assert_eq!(f.maxconn, 4096);
    assert_eq!(f.timeouts.client, Some(Duration::from_secs(30)));
    let b = &c.backends[0];
    assert_eq!(b.timeouts.connect, Some(Duration::from_secs(5)));
    assert_eq!(b.timeouts.server, Some(Duration::from_secs(30)));
    assert_eq!(b.retries, 3);
    assert_eq!(b.servers[0].weight, 1);
}

#[test]
fn global_values() {
    let c = ok(&format!(
        "[global]\nnbproc = 2\ncpu_map = [0, 1]\nmaxconn = 100\nlog = [\"stdout\", \"unix:/dev/log\"]\n\
         log_facility = \"daemon\"\nlog_level = \"debug\"\nbufsize = \"32k\"\ngrace = \"2s\"\n\
         hard_stop_after = 60000\n{}",
        fe("")
    ));
    let g = &c.global;
    assert_eq!((g.nbproc, g.maxconn, g.log_facility), (2, 100, 3));
    assert_eq!(g.cpu_map, CpuMap::List(vec![0, 1]));
    assert_eq!(g.log.len(), 2);
    assert_eq!(g.log_level, LogLevel::Debug);
    assert_eq!(g.bufsize, 32768);
    assert_eq!(g.grace, Duration::from_secs(2));
    assert_eq!(g.hard_stop_after, Some(Duration::from_secs(60)));
    assert_eq!(c.frontends[0].maxconn, 100);
}

#[test]
fn defaults_are_inherited_and_the_proxy_wins() {
    let c = ok(&format!(
        "[defaults]\ntimeout = {{ connect = \"1s\", client = \"10s\", server = \"20s\" }}\n\
         retries = 5\nmaxconn = 50\n{}",
        fe("timeout.client = \"7s\"")
    ));
    let (f, b) = (&c.frontends[0], &c.backends[0]);
    assert_eq!(f.timeouts.client, Some(Duration::from_secs(7)));
    assert_eq!(f.maxconn, 50);
    assert_eq!(b.timeouts.connect, Some(Duration::from_secs(1)));
    assert_eq!(b.timeouts.server, Some(Duration::from_secs(20)));
    assert_eq!(b.retries, 5);
}

#[test]
fn listen_is_a_frontend_and_a_backend() {
    let c = ok(&format!(
        "{BACKEND}[listen.db]\nbind = [\"127.0.0.1:5432\", {{ address = \"fd@3\", backlog = 10 }}]\n\
         server = [{{ name = \"p\", address = \"127.0.0.1:5433\", weight = 256 }}]\n"
    ));
    assert_eq!(c.frontends.len(), 1);
    assert_eq!(c.backends.len(), 2);
    assert_eq!(c.frontends[0].default_backend, Some(1));
    assert_eq!(c.frontends[0].binds[1].addr, BindAddr::Fd(3));
    assert_eq!(c.frontends[0].binds[1].backlog, Some(10));
    assert_eq!(c.backends[1].servers[0].weight, 256);
}

#[test]
fn defaults_forwardfor_is_accepted() {
    ok(&format!(
        "[defaults]\nforwardfor = true\n{}",
        fe("forwardfor = false")
    ));
}

#[test]
fn syntax_error() {
    one("[global]\nnbproc = \n", "2:10", "");
}

#[test]
fn unknown_keys_are_all_reported_with_hints() {
    let e = errs(&fe("bnid = 3\ntimeout = { conect = \"1s\" }\nzzzz = 1"));
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e[0].starts_with("4:1: unknown key `bnid` in [frontend.web]; did you mean `bind`?"));
    assert!(e[1].starts_with("5:13: unknown key `conect`") && e[1].contains("`connect`"));
    assert!(e[2].starts_with("6:1: unknown key `zzzz`"), "{e:#?}");
}

#[test]
fn key_in_the_wrong_section() {
    one(
        &fe("server = []"),
        "4:1",
        "belongs in [backend.NAME] or [listen.NAME]",
    );
    one(
        &format!("nbproc = 2\n{}", fe("")),
        "1:1",
        "belongs in [global]",
    );
    one(
        &format!("[globl]\n{}", fe("")),
        "1:2",
        "did you mean `global`?",
    );
}

#[test]
fn misspelt_required_key_gives_one_error() {
    let text = format!("[frontend.web]\nbnid = \":80\"\ndefault_backend = \"app\"\n{BACKEND}");
    one(&text, "2:1", "did you mean `bind`?");
}

#[test]
fn unknown_backend_with_hint() {
    let text = format!("[frontend.web]\nbind = \":80\"\ndefault_backend = \"ap\"\n{BACKEND}");
    one(
        &text,
        "3:19",
        "unknown backend \"ap\" in `default_backend`; did you mean `app`?",
    );
}

#[test]
fn duplicate_names() {
    let text = format!("{}[listen.app]\nbind = \":81\"\nserver = [{{ name = \"b\", address = \"127.0.0.1:1\" }}]\n", fe(""));
    one(
        &text,
        "7:9",
        "duplicate backend name \"app\": [backend.app] is already defined at t.toml:5:10",
    );
    let text = format!("{BACKEND}server = [{{ name = \"a\", address = \"127.0.0.1:1\" }}, {{ name = \"a\", address = \"127.0.0.1:2\" }}]\n");
    let e = errs(&text.replace(
        "server = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n",
        "",
    ));
    assert!(
        e.iter().any(|m| m.contains("duplicate server name \"a\"")),
        "{e:#?}"
    );
}

#[test]
fn bad_values() {
    one(
        &fe("timeout.client = \"5 sec\""),
        "4:18",
        "invalid duration \"5 sec\": expected a number followed by us, ms, s, m, h or d",
    );
    one(
        &format!("[global]\nbufsize = \"16 kb\"\n{}", fe("")),
        "2:11",
        "invalid size \"16 kb\"",
    );
    one(
        &format!("[global]\nbufsize = 100\n{}", fe("")),
        "2:11",
        "at least 1024",
    );
    one(
        &format!("[global]\nnbproc = 0\n{}", fe("")),
        "2:10",
        "`nbproc` must be between 1 and 4096, got 0",
    );
    one(
        &format!("[global]\nnbproc = 3\ncpu_map = [0, 1]\n{}", fe("")),
        "3:11",
        "cpu_map lists 2 CPU(s) but nbproc is 3",
    );
    one(
        &format!("[global]\nlog_facility = \"local9\"\n{}", fe("")),
        "2:16",
        "unknown log_facility",
    );
    one(
        &fe("maxconn = \"many\""),
        "4:11",
        "`maxconn` must be an integer, found a string (\"many\")",
    );
    one(
        &fe("").replace("\":8080\"", "\"localhost:80\""),
        "2:8",
        "invalid bind address \"localhost:80\"",
    );
    for (w, pos) in [("0", "5:59"), ("300", "5:59")] {
        let text = fe(&format!(
            "[backend.b2]\nserver = [{{ name = \"x\", address = \"127.0.0.1:1\", weight = {w} }}]"
        ));
        one(
            &text,
            pos,
            &format!("`weight` must be between 1 and 256, got {w}"),
        );
    }
    one(
        &fe("[backend.b2]\nserver = [{ name = \"x\", address = \"10.0.0.1\" }]"),
        "5:35",
        "invalid server address \"10.0.0.1\"",
    );
}

#[test]
fn missing_parts() {
    one(
        &format!("[frontend.web]\ndefault_backend = \"app\"\n{BACKEND}"),
        "1:11",
        "has no `bind`",
    );
    one(
        &format!("[frontend.web]\nbind = \":80\"\n{BACKEND}"),
        "1:11",
        "has no `default_backend`",
    );
    one(
        &fe("[backend.empty]"),
        "4:10",
        "backend \"empty\" has no `server`",
    );
    one(BACKEND, "1:1", "nothing to listen on");
}

#[test]
fn refused_keys_point_at_the_key() {
    one(
        &fe("acl = { a = \"path /x\" }"),
        "4:1",
        "`acl` needs mode = \"http\"",
    );
    one(
        &fe("use_backend = [{ backend = \"app\", if = \"a\" }]"),
        "4:1",
        "this frontend is in TCP mode",
    );
    one(
        &fe("forwardfor = true"),
        "4:1",
        "`forwardfor` only applies in HTTP mode",
    );
    one(
        &fe("timeout.queue = \"1s\""),
        "4:9",
        "`timeout.queue` does not apply to a frontend",
    );
    one(
        &fe("timeout.http_request = \"1s\""),
        "4:9",
        "only applies in HTTP mode",
    );
    one(
        &fe("timeout.server = \"1s\""),
        "4:9",
        "does not apply to a frontend",
    );
    one(
        &fe("log_format = \"httplog\""),
        "4:1",
        "log_format \"httplog\" needs mode = \"http\"",
    );
    one(
        &fe("log_format = \"%ci:%cp\""),
        "4:1",
        "\"log_format\" is not supported yet: custom formats",
    );
    ok(&fe("bind = { address = \":81\", accept_proxy = true }").replace("bind = \":8080\"\n", ""));
    let be = |extra: &str| {
        fe(&format!(
            "[backend.b2]\n{extra}\nserver = [{{ name = \"x\", address = \"127.0.0.1:1\" }}]"
        ))
    };
    one(
        &be("balance = \"hdr()\""),
        "5:11",
        "balance \"hdr()\" needs a header name",
    );
    one(
        &be("balance = \"roundrobn\""),
        "5:11",
        "did you mean `roundrobin`?",
    );
    ok(&be("check = { type = \"tcp\" }"));
    one(
        &be("http_reuse = \"safe\""),
        "5:1",
        "`http_reuse` only applies in HTTP mode",
    );
    let srv = |extra: &str| {
        fe(&format!(
            "[backend.b2]\nserver = [{{ name = \"x\", address = \"127.0.0.1:1\", {extra} }}]"
        ))
    };
    one(
        &srv("check = true"),
        "5:50",
        "server check = true needs a `check` table in backend \"b2\"",
    );
    one(
        &srv("maxconn = 0"),
        "5:60",
        "`maxconn` must be at least 1, got 0",
    );
    one(
        &srv("send_proxy = true, send_proxy_v2 = true"),
        "5:69",
        "`send_proxy` and `send_proxy_v2` together: choose one version",
    );
    ok(&srv("send_proxy = true"));
    ok(&srv("send_proxy_v2 = true"));
    ok(&srv("check = false, send_proxy = false, backup = true"));
}

#[test]
fn three_mistakes_three_errors_in_order() {
    let text = format!(
        "[global]\nnbproc = 0\n{}",
        fe("maxconn = 0\ntimeout.client = \"1 s\"")
    );
    let e = errs(&text);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(
        e[0].starts_with("2:10:") && e[1].starts_with("6:11:") && e[2].starts_with("7:18:"),
        "{e:#?}"
    );
}

#[test]
fn several_files_merge_and_duplicates_across_files_are_errors() {
    let dir = std::env::temp_dir().join(format!("weir-config-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("10-fe.toml"),
        "[frontend.web]\nbind = \":80\"\ndefault_backend = \"app\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("20-be.toml"), BACKEND).unwrap();
    std::fs::write(dir.join("notes.txt"), "not toml").unwrap();
    let c = load(std::slice::from_ref(&dir)).unwrap();
    assert_eq!((c.frontends.len(), c.backends.len()), (1, 1));
    let extra = dir.join("extra.conf");
    std::fs::write(&extra, BACKEND).unwrap();
    let e = load(&[dir.clone(), extra.clone()]).unwrap_err();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].file, extra.display().to_string());
    assert!(
        e[0].message.contains("duplicate backend name \"app\""),
        "{e:#?}"
    );
    let missing = dir.join("missing.toml");
    let e = load(std::slice::from_ref(&missing)).unwrap_err();
    assert!(e[0]
        .to_string()
        .starts_with(&format!("{}:1:1: error: cannot read", missing.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shards_one_or_by_worker_inherited_from_defaults() {
    use super::model::Shards;
    assert_eq!(ok(&fe("")).frontends[0].shards, Shards::One);
    assert_eq!(
        ok(&fe("shards = \"by-worker\"")).frontends[0].shards,
        Shards::ByWorker
    );
    let c = ok(&format!("[defaults]\nshards = \"by-worker\"\n{}", fe("")));
    assert_eq!(c.frontends[0].shards, Shards::ByWorker);
    let c = ok(&format!(
        "[defaults]\nshards = \"by-worker\"\n{}",
        fe("shards = 1")
    ));
    assert_eq!(c.frontends[0].shards, Shards::One);
    one(&fe("shards = 4"), "4:10", "shards = 4: expected 1");
    one(
        &fe("shards = \"by-thread\""),
        "4:10",
        "unknown shards \"by-thread\"",
    );
    let fd = "[frontend.web]\nbind = \"fd@3\"\ndefault_backend = \"app\"\nshards = \"by-worker\"\n";
    one(&format!("{fd}{BACKEND}"), "4:1", "an fd@N bind");
    one(
        &format!("[backend.app]\nshards = 1\nserver = [{{ name = \"a\", address = \"127.0.0.1:8000\" }}]\n{}", fe("").replace(BACKEND, "")),
        "2:1",
        "shards",
    );
}

#[test]
fn a_stats_only_listen_needs_no_server() {
    let stats = "[listen.stats]\nmode = \"http\"\nbind = \":8404\"\nstats = { uri = \"/stats\" }\n";
    let c = ok(stats);
    assert!(c.frontends[0].stats.is_some());
    assert_eq!(c.frontends[0].default_backend, Some(0));
    assert!(c.backends[0].servers.is_empty());
    // Without `stats` a listen section still needs a server.
    one(
        "[listen.db]\nbind = \":5432\"\n",
        "1:9",
        "listen \"db\" has no `server`",
    );
    one(
        "[listen.db]\nbind = \":5432\"\nserver = []\n",
        "3:1",
        "`server` of listen \"db\" is empty",
    );
}
