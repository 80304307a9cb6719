//! The HTTP-mode keys of a frontend or listen section: `acl`, `use_backend`,
//! `http_request` and `http_response`, into the model's [`Acl`],
//! [`SwitchRule`] and [`HttpRule`]. Called for proxies in HTTP mode only
//! ([`super::proxy`] refuses these keys in TCP mode).
//!
//! The text of criteria and conditions is parsed by [`super::acl`]; an error
//! inside a string points at the offending word when the string is written
//! without escapes (the usual case), else at the string.

use toml::Spanned;

use super::acl::{self, Tracking};
use super::diag::{did_you_mean, Loc, Report};
use super::file::{
    HttpRuleFile, Parsed, ProxyFile, RedirectFile, ReturnFile, TcpRuleFile, UseBackendFile,
};
use super::model::{
    Acl, Condition, Counter, HttpAction, HttpRule, Mode, RedirectTarget, SwitchRule, TcpAction,
    TcpRule, TRACK_SLOTS,
};
use super::raw::{AclTable, DenySpec};
use super::tables;

/// The HTTP rules of one frontend.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub acls: Vec<Acl>,
    pub use_backend: Vec<SwitchRule>,
    pub http_request: Vec<HttpRule>,
    pub http_response: Vec<HttpRule>,
    pub tcp_request: Vec<TcpRule>,
}

/// Every backend's name and mode, in `Config::backends` order.
pub(crate) struct Backends<'a> {
    pub names: &'a [String],
    pub modes: &'a [Mode],
}

impl Backends<'_> {
    /// Resolves a backend name used by a frontend in `mode`, or reports why
    /// it cannot be used: unknown (with a hint) or in another mode.
    pub fn resolve<T>(
        &self,
        p: &Parsed<T>,
        name: &Spanned<String>,
        key: &str,
        mode: Mode,
        report: &mut Report,
    ) -> Option<usize> {
        let n = name.get_ref();
        let Some(i) = self.names.iter().position(|b| b == n) else {
            let hint = did_you_mean(n, self.names.iter().map(String::as_str));
            let msg = format!("unknown backend \"{n}\" in `{key}`{hint}");
            report.error(&p.at(name.span()), msg);
            return None;
        };
        let theirs = self.modes.get(i).copied().unwrap_or(mode);
        if theirs != mode {
            let msg = format!(
                "backend \"{n}\" is in {} mode but this frontend is in {} mode: a frontend \
                 can only use backends of its own mode",
                mode_word(theirs),
                mode_word(mode)
            );
            report.error(&p.at(name.span()), msg);
            return None;
        }
        Some(i)
    }
}

fn mode_word(m: Mode) -> &'static str {
    match m {
        Mode::Tcp => "TCP",
        Mode::Http => "HTTP",
    }
}

/// Builds the rules of a frontend or listen section: `tcp_request` in
/// every mode, the others in HTTP mode (`http`).
pub(crate) fn build(
    p: &Parsed<ProxyFile>,
    f: &ProxyFile,
    backends: &Backends<'_>,
    tk: Tracking<'_>,
    http: bool,
    report: &mut Report,
) -> Rules {
    let mut cx = Cx {
        p,
        report,
        acls: Vec::new(),
        broken: Vec::new(),
        tk,
    };
    if !http {
        let tcp_request = cx.tcp_rules(f);
        return Rules {
            tcp_request,
            ..Rules::default()
        };
    }
    if let Some(t) = &f.acl {
        cx.acls(t.get_ref());
    }
    let mut use_backend = Vec::new();
    for (i, e) in f
        .use_backend
        .iter()
        .flat_map(|l| l.get_ref().iter())
        .enumerate()
    {
        use_backend.extend(cx.switch_rule(i, e, backends));
    }
    let mut rules = |key: &str, list: &Option<Spanned<Vec<Spanned<HttpRuleFile>>>>| {
        let list = list.iter().flat_map(|l| l.get_ref().iter()).enumerate();
        list.filter_map(|(i, e)| cx.http_rule(&format!("{key}.{i}"), e))
            .collect::<Vec<_>>()
    };
    let http_request = rules("http_request", &f.http_request);
    let http_response = rules("http_response", &f.http_response);
    let tcp_request = cx.tcp_rules(f);
    Rules {
        acls: cx.acls,
        use_backend,
        http_request,
        http_response,
        tcp_request,
    }
}

/// The state of one proxy's rule building.
struct Cx<'a> {
    p: &'a Parsed<ProxyFile>,
    report: &'a mut Report,
    acls: Vec<Acl>,
    /// ACLs with an error already reported: a condition naming one is not
    /// reported again.
    broken: Vec<String>,
    /// The tables and trackers counter criteria refer to.
    tk: Tracking<'a>,
}

impl Cx<'_> {
    fn err(&mut self, loc: Loc, msg: impl Into<String>) {
        self.report.error(&loc, msg);
    }

    /// The position `offset` bytes into the string value `v`, when the file
    /// holds it verbatim between quotes; else the string itself.
    fn inside(&self, v: &Spanned<String>, offset: usize) -> Loc {
        let loc = self.p.at(v.span());
        let verbatim = self.report.text(&loc).is_some_and(|raw| {
            raw.len() == v.get_ref().len() + 2 && raw.get(1..raw.len() - 1) == Some(v.get_ref())
        });
        match verbatim {
            true => self.p.at(loc.span.start + 1 + offset..loc.span.end),
            false => loc,
        }
    }

    fn acls(&mut self, t: &AclTable) {
        for (name, text) in &t.0 {
            if let Err(e) = acl::check_acl_name(name.get_ref()) {
                self.err(self.p.at(name.span()), e);
                self.broken.push(name.get_ref().clone());
                continue;
            }
            let parsed = acl::words(text.get_ref())
                .and_then(|ws| acl::criterion(text.get_ref(), &ws, text.get_ref().len(), &self.tk));
            match parsed {
                Ok(criterion) => self.acls.push(Acl {
                    name: name.get_ref().clone(),
                    criterion,
                }),
                Err((at, msg)) => {
                    self.err(self.inside(text, at), msg);
                    self.broken.push(name.get_ref().clone());
                }
            }
        }
    }

    /// The optional `if` / `unless` of a rule; `Err` when reported.
    fn condition(
        &mut self,
        path: &str,
        if_: &Option<Spanned<String>>,
        unless: &Option<Spanned<String>>,
    ) -> Result<Option<Condition>, ()> {
        let (text, negated) = match (if_, unless) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                let loc = self.p.key_loc(&format!("{path}.unless"));
                self.err(loc, "`if` and `unless` on the same rule: keep one");
                return Err(());
            }
            (Some(t), None) => (t, false),
            (None, Some(t)) => (t, true),
        };
        let broken = self.broken.iter().any(|b| {
            acl::words(text.get_ref())
                .is_ok_and(|ws| ws.iter().any(|w| w.text.trim_start_matches('!') == b))
        });
        match acl::condition(text.get_ref(), negated, &self.acls, &self.tk) {
            Ok(c) => Ok(Some(c)),
            Err(_) if broken => Err(()),
            Err((at, msg)) => {
                self.err(self.inside(text, at), msg);
                Err(())
            }
        }
    }

    fn switch_rule(
        &mut self,
        i: usize,
        e: &Spanned<UseBackendFile>,
        backends: &Backends<'_>,
    ) -> Option<SwitchRule> {
        let path = format!("use_backend.{i}");
        let (span, e) = (e.span(), e.get_ref());
        let backend = match &e.backend {
            Some(name) => backends.resolve(self.p, name, "use_backend", Mode::Http, self.report),
            None => {
                if !self.p.hinted.contains(&format!("{path}.backend")) {
                    self.err(
                        self.p.at(span.clone()),
                        "use_backend entry without `backend`",
                    );
                }
                None
            }
        };
        let cond = self.condition(&path, &e.if_, &e.unless).ok()?;
        let hinted = ["if", "unless"]
            .iter()
            .any(|k| self.p.hinted.contains(&format!("{path}.{k}")));
        if cond.is_none() && e.backend.is_some() && !hinted {
            let msg = "a use_backend entry needs `if` or `unless`; for the backend that \
                       gets everything else, use default_backend";
            self.err(self.p.at(span), msg);
            return None;
        }
        Some(SwitchRule {
            backend: backend?,
            cond,
        })
    }

    fn http_rule(&mut self, path: &str, e: &Spanned<HttpRuleFile>) -> Option<HttpRule> {
        let (span, r) = (e.span(), e.get_ref());
        let set: Vec<&str> = [
            ("deny", r.deny.is_some()),
            ("return", r.return_.is_some()),
            ("redirect", r.redirect.is_some()),
            ("set_header", r.set_header.is_some()),
            ("add_header", r.add_header.is_some()),
            ("del_header", r.del_header.is_some()),
            ("set_path", r.set_path.is_some()),
            ("track", r.track.is_some()),
            ("inc_gpc0", r.inc_gpc0.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        let cond = self.condition(path, &r.if_, &r.unless);
        match set[..] {
            [] => {
                let hinted = self
                    .p
                    .hinted
                    .iter()
                    .any(|h| h.starts_with(&format!("{path}.")));
                if !hinted {
                    let msg = if path.starts_with("http_response") {
                        "rule without an action: expected set_header, add_header, del_header or \
                         inc_gpc0"
                    } else {
                        "rule without an action: expected deny, return, redirect, set_header, \
                         add_header, del_header, set_path, track or inc_gpc0"
                    };
                    self.err(self.p.at(span), msg);
                }
                return None;
            }
            [_] => {}
            [first, second, ..] => {
                let loc = self.p.key_loc(&format!("{path}.{second}"));
                let msg = format!(
                    "one action per rule: `{first}` and `{second}` are both set; write two rules"
                );
                self.err(loc, msg);
                return None;
            }
        }
        if r.track.is_none() && (r.slot.is_some() || r.table.is_some()) {
            let key = if r.slot.is_some() { "slot" } else { "table" };
            let loc = self.p.key_loc(&format!("{path}.{key}"));
            self.err(loc, format!("`{key}` goes with `track`"));
            return None;
        }
        let action = self.action(path, r)?;
        Some(HttpRule {
            action,
            cond: cond.ok()?,
        })
    }

    /// The one action of a rule (checked by the caller).
    fn action(&mut self, path: &str, r: &HttpRuleFile) -> Option<HttpAction> {
        if let Some(k) = &r.track {
            let t = tables::track(self.p, k, &r.slot, &r.table, &self.tk, false, self.report)?;
            return Some(HttpAction::Track(t));
        }
        if let Some(n) = &r.inc_gpc0 {
            let slot = self.gpc0_slot(n)?;
            return Some(HttpAction::IncGpc0 { slot });
        }
        if let Some(d) = &r.deny {
            let status = match *d.get_ref() {
                DenySpec::Flag(true) => 403,
                DenySpec::Flag(false) => {
                    self.err(
                        self.p.at(d.span()),
                        "`deny = false` does nothing: remove the rule",
                    );
                    return None;
                }
                DenySpec::Status(n) => self.status(d.span(), "deny", n)?,
            };
            return Some(HttpAction::Deny { status });
        }
        if let Some(t) = &r.return_ {
            return self.return_action(t.get_ref());
        }
        if let Some(t) = &r.redirect {
            return self.redirect(&format!("{path}.redirect"), t);
        }
        if let Some(l) = &r.set_header {
            let (name, value) = self.name_value(l, "set_header")?;
            return Some(HttpAction::SetHeader { name, value });
        }
        if let Some(l) = &r.add_header {
            let (name, value) = self.name_value(l, "add_header")?;
            return Some(HttpAction::AddHeader { name, value });
        }
        if let Some(n) = &r.del_header {
            let name = self.header_name(n)?;
            return Some(HttpAction::DelHeader { name });
        }
        let p = r.set_path.as_ref()?;
        let path = p.get_ref();
        let bad = path
            .bytes()
            .find(|b| b.is_ascii_whitespace() || b.is_ascii_control());
        let why = if !path.starts_with('/') {
            "must start with `/`"
        } else if bad.is_some() {
            "must not contain spaces or control characters"
        } else if path.contains(['?', '#']) {
            "replaces the path only (the query string is kept): remove `?` and `#`"
        } else {
            return Some(HttpAction::SetPath { path: path.clone() });
        };
        self.err(
            self.p.at(p.span()),
            format!("invalid set_path \"{path}\": it {why}"),
        );
        None
    }

    /// The slot of `inc_gpc0 = N`: in range, tracked by a rule, in tables
    /// that store `gpc0` or `gpc0_rate`.
    fn gpc0_slot(&mut self, n: &Spanned<i64>) -> Option<usize> {
        let loc = self.p.at(n.span());
        let v = *n.get_ref();
        let Some(slot) = usize::try_from(v).ok().filter(|&s| s < TRACK_SLOTS) else {
            let msg = format!(
                "slot {v} is out of range: weir tracks on slots 0 to {}",
                TRACK_SLOTS - 1
            );
            self.err(loc, msg);
            return None;
        };
        let on = &self.tk.slots[slot];
        if on.is_empty() {
            let msg = format!(
                "`inc_gpc0 = {slot}`, but no rule of this proxy tracks on slot {slot}: add a \
                 rule such as {{ track = \"src\", slot = {slot} }}"
            );
            self.err(loc, msg);
            return None;
        }
        let why = self
            .tk
            .not_stored(on, Counter::Gpc0)
            .and_then(|why| self.tk.not_stored(on, Counter::Gpc0Rate).map(|_| why));
        if let Some(why) = why {
            self.err(loc, why);
            return None;
        }
        Some(slot)
    }

    /// The `tcp_request` rules.
    fn tcp_rules(&mut self, f: &ProxyFile) -> Vec<TcpRule> {
        let mut out = Vec::new();
        let list = f.tcp_request.iter().flat_map(|l| l.get_ref()).enumerate();
        for (i, e) in list {
            out.extend(self.tcp_rule(&format!("tcp_request.{i}"), e));
        }
        out
    }

    fn tcp_rule(&mut self, path: &str, e: &Spanned<TcpRuleFile>) -> Option<TcpRule> {
        let (span, r) = (e.span(), e.get_ref());
        let cond = self.condition(path, &r.if_, &r.unless);
        let action = match (&r.track, &r.reject) {
            (Some(_), Some(_)) => {
                let msg = "one action per rule: `track` and `reject` are both set; write two rules";
                self.err(self.p.key_loc(&format!("{path}.reject")), msg);
                return None;
            }
            (Some(k), None) => {
                let t = tables::track(self.p, k, &r.slot, &r.table, &self.tk, true, self.report);
                TcpAction::Track(t?)
            }
            (None, Some(b)) if *b.get_ref() => TcpAction::Reject,
            (None, Some(b)) => {
                let msg = "`reject = false` does nothing: remove the rule";
                self.err(self.p.at(b.span()), msg);
                return None;
            }
            (None, None) => {
                let prefix = format!("{path}.");
                if !self.p.hinted.iter().any(|h| h.starts_with(&prefix)) {
                    let msg = "rule without an action: expected track or reject";
                    self.err(self.p.at(span), msg);
                }
                return None;
            }
        };
        if r.track.is_none() && (r.slot.is_some() || r.table.is_some()) {
            let key = if r.slot.is_some() { "slot" } else { "table" };
            let loc = self.p.key_loc(&format!("{path}.{key}"));
            self.err(loc, format!("`{key}` goes with `track`"));
            return None;
        }
        let cond = cond.ok()?;
        if let (Some(c), Some(text)) = (&cond, r.if_.as_ref().or(r.unless.as_ref())) {
            if !tables::at_accept(c, &self.acls) {
                let msg = "tcp_request rules run at accept, before any byte is read: their \
                           conditions may test src, dst_port and table counters only";
                self.err(self.p.at(text.span()), msg);
                return None;
            }
        }
        Some(TcpRule { action, cond })
    }

    fn status(&mut self, span: std::ops::Range<usize>, key: &str, n: i64) -> Option<u16> {
        if (200..=599).contains(&n) {
            return Some(n as u16);
        }
        let msg = format!("`{key}` status must be between 200 and 599, got {n}");
        self.err(self.p.at(span), msg);
        None
    }

    fn return_action(&mut self, t: &ReturnFile) -> Option<HttpAction> {
        let status = match &t.status {
            Some(s) => self.status(s.span(), "return", *s.get_ref())?,
            None => 200,
        };
        let content_type = match &t.content_type {
            Some(c) => Some(self.header_value(c, "content_type")?),
            None => None,
        };
        let body = t
            .body
            .as_ref()
            .map_or(String::new(), |b| b.get_ref().clone());
        if matches!(status, 204 | 304) && !body.is_empty() {
            let span = t.body.as_ref().map(|b| b.span()).unwrap_or_default();
            self.err(self.p.at(span), format!("a {status} response has no body"));
            return None;
        }
        Some(HttpAction::Return {
            status,
            content_type,
            body,
        })
    }

    fn redirect(&mut self, path: &str, t: &Spanned<RedirectFile>) -> Option<HttpAction> {
        let r = t.get_ref();
        let targets = [
            ("location", &r.location),
            ("prefix", &r.prefix),
            ("scheme", &r.scheme),
        ];
        let given: Vec<(&str, &Spanned<String>)> = targets
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
            .collect();
        let (kind, value) = match given[..] {
            [one] => one,
            [] => {
                let msg = "redirect needs one of `location`, `prefix` or `scheme`";
                self.err(self.p.at(t.span()), msg);
                return None;
            }
            [(a, _), (b, _), ..] => {
                let msg = format!("redirect takes one of `location`, `prefix` or `scheme`, not both `{a}` and `{b}`");
                self.err(self.p.key_loc(&format!("{path}.{b}")), msg);
                return None;
            }
        };
        let code = match &r.code {
            None => 302,
            Some(c) if [301, 302, 303, 307, 308].contains(c.get_ref()) => *c.get_ref() as u16,
            Some(c) => {
                let msg = format!(
                    "redirect `code` must be 301, 302, 303, 307 or 308, got {}",
                    c.get_ref()
                );
                self.err(self.p.at(c.span()), msg);
                return None;
            }
        };
        let target = match kind {
            "scheme" => {
                let s = value.get_ref();
                let ok = s.starts_with(|c: char| c.is_ascii_alphabetic())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                if !ok {
                    let msg = format!("invalid scheme \"{s}\": expected such as \"https\"");
                    self.err(self.p.at(value.span()), msg);
                    return None;
                }
                RedirectTarget::Scheme(s.to_ascii_lowercase())
            }
            k => {
                let v = self.header_value(value, k)?;
                if v.is_empty() {
                    self.err(self.p.at(value.span()), format!("empty redirect `{k}`"));
                    return None;
                }
                match k {
                    "location" => RedirectTarget::Location(v),
                    _ => RedirectTarget::Prefix(v),
                }
            }
        };
        Some(HttpAction::Redirect { target, code })
    }

    /// `["NAME", "VALUE"]`.
    fn name_value(
        &mut self,
        l: &Spanned<Vec<Spanned<String>>>,
        key: &str,
    ) -> Option<(String, String)> {
        let [name, value] = &l.get_ref()[..] else {
            let msg =
                format!("`{key}` takes a header name and a value: {key} = [\"X-Name\", \"value\"]");
            self.err(self.p.at(l.span()), msg);
            return None;
        };
        let name = self.header_name(name);
        let value = self.header_value(value, key);
        Some((name?, value?))
    }

    fn header_name(&mut self, n: &Spanned<String>) -> Option<String> {
        let name = n.get_ref();
        if !acl::is_token(name) {
            let msg =
                format!("invalid header name \"{name}\": letters, digits and !#$%&'*+-.^_`|~");
            self.err(self.p.at(n.span()), msg);
            return None;
        }
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            let msg = format!(
                "\"{name}\" cannot be changed by a rule: weir manages message framing itself"
            );
            self.err(self.p.at(n.span()), msg);
            return None;
        }
        Some(name.clone())
    }

    /// A value that goes into a header: no control character but tab, and
    /// no `%[…]` expression (literal values only, for now).
    fn header_value(&mut self, v: &Spanned<String>, key: &str) -> Option<String> {
        let s = v.get_ref();
        if let Some(at) = s.find(|c: char| c.is_ascii_control() && c != '\t') {
            let msg = format!(
                "invalid `{key}`: control characters (such as line breaks) are not allowed"
            );
            self.err(self.inside(v, at), msg);
            return None;
        }
        if let Some(at) = s.find("%[") {
            let why =
                "sample expressions such as %[src] arrive in a later version; values are literal";
            self.err(
                self.inside(v, at),
                format!("\"%[\" is not supported yet: {why}"),
            );
            return None;
        }
        Some(s.clone())
    }
}

/// The keys that need `mode = "http"`, and whether each is set.
pub(crate) fn keys_needing_http(f: &ProxyFile) -> [(&'static str, bool); 4] {
    [
        ("acl", f.acl.is_some()),
        ("use_backend", f.use_backend.is_some()),
        ("http_request", f.http_request.is_some()),
        ("http_response", f.http_response.is_some()),
    ]
}
