//! A backend's servers into [`model::Server`]s: addresses, weights,
//! checks, TLS and protocol settings, PROXY protocol, and the shared
//! slots a backend reserves for servers added at run time
//! (`server_slots`).

use super::diag::Report;
use super::file::{Parsed, ProxyFile, ProxySection, ServerFile};
use super::model::{self, Mode, ProxyVersion, Server};
use super::tls_server::{self, SystemRoots};
use super::validate as v;
use super::validate::{check_server_name, missing};

/// `server_slots`: at least the configured servers (which take the first
/// slots); the default leaves room for as many again, 16 at least.
pub(super) fn server_slots(
    s: &ProxySection,
    f: &ProxyFile,
    configured: usize,
    report: &mut Report,
) -> usize {
    let p = &s.parsed;
    let max = model::defaults::SERVER_SLOTS_MAX as i64;
    let Some(n) = v::int_in(p, &f.server_slots, "server_slots", 1, max, report) else {
        return model::defaults::server_slots(configured);
    };
    let n = n as usize;
    if n < configured {
        let msg = format!(
            "`server_slots` = {n} is less than the {configured} servers {} \"{}\" configures: \
             give at least {configured}, and room for the servers the runtime API may add",
            s.kind.word(),
            s.name
        );
        report.error(&p.key_loc("server_slots"), msg);
        return configured;
    }
    n
}

/// `check = true` on a server needs the backend's `check` table (a table
/// without any checked server is fine: it checks nothing).
pub(super) fn servers_need_check_table(s: &ProxySection, f: &ProxyFile, report: &mut Report) {
    let Some(list) = &f.server else { return };
    for (i, entry) in list.get_ref().iter().enumerate() {
        if entry.get_ref().check.as_ref().is_some_and(|b| *b.get_ref()) {
            let msg = format!(
                "server check = true needs a `check` table in {} \"{}\": add check = {{ type = \"tcp\" }}",
                s.kind.word(),
                s.name
            );
            report.error(&s.parsed.key_loc(&format!("server.{i}.check")), msg);
        }
    }
}

pub(super) fn servers(
    p: &Parsed<ProxyFile>,
    f: &ProxyFile,
    mode: Mode,
    system_roots: &mut SystemRoots,
    resolvers: &[String],
    report: &mut Report,
) -> Vec<Server> {
    let mut out: Vec<Server> = Vec::new();
    let Some(list) = &f.server else { return out };
    for (i, entry) in list.get_ref().iter().enumerate() {
        let e = entry.get_ref();
        let key = |k: &str| format!("server.{i}.{k}");
        let Some(name) = &e.name else {
            missing(
                p,
                &key("name"),
                "server entry without `name`".into(),
                report,
            );
            continue;
        };
        if let Err(why) = check_server_name(name.get_ref()) {
            report.error(
                &p.at(name.span()),
                format!("invalid server name \"{}\": {why}", name.get_ref()),
            );
        } else if out.iter().any(|s| s.name == *name.get_ref()) {
            let msg = format!(
                "duplicate server name \"{}\" in this backend",
                name.get_ref()
            );
            report.error(&p.at(name.span()), msg);
        }
        let Some(address) = &e.address else {
            missing(
                p,
                &key("address"),
                format!("server \"{}\" has no `address`", name.get_ref()),
                report,
            );
            continue;
        };
        let Some((addr, dns)) = super::resolvers::server_address(p, e, address, resolvers, report)
        else {
            continue;
        };
        let weight = v::int_in(p, &e.weight, "weight", 1, 256, report).unwrap_or(1) as u32;
        let maxconn = v::int_in(p, &e.maxconn, "maxconn", 1, i64::from(u32::MAX), report);
        let v1 = e.send_proxy.as_ref().is_some_and(|b| *b.get_ref());
        let v2 = e.send_proxy_v2.as_ref().is_some_and(|b| *b.get_ref());
        let send_proxy = match (v1, v2) {
            (false, false) => None,
            (true, false) => Some(ProxyVersion::V1),
            (false, true) => Some(ProxyVersion::V2),
            (true, true) => {
                report.error(
                    &p.key_loc(&key("send_proxy_v2")),
                    "`send_proxy` and `send_proxy_v2` together: choose one version",
                );
                None
            }
        };
        let mut tls = e.tls.as_ref().and_then(|spec| {
            let target = tls_server::Target {
                prefix: &format!("server.{i}"),
                address: address.get_ref(),
                addr,
                mode,
            };
            tls_server::build(p, spec, &target, system_roots, report)
        });
        let h2 = server_proto(p, e, mode, &mut tls, &key, report);
        if h2 && send_proxy.is_some() {
            let which = if v2 { "send_proxy_v2" } else { "send_proxy" };
            report.error(
                &p.key_loc(&key(which)),
                "a PROXY header names one client, and an HTTP/2 server connection carries \
                 the streams of many: not with proto = \"h2\"",
            );
        }
        out.push(Server {
            name: name.get_ref().clone(),
            addr,
            weight,
            backup: e.backup.as_ref().is_some_and(|b| *b.get_ref()),
            // A host name with init_addr = "none" starts in maintenance,
            // until the resolvers answer.
            disabled: e.disabled.as_ref().is_some_and(|b| *b.get_ref())
                || dns.as_ref().is_some_and(|d| d.start_none),
            check: e.check.as_ref().is_some_and(|b| *b.get_ref()),
            maxconn: maxconn.map(|n| n as usize),
            tls,
            send_proxy,
            h2,
            dns,
        });
    }
    out
}

/// Whether a server speaks HTTP/2: `proto = "h2"`, or TLS whose ALPN
/// offers only `h2`. `proto = "h2"` over TLS offers ALPN `h2` when the
/// server's `tls` names no protocol.
fn server_proto(
    p: &Parsed<ProxyFile>,
    e: &ServerFile,
    mode: Mode,
    tls: &mut Option<model::ServerTls>,
    key: &dyn Fn(&str) -> String,
    report: &mut Report,
) -> bool {
    let alpn_h2 = tls.as_ref().is_some_and(|t| t.alpn == ["h2"]);
    let Some(proto) = &e.proto else {
        return alpn_h2 && mode == Mode::Http;
    };
    let h2 = match (proto.get_ref().as_str(), mode) {
        (_, Mode::Tcp) => {
            report.error(
                &p.at(proto.span()),
                "`proto` applies to servers of HTTP backends; this one is in TCP mode",
            );
            return false;
        }
        ("h2", _) => true,
        ("h1" | "http/1.1", _) => false,
        (other, _) => {
            let msg = format!("unknown server proto \"{other}\": expected \"h2\" or \"http/1.1\"");
            report.error(&p.at(proto.span()), msg);
            return false;
        }
    };
    match tls {
        Some(t) if h2 && t.alpn.is_empty() => t.alpn = vec!["h2".into()],
        Some(t) if h2 != (t.alpn == ["h2"]) && !t.alpn.is_empty() => {
            let msg = format!(
                "proto = \"{}\" and the server's TLS ALPN {:?} disagree",
                proto.get_ref(),
                t.alpn
            );
            report.error(&p.key_loc(&key("tls")), msg);
        }
        _ => {}
    }
    h2
}
