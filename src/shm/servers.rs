//! Servers in shared memory: operational state (health checks),
//! administrative state and weight (runtime API), the last check's result,
//! and the server's counters; every worker sees a change at its next pick.
//!
//! Each backend has `server_slots` slots: its configured servers first,
//! then free slots that `add server` fills and `del server` frees. A
//! slot's identity (name, address, backup and check flags, initial weight)
//! is written by one process at a time (the master before it forks, then
//! the control process) under a sequence word, a seqlock: the writer makes
//! it odd, writes, makes it even again; a reader retries while it is odd
//! or moved under it ([`ServerShm::identity`]). After a write the writer
//! bumps the backend's `ServersGen` ([`super::Px::ServersGen`]); a worker
//! compares it with the one it last saw at each turn, one relaxed load, and
//! rereads the slots only when it moved.

use super::counters::{counters, Layout};
use super::{unix_now, Px};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{
    fence, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

/// Per-server state and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Srv {
    /// 0 = UP, 1 = DOWN (health checks).
    OpDown,
    /// 0 = READY, 1 = DRAIN, 2 = MAINT.
    Admin,
    /// Current weight (1–256; 0 takes no new traffic).
    Weight,
    Smax,
    Stot,
    Bin,
    Bout,
    Econ,
    Eresp,
    Wretr,
    Wredis,
    Hrsp1xx,
    Hrsp2xx,
    Hrsp3xx,
    Hrsp4xx,
    Hrsp5xx,
    HrspOther,
    ReqTot,
    CliAbrt,
    SrvAbrt,
    /// Failed health checks.
    ChkFail,
    /// UP → DOWN transitions.
    ChkDown,
    /// Unix time of the last state change.
    LastChange,
    /// Seconds spent DOWN before the current state.
    Downtime,
    /// The last health check's result: one of the [`check_status`] codes
    /// (0, `INI`, until the first check ends), and its HTTP status (0
    /// without one) and duration (ms).
    CheckStatus,
    CheckCode,
    CheckDuration,
    /// Bumped by `shutdown sessions server`: sessions started before the
    /// bump are closed by their worker.
    ShutdownGen,
    /// 1 while DNS discovery holds the server in maintenance (no address
    /// yet, or its record is gone): HAProxy's "MAINT (resolution)". Only
    /// that maintenance is DNS's to lift, never an operator's.
    DnsMaint,
    // The slot's identity, under `Seq` (see the module's documentation);
    // a reload does not carry these over.
    /// The identity's sequence word: odd while it is being written.
    Seq,
    /// [`SLOT_FREE`], [`SLOT_CONFIG`] or [`SLOT_RUNTIME`].
    Slot,
    /// [`FLAG_BACKUP`], [`FLAG_CHECK`].
    Flags,
    /// The weight it was configured or added with (`get weight`, `W%`).
    InitWeight,
    /// The address: the IPv6 (or IPv4-mapped) address in two words, then
    /// the port with the family (4 or 6) above it.
    AddrHi,
    AddrLo,
    AddrPort,
    /// The name's length, then its bytes ([`NAME_WORDS`] words).
    NameLen,
    Name,
}
/// The words of the name's bytes.
pub const NAME_WORDS: usize = 16;
/// The first identity word: the figures and states before it carry over a
/// reload, the identity does not.
pub(super) const IDENTITY: usize = Srv::Seq as usize;
pub(super) const SRV_WORDS: usize = Srv::Name as usize + NAME_WORDS;

/// [`Srv::Slot`]: a free slot.
pub const SLOT_FREE: u64 = 0;
/// A server of the configuration.
pub const SLOT_CONFIG: u64 = 1;
/// A server added through the runtime API.
pub const SLOT_RUNTIME: u64 = 2;

/// [`Srv::Flags`]: a backup server.
pub const FLAG_BACKUP: u64 = 1;
/// Health-checked.
pub const FLAG_CHECK: u64 = 2;

/// Who a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub addr: SocketAddr,
    pub backup: bool,
    pub check: bool,
    /// Added through the runtime API, not configured.
    pub runtime: bool,
    /// Its weight when configured or added.
    pub init_weight: u32,
}

/// The codes in [`Srv::CheckStatus`], written by the control process's
/// health checks; [`check_status::name`] gives HAProxy's `check_status`
/// word for the statistics. A server without `check = true` keeps 0 and
/// shows no status.
pub mod check_status {
    /// Not checked yet ("INI").
    pub const INI: u64 = 0;
    /// TCP check passed: connected.
    pub const L4OK: u64 = 1;
    /// No connection within the timeout.
    pub const L4TOUT: u64 = 2;
    /// Connection refused, unreachable, reset while connecting.
    pub const L4CON: u64 = 3;
    /// HTTP check passed: the status is expected.
    pub const L7OK: u64 = 4;
    /// Connected, but no status line within the timeout.
    pub const L7TOUT: u64 = 5;
    /// Not an HTTP response, or the connection failed before one came.
    pub const L7RSP: u64 = 6;
    /// An HTTP status outside `expect_status`.
    pub const L7STS: u64 = 7;
    /// TCP check over TLS passed: connected and the handshake done.
    pub const L6OK: u64 = 8;
    /// Connected, but the TLS handshake did not end within the timeout.
    pub const L6TOUT: u64 = 9;
    /// The TLS handshake failed (a certificate that does not verify, no
    /// common version, not TLS at all…).
    pub const L6RSP: u64 = 10;

    /// HAProxy's name of a code.
    pub fn name(code: u64) -> &'static str {
        match code {
            L4OK => "L4OK",
            L4TOUT => "L4TOUT",
            L4CON => "L4CON",
            L7OK => "L7OK",
            L7TOUT => "L7TOUT",
            L7RSP => "L7RSP",
            L7STS => "L7STS",
            L6OK => "L6OK",
            L6TOUT => "L6TOUT",
            L6RSP => "L6RSP",
            _ => "INI",
        }
    }

    /// Whether the code is a passed check.
    pub fn passed(code: u64) -> bool {
        code == L4OK || code == L6OK || code == L7OK
    }
}

/// Administrative states.
pub const ADMIN_READY: u64 = 0;
pub const ADMIN_DRAIN: u64 = 1;
pub const ADMIN_MAINT: u64 = 2;

/// One server's state and counters.
#[derive(Clone, Copy)]
pub struct ServerShm {
    pub(super) words: &'static [AtomicU64],
    pub(super) gauge: usize,
    pub(super) state: &'static Layout,
}

counters!(ServerShm, Srv);

impl ServerShm {
    /// A server alone in private memory (tests, tools).
    pub fn detached(weight: u32) -> ServerShm {
        let words: &'static [AtomicU64] = Box::leak(
            (0..SRV_WORDS + 1)
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let (words, gauges) = words.split_at(SRV_WORDS);
        let state: &'static Layout = Box::leak(Box::new(Layout {
            gauges,
            per_worker: 1,
            workers: 1,
        }));
        let shm = ServerShm {
            words,
            gauge: 0,
            state,
        };
        shm.set(Srv::Weight, u64::from(weight));
        shm
    }

    /// The identity's sequence number (it moves whenever the slot is
    /// written: added, deleted, its address set).
    pub fn seq(&self) -> u64 {
        self.words[Srv::Seq as usize].load(Acquire)
    }

    /// Who the slot holds, `None` when it is free; one consistent view
    /// even while the control process rewrites it.
    pub fn identity(&self) -> Option<Identity> {
        let seq = &self.words[Srv::Seq as usize];
        let mut tries = 0u32;
        loop {
            let before = seq.load(Acquire);
            let read = self.read_identity();
            fence(Acquire);
            let stable = before % 2 == 0 && seq.load(Relaxed) == before;
            tries += 1;
            // A writer that died half-way leaves the word odd: after many
            // tries, take what is there rather than spin forever.
            if stable || tries > 10_000 {
                return read;
            }
            if tries % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    fn read_identity(&self) -> Option<Identity> {
        let w = |f: Srv| self.words[f as usize].load(Relaxed);
        let slot = w(Srv::Slot);
        if slot == SLOT_FREE {
            return None;
        }
        let ip = (u128::from(w(Srv::AddrHi)) << 64) | u128::from(w(Srv::AddrLo));
        let port_family = w(Srv::AddrPort);
        let v6 = Ipv6Addr::from(ip);
        let ip = match (port_family >> 16, v6.to_ipv4_mapped()) {
            (4, Some(v4)) => IpAddr::V4(v4),
            _ => IpAddr::V6(v6),
        };
        let len = (w(Srv::NameLen) as usize).min(NAME_WORDS * 8);
        let mut name = Vec::with_capacity(NAME_WORDS * 8);
        for i in 0..NAME_WORDS {
            let word = self.words[Srv::Name as usize + i].load(Relaxed);
            name.extend_from_slice(&word.to_le_bytes());
        }
        name.truncate(len);
        let flags = w(Srv::Flags);
        Some(Identity {
            name: String::from_utf8_lossy(&name).into_owned(),
            addr: SocketAddr::new(ip, (port_family & 0xffff) as u16),
            backup: flags & FLAG_BACKUP != 0,
            check: flags & FLAG_CHECK != 0,
            runtime: slot == SLOT_RUNTIME,
            init_weight: w(Srv::InitWeight) as u32,
        })
    }

    /// Writes the slot's identity (`None`: frees it). One writer at a
    /// time: the master before it forks, then the control process.
    pub fn write_identity(&self, id: Option<&Identity>) {
        let seq = &self.words[Srv::Seq as usize];
        let s = seq.load(Relaxed);
        let s = if s % 2 == 1 { s + 1 } else { s };
        seq.store(s + 1, Relaxed);
        fence(Release);
        let w = |f: Srv, v: u64| self.words[f as usize].store(v, Relaxed);
        match id {
            None => {
                w(Srv::Slot, SLOT_FREE);
                w(Srv::NameLen, 0);
            }
            Some(id) => {
                let (ip, family) = match id.addr.ip() {
                    IpAddr::V4(v4) => (v4.to_ipv6_mapped(), 4),
                    IpAddr::V6(v6) => (v6, 6),
                };
                let ip = u128::from(ip);
                w(Srv::AddrHi, (ip >> 64) as u64);
                w(Srv::AddrLo, ip as u64);
                w(Srv::AddrPort, u64::from(id.addr.port()) | (family << 16));
                let flags =
                    if id.backup { FLAG_BACKUP } else { 0 } | if id.check { FLAG_CHECK } else { 0 };
                w(Srv::Flags, flags);
                w(Srv::InitWeight, u64::from(id.init_weight));
                let bytes = id.name.as_bytes();
                let bytes = &bytes[..bytes.len().min(NAME_WORDS * 8)];
                w(Srv::NameLen, bytes.len() as u64);
                for i in 0..NAME_WORDS {
                    let mut word = [0u8; 8];
                    for (k, b) in word.iter_mut().enumerate() {
                        *b = bytes.get(i * 8 + k).copied().unwrap_or(0);
                    }
                    self.words[Srv::Name as usize + i].store(u64::from_le_bytes(word), Relaxed);
                }
                w(
                    Srv::Slot,
                    if id.runtime {
                        SLOT_RUNTIME
                    } else {
                        SLOT_CONFIG
                    },
                );
            }
        }
        seq.store(s + 2, Release);
    }

    /// Whether the slot holds a server.
    pub fn in_use(&self) -> bool {
        self.get(Srv::Slot) != SLOT_FREE
    }

    /// Zeroes its figures and states (the slot is being filled anew), and
    /// every worker's share of its current sessions.
    pub fn clear_figures(&self) {
        for w in &self.words[..IDENTITY] {
            w.store(0, Relaxed);
        }
        for worker in 0..self.state.workers {
            self.state.word(worker, self.gauge).store(0, Relaxed);
        }
    }

    /// Whether health checks say it is DOWN.
    pub fn is_down(&self) -> bool {
        self.get(Srv::OpDown) != 0
    }
    pub fn admin(&self) -> u64 {
        self.get(Srv::Admin)
    }
    pub fn weight(&self) -> u32 {
        self.get(Srv::Weight) as u32
    }
    /// Whether new traffic may go to it: UP, READY and a weight above 0.
    pub fn usable(&self) -> bool {
        !self.is_down() && self.admin() == ADMIN_READY && self.weight() > 0
    }
    /// HAProxy's status word: UP, DOWN, MAINT, DRAIN.
    pub fn status(&self) -> &'static str {
        match (self.admin(), self.is_down()) {
            (ADMIN_MAINT, _) => "MAINT",
            (_, true) => "DOWN",
            (ADMIN_DRAIN, false) => "DRAIN",
            _ => "UP",
        }
    }
    /// Records an operational change (checks): UP or DOWN.
    pub fn set_down(&self, down: bool, now_unix: u64) {
        let was = self.is_down();
        if was == down {
            return;
        }
        let since = self.get(Srv::LastChange);
        if was {
            self.add(Srv::Downtime, now_unix.saturating_sub(since));
        } else {
            self.add(Srv::ChkDown, 1);
        }
        self.set(Srv::OpDown, u64::from(down));
        self.set(Srv::LastChange, now_unix);
    }
}

/// Servers added, deleted and moved at run time: the slot is written,
/// then the backend's generation bumped, which is what the workers and
/// the checks watch.
impl super::SharedState {
    /// Adds server `id` to backend `b` in its first free slot, in
    /// maintenance with its initial weight and fresh figures, and tells
    /// the workers and the checks (the runtime API's `add server`; the
    /// caller checked the name is free). `None` when no slot is free.
    /// Only the control process calls it once the workers run.
    pub fn add_server(&self, b: usize, id: &Identity) -> Option<usize> {
        let slots = self.servers.get(b)?;
        let s = slots.iter().position(|s| !s.in_use())?;
        let shm = slots[s];
        shm.clear_figures();
        shm.set(Srv::Weight, u64::from(id.init_weight));
        shm.set(Srv::Admin, ADMIN_MAINT);
        shm.set(Srv::LastChange, unix_now());
        shm.write_identity(Some(id));
        self.backends[b].bump(Px::ServersGen);
        Some(s)
    }

    /// Frees slot `s` of backend `b` (the runtime API's `del server`; the
    /// caller checked the server is in maintenance without sessions).
    pub fn del_server(&self, b: usize, s: usize) {
        let Some(shm) = self.servers.get(b).and_then(|l| l.get(s)) else {
            return;
        };
        shm.set(Srv::Admin, ADMIN_MAINT);
        shm.set(Srv::Weight, 0);
        shm.write_identity(None);
        self.backends[b].bump(Px::ServersGen);
    }

    /// Gives the server of slot `s` of backend `b` a new address: every
    /// worker connects there from its next pick, the checks from their
    /// next turn (the runtime API's `set server addr`, and DNS discovery
    /// in the control process). Returns the old address, `None` for a free
    /// slot.
    pub fn set_server_addr(&self, b: usize, s: usize, addr: SocketAddr) -> Option<SocketAddr> {
        let shm = self.servers.get(b)?.get(s)?;
        let mut id = shm.identity()?;
        let old = id.addr;
        if old != addr {
            id.addr = addr;
            shm.write_identity(Some(&id));
            self.backends[b].bump(Px::ServersGen);
        }
        Some(old)
    }

    /// Rewrites the identity of the server in slot `s` of backend `b`
    /// (DNS discovery: a template's slot takes another target, weight or
    /// backup flag) and tells the workers and the checks when it changed.
    /// `false` for a free slot.
    pub fn set_server_identity(&self, b: usize, s: usize, id: &Identity) -> bool {
        let Some(shm) = self.servers.get(b).and_then(|l| l.get(s)) else {
            return false;
        };
        let Some(old) = shm.identity() else {
            return false;
        };
        if old != *id {
            shm.write_identity(Some(id));
            self.backends[b].bump(Px::ServersGen);
        }
        true
    }

    /// The slot of backend `b` holding the server named `name`.
    pub fn slot_of(&self, b: usize, name: &str) -> Option<usize> {
        self.servers
            .get(b)?
            .iter()
            .position(|shm| shm.in_use() && shm.identity().is_some_and(|id| id.name == name))
    }
}
