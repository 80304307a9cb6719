//! Tracking: the entries of rate-limit tables a connection or a request
//! counts into (HAProxy's sticky counters sc0–sc2), and the accept-time
//! `tcp_request` rules.
//!
//! A connection's slots are filled by `tcp_request` rules when it is
//! accepted and kept by the worker beside its session
//! ([`crate::worker::Worker::tracks`]); a request's by `http_request`
//! rules, kept in its stream. A slot the connection tracks is not tracked
//! again by a request. Counters move as HAProxy moves them:
//!
//! | event | counters of every entry tracked then |
//! |---|---|
//! | a connection tracked at accept | `conn_cnt`, `conn_rate`, `conn_cur` + 1 |
//! | that connection closes | `conn_cur` − 1 |
//! | a request received (connection's slots), or tracked (its own) | `http_req_cnt`, `http_req_rate` + 1 |
//! | its response is a 4xx | `http_err_cnt`, `http_err_rate` + 1 |
//! | it ends | `bytes_in_rate`, `bytes_out_rate` + its bytes |
//! | `inc_gpc0 = N` | `gpc0`, `gpc0_rate` + 1 (slot N's entry) |
//!
//! Each update is an atomic on the shared entry ([`weir_core::shm::stick`]);
//! nothing is held across a turn: a slot holds only where the entry is.

use std::net::IpAddr;

use crate::rules::Sample;
use weir_core::config::model::{
    Config, Counter, Fetch, Frontend, TableKey, TcpAction, TRACK_SLOTS,
};
use weir_core::shm::stick::{Key, Stick};
use weir_core::shm::table::Entry;
use weir_core::shm::SharedState;

/// One tracked entry.
#[derive(Clone, Copy)]
pub struct Tracked {
    /// Index into `Config::tables`.
    pub table: usize,
    pub entry: Entry<'static>,
    /// The entry's tag when it was tracked.
    pub tag: u64,
}

impl Tracked {
    /// Whether the slot still holds the tracked key: an entry cleared
    /// through the runtime API, or expired or evicted and reused for
    /// another key, is no longer counted into (nor read).
    pub fn live(&self) -> bool {
        self.entry.tag() == self.tag
    }
}

/// The slots of a connection or a request.
pub type Slots = [Option<Tracked>; TRACK_SLOTS];

pub const NO_SLOTS: Slots = [None; TRACK_SLOTS];

/// The table's clock: milliseconds since the epoch.
pub fn now_ms() -> u64 {
    weir_core::shm::unix_now_ms()
}

/// The key of a `track` rule's sample in a table of type `kind`.
pub fn key(kind: TableKey, fetch: &Fetch, s: &dyn Sample) -> Option<Key> {
    match fetch {
        Fetch::Src => Key::of_ip(kind, s.src()),
        Fetch::DstPort => Key::of_int(kind, i64::from(s.dst_port())),
        Fetch::Path => Key::parse(kind, s.path()),
        Fetch::Url => Key::parse(kind, s.url()),
        Fetch::Method => Key::parse(kind, s.method()),
        Fetch::Hdr(name) => {
            let mut key = None;
            s.any_header_value(name, &mut |v| {
                key = Key::parse(kind, v);
                true
            });
            key
        }
        Fetch::Status | Fetch::Sc { .. } | Fetch::SrcTable { .. } => None,
    }
}

/// What the counter criteria of one evaluation read.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub config: &'a Config,
    pub shared: &'a SharedState,
    /// The connection's slots, then the request's.
    pub conn: Slots,
    pub req: Slots,
    pub now: u64,
}

impl View<'_> {
    fn slot(&self, slot: usize) -> Option<Tracked> {
        self.req
            .get(slot)
            .copied()
            .flatten()
            .or_else(|| self.conn.get(slot).copied().flatten())
            .filter(Tracked::live)
    }

    /// `counter` of the entry tracked on `slot` (0 when none is).
    pub fn sc(&self, slot: usize, counter: Counter) -> u64 {
        let Some(t) = self.slot(slot) else { return 0 };
        match self.shared.stick(self.config, t.table) {
            Some(st) => st.read(&t.entry, counter, self.now),
            None => 0,
        }
    }

    /// `counter` of `ip`'s entry in `table` (0 when it has none).
    pub fn src(&self, table: usize, counter: Counter, ip: IpAddr) -> u64 {
        let Some(st) = self.shared.stick(self.config, table) else {
            return 0;
        };
        Key::of_ip(st.conf.key, ip)
            .and_then(|k| st.get(&k, self.now))
            .map_or(0, |e| st.read(&e, counter, self.now))
    }

    /// `gpc0` (and `gpc0_rate`) + 1 on slot `slot`'s entry.
    pub fn inc_gpc0(&self, slot: usize) {
        let Some(t) = self.slot(slot) else { return };
        if let Some(st) = self.shared.stick(self.config, t.table) {
            st.add(&t.entry, Counter::Gpc0, 1, self.now);
            st.add(&t.entry, Counter::Gpc0Rate, 1, self.now);
            t.entry.touch(self.now);
        }
    }
}

/// Adds to the counters of every entry in `slots`.
pub fn add_all(
    config: &Config,
    shared: &SharedState,
    slots: &Slots,
    counters: &[(Counter, u64)],
    now: u64,
) {
    for t in slots.iter().flatten().filter(|t| t.live()) {
        if let Some(st) = shared.stick(config, t.table) {
            for &(c, n) in counters {
                if n > 0 {
                    st.add(&t.entry, c, n, now);
                }
            }
            t.entry.touch(now);
        }
    }
}

/// Starts tracking `key` in `table`: its entry (inserted if need be).
pub fn start(st: &Stick<'_>, table: usize, key: &Key, now: u64) -> Option<Tracked> {
    let entry = st.entry(key, now)?;
    Some(Tracked {
        table,
        entry,
        tag: entry.tag(),
    })
}

/// The connection ended: `conn_cur` − 1 on the entries it tracked.
pub fn conn_closed(config: &Config, shared: &SharedState, slots: &Slots) {
    let now = now_ms();
    for t in slots.iter().flatten().filter(|t| t.live()) {
        if let Some(st) = shared.stick(config, t.table) {
            st.conn_closed(&t.entry, now);
        }
    }
}

/// What the accept-time criteria see: the addresses and the slots.
struct AcceptSample<'a> {
    src: IpAddr,
    dst_port: u16,
    view: View<'a>,
}

impl Sample for AcceptSample<'_> {
    fn method(&self) -> &[u8] {
        b""
    }
    fn url(&self) -> &[u8] {
        b""
    }
    fn path(&self) -> &[u8] {
        b""
    }
    fn any_header_value(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        false
    }
    fn src(&self) -> IpAddr {
        self.src
    }
    fn dst_port(&self) -> u16 {
        self.dst_port
    }
    fn sc_counter(&self, slot: usize, counter: Counter) -> u64 {
        self.view.sc(slot, counter)
    }
    fn src_counter(&self, table: usize, counter: Counter) -> u64 {
        self.view.src(table, counter, self.src)
    }
}

/// Runs a frontend's `tcp_request` rules on a new connection: its slots,
/// or `None` when a rule rejects it (what it tracked until then is
/// released).
pub fn accept(
    config: &Config,
    fe: &Frontend,
    shared: &SharedState,
    src: IpAddr,
    dst_port: u16,
) -> Option<Slots> {
    if fe.tcp_request.is_empty() {
        return Some(NO_SLOTS);
    }
    let now = now_ms();
    let mut s = AcceptSample {
        src,
        dst_port,
        view: View {
            config,
            shared,
            conn: NO_SLOTS,
            req: NO_SLOTS,
            now,
        },
    };
    for rule in &fe.tcp_request {
        if !crate::rules::cond_holds(rule.cond.as_ref(), &fe.acls, &s) {
            continue;
        }
        match &rule.action {
            TcpAction::Reject => {
                conn_closed(config, shared, &s.view.conn);
                return None;
            }
            TcpAction::Track(t) => {
                if s.view.conn[t.slot].is_some() {
                    continue;
                }
                let Some(st) = shared.stick(config, t.table) else {
                    continue;
                };
                let Some(k) = key(st.conf.key, &t.key, &s) else {
                    continue;
                };
                if let Some(tracked) = start(&st, t.table, &k, now) {
                    for c in [Counter::ConnCnt, Counter::ConnRate, Counter::ConnCur] {
                        st.add(&tracked.entry, c, 1, now);
                    }
                    s.view.conn[t.slot] = Some(tracked);
                }
            }
        }
    }
    Some(s.view.conn)
}
