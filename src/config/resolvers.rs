//! `[resolvers.NAME]`, servers whose `address` is a host name with
//! `resolvers`, and `server_template` (SPEC §12): validated here, resolved
//! while weir runs by the control process.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use toml::Spanned;

use super::diag::Report;
use super::file::{FileModel, Parsed, ProxyFile, ServerFile};
use super::model::{Resolvers, Server, ServerDns, ServerTemplate};
use super::raw::IntOrStr;
use super::units;

/// HAProxy's defaults.
const RESOLVE: Duration = Duration::from_secs(1);
const RETRY: Duration = Duration::from_secs(1);
const RETRIES: u32 = 3;
const HOLD_VALID: Duration = Duration::from_secs(10);
const HOLD_NX: Duration = Duration::from_secs(30);
const HOLD_TIMEOUT: Duration = Duration::from_secs(30);
const HOLD_OTHER: Duration = Duration::from_secs(30);
const PAYLOAD: u16 = 512;

/// Every `[resolvers.NAME]` section.
pub(crate) fn build(files: &FileModel, report: &mut Report) -> Vec<Resolvers> {
    let mut out: Vec<Resolvers> = Vec::new();
    for (i, s) in files.resolvers.iter().enumerate() {
        if let Some(first) = files.resolvers[..i].iter().find(|o| o.name == s.name) {
            let msg = format!(
                "duplicate section [resolvers.{}]; it is first defined at {}",
                s.name,
                report.describe(&first.parsed.loc)
            );
            report.error(&s.parsed.loc, msg);
            continue;
        }
        let p = &s.parsed;
        let Some(f) = &p.body else { continue };
        let mut nameservers = Vec::new();
        for ns in f.nameservers.iter().flat_map(|l| l.get_ref()) {
            match nameserver(ns.get_ref()) {
                Ok(a) => nameservers.push(a),
                Err(why) => report.error(&p.at(ns.span()), why),
            }
        }
        if f.parse_resolv_conf.as_ref().is_some_and(|b| *b.get_ref()) {
            match std::fs::read_to_string("/etc/resolv.conf") {
                Ok(text) => nameservers.extend(resolv_conf(&text)),
                Err(e) => report.error(
                    &p.key_loc("parse_resolv_conf"),
                    format!("cannot read /etc/resolv.conf: {e}"),
                ),
            }
        }
        if nameservers.is_empty() && f.nameservers.is_none() {
            let msg = format!(
                "[resolvers.{}] has no nameserver: add nameservers = [\"IP:PORT\"] or \
                 parse_resolv_conf = true",
                s.name
            );
            report.error(&p.loc, msg);
        }
        let mut dur = |v: &Option<Spanned<IntOrStr>>, default: Duration| {
            let Some(v) = v else { return default };
            match units::duration(v.get_ref()) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => {
                    report.error(&p.at(v.span()), "a resolvers delay must be above 0");
                    default
                }
                Err(e) => {
                    report.error(&p.at(v.span()), e);
                    default
                }
            }
        };
        let t = f.timeout.as_ref().map(|t| t.get_ref());
        let h = f.hold.as_ref().map(|h| h.get_ref());
        let resolve = dur(&t.and_then(|t| t.resolve.clone()), RESOLVE);
        let retry = dur(&t.and_then(|t| t.retry.clone()), RETRY);
        let hold_valid = dur(&h.and_then(|h| h.valid.clone()), HOLD_VALID);
        let hold_nx = dur(&h.and_then(|h| h.nx.clone()), HOLD_NX);
        let hold_timeout = dur(&h.and_then(|h| h.timeout.clone()), HOLD_TIMEOUT);
        let hold_other = dur(&h.and_then(|h| h.other.clone()), HOLD_OTHER);
        let retries = super::validate::int_in(p, &f.retries, "retries", 1, 100, report)
            .map_or(RETRIES, |n| n as u32);
        let payload = &f.accepted_payload_size;
        let payload =
            super::validate::int_in(p, payload, "accepted_payload_size", 512, 65535, report)
                .map_or(PAYLOAD, |n| n as u16);
        out.push(Resolvers {
            name: s.name.clone(),
            nameservers,
            resolve,
            retry,
            retries,
            hold_valid,
            hold_nx,
            hold_timeout,
            hold_other,
            accepted_payload_size: payload,
        });
    }
    out
}

/// `"IP:PORT"`, or `"IP"` for port 53.
fn nameserver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => Err(format!(
            "invalid nameserver \"{s}\": expected \"IP:PORT\", \"[IPV6]:PORT\" or \"IP\" (port 53)"
        )),
    }
}

/// The `nameserver` lines of a resolv.conf.
pub(crate) fn resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// One `init_addr` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitAddr {
    /// The address the previous generation resolved (on a reload).
    Last,
    /// The system's resolver, at start-up.
    Libc,
    /// No address: in maintenance until an answer.
    None,
    /// This address.
    Ip(IpAddr),
}

fn init_addr(s: &str) -> Result<Vec<InitAddr>, String> {
    let mut out = Vec::new();
    for m in s.split(',').map(str::trim) {
        out.push(match m {
            "last" => InitAddr::Last,
            "libc" => InitAddr::Libc,
            "none" => InitAddr::None,
            other => match other.parse::<IpAddr>() {
                Ok(ip) => InitAddr::Ip(ip),
                Err(_) => {
                    return Err(format!(
                        "invalid init_addr method \"{other}\": expected a list of \"last\", \
                         \"libc\", \"none\" or IP addresses, such as \"last,libc,none\""
                    ))
                }
            },
        });
    }
    Ok(out)
}

/// The index of resolvers `name`, or an error at `at`.
fn resolvers_index<T>(
    p: &Parsed<T>,
    name: &Spanned<String>,
    known: &[String],
    report: &mut Report,
) -> Option<usize> {
    let found = known.iter().position(|r| r == name.get_ref());
    if found.is_none() {
        let hint = super::diag::did_you_mean(name.get_ref(), known.iter().map(String::as_str));
        let msg = match known.is_empty() {
            true => format!(
                "unknown resolvers \"{}\": no [resolvers.NAME] section is defined",
                name.get_ref()
            ),
            false => format!("unknown resolvers \"{}\"{hint}", name.get_ref()),
        };
        report.error(&p.at(name.span()), msg);
    }
    found
}

/// A server's `address` (with its `resolvers` and `init_addr`): its
/// address at start-up, and what to resolve while weir runs. `None` after
/// an error.
pub(crate) fn server_address(
    p: &Parsed<ProxyFile>,
    e: &ServerFile,
    address: &Spanned<String>,
    known: &[String],
    report: &mut Report,
) -> Option<(SocketAddr, Option<ServerDns>)> {
    let Some(res) = &e.resolvers else {
        if let Some(init) = &e.init_addr {
            let msg = "`init_addr` applies to a server with `resolvers` (a host name resolved \
                       while weir runs); without it the address is resolved once, at start-up";
            report.error(&p.at(init.span()), msg);
        }
        return match super::addr::server(address.get_ref()) {
            Ok(a) => Some((a, None)),
            Err(why) => {
                report.error(&p.at(address.span()), why);
                None
            }
        };
    };
    let r = resolvers_index(p, res, known, report);
    let text = address.get_ref();
    if let Ok(a) = text.parse::<SocketAddr>() {
        // An IP address: nothing to resolve.
        return Some((a, None));
    }
    let bad = |why: &str| format!("invalid server address \"{text}\": {why}");
    let Some((host, port)) = text.rsplit_once(':') else {
        report.error(&p.at(address.span()), bad("expected HOST:PORT"));
        return None;
    };
    let port = match port.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            report.error(&p.at(address.span()), bad("the port must be 1-65535"));
            return None;
        }
    };
    if let Err(why) = host_name(host) {
        report.error(&p.at(address.span()), bad(&why));
        return None;
    }
    let methods = match &e.init_addr {
        None => vec![InitAddr::Last, InitAddr::Libc],
        Some(s) => match init_addr(s.get_ref()) {
            Ok(m) => m,
            Err(why) => {
                report.error(&p.at(s.span()), why);
                return None;
            }
        },
    };
    let mut start = None;
    let mut why = String::from("init_addr gives no method that applies at start-up");
    for m in &methods {
        match m {
            InitAddr::Last => {}
            InitAddr::Libc => match (host, port).to_socket_addrs().map(|mut a| a.next()) {
                Ok(Some(a)) => start = Some((a, false)),
                Ok(None) => why = format!("\"{host}\" has no address"),
                Err(e) => why = format!("cannot resolve \"{host}\": {e}"),
            },
            InitAddr::None => {
                start = Some((SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port), true))
            }
            InitAddr::Ip(ip) => start = Some((SocketAddr::new(*ip, port), false)),
        }
        if start.is_some() {
            break;
        }
    }
    let Some((addr, start_none)) = start else {
        let msg = format!(
            "server address \"{text}\" has no address at start-up: {why}; add \"none\" to \
             init_addr (init_addr = \"last,libc,none\") to start it in maintenance until \
             the resolvers answer"
        );
        report.error(&p.at(address.span()), msg);
        return None;
    };
    let r = r?;
    Some((
        addr,
        Some(ServerDns {
            resolvers: r,
            host: host.to_ascii_lowercase(),
            start_none,
            last: methods.contains(&InitAddr::Last),
        }),
    ))
}

/// A host name as DNS carries it: labels of 1-63 letters, digits, `-`
/// and `_`, 253 bytes in all.
pub(crate) fn host_name(host: &str) -> Result<(), String> {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.is_empty() || h.len() > 253 {
        return Err("a host name has 1 to 253 characters".into());
    }
    for label in h.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!("\"{host}\" is not a host name"));
        }
    }
    Ok(())
}

/// `server_template`: the template and its servers, in maintenance until
/// an answer fills them, to append to the backend's (`first` is the index
/// the first one takes; `has_check` whether the backend has a `check`
/// table).
pub(crate) fn template(
    p: &Parsed<ProxyFile>,
    f: &ProxyFile,
    first: usize,
    has_check: bool,
    known: &[String],
    report: &mut Report,
) -> Option<(ServerTemplate, Vec<Server>)> {
    let t = f.server_template.as_ref()?;
    let t = t.get_ref();
    let key = |k: &str| format!("server_template.{k}");
    let mut ok = true;
    let mut missing = |k: &str, report: &mut Report| {
        ok = false;
        if !p.hinted.contains(&key(k)) {
            let msg = format!("`server_template` needs `{k}`");
            report.error(&p.key_loc("server_template"), msg);
        }
    };
    for k in ["prefix", "count", "name", "resolvers"] {
        let absent = match k {
            "prefix" => t.prefix.is_none(),
            "count" => t.count.is_none(),
            "name" => t.name.is_none(),
            _ => t.resolvers.is_none(),
        };
        if absent {
            missing(k, report);
        }
    }
    let count = super::validate::int_in(p, &t.count, "count", 1, 65_536, report);
    let port = super::validate::int_in(p, &t.port, "port", 1, 65_535, report);
    let weight = super::validate::int_in(p, &t.weight, "weight", 1, 256, report).unwrap_or(1);
    let r = t
        .resolvers
        .as_ref()
        .and_then(|r| resolvers_index(p, r, known, report));
    let mut last = true;
    if let Some(init) = &t.init_addr {
        match init_addr(init.get_ref()) {
            Ok(m)
                if m.iter()
                    .all(|m| matches!(m, InitAddr::Last | InitAddr::None)) =>
            {
                last = m.contains(&InitAddr::Last);
            }
            Ok(_) => report.error(
                &p.at(init.span()),
                "a template's servers start without an address: init_addr takes \"last\" \
                 and \"none\" only",
            ),
            Err(why) => report.error(&p.at(init.span()), why),
        }
    }
    let check = t.check.as_ref().is_some_and(|b| *b.get_ref());
    if check && !has_check {
        report.error(
            &p.key_loc(&key("check")),
            "server_template check = true needs a `check` table: add check = { type = \"tcp\" }",
        );
    }
    if let Some(n) = &t.name {
        if let Err(why) = host_name(n.get_ref()) {
            report.error(&p.at(n.span()), format!("invalid template name: {why}"));
            ok = false;
        }
    }
    if let Some(n) = &t.name {
        if !n.get_ref().starts_with('_') && t.port.is_none() {
            report.error(
                &p.at(n.span()),
                format!(
                    "server_template name \"{}\" is asked for A and AAAA records, which carry \
                     no port: add port = N (or give an SRV name, _SERVICE._PROTO.NAME)",
                    n.get_ref()
                ),
            );
            ok = false;
        }
    }
    let prefix = t.prefix.as_ref()?;
    let (count, r, name) = (count?, r?, t.name.as_ref()?);
    if !ok {
        return None;
    }
    let mut servers = Vec::new();
    for n in 1..=count {
        let sname = format!("{}{n}", prefix.get_ref());
        if let Err(why) = super::validate::check_server_name(&sname) {
            report.error(
                &p.at(prefix.span()),
                format!("invalid server name \"{sname}\" from the template's prefix: {why}"),
            );
            return None;
        }
        servers.push(Server {
            name: sname,
            addr: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port.unwrap_or(0) as u16),
            weight: weight as u32,
            backup: false,
            disabled: true,
            check,
            maxconn: None,
            tls: None,
            send_proxy: None,
            h2: false,
            dns: None,
        });
    }
    let template = ServerTemplate {
        prefix: prefix.get_ref().clone(),
        count: count as usize,
        name: name.get_ref().to_ascii_lowercase(),
        resolvers: r,
        port: port.map(|p| p as u16),
        first,
        last,
    };
    Some((template, servers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_lines() {
        let text = "# c\nsearch x\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bad\n";
        let got = resolv_conf(text);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], "10.0.0.2:53".parse().unwrap());
    }

    #[test]
    fn init_addr_methods() {
        assert_eq!(
            init_addr("last, libc,none").unwrap(),
            vec![InitAddr::Last, InitAddr::Libc, InitAddr::None]
        );
        assert!(init_addr("last,dns").is_err());
        assert_eq!(
            init_addr("10.0.0.1").unwrap(),
            vec![InitAddr::Ip("10.0.0.1".parse().unwrap())]
        );
    }

    #[test]
    fn host_names() {
        assert!(host_name("_http._tcp.web.service.consul").is_ok());
        assert!(host_name("api.internal.").is_ok());
        assert!(host_name("a..b").is_err());
        assert!(host_name("a b").is_err());
    }
}
