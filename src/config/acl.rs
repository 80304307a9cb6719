//! ACL text in HAProxy's spelling: the criterion strings of `acl`
//! (`"path_beg -i /static/ /img/"`) into [`Criterion`], and the `if` /
//! `unless` conditions (`"static || !{ src 10.0.0.0/8 }"`) into
//! [`Condition`].
//!
//! Pure string work. An error is a byte offset into the text and a message;
//! [`super::http`] turns the offset into a file position.
//!
//! Words are separated by spaces, as in haproxy.cfg: `\` escapes the next
//! character and `'…'` or `"…"` quote, so a pattern may hold a space. A
//! quoted or escaped word is never an operator (`{`, `}`, `!`, `||`, `or`,
//! `-i`, `--`).

use std::net::{IpAddr, Ipv4Addr};

use regex::RegexBuilder;

pub(crate) use super::acl_counters::Tracking;
use super::acl_counters::{counter_fetch, counter_name, ints};
use super::diag::did_you_mean;
use super::model::{Acl, Condition, Criterion, Fetch, MatchOp, Patterns, Term, TermRef};

/// An offset into the text and what is wrong there.
pub(crate) type Error = (usize, String);

/// One word of a criterion or condition.
#[derive(Debug)]
pub(crate) struct Word {
    /// The word with its quotes and escapes resolved.
    pub text: String,
    /// Byte offsets of the word in the text: start, and one past the end.
    pub at: usize,
    pub end: usize,
    /// Neither quoted nor escaped: may be an operator.
    pub plain: bool,
}

impl Word {
    fn is(&self, op: &str) -> bool {
        self.plain && self.text == op
    }
}

/// Splits `s` into words.
pub(crate) fn words(s: &str) -> Result<Vec<Word>, Error> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(at, _)) = chars.peek() else {
            return Ok(out);
        };
        let (mut text, mut plain) = (String::new(), true);
        while let Some((i, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
            match c {
                '\\' => {
                    plain = false;
                    let Some((_, n)) = chars.next() else {
                        return Err((i, "`\\` at the end: nothing to escape".into()));
                    };
                    text.push(n);
                }
                '\'' | '"' => {
                    plain = false;
                    loop {
                        match chars.next() {
                            Some((_, q)) if q == c => break,
                            Some((_, '\\')) if c == '"' => match chars.next() {
                                Some((_, n)) => text.push(n),
                                None => return Err((i, format!("unterminated quote {c}"))),
                            },
                            Some((_, x)) => text.push(x),
                            None => return Err((i, format!("unterminated quote {c}"))),
                        }
                    }
                }
                c => text.push(c),
            }
        }
        let end = chars.peek().map_or(s.len(), |&(i, _)| i);
        out.push(Word {
            text,
            at,
            end,
            plain,
        });
    }
}

/// What a criterion reads, before its argument is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Path,
    Url,
    Method,
    Hdr,
    Src,
    DstPort,
    /// `status`, and the table counters: integers.
    Int,
}

/// Every criterion weir knows, as HAProxy spells it.
const CRITERIA: &[(&str, Kind, MatchOp)] = &[
    ("path", Kind::Path, MatchOp::Exact),
    ("path_beg", Kind::Path, MatchOp::Beg),
    ("path_end", Kind::Path, MatchOp::End),
    ("path_sub", Kind::Path, MatchOp::Sub),
    ("path_reg", Kind::Path, MatchOp::Reg),
    ("url", Kind::Url, MatchOp::Exact),
    ("url_beg", Kind::Url, MatchOp::Beg),
    ("url_end", Kind::Url, MatchOp::End),
    ("url_sub", Kind::Url, MatchOp::Sub),
    ("url_reg", Kind::Url, MatchOp::Reg),
    ("method", Kind::Method, MatchOp::Exact),
    ("hdr", Kind::Hdr, MatchOp::Exact),
    ("hdr_beg", Kind::Hdr, MatchOp::Beg),
    ("hdr_end", Kind::Hdr, MatchOp::End),
    ("hdr_sub", Kind::Hdr, MatchOp::Sub),
    ("hdr_reg", Kind::Hdr, MatchOp::Reg),
    ("src", Kind::Src, MatchOp::Exact),
    ("dst_port", Kind::DstPort, MatchOp::Exact),
    ("status", Kind::Int, MatchOp::Exact),
];

/// Whether `word` names a criterion (`path_beg`, `hdr(host)`).
pub(crate) fn is_criterion(word: &str) -> bool {
    let base = word.split('(').next().unwrap_or(word);
    CRITERIA.iter().any(|(n, _, _)| *n == base) || counter_name(base).is_some()
}

/// A criterion from its words (at least one); `src` is the whole text (for
/// [`Criterion::text`]) and `end` where a missing pattern would go.
pub(crate) fn criterion(
    src: &str,
    ws: &[Word],
    end: usize,
    tk: &Tracking<'_>,
) -> Result<Criterion, Error> {
    let Some(first) = ws.first() else {
        return Err((
            end,
            "empty criterion: expected such as `path_beg /static/`".into(),
        ));
    };
    let (name, kind, op, fetch) = fetch(first, tk)?;
    let mut i = 1;
    let mut ignore_case = false;
    while let Some(w) = ws.get(i).filter(|w| w.plain && w.text.starts_with('-')) {
        i += 1;
        match w.text.as_str() {
            "-i" if matches!(kind, Kind::Src | Kind::DstPort | Kind::Int) => {
                return Err((w.at, format!("`-i` does not apply to `{name}`")));
            }
            "-i" => ignore_case = true,
            "--" => break,
            other => {
                let msg = format!(
                    "unknown flag `{other}`: weir supports `-i` (ignore case), and `--` \
                     before a pattern that starts with `-`"
                );
                return Err((w.at, msg));
            }
        }
    }
    let pats = &ws[i..];
    if pats.is_empty() {
        let msg = format!("missing pattern: `{name}` needs at least one pattern");
        return Err((end, msg));
    }
    let patterns = match (kind, op) {
        (Kind::Int, _) => Patterns::Int(ints(pats, end)?),
        (Kind::Src, _) => Patterns::Net(
            pats.iter()
                .map(|w| net(&w.text).map_err(|e| (w.at, e)))
                .collect::<Result<_, _>>()?,
        ),
        (Kind::DstPort, _) => Patterns::Port(
            pats.iter()
                .map(|w| ports(&w.text).map_err(|e| (w.at, e)))
                .collect::<Result<_, _>>()?,
        ),
        (_, MatchOp::Reg) => Patterns::Regex(
            pats.iter()
                .map(|w| regex(&w.text, ignore_case).map_err(|e| (w.at, e)))
                .collect::<Result<_, _>>()?,
        ),
        _ => Patterns::Str(
            pats.iter()
                .map(|w| match ignore_case {
                    true => w.text.to_ascii_lowercase(),
                    false => w.text.clone(),
                })
                .collect(),
        ),
    };
    let last = ws.last().map_or(first.end, |w| w.end);
    Ok(Criterion {
        fetch,
        op,
        ignore_case,
        patterns,
        text: src.get(first.at..last).unwrap_or_default().to_string(),
    })
}

/// The criterion word: `path_beg`, `hdr(host)`.
fn fetch<'w>(w: &'w Word, tk: &Tracking<'_>) -> Result<(&'w str, Kind, MatchOp, Fetch), Error> {
    let text = w.text.as_str();
    let (base, arg) = match text.split_once('(') {
        None if text.contains(')') => {
            return Err((w.at, format!("unexpected `)` in `{text}`")));
        }
        None => (text, None),
        Some((base, rest)) => match rest.strip_suffix(')') {
            Some(arg) => (base, Some(arg)),
            None => {
                let msg = format!("missing `)` after `{text}`: write `{base}(NAME)`");
                return Err((w.end, msg));
            }
        },
    };
    if let Some((from, counter)) = counter_name(base) {
        let fetch = counter_fetch(w, from, counter, arg, tk)?;
        return Ok((base, Kind::Int, MatchOp::Exact, fetch));
    }
    let Some(&(name, kind, op)) = CRITERIA.iter().find(|(n, _, _)| *n == base) else {
        let msg = format!(
            "unknown criterion `{base}`; expected path, path_beg, path_end, path_sub, \
             path_reg, url, url_beg, url_end, url_sub, url_reg, method, hdr(NAME), \
             hdr_beg(NAME), hdr_end(NAME), hdr_sub(NAME), hdr_reg(NAME), src, dst_port, \
             status, sc_COUNTER(SLOT) or src_COUNTER(TABLE){}",
            did_you_mean(base, CRITERIA.iter().map(|c| c.0))
        );
        return Err((w.at, msg));
    };
    let fetch = match (kind, arg) {
        (Kind::Hdr, Some(h)) if is_token(h) => Fetch::Hdr(h.to_ascii_lowercase()),
        (Kind::Hdr, Some("") | None) => {
            return Err((
                w.at,
                format!("`{name}` needs a header name: `{name}(NAME)`"),
            ));
        }
        (Kind::Hdr, Some(h)) => {
            let msg = format!("invalid header name \"{h}\" in `{text}`");
            return Err((w.at + name.len() + 1, msg));
        }
        (_, Some(_)) => return Err((w.at, format!("`{name}` takes no argument"))),
        (Kind::Path, None) => Fetch::Path,
        (Kind::Url, None) => Fetch::Url,
        (Kind::Method, None) => Fetch::Method,
        (Kind::Src, None) => Fetch::Src,
        (Kind::DstPort, None) => Fetch::DstPort,
        (Kind::Int, None) => Fetch::Status,
    };
    Ok((name, kind, op, fetch))
}

/// An HTTP token (RFC 9110 §5.6.2): what a header name may be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn regex(p: &str, ignore_case: bool) -> Result<regex::Regex, String> {
    RegexBuilder::new(p)
        .case_insensitive(ignore_case)
        .build()
        .map_err(|e| {
            // The crate's message spans lines (the pattern, a caret, then
            // "error: WHY"): keep the last line, the reason.
            let text = e.to_string();
            let why = text.lines().last().unwrap_or_default().trim();
            let why = why.strip_prefix("error: ").unwrap_or(why);
            format!("invalid regex \"{p}\": {why}")
        })
}

/// `10.0.0.0/8`, `192.168.1.1`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`: the
/// network address (host bits cleared) and the prefix length. IPv4-mapped
/// IPv6 blocks (`::ffff:10.0.0.0/104`) become IPv4 blocks.
pub(crate) fn net(s: &str) -> Result<(IpAddr, u8), String> {
    let bad = || {
        format!(
            "invalid address \"{s}\": expected an IPv4 or IPv6 address, or a CIDR block \
             such as 10.0.0.0/8 or 2001:db8::/32"
        )
    };
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match len {
        None => max,
        Some(l) => match (l.parse::<u8>(), l.parse::<Ipv4Addr>()) {
            (Ok(n), _) if n <= max => n,
            (_, Ok(mask)) if ip.is_ipv4() => {
                let m = u32::from(mask);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return Err(format!(
                        "invalid netmask \"{l}\" in \"{s}\": not contiguous"
                    ));
                }
                m.leading_ones() as u8
            }
            _ => {
                return Err(format!(
                    "invalid prefix length \"{l}\" in \"{s}\": 0 to {max}"
                ))
            }
        },
    };
    let (ip, bits) = match ip {
        IpAddr::V6(v6) if bits >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), bits - 96),
            None => (ip, bits),
        },
        _ => (ip, bits),
    };
    Ok((network(ip, bits), bits))
}

/// `ip` with every bit after the first `bits` cleared.
fn network(ip: IpAddr, bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// `8080`, `8000-8999` (or HAProxy's `8000:8999`): an inclusive range.
pub(crate) fn ports(s: &str) -> Result<(u16, u16), String> {
    let bad =
        || format!("invalid port \"{s}\": expected a port (1-65535) or a range such as 8000-8999");
    let one = |p: &str| p.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(bad);
    match s.split_once(['-', ':']) {
        None => one(s).map(|p| (p, p)),
        Some((lo, hi)) => {
            let (lo, hi) = (one(lo)?, one(hi)?);
            if lo > hi {
                return Err(format!("invalid port range \"{s}\": {lo} is above {hi}"));
            }
            Ok((lo, hi))
        }
    }
}

/// ACL names: what HAProxy accepts.
pub(crate) fn check_acl_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    if name.is_empty() || !name.chars().all(ok) {
        return Err(format!(
            "invalid ACL name \"{name}\": use letters, digits, '-', '_', '.' and ':'"
        ));
    }
    if name == "or" {
        return Err("invalid ACL name \"or\": it is the OR operator in conditions".into());
    }
    Ok(())
}

/// An `if` (or, with `unless`, an `unless`) condition over the proxy's ACLs.
pub(crate) fn condition(
    src: &str,
    unless: bool,
    acls: &[Acl],
    tk: &Tracking<'_>,
) -> Result<Condition, Error> {
    let ws = words(src)?;
    let mut any_of: Vec<Vec<Term>> = Vec::new();
    let mut group: Vec<Term> = Vec::new();
    let mut negate: Option<usize> = None;
    let mut i = 0;
    while let Some(w) = ws.get(i) {
        i += 1;
        if w.is("||") || w.is("or") {
            if let Some(at) = negate {
                return Err((at, "`!` must be followed by an ACL name or `{ … }`".into()));
            }
            if group.is_empty() {
                let msg = format!("`{}` must come between two terms", w.text);
                return Err((w.at, msg));
            }
            any_of.push(std::mem::take(&mut group));
            continue;
        }
        if w.is("!") {
            if negate.is_some() {
                return Err((w.at, "`!` twice: remove both".into()));
            }
            negate = Some(w.at);
            continue;
        }
        let (neg, text, at) = match w.text.strip_prefix('!').filter(|_| w.plain) {
            Some(rest) if negate.is_none() => (true, rest, w.at + 1),
            Some(_) => return Err((w.at, "`!` twice: remove both".into())),
            None => (negate.is_some(), w.text.as_str(), w.at),
        };
        negate = None;
        let what = if w.plain && text == "{" {
            let close = ws[i..]
                .iter()
                .position(|w| w.is("}"))
                .map(|n| i + n)
                .ok_or_else(|| (w.at, "missing `}` after `{`".to_string()))?;
            if let Some(nested) = ws[i..close].iter().find(|w| w.is("{") || w.is("!{")) {
                return Err((nested.at, "`{` inside `{ … }`".into()));
            }
            if close == i {
                let msg = "empty `{ }`: write a criterion such as { path_beg /api }";
                return Err((w.at, msg.into()));
            }
            let c = criterion(src, &ws[i..close], ws[close].at, tk)?;
            i = close + 1;
            TermRef::Inline(c)
        } else if w.plain && text == "}" {
            return Err((at, "`}` without `{`".into()));
        } else {
            TermRef::Acl(acl_index(text, at, acls)?)
        };
        group.push(Term { negate: neg, what });
    }
    if let Some(at) = negate {
        return Err((at, "`!` must be followed by an ACL name or `{ … }`".into()));
    }
    if group.is_empty() {
        return Err(match ws.last() {
            None => (
                0,
                "empty condition: name an ACL, or remove the condition".into(),
            ),
            Some(w) => (w.at, format!("`{}` must come between two terms", w.text)),
        });
    }
    any_of.push(group);
    Ok(Condition { unless, any_of })
}

fn acl_index(name: &str, at: usize, acls: &[Acl]) -> Result<usize, Error> {
    if let Some(i) = acls.iter().position(|a| a.name == name) {
        return Ok(i);
    }
    let hint = did_you_mean(name, acls.iter().map(|a| a.name.as_str()));
    let msg = if hint.is_empty() && is_criterion(name) {
        format!(
            "unknown ACL \"{name}\"; to test `{name}` here, write an inline criterion \
             between braces: {{ {name} … }}"
        )
    } else if acls.is_empty() {
        format!("unknown ACL \"{name}\": this proxy defines no `acl`")
    } else {
        format!("unknown ACL \"{name}\"{hint}")
    };
    Err((at, msg))
}
