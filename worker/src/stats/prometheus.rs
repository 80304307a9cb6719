//! The Prometheus text exposition format (version 0.0.4), with the metric
//! names of HAProxy's exporters: `haproxy_frontend_*{proxy}`,
//! `haproxy_backend_*{proxy}`, `haproxy_server_*{proxy,server}` and
//! `haproxy_process_*`. Counters end in `_total`; every family has its
//! `# HELP` and `# TYPE` lines and its samples together, so
//! `promtool check metrics` accepts it.

use super::info::Info;
use super::{Kind, Row};
use std::fmt::Write;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

#[derive(Clone, Copy)]
enum Type {
    Counter,
    Gauge,
}

/// One metric of a row: its name suffix, help, type, and how to read it.
struct Metric {
    name: &'static str,
    help: &'static str,
    kind: Type,
    value: fn(&Row) -> Option<u64>,
}

const fn m(
    name: &'static str,
    help: &'static str,
    kind: Type,
    value: fn(&Row) -> Option<u64>,
) -> Metric {
    Metric {
        name,
        help,
        kind,
        value,
    }
}

use Type::{Counter, Gauge};

const FRONTEND: &[Metric] = &[
    m(
        "current_sessions",
        "Current number of active sessions.",
        Gauge,
        |r| Some(r.scur),
    ),
    m(
        "max_sessions",
        "Maximum observed number of active sessions.",
        Gauge,
        |r| Some(r.smax),
    ),
    m(
        "limit_sessions",
        "Configured session limit (all workers).",
        Gauge,
        |r| r.slim,
    ),
    m(
        "sessions_total",
        "Total number of sessions.",
        Counter,
        |r| Some(r.stot),
    ),
    m(
        "bytes_in_total",
        "Current total of incoming bytes.",
        Counter,
        |r| Some(r.bin),
    ),
    m(
        "bytes_out_total",
        "Current total of outgoing bytes.",
        Counter,
        |r| Some(r.bout),
    ),
    m(
        "requests_denied_total",
        "Total number of denied requests.",
        Counter,
        |r| r.dreq,
    ),
    m(
        "request_errors_total",
        "Total number of request errors.",
        Counter,
        |r| r.ereq,
    ),
    m(
        "http_requests_total",
        "Total number of HTTP requests received.",
        Counter,
        |r| r.req_tot,
    ),
];

const BACKEND: &[Metric] = &[
    m(
        "up",
        "Whether the backend has a usable server (1) or not (0).",
        Gauge,
        |r| Some(u64::from(r.is_up())),
    ),
    m(
        "current_queue",
        "Current number of queued requests not assigned to any server.",
        Gauge,
        |r| r.qcur,
    ),
    m(
        "current_sessions",
        "Current number of active sessions.",
        Gauge,
        |r| Some(r.scur),
    ),
    m(
        "max_sessions",
        "Maximum observed number of active sessions.",
        Gauge,
        |r| Some(r.smax),
    ),
    m(
        "sessions_total",
        "Total number of sessions.",
        Counter,
        |r| Some(r.stot),
    ),
    m(
        "bytes_in_total",
        "Current total of incoming bytes.",
        Counter,
        |r| Some(r.bin),
    ),
    m(
        "bytes_out_total",
        "Current total of outgoing bytes.",
        Counter,
        |r| Some(r.bout),
    ),
    m(
        "connection_errors_total",
        "Total number of connection errors.",
        Counter,
        |r| r.econ,
    ),
    m(
        "response_errors_total",
        "Total number of response errors.",
        Counter,
        |r| r.eresp,
    ),
    m(
        "retry_warnings_total",
        "Total number of retry warnings.",
        Counter,
        |r| r.wretr,
    ),
    m(
        "redispatch_warnings_total",
        "Total number of redispatch warnings.",
        Counter,
        |r| r.wredis,
    ),
    m(
        "weight",
        "Total weight of the usable servers.",
        Gauge,
        |r| r.weight,
    ),
    m(
        "active_servers",
        "Current number of usable active servers.",
        Gauge,
        |r| r.act,
    ),
    m(
        "backup_servers",
        "Current number of usable backup servers.",
        Gauge,
        |r| r.bck,
    ),
    m(
        "loadbalanced_total",
        "Total number of times a server was selected.",
        Counter,
        |r| r.lbtot,
    ),
    m(
        "http_requests_total",
        "Total number of HTTP requests.",
        Counter,
        |r| r.req_tot,
    ),
    m(
        "client_aborts_total",
        "Total number of data transfers aborted by the client.",
        Counter,
        |r| r.cli_abrt,
    ),
    m(
        "server_aborts_total",
        "Total number of data transfers aborted by the server.",
        Counter,
        |r| r.srv_abrt,
    ),
];

const SERVER: &[Metric] = &[
    m("up", "Whether the server takes traffic per its state: UP, DRAIN or not checked (1), DOWN or MAINT (0).", Gauge, |r| Some(u64::from(r.is_up()))),
    m("current_queue", "Current number of queued requests.", Gauge, |r| r.qcur),
    m("current_sessions", "Current number of active sessions.", Gauge, |r| Some(r.scur)),
    m("max_sessions", "Maximum observed number of active sessions.", Gauge, |r| Some(r.smax)),
    m("limit_sessions", "Configured session limit.", Gauge, |r| r.slim),
    m("sessions_total", "Total number of sessions.", Counter, |r| Some(r.stot)),
    m("bytes_in_total", "Current total of incoming bytes.", Counter, |r| Some(r.bin)),
    m("bytes_out_total", "Current total of outgoing bytes.", Counter, |r| Some(r.bout)),
    m("connection_errors_total", "Total number of connection errors.", Counter, |r| r.econ),
    m("response_errors_total", "Total number of response errors.", Counter, |r| r.eresp),
    m("retry_warnings_total", "Total number of retry warnings.", Counter, |r| r.wretr),
    m("redispatch_warnings_total", "Total number of redispatch warnings.", Counter, |r| r.wredis),
    m("weight", "Current weight of the server.", Gauge, |r| r.weight),
    m("check_failures_total", "Total number of failed health checks.", Counter, |r| r.chkfail),
    m("check_up_down_total", "Total number of UP->DOWN transitions.", Counter, |r| r.chkdown),
    m("downtime_seconds_total", "Total downtime (in seconds) for the server.", Counter, |r| r.downtime),
    m("last_change_seconds", "Seconds since the last state change.", Gauge, |r| r.lastchg),
    m("loadbalanced_total", "Total number of times the server was selected.", Counter, |r| r.lbtot),
    m("http_requests_total", "Total number of HTTP requests.", Counter, |r| r.req_tot),
    m("client_aborts_total", "Total number of data transfers aborted by the client.", Counter, |r| r.cli_abrt),
    m("server_aborts_total", "Total number of data transfers aborted by the server.", Counter, |r| r.srv_abrt),
];

/// The check states a checked server reports, one series each.
const CHECK_STATES: &[&str] = &[
    "INI", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7OK", "L7TOUT", "L7RSP", "L7STS",
];

const CODES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// A label value, escaped as the format wants.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(r: &Row) -> String {
    match r.kind {
        Some(Kind::Server) => format!("proxy=\"{}\",server=\"{}\"", esc(&r.pxname), esc(&r.svname)),
        _ => format!("proxy=\"{}\"", esc(&r.pxname)),
    }
}

fn head(out: &mut String, name: &str, help: &str, kind: Type) {
    let t = match kind {
        Counter => "counter",
        Gauge => "gauge",
    };
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {t}\n");
}

/// Every row of `kind`: each metric, then the responses by code class.
fn section(out: &mut String, rows: &[Row], kind: Kind, prefix: &str, metrics: &[Metric]) {
    let mine: Vec<&Row> = rows.iter().filter(|r| r.kind == Some(kind)).collect();
    if mine.is_empty() {
        return;
    }
    for metric in metrics {
        let name = format!("haproxy_{prefix}_{}", metric.name);
        head(out, &name, metric.help, metric.kind);
        for r in &mine {
            if let Some(v) = (metric.value)(r) {
                let _ = writeln!(out, "{name}{{{}}} {v}", labels(r));
            }
        }
    }
    let name = format!("haproxy_{prefix}_http_responses_total");
    head(
        out,
        &name,
        "Total number of HTTP responses, by status class.",
        Counter,
    );
    for r in &mine {
        for (code, v) in CODES.iter().zip(r.hrsp) {
            let _ = writeln!(out, "{name}{{{},code=\"{code}\"}} {v}", labels(r));
        }
    }
    if kind == Kind::Server {
        let name = "haproxy_server_check_status";
        head(
            out,
            name,
            "Status of the last health check, per state (1 for the current one).",
            Gauge,
        );
        for r in mine.iter().filter(|r| r.check_status.is_some()) {
            for state in CHECK_STATES {
                let v = u64::from(r.check_status == Some(*state));
                let _ = writeln!(out, "{name}{{{},state=\"{state}\"}} {v}", labels(r));
            }
        }
        let name = "haproxy_server_check_duration_seconds";
        head(
            out,
            name,
            "Duration of the last health check, in seconds.",
            Gauge,
        );
        for r in &mine {
            if let Some(ms) = r.check_duration {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(r), ms as f64 / 1000.0);
            }
        }
    }
}

/// The whole exposition.
pub fn render(rows: &[Row], info: &Info) -> String {
    let mut out = String::with_capacity(4096 + rows.len() * 2048);
    let ssl = &info.ssl;
    let process: [(&str, &str, Type, u64); 19] = [
        (
            "haproxy_process_nbproc",
            "Number of worker processes.",
            Gauge,
            info.nbproc,
        ),
        (
            "haproxy_process_start_time_seconds",
            "Start time in seconds since the epoch.",
            Gauge,
            info.start_time,
        ),
        (
            "haproxy_process_uptime_seconds",
            "How long ago the service started, in seconds.",
            Gauge,
            info.uptime,
        ),
        (
            "haproxy_process_current_connections",
            "Number of active sessions.",
            Gauge,
            info.curr_conns,
        ),
        (
            "haproxy_process_connections_total",
            "Total number of created sessions.",
            Counter,
            info.cum_conns,
        ),
        (
            "haproxy_process_requests_total",
            "Total number of requests (TCP or HTTP).",
            Counter,
            info.cum_req,
        ),
        (
            "haproxy_process_current_ssl_connections",
            "Number of opened SSL connections (clients and servers).",
            Gauge,
            ssl.cur_conns,
        ),
        (
            "haproxy_process_ssl_connections_total",
            "Total number of opened SSL connections (completed handshakes).",
            Counter,
            ssl.cum_conns,
        ),
        (
            "haproxy_process_max_ssl_connections",
            "Configured maximum number of concurrent SSL connections (0: no limit).",
            Gauge,
            0,
        ),
        (
            "haproxy_process_current_ssl_rate",
            "Current number of SSL sessions per second over last elapsed second.",
            Gauge,
            ssl.rate,
        ),
        (
            "haproxy_process_limit_ssl_rate",
            "Configured maximum number of SSL sessions per second (0: no limit).",
            Gauge,
            0,
        ),
        (
            "haproxy_process_max_ssl_rate",
            "Maximum observed number of SSL sessions per second.",
            Gauge,
            ssl.max_rate,
        ),
        (
            "haproxy_process_current_frontend_ssl_key_rate",
            "Current frontend SSL Key computation per second over last elapsed second.",
            Gauge,
            ssl.fe_key_rate,
        ),
        (
            "haproxy_process_max_frontend_ssl_key_rate",
            "Maximum observed frontend SSL Key computation per second.",
            Gauge,
            ssl.fe_max_key_rate,
        ),
        (
            "haproxy_process_frontend_ssl_reuse",
            "SSL session reuse ratio (percent).",
            Gauge,
            ssl.reuse_pct,
        ),
        (
            "haproxy_process_current_backend_ssl_key_rate",
            "Current backend SSL Key computation per second over last elapsed second.",
            Gauge,
            ssl.be_key_rate,
        ),
        (
            "haproxy_process_max_backend_ssl_key_rate",
            "Maximum observed backend SSL Key computation per second.",
            Gauge,
            ssl.be_max_key_rate,
        ),
        (
            "haproxy_process_ssl_cache_lookups_total",
            "Total number of SSL session cache lookups.",
            Counter,
            ssl.cache_lookups,
        ),
        (
            "haproxy_process_ssl_cache_misses_total",
            "Total number of SSL session cache misses.",
            Counter,
            ssl.cache_misses,
        ),
    ];
    for (name, help, kind, v) in process {
        head(&mut out, name, help, kind);
        let _ = writeln!(out, "{name} {v}");
    }
    section(&mut out, rows, Kind::Frontend, "frontend", FRONTEND);
    section(&mut out, rows, Kind::Backend, "backend", BACKEND);
    section(&mut out, rows, Kind::Server, "server", SERVER);
    out
}
