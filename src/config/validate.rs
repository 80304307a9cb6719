//! Stage 2: the file model into the typed [`model::Config`].
//!
//! Every semantic error is collected with its position: duplicate sections
//! and proxy names, values out of range, unknown backends, and the keys
//! weir recognises but refuses for now ("not supported yet"). The sections
//! themselves are built by [`super::global`] and [`super::proxy`]; this file
//! holds the order of the checks, `[defaults]`, and the shared helpers.

use std::collections::HashMap;

use toml::Spanned;

use super::diag::{did_you_mean, Loc, Report};
use super::file::{DefaultsFile, FileModel, Parsed, TimeoutFile};
use super::model::{
    self, Balance, Config, ErrorFiles, HashType, HttpReuse, LogFormat, Mode, Shards, Timeouts,
};
use super::schema::Section;
use super::units;

/// What `[defaults]` hands down to every proxy (a proxy's own value wins).
#[derive(Debug, Clone)]
pub(crate) struct Inherited {
    pub mode: Mode,
    pub timeouts: Timeouts,
    pub retries: u32,
    pub redispatch: bool,
    /// `None`: a frontend takes `global.maxconn`.
    pub maxconn: Option<usize>,
    pub balance: Balance,
    pub hash_type: HashType,
    /// `None`: by mode ("tcplog" in TCP mode, "httplog" in HTTP mode).
    /// "httplog" (or "httpslog") here gives "tcplog" in TCP-mode proxies,
    /// as in HAProxy.
    pub log_format: Option<LogFormat>,
    /// Applied by HTTP-mode proxies only; TCP-mode ones ignore it.
    pub forwardfor: bool,
    /// Applied by HTTP-mode backends only.
    pub http_reuse: HttpReuse,
    pub shards: Shards,
    pub errorfiles: ErrorFiles,
    /// The names of the `[resolvers.NAME]` sections, in order.
    pub resolvers: Vec<String>,
}

/// Builds the typed model, or returns `None` when any error was reported
/// (in this stage or before).
pub(crate) fn build(files: &FileModel, report: &mut Report) -> Option<Config> {
    once("global", &files.global, report);
    once("defaults", &files.defaults, report);
    let global = super::global::build(files.global.first(), report);
    let mut inherited = defaults(files.defaults.first(), global.bufsize, report);
    let resolvers = super::resolvers::build(files, report);
    inherited.resolvers = resolvers.iter().map(|r| r.name.clone()).collect();
    let (frontends, backends, tables) = super::proxy::build_all(files, &global, &inherited, report);
    if frontends.is_empty() && report.errors.is_empty() {
        let file = report
            .sources
            .first()
            .map_or(String::new(), |s| s.name.clone());
        report.errors.push(super::Diagnostic::whole_file(
            file,
            "no [frontend.NAME] or [listen.NAME] section: there is nothing to listen on",
        ));
    }
    if !report.errors.is_empty() {
        return None;
    }
    Some(Config {
        global,
        frontends,
        backends,
        tables,
        resolvers,
        warnings: Vec::new(),
    })
}

/// `[global]` and `[defaults]` may each appear in one file only.
fn once<T>(word: &str, sections: &[Parsed<T>], report: &mut Report) {
    if let Some(first) = sections.first() {
        for again in &sections[1..] {
            let msg = format!(
                "duplicate section [{word}]; it is first defined at {}",
                report.describe(&first.loc)
            );
            report.error(&again.loc, msg);
        }
    }
}

fn defaults(d: Option<&Parsed<DefaultsFile>>, bufsize: usize, report: &mut Report) -> Inherited {
    let mut out = Inherited {
        mode: Mode::Tcp,
        timeouts: Timeouts::default(),
        retries: model::defaults::RETRIES,
        redispatch: false,
        maxconn: None,
        balance: Balance::RoundRobin,
        hash_type: HashType::MapBased,
        log_format: None,
        forwardfor: false,
        http_reuse: HttpReuse::Safe,
        shards: Shards::One,
        errorfiles: ErrorFiles::default(),
        resolvers: Vec::new(),
    };
    let Some((p, f)) = d.and_then(|p| p.body.as_ref().map(|f| (p, f))) else {
        return out;
    };
    if let Some(m) = mode(p, &f.mode, report) {
        out.mode = m;
    }
    if let Some(t) = &f.timeout {
        out.timeouts = timeouts(p, t.get_ref(), report);
    }
    if let Some(r) = int_in(p, &f.retries, "retries", 0, 1000, report) {
        out.retries = r as u32;
    }
    if let Some(r) = &f.redispatch {
        out.redispatch = *r.get_ref();
    }
    if let Some(b) = &f.forwardfor {
        out.forwardfor = *b.get_ref();
    }
    if let Some(r) = http_reuse(p, &f.http_reuse, report) {
        out.http_reuse = r;
    }
    if let Some(n) = int_in(p, &f.maxconn, "maxconn", 1, i64::from(u32::MAX), report) {
        out.maxconn = Some(n as usize);
    }
    if let Some(b) = balance(p, &f.balance, report) {
        out.balance = b;
    }
    if let Some(h) = hash_type(p, &f.hash_type, report) {
        out.hash_type = h;
    }
    if let Some(s) = shards(p, &f.shards, report) {
        out.shards = s;
    }
    out.log_format = super::log::log_format(p, &f.log_format, report);
    if let Some(t) = &f.errorfile {
        out.errorfiles = super::errorfile::build(p, t.get_ref(), bufsize, report);
    }
    out
}

/// Parses every timeout present in a `timeout` table.
pub(crate) fn timeouts<T>(p: &Parsed<T>, t: &TimeoutFile, report: &mut Report) -> Timeouts {
    let mut one = |v: &Option<Spanned<super::raw::IntOrStr>>| {
        let v = v.as_ref()?;
        units::duration(v.get_ref())
            .map_err(|e| report.error(&p.at(v.span()), e))
            .ok()
    };
    Timeouts {
        connect: one(&t.connect),
        client: one(&t.client),
        server: one(&t.server),
        client_fin: one(&t.client_fin),
        server_fin: one(&t.server_fin),
        tunnel: one(&t.tunnel),
        http_request: one(&t.http_request),
        http_keep_alive: one(&t.http_keep_alive),
        queue: one(&t.queue),
        check: one(&t.check),
    }
}

/// Whether the timeout `key` is set in `t`.
pub(crate) fn timeout_set(t: &TimeoutFile, key: &str) -> bool {
    match key {
        "connect" => t.connect.is_some(),
        "client" => t.client.is_some(),
        "server" => t.server.is_some(),
        "client_fin" => t.client_fin.is_some(),
        "server_fin" => t.server_fin.is_some(),
        "tunnel" => t.tunnel.is_some(),
        "http_request" => t.http_request.is_some(),
        "http_keep_alive" => t.http_keep_alive.is_some(),
        "queue" => t.queue.is_some(),
        "check" => t.check.is_some(),
        _ => false,
    }
}

/// Reports `"KEY" is not supported yet: WHY` at the key. `path` is the key's
/// path in the section (`server.0.maxconn`); the message names the key
/// itself (`maxconn`), or `timeout.X` for a timeout.
pub(crate) fn unsupported<T>(p: &Parsed<T>, path: &str, why: &str, report: &mut Report) {
    let key = match path.strip_prefix("timeout.") {
        Some(_) => path,
        None => path.rsplit('.').next().unwrap_or(path),
    };
    report.error(
        &p.key_loc(path),
        format!("\"{key}\" is not supported yet: {why}"),
    );
}

/// An integer within `lo..=hi`, or an error naming the key and the range.
pub(crate) fn int_in<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<i64>>,
    key: &str,
    lo: i64,
    hi: i64,
    report: &mut Report,
) -> Option<i64> {
    let v = v.as_ref()?;
    let n = *v.get_ref();
    if (lo..=hi).contains(&n) {
        return Some(n);
    }
    let msg = if hi >= i64::from(u32::MAX) {
        format!("`{key}` must be at least {lo}, got {n}")
    } else {
        format!("`{key}` must be between {lo} and {hi}, got {n}")
    };
    report.error(&p.at(v.span()), msg);
    None
}

/// `mode`: "tcp" or "http".
pub(crate) fn mode<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<Mode> {
    let v = v.as_ref()?;
    match v.get_ref().as_str() {
        "tcp" => Some(Mode::Tcp),
        "http" => Some(Mode::Http),
        other => {
            let hint = did_you_mean(other, ["tcp", "http"]);
            let msg = format!("invalid mode \"{other}\": expected \"tcp\" or \"http\"{hint}");
            report.error(&p.at(v.span()), msg);
            None
        }
    }
}

/// The `balance` algorithms, as written (`hdr(NAME)` stands for its form).
const BALANCE: &[&str] = &[
    "roundrobin",
    "static-rr",
    "leastconn",
    "first",
    "source",
    "uri",
    "hdr(NAME)",
    "random",
];

/// `balance`: one of [`BALANCE`]; `hdr(NAME)` takes a header name (an
/// HTTP token, stored in lower case).
pub(crate) fn balance<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<Balance> {
    let v = v.as_ref()?;
    let s = v.get_ref().as_str();
    let b = match s {
        "roundrobin" => Balance::RoundRobin,
        "static-rr" => Balance::StaticRr,
        "leastconn" => Balance::LeastConn,
        "first" => Balance::First,
        "source" => Balance::Source,
        "uri" => Balance::Uri,
        "random" => Balance::Random,
        _ => match s.strip_prefix("hdr(").and_then(|r| r.strip_suffix(')')) {
            Some(name) if super::acl::is_token(name) => Balance::Hdr(name.to_ascii_lowercase()),
            Some(name) => {
                let msg = if name.is_empty() {
                    "balance \"hdr()\" needs a header name, such as \"hdr(host)\"".to_string()
                } else {
                    format!("invalid header name \"{name}\" in balance \"{s}\"")
                };
                report.error(&p.at(v.span()), msg);
                return None;
            }
            None => {
                let hint = if s.starts_with("hdr") {
                    "; did you mean `hdr(NAME)`, such as `hdr(host)`?".to_string()
                } else {
                    did_you_mean(s, BALANCE.iter().copied())
                };
                let msg = format!(
                    "unknown balance algorithm \"{s}\": expected roundrobin, static-rr, leastconn, \
                     first, source, uri, hdr(NAME) or random{hint}"
                );
                report.error(&p.at(v.span()), msg);
                return None;
            }
        },
    };
    Some(b)
}

/// `hash_type`: "map-based" (HAProxy's default) or "consistent".
pub(crate) fn hash_type<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<HashType> {
    let v = v.as_ref()?;
    match v.get_ref().as_str() {
        "map-based" => Some(HashType::MapBased),
        "consistent" => Some(HashType::Consistent),
        s => {
            let msg = format!(
                "unknown hash_type \"{s}\": expected \"map-based\" or \"consistent\"{}",
                did_you_mean(s, ["map-based", "consistent"])
            );
            report.error(&p.at(v.span()), msg);
            None
        }
    }
}

/// `http_reuse`: "safe" or "never".
/// `shards`: `1` (one socket shared by every worker) or `"by-worker"`.
pub(crate) fn shards<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<super::raw::IntOrStr>>,
    report: &mut Report,
) -> Option<Shards> {
    use super::raw::IntOrStr;
    let v = v.as_ref()?;
    let msg = match v.get_ref() {
        IntOrStr::Int(1) => return Some(Shards::One),
        IntOrStr::Str(s) if s == "by-worker" => return Some(Shards::ByWorker),
        IntOrStr::Int(n) => format!(
            "shards = {n}: expected 1 (one socket shared by every worker) or \"by-worker\" \
             (one socket per worker)"
        ),
        IntOrStr::Str(s) => format!(
            "unknown shards \"{s}\": expected 1 or \"by-worker\"{}",
            did_you_mean(s, ["by-worker", "by-thread", "by-group"])
        ),
    };
    report.error(&p.at(v.span()), msg);
    None
}

pub(crate) fn http_reuse<T>(
    p: &Parsed<T>,
    v: &Option<Spanned<String>>,
    report: &mut Report,
) -> Option<HttpReuse> {
    let v = v.as_ref()?;
    match v.get_ref().as_str() {
        "safe" => Some(HttpReuse::Safe),
        "never" => Some(HttpReuse::Never),
        "aggressive" | "always" => {
            let why = "only \"safe\" and \"never\" are available; \"aggressive\" and \
                       \"always\" arrive in a later version";
            unsupported(p, "http_reuse", why, report);
            None
        }
        s => {
            let msg = format!(
                "unknown http_reuse \"{s}\": expected \"safe\" or \"never\"{}",
                did_you_mean(s, ["safe", "never", "aggressive", "always"])
            );
            report.error(&p.at(v.span()), msg);
            None
        }
    }
}

/// Section names already seen, for duplicate detection.
#[derive(Default)]
pub(crate) struct Names {
    seen: HashMap<String, (Section, Loc)>,
}

impl Names {
    /// Records `name`; reports a duplicate if it was already recorded.
    pub fn add(&mut self, name: &str, kind: Section, loc: &Loc, what: &str, report: &mut Report) {
        if let Some((first_kind, first)) = self.seen.get(name) {
            let msg = format!(
                "duplicate {what} name \"{name}\": [{}.{name}] is already defined at {}",
                first_kind.word(),
                report.describe(first)
            );
            report.error(loc, msg);
        } else {
            self.seen.insert(name.to_string(), (kind, loc.clone()));
        }
    }
}

/// Proxy and server names: what logs, stats and the runtime API can quote.
pub(super) fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    if name.is_empty() || !name.chars().all(ok) {
        return Err("use letters, digits, '-', '_', '.' and ':'");
    }
    Ok(())
}

/// An error for a required key, unless it was misspelt and already hinted.
pub(super) fn missing<T>(p: &Parsed<T>, key: &str, msg: String, report: &mut Report) {
    if !p
        .hinted
        .iter()
        .any(|h| h == key || h.starts_with(&format!("{key}.")))
    {
        report.error(&p.loc, msg);
    }
}

/// A server's name: a proxy's characters, and short enough for its place
/// in the shared state.
pub fn check_server_name(name: &str) -> Result<(), &'static str> {
    check_name(name)?;
    if name.len() > model::SERVER_NAME_MAX {
        return Err("at most 127 characters");
    }
    Ok(())
}
