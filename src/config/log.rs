//! Logging keys, wherever they appear: `log`, `log_facility` and
//! `log_level` (`[global]` and every proxy), `log_format` (compiled here:
//! an unknown alias is reported at the column of its `%`), and the header
//! captures of a frontend (with `errorfile`, refused in TCP mode).

use std::sync::Arc;

use toml::Spanned;

use super::addr;
use super::diag::{did_you_mean, Report};
use super::file::{CaptureFile, Parsed, ProxyFile};
use super::model::{HeaderCapture, LogFormat, LogLevel, LogTarget, ProxyLog};
use super::raw::OneOrMany;
use crate::log::format::Format;

/// Syslog facility names and numbers (RFC 5424).
const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

const LEVELS: &[(&str, LogLevel)] = &[
    ("emerg", LogLevel::Emerg),
    ("alert", LogLevel::Alert),
    ("crit", LogLevel::Crit),
    ("err", LogLevel::Err),
    ("warning", LogLevel::Warning),
    ("notice", LogLevel::Notice),
    ("info", LogLevel::Info),
    ("debug", LogLevel::Debug),
];

/// The default facility (`local0`) and level (`info`).
pub(crate) const FACILITY: u8 = 16;
pub(crate) const LEVEL: LogLevel = LogLevel::Info;

/// The entries of a `log` key; `"global"` is allowed in a proxy (`true`
/// when it was among them).
pub(crate) fn targets<T>(
    p: &Parsed<T>,
    log: &Spanned<OneOrMany<String>>,
    in_proxy: bool,
    report: &mut Report,
) -> (Vec<LogTarget>, bool) {
    let mut targets = Vec::new();
    let mut global = false;
    for t in log.get_ref().entries(log.span()) {
        if in_proxy && t.get_ref().as_str() == "global" {
            global = true;
            continue;
        }
        match addr::log_target(t.get_ref()) {
            Ok(target) if targets.contains(&target) => {
                report.error(
                    &p.at(t.span()),
                    format!("log target \"{}\" is listed twice", t.get_ref()),
                );
            }
            Ok(target) => targets.push(target),
            Err(e) if in_proxy && !t.get_ref().contains(':') => {
                report.error(&p.at(t.span()), format!("{e}, or \"global\""))
            }
            Err(e) => report.error(&p.at(t.span()), e),
        }
    }
    (targets, global)
}

/// `log_facility`.
pub(crate) fn facility<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<u8> {
    let v = v.as_ref()?;
    let found = FACILITIES
        .iter()
        .find(|(n, _)| n == v.get_ref())
        .map(|f| f.1);
    if found.is_none() {
        report.error(
            &p.at(v.span()),
            format!(
                "unknown log_facility \"{}\": expected kern, user, mail, daemon, auth, \
                 syslog, lpr, news, uucp, cron, authpriv, ftp or local0 to local7{}",
                v.get_ref(),
                did_you_mean(v.get_ref(), FACILITIES.iter().map(|f| f.0))
            ),
        );
    }
    found
}

/// `log_level`.
pub(crate) fn level<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<LogLevel> {
    let v = v.as_ref()?;
    let found = LEVELS.iter().find(|(n, _)| n == v.get_ref()).map(|l| l.1);
    if found.is_none() {
        report.error(
            &p.at(v.span()),
            format!(
                "unknown log_level \"{}\": expected emerg, alert, crit, err, warning, \
                 notice, info or debug{}",
                v.get_ref(),
                did_you_mean(v.get_ref(), LEVELS.iter().map(|l| l.0))
            ),
        );
    }
    found
}

/// A proxy's `log`, `log_facility` and `log_level`; `None` when it has no
/// `log` (its traffic goes to the global targets).
pub(crate) fn proxy_log<T>(
    p: &Parsed<T>,
    log: &Option<Spanned<OneOrMany<String>>>,
    fac: &Option<Spanned<String>>,
    lvl: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<ProxyLog> {
    let facility = facility(p, fac, report);
    let level = level(p, lvl, report);
    let Some(log) = log else {
        for (key, set) in [
            ("log_facility", fac.is_some()),
            ("log_level", lvl.is_some()),
        ] {
            if set {
                let msg = format!(
                    "`{key}` applies to this proxy's own `log` targets, and it has none: add \
                     log = \"udp://HOST:PORT\", or set `{key}` in [global]"
                );
                report.error(&p.key_loc(key), msg);
            }
        }
        return None;
    };
    let (targets, global) = targets(p, log, true, report);
    if log.get_ref().entries(log.span()).is_empty() {
        let msg = "`log` is empty: list targets, or \"global\" for the global ones";
        report.error(&p.key_loc("log"), msg);
    }
    Some(ProxyLog {
        global,
        targets,
        facility: facility.unwrap_or(FACILITY),
        level: level.unwrap_or(LEVEL),
    })
}

/// The named layouts.
const NAMED: [&str; 4] = ["tcplog", "httplog", "httpslog", "json"];

/// `log_format`: a named layout, or a custom string (with `%`) compiled
/// here; each error in it at its own column.
pub(crate) fn log_format<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<LogFormat> {
    let v = v.as_ref()?;
    match v.get_ref().as_str() {
        "tcplog" => Some(LogFormat::TcpLog),
        "httplog" => Some(LogFormat::HttpLog),
        "httpslog" => Some(LogFormat::HttpsLog),
        "json" => Some(LogFormat::Json),
        s if s.contains('%') => match Format::compile(s) {
            Ok(f) => Some(LogFormat::Custom(Arc::new(f))),
            Err(errors) => {
                for e in errors {
                    let at = super::strpos::inside(report, &p.at(v.span()), e.offset);
                    report.error(&at, format!("in log_format: {}", e.message));
                }
                None
            }
        },
        s => {
            let msg = format!(
                "unknown log_format \"{s}\": expected \"tcplog\", \"httplog\", \"httpslog\", \
                 \"json\" or a string of %-aliases such as \"%ci [%tr] %{{+Q}}r\"{}",
                did_you_mean(s, NAMED)
            );
            report.error(&p.at(v.span()), msg);
            None
        }
    }
}

/// Warns about the HTTP-only aliases of a custom format used by a
/// TCP-mode proxy (they show `-` or -1 there).
pub(crate) fn warn_http_aliases<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    format: &LogFormat,
    what: &str,
    report: &mut Report,
) {
    let (LogFormat::Custom(f), Some(v)) = (format, v) else {
        return;
    };
    for (name, offset) in f.http_only() {
        let at = super::strpos::inside(report, &p.at(v.span()), offset);
        let msg = format!("in log_format: %{name} needs HTTP; this {what} is in TCP mode, where it shows `-` or -1");
        report.warn(&at, msg);
    }
}

/// The keys of this file that need HTTP, set in a TCP-mode proxy (`what`:
/// its kind): one error each.
pub(crate) fn refuse_in_tcp(p: &Parsed<ProxyFile>, f: &ProxyFile, what: &str, report: &mut Report) {
    let keys = [
        ("capture_request_header", f.capture_request_header.is_some()),
        (
            "capture_response_header",
            f.capture_response_header.is_some(),
        ),
        ("errorfile", f.errorfile.is_some()),
    ];
    for (key, set) in keys {
        if set {
            let msg = format!("`{key}` only applies in HTTP mode; this {what} is in TCP mode");
            report.error(&p.key_loc(key), msg);
        }
    }
}

/// A frontend's `capture_request_header` or `capture_response_header`.
pub(crate) fn captures<T>(
    p: &Parsed<T>,
    key: &str,
    list: &Option<Spanned<Vec<Spanned<CaptureFile>>>>,
    report: &mut Report,
) -> Vec<HeaderCapture> {
    let mut out: Vec<HeaderCapture> = Vec::new();
    let Some(list) = list else { return out };
    for (i, entry) in list.get_ref().iter().enumerate() {
        let e = entry.get_ref();
        let Some(name) = &e.name else {
            if !p
                .hinted
                .iter()
                .any(|h| h.starts_with(&format!("{key}.{i}.")))
            {
                report.error(&p.at(entry.span()), format!("`{key}` entry without `name`"));
            }
            continue;
        };
        let n = name.get_ref();
        if !super::acl::is_token(n) {
            report.error(&p.at(name.span()), format!("invalid header name \"{n}\""));
            continue;
        }
        if out.iter().any(|c| c.name.eq_ignore_ascii_case(n)) {
            report.error(
                &p.at(name.span()),
                format!("header \"{n}\" is captured twice"),
            );
            continue;
        }
        let len = super::validate::int_in(p, &e.len, "len", 1, 65535, report).unwrap_or(64);
        out.push(HeaderCapture {
            name: n.clone(),
            len: len as usize,
        });
    }
    out
}

/// A frontend's layout: its own `log_format`, else `[defaults]`', else
/// by mode. `httplog` and `httpslog` need HTTP; inherited from
/// `[defaults]` they give `tcplog` to a TCP-mode proxy, as in HAProxy.
pub(crate) fn frontend_format<T>(
    p: &Parsed<T>,
    own: &Option<Spanned<String>>,
    inherited: &Option<LogFormat>,
    http: bool,
    what: &str,
    report: &mut Report,
) -> LogFormat {
    match log_format(p, own, report) {
        Some(l @ (LogFormat::HttpLog | LogFormat::HttpsLog)) if !http => {
            let name = if l == LogFormat::HttpLog {
                "httplog"
            } else {
                "httpslog"
            };
            let msg = format!(
                "log_format \"{name}\" needs mode = \"http\"; this {what} is in TCP mode: use \"tcplog\""
            );
            report.error(&p.key_loc("log_format"), msg);
            LogFormat::TcpLog
        }
        Some(l) => {
            if !http {
                warn_http_aliases(p, own, &l, what, report);
            }
            l
        }
        None => match (inherited, http) {
            (Some(LogFormat::HttpLog | LogFormat::HttpsLog), false) | (None, false) => {
                LogFormat::TcpLog
            }
            (None, true) => LogFormat::HttpLog,
            (Some(l), _) => l.clone(),
        },
    }
}
