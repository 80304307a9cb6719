//! `show table` and `clear table`: the rate-limit tables in HAProxy's
//! words and format, read from (and cleared in) the shared region every
//! worker counts into.
//!
//! ```text
//! show table                               # table: web, type: ip, size:1000, used:2
//! show table NAME [data.TYPE OP N …]       the same line, then one per entry:
//! show table NAME key K                    0x7f…: key=127.0.0.1 use=0 exp=29000 http_req_rate(10000)=12
//! clear table NAME [data.TYPE OP N …]      (no answer)
//! clear table NAME key K
//! ```
//!
//! Answers and errors are HAProxy 2.6's, word for word (`No such table`,
//! `Filter entry #1: Data type not stored in this table`…); a key that is
//! not there, or not of the table's type, gets an empty answer, as there.
//!
//! `exp` is what remains of the entry's life in milliseconds (0 in a
//! table without `expire`); `use` is 0: no entry is pinned by the
//! connections that track it.

use super::ControlCtx;
use weir_core::config::model::{Counter, IntOp};
use weir_core::shm::stick::{show_key, Key, Stick};
use weir_core::shm::table::Entry;
use weir_core::shm::unix_now_ms;

/// What selects entries: nothing (all), a key, or data filters.
enum Select {
    All,
    Key(Key),
    Data(Vec<Filter>),
}

/// `data.TYPE OP N`; `op` `None` is `ne`.
struct Filter {
    counter: Counter,
    op: Option<IntOp>,
    value: i64,
}

/// `show table [NAME …]`.
pub fn show(cx: &ControlCtx, args: &[&str]) -> String {
    let now = unix_now_ms();
    let Some(&name) = args.first() else {
        let mut out = String::new();
        for i in 0..cx.config.tables.len() {
            if let Some(st) = cx.shared.stick(cx.config, i) {
                out.push_str(&header(&st, now));
            }
        }
        return out;
    };
    let (st, select) = match table_and_select(cx, name, &args[1..]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut out = header(&st, now);
    let mut shown = 0;
    for e in st.table.entries(now, st.expire()) {
        if selected(&st, &e, &select, now) {
            line(&st, &e, now, &mut out);
            shown += 1;
        }
    }
    // A key that is not there: nothing at all, as HAProxy answers.
    if shown == 0 && matches!(select, Select::Key(_)) {
        out.clear();
    }
    out
}

/// `clear table NAME [key K | data.TYPE OP N …]`.
pub fn clear(cx: &ControlCtx, args: &[&str]) -> String {
    let Some(&name) = args.first() else {
        return "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or \
                <table> key <key>\n"
            .into();
    };
    let now = unix_now_ms();
    let (st, select) = match table_and_select(cx, name, &args[1..]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let gone: Vec<Vec<u64>> = st
        .table
        .entries(now, st.expire())
        .filter(|e| selected(&st, e, &select, now))
        .map(|e| e.key().collect())
        .collect();
    for k in gone {
        st.table.remove(&k, now, st.expire());
    }
    String::new()
}

fn table_and_select<'a>(
    cx: &ControlCtx<'a>,
    name: &str,
    rest: &[&str],
) -> Result<(Stick<'a>, Select), String> {
    let st = cx
        .config
        .tables
        .iter()
        .position(|t| t.name == name)
        .and_then(|i| cx.shared.stick(cx.config, i))
        .ok_or_else(|| "No such table\n".to_string())?;
    let select = match rest {
        [] => Select::All,
        // A key that is not one of the table's type: nothing, as
        // HAProxy answers.
        ["key", k] => match Key::parse(st.conf.key, k.as_bytes()) {
            Some(k) => Select::Key(k),
            None => return Err(String::new()),
        },
        ["key"] => return Err("Key value expected\n".into()),
        filters => Select::Data(data_filters(&st, filters)?),
    };
    Ok((st, select))
}

/// `data.TYPE OP N` triples (HAProxy's operators: the ACLs' and `ne`),
/// with HAProxy's messages.
fn data_filters(st: &Stick<'_>, w: &[&str]) -> Result<Vec<Filter>, String> {
    let usage = "Optional argument only supports \"data.<store_data_type>\" <operator> <value> \
                 and key <key>\n";
    let mut out = Vec::new();
    for (i, f) in w.chunks(3).enumerate() {
        let n = i + 1;
        let Some(name) = f[0].strip_prefix("data.") else {
            return Err(usage.into());
        };
        let counter = Counter::ALL
            .iter()
            .find(|(_, c)| *c == name)
            .map(|(c, _)| *c)
            .ok_or_else(|| format!("Filter entry #{n}: Unknown data type\n"))?;
        if st.conf.word_of(counter).is_none() {
            return Err(format!(
                "Filter entry #{n}: Data type not stored in this table\n"
            ));
        }
        let op = match f.get(1).copied() {
            Some("eq") => Some(IntOp::Eq),
            Some("gt") => Some(IntOp::Gt),
            Some("ge") => Some(IntOp::Ge),
            Some("lt") => Some(IntOp::Lt),
            Some("le") => Some(IntOp::Le),
            Some("ne") => None,
            _ => {
                return Err(format!(
                    "Filter entry #{n}: Require and operator among \"eq\", \"ne\", \"le\", \
                     \"ge\", \"lt\", \"gt\"\n"
                ))
            }
        };
        let value: i64 = f.get(2).and_then(|v| v.parse().ok()).ok_or_else(|| {
            format!("Filter entry #{n}: Require a valid integer value to compare against\n")
        })?;
        out.push(Filter { counter, op, value });
    }
    Ok(out)
}

fn selected(st: &Stick<'_>, e: &Entry<'static>, select: &Select, now: u64) -> bool {
    match select {
        Select::All => true,
        Select::Key(k) => e.key().eq(k.words().iter().copied()),
        Select::Data(filters) => filters.iter().all(|f| {
            let v = i64::try_from(st.read(e, f.counter, now)).unwrap_or(i64::MAX);
            match f.op {
                Some(op) => op.holds(v, f.value),
                None => v != f.value,
            }
        }),
    }
}

fn header(st: &Stick<'_>, now: u64) -> String {
    format!(
        "# table: {}, type: {}, size:{}, used:{}\n",
        st.conf.name,
        st.conf.key.name(),
        st.conf.size,
        st.table.entries(now, st.expire()).count()
    )
}

fn line(st: &Stick<'_>, e: &Entry<'static>, now: u64, out: &mut String) {
    let key: Vec<u64> = e.key().collect();
    let exp = match st.conf.expire {
        Some(_) => st.expire().saturating_sub(now.saturating_sub(e.touched())),
        None => 0,
    };
    out.push_str(&format!(
        "{:#x}: key={} use=0 exp={exp}",
        e.addr(),
        show_key(st.conf.key, &key)
    ));
    st.show_data(e, now, out);
    out.push('\n');
}
