//! The renderers on a small configuration: CSV columns and values, the
//! Prometheus families, the HTML page.

use super::*;
use weir_core::shm::{ADMIN_DRAIN, ADMIN_MAINT};

fn config() -> Config {
    let text = "[global]\nnbproc = 2\nmaxconn = 100\n\
        [listen.www]\nmode = \"http\"\nbind = \"127.0.0.1:1\"\nstats = { uri = \"/stats\" }\n\
        server = [{ name = \"s1\", address = \"127.0.0.1:2\", weight = 10 }, \
                  { name = \"s2\", address = \"127.0.0.1:3\", weight = 20 }]\n\
        [frontend.fe]\nbind = \"127.0.0.1:4\"\ndefault_backend = \"app\"\nmode = \"tcp\"\n\
        [backend.app]\nmode = \"tcp\"\nserver = [{ name = \"a\", address = \"127.0.0.1:5\", backup = true }]\n";
    match weir_core::config::load_str("t.toml", text) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

fn field<'a>(csv: &'a str, px: &str, sv: &str, col: &str) -> &'a str {
    let i = csv::COLUMNS
        .iter()
        .position(|c| *c == col)
        .unwrap_or(usize::MAX);
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("{px},{sv},")))
        .unwrap_or_else(|| panic!("no row {px}/{sv} in\n{csv}"));
    line.split(',').nth(i).unwrap_or_else(|| panic!("no {col}"))
}

#[test]
fn csv_rows_in_haproxy_order_and_columns() {
    let c = config();
    let st = SharedState::private(&c);
    st.frontends[0].enter(0);
    st.frontends[0].enter(1);
    st.frontends[0].count_status(200);
    st.frontends[0].add(Px::Bin, 10);
    st.servers[0][1].set(Srv::Admin, ADMIN_MAINT);
    let csv = csv::render(&rows(&c, &st));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,"));
    assert!(lines[0].ends_with("agg_check_status,-,"));
    let order: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join("/"))
        .collect();
    assert_eq!(
        order,
        [
            "www/FRONTEND",
            "www/s1",
            "www/s2",
            "www/BACKEND",
            "fe/FRONTEND",
            "app/a",
            "app/BACKEND"
        ]
    );
    for l in &lines {
        assert_eq!(l.split(',').count(), csv::COLUMNS.len() + 1, "{l}");
    }
    assert_eq!(field(&csv, "www", "FRONTEND", "scur"), "2");
    assert_eq!(field(&csv, "www", "FRONTEND", "slim"), "200");
    assert_eq!(field(&csv, "www", "FRONTEND", "hrsp_2xx"), "1");
    assert_eq!(field(&csv, "www", "FRONTEND", "req_tot"), "1");
    assert_eq!(field(&csv, "www", "FRONTEND", "status"), "OPEN");
    assert_eq!(field(&csv, "www", "FRONTEND", "type"), "0");
    assert_eq!(field(&csv, "www", "FRONTEND", "econ"), "");
    assert_eq!(field(&csv, "www", "s1", "status"), "no check");
    assert_eq!(field(&csv, "www", "s2", "status"), "MAINT");
    assert_eq!(field(&csv, "www", "s2", "type"), "2");
    assert_eq!(field(&csv, "www", "s2", "sid"), "2");
    assert_eq!(field(&csv, "www", "s1", "addr"), "127.0.0.1:2");
    assert_eq!(field(&csv, "www", "BACKEND", "weight"), "10");
    assert_eq!(field(&csv, "www", "BACKEND", "act"), "1");
    assert_eq!(field(&csv, "www", "BACKEND", "status"), "UP");
    assert_eq!(field(&csv, "www", "BACKEND", "iid"), "1");
    assert_eq!(field(&csv, "fe", "FRONTEND", "iid"), "2");
    assert_eq!(field(&csv, "app", "BACKEND", "iid"), "3");
    assert_eq!(field(&csv, "app", "BACKEND", "bck"), "1");
    assert_eq!(field(&csv, "app", "BACKEND", "algo"), "roundrobin");
    st.servers[1][0].set(Srv::Admin, ADMIN_DRAIN);
    let csv = csv::render(&rows(&c, &st));
    assert_eq!(field(&csv, "app", "a", "status"), "DRAIN");
    assert_eq!(field(&csv, "app", "BACKEND", "status"), "DOWN");
}

#[test]
fn prometheus_families_and_html() {
    let c = config();
    let st = SharedState::private(&c);
    st.backends[0].count_status(404);
    let rows = rows(&c, &st);
    let info = info::Info::gather(&c, &st, 42);
    let text = prometheus::render(&rows, &info);
    assert!(text.contains("haproxy_backend_up{proxy=\"www\"} 1\n"));
    assert!(text.contains("haproxy_server_up{proxy=\"www\",server=\"s1\"} 1\n"));
    assert!(text.contains("haproxy_backend_http_responses_total{proxy=\"www\",code=\"4xx\"} 1\n"));
    assert!(text.contains("# TYPE haproxy_frontend_sessions_total counter\n"));
    // Each family once, its samples together.
    let mut seen = std::collections::HashSet::new();
    for l in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(seen.insert(l.to_string()), "{l} twice");
    }
    let html = html::render(&rows, &info, Some(std::time::Duration::from_secs(5)));
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(html.contains("<table id=\"www\">"));
    assert!(html.contains("class=\"active_no_check\""));
    assert!(!html.contains("http://") && !html.contains("<script"));
    let shown = info.render();
    assert!(shown.starts_with("Name: weir\nVersion: "));
    assert!(shown.contains("\nPid: 42\n") && shown.contains("\nNbproc: 2\n"));
}
