//! HAProxy's most common stats stanza in weir's TOML: a `[listen.stats]`
//! with `bind` and `stats` and no server. `weir -c` accepts it, and weir
//! serves the HTML page, the CSV and the Prometheus exposition on it; any
//! other request gets a 503, as HAProxy answers on such a listener.

mod common;

use std::process::Command;

use common::http::curl;
use common::weir::bin;
use common::{free_port, Weir};

/// `listen stats` / `bind` / `stats uri /stats` / the Prometheus exporter.
fn config(port: u16) -> String {
    format!(
        "[global]\nnbproc = 2\nlog = \"stderr\"\n\n\
         [defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\n\
         [listen.stats]\nbind = \"127.0.0.1:{port}\"\n\
         stats = {{ uri = \"/stats\", prometheus = \"/metrics\" }}\n"
    )
}

#[test]
fn a_stats_only_listen_checks_and_serves_every_format() {
    let port = free_port();
    let text = config(port);
    let weir = Weir::start(&text);

    let out = Command::new(bin())
        .arg("-c")
        .arg("-f")
        .arg(&weir.config_path)
        .output()
        .expect("run weir -c");
    assert_eq!(
        out.status.code(),
        Some(0),
        "weir -c: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let page = curl(port, "/stats", &[]);
    assert_eq!(page.status, 200, "{}", page.stderr);
    assert!(page.headers.to_ascii_lowercase().contains("text/html"));
    assert!(String::from_utf8_lossy(&page.body).contains("stats"));

    let csv = curl(port, "/stats;csv", &[]);
    assert_eq!(csv.status, 200, "{}", csv.stderr);
    let csv = String::from_utf8_lossy(&csv.body).into_owned();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        names,
        [("stats", "FRONTEND"), ("stats", "BACKEND")],
        "{csv}"
    );
    // A backend without servers is UP in HAProxy's CSV (column 18: status).
    assert_eq!(rows[1][17], "UP", "{csv}");

    let metrics = curl(port, "/metrics", &[]);
    assert_eq!(metrics.status, 200, "{}", metrics.stderr);
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        metrics.contains("haproxy_backend_up{proxy=\"stats\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("haproxy_frontend_http_requests_total{proxy=\"stats\"}"),
        "{metrics}"
    );

    let other = curl(port, "/app", &[]);
    assert_eq!(other.status, 503, "{}", other.stderr);
    assert!(
        String::from_utf8_lossy(&other.body).contains("No server is available"),
        "{:?}",
        other.body
    );
    drop(weir);
}
