//! The statistics on a listener (`stats = { uri, refresh, prometheus }`):
//! the CSV in HAProxy 2.6's columns with figures summed over both workers,
//! the HTML page, the Prometheus exposition checked by `promtool`, and
//! Prometheus' haproxy exporter reading the CSV.

mod common;

use nix::sys::signal::Signal;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::http::{curl, HttpLogs};
use common::http_origin::HttpOrigin;
use common::{ci, free_port, wait_for, wait_until, Weir, DEADLINE};

/// HAProxy 2.6's static CSV columns (`show stat` on haproxy 2.6.12).
const HAPROXY_COLUMNS: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,\
ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,\
iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,\
hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,\
cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,\
ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,\
check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,\
conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,\
qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,\
need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,";

/// A `[listen.www]` serving the stats, two origins behind it, nbproc 2.
fn config(port: u16, a: &HttpOrigin, b: &HttpOrigin, extra: &str) -> String {
    format!(
        "[global]\nnbproc = 2\nlog = \"stderr\"\n\
         [defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\
         [listen.www]\nbind = \"127.0.0.1:{port}\"\n\
         stats = {{ uri = \"/stats\", refresh = \"5s\", prometheus = \"/metrics\" }}\n{extra}\n\
         server = [{{ name = \"s1\", address = \"{}\" }}, {{ name = \"s2\", address = \"{}\" }}]\n",
        a.addr, b.addr
    )
}

/// The CSV as rows of named fields, by `pxname/svname`.
fn parse_csv(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .unwrap_or_else(|| panic!("no header in {text}"))
        .split(',')
        .collect();
    let mut out = BTreeMap::new();
    for l in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = l.split(',').collect();
        assert_eq!(fields.len(), header.len(), "field count of {l}");
        let row: BTreeMap<String, String> = header
            .iter()
            .zip(&fields)
            .map(|(h, f)| (h.to_string(), f.to_string()))
            .collect();
        out.insert(format!("{}/{}", fields[0], fields[1]), row);
    }
    out
}

fn num(rows: &BTreeMap<String, BTreeMap<String, String>>, row: &str, col: &str) -> u64 {
    rows.get(row)
        .and_then(|r| r.get(col))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{row} {col} in {rows:?}"))
}

#[test]
fn csv_sums_both_workers_in_haproxy_columns() {
    let (a, b) = (HttpOrigin::start("a"), HttpOrigin::start("b"));
    let port = free_port();
    let weir = Weir::spawn(&config(port, &a, &b, ""), &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the listener", || {
        common::procfs::is_listening(port)
    });
    const N: usize = 30;
    // Workers share one listening socket and the kernel picks who accepts:
    // each worker takes half the requests while the other is paused
    // (SIGTTOU to a worker pauses that worker only).
    let workers = weir.wait_workers(2, DEADLINE);
    for (half, &paused) in workers.iter().enumerate() {
        toggle(&weir, paused, Signal::SIGTTOU, "paused");
        for i in half * N / 2..(half + 1) * N / 2 {
            let out = curl(port, &format!("/app/{i}"), &[]);
            assert_eq!(out.status, 200, "request {i}: {}", out.stderr);
        }
        toggle(&weir, paused, Signal::SIGTTIN, "resumed");
    }
    let logs = weir.wait_httplogs(N, DEADLINE);
    let pids: BTreeSet<i32> = logs.iter().map(|l| l.pid).collect();
    // The figures settle once every stream has ended (logged first).
    let rows = wait_for(DEADLINE, "30 requests counted", || {
        let csv = curl(port, "/stats;csv", &[]);
        assert_eq!(csv.status, 200);
        assert!(csv
            .headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain"));
        let text = String::from_utf8_lossy(&csv.body).into_owned();
        assert_eq!(
            text.lines().next(),
            Some(HAPROXY_COLUMNS.trim_end_matches('\n'))
        );
        let rows = parse_csv(&text);
        (num(&rows, "www/BACKEND", "req_tot") == N as u64).then_some(rows)
    });
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        ["www/BACKEND", "www/FRONTEND", "www/s1", "www/s2"]
    );
    for (col, want) in [("stot", N), ("req_tot", N), ("hrsp_2xx", N), ("lbtot", N)] {
        assert_eq!(num(&rows, "www/BACKEND", col), want as u64, "BACKEND {col}");
    }
    let per_server: u64 = ["www/s1", "www/s2"]
        .iter()
        .map(|s| num(&rows, s, "stot"))
        .sum();
    assert_eq!(per_server, N as u64);
    assert_eq!(
        num(&rows, "www/s1", "hrsp_2xx") + num(&rows, "www/s2", "hrsp_2xx"),
        N as u64
    );
    assert!(num(&rows, "www/s1", "stot") > 0 && num(&rows, "www/s2", "stot") > 0);
    // The frontend also counted the stats requests (at least one).
    assert!(num(&rows, "www/FRONTEND", "stot") > N as u64);
    assert!(num(&rows, "www/FRONTEND", "hrsp_2xx") >= N as u64);
    for row in ["www/FRONTEND", "www/BACKEND", "www/s1"] {
        assert!(
            num(&rows, row, "bin") > 0 && num(&rows, row, "bout") > 0,
            "{row}"
        );
    }
    assert_eq!(rows["www/FRONTEND"]["status"], "OPEN");
    assert_eq!(rows["www/FRONTEND"]["type"], "0");
    assert_eq!(rows["www/BACKEND"]["status"], "UP");
    assert_eq!(rows["www/BACKEND"]["type"], "1");
    assert_eq!(rows["www/BACKEND"]["weight"], "2");
    assert_eq!(rows["www/BACKEND"]["act"], "2");
    assert_eq!(rows["www/s1"]["status"], "no check");
    assert_eq!(rows["www/s1"]["type"], "2");
    assert_eq!(rows["www/s2"]["addr"], b.addr.to_string());
    assert_eq!(pids.len(), 2, "both workers served: {pids:?}");
    // HAProxy's other form, and the log line of a stats request.
    let q = curl(port, "/stats?stats;csv", &[]);
    assert!(String::from_utf8_lossy(&q.body).starts_with("# pxname,svname,"));
    let l = weir.wait_httplog("the stats request", DEADLINE, |l| {
        l.request.contains("/stats;csv")
    });
    assert_eq!((l.status, l.termination.as_str()), (200, "LR--"));
}

#[test]
fn html_page_and_rules_before_it() {
    let (a, b) = (HttpOrigin::start("a"), HttpOrigin::start("b"));
    let port = free_port();
    let deny = "acl = { secret = \"path_beg /stats;secret\" }\n\
                http_request = [{ deny = 403, if = \"secret\" }]";
    let weir = Weir::spawn(&config(port, &a, &b, deny), &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the listener", || {
        common::procfs::is_listening(port)
    });
    let page = curl(port, "/stats", &[]);
    assert_eq!(page.status, 200);
    assert!(page
        .headers
        .to_ascii_lowercase()
        .contains("content-type: text/html"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(html.contains("<table id=\"www\">") && html.contains("FRONTEND"));
    assert!(html.contains(">s1<") && html.contains(">BACKEND<"));
    assert!(!html.contains("<script") && !html.contains("src="));
    let quiet = curl(port, "/stats;norefresh", &[]);
    assert!(!String::from_utf8_lossy(&quiet.body).contains("http-equiv"));
    // HEAD: the headers only.
    let head = curl(port, "/stats", &["-I"]);
    assert_eq!(head.status, 200);
    assert!(!String::from_utf8_lossy(&head.body).contains("<html>"));
    // Rules run first: a deny answers before the page (and counts).
    assert_eq!(curl(port, "/stats;secret;csv", &[]).status, 403);
    let csv = curl(port, "/stats;csv", &[]);
    let rows = parse_csv(&String::from_utf8_lossy(&csv.body));
    assert_eq!(num(&rows, "www/FRONTEND", "dreq"), 1);
    // Nothing reached the origins.
    assert_eq!(a.seen().len() + b.seen().len(), 0);
    drop(weir);
}

/// `promtool check metrics` on the exposition (skipped without promtool,
/// except under CI: [`ci::skip`]).
#[test]
fn prometheus_passes_promtool() {
    let (a, b) = (HttpOrigin::start("a"), HttpOrigin::start("b"));
    let port = free_port();
    let weir = Weir::spawn(&config(port, &a, &b, ""), &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the listener", || {
        common::procfs::is_listening(port)
    });
    for _ in 0..4 {
        assert_eq!(curl(port, "/x", &[]).status, 200);
    }
    let m = curl(port, "/metrics", &[]);
    assert_eq!(m.status, 200);
    assert!(m
        .headers
        .to_ascii_lowercase()
        .contains("content-type: text/plain; version=0.0.4"));
    let text = String::from_utf8_lossy(&m.body).into_owned();
    assert!(
        text.contains("haproxy_backend_up{proxy=\"www\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("haproxy_server_up{proxy=\"www\",server=\"s1\"} 1\n"));
    assert!(text.contains("# TYPE haproxy_frontend_current_sessions gauge\n"));
    assert!(text.contains("# TYPE haproxy_backend_http_responses_total counter\n"));
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        ci::skip("promtool not installed (Debian package prometheus; make deps)");
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(text.as_bytes()).expect("feed promtool");
    }
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(weir);
}

/// Prometheus' haproxy exporter scrapes `URI;csv` and sees the backend up.
#[test]
fn haproxy_exporter_reads_the_csv() {
    let (a, b) = (HttpOrigin::start("a"), HttpOrigin::start("b"));
    let port = free_port();
    let weir = Weir::spawn(&config(port, &a, &b, ""), &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the listener", || {
        common::procfs::is_listening(port)
    });
    let listen = free_port();
    let exporter = Command::new("prometheus-haproxy-exporter")
        .arg(format!(
            "--haproxy.scrape-uri=http://127.0.0.1:{port}/stats;csv"
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{listen}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut exporter) = exporter else {
        ci::skip(
            "prometheus-haproxy-exporter not installed \
             (Debian package prometheus-haproxy-exporter; make deps)",
        );
        return;
    };
    let text = wait_for(Duration::from_secs(15), "the exporter's metrics", || {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "5"])
            .arg(format!("http://127.0.0.1:{listen}/metrics"))
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("haproxy_up 1").then_some(text)
    });
    let _ = exporter.kill();
    let _ = exporter.wait();
    assert!(
        text.contains("haproxy_backend_up{backend=\"www\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("haproxy_server_up{backend=\"www\",server=\"s1\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("haproxy_frontend_current_sessions{frontend=\"www\"}"),
        "{text}"
    );
    drop(weir);
}

/// Sends `sig` to worker `pid` and waits for its "Proxy www paused/resumed."
/// line.
fn toggle(weir: &Weir, pid: i32, sig: Signal, word: &str) {
    let seen = |w: &Weir| {
        w.logs()
            .iter()
            .filter(|l| l.pid == pid && l.message.contains(&format!("Proxy www {word}.")))
            .count()
    };
    let before = seen(weir);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap();
    wait_until(DEADLINE, &format!("worker {pid} {word}"), || {
        seen(weir) > before
    });
}
