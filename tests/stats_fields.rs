//! `show info` and `show stat` next to HAProxy 2.6's own, on the same
//! setup (a stats listener; a frontend; a backend with an HTTP-checked
//! server, a checked server that refuses connections and a backup): weir's
//! `show info` has HAProxy's keys in HAProxy's order (but `Idle_pct`), and
//! every `show stat` field HAProxy fills, weir fills too, except the
//! figures weir does not keep, listed here and in docs/statistics.md.

mod common;
mod haproxy;

use std::collections::BTreeMap;

use common::http::curl;
use common::http_origin::HttpOrigin;
use common::weir::TempDir;
use common::{free_port, wait_for, wait_until, Weir, DEADLINE};
use haproxy::{api, HaProxy};

/// `show info` keys HAProxy prints and weir leaves out.
const INFO_LEFT_OUT: &[&str] = &["Idle_pct"];

/// `show stat` fields HAProxy fills and weir leaves empty, by row type
/// (0 frontend, 1 backend, 2 server): rates, timings, the last session,
/// the health counter and the last check's text, idle connections — what
/// weir's workers do not keep in the shared state.
const STAT_LEFT_EMPTY: [&[&str]; 3] = [
    &[
        "rate",
        "rate_max",
        "req_rate",
        "req_rate_max",
        "conn_rate",
        "conn_rate_max",
        "intercepted",
    ],
    &[
        "slim",
        "chkdown",
        "lastchg",
        "downtime",
        "rate",
        "rate_max",
        "lastsess",
        "qtime",
        "ctime",
        "rtime",
        "ttime",
        "qtime_max",
        "ctime_max",
        "rtime_max",
        "ttime_max",
    ],
    &[
        "rate",
        "rate_max",
        "lastsess",
        "last_chk",
        "check_health",
        "qtime",
        "ctime",
        "rtime",
        "ttime",
        "qtime_max",
        "ctime_max",
        "rtime_max",
        "ttime_max",
        "srv_icur",
        "idle_conn_cur",
        "safe_conn_cur",
        "used_conn_cur",
        "need_conn_est",
    ],
];

fn keys(info: &str) -> Vec<String> {
    info.lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
        .collect()
}

/// The CSV rows by `pxname/svname`, each as column → value.
fn rows(csv: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .unwrap_or_default()
        .split(',')
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let row: BTreeMap<String, String> = header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect();
            (format!("{}/{}", row["pxname"], row["svname"]), row)
        })
        .collect()
}

fn status(csv: &str, row: &str) -> String {
    rows(csv)
        .get(row)
        .map(|r| r["status"].clone())
        .unwrap_or_default()
}

#[test]
fn info_keys_and_stat_fields_match_haproxys() {
    let (a, c) = (HttpOrigin::start("a"), HttpOrigin::start("c"));
    let hap = [free_port(), free_port()];
    let ours = [free_port(), free_port()];
    let haproxy = HaProxy::start(
        &format!(
            "global\n    stats socket {{dir}}/h.sock mode 600 level admin\n    nbthread 1\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    \
             timeout server 5s\n\
             listen stats\n    bind 127.0.0.1:{}\n    stats uri /stats\n\
             frontend web\n    bind 127.0.0.1:{}\n    default_backend app\n\
             backend app\n    option httpchk GET /\n    default-server inter 300ms\n    \
             server a {} weight 10 check\n    server b 127.0.0.1:1 check\n    \
             server c {} backup\n",
            hap[0], hap[1], a.addr, c.addr
        ),
        &hap,
    );
    let dir = TempDir::new("fields");
    let socket = dir.path.join("admin.sock");
    let _weir = Weir::start(&format!(
        "[global]\nlog = \"stderr\"\nstats_socket = \"{}\"\n\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\n\
         [listen.stats]\nbind = \"127.0.0.1:{}\"\nstats = {{ uri = \"/stats\" }}\n\n\
         [frontend.web]\nbind = \"127.0.0.1:{}\"\ndefault_backend = \"app\"\n\n\
         [backend.app]\ncheck = {{ type = \"http\", path = \"/\", interval = \"300ms\" }}\n\
         server = [{{ name = \"a\", address = \"{}\", weight = 10, check = true }}, \
         {{ name = \"b\", address = \"127.0.0.1:1\", check = true }}, \
         {{ name = \"c\", address = \"{}\", backup = true }}]\n",
        socket.display(),
        ours[0],
        ours[1],
        a.addr,
        c.addr
    ));
    let theirs_sock = haproxy.path("h.sock");
    wait_until(DEADLINE, "both stats sockets", || {
        socket.exists() && theirs_sock.exists()
    });
    // Requests to the stats pages and through the frontends.
    for (port, path) in [
        (hap[0], "/stats"),
        (hap[1], "/"),
        (ours[0], "/stats"),
        (ours[1], "/"),
    ] {
        for _ in 0..3 {
            assert_eq!(curl(port, path, &[]).status, 200, ":{port}{path}");
        }
    }
    // b goes DOWN in both (3 failed checks).
    let (theirs_csv, ours_csv) = wait_for(DEADLINE, "app/b DOWN in both", || {
        let t = api(&theirs_sock, "show stat");
        let o = api(&socket, "show stat");
        (status(&t, "app/b") == "DOWN" && status(&o, "app/b") == "DOWN").then_some((t, o))
    });

    let theirs_info: Vec<String> = keys(&api(&theirs_sock, "show info"))
        .into_iter()
        .filter(|k| !INFO_LEFT_OUT.contains(&k.as_str()))
        .collect();
    // weir's own lines (HTTP/2) come after HAProxy's.
    let ours_info: Vec<String> = keys(&api(&socket, "show info"))
        .into_iter()
        .filter(|k| !k.starts_with("H2"))
        .collect();
    assert_eq!(ours_info, theirs_info, "show info keys");

    let (theirs, ours) = (rows(&theirs_csv), rows(&ours_csv));
    for name in [
        "stats/FRONTEND",
        "stats/BACKEND",
        "web/FRONTEND",
        "app/a",
        "app/b",
        "app/c",
        "app/BACKEND",
    ] {
        let (t, o) = (&theirs[name], &ours[name]);
        let kind: usize = t["type"].parse().expect("type");
        let missing: Vec<&str> = o
            .keys()
            .filter(|col| col.as_str() != "-")
            .filter(|col| !t[*col].is_empty() && o[*col].is_empty())
            .map(String::as_str)
            .filter(|col| !STAT_LEFT_EMPTY[kind].contains(col))
            .collect();
        assert!(
            missing.is_empty(),
            "{name}: HAProxy fills {missing:?}, weir leaves them empty\nHAProxy: {t:?}\nweir: {o:?}"
        );
    }
}
