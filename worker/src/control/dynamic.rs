//! Servers added, deleted and moved at run time: `add server`, `del
//! server` and `set server B/S addr`, with HAProxy's words.
//!
//! Each backend has `server_slots` slots in the shared state
//! ([`weir_core::shm::servers`]). `add server` fills a free slot: its
//! figures zeroed, its weight, the administrative state MAINT (as HAProxy,
//! a new server takes no traffic until `enable server` or `set server
//! B/S state ready`), then its identity (name, address, flags) under the
//! slot's sequence word, and last the backend's servers generation, which
//! every worker and the health checks compare at each turn. `del server`
//! frees a slot whose server is in maintenance with no session left;
//! `set server addr` rewrites the address. A connection kept for reuse is
//! keyed by the slot's sequence, so none made to what the slot held before
//! is reused.
//!
//! The control process is the only writer once the workers run; a reload
//! builds the slots from the file again (runtime changes are not kept, as
//! in HAProxy without a server-state file).

use super::commands::{names, with_server};
use super::ControlCtx;
use std::net::{IpAddr, SocketAddr};
use weir_core::config::check_server_name;
use weir_core::shm::{Identity, ADMIN_MAINT};

const ADD_USAGE: &str =
    "Usage: add server <backend>/<server> <addr>:<port> [weight <n>] [check] [backup]\n";

/// `add server B/S ADDR [weight N] [check] [backup]`.
pub fn add(cx: &mut ControlCtx, args: &[&str]) -> String {
    let (Some((be_name, name)), Some(addr)) =
        (args.first().and_then(|a| a.split_once('/')), args.get(1))
    else {
        return ADD_USAGE.into();
    };
    let Some(b) = cx.config.backends.iter().position(|x| x.name == be_name) else {
        return "No such backend.\n".into();
    };
    if let Err(why) = check_server_name(name) {
        return format!("Invalid server name '{name}': {why}.\n");
    }
    if cx.shared.slot_of(b, name).is_some() {
        return "Already exists a server with the same name in backend.\n".into();
    }
    let Some(addr) = parse_addr(addr) else {
        return format!(
            "Invalid address '{addr}': expected IPv4:PORT or [IPv6]:PORT (no host names).\n"
        );
    };
    let mut id = Identity {
        name: name.to_string(),
        addr,
        backup: false,
        check: false,
        runtime: true,
        init_weight: 1,
    };
    let mut opts = args[2..].iter();
    while let Some(opt) = opts.next() {
        match *opt {
            "weight" => match opts.next().and_then(|w| w.parse::<u32>().ok()) {
                Some(w) if w <= 256 => id.init_weight = w,
                _ => return "'weight' expects an integer between 0 and 256.\n".into(),
            },
            "check" => id.check = true,
            "backup" => id.backup = true,
            other => {
                return format!(
                    "'{other}' is not supported by 'add server' (weight <n>, check, backup).\n"
                )
            }
        }
    }
    let be = &cx.config.backends[b];
    if id.check && be.check.is_none() {
        return format!(
            "Backend '{be_name}' has no health check settings: a server added with 'check' \
             needs the backend's `check` table in the configuration.\n"
        );
    }
    if cx.shared.add_server(b, &id).is_none() {
        let slots = cx.shared.servers.get(b).map_or(0, Vec::len);
        return format!(
            "No free server slot in backend '{be_name}' (server_slots = {slots}): \
             raise server_slots in the configuration and reload.\n"
        );
    }
    cx.logger.notice(&format!(
        "Server {be_name}/{name} added at {addr} through the runtime API, in maintenance \
         until enabled."
    ));
    "New server registered.\n".into()
}

/// `del server B/S`: only a server in maintenance without sessions.
pub fn del(cx: &mut ControlCtx, args: &[&str]) -> String {
    with_server(cx, args.first(), |cx, b, s| {
        let shm = cx.shared.servers[b][s];
        if shm.admin() != ADMIN_MAINT {
            return "Only servers in maintenance mode can be deleted.\n".into();
        }
        if shm.cur() > 0 {
            return "Server still has connections attached to it, cannot remove it.\n".into();
        }
        let (be, srv) = names(cx, b, s);
        cx.shared.del_server(b, s);
        cx.logger.notice(&format!(
            "Server {be}/{srv} deleted through the runtime API."
        ));
        "Server deleted.\n".into()
    })
}

/// `set server B/S addr IP [port P]` (`args` from the address on).
pub fn set_addr(cx: &mut ControlCtx, b: usize, s: usize, args: &[&str]) -> String {
    const USAGE: &str = "set server <b>/<s> addr requires an address and optionally a port.\n";
    let shm = cx.shared.servers[b][s];
    let Some(id) = shm.identity() else {
        return "No such server.\n".into();
    };
    let ip: IpAddr = match args.first().map(|a| a.parse()) {
        Some(Ok(ip)) => ip,
        Some(Err(_)) => {
            return format!(
                "Invalid address '{}': expected an IPv4 or IPv6 address.\n",
                args[0]
            )
        }
        None => return USAGE.into(),
    };
    let port = match args.get(1..) {
        Some([]) | None => id.addr.port(),
        Some(["port", p]) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return format!("Invalid port '{p}': expected 1 to 65535.\n"),
        },
        Some(_) => return USAGE.into(),
    };
    let old = id.addr;
    let new = SocketAddr::new(ip, port);
    let ip_part = if old.ip() == ip {
        "no need to change the addr".to_string()
    } else {
        format!("IP changed from '{}' to '{ip}'", old.ip())
    };
    let port_part = if old.port() == port {
        "no need to change the port".to_string()
    } else {
        format!("port changed from '{}' to '{port}'", old.port())
    };
    let answer = format!("{ip_part}, {port_part} by 'stats socket command'\n");
    if old == new {
        return answer;
    }
    cx.shared.set_server_addr(b, s, new);
    let (be, srv) = names(cx, b, s);
    cx.logger.notice(&format!(
        "Server {be}/{srv} changed its address from {old} to {new} by stats socket command."
    ));
    answer
}

/// `IPv4:PORT` or `[IPv6]:PORT`, a port above 0.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    s.parse::<SocketAddr>().ok().filter(|a| a.port() != 0)
}

#[cfg(test)]
mod tests {
    use super::parse_addr;

    #[test]
    fn addresses() {
        assert!(parse_addr("127.0.0.1:80").is_some());
        assert!(parse_addr("[::1]:8443").is_some());
        assert!(parse_addr("127.0.0.1:0").is_none());
        assert!(parse_addr("127.0.0.1").is_none());
        assert!(parse_addr("example.com:80").is_none());
        assert!(parse_addr("::1:80").is_none());
    }
}
