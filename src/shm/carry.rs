//! Rate-limit entries carried across a reload. A USR2 reload maps a new
//! region and copies the old one's entries into it
//! ([`super::SharedState::inherit`]); a `-sf` reload is a new master that
//! asks the old one for a text dump of its tables (over the takeover
//! socket) and loads it ([`apply`]).
//!
//! Tables are matched by name, entries keep their key and their last
//! update, counters are matched by kind (a rate only to a rate of the same
//! period). `conn_cur` starts at 0 in the new region: the connections it
//! counted are served to their end by the old workers, which count them
//! out of the old region, not the new one.
//!
//! The dump: a `TABLE NAME TYPE STORE` line per table (`STORE` as
//! `http_req_rate:10000,conn_cur:0`), then an `E TOUCHED KEY DATA` line
//! per entry (words in decimal, comma-separated), then `END`.

use std::fmt::Write;

use super::stick::Stick;
use super::SharedState;
use crate::config::model::{Config, Counter, StickTable, Store, TableKey};

/// One entry as carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub touched: u64,
    pub key: Vec<u64>,
    pub data: Vec<u64>,
}

/// Whether keys of an `old` table can go into a `new` one (addresses of
/// either type are the same words).
fn same_keys(old: TableKey, new: TableKey) -> bool {
    let ip = |k| matches!(k, TableKey::Ip | TableKey::Ipv6);
    old == new || (ip(old) && ip(new))
}

/// Puts `e`, an entry of a table configured as `old`, into `new`.
pub fn carry(new: &Stick<'_>, old: &StickTable, e: &Carried) {
    if !same_keys(old.key, new.conf.key) {
        return;
    }
    let Some(entry) = new.table.entry(&e.key, e.touched, new.expire()) else {
        return;
    };
    let mut from = 0;
    for s in &old.store {
        let n = s.counter.words();
        let to = new.conf.word_of(s.counter);
        let same = to.is_some_and(|(_, t)| t.period_ms == s.period_ms);
        if let (Some((at, _)), true, false) = (to, same, s.counter == Counter::ConnCur) {
            for k in 0..n {
                let v = e.data.get(from + k).copied().unwrap_or(0);
                entry
                    .data(at + k)
                    .store(v, std::sync::atomic::Ordering::Relaxed);
            }
        }
        from += n;
    }
    entry.touch(e.touched);
}

/// The live entries of `st` at `now`.
pub fn entries(st: &Stick<'_>, now: u64) -> Vec<Carried> {
    let words = st.conf.data_words();
    st.table
        .entries(now, st.expire())
        .map(|e| Carried {
            touched: e.touched(),
            key: e.key().collect(),
            data: (0..words)
                .map(|i| e.data(i).load(std::sync::atomic::Ordering::Relaxed))
                .collect(),
        })
        .collect()
}

/// Copies every table of `old` (the state of `old_config`) into the same
/// named table of `new`.
pub fn inherit(new: &SharedState, config: &Config, old: &SharedState, old_config: &Config) {
    let now = super::unix_now_ms();
    for i in 0..config.tables.len() {
        let Some(to) = new.stick(config, i) else {
            continue;
        };
        let j = old_config
            .tables
            .iter()
            .position(|o| o.name == to.conf.name);
        let Some(from) = j.and_then(|j| old.stick(old_config, j)) else {
            continue;
        };
        if from.table.same_area(&to.table) {
            // Kept whole by the reload ([`SharedState::reload`]).
            continue;
        }
        for e in entries(&from, now) {
            carry(&to, from.conf, &e);
        }
    }
}

fn join(words: &[u64]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{w}");
    }
    out
}

/// The text dump of every table of `shared`.
pub fn dump(shared: &SharedState, config: &Config) -> String {
    let now = super::unix_now_ms();
    let mut out = String::new();
    for i in 0..config.tables.len() {
        let Some(st) = shared.stick(config, i) else {
            continue;
        };
        let store: Vec<String> = st
            .conf
            .store
            .iter()
            .map(|s| format!("{}:{}", s.counter.name(), s.period_ms))
            .collect();
        let _ = writeln!(
            out,
            "TABLE {} {} {}",
            st.conf.name,
            st.conf.key.name(),
            store.join(",")
        );
        for e in entries(&st, now) {
            let _ = writeln!(out, "E {} {} {}", e.touched, join(&e.key), join(&e.data));
        }
    }
    out.push_str("END\n");
    out
}

fn numbers(s: &str) -> Option<Vec<u64>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(',').map(|w| w.parse().ok()).collect()
}

fn table_line(rest: &str) -> Option<StickTable> {
    let mut w = rest.split(' ');
    let name = w.next()?.to_string();
    let key = match w.next()? {
        "ip" => TableKey::Ip,
        "ipv6" => TableKey::Ipv6,
        "string" => TableKey::String,
        "integer" => TableKey::Integer,
        _ => return None,
    };
    let mut store = Vec::new();
    for s in w.next().unwrap_or("").split(',').filter(|s| !s.is_empty()) {
        let (name, period) = s.split_once(':')?;
        let counter = Counter::ALL.iter().find(|(_, n)| *n == name)?.0;
        store.push(Store {
            counter,
            period_ms: period.parse().ok()?,
        });
    }
    Some(StickTable {
        name,
        key,
        size: 0,
        expire: None,
        store,
    })
}

/// Loads a [`dump`] into the same named tables of `shared`; the entries
/// loaded. A line that does not parse is skipped; a dump cut short
/// (no `END`) loads what came.
pub fn apply(shared: &SharedState, config: &Config, text: &str) -> usize {
    let mut current: Option<(StickTable, Option<Stick<'_>>)> = None;
    let mut loaded = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("TABLE ") {
            current = table_line(rest).map(|old| {
                let i = config.tables.iter().position(|t| t.name == old.name);
                let to = i.and_then(|i| shared.stick(config, i));
                (old, to)
            });
            continue;
        }
        let Some(rest) = line.strip_prefix("E ") else {
            continue;
        };
        let Some((old, Some(to))) = &current else {
            continue;
        };
        let mut w = rest.split(' ');
        let entry = (|| {
            Some(Carried {
                touched: w.next()?.parse().ok()?,
                key: numbers(w.next()?)?,
                data: numbers(w.next().unwrap_or(""))?,
            })
        })();
        if let Some(e) = entry.filter(|e| e.key.len() == to.conf.key.words()) {
            carry(to, old, &e);
            loaded += 1;
        }
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::stick::Key;

    fn config(store: &str) -> Config {
        let text = format!(
            "[frontend.web]\nmode = \"http\"\nbind = \":8080\"\ndefault_backend = \"app\"\n\
             table = {{ type = \"ip\", size = 100, expire = \"1m\", store = [{store}] }}\n\
             [backend.app]\nmode = \"http\"\nserver = [{{ name = \"a\", address = \"127.0.0.1:8000\" }}]\n"
        );
        match crate::config::load_str("t.toml", &text) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn entries_go_across_by_counter_and_conn_cur_starts_over() {
        let old_config = config("\"http_req_cnt\", \"conn_cur\", \"http_req_rate(10s)\"");
        let old = SharedState::private(&old_config);
        let st = old.stick(&old_config, 0).expect("table");
        let now = crate::shm::unix_now_ms();
        let k = Key::ip("10.0.0.7".parse().expect("ip"));
        let e = st.entry(&k, now).expect("entry");
        st.add(&e, Counter::HttpReqCnt, 5, now);
        st.add(&e, Counter::ConnCur, 2, now);
        st.add(&e, Counter::HttpReqRate, 4, now);
        // The new configuration stores fewer counters, in another order,
        // and a rate of another period.
        let new_config = config("\"http_req_rate(10s)\", \"http_req_cnt\", \"conn_cur\"");
        for how in ["usr2", "sf"] {
            let new = SharedState::private(&new_config);
            match how {
                "usr2" => new.inherit(&new_config, &old, &old_config),
                _ => assert_eq!(apply(&new, &new_config, &dump(&old, &old_config)), 1),
            }
            let to = new.stick(&new_config, 0).expect("table");
            let got = to.get(&k, now).expect("carried");
            assert_eq!(to.read(&got, Counter::HttpReqCnt, now), 5, "{how}");
            assert_eq!(to.read(&got, Counter::HttpReqRate, now), 4, "{how}");
            assert_eq!(to.read(&got, Counter::ConnCur, now), 0, "{how}");
            assert_eq!(got.touched(), e.touched());
        }
        // A reload that changes nothing keeps the very area: the old
        // workers and the new count into the same entries.
        let shared_old = SharedState::new(&old_config).expect("map");
        let kept = SharedState::reload(&old_config, &shared_old, &old_config).expect("map");
        assert!(kept.tables[0].same_area(&shared_old.tables[0]));
        let changed = SharedState::reload(&new_config, &shared_old, &old_config).expect("map");
        assert!(!changed.tables[0].same_area(&shared_old.tables[0]));
        let other = config("\"http_req_rate(1m)\"");
        let new = SharedState::private(&other);
        new.inherit(&other, &old, &old_config);
        let to = new.stick(&other, 0).expect("table");
        let got = to.get(&k, now).expect("the entry is carried");
        assert_eq!(
            to.read(&got, Counter::HttpReqRate, now),
            0,
            "another period"
        );
    }
}
