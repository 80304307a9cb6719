//! The HTML stats page: a header with `show info`'s main figures, then one
//! table per proxy (FRONTEND, servers, BACKEND), rows coloured by state in
//! HAProxy's colours. Self-contained: inline CSS, no script, no external
//! asset; optionally reloads itself (`<meta http-equiv="refresh">`).

use super::info::Info;
use super::{Kind, Row};
use std::fmt::Write;
use std::time::Duration;

const STYLE: &str = "body{font-family:arial,helvetica,sans-serif;font-size:12px;color:#000;background:#fff}\
h1{font-size:18px;margin:4px 0}h1 a{color:#fff;background:#20408c;padding:2px 6px;text-decoration:none}\
table{border-collapse:collapse;margin:8px 0 14px 0;font-size:11px}\
th,td{border:1px solid #999;padding:1px 4px;text-align:right;white-space:nowrap}\
th.pxname{background:#b00040;color:#ffff40;text-align:left;font-size:12px}\
tr.titre th{background:#20408c;color:#fff}td.ac,th.ac{text-align:left}\
.frontend{background:#e8e8d0}.backend{background:#e8e8d0}\
.active_up{background:#c0ffc0}.active_down{background:#ff9090}\
.active_no_check{background:#e0e0e0}.active_draining{background:#20a0ff}\
.backup_up{background:#b0d0ff}.backup_down{background:#ff9090}\
.maintain{background:#c07820}td.legend{border:0;text-align:left}";

/// The class of a row's `<tr>`: HAProxy's state colours.
fn class(r: &Row) -> &'static str {
    let backup = r.bck == Some(1) && r.kind == Some(Kind::Server);
    match (r.kind, r.status.as_str()) {
        (Some(Kind::Frontend), _) => "frontend",
        (Some(Kind::Backend), "UP") => "backend",
        (Some(Kind::Backend), _) => "active_down",
        (_, "MAINT" | "MAINT (resolution)") => "maintain",
        (_, "DRAIN") => "active_draining",
        (_, "no check") if backup => "backup_up",
        (_, "no check") => "active_no_check",
        (_, "DOWN") if backup => "backup_down",
        (_, "DOWN") => "active_down",
        _ if backup => "backup_up",
        _ => "active_up",
    }
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<u64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// `12s`, `3m4s`, `1h2m`, `2d3h`: HAProxy's short durations.
fn human(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{}m", s / 3600, (s / 60) % 60),
        s => format!("{}d{}h", s / 86400, (s / 3600) % 24),
    }
}

const HEAD: &[&str] = &[
    "",
    "Queue cur",
    "Queue max",
    "Sess cur",
    "Sess max",
    "Sess limit",
    "Sess total",
    "LbTot",
    "Bytes in",
    "Bytes out",
    "Denied req",
    "Err req",
    "Err conn",
    "Err resp",
    "Retr",
    "Redis",
    "Status",
    "LastChk",
    "Wght",
    "Act",
    "Bck",
    "Chk",
    "Dwn",
    "Dwntme",
    "1xx",
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "other",
];

fn row(out: &mut String, r: &Row) {
    let status = match (r.kind, r.lastchg) {
        (Some(Kind::Server), Some(ch)) => format!("{} {}", human(ch), esc(&r.status)),
        _ => esc(&r.status),
    };
    let check = match (r.check_status, r.check_code) {
        (Some(s), Some(c)) => format!("{s}/{c} in {}ms", r.check_duration.unwrap_or(0)),
        (Some(s), None) => format!("{s} in {}ms", r.check_duration.unwrap_or(0)),
        _ => String::new(),
    };
    let cells = [
        num(r.qcur),
        num(r.qmax),
        r.scur.to_string(),
        r.smax.to_string(),
        num(r.slim),
        r.stot.to_string(),
        num(r.lbtot),
        r.bin.to_string(),
        r.bout.to_string(),
        num(r.dreq),
        num(r.ereq),
        num(r.econ),
        num(r.eresp),
        num(r.wretr),
        num(r.wredis),
        status,
        check,
        num(r.weight),
        num(r.act.filter(|_| r.kind != Some(Kind::Frontend))),
        num(r.bck),
        num(r.chkfail),
        num(r.chkdown),
        r.downtime.map_or(String::new(), human),
    ];
    let _ = write!(
        out,
        "<tr class=\"{}\"><td class=\"ac\">{}</td>",
        class(r),
        esc(&r.svname)
    );
    for c in cells.iter().chain(r.hrsp.map(|v| v.to_string()).iter()) {
        let _ = write!(out, "<td>{c}</td>");
    }
    out.push_str("</tr>\n");
}

/// The whole page.
pub fn render(rows: &[Row], info: &Info, refresh: Option<Duration>) -> String {
    let mut out = String::with_capacity(4096 + rows.len() * 600);
    out.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n");
    if let Some(r) = refresh {
        let _ = writeln!(
            out,
            "<meta http-equiv=\"refresh\" content=\"{}\">",
            r.as_secs().max(1)
        );
    }
    let _ = write!(
        out,
        "<title>Statistics Report for weir</title>\n<style>{STYLE}</style></head>\n<body>\n\
         <h1><a href=\"#\">weir</a> Statistics Report</h1>\n\
         <p>weir version {}, pid {}, nbproc {}; uptime {}; current connections {}, \
         total connections {}, total requests {}; maxconn {}. Figures cover every worker.</p>\n",
        esc(weir_core::VERSION),
        info.pid,
        info.nbproc,
        info.uptime_text(),
        info.curr_conns,
        info.cum_conns,
        info.cum_req,
        info.maxconn
    );
    out.push_str(
        "<table><tr><td class=\"legend active_up\">active UP</td>\
         <td class=\"legend backup_up\">backup UP</td>\
         <td class=\"legend active_down\">DOWN</td>\
         <td class=\"legend active_draining\">DRAIN</td>\
         <td class=\"legend maintain\">MAINT</td>\
         <td class=\"legend active_no_check\">not checked</td></tr></table>\n",
    );
    let mut i = 0;
    while i < rows.len() {
        let id = rows[i].iid;
        let _ = write!(
            out,
            "<table id=\"{0}\"><tr><th class=\"pxname\" colspan=\"{1}\">{0}</th></tr>\n<tr class=\"titre\">",
            esc(&rows[i].pxname),
            HEAD.len()
        );
        for h in HEAD {
            let _ = write!(out, "<th>{h}</th>");
        }
        out.push_str("</tr>\n");
        while i < rows.len() && rows[i].iid == id {
            row(&mut out, &rows[i]);
            i += 1;
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
