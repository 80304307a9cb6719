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
    for e in st.table.entries(now, st.expire()) {
        if selected(&st, &e, &select, now) {
            line(&st, &e, now, &mut out);
        }
    }
    out
}

/// `clear table NAME [key K | data.TYPE OP N …]`.
pub fn clear(cx: &ControlCtx, args: &[&str]) -> String {
    let Some(&name) = args.first() else {
        return "Required table name.\n".into();
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
        .ok_or_else(|| format!("No such table: {name}\n"))?;
    let select = match rest {
        [] => Select::All,
        ["key", k] => match Key::parse(st.conf.key, k.as_bytes()) {
            Some(k) => Select::Key(k),
            None => {
                return Err(format!(
                    "Invalid key for a table of type {}.\n",
                    st.conf.key.name()
                ))
            }
        },
        ["key"] => return Err("Key value expected\n".into()),
        filters => Select::Data(data_filters(&st, filters)?),
    };
    Ok((st, select))
}

/// `data.TYPE OP N` triples (HAProxy's operators: the ACLs' and `ne`).
fn data_filters(st: &Stick<'_>, w: &[&str]) -> Result<Vec<Filter>, String> {
    let usage = "Optional argument only supports \"data.<store_data_type>\" <operator> <value> \
                 and key <key>\n";
    let mut out = Vec::new();
    for f in w.chunks(3) {
        let [what, op, v] = f else {
            return Err(usage.into());
        };
        let Some(name) = what.strip_prefix("data.") else {
            return Err(usage.into());
        };
        let counter = Counter::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
            .ok_or_else(|| "Unknown data type\n".to_string())?;
        if st.conf.word_of(counter).is_none() {
            return Err("Data type not stored in this table\n".into());
        }
        let op = match *op {
            "eq" => Some(IntOp::Eq),
            "gt" => Some(IntOp::Gt),
            "ge" => Some(IntOp::Ge),
            "lt" => Some(IntOp::Lt),
            "le" => Some(IntOp::Le),
            "ne" => None,
            _ => return Err("Require a valid operator among eq, ne, le, ge, lt, gt\n".into()),
        };
        let value: i64 = v
            .parse()
            .map_err(|_| "Require a valid integer value to compare against\n".to_string())?;
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
