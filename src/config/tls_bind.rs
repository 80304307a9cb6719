//! A bind's `tls` table into [`model::BindTls`]: every certificate and key
//! loaded and checked (errors and warnings at the `crt` key), versions,
//! cipher suites by IANA name (errors at the name's column), ALPN, client
//! certificates. Then the rustls configuration is built once, so that
//! anything rustls refuses is reported by `weir -c` too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::diag::{did_you_mean, Report};
use super::file::{Parsed, ProxyFile};
use super::model::{BindTls, ClientVerify, Mode, TlsVersion};
use super::raw::OneOrMany;
use super::tls::BindTlsFile;
use super::units;
use crate::tls::{crt, roots, suites};

/// Builds the `tls` of the bind whose key path is `prefix` (`bind` or
/// `bind.N`); `client_timeout` is the frontend's `timeout.client`.
pub(crate) fn build(
    p: &Parsed<ProxyFile>,
    prefix: &str,
    t: &BindTlsFile,
    mode: Mode,
    client_timeout: Duration,
    report: &mut Report,
) -> Option<BindTls> {
    let errors_before = report.errors.len();
    let key = |k: &str| format!("{prefix}.tls.{k}");
    let mut certs = certificates(p, &key("crt"), &t.crt, report);
    let default_crt = t.default_crt.as_ref().map(|d| {
        let path = PathBuf::from(d.get_ref());
        if path.is_dir() {
            let msg = format!(
                "`default_crt` \"{}\" is a directory: name one certificate file",
                path.display()
            );
            report.error(&p.at(d.span()), msg);
        } else if !certs.iter().any(|c| c.path == path) {
            let mut more = crt::Loaded::default();
            crt::load_entry(&path, &mut more);
            file_findings(p, &key("default_crt"), &more, report);
            certs.extend(more.certs.into_iter().map(Arc::new));
        }
        path
    });
    if t.crt.is_none() && !p.hinted.iter().any(|h| h == &key("crt")) {
        let msg = "a bind's `tls` needs `crt`: a PEM file or a directory of them, such as \
                   tls = { crt = \"/etc/weir/certs/\" }";
        report.error(&p.key_loc(&format!("{prefix}.tls")), msg);
    }
    let default_alpn = match mode {
        Mode::Http => vec!["http/1.1".to_string()],
        Mode::Tcp => Vec::new(),
    };
    let alpn = alpn(p, &t.alpn, report).unwrap_or(default_alpn);
    let min_version = version(p, &t.min_version, report).unwrap_or(TlsVersion::V1_2);
    let max_version = version(p, &t.max_version, report).unwrap_or(TlsVersion::V1_3);
    if min_version > max_version {
        report.error(
            &p.key_loc(&key("min_version")),
            "`min_version` is above `max_version`: no TLS version is left",
        );
    }
    let ciphersuites = ciphersuites(
        p,
        &key("ciphersuites"),
        t,
        (min_version, max_version),
        report,
    );
    let client_ca = t.client_ca.as_ref().and_then(|ca| {
        roots::load_ca_file(&PathBuf::from(ca.get_ref()))
            .map_err(|e| report.error(&p.key_loc(&key("client_ca")), format!("client_ca {e}")))
            .ok()
    });
    let verify = client_verify(p, t, report);
    if verify != ClientVerify::None && t.client_ca.is_none() {
        let msg = "`verify` = \"optional\" or \"required\" needs `client_ca`, the CAs that sign \
                   client certificates";
        report.error(&p.key_loc(&key("verify")), msg);
    }
    if verify == ClientVerify::None && t.client_ca.is_some() {
        let msg = "`client_ca` has no effect while `verify` is \"none\" (no client certificate \
                   is asked for): add verify = \"optional\" or \"required\"";
        report.warn(&p.key_loc(&key("client_ca")), msg);
    }
    let handshake_timeout = match &t.handshake_timeout {
        Some(v) => match units::duration(v.get_ref()) {
            Ok(d) if d.is_zero() => {
                report.error(&p.at(v.span()), "`handshake_timeout` must be above zero");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                report.error(&p.at(v.span()), e);
                None
            }
        },
        None => None,
    };
    if report.errors.len() != errors_before {
        return None;
    }
    let tls = BindTls {
        certs,
        default_crt,
        strict_sni: t.strict_sni.as_ref().is_some_and(|b| *b.get_ref()),
        alpn,
        min_version,
        max_version,
        ciphersuites,
        client_ca,
        verify,
        handshake_timeout: handshake_timeout.unwrap_or(client_timeout),
        resumption: t.resumption.as_ref().is_none_or(|b| *b.get_ref()),
    };
    if let Err(e) = crate::tls::server::Acceptor::from_bind(&tls, None) {
        report.error(&p.key_loc(&format!("{prefix}.tls")), e);
        return None;
    }
    Some(tls)
}

/// Loads every `crt` entry; reports each bad file and each warning at `key`.
fn certificates(
    p: &Parsed<ProxyFile>,
    key: &str,
    v: &Option<Spanned<OneOrMany<String>>>,
    report: &mut Report,
) -> Vec<Arc<crt::LoadedCert>> {
    let Some(v) = v else { return Vec::new() };
    let entries = v.get_ref().entries(v.span());
    let mut paths = Vec::new();
    for e in &entries {
        if e.get_ref().is_empty() {
            report.error(&p.at(e.span()), "`crt` entries must be paths, got \"\"");
        } else {
            paths.push(PathBuf::from(e.get_ref().as_str()));
        }
    }
    if entries.is_empty() {
        report.error(
            &p.key_loc(key),
            "`crt` is an empty list: name a PEM file or directory",
        );
    }
    let loaded = crt::load_all(&paths);
    file_findings(p, key, &loaded, report);
    loaded.certs.into_iter().map(Arc::new).collect()
}

/// Reports what loading found: errors and warnings, each naming its file.
fn file_findings(p: &Parsed<ProxyFile>, key: &str, l: &crt::Loaded, report: &mut Report) {
    let what = key.rsplit('.').next().unwrap_or(key);
    for e in &l.errors {
        report.error(&p.key_loc(key), format!("{what} {e}"));
    }
    for w in &l.warnings {
        report.warn(&p.key_loc(key), format!("{what} {w}"));
    }
}

/// `alpn`: protocol names (1 to 255 bytes), no duplicates.
pub(crate) fn alpn<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<Vec<Spanned<String>>>>,
    report: &mut Report,
) -> Option<Vec<String>> {
    let v = v.as_ref()?;
    let mut out: Vec<String> = Vec::new();
    for proto in v.get_ref() {
        let s = proto.get_ref();
        let msg = if s.is_empty() || s.len() > 255 {
            Some(format!("invalid ALPN protocol \"{s}\": 1 to 255 bytes"))
        } else if out.contains(s) {
            Some(format!("ALPN protocol \"{s}\" is listed twice"))
        } else {
            None
        };
        match msg {
            Some(m) => report.error(&p.at(proto.span()), m),
            None => out.push(s.clone()),
        }
    }
    Some(out)
}

fn version(
    p: &Parsed<ProxyFile>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<TlsVersion> {
    let v = v.as_ref()?;
    match v.get_ref().as_str() {
        "1.2" => Some(TlsVersion::V1_2),
        "1.3" => Some(TlsVersion::V1_3),
        old @ ("1.0" | "1.1" | "ssl3" | "SSLv3") => {
            let msg =
                format!("TLS version \"{old}\" is not available: weir speaks TLS 1.2 and 1.3 only");
            report.error(&p.at(v.span()), msg);
            None
        }
        s => {
            let msg = format!("invalid TLS version \"{s}\": expected \"1.2\" or \"1.3\"");
            report.error(&p.at(v.span()), msg);
            None
        }
    }
}

/// `ciphersuites`: IANA names, each error at its own column; every enabled
/// version needs one of its suites.
fn ciphersuites(
    p: &Parsed<ProxyFile>,
    key: &str,
    t: &BindTlsFile,
    (min, max): (TlsVersion, TlsVersion),
    report: &mut Report,
) -> Option<Vec<String>> {
    let v = t.ciphersuites.as_ref()?;
    let mut names = Vec::new();
    let mut has = (false, false);
    for name in v.get_ref() {
        match suites::by_name(name.get_ref()) {
            Ok(s) => {
                match suites::version_of(s) {
                    "1.3" => has.1 = true,
                    _ => has.0 = true,
                }
                names.push(suites::iana_name(s));
            }
            Err(e) => report.error(&p.at(name.span()), e),
        }
    }
    if names.len() != v.get_ref().len() {
        return None;
    }
    if names.is_empty() {
        report.error(
            &p.key_loc(key),
            "`ciphersuites` is empty: list at least one suite",
        );
        return None;
    }
    for (on, listed, ver, other) in [
        (min <= TlsVersion::V1_2, has.0, "1.2", "1.3"),
        (max >= TlsVersion::V1_3, has.1, "1.3", "1.2"),
    ] {
        if on && !listed {
            let msg = format!(
                "`ciphersuites` lists no TLS {ver} suite while TLS {ver} is enabled: add one, \
                 or set min_version and max_version to \"{other}\""
            );
            report.error(&p.key_loc(key), msg);
        }
    }
    Some(names)
}

fn client_verify(p: &Parsed<ProxyFile>, t: &BindTlsFile, report: &mut Report) -> ClientVerify {
    let Some(v) = &t.verify else {
        return ClientVerify::None;
    };
    match v.get_ref().as_str() {
        "none" => ClientVerify::None,
        "optional" => ClientVerify::Optional,
        "required" => ClientVerify::Required,
        s => {
            let hint = did_you_mean(s, ["none", "optional", "required"]);
            let msg = format!(
                "invalid `verify` \"{s}\": expected \"none\", \"optional\" or \"required\"{hint}"
            );
            report.error(&p.at(v.span()), msg);
            ClientVerify::None
        }
    }
}
