//! The table counter criteria of ACL text (SPEC §11): `sc_http_req_rate(0)`,
//! `sc1_conn_cur`, `src_get_gpc0(TABLE)`, compared with integer patterns
//! (`gt 10`), checked against the proxy's tables and trackers
//! ([`Tracking`]). Called by [`super::acl`] for a criterion word it
//! recognises as a counter ([`counter_name`]).

use super::acl::{Error, Word};
use super::diag::did_you_mean;
use super::model::{Counter, Fetch, IntOp, StickTable, TRACK_SLOTS};

/// What the table counter criteria (`sc_http_req_rate(0)`,
/// `src_conn_cur(web)`) of one proxy may refer to.
#[derive(Debug, Default)]
pub(crate) struct Tracking<'a> {
    /// Every table of the configuration.
    pub tables: &'a [StickTable],
    /// The proxy's own table.
    pub own: Option<usize>,
    /// The tables the proxy's rules track on each slot.
    pub slots: [Vec<usize>; TRACK_SLOTS],
    /// Slots a rule tracks into a table that does not resolve (reported
    /// there): criteria on them are not reported again.
    pub broken: [bool; TRACK_SLOTS],
}

impl Tracking<'_> {
    /// Why `counter` cannot be read from the tables `on` (the tables
    /// tracked on a slot, or one table), if it cannot.
    pub fn not_stored(&self, on: &[usize], counter: Counter) -> Option<String> {
        let t = on
            .iter()
            .filter_map(|&i| self.tables.get(i))
            .find(|t| t.word_of(counter).is_none())?;
        let example = match counter.is_rate() {
            true => format!("{}(10s)", counter.name()),
            false => counter.name().to_string(),
        };
        Some(format!(
            "table \"{}\" does not store {}: add \"{example}\" to its `store`",
            t.name,
            counter.name()
        ))
    }

    /// The index of the table named `name`, or why there is none.
    pub fn table(&self, name: &str) -> Result<usize, String> {
        if let Some(i) = self.tables.iter().position(|t| t.name == name) {
            return Ok(i);
        }
        let hint = did_you_mean(name, self.tables.iter().map(|t| t.name.as_str()));
        Err(match self.tables.is_empty() {
            true => format!("unknown table \"{name}\": no section declares a `table`"),
            false => format!("unknown table \"{name}\"{hint}"),
        })
    }
}

/// The counters' names in criteria (`sc_NAME(N)`, `src_NAME(TABLE)`):
/// HAProxy's, `get_gpc0` reading `gpc0`.
const COUNTER_FETCHES: &[(&str, Counter)] = &[
    ("http_req_rate", Counter::HttpReqRate),
    ("http_req_cnt", Counter::HttpReqCnt),
    ("conn_cur", Counter::ConnCur),
    ("conn_cnt", Counter::ConnCnt),
    ("conn_rate", Counter::ConnRate),
    ("http_err_rate", Counter::HttpErrRate),
    ("http_err_cnt", Counter::HttpErrCnt),
    ("bytes_in_rate", Counter::BytesInRate),
    ("bytes_out_rate", Counter::BytesOutRate),
    ("get_gpc0", Counter::Gpc0),
    ("gpc0_rate", Counter::Gpc0Rate),
];

/// How a counter criterion names its entry.
pub(super) enum CounterFrom {
    /// `sc_NAME(N)`.
    ScArg,
    /// `scN_NAME`.
    Sc(usize),
    /// `src_NAME` or `src_NAME(TABLE)`.
    Src,
}

/// A counter criterion's name (`sc_http_req_rate`, `sc0_conn_cur`,
/// `src_get_gpc0`): where it reads and which counter.
pub(super) fn counter_name(base: &str) -> Option<(CounterFrom, Counter)> {
    let (from, rest) = if let Some(r) = base.strip_prefix("sc_") {
        (CounterFrom::ScArg, r)
    } else if let Some(r) = base.strip_prefix("src_") {
        (CounterFrom::Src, r)
    } else {
        let r = base.strip_prefix("sc")?;
        let (d, r) = r.split_at_checked(1)?;
        let n = d.parse::<usize>().ok()?;
        (CounterFrom::Sc(n), r.strip_prefix('_')?)
    };
    let &(_, c) = COUNTER_FETCHES.iter().find(|(n, _)| *n == rest)?;
    Some((from, c))
}

/// Integer patterns: `gt 10`, `401`, `ge 400 lt 500` (each operator
/// applies to the number after it; a bare number is `eq`).
pub(super) fn ints(pats: &[Word], end: usize) -> Result<Vec<(IntOp, i64)>, Error> {
    let mut out = Vec::new();
    let mut it = pats.iter();
    while let Some(w) = it.next() {
        let op = match w.text.as_str() {
            "eq" => Some(IntOp::Eq),
            "gt" => Some(IntOp::Gt),
            "ge" => Some(IntOp::Ge),
            "lt" => Some(IntOp::Lt),
            "le" => Some(IntOp::Le),
            _ => None,
        };
        let (op, n) = match op {
            Some(op) => match it.next() {
                Some(n) => (op, n),
                None => {
                    let msg = format!("missing number after `{}`", w.text);
                    return Err((end, msg));
                }
            },
            None => (IntOp::Eq, w),
        };
        let v = n.text.parse::<i64>().map_err(|_| {
            let msg = format!(
                "invalid integer \"{}\": expected a number, or gt, ge, lt, le or eq and a number",
                n.text
            );
            (n.at, msg)
        })?;
        out.push((op, v));
    }
    Ok(out)
}

/// A table counter criterion (`sc_http_req_rate(0)`, `src_conn_cur(web)`),
/// checked against the proxy's tables and trackers.
pub(super) fn counter_fetch(
    w: &Word,
    from: CounterFrom,
    counter: Counter,
    arg: Option<&str>,
    tk: &Tracking<'_>,
) -> Result<Fetch, Error> {
    let text = w.text.as_str();
    let slot = match (from, arg) {
        (CounterFrom::Src, arg) => {
            let table = match arg {
                Some(name) => tk.table(name).map_err(|e| (w.at, e))?,
                None => tk.own.ok_or_else(|| {
                    let msg = format!(
                        "`{text}` reads this proxy's own table, but it has none: declare                          `table`, or name one: `{text}(TABLE)`"
                    );
                    (w.at, msg)
                })?,
            };
            if let Some(why) = tk.not_stored(&[table], counter) {
                return Err((w.at, why));
            }
            return Ok(Fetch::SrcTable { table, counter });
        }
        (CounterFrom::ScArg, Some(n)) => n.trim().parse::<usize>().map_err(|_| {
            let msg = format!("`{text}`: expected a slot number, 0 to 2");
            (w.at, msg)
        })?,
        (CounterFrom::ScArg, None) => {
            let msg = format!("`{text}` needs a slot: `{text}(0)` (0 to 2)");
            return Err((w.at, msg));
        }
        (CounterFrom::Sc(_), Some(_)) => {
            return Err((w.at, format!("`{text}` takes no argument")));
        }
        (CounterFrom::Sc(n), None) => n,
    };
    let Some(tables) = tk.slots.get(slot) else {
        let msg = format!(
            "slot {slot} is out of range in `{text}`: weir tracks on slots 0 to {}",
            TRACK_SLOTS - 1
        );
        return Err((w.at, msg));
    };
    if tables.is_empty() && tk.broken[slot] {
        return Ok(Fetch::Sc { slot, counter });
    }
    if tables.is_empty() {
        let msg = format!(
            "`{text}` reads slot {slot}, but no rule of this proxy tracks on it: add a rule \
             such as {{ track = \"src\", slot = {slot} }}"
        );
        return Err((w.at, msg));
    }
    if let Some(why) = tk.not_stored(tables, counter) {
        return Err((w.at, why));
    }
    Ok(Fetch::Sc { slot, counter })
}
