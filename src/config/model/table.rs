//! The typed rate-limit tables (SPEC §11): a table's keys and stored
//! counters, the trackers that feed it and the `tcp_request` rules that
//! run at accept.

use std::time::Duration;

use super::{Condition, Fetch};

/// A counter a rate-limit table may store (HAProxy's stick-table data
/// types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    HttpReqCnt,
    HttpReqRate,
    ConnCur,
    ConnCnt,
    ConnRate,
    HttpErrCnt,
    HttpErrRate,
    BytesInRate,
    BytesOutRate,
    Gpc0,
    Gpc0Rate,
}

impl Counter {
    /// Every counter, with its name in `store` (HAProxy's), in HAProxy's
    /// order of data types (the order `show table` prints them in).
    pub const ALL: [(Counter, &'static str); 11] = [
        (Counter::Gpc0, "gpc0"),
        (Counter::Gpc0Rate, "gpc0_rate"),
        (Counter::ConnCnt, "conn_cnt"),
        (Counter::ConnRate, "conn_rate"),
        (Counter::ConnCur, "conn_cur"),
        (Counter::HttpReqCnt, "http_req_cnt"),
        (Counter::HttpReqRate, "http_req_rate"),
        (Counter::HttpErrCnt, "http_err_cnt"),
        (Counter::HttpErrRate, "http_err_rate"),
        (Counter::BytesInRate, "bytes_in_rate"),
        (Counter::BytesOutRate, "bytes_out_rate"),
    ];

    pub fn name(self) -> &'static str {
        Counter::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("", |(_, n)| n)
    }

    /// Whether it is a rate over a period (stored as `name(PERIOD)`).
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Counter::HttpReqRate
                | Counter::ConnRate
                | Counter::HttpErrRate
                | Counter::BytesInRate
                | Counter::BytesOutRate
                | Counter::Gpc0Rate
        )
    }

    /// 64-bit words it takes in an entry: a rate three (the current
    /// period's start, its count, the previous period's count), anything
    /// else one.
    pub fn words(self) -> usize {
        if self.is_rate() {
            3
        } else {
            1
        }
    }
}

/// One counter of a table's `store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Store {
    pub counter: Counter,
    /// The period of a rate, in milliseconds (0 for the others).
    pub period_ms: u64,
}

/// What a table's keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKey {
    /// IPv4 and IPv6 addresses (an IPv4 address as its IPv4-mapped form).
    Ip,
    Ipv6,
    /// Up to [`STRING_KEY_LEN`] bytes (longer ones are cut).
    String,
    Integer,
}

/// The longest string key, in bytes.
pub const STRING_KEY_LEN: usize = 32;

impl TableKey {
    /// As written in `type = "…"` and in `show table`.
    pub fn name(self) -> &'static str {
        match self {
            TableKey::Ip => "ip",
            TableKey::Ipv6 => "ipv6",
            TableKey::String => "string",
            TableKey::Integer => "integer",
        }
    }

    /// 64-bit words of key: an address 2, a string its length and 4.
    pub fn words(self) -> usize {
        match self {
            TableKey::Ip | TableKey::Ipv6 => 2,
            TableKey::String => 1 + STRING_KEY_LEN / 8,
            TableKey::Integer => 1,
        }
    }
}

/// A rate-limit table (HAProxy's stick table), shared by every worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickTable {
    /// The section that declares it.
    pub name: String,
    pub key: TableKey,
    /// Entries at most.
    pub size: usize,
    /// An entry not updated for this long is gone (`None`: entries go
    /// only when the table is full).
    pub expire: Option<Duration>,
    /// The counters each entry keeps, in the order of its data words.
    pub store: Vec<Store>,
}

impl StickTable {
    /// The first data word of `counter`, if the table stores it.
    pub fn word_of(&self, counter: Counter) -> Option<(usize, Store)> {
        let mut at = 0;
        for s in &self.store {
            if s.counter == counter {
                return Some((at, *s));
            }
            at += s.counter.words();
        }
        None
    }

    /// Data words per entry.
    pub fn data_words(&self) -> usize {
        self.store.iter().map(|s| s.counter.words()).sum()
    }
}

/// What a tracking rule tracks: slot, table, key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// sc0–sc2.
    pub slot: usize,
    /// Index into `Config::tables`.
    pub table: usize,
    /// The key: `src`, or a sample (`hdr(NAME)`, `path`…).
    pub key: Fetch,
}

/// The slots a stream can track at once (sc0–sc2).
pub const TRACK_SLOTS: usize = 3;

/// One `tcp_request` rule (at accept).
#[derive(Debug, Clone)]
pub struct TcpRule {
    pub action: TcpAction,
    pub cond: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpAction {
    Track(Track),
    /// Close the connection at once.
    Reject,
}
