//! A server's `tls` into [`model::ServerTls`], and the ticket keys of
//! `[global]`.
//!
//! `tls = true`: verify the server's certificate against the system's
//! trust store, SNI = the server's host name when its address is a name
//! (no SNI for an IP address: the certificate must then name the address).
//! The table form changes any of that: `verify = "none"`, `ca = FILE`,
//! `sni = NAME` or `"host"` (the request's Host header, HTTP mode), `alpn`,
//! `crt` (a client certificate). The system store is read at most once per
//! load, only when a server needs it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::RootCertStore;
use toml::Spanned;

use super::diag::{did_you_mean, Report};
use super::file::{GlobalFile, Parsed, ProxyFile};
use super::model::{Mode, ServerSni, ServerTls, ServerVerify, TicketKeyFile};
use super::raw::IntOrStr;
use super::tls::{ServerTlsFile, ServerTlsSpec};
use super::tls_bind::alpn;
use super::units;
use crate::tls::{crt, roots, tickets};

/// The system's trust store, read on first use during one load.
#[derive(Default)]
pub(crate) struct SystemRoots(Option<Result<Arc<RootCertStore>, String>>);

impl SystemRoots {
    fn get(&mut self) -> Result<Arc<RootCertStore>, String> {
        self.0.get_or_insert_with(roots::system_roots).clone()
    }
}

/// What the server entry says besides `tls`.
pub(crate) struct Target<'a> {
    /// `server.N`.
    pub prefix: &'a str,
    /// The address as written (`HOST:PORT`).
    pub address: &'a str,
    pub addr: SocketAddr,
    pub mode: Mode,
}

/// Builds a server's `tls`; `None` for `tls = false` or after an error.
pub(crate) fn build(
    p: &Parsed<ProxyFile>,
    spec: &Spanned<ServerTlsSpec>,
    target: &Target<'_>,
    system: &mut SystemRoots,
    report: &mut Report,
) -> Option<ServerTls> {
    let empty = ServerTlsFile::default();
    let t = match spec.get_ref() {
        ServerTlsSpec::Flag(false) => return None,
        ServerTlsSpec::Flag(true) => &empty,
        ServerTlsSpec::Table(t) => t,
    };
    let errors_before = report.errors.len();
    let tls_key = format!("{}.tls", target.prefix);
    let key = |k: &str| format!("{tls_key}.{k}");
    let verify = match t.verify.as_ref().map(|v| (v.get_ref().as_str(), v.span())) {
        None | Some(("required", _)) => ServerVerify::Required,
        Some(("none", _)) => ServerVerify::None,
        Some((s, span)) => {
            let hint = did_you_mean(s, ["required", "none"]);
            let msg = format!("invalid `verify` \"{s}\": expected \"required\" or \"none\"{hint}");
            report.error(&p.at(span), msg);
            ServerVerify::Required
        }
    };
    let ca = t.ca.as_ref().and_then(|ca| {
        roots::load_ca_file(&PathBuf::from(ca.get_ref()))
            .map_err(|e| report.error(&p.key_loc(&key("ca")), format!("ca {e}")))
            .ok()
    });
    if verify == ServerVerify::None && t.ca.is_some() {
        let msg = "`ca` has no effect with verify = \"none\"";
        report.warn(&p.key_loc(&key("ca")), msg);
    }
    let roots = match (verify, &ca) {
        (ServerVerify::None, _) => None,
        (ServerVerify::Required, Some(ca)) => Some(ca.roots.clone()),
        (ServerVerify::Required, None) if t.ca.is_some() => None,
        (ServerVerify::Required, None) => match system.get() {
            Ok(r) => Some(r),
            Err(e) => {
                report.error(&p.key_loc(&tls_key), e);
                None
            }
        },
    };
    let host = host_name(target.address);
    let sni = match &t.sni {
        None => match &host {
            Some(h) => ServerSni::Name(h.clone()),
            None => ServerSni::Address(target.addr.ip()),
        },
        Some(s) if s.get_ref() == "host" => {
            if target.mode == Mode::Tcp {
                let msg =
                    "sni = \"host\" takes the request's Host header: it needs mode = \"http\"";
                report.error(&p.at(s.span()), msg);
            }
            ServerSni::RequestHost { fallback: host }
        }
        Some(s) => match ServerName::try_from(s.get_ref().as_str()) {
            Ok(ServerName::IpAddress(ip)) => ServerSni::Address(IpAddr::from(ip)),
            Ok(_) => ServerSni::Name(s.get_ref().to_ascii_lowercase()),
            Err(_) => {
                let msg = format!(
                    "invalid `sni` \"{}\": expected a host name, or \"host\" for the request's \
                     Host header",
                    s.get_ref()
                );
                report.error(&p.at(s.span()), msg);
                ServerSni::Address(target.addr.ip())
            }
        },
    };
    let alpn = alpn(p, &t.alpn, report).unwrap_or_default();
    if alpn.iter().any(|a| a == "h2") {
        if let Some(v) = &t.alpn {
            let msg = "ALPN \"h2\" towards a server is not supported yet: weir speaks \
                       HTTP/1.1 to servers (HTTP/2 is on the client side)";
            report.error(&p.at(v.span()), msg);
        }
    }
    let crt = t.crt.as_ref().and_then(|c| {
        let path = PathBuf::from(c.get_ref());
        match crt::load_file(&path) {
            Ok(cert) => {
                for w in crt::warnings(&cert, crate::tls::x509::now()) {
                    report.warn(&p.key_loc(&key("crt")), format!("crt {w}"));
                }
                Some(Arc::new(cert))
            }
            Err(e) => {
                report.error(&p.key_loc(&key("crt")), format!("crt {e}"));
                None
            }
        }
    });
    if report.errors.len() != errors_before {
        return None;
    }
    let tls = ServerTls {
        verify,
        roots,
        ca: t.ca.as_ref().map(|c| PathBuf::from(c.get_ref())),
        sni,
        alpn,
        crt,
    };
    if let Err(e) = crate::tls::client::Connector::from_server(&tls) {
        report.error(&p.key_loc(&tls_key), e);
        return None;
    }
    Some(tls)
}

/// The host of `HOST:PORT` when it is a name, not an address.
fn host_name(address: &str) -> Option<String> {
    if address.parse::<SocketAddr>().is_ok() {
        return None;
    }
    let (host, _) = address.rsplit_once(':')?;
    if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

/// `tls_ticket_keys` and `tls_ticket_lifetime` of `[global]`.
pub(crate) fn global(
    p: &Parsed<GlobalFile>,
    f: &GlobalFile,
    report: &mut Report,
) -> (Option<TicketKeyFile>, Option<Duration>) {
    let keys = f.tls_ticket_keys.as_ref().and_then(|v| {
        let path = PathBuf::from(v.get_ref());
        match tickets::file::load(&path) {
            Ok(keys) => Some(TicketKeyFile { path, keys }),
            Err(e) => {
                report.error(&p.at(v.span()), format!("tls_ticket_keys {e}"));
                None
            }
        }
    });
    let lifetime = f
        .tls_ticket_lifetime
        .as_ref()
        .and_then(|v| lifetime(p, v, report));
    (keys, lifetime)
}

fn lifetime(
    p: &Parsed<GlobalFile>,
    v: &Spanned<IntOrStr>,
    report: &mut Report,
) -> Option<Duration> {
    let max = tickets::ticketer::MAX_LIFETIME;
    match units::duration(v.get_ref()) {
        Ok(d) if d < Duration::from_secs(60) || d > max => {
            let msg = "`tls_ticket_lifetime` must be between 1m and 7d (TLS 1.3's longest \
                       ticket lifetime)";
            report.error(&p.at(v.span()), msg);
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            report.error(&p.at(v.span()), e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_and_addresses() {
        assert_eq!(
            host_name("api.example.com:443").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(host_name("Localhost:8443").as_deref(), Some("localhost"));
        assert_eq!(host_name("10.0.0.1:443"), None);
        assert_eq!(host_name("[::1]:443"), None);
    }
}
