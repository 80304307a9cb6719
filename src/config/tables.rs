//! Rate-limit tables (SPEC §11): each section's `table` into a
//! [`StickTable`], the trackers (`track`, `slot`, `table` of `tcp_request`
//! and `http_request` rules) into [`Track`], and the `tcp_request` rules.
//!
//! Tables are built first, for every section, so that a frontend may
//! track into a table declared by a section after it; then each
//! frontend's trackers are gathered ([`tracking`]) before its conditions
//! are parsed, so that `sc_http_req_rate(0)` can be checked against the
//! tables tracked on slot 0.

use std::time::Duration;

use toml::Spanned;

use super::acl::{self, Tracking};
use super::diag::{did_you_mean, Report};
use super::file::{FileModel, Parsed, ProxyFile, TableFile};
use super::model::{
    Acl, Condition, Counter, Fetch, StickTable, Store, TableKey, TermRef, Track, TRACK_SLOTS,
};
use super::units;

/// The most entries a table may hold.
pub const MAX_SIZE: u64 = 1 << 24;

/// Every section's table, in declaration order, and for each section (in
/// `files.proxies` order) the index of its own.
pub(crate) fn build_all(
    files: &FileModel,
    report: &mut Report,
) -> (Vec<StickTable>, Vec<Option<usize>>) {
    let mut tables: Vec<StickTable> = Vec::new();
    let mut own = Vec::with_capacity(files.proxies.len());
    for s in &files.proxies {
        let p = &s.parsed;
        let Some(t) = p.body.as_ref().and_then(|f| f.table.as_ref()) else {
            own.push(None);
            continue;
        };
        let Some(table) = build(p, &s.name, t, report) else {
            own.push(None);
            continue;
        };
        if tables.iter().any(|o| o.name == table.name) {
            let msg = format!(
                "a table named \"{}\" is already declared (by the other section of that \
                 name): a table is named after its section, keep one",
                table.name
            );
            report.error(&p.key_loc("table"), msg);
            own.push(None);
            continue;
        }
        own.push(Some(tables.len()));
        tables.push(table);
    }
    (tables, own)
}

fn build(
    p: &Parsed<ProxyFile>,
    name: &str,
    t: &Spanned<TableFile>,
    report: &mut Report,
) -> Option<StickTable> {
    let f = t.get_ref();
    let key = match &f.kind {
        None => {
            if !p.hinted.contains(&"table.type".to_string()) {
                let msg = "table without `type`: \"ip\", \"ipv6\", \"string\" or \"integer\"";
                report.error(&p.at(t.span()), msg);
            }
            None
        }
        Some(k) => match k.get_ref().as_str() {
            "ip" => Some(TableKey::Ip),
            "ipv6" => Some(TableKey::Ipv6),
            "string" => Some(TableKey::String),
            "integer" => Some(TableKey::Integer),
            other => {
                let msg = format!(
                    "unknown table type \"{other}\": expected \"ip\", \"ipv6\", \"string\" or \
                     \"integer\"{}",
                    did_you_mean(other, ["ip", "ipv6", "string", "integer"])
                );
                report.error(&p.at(k.span()), msg);
                None
            }
        },
    };
    let size = match &f.size {
        None => {
            if !p.hinted.contains(&"table.size".to_string()) {
                let msg = "table without `size`: the entries it holds, such as \"100k\"";
                report.error(&p.at(t.span()), msg);
            }
            None
        }
        Some(v) => match units::size(v.get_ref()) {
            Ok(n) if (1..=MAX_SIZE).contains(&n) => Some(n as usize),
            Ok(n) => {
                let msg = format!("table `size` must be between 1 and {MAX_SIZE}, got {n}");
                report.error(&p.at(v.span()), msg);
                None
            }
            Err(e) => {
                report.error(&p.at(v.span()), e);
                None
            }
        },
    };
    let expire = match &f.expire {
        None => Some(None),
        Some(v) => match units::duration(v.get_ref()) {
            Ok(d) if d >= Duration::from_millis(1) => Some(Some(d)),
            Ok(_) => {
                let msg = "table `expire` must be at least 1ms";
                report.error(&p.at(v.span()), msg);
                None
            }
            Err(e) => {
                report.error(&p.at(v.span()), e);
                None
            }
        },
    };
    let mut store = Vec::new();
    let mut ok = true;
    for s in f.store.iter().flat_map(|l| l.get_ref()) {
        match counter(s.get_ref()) {
            Ok(c) if store.iter().any(|o: &Store| o.counter == c.counter) => {
                let msg = format!("`{}` is stored twice: keep one", c.counter.name());
                report.error(&p.at(s.span()), msg);
                ok = false;
            }
            Ok(c) => store.push(c),
            Err(e) => {
                report.error(&p.at(s.span()), e);
                ok = false;
            }
        }
    }
    Some(StickTable {
        name: name.to_string(),
        key: key?,
        size: size?,
        expire: expire?,
        store: ok.then_some(store)?,
    })
}

/// One `store` entry: `conn_cur`, `http_req_rate(10s)`.
fn counter(s: &str) -> Result<Store, String> {
    let (name, arg) = match s.split_once('(') {
        Some((n, rest)) => match rest.strip_suffix(')') {
            Some(a) => (n.trim(), Some(a.trim())),
            None => return Err(format!("missing `)` in \"{s}\"")),
        },
        None => (s.trim(), None),
    };
    let Some(&(counter, _)) = Counter::ALL.iter().find(|(_, n)| *n == name) else {
        let names = Counter::ALL.map(|(_, n)| n);
        return Err(format!(
            "unknown counter \"{name}\": expected {}{}",
            names.join(", "),
            did_you_mean(name, names)
        ));
    };
    let period_ms = match (counter.is_rate(), arg) {
        (true, Some(a)) => {
            let d = units::duration(&super::raw::IntOrStr::Str(a.to_string()))?;
            let ms = d.as_millis();
            if !(1..=u128::from(u32::MAX)).contains(&ms) {
                return Err(format!(
                    "the period of `{name}` must be between 1ms and about 49 days, got \"{a}\""
                ));
            }
            ms as u64
        }
        (true, None) => {
            return Err(format!(
                "`{name}` is a rate: give its period, such as \"{name}(10s)\""
            ))
        }
        (false, Some(_)) => return Err(format!("`{name}` takes no period: write \"{name}\"")),
        (false, None) => 0,
    };
    Ok(Store { counter, period_ms })
}

/// The tracking context of one frontend: every table, its own, and the
/// tables its rules track on each slot (rules that do not resolve are
/// left out here and reported when the rules are built).
pub(crate) fn tracking<'a>(
    f: &ProxyFile,
    tables: &'a [StickTable],
    own: Option<usize>,
) -> Tracking<'a> {
    let mut tk = Tracking {
        tables,
        own,
        slots: Default::default(),
        broken: Default::default(),
    };
    let tcp = f.tcp_request.iter().flat_map(|l| l.get_ref());
    let tcp = tcp.map(|r| (&r.get_ref().track, &r.get_ref().slot, &r.get_ref().table));
    let http = f.http_request.iter().flat_map(|l| l.get_ref());
    let http = http.map(|r| (&r.get_ref().track, &r.get_ref().slot, &r.get_ref().table));
    for (track, slot, table) in tcp.chain(http) {
        if track.is_none() {
            continue;
        }
        let slot = slot.as_ref().map_or(0, |s| *s.get_ref());
        let table = match table {
            Some(n) => tables.iter().position(|t| &t.name == n.get_ref()),
            None => own,
        };
        let Some(slot) = usize::try_from(slot).ok().filter(|&s| s < TRACK_SLOTS) else {
            continue;
        };
        match table {
            Some(t) if !tk.slots[slot].contains(&t) => tk.slots[slot].push(t),
            Some(_) => {}
            None => tk.broken[slot] = true,
        }
    }
    tk
}

/// A rule's `track` (with its `slot` and `table`); `at_accept` for
/// `tcp_request`, where only the connection's addresses are known.
pub(crate) fn track<T>(
    p: &Parsed<T>,
    key: &Spanned<String>,
    slot: &Option<Spanned<i64>>,
    table: &Option<Spanned<String>>,
    tk: &Tracking<'_>,
    at_accept: bool,
    report: &mut Report,
) -> Option<Track> {
    let slot = match slot {
        None => Some(0),
        Some(s) => {
            let n = *s.get_ref();
            match usize::try_from(n).ok().filter(|&n| n < TRACK_SLOTS) {
                Some(n) => Some(n),
                None => {
                    let msg = format!(
                        "slot {n} is out of range: weir tracks on slots 0 to {} (sc0 to sc{})",
                        TRACK_SLOTS - 1,
                        TRACK_SLOTS - 1
                    );
                    report.error(&p.at(s.span()), msg);
                    None
                }
            }
        }
    };
    let table = match table {
        Some(n) => match tk.table(n.get_ref()) {
            Ok(i) => Some(i),
            Err(e) => {
                report.error(&p.at(n.span()), e);
                None
            }
        },
        None => {
            if tk.own.is_none() {
                let msg = "this proxy has no `table` to track into: declare one, or name \
                           another section's with table = \"NAME\"";
                report.error(&p.at(key.span()), msg);
            }
            tk.own
        }
    };
    let sample = match sample(key.get_ref()) {
        Ok(f) if at_accept && f.needs_http() => {
            let msg = format!(
                "`{}` is not known at accept: tcp_request rules track `src` or `dst_port`; \
                 track it in an http_request rule",
                key.get_ref()
            );
            report.error(&p.at(key.span()), msg);
            None
        }
        Ok(f) => Some(f),
        Err(e) => {
            report.error(&p.at(key.span()), e);
            None
        }
    };
    let (table, sample) = (table?, sample?);
    let kind = tk.tables.get(table).map(|t| t.key);
    let never = match (&sample, kind) {
        (Fetch::Src, Some(TableKey::Integer)) => Some("an address"),
        (Fetch::DstPort, Some(TableKey::Ip | TableKey::Ipv6)) => Some("a port"),
        _ => None,
    };
    if let (Some(what), Some(kind)) = (never, kind) {
        let msg = format!(
            "`{}` is {what}, never a key of table \"{}\" (type \"{}\")",
            key.get_ref(),
            tk.tables[table].name,
            kind.name()
        );
        report.error(&p.at(key.span()), msg);
        return None;
    }
    Some(Track {
        slot: slot?,
        table,
        key: sample,
    })
}

/// A tracked key: `src`, `dst_port`, `path`, `url`, `method`,
/// `hdr(NAME)`.
fn sample(s: &str) -> Result<Fetch, String> {
    match s.trim() {
        "src" => Ok(Fetch::Src),
        "dst_port" => Ok(Fetch::DstPort),
        "path" => Ok(Fetch::Path),
        "url" => Ok(Fetch::Url),
        "method" => Ok(Fetch::Method),
        other => {
            let h = other
                .strip_prefix("hdr(")
                .and_then(|r| r.strip_suffix(')'))
                .filter(|h| acl::is_token(h));
            match h {
                Some(h) => Ok(Fetch::Hdr(h.to_ascii_lowercase())),
                None => Err(format!(
                    "unknown key \"{other}\" to track: expected src, dst_port, path, url, \
                     method or hdr(NAME)"
                )),
            }
        }
    }
}

/// Whether a condition reads only what is known at accept (no HTTP
/// criterion, directly or through a named ACL).
pub(crate) fn at_accept(c: &Condition, acls: &[Acl]) -> bool {
    c.any_of.iter().flatten().all(|t| match &t.what {
        TermRef::Inline(c) => !c.fetch.needs_http(),
        TermRef::Acl(i) => acls.get(*i).is_none_or(|a| !a.criterion.fetch.needs_http()),
    })
}
