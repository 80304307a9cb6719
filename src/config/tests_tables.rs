//! Rate-limit tables in the configuration (SPEC §11): tables, trackers,
//! counter criteria, and each mistake at the right line and column.

use std::time::Duration;

use super::load_str;
use super::model::{
    Config, Counter, Fetch, HttpAction, IntOp, Patterns, Store, TableKey, TcpAction, TermRef,
};

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

const TABLE: &str = "table = { type = \"ip\", size = \"100k\", expire = \"30s\", \
                     store = [\"http_req_rate(10s)\", \"conn_cur\", \"gpc0\"] }";

/// An HTTP frontend `web` with a table; `extra` starts on line 6.
fn fe(table: &str, extra: &str) -> String {
    format!(
        "[frontend.web]\nmode = \"http\"\nbind = \":8080\"\ndefault_backend = \"app\"\n{table}\n\
         {extra}\n[backend.app]\nmode = \"http\"\n\
         server = [{{ name = \"a\", address = \"127.0.0.1:8000\" }}]\n"
    )
}

#[test]
fn a_table_and_its_trackers() {
    let c = ok(&fe(
        TABLE,
        "tcp_request = [{ track = \"src\" }, { reject = true, if = \"{ sc_conn_cur(0) gt 50 }\" }]\n\
         http_request = [{ track = \"hdr(X-Api-Key)\", slot = 1 }, \
         { deny = 429, if = \"{ sc_http_req_rate(0) gt 100 } || { sc1_http_req_rate ge 5 }\" }]\n\
         http_response = [{ inc_gpc0 = 0, if = \"{ status 401 }\" }]",
    ));
    assert_eq!(c.tables.len(), 1);
    let t = &c.tables[0];
    assert_eq!(
        (t.name.as_str(), t.key, t.size, t.expire),
        ("web", TableKey::Ip, 102_400, Some(Duration::from_secs(30)))
    );
    assert_eq!(
        t.store,
        [
            Store {
                counter: Counter::HttpReqRate,
                period_ms: 10_000
            },
            Store {
                counter: Counter::ConnCur,
                period_ms: 0
            },
            Store {
                counter: Counter::Gpc0,
                period_ms: 0
            },
        ]
    );
    assert_eq!(t.data_words(), 5);
    assert_eq!(t.word_of(Counter::ConnCur).map(|w| w.0), Some(3));
    let f = &c.frontends[0];
    assert_eq!(f.table, Some(0));
    assert!(
        matches!(&f.tcp_request[0].action, TcpAction::Track(t) if t.slot == 0 && t.key == Fetch::Src)
    );
    assert_eq!(f.tcp_request[1].action, TcpAction::Reject);
    let cond = f.tcp_request[1].cond.as_ref().expect("condition");
    let TermRef::Inline(crit) = &cond.any_of[0][0].what else {
        panic!("inline")
    };
    assert_eq!(
        crit.fetch,
        Fetch::Sc {
            slot: 0,
            counter: Counter::ConnCur
        }
    );
    assert!(matches!(&crit.patterns, Patterns::Int(p) if p == &[(IntOp::Gt, 50)]));
    assert!(matches!(
        &f.http_request[0].action,
        HttpAction::Track(t) if t.slot == 1 && t.key == Fetch::Hdr("x-api-key".into())
    ));
    assert_eq!(f.http_response[0].action, HttpAction::IncGpc0 { slot: 0 });
}

#[test]
fn another_sections_table_and_src_criteria() {
    let c = ok(&fe(
        "",
        "http_request = [{ track = \"src\", slot = 2, table = \"api\" }, \
         { deny = 429, if = \"{ src_http_req_rate(api) ge 3 } { sc2_get_gpc0 lt 1 }\" }]\n\
         [backend.api]\nserver = [{ name = \"b\", address = \"127.0.0.1:8001\" }]\nmode = \"http\"\n\
         table = { type = \"string\", size = 1000, store = [\"http_req_rate(1m)\", \"gpc0\", \"http_err_cnt\"] }",
    ));
    assert_eq!(c.tables[0].name, "api");
    assert_eq!(c.tables[0].expire, None);
    assert_eq!(c.backends[0].name, "api");
    assert_eq!(c.backends[0].table, Some(0));
    assert_eq!(c.frontends[0].table, None);
    let cond = c.frontends[0].http_request[1].cond.as_ref().expect("cond");
    let TermRef::Inline(a) = &cond.any_of[0][0].what else {
        panic!()
    };
    assert_eq!(
        a.fetch,
        Fetch::SrcTable {
            table: 0,
            counter: Counter::HttpReqRate
        }
    );
}

#[test]
fn tcp_request_works_in_tcp_mode() {
    let c = ok("[listen.db]\nbind = \":5432\"\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n\
         table = { type = \"ipv6\", size = 10, store = [\"conn_cur\", \"conn_rate(1s)\"] }\n\
         tcp_request = [{ track = \"src\" }, { reject = true, if = \"{ sc0_conn_rate gt 5 } !{ src 10.0.0.0/8 }\" }]\n");
    assert_eq!(c.frontends[0].tcp_request.len(), 2);
    assert_eq!(c.frontends[0].table, Some(0));
    assert_eq!(c.backends[0].table, Some(0));
}

#[test]
fn mistakes_at_their_place() {
    // Unknown table in a track and in a criterion.
    one(
        &fe(
            TABLE,
            "http_request = [{ track = \"src\", table = \"webb\" }]",
        ),
        "6:42",
        "unknown table \"webb\"; did you mean `web`?",
    );
    one(
        &fe(
            TABLE,
            "http_request = [{ deny = 429, if = \"{ src_conn_cur(nope) gt 1 }\" }]",
        ),
        "6:39",
        "unknown table \"nope\"",
    );
    // A counter the table does not store.
    one(
        &fe(
            TABLE,
            "http_request = [{ track = \"src\" }, { deny = 429, if = \"{ sc_http_err_rate(0) gt 1 }\" }]",
        ),
        "6:58",
        "table \"web\" does not store http_err_rate: add \"http_err_rate(10s)\" to its `store`",
    );
    // Slots out of range.
    one(
        &fe(TABLE, "http_request = [{ track = \"src\", slot = 3 }]"),
        "6:41",
        "slot 3 is out of range",
    );
    one(
        &fe(
            TABLE,
            "http_request = [{ track = \"src\" }, { deny = 429, if = \"{ sc_conn_cur(4) gt 1 }\" }]",
        ),
        "6:58",
        "slot 4 is out of range",
    );
    // A slot nothing tracks.
    one(
        &fe(
            TABLE,
            "http_request = [{ deny = 429, if = \"{ sc_conn_cur(1) gt 1 }\" }]",
        ),
        "6:39",
        "no rule of this proxy tracks on it",
    );
    // Store mistakes.
    one(
        &fe(
            "table = { type = \"ip\", size = 10, store = [\"http_req_rate\"] }",
            "",
        ),
        "5:44",
        "give its period",
    );
    one(
        &fe(
            "table = { type = \"ip\", size = 10, store = [\"conn_curr\"] }",
            "",
        ),
        "5:44",
        "did you mean `conn_cur`?",
    );
    one(
        &fe("table = { type = \"ipv4\", size = 10 }", ""),
        "5:18",
        "unknown table type",
    );
    // HTTP samples are not known at accept.
    one(
        &fe(TABLE, "tcp_request = [{ track = \"path\" }]"),
        "6:26",
        "not known at accept",
    );
    one(
        &fe(
            TABLE,
            "tcp_request = [{ reject = true, if = \"{ path /x }\" }]",
        ),
        "6:38",
        "run at accept",
    );
    // Tracking without a table.
    one(
        &fe("", "http_request = [{ track = \"src\" }]"),
        "6:27",
        "this proxy has no `table`",
    );
    // A key that can never be one of the table's.
    one(
        &fe(
            "table = { type = \"integer\", size = 10, store = [\"conn_cur\"] }",
            "tcp_request = [{ track = \"src\" }]",
        ),
        "6:26",
        "`src` is an address, never a key of table \"web\" (type \"integer\")",
    );
    // inc_gpc0 on a table without gpc0.
    one(
        &fe(
            "table = { type = \"ip\", size = 10, store = [\"conn_cur\"] }",
            "tcp_request = [{ track = \"src\" }]\nhttp_response = [{ inc_gpc0 = 0 }]",
        ),
        "7:31",
        "does not store gpc0",
    );
}
