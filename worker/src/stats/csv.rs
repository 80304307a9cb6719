//! HAProxy's statistics CSV (management guide, section 9.1): a `# ` header
//! naming the columns, then one line per row, every line ending with a
//! comma. The columns are HAProxy 2.6's static fields, in its order, up to
//! and including the `-` column that ends them; a field weir has no figure
//! for is empty, as HAProxy leaves the fields that do not apply. Fields of
//! features weir does not have are 0 where HAProxy shows 0 for them unused
//! (`rate_lim`, `cache_lookups`, `cache_hits`, the backends' `agg_*`).

use super::{Kind, Row};
use std::fmt::Write;

/// HAProxy 2.6's static columns, in order.
pub const COLUMNS: &[&str] = &[
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
    "-",
];

/// The header line, newline included.
pub fn header() -> String {
    let mut out = String::from("# ");
    for c in COLUMNS {
        out.push_str(c);
        out.push(',');
    }
    out.push('\n');
    out
}

/// The whole CSV: header, then every row.
pub fn render(rows: &[Row]) -> String {
    let mut out = header();
    for r in rows {
        line(&mut out, r);
    }
    out
}

/// Quotes a text field when it holds a comma or a quote (section 9.1).
fn text(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn opt(out: &mut String, v: Option<u64>) {
    if let Some(v) = v {
        let _ = write!(out, "{v}");
    }
}

/// Appends one row's line.
pub fn line(out: &mut String, r: &Row) {
    let kind = r.kind.unwrap_or(Kind::Frontend);
    let fe = kind == Kind::Frontend;
    let srv = kind == Kind::Server;
    let be = kind == Kind::Backend;
    let zero_unless_fe = (!fe).then_some(0);
    // HAProxy counts cache lookups on HTTP frontends and backends.
    let http_proxy = (!srv && r.mode == "http").then_some(0);
    for col in COLUMNS {
        match *col {
            "pxname" => text(out, &r.pxname),
            "svname" => text(out, &r.svname),
            "qcur" => opt(out, r.qcur),
            "qmax" => opt(out, r.qmax),
            "scur" => opt(out, Some(r.scur)),
            "smax" => opt(out, Some(r.smax)),
            "slim" => opt(out, r.slim),
            "stot" => opt(out, Some(r.stot)),
            "bin" => opt(out, Some(r.bin)),
            "bout" => opt(out, Some(r.bout)),
            "dreq" => opt(out, r.dreq),
            "dresp" => opt(out, r.dresp),
            "ereq" => opt(out, r.ereq),
            "econ" => opt(out, r.econ),
            "eresp" => opt(out, r.eresp),
            "wretr" => opt(out, r.wretr),
            "wredis" => opt(out, r.wredis),
            "status" => text(out, &r.status),
            "weight" => opt(out, r.weight),
            "act" => opt(out, r.act),
            "bck" => opt(out, r.bck),
            "chkfail" => opt(out, r.chkfail),
            "chkdown" => opt(out, r.chkdown),
            "lastchg" => opt(out, r.lastchg),
            "downtime" => opt(out, r.downtime),
            "pid" => out.push('1'),
            "iid" => opt(out, Some(r.iid as u64)),
            "sid" => opt(out, Some(r.sid as u64)),
            "lbtot" => opt(out, r.lbtot),
            "type" => opt(out, Some(kind as u64)),
            "rate_lim" => opt(out, fe.then_some(0)),
            "check_status" => out.push_str(r.check_status.unwrap_or("")),
            "check_desc" => out.push_str(r.check_status.map_or("", super::check_desc)),
            "check_code" => opt(out, r.check_code),
            "check_duration" => opt(out, r.check_duration),
            "hrsp_1xx" => opt(out, Some(r.hrsp[0])),
            "hrsp_2xx" => opt(out, Some(r.hrsp[1])),
            "hrsp_3xx" => opt(out, Some(r.hrsp[2])),
            "hrsp_4xx" => opt(out, Some(r.hrsp[3])),
            "hrsp_5xx" => opt(out, Some(r.hrsp[4])),
            "hrsp_other" => opt(out, Some(r.hrsp[5])),
            "req_tot" => opt(out, r.req_tot),
            "cli_abrt" => opt(out, r.cli_abrt),
            "srv_abrt" => opt(out, r.srv_abrt),
            "comp_in" | "comp_out" | "comp_byp" | "comp_rsp" => opt(out, (!srv).then_some(0)),
            "check_rise" => opt(out, r.check_rise),
            "check_fall" => opt(out, r.check_fall),
            "addr" => text(out, r.addr.as_deref().unwrap_or("")),
            "mode" => out.push_str(r.mode),
            "algo" => out.push_str(r.algo.unwrap_or("")),
            "conn_tot" => opt(out, fe.then_some(r.stot)),
            "dcon" | "dses" => opt(out, fe.then_some(0)),
            "wrew" | "eint" => out.push('0'),
            "connect" | "reuse" => opt(out, zero_unless_fe),
            "cache_lookups" | "cache_hits" => opt(out, http_proxy),
            "agg_server_status" | "agg_server_check_status" | "agg_check_status" => {
                opt(out, be.then_some(0))
            }
            "uweight" => opt(out, r.weight.filter(|_| !fe)),
            "-" => out.push('-'),
            _ => {}
        }
        out.push(',');
    }
    out.push('\n');
}
