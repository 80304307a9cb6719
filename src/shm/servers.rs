//! Servers in shared memory: operational state (health checks),
//! administrative state and weight (runtime API), the last check's result,
//! and the server's counters; every worker sees a change at its next pick.

use super::counters::{counters, Layout};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
}
pub(super) const SRV_WORDS: usize = Srv::ShutdownGen as usize + 1;

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
