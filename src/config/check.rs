//! A backend's `check` table into [`model::HealthCheck`].
//!
//! Defaults, as HAProxy's: `type = "tcp"`; for HTTP checks `method = "GET"`,
//! `path = "/"`, no `host` (the server's address is sent), `expect_status =
//! "200-399"` (HAProxy's 2xx/3xx); `interval = "2s"`; `timeout` =
//! `timeout.check` of the backend or `[defaults]`, else the interval;
//! `rise = 2`, `fall = 3`. `method`, `path`, `host` and `expect_status` are
//! refused with `type = "tcp"` (nothing is ignored without a word).
//! `tls` (default true): checks to a server with `tls` use it too. `port`
//! (default: each server's port): where checks connect, on the server's
//! address (HAProxy's server `port`).

use std::time::Duration;

use toml::Spanned;

use super::diag::Report;
use super::file::{CheckFile, Parsed, ProxyFile};
use super::model::{CheckKind, HealthCheck};
use super::raw::IntOrStr;
use super::units;
use super::validate as v;

/// Default time between two checks of a server.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Default consecutive successes to bring a server UP.
pub const DEFAULT_RISE: u32 = 2;
/// Default consecutive failures to take a server DOWN.
pub const DEFAULT_FALL: u32 = 3;
/// Default accepted statuses of an HTTP check (HAProxy: 2xx and 3xx).
pub const DEFAULT_EXPECT: (u16, u16) = (200, 399);

/// Builds the backend's check settings; `timeout_check` is the inherited
/// `timeout.check`. `None` when the table is absent or has an error.
pub(crate) fn build(
    p: &Parsed<ProxyFile>,
    table: &Option<Spanned<CheckFile>>,
    timeout_check: Option<Duration>,
    report: &mut Report,
) -> Option<HealthCheck> {
    let t = table.as_ref()?.get_ref();
    let errors_before = report.errors.len();
    let interval = positive(p, &t.interval, "check.interval", report).unwrap_or(DEFAULT_INTERVAL);
    let timeout = positive(p, &t.timeout, "check.timeout", report)
        .or(timeout_check)
        .unwrap_or(interval);
    let rise =
        v::int_in(p, &t.rise, "check.rise", 1, 1000, report).map_or(DEFAULT_RISE, |n| n as u32);
    let fall =
        v::int_in(p, &t.fall, "check.fall", 1, 1000, report).map_or(DEFAULT_FALL, |n| n as u32);
    let port = v::int_in(p, &t.port, "check.port", 1, 65535, report).map(|n| n as u16);
    let kind = match t.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())) {
        None | Some(("tcp", _)) => {
            for (key, set) in [
                ("method", t.method.is_some()),
                ("path", t.path.is_some()),
                ("host", t.host.is_some()),
                ("expect_status", t.expect_status.is_some()),
            ] {
                if set {
                    let msg = format!(
                        "`check.{key}` only applies to HTTP checks: add type = \"http\" to the check table"
                    );
                    report.error(&p.key_loc(&format!("check.{key}")), msg);
                }
            }
            CheckKind::Tcp
        }
        Some(("http", _)) => http(p, t, report),
        Some((other, span)) => {
            let hint = super::diag::did_you_mean(other, ["tcp", "http"]);
            let msg = format!("invalid check type \"{other}\": expected \"tcp\" or \"http\"{hint}");
            report.error(&p.at(span), msg);
            CheckKind::Tcp
        }
    };
    (report.errors.len() == errors_before).then_some(HealthCheck {
        kind,
        interval,
        timeout,
        rise,
        fall,
        tls: t.tls.as_ref().is_none_or(|b| *b.get_ref()),
        port,
    })
}

/// A duration above zero.
fn positive(
    p: &Parsed<ProxyFile>,
    v: &Option<Spanned<IntOrStr>>,
    key: &str,
    report: &mut Report,
) -> Option<Duration> {
    let v = v.as_ref()?;
    match units::duration(v.get_ref()) {
        Ok(d) if d.is_zero() => {
            report.error(&p.at(v.span()), format!("`{key}` must be above zero"));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            report.error(&p.at(v.span()), e);
            None
        }
    }
}

fn http(p: &Parsed<ProxyFile>, t: &CheckFile, report: &mut Report) -> CheckKind {
    let mut text = |v: &Option<Spanned<String>>, key: &str, ok: fn(&str) -> bool, what: &str| {
        let v = v.as_ref()?;
        if ok(v.get_ref()) {
            return Some(v.get_ref().clone());
        }
        let msg = format!(
            "invalid `check.{key}` \"{}\": {what}",
            v.get_ref().escape_debug()
        );
        report.error(&p.at(v.span()), msg);
        None
    };
    let method = text(
        &t.method,
        "method",
        is_token,
        "expected a method such as GET, HEAD or OPTIONS",
    );
    let path = text(
        &t.path,
        "path",
        |s| s.starts_with('/') && is_visible(s),
        "expected a path starting with '/', without spaces or control characters",
    );
    let host = text(
        &t.host,
        "host",
        |s| !s.is_empty() && is_visible(s),
        "expected a host name, without spaces or control characters",
    );
    let expect = t
        .expect_status
        .as_ref()
        .and_then(|v| match expect(v.get_ref()) {
            Ok(range) => Some(range),
            Err(e) => {
                report.error(&p.at(v.span()), e);
                None
            }
        });
    CheckKind::Http {
        method: method.unwrap_or_else(|| "GET".to_string()),
        path: path.unwrap_or_else(|| "/".to_string()),
        host,
        expect: expect.unwrap_or(DEFAULT_EXPECT),
    }
}

/// An HTTP token (RFC 9110 `tchar`s).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Printable ASCII without spaces: nothing that could end a request line or
/// a header field.
fn is_visible(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// `expect_status`: `200`, `"200"`, `"2xx"` or `"200-399"` (inclusive),
/// within 100–599.
pub(crate) fn expect(v: &IntOrStr) -> Result<(u16, u16), String> {
    let bad = |s: &dyn std::fmt::Display| {
        format!(
            "invalid `check.expect_status` {s}: expected a status (200), a class (\"2xx\") \
             or a range (\"200-399\") within 100-599"
        )
    };
    let status = |s: &str| -> Option<u16> {
        let n: u16 = s.parse().ok().filter(|_| s.len() == 3)?;
        (100..=599).contains(&n).then_some(n)
    };
    let range = match v {
        IntOrStr::Int(n) => u16::try_from(*n)
            .ok()
            .filter(|n| (100..=599).contains(n))
            .map(|n| (n, n)),
        IntOrStr::Str(s) => {
            let lower = s.to_ascii_lowercase();
            if let Some(class) = lower.strip_suffix("xx").filter(|c| c.len() == 1) {
                status(&format!("{class}00")).map(|lo| (lo, lo + 99))
            } else if let Some((lo, hi)) = s.split_once('-') {
                match (status(lo.trim()), status(hi.trim())) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => None,
                }
            } else {
                status(s.trim()).map(|n| (n, n))
            }
        }
    };
    range.ok_or_else(|| match v {
        IntOrStr::Int(n) => bad(n),
        IntOrStr::Str(s) => bad(&format!("\"{}\"", s.escape_debug())),
    })
}
