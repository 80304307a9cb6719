//! The runtime API's commands, with HAProxy's words for answers and
//! errors (management guide, section 9.3). A line holds one or more
//! commands separated by `;`; each answer is followed by an empty line, or
//! by the `\n> ` prompt in interactive mode.
//!
//! Every change goes to the shared state, so it reaches every worker at
//! once: the administrative state and the weight of a server, its
//! `ShutdownGen` (workers close the sessions they hold on a server whose
//! generation moved), servers added, deleted or moved
//! ([`super::dynamic`]), and committed certificates
//! ([`super::ssl_cert`]).
//!
//! A command may carry a payload (HAProxy's `<<`: the lines after the
//! command, up to an empty one); only `set ssl cert` uses it.

use super::dynamic;
use super::servers_state;
use super::stat_filter::Filter;
use super::ControlCtx;
use crate::stats::{self, info::Info};
use weir_core::config::model::{Balance, HashType};
use weir_core::shm::{unix_now, ServerShm, Srv, ADMIN_DRAIN, ADMIN_MAINT, ADMIN_READY};

/// One connection's mode.
#[derive(Debug, Default)]
pub struct Session {
    /// Interactive: answers end with a prompt, the connection stays.
    pub prompt: bool,
    /// `quit`: close now.
    pub quit: bool,
    /// `set timeout cli`: how long this connection may stay silent.
    pub timeout: Option<std::time::Duration>,
    /// `commit ssl cert`: hold the answer until every worker has applied
    /// this many commits.
    pub wait_commits: Option<u64>,
}

/// The commands `help` lists, HAProxy's way (`usage : description`).
const HELP: &[(&str, &str)] = &[
    (
        "abort ssl cert <certfile>",
        "abort a transaction for a certificate file",
    ),
    (
        "add server <bk>/<srv> <addr> [opts]",
        "create a server (weight N, check, backup)",
    ),
    ("commit ssl cert <certfile>", "commit a certificate file"),
    ("del server <bk>/<srv>", "remove a server in maintenance"),
    (
        "disable server (DEPRECATED)",
        "disable a server for maintenance (use 'set server' instead)",
    ),
    (
        "enable server  (DEPRECATED)",
        "enable a disabled server (use 'set server' instead)",
    ),
    ("get weight <bk>/<srv>", "report a server's current weight"),
    (
        "set server <bk>/<srv> [opts]",
        "change a server's state, weight or address",
    ),
    (
        "set ssl cert <certfile> <payload>",
        "replace a certificate file",
    ),
    (
        "set weight <bk>/<srv>  (DEPRECATED)",
        "change a server's weight (use 'set server' instead)",
    ),
    (
        "clear table <table> [<filter>]*",
        "remove an entry from a table",
    ),
    ("show info", "report information about the running process"),
    (
        "show pools",
        "report information about the memory pools usage",
    ),
    (
        "show resolvers [<resolvers section id>]",
        "dumps counters from all resolvers section and associated name servers",
    ),
    (
        "show servers state [<backend>]",
        "dump volatile server information (all or for a single backend)",
    ),
    (
        "show ssl cert [<certfile>]",
        "display the SSL certificates used in memory, or the details of a file",
    ),
    (
        "show stat [{<iid>|<proxy>} <type> <sid>]",
        "report counters for each proxy and server",
    ),
    (
        "show table <table> [<filter>]*",
        "report table usage stats or dump this table's contents",
    ),
    (
        "shutdown sessions server <bk>/<srv>",
        "kill sessions on a server",
    ),
    (
        "set timeout cli <delay>",
        "change this session's idle timeout (seconds)",
    ),
    ("help [<command>]", "list matching or all commands"),
    ("prompt", "toggle interactive mode with prompt"),
    ("quit", "disconnect"),
];

fn usage(lines: &[&(&str, &str)]) -> String {
    let mut out = String::new();
    for (u, d) in lines {
        out.push_str(&format!("  {u:<40}: {d}\n"));
    }
    out
}

/// Runs every command of `line`; the answers, each with its terminator.
/// `payload` goes to the line's last command.
pub fn run_line(
    line: &str,
    payload: Option<&str>,
    session: &mut Session,
    cx: &mut ControlCtx,
) -> String {
    let mut out = String::new();
    let cmds: Vec<&str> = line.split(';').collect();
    for (i, cmd) in cmds.iter().enumerate() {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let payload = payload.filter(|_| i + 1 == cmds.len());
        out.push_str(&run(&words, payload, session, cx));
        if session.quit {
            break;
        }
        out.push_str(if session.prompt { "\n> " } else { "\n" });
    }
    out
}

fn run(w: &[&str], payload: Option<&str>, session: &mut Session, cx: &mut ControlCtx) -> String {
    match w {
        [] => String::new(),
        ["help", ..] => format!(
            "The following commands are valid at this level:\n{}",
            usage(&HELP.iter().collect::<Vec<_>>())
        ),
        // HAProxy 2.4 wanted it before `add server` and `del server`, and
        // scripts still send it: nothing is experimental here.
        ["experimental-mode", "on" | "off"] | ["experimental-mode"] => String::new(),
        ["prompt", ..] => {
            session.prompt = !session.prompt;
            String::new()
        }
        ["quit", ..] => {
            session.quit = true;
            String::new()
        }
        ["set", "timeout", rest @ ..] => set_timeout(session, rest),
        ["show", "info", ..] => {
            let pid = nix::unistd::getppid().as_raw() as u32;
            Info::gather(cx.config, cx.shared, pid)
                .with_tables(cx.config, cx.shared)
                .render()
        }
        ["show", "stat", rest @ ..] => show_stat(cx, rest),
        ["show", "servers", "state", rest @ ..] => servers_state::render(cx, rest.first().copied()),
        ["show", "pools", ..] => pools(cx),
        ["show", "table", rest @ ..] => super::tables::show(cx, rest),
        ["clear", "table", rest @ ..] => super::tables::clear(cx, rest),
        ["show", "resolvers", rest @ ..] => match cx.dns.show(rest.first().copied()) {
            Some(text) => text,
            None => "Can't find that resolvers section\n".into(),
        },
        ["show", "ssl", "cert", rest @ ..] => {
            cx.certs.show(&cx.shared.certs, rest.first().copied())
        }
        ["set", "ssl", "cert", rest @ ..] => {
            cx.certs
                .set(&cx.shared.certs, rest.first().copied(), payload)
        }
        ["commit", "ssl", "cert", rest @ ..] => {
            let c = cx
                .certs
                .commit(&cx.shared.certs, rest.first().copied(), cx.logger);
            if c.wait.is_some() {
                session.wait_commits = c.wait;
            }
            c.answer
        }
        ["abort", "ssl", "cert", rest @ ..] => {
            cx.certs.abort(&cx.shared.certs, rest.first().copied())
        }
        ["disable", "server", rest @ ..] => with_server(cx, rest.first(), |cx, b, s| {
            set_admin(cx, b, s, ADMIN_MAINT)
        }),
        ["enable", "server", rest @ ..] => with_server(cx, rest.first(), |cx, b, s| {
            set_admin(cx, b, s, ADMIN_READY)
        }),
        ["get", "weight", rest @ ..] => with_server(cx, rest.first(), |cx, b, s| {
            let shm = cx.shared.servers[b][s];
            format!("{} (initial {})\n", shm.weight(), shm.get(Srv::InitWeight))
        }),
        ["set", "weight", rest @ ..] => with_server(cx, rest.first(), |cx, b, s| {
            set_weight(cx, b, s, rest.get(1).copied())
        }),
        ["set", "server", rest @ ..] => with_server(cx, rest.first(), |cx, b, s| {
            match (rest.get(1).copied(), rest.get(2).copied()) {
                (Some("state"), Some("ready")) => set_admin(cx, b, s, ADMIN_READY),
                (Some("state"), Some("drain")) => set_admin(cx, b, s, ADMIN_DRAIN),
                (Some("state"), Some("maint")) => set_admin(cx, b, s, ADMIN_MAINT),
                (Some("state"), _) => {
                    "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n".into()
                }
                (Some("weight"), w) => set_weight(cx, b, s, w),
                (Some("addr"), _) => dynamic::set_addr(cx, b, s, &rest[2..]),
                _ => "usage: set server <backend>/<server> addr | state | weight\n".into(),
            }
        }),
        ["add", "server", rest @ ..] => dynamic::add(cx, rest),
        ["del", "server", rest @ ..] => dynamic::del(cx, rest),
        ["shutdown", "sessions", "server", rest @ ..] => {
            with_server(cx, rest.first(), |cx, b, s| {
                cx.shared.servers[b][s].add(Srv::ShutdownGen, 1);
                let (be, srv) = names(cx, b, s);
                cx.logger.notice(&format!(
                    "runtime API: shutting down the sessions of server {be}/{srv}"
                ));
                String::new()
            })
        }
        [first, ..] => unknown(first),
    }
}

/// `set timeout cli <delay>`: this connection's idle timeout, in seconds
/// unless a unit (`ms`, `s`, `m`, `h`, `d`) follows, as HAProxy's.
fn set_timeout(session: &mut Session, args: &[&str]) -> String {
    let (Some(&"cli"), value) = (args.first(), args.get(1)) else {
        return "'set timeout' only supports 'cli'.\n".into();
    };
    let Some(value) = value else {
        return "Expects an integer value.\n".into();
    };
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = match value[..digits].parse() {
        Ok(n) => n,
        Err(_) => return "Invalid timeout value.\n".into(),
    };
    let ms = match &value[digits..] {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => None,
    };
    match ms {
        Some(ms) if ms >= 1000 => {
            session.timeout = Some(std::time::Duration::from_millis(ms));
            String::new()
        }
        _ => "Invalid timeout value.\n".into(),
    }
}

/// `show stat`, filtered as asked ([`Filter`]).
fn show_stat(cx: &ControlCtx, args: &[&str]) -> String {
    let rows = stats::rows(cx.config, cx.shared);
    match Filter::parse(args) {
        Ok(None) => stats::csv::render(&rows),
        Ok(Some(f)) if !f.finds_proxy(&rows) => "No such proxy.\n".into(),
        Ok(Some(f)) => {
            let kept: Vec<stats::Row> = rows.into_iter().filter(|r| f.keeps(r)).collect();
            stats::csv::render(&kept)
        }
        Err(e) => e,
    }
}

/// HAProxy's answer to an unknown command: the closest commands.
fn unknown(first: &str) -> String {
    let near: Vec<&(&str, &str)> = HELP
        .iter()
        .filter(|(u, _)| u.split(' ').next() == Some(first))
        .chain(HELP.iter().filter(|(u, _)| {
            ["help", "prompt", "quit"].contains(&u.split(' ').next().unwrap_or(""))
        }))
        .collect();
    let near = if near.len() <= 3 {
        HELP.iter().collect()
    } else {
        near
    };
    format!(
        "Unknown command, but maybe one of the following ones is a better match:\n{}",
        usage(&near)
    )
}

pub(super) fn names(cx: &ControlCtx, b: usize, s: usize) -> (String, String) {
    let be = &cx.config.backends[b];
    let srv = cx.shared.servers[b][s]
        .identity()
        .map_or_else(String::new, |id| id.name);
    (be.name.clone(), srv)
}

/// Resolves `B/S` (a configured server or one added at run time), or
/// answers HAProxy's error.
pub(super) fn with_server(
    cx: &mut ControlCtx,
    arg: Option<&&str>,
    f: impl FnOnce(&mut ControlCtx, usize, usize) -> String,
) -> String {
    let Some((be, srv)) = arg.and_then(|a| a.split_once('/')) else {
        return "Require 'backend/server'.\n".into();
    };
    let Some(b) = cx.config.backends.iter().position(|x| x.name == be) else {
        return "No such backend.\n".into();
    };
    let Some(s) = cx.shared.slot_of(b, srv) else {
        return "No such server.\n".into();
    };
    f(cx, b, s)
}

/// Sets the administrative state, logging the change as HAProxy does.
fn set_admin(cx: &mut ControlCtx, b: usize, s: usize, admin: u64) -> String {
    let shm: ServerShm = cx.shared.servers[b][s];
    let was = shm.admin();
    if was == admin {
        return String::new();
    }
    shm.set(Srv::Admin, admin);
    shm.set(Srv::LastChange, unix_now());
    let (be, srv) = names(cx, b, s);
    let left = cx.shared.servers[b].iter().filter(|x| x.usable()).count();
    let msg = match admin {
        ADMIN_MAINT => format!(
            "Server {be}/{srv} is going DOWN for maintenance. {left} active and 0 backup servers left. {} sessions active, 0 requeued, 0 remaining in queue.",
            shm.cur()
        ),
        ADMIN_DRAIN => format!("Server {be}/{srv} enters drain mode."),
        _ if was == ADMIN_MAINT => format!("Server {be}/{srv} is UP (leaving forced maintenance)."),
        _ => format!("Server {be}/{srv} leaves drain mode."),
    };
    if admin == ADMIN_MAINT {
        cx.logger.warning(&msg);
    } else {
        cx.logger.notice(&msg);
    }
    String::new()
}

/// `set weight B/S W` or `W%` (of the configured weight), HAProxy's rules.
fn set_weight(cx: &mut ControlCtx, b: usize, s: usize, arg: Option<&str>) -> String {
    let Some(arg) = arg.filter(|a| !a.is_empty()) else {
        return "Require <weight> or <weight%>.\n".into();
    };
    let initial = cx.shared.servers[b][s].get(Srv::InitWeight) as i64;
    let digits = arg
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
        .count();
    let Ok(w) = arg[..digits].parse::<i64>() else {
        return "Empty weight string empty or preceded by garbage".into();
    };
    let rest = &arg[digits..];
    let w = if rest == "%" {
        if w < 0 {
            return "Relative weight must be positive.\n".into();
        }
        (initial * w.min(25600) / 100).min(256)
    } else if !(0..=256).contains(&w) {
        return "Absolute weight can only be between 0 and 256 inclusive.\n".into();
    } else if !rest.is_empty() {
        return "Trailing garbage in weight string\n".into();
    } else {
        w
    };
    // HAProxy's static algorithms: static-rr, and map-based hashing (its
    // map is laid out once for the configured weights).
    let be = &cx.config.backends[b];
    let static_lb = matches!(be.balance, Balance::StaticRr)
        || (be.balance.is_hashing() && be.hash_type == HashType::MapBased);
    if static_lb && w != 0 && w != initial {
        return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
            .into();
    }
    cx.shared.servers[b][s].set(Srv::Weight, w as u64);
    String::new()
}

/// `show pools`: each worker has its own buffer pool, which the control
/// process cannot see; say so, with what the configuration tells.
fn pools(cx: &ControlCtx) -> String {
    let g = &cx.config.global;
    format!(
        "Dumping pools usage. Use SIGQUIT to flush them.\n  - Pool buffer ({} bytes) : one pool per worker ({} workers), \
         private to each worker and not visible from the runtime API; send SIGQUIT to the master \
         to log each worker's figures and release its unused buffers.\n\
         Total: {} pools, figures per worker in the logs (SIGQUIT).\n",
        g.bufsize, g.nbproc, g.nbproc
    )
}
