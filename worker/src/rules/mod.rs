//! The rule engine: ACL criteria, conditions, `use_backend` and the HTTP
//! rules evaluated against one request, with HAProxy's semantics. Pure code:
//! no sockets, no parsing of the configuration (the model arrives built and
//! checked by `weir_core::config`).
//!
//! The HTTP session implements [`Sample`] over the request it holds (and,
//! for `http_response` rules, over the request and the response headers),
//! then calls, in HAProxy's order:
//!
//! 1. `http_request` rules, one by one: [`rule_applies`]; apply the action;
//!    stop after the first terminal one ([`is_terminal`]: deny, return,
//!    redirect). A rule sees the request as the rules before it left it.
//! 2. [`select_backend`]: the first `use_backend` whose condition holds,
//!    else `default_backend`, else `None` (answer 503).
//! 3. `http_response` rules on the response, with [`rule_applies`].
//!
//! Matching ([`matching`]): a criterion holds when any pattern matches any
//! value of its sample; a missing header has no value, so it matches
//! nothing (and `!{ hdr(x) foo }` holds). `-i` compares ASCII
//! case-insensitively without allocating.

mod matching;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use weir_core::config::model::{
    Acl, Condition, Counter, Frontend, HttpAction, HttpRule, RedirectTarget, Term, TermRef,
};

pub use matching::criterion_matches;

/// What the criteria read from the exchange being evaluated.
pub trait Sample {
    /// The request method as received (`GET`).
    fn method(&self) -> &[u8];
    /// The request target as received (`/a/b?x=1`, or the absolute form).
    fn url(&self) -> &[u8];
    /// The path: the target without the query string (for an absolute-form
    /// target, without the scheme and authority either).
    fn path(&self) -> &[u8];
    /// Calls `f` with each value of header `name` (given in lower case,
    /// compared case-insensitively): every field of that name, its
    /// comma-separated list split and each element trimmed of spaces and
    /// tabs. Stops as soon as `f` returns true, and returns whether it did.
    /// In `http_response` rules, the response's headers.
    fn any_header_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool;
    /// The client's address (as accepted: may be IPv4-mapped IPv6).
    fn src(&self) -> IpAddr;
    /// The local port the client connected to.
    fn dst_port(&self) -> u16;
    /// The response status, in `http_response` rules (0 before a
    /// response).
    fn status(&self) -> u16 {
        0
    }
    /// `counter` of the entry tracked on `slot` (0 when nothing is
    /// tracked there, as HAProxy's `sc_*` fetches).
    fn sc_counter(&self, _slot: usize, _counter: Counter) -> u64 {
        0
    }
    /// `counter` of the client address's entry in table `table` (0 when
    /// it has none, as HAProxy's `src_*` fetches).
    fn src_counter(&self, _table: usize, _counter: Counter) -> u64 {
        0
    }
}

/// Whether `cond` holds: some AND-group of terms all hold, inverted for
/// `unless`. `acls` are the frontend's (conditions refer to them by index).
pub fn condition_holds(cond: &Condition, acls: &[Acl], s: &dyn Sample) -> bool {
    let any = cond
        .any_of
        .iter()
        .any(|group| group.iter().all(|t| term_holds(t, acls, s)));
    any != cond.unless
}

fn term_holds(t: &Term, acls: &[Acl], s: &dyn Sample) -> bool {
    let m = match &t.what {
        // An index the validation did not produce cannot match.
        TermRef::Acl(i) => acls
            .get(*i)
            .is_some_and(|a| criterion_matches(&a.criterion, s)),
        TermRef::Inline(c) => criterion_matches(c, s),
    };
    m != t.negate
}

/// Whether an optional condition holds: no condition always does.
pub fn cond_holds(cond: Option<&Condition>, acls: &[Acl], s: &dyn Sample) -> bool {
    cond.is_none_or(|c| condition_holds(c, acls, s))
}

/// Whether an `http_request` / `http_response` rule applies to `s`.
pub fn rule_applies(rule: &HttpRule, acls: &[Acl], s: &dyn Sample) -> bool {
    cond_holds(rule.cond.as_ref(), acls, s)
}

/// Whether evaluation stops after this action (deny, return, redirect).
pub fn is_terminal(a: &HttpAction) -> bool {
    matches!(
        a,
        HttpAction::Deny { .. } | HttpAction::Return { .. } | HttpAction::Redirect { .. }
    )
}

/// The backend for this request: the first `use_backend` rule whose
/// condition holds, else `default_backend`; `None` means no backend (the
/// session answers 503, as HAProxy does).
pub fn select_backend(fe: &Frontend, s: &dyn Sample) -> Option<usize> {
    fe.use_backend
        .iter()
        .find(|r| cond_holds(r.cond.as_ref(), &fe.acls, s))
        .map(|r| r.backend)
        .or(fe.default_backend)
}

/// The `Location` of a redirect, as HAProxy builds it:
/// - `location`: as written;
/// - `prefix`: the prefix, then the path and query string of the request
///   (a prefix of `/` gives the path and query alone);
/// - `scheme`: `SCHEME://HOST` then the path and query, HOST being the
///   request's `Host` header; without one, the path and query alone.
///
/// Appended to `out` (the reply being written).
pub fn redirect_location(target: &RedirectTarget, s: &dyn Sample, out: &mut Vec<u8>) {
    let rest = path_and_query(s.url());
    match target {
        RedirectTarget::Location(l) => out.extend_from_slice(l.as_bytes()),
        RedirectTarget::Prefix(p) => {
            let p = if p == "/" { "" } else { p.as_str() };
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(rest);
        }
        RedirectTarget::Scheme(scheme) => {
            let mark = out.len();
            out.extend_from_slice(scheme.as_bytes());
            out.extend_from_slice(b"://");
            let host_at = out.len();
            s.any_header_value("host", &mut |v| {
                out.extend_from_slice(v);
                true
            });
            if out.len() == host_at {
                out.truncate(mark);
            }
            out.extend_from_slice(rest);
        }
    }
}

/// The origin-form part of a request target: `/p?q` as is; for an
/// absolute-form target (`http://h/p?q`), what follows the authority (`/`
/// when nothing does).
pub fn path_and_query(url: &[u8]) -> &[u8] {
    if url.first() == Some(&b'/') {
        return url;
    }
    let Some(i) = url.windows(3).position(|w| w == b"://") else {
        return url;
    };
    let after = &url[i + 3..];
    match after.iter().position(|&b| b == b'/' || b == b'?') {
        Some(j) => &after[j..],
        None => b"/",
    }
}
