//! `show servers state [<backend>]`: HAProxy's format version 1, one line
//! per server, the columns HAProxy 2.6 writes (and reads back with
//! `server-state-file`). Operational state: 0 stopped, 2 running;
//! administrative state: HAProxy's flags (1 forced maintenance, 5 when the
//! configuration disabled the server, 8 forced drain, 32 held in
//! maintenance by DNS resolution). Servers added at
//! run time are listed with the configured ones, in slot order (their
//! `srv_id` is their slot's number). Where an address comes from DNS,
//! `srv_fqdn` names the host resolved and `srvrecord` a template's SRV
//! name (`-` otherwise).

use super::ControlCtx;
use crate::stats::check_status_name;
use std::fmt::Write;
use weir_core::shm::{unix_now, Srv, ADMIN_DRAIN, ADMIN_MAINT};

const HEADER: &str = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state \
srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result \
srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn \
srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

/// HAProxy's number (`HCHK_STATUS_*`) for a check status word.
fn haproxy_code(name: &str) -> u64 {
    match name {
        "L4OK" => 5,
        "L4TOUT" => 6,
        "L4CON" => 7,
        "L7TOUT" => 11,
        "L7RSP" => 12,
        "L7OK" => 13,
        "L7STS" => 15,
        _ => 1, // INI
    }
}

/// The answer, or HAProxy's error for an unknown backend.
pub fn render(cx: &ControlCtx, backend: Option<&str>) -> String {
    let config = cx.config;
    if let Some(name) = backend {
        if !config.backends.iter().any(|b| b.name == name) {
            return "Can't find backend.\n".into();
        }
    }
    // Backend ids as the CSV numbers them.
    let rows = crate::stats::rows(config, cx.shared);
    let now = unix_now();
    let mut out = format!("1\n{HEADER}\n");
    for (b, be) in config.backends.iter().enumerate() {
        if backend.is_some_and(|n| n != be.name) {
            continue;
        }
        let be_id = rows
            .iter()
            .find(|r| r.pxname == be.name && r.svname == "BACKEND")
            .map_or(b + 1, |r| r.iid);
        let (rise, fall) = be.check.as_ref().map_or((2, 3), |c| (c.rise, c.fall));
        for (k, shm) in cx.shared.servers.get(b).into_iter().flatten().enumerate() {
            // Free slots are not listed; servers added at run time are.
            let Some(s) = shm.identity() else { continue };
            let disabled = be
                .servers
                .get(k)
                .is_some_and(|c| !s.runtime && c.name == s.name && c.disabled);
            let (fqdn, srvrecord) = origin(be, k, &s);
            let checked = s.check && be.check.is_some();
            let admin = shm.admin();
            let op = if admin == ADMIN_MAINT || shm.is_down() {
                0
            } else {
                2
            };
            let admin_flags = match admin {
                // HAProxy's SRV_ADMF_RMAINT: held by DNS resolution.
                ADMIN_MAINT if shm.get(Srv::DnsMaint) != 0 => 0x20,
                ADMIN_MAINT if disabled => 5,
                ADMIN_MAINT => 1,
                ADMIN_DRAIN => 8,
                _ => 0,
            };
            let (status, result, health, state) = if checked {
                let name = check_status_name(shm.get(Srv::CheckStatus));
                let result = match name {
                    "INI" => 0,
                    _ if shm.is_down() => 2,
                    _ => 3,
                };
                let health = if shm.is_down() { 0 } else { rise + fall - 1 };
                (haproxy_code(name), result, health, 6)
            } else {
                (1, 0, rise, if disabled { 8 } else { 0 })
            };
            let _ = writeln!(
                out,
                "{be_id} {} {} {} {} {op} {admin_flags} {} {} {} {status} {result} {health} {state} 0 0 0 {fqdn} {} {srvrecord} 0 0 - - 0",
                be.name,
                k + 1,
                s.name,
                s.addr.ip(),
                shm.weight(),
                s.init_weight,
                now.saturating_sub(shm.get(Srv::LastChange)),
                s.addr.port(),
            );
        }
    }
    out
}

/// `srv_fqdn` and `srvrecord` for the server in slot `k`: where its
/// address comes from when DNS gives it.
fn origin<'a>(
    be: &'a weir_core::config::model::Backend,
    k: usize,
    s: &weir_core::shm::Identity,
) -> (&'a str, &'a str) {
    let configured = be.servers.get(k).filter(|c| !s.runtime && c.name == s.name);
    if let Some(d) = configured.and_then(|c| c.dns.as_ref()) {
        return (&d.host, "-");
    }
    let template = be
        .templates
        .iter()
        .find(|t| configured.is_some() && (t.first..t.first + t.count).contains(&k));
    match template {
        Some(t) if t.name.starts_with('_') => ("-", &t.name),
        Some(t) => (&t.name, "-"),
        None => ("-", "-"),
    }
}
