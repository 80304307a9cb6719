//! `[global]`: process-wide settings, validated into [`model::Global`].

use std::path::PathBuf;

use super::addr;
use super::diag::Report;
use super::file::{GlobalFile, Parsed};
use super::model::{self, CpuMap, Global, LogLevel, LogTarget};
use super::raw::{CpuMapRaw, IntOrStr};
use super::units;
use super::validate::int_in;

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

/// The product defaults, used as is when there is no `[global]`.
fn default_global() -> Global {
    Global {
        nbproc: 1,
        cpu_map: CpuMap::Auto,
        maxconn: model::defaults::MAXCONN,
        daemon: false,
        pidfile: None,
        chroot: None,
        user: None,
        group: None,
        ulimit_n: None,
        grace: std::time::Duration::ZERO,
        hard_stop_after: None,
        log: vec![LogTarget::Stderr],
        log_facility: 16,
        log_level: LogLevel::Info,
        bufsize: model::defaults::BUFSIZE,
        maxaccept: model::defaults::MAXACCEPT,
        maxpollevents: model::defaults::MAXPOLLEVENTS,
        stats_socket: None,
        tls_ticket_keys: None,
        tls_ticket_lifetime: model::defaults::TLS_TICKET_LIFETIME,
        h2: model::H2::default(),
    }
}

/// Validates `[global]`, reporting every error; a bad value keeps its default.
pub(crate) fn build(g: Option<&Parsed<GlobalFile>>, report: &mut Report) -> Global {
    let mut out = default_global();
    let Some((p, f)) = g.and_then(|p| p.body.as_ref().map(|f| (p, f))) else {
        return out;
    };
    const MAX: i64 = u32::MAX as i64;
    if let Some(n) = &f.nbproc {
        match n.get_ref() {
            IntOrStr::Str(s) if s == "auto" => {
                out.nbproc = std::thread::available_parallelism().map_or(1, |n| n.get());
            }
            IntOrStr::Int(i) if (1..=4096).contains(i) => out.nbproc = *i as usize,
            IntOrStr::Int(i) => report.error(
                &p.at(n.span()),
                format!("`nbproc` must be between 1 and 4096, got {i}"),
            ),
            IntOrStr::Str(s) => report.error(
                &p.at(n.span()),
                format!("invalid nbproc \"{s}\": expected a number of workers or \"auto\""),
            ),
        }
    }
    if let Some(c) = &f.cpu_map {
        match c.get_ref() {
            CpuMapRaw::Word(w) if w == "auto" => out.cpu_map = CpuMap::Auto,
            CpuMapRaw::Word(w) if w == "none" => out.cpu_map = CpuMap::None,
            CpuMapRaw::Word(w) => report.error(
                &p.at(c.span()),
                format!(
                    "invalid cpu_map \"{w}\": expected \"auto\", \"none\" or a list of CPU numbers"
                ),
            ),
            CpuMapRaw::List(list) => {
                let mut cpus = Vec::new();
                for cpu in list {
                    match usize::try_from(*cpu.get_ref()) {
                        Ok(n) if n < 4096 => cpus.push(n),
                        _ => report.error(
                            &p.at(cpu.span()),
                            format!("invalid CPU number {}: expected 0 to 4095", cpu.get_ref()),
                        ),
                    }
                }
                if cpus.len() == list.len() && cpus.len() < out.nbproc {
                    report.error(
                        &p.at(c.span()),
                        format!(
                            "cpu_map lists {} CPU(s) but nbproc is {}: list one CPU per worker",
                            cpus.len(),
                            out.nbproc
                        ),
                    );
                }
                out.cpu_map = CpuMap::List(cpus);
            }
        }
    }
    if let Some(n) = int_in(p, &f.maxconn, "maxconn", 1, MAX, report) {
        out.maxconn = n as usize;
    }
    if let Some(d) = &f.daemon {
        out.daemon = *d.get_ref();
    }
    out.pidfile = path(p, &f.pidfile, "pidfile", false, report);
    out.chroot = path(p, &f.chroot, "chroot", true, report);
    out.user = name(p, &f.user, "user", report);
    out.group = name(p, &f.group, "group", report);
    out.ulimit_n = int_in(p, &f.ulimit_n, "ulimit_n", 1, MAX, report).map(|n| n as u64);
    if let Some(d) = &f.grace {
        match units::duration(d.get_ref()) {
            Ok(d) => out.grace = d,
            Err(e) => report.error(&p.at(d.span()), e),
        }
    }
    if let Some(d) = &f.hard_stop_after {
        match units::duration(d.get_ref()) {
            Ok(d) => out.hard_stop_after = Some(d),
            Err(e) => report.error(&p.at(d.span()), e),
        }
    }
    out.stats_socket = path(p, &f.stats_socket, "stats_socket", false, report);
    if let Some(log) = &f.log {
        let span = log.span();
        let mut targets = Vec::new();
        for t in log.get_ref().entries(span) {
            match addr::log_target(t.get_ref()) {
                Ok(target) => targets.push(target),
                Err(e) => report.error(&p.at(t.span()), e),
            }
        }
        out.log = targets;
    }
    if let Some(fac) = &f.log_facility {
        match FACILITIES.iter().find(|(n, _)| n == fac.get_ref()) {
            Some((_, num)) => out.log_facility = *num,
            None => report.error(
                &p.at(fac.span()),
                format!(
                    "unknown log_facility \"{}\": expected kern, user, mail, daemon, auth, \
                     syslog, lpr, news, uucp, cron, authpriv, ftp or local0 to local7{}",
                    fac.get_ref(),
                    super::diag::did_you_mean(fac.get_ref(), FACILITIES.iter().map(|f| f.0))
                ),
            ),
        }
    }
    if let Some(lvl) = &f.log_level {
        match LEVELS.iter().find(|(n, _)| n == lvl.get_ref()) {
            Some((_, l)) => out.log_level = *l,
            None => report.error(
                &p.at(lvl.span()),
                format!(
                    "unknown log_level \"{}\": expected emerg, alert, crit, err, warning, \
                     notice, info or debug{}",
                    lvl.get_ref(),
                    super::diag::did_you_mean(lvl.get_ref(), LEVELS.iter().map(|l| l.0))
                ),
            ),
        }
    }
    if let Some(b) = &f.bufsize {
        match units::size(b.get_ref()) {
            Ok(n) if n < 1024 => report.error(
                &p.at(b.span()),
                format!("`bufsize` must be at least 1024 bytes, got {n}"),
            ),
            Ok(n) if n > 1 << 30 => report.error(
                &p.at(b.span()),
                format!("`bufsize` must be at most 1g, got {n} bytes"),
            ),
            Ok(n) => out.bufsize = n as usize,
            Err(e) => report.error(&p.at(b.span()), e),
        }
    }
    if let Some(n) = int_in(p, &f.maxaccept, "maxaccept", 1, MAX, report) {
        out.maxaccept = n as usize;
    }
    if let Some(n) = int_in(p, &f.maxpollevents, "maxpollevents", 1, MAX, report) {
        out.maxpollevents = n as usize;
    }
    let (keys, lifetime) = super::tls_server::global(p, f, report);
    out.tls_ticket_keys = keys;
    if let Some(l) = lifetime {
        out.tls_ticket_lifetime = l;
    }
    out.h2 = super::h2::build(p, &f.h2, report);
    out
}

fn path(
    p: &Parsed<GlobalFile>,
    v: &Option<toml::Spanned<String>>,
    key: &str,
    absolute: bool,
    report: &mut Report,
) -> Option<PathBuf> {
    let v = v.as_ref()?;
    let s = v.get_ref();
    if s.is_empty() || (absolute && !s.starts_with('/')) {
        let need = if absolute {
            "an absolute path"
        } else {
            "a path"
        };
        report.error(
            &p.at(v.span()),
            format!("`{key}` must be {need}, got \"{s}\""),
        );
        return None;
    }
    Some(PathBuf::from(s))
}

fn name(
    p: &Parsed<GlobalFile>,
    v: &Option<toml::Spanned<String>>,
    key: &str,
    report: &mut Report,
) -> Option<String> {
    let v = v.as_ref()?;
    if v.get_ref().is_empty() {
        report.error(&p.at(v.span()), format!("`{key}` must not be empty"));
        return None;
    }
    Some(v.get_ref().clone())
}
