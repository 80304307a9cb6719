//! Rate-limit tables (HAProxy's stick tables) over the keyed tables of
//! [`super::table`]: what a key is made of, how each counter lives in an
//! entry's data words, and how it is updated and read.
//!
//! Every counter is one or three 64-bit atomics of the entry, updated in
//! place by whichever worker sees the event, with no lock:
//!
//! - a count (`http_req_cnt`, `conn_cnt`, `gpc0`…): one word, `fetch_add`;
//! - `conn_cur`: one word, up on accept and down on close (never below 0);
//! - a rate over PERIOD (`http_req_rate(10s)`…): three words, HAProxy's
//!   `freq_ctr` — the start of the current period, the events counted in
//!   it, and those of the previous period. A hit adds to the current
//!   count; the first hit past the period's end moves the start on by
//!   whole periods (one compare-and-swap: one worker wins it), then moves
//!   the count it read before into the previous one (subtracting exactly
//!   that from the current count). A hit racing that rollover lands in one
//!   period or the other, never nowhere. A reading
//!   is the current count plus the previous one weighted by what remains
//!   of the current period (rounded up, so that a burst just across a
//!   boundary still counts whole). Periods start at an entry's first
//!   event, as HAProxy's do.
//!
//! Ticks are milliseconds since the Unix epoch: every worker, and the
//! workers of a reloaded service, share that clock.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::table::{Entry, Table};
use crate::config::model::{Counter, StickTable, Store, TableKey, STRING_KEY_LEN};

/// The words of one key (at most 5: a string's length and 32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Key {
    words: [u64; 5],
    len: usize,
}

impl Key {
    pub fn words(&self) -> &[u64] {
        &self.words[..self.len]
    }

    /// An address: its IPv6 form (IPv4 as `::ffff:a.b.c.d`).
    pub fn ip(ip: IpAddr) -> Key {
        let v6 = match ip {
            IpAddr::V4(a) => a.to_ipv6_mapped(),
            IpAddr::V6(a) => a,
        };
        let n = u128::from(v6);
        Key {
            words: [(n >> 64) as u64, n as u64, 0, 0, 0],
            len: 2,
        }
    }

    /// Bytes, cut at [`STRING_KEY_LEN`].
    pub fn bytes(b: &[u8]) -> Key {
        let b = &b[..b.len().min(STRING_KEY_LEN)];
        let mut words = [b.len() as u64, 0, 0, 0, 0];
        for (i, chunk) in b.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            words[1 + i] = u64::from_le_bytes(w);
        }
        Key { words, len: 5 }
    }

    pub fn int(n: i64) -> Key {
        Key {
            words: [n as u64, 0, 0, 0, 0],
            len: 1,
        }
    }

    /// The key of a table of type `kind` for a sample given as text (a
    /// header's value, the runtime API's `key K`): `None` when it is not
    /// one (not an address for an address table…).
    pub fn parse(kind: TableKey, text: &[u8]) -> Option<Key> {
        match kind {
            TableKey::Ip | TableKey::Ipv6 => {
                let s = std::str::from_utf8(text).ok()?;
                s.trim().parse::<IpAddr>().ok().map(Key::ip)
            }
            TableKey::String => Some(Key::bytes(text)),
            TableKey::Integer => {
                let s = std::str::from_utf8(text).ok()?;
                s.trim().parse::<i64>().ok().map(Key::int)
            }
        }
    }

    /// The key of a table of type `kind` for an address sample.
    pub fn of_ip(kind: TableKey, ip: IpAddr) -> Option<Key> {
        match kind {
            TableKey::Ip | TableKey::Ipv6 => Some(Key::ip(ip)),
            TableKey::String => Some(Key::bytes(show_ip(ip).as_bytes())),
            TableKey::Integer => None,
        }
    }

    /// The key of a table of type `kind` for an integer sample.
    pub fn of_int(kind: TableKey, n: i64) -> Option<Key> {
        match kind {
            TableKey::Integer => Some(Key::int(n)),
            TableKey::String => Some(Key::bytes(n.to_string().as_bytes())),
            TableKey::Ip | TableKey::Ipv6 => None,
        }
    }
}

fn show_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        v4 => v4.to_string(),
    }
}

/// A key's words as `show table` writes them.
pub fn show_key(kind: TableKey, words: &[u64]) -> String {
    match kind {
        TableKey::Ip | TableKey::Ipv6 => {
            let hi = words.first().copied().unwrap_or(0);
            let lo = words.get(1).copied().unwrap_or(0);
            let ip = Ipv6Addr::from((u128::from(hi) << 64) | u128::from(lo));
            show_ip(IpAddr::V6(ip))
        }
        TableKey::Integer => (words.first().copied().unwrap_or(0) as i64).to_string(),
        TableKey::String => {
            let len = (words.first().copied().unwrap_or(0) as usize).min(STRING_KEY_LEN);
            let bytes: Vec<u8> = words
                .iter()
                .skip(1)
                .flat_map(|w| w.to_le_bytes())
                .take(len)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

/// A rate-limit table: its configuration and its area of the region.
#[derive(Clone, Copy)]
pub struct Stick<'a> {
    pub conf: &'a StickTable,
    pub table: Table,
}

impl<'a> Stick<'a> {
    /// How long an entry lives after its last update, in ticks.
    pub fn expire(&self) -> u64 {
        self.conf.expire.map_or(u64::MAX, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// The entry of `key`, inserted if need be (touched at `now`).
    pub fn entry(&self, key: &Key, now: u64) -> Option<Entry<'static>> {
        self.table.entry(key.words(), now, self.expire())
    }

    /// The live entry of `key`.
    pub fn get(&self, key: &Key, now: u64) -> Option<Entry<'static>> {
        self.table.get(key.words(), now, self.expire())
    }

    /// `n` more of `counter` in `e` at `now`, if the table stores it.
    pub fn add(&self, e: &Entry<'static>, counter: Counter, n: u64, now: u64) {
        if let Some((at, store)) = self.conf.word_of(counter) {
            add(e, at, store, n, now);
        }
    }

    /// One connection fewer on `e` (`conn_cur`).
    pub fn conn_closed(&self, e: &Entry<'static>, now: u64) {
        if let Some((at, _)) = self.conf.word_of(Counter::ConnCur) {
            let _ = e
                .data(at)
                .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(1)));
            e.touch(now);
        }
    }

    /// `counter` of `e` at `now` (0 when the table does not store it).
    pub fn read(&self, e: &Entry<'static>, counter: Counter, now: u64) -> u64 {
        match self.conf.word_of(counter) {
            Some((at, store)) => read(e, at, store, now),
            None => 0,
        }
    }

    /// `show table` data of `e`, in HAProxy's order of data types:
    /// ` conn_cur=1 http_req_rate(10000)=12`.
    pub fn show_data(&self, e: &Entry<'static>, now: u64, out: &mut String) {
        use std::fmt::Write;
        for (c, name) in Counter::ALL {
            let Some((at, s)) = self.conf.word_of(c) else {
                continue;
            };
            let v = read(e, at, s, now);
            let _ = match c.is_rate() {
                true => write!(out, " {name}({})={v}", s.period_ms),
                false => write!(out, " {name}={v}"),
            };
        }
    }
}

fn add(e: &Entry<'static>, at: usize, store: Store, n: u64, now: u64) {
    if !store.counter.is_rate() {
        e.data(at).fetch_add(n, Relaxed);
        return;
    }
    let (start, cur, prev) = (e.data(at), e.data(at + 1), e.data(at + 2));
    roll(start, cur, prev, store.period_ms.max(1), now);
    cur.fetch_add(n, Relaxed);
}

/// Moves a rate's current period on to the one holding `now`, if it
/// ended: one worker wins the compare-and-swap of its start and moves
/// the counts.
///
/// The winner reads the count *before* its compare-and-swap and takes
/// exactly that much out of the current count: a hit another worker adds
/// meanwhile (it saw the new start, or lost the race) stays in the new
/// period. Every hit is in one period or the other; none is lost.
fn roll(start: &AtomicU64, cur: &AtomicU64, prev: &AtomicU64, period: u64, now: u64) {
    let s = start.load(Relaxed);
    let elapsed = now.saturating_sub(s);
    if s != 0 && elapsed < period {
        return;
    }
    let (next, periods) = match s {
        0 => (now, 2),
        s => (s + elapsed / period * period, elapsed / period),
    };
    let seen = cur.load(Relaxed);
    if start.compare_exchange(s, next, Relaxed, Relaxed).is_ok() {
        let _ = cur.fetch_update(Relaxed, Relaxed, |c| Some(c.saturating_sub(seen)));
        prev.store(if periods == 1 { seen } else { 0 }, Relaxed);
    }
}

fn read(e: &Entry<'static>, at: usize, store: Store, now: u64) -> u64 {
    if !store.counter.is_rate() {
        return e.data(at).load(Relaxed);
    }
    let period = store.period_ms.max(1);
    let s = e.data(at).load(Relaxed);
    let (cur, prev) = (e.data(at + 1).load(Relaxed), e.data(at + 2).load(Relaxed));
    let elapsed = now.saturating_sub(s);
    let (cur, prev, into) = match elapsed / period {
        _ if s == 0 => (0, 0, 0),
        0 => (cur, prev, elapsed),
        1 => (0, cur, elapsed - period),
        _ => (0, 0, 0),
    };
    let remain = u128::from(period - into);
    let weighted = (u128::from(prev) * remain).div_ceil(u128::from(period));
    cur.saturating_add(u64::try_from(weighted).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::table::TableSpec;
    use std::time::Duration;

    fn stick(store: Vec<Store>, key: TableKey) -> Stick<'static> {
        let conf: &'static StickTable = Box::leak(Box::new(StickTable {
            name: "t".into(),
            key,
            size: 64,
            expire: Some(Duration::from_secs(30)),
            store,
        }));
        let spec = TableSpec {
            slots: 64,
            key_words: key.words(),
            data_words: conf.data_words(),
        };
        let words: &'static [AtomicU64] = Box::leak(
            (0..spec.words())
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        Stick {
            conf,
            table: Table::new(words, spec, [1, 2]),
        }
    }

    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn rates_slide_over_two_periods() {
        let rate = Store {
            counter: Counter::HttpReqRate,
            period_ms: 10_000,
        };
        let s = stick(vec![rate], TableKey::Ip);
        let e = s.entry(&Key::ip([127, 0, 0, 1].into()), T0).expect("entry");
        for i in 0..10 {
            s.add(&e, Counter::HttpReqRate, 1, T0 + i * 100);
        }
        assert_eq!(s.read(&e, Counter::HttpReqRate, T0 + 5_000), 10);
        // Half-way through the next period: half the previous one's.
        assert_eq!(s.read(&e, Counter::HttpReqRate, T0 + 15_000), 5);
        s.add(&e, Counter::HttpReqRate, 1, T0 + 15_000);
        assert_eq!(s.read(&e, Counter::HttpReqRate, T0 + 15_000), 6);
        // Just past the boundary, the previous period counts whole.
        assert_eq!(s.read(&e, Counter::HttpReqRate, T0 + 20_001), 1);
        assert_eq!(s.read(&e, Counter::HttpReqRate, T0 + 40_000), 0);
    }

    #[test]
    fn counts_conn_cur_and_keys() {
        let st = |counter| Store {
            counter,
            period_ms: 0,
        };
        let s = stick(
            vec![st(Counter::ConnCur), st(Counter::Gpc0)],
            TableKey::String,
        );
        let k =
            Key::parse(TableKey::String, b"an-api-key-longer-than-thirty-two-bytes").expect("key");
        let e = s.entry(&k, T0).expect("entry");
        s.add(&e, Counter::ConnCur, 1, T0);
        s.add(&e, Counter::Gpc0, 3, T0);
        s.conn_closed(&e, T0);
        s.conn_closed(&e, T0);
        assert_eq!(s.read(&e, Counter::ConnCur, T0), 0);
        assert_eq!(s.read(&e, Counter::Gpc0, T0), 3);
        assert_eq!(s.read(&e, Counter::HttpReqCnt, T0), 0, "not stored");
        let shown = show_key(TableKey::String, &e.key().collect::<Vec<_>>());
        assert_eq!(shown, "an-api-key-longer-than-thirty-tw");
        let ip = Key::ip("10.1.2.3".parse().expect("ip"));
        assert_eq!(show_key(TableKey::Ip, ip.words()), "10.1.2.3");
        let v6 = Key::parse(TableKey::Ip, b"2001:db8::1").expect("v6");
        assert_eq!(show_key(TableKey::Ip, v6.words()), "2001:db8::1");
        assert_eq!(Key::parse(TableKey::Integer, b"x"), None);
    }
}
