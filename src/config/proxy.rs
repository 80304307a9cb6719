//! Frontends, backends and listen sections into [`model::Frontend`] and
//! [`model::Backend`]: inheritance from `[defaults]`, duplicate names,
//! modes, `default_backend` resolution, and the keys refused for now. The
//! HTTP rules of a frontend are built by [`super::http`].

use super::addr;
use super::diag::Report;
use super::file::{FileModel, Parsed, ProxyFile, ProxySection, TimeoutFile};
use super::http::{self, Backends};
use super::model::{self, Backend, Bind, BindAddr, Frontend, Global, Mode, Shards, Timeouts};
use super::raw::{BindSpec, OneOrMany};
use super::schema::Section;
use super::servers::{server_slots, servers, servers_need_check_table};
use super::tls_server::SystemRoots;
use super::validate::{self as v, check_name, missing, Inherited};

/// Builds every frontend and backend, in declaration order.
pub(crate) fn build_all(
    files: &FileModel,
    global: &Global,
    inh: &Inherited,
    report: &mut Report,
) -> (Vec<Frontend>, Vec<Backend>, Vec<model::StickTable>) {
    let backend_names = check_names(&files.proxies, report);
    let (tables, own_tables) = super::tables::build_all(files, report);
    // Every mode first: a frontend may use a backend declared after it.
    let modes: Vec<Mode> = files
        .proxies
        .iter()
        .map(|s| match &s.parsed.body {
            Some(f) => v::mode(&s.parsed, &f.mode, report).unwrap_or(inh.mode),
            None => inh.mode,
        })
        .collect();
    let backend_modes: Vec<Mode> = files
        .proxies
        .iter()
        .zip(&modes)
        .filter(|(s, _)| s.kind != Section::Frontend)
        .map(|(_, m)| *m)
        .collect();
    let backs = Backends {
        names: &backend_names,
        modes: &backend_modes,
    };
    let mut frontends = Vec::new();
    let mut backends = Vec::new();
    let mut system_roots = SystemRoots::default();
    for ((s, &mode), &table) in files.proxies.iter().zip(&modes).zip(&own_tables) {
        let Some(f) = &s.parsed.body else { continue };
        let p = &s.parsed;
        let own = match &f.timeout {
            Some(t) => v::timeouts(p, t.get_ref(), report),
            None => Timeouts::default(),
        };
        refuse(s, f, mode, report);
        if s.kind != Section::Backend {
            let ctx = FrontendCtx {
                global,
                inh,
                backends: &backs,
                tables: &tables,
                table,
            };
            frontends.extend(frontend(s, f, mode, &own, ctx, report));
        }
        if s.kind != Section::Frontend {
            let mut b = backend(s, f, mode, &own, inh, &mut system_roots, report);
            if let Some(b) = &mut b {
                b.table = table;
                match frontends
                    .last()
                    .filter(|fe| s.kind == Section::Listen && fe.name == s.name)
                {
                    // A listen section: the same settings, checked once.
                    Some(fe) => {
                        b.log.clone_from(&fe.log);
                        b.errorfiles.clone_from(&fe.errorfiles);
                    }
                    None => {
                        b.log =
                            super::log::proxy_log(p, &f.log, &f.log_facility, &f.log_level, report);
                        b.errorfiles = super::errorfile::of_proxy(
                            p,
                            &f.errorfile,
                            global.bufsize,
                            &inh.errorfiles,
                            report,
                        );
                    }
                }
            }
            backends.extend(b);
        }
    }
    (frontends, backends, tables)
}

/// Reports invalid and duplicate names; returns the backend names in order.
/// A listen section is both a frontend and a backend of its name.
fn check_names(proxies: &[ProxySection], report: &mut Report) -> Vec<String> {
    let mut fe = v::Names::default();
    let mut be = v::Names::default();
    let mut backend_names = Vec::new();
    for s in proxies {
        let loc = &s.parsed.loc;
        if let Err(e) = check_name(&s.name) {
            report.error(
                loc,
                format!("invalid {} name \"{}\": {e}", s.kind.word(), s.name),
            );
        }
        let errors_before = report.errors.len();
        if s.kind != Section::Backend {
            fe.add(&s.name, s.kind, loc, "frontend", report);
        }
        if s.kind != Section::Frontend {
            if report.errors.len() == errors_before {
                be.add(&s.name, s.kind, loc, "backend", report);
            }
            backend_names.push(s.name.clone());
        }
    }
    backend_names
}

/// The keys recognised but refused for now, the HTTP keys in a TCP-mode
/// proxy, and timeouts that cannot apply.
fn refuse(s: &ProxySection, f: &ProxyFile, mode: Mode, report: &mut Report) {
    let p = &s.parsed;
    if mode == Mode::Tcp {
        let what = s.kind.word();
        for (key, set) in http::keys_needing_http(f) {
            if set {
                let msg = format!(
                    "`{key}` needs mode = \"http\" (ACLs and rules apply to HTTP requests); \
                     this {what} is in TCP mode"
                );
                report.error(&p.key_loc(key), msg);
            }
        }
        if f.forwardfor.as_ref().is_some_and(|b| *b.get_ref()) {
            let msg = format!(
                "`forwardfor` only applies in HTTP mode (it adds X-Forwarded-For to requests); \
                 this {what} is in TCP mode"
            );
            report.error(&p.key_loc("forwardfor"), msg);
        }
        if f.http_reuse.is_some() {
            let msg = format!("`http_reuse` only applies in HTTP mode; this {what} is in TCP mode");
            report.error(&p.key_loc("http_reuse"), msg);
        }
        super::log::refuse_in_tcp(p, f, what, report);
    }
    let Some(t) = &f.timeout else { return };
    let t: &TimeoutFile = t.get_ref();
    let (wrong, other): (&[&str], &str) = match s.kind {
        Section::Frontend => (
            &[
                "connect",
                "server",
                "server_fin",
                "tunnel",
                "queue",
                "check",
            ],
            "backend",
        ),
        Section::Backend => (
            &["client", "client_fin", "http_request", "http_keep_alive"],
            "frontend",
        ),
        _ => (&[], ""),
    };
    for key in wrong {
        if v::timeout_set(t, key) {
            let msg = format!(
                "`timeout.{key}` does not apply to a {}; set it in a {other} or in [defaults]",
                s.kind.word()
            );
            report.error(&p.key_loc(&format!("timeout.{key}")), msg);
        }
    }
    if mode == Mode::Tcp && s.kind != Section::Backend {
        for key in ["http_request", "http_keep_alive"] {
            if v::timeout_set(t, key) {
                let msg =
                    format!("`timeout.{key}` only applies in HTTP mode; this proxy is in TCP mode");
                report.error(&p.key_loc(&format!("timeout.{key}")), msg);
            }
        }
    }
}

/// What building a frontend needs besides its own section.
struct FrontendCtx<'a> {
    global: &'a Global,
    inh: &'a Inherited,
    backends: &'a Backends<'a>,
    /// Every rate-limit table, and this section's own.
    tables: &'a [model::StickTable],
    table: Option<usize>,
}

fn frontend(
    s: &ProxySection,
    f: &ProxyFile,
    mode: Mode,
    own: &Timeouts,
    FrontendCtx {
        global,
        inh,
        backends,
        tables,
        table,
    }: FrontendCtx<'_>,
    report: &mut Report,
) -> Option<Frontend> {
    let p = &s.parsed;
    let what = format!("{} \"{}\"", s.kind.word(), s.name);
    let client_timeout = own
        .client
        .or(inh.timeouts.client)
        .unwrap_or(model::defaults::TIMEOUT_CLIENT);
    let binds = match &f.bind {
        Some(b) => binds(p, b, mode, client_timeout, report),
        None => Vec::new(),
    };
    match &f.bind {
        None => missing(
            p,
            "bind",
            format!("{what} has no `bind`: add bind = [\":PORT\"]"),
            report,
        ),
        Some(b) if matches!(b.get_ref(), OneOrMany::Many(l) if l.is_empty()) => report.error(
            &p.key_loc("bind"),
            format!("`bind` of {what} is empty: list at least one address, bind = [\":PORT\"]"),
        ),
        Some(_) => {}
    }
    let maxconn = v::int_in(p, &f.maxconn, "maxconn", 1, i64::from(u32::MAX), report)
        .map_or(inh.maxconn.unwrap_or(global.maxconn), |n| n as usize);
    let http = mode == Mode::Http;
    let default_backend = match &f.default_backend {
        Some(name) => backends.resolve(p, name, "default_backend", mode, report),
        None if s.kind == Section::Listen => backends.names.iter().position(|b| *b == s.name),
        // Requests no use_backend rule takes get a 503.
        None if http && f.use_backend.is_some() => None,
        None => {
            let msg = if http {
                format!("{what} has no `default_backend` and no `use_backend`: add default_backend = \"NAME\"")
            } else {
                format!("{what} has no `default_backend`: add default_backend = \"NAME\"")
            };
            missing(p, "default_backend", msg, report);
            None
        }
    };
    let log_format = super::log::frontend_format(
        p,
        &f.log_format,
        &inh.log_format,
        http,
        s.kind.word(),
        report,
    );
    let tracking = super::tables::tracking(f, tables, table);
    let rules = http::build(p, f, backends, tracking, http, report);
    let forwardfor = http
        && f.forwardfor
            .as_ref()
            .map_or(inh.forwardfor, |b| *b.get_ref());
    let shards = v::shards(p, &f.shards, report).unwrap_or(inh.shards);
    if shards == Shards::ByWorker && binds.iter().any(|b| matches!(b.addr, BindAddr::Fd(_))) {
        let (key, whence) = match f.shards {
            Some(_) => ("shards", ""),
            None => ("bind", " (set in [defaults])"),
        };
        let msg = format!(
            "shards = \"by-worker\"{whence} binds one socket per worker, but an fd@N bind is \
             a socket weir inherits and cannot duplicate: use an address, or shards = 1 \
             in this {}",
            s.kind.word()
        );
        report.error(&p.key_loc(key), msg);
    }
    let d = &inh.timeouts;
    let timeouts = Timeouts {
        client: own
            .client
            .or(d.client)
            .or(Some(model::defaults::TIMEOUT_CLIENT)),
        client_fin: own.client_fin.or(d.client_fin),
        http_request: own.http_request.or(d.http_request).filter(|_| http),
        http_keep_alive: own.http_keep_alive.or(d.http_keep_alive).filter(|_| http),
        ..Timeouts::default()
    };
    Some(Frontend {
        name: s.name.clone(),
        mode,
        binds,
        maxconn,
        default_backend,
        timeouts,
        log_format,
        log: super::log::proxy_log(p, &f.log, &f.log_facility, &f.log_level, report),
        capture_request: super::log::captures(
            p,
            "capture_request_header",
            &f.capture_request_header,
            report,
        ),
        capture_response: super::log::captures(
            p,
            "capture_response_header",
            &f.capture_response_header,
            report,
        ),
        errorfiles: super::errorfile::of_proxy(
            p,
            &f.errorfile,
            global.bufsize,
            &inh.errorfiles,
            report,
        ),
        stats: super::stats::build(p, f, mode, report),
        acls: rules.acls,
        use_backend: rules.use_backend,
        http_request: rules.http_request,
        http_response: rules.http_response,
        forwardfor,
        shards,
        table,
        tcp_request: rules.tcp_request,
    })
}

fn binds(
    p: &Parsed<ProxyFile>,
    b: &toml::Spanned<OneOrMany<BindSpec>>,
    mode: Mode,
    client_timeout: std::time::Duration,
    report: &mut Report,
) -> Vec<Bind> {
    let single = matches!(b.get_ref(), OneOrMany::One(_));
    let mut out = Vec::new();
    for (i, entry) in b.get_ref().entries(b.span()).into_iter().enumerate() {
        let prefix = if single {
            "bind".to_string()
        } else {
            format!("bind.{i}")
        };
        let (text, span, t) = match entry.get_ref() {
            BindSpec::Addr(a) => (a.as_str(), entry.span(), None),
            BindSpec::Table(t) => match &t.address {
                Some(a) => (a.get_ref().as_str(), a.span(), Some(t)),
                None => {
                    let msg = "bind entry without `address`".to_string();
                    missing(p, &format!("{prefix}.address"), msg, report);
                    continue;
                }
            },
        };
        let addr = match addr::bind(text) {
            Ok(a) => a,
            Err(e) => {
                report.error(&p.at(span), e);
                continue;
            }
        };
        let mut bind = Bind {
            addr,
            backlog: None,
            transparent: false,
            freebind: false,
            v6only: None,
            tls: None,
            accept_proxy: false,
            proto_h2: false,
        };
        if let Some(t) = t {
            bind.backlog = v::int_in(p, &t.backlog, "backlog", 1, i64::from(i32::MAX), report)
                .map(|n| n as i32);
            bind.transparent = t.transparent.as_ref().is_some_and(|b| *b.get_ref());
            bind.freebind = t.freebind.as_ref().is_some_and(|b| *b.get_ref());
            bind.v6only = t.v6only.as_ref().map(|b| *b.get_ref());
            bind.accept_proxy = t.accept_proxy.as_ref().is_some_and(|b| *b.get_ref());
            if let Some(proto) = &t.proto {
                match (proto.get_ref().as_str(), mode) {
                    ("h2", Mode::Http) => bind.proto_h2 = true,
                    ("h1" | "http/1.1", Mode::Http) => {}
                    (_, Mode::Tcp) => report.error(
                        &p.at(proto.span()),
                        "`proto` applies to HTTP binds; this proxy is in TCP mode",
                    ),
                    (other, _) => report.error(
                        &p.at(proto.span()),
                        format!("unknown bind proto \"{other}\": expected \"h2\" or \"http/1.1\""),
                    ),
                }
            }
            if let Some(tls) = &t.tls {
                let tls = tls.get_ref();
                bind.tls = super::tls_bind::build(p, &prefix, tls, mode, client_timeout, report);
            }
        }
        out.push(bind);
    }
    out
}

fn backend(
    s: &ProxySection,
    f: &ProxyFile,
    mode: Mode,
    own: &Timeouts,
    inh: &Inherited,
    system_roots: &mut SystemRoots,
    report: &mut Report,
) -> Option<Backend> {
    let p = &s.parsed;
    let mut servers = servers(p, f, mode, system_roots, &inh.resolvers, report);
    let mut templates = Vec::new();
    let first = servers.len();
    if let Some((t, more)) =
        super::resolvers::template(p, f, first, f.check.is_some(), &inh.resolvers, report)
    {
        for m in &more {
            if servers.iter().any(|s| s.name == m.name) {
                let msg = format!(
                    "server_template's server \"{}\" has the name of a configured server",
                    m.name
                );
                report.error(&p.key_loc("server_template.prefix"), msg);
            }
        }
        servers.extend(more);
        templates.push(t);
    }
    // A listen section serving the statistics needs no server (HAProxy's
    // `listen stats`): its other requests get a 503; nor does a backend
    // whose servers come from a template.
    let stats_only =
        (s.kind == Section::Listen && f.stats.is_some()) || f.server_template.is_some();
    let what = format!("{} \"{}\"", s.kind.word(), s.name);
    match &f.server {
        None if !stats_only => missing(
            p,
            "server",
            format!(
                "{what} has no `server`: add server = [{{ name = \"a\", address = \"HOST:PORT\" }}]"
            ),
            report,
        ),
        Some(l) if l.get_ref().is_empty() && !stats_only => report.error(
            &p.key_loc("server"),
            format!(
                "`server` of {what} is empty: list at least one, \
                 server = [{{ name = \"a\", address = \"HOST:PORT\" }}]"
            ),
        ),
        _ => {}
    }
    let http = mode == Mode::Http;
    let d = &inh.timeouts;
    let timeouts = Timeouts {
        connect: own
            .connect
            .or(d.connect)
            .or(Some(model::defaults::TIMEOUT_CONNECT)),
        server: own
            .server
            .or(d.server)
            .or(Some(model::defaults::TIMEOUT_SERVER)),
        server_fin: own.server_fin.or(d.server_fin),
        tunnel: own.tunnel.or(d.tunnel),
        queue: own.queue.or(d.queue),
        check: own.check.or(d.check),
        ..Timeouts::default()
    };
    let check = super::check::build(p, &f.check, timeouts.check, report);
    if f.check.is_none() {
        servers_need_check_table(s, f, report);
    }
    let balance = v::balance(p, &f.balance, report).unwrap_or(inh.balance.clone());
    if f.hash_type.is_some() && !balance.is_hashing() {
        let msg = format!(
            "`hash_type` applies to the hashing algorithms (balance \"source\", \"uri\" or \
             \"hdr(NAME)\"); this {} balances by \"{}\"",
            s.kind.word(),
            balance.name()
        );
        report.error(&p.key_loc("hash_type"), msg);
    }
    let server_slots = server_slots(s, f, servers.len(), report);
    Some(Backend {
        name: s.name.clone(),
        mode,
        server_slots,
        templates,
        hash_type: v::hash_type(p, &f.hash_type, report).unwrap_or(inh.hash_type),
        balance,
        servers,
        retries: v::int_in(p, &f.retries, "retries", 0, 1000, report)
            .map_or(inh.retries, |n| n as u32),
        redispatch: f
            .redispatch
            .as_ref()
            .map_or(inh.redispatch, |b| *b.get_ref()),
        timeouts,
        forwardfor: http
            && f.forwardfor
                .as_ref()
                .map_or(inh.forwardfor, |b| *b.get_ref()),
        http_reuse: match http {
            true => v::http_reuse(p, &f.http_reuse, report).unwrap_or(inh.http_reuse),
            false => inh.http_reuse,
        },
        check,
        log: None,
        errorfiles: Default::default(),
        table: None,
    })
}
