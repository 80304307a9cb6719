//! The data of discovery: who uses an answer, the queries in flight, a
//! resolution in progress, and one job per (resolvers, name).

use super::codec::{QType, Record, Status};
use mio::net::TcpStream;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Who uses a job's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum User {
    /// Server `s` of backend `b`, at `port`.
    Server { b: usize, s: usize, port: u16 },
    /// Template `t` of backend `b`.
    Template { b: usize, t: usize },
}

/// Why a resolution gave no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// NXDOMAIN, or no record of the asked type.
    Nx,
    /// No answer from any nameserver.
    Timeout,
    /// REFUSED, SERVFAIL, a TCP connection that failed.
    Other,
}

impl Failure {
    pub(super) fn word(self) -> &'static str {
        match self {
            Failure::Nx => "NX",
            Failure::Timeout => "timeout",
            Failure::Other => "error",
        }
    }
}

/// One target of an answer, as servers use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub addr: SocketAddr,
    /// The SRV weight (1 for an address record).
    pub weight: u16,
    /// The SRV priority (0 for an address record).
    pub priority: u16,
}

/// A query waiting for its answer.
pub(super) struct Query {
    pub(super) id: u16,
    pub(super) name: String,
    pub(super) qtype: QType,
    /// Index of the nameserver asked.
    pub(super) ns: usize,
    /// Sends so far.
    pub(super) sent: u32,
    pub(super) deadline: Instant,
    pub(super) tcp: Option<Tcp>,
}

/// A query asked again over TCP after a truncated answer.
pub(super) struct Tcp {
    pub(super) stream: TcpStream,
    pub(super) out: Vec<u8>,
    pub(super) written: usize,
    pub(super) input: Vec<u8>,
}

/// A resolution in progress.
pub(super) struct Run {
    pub(super) steps: VecDeque<(String, QType)>,
    pub(super) current: Option<Query>,
    pub(super) records: Vec<Record>,
    /// The first query's status (the name itself).
    pub(super) first: Option<Status>,
    /// The SRV pass asked for its targets already.
    pub(super) targets_asked: bool,
    /// The nameserver that gave the name's answer (for `update`).
    pub(super) ns: usize,
}

/// One name asked of one resolvers section.
pub(super) struct Job {
    pub(super) resolvers: usize,
    pub(super) name: String,
    pub(super) srv: bool,
    pub(super) users: Vec<User>,
    pub(super) next: Instant,
    pub(super) run: Option<Run>,
    /// The first failure of the current streak.
    pub(super) failing: Option<(Instant, Failure)>,
    /// The hold of the current streak ran out (logged once).
    pub(super) held_out: bool,
    /// The last answer used, to log changes only.
    pub(super) last: Option<Vec<Found>>,
}
