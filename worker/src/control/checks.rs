//! Health checks, once per server for the whole service: the control
//! process's part that checks every server with `check = true` and writes
//! the verdict to the shared state, where every worker routes on it.
//!
//! - **Where.** Each server's address, or its address with `check.port`;
//!   in TLS with the server's own settings when it has `tls` (unless
//!   `check.tls = false`), the handshake part of the check (HAProxy's
//!   layer 6: `L6OK`, `L6TOUT`, `L6RSP`).
//! - **Schedule.** Each server is checked every `check.interval`, one check
//!   at a time, each bounded by `check.timeout`. The first checks are spread
//!   over the shortest interval (HAProxy's `start_checks`), so that many
//!   servers are not all checked at once.
//! - **State.** Servers start UP, as in HAProxy (or as the shared state
//!   says, when the control process is respawned or the service reloaded).
//!   `fall` consecutive failures take an UP server DOWN; `rise` consecutive
//!   successes bring a DOWN server UP ([`ServerShm::set_down`]).
//! - **Figures.** Every check sets `CheckStatus`, `CheckCode` and
//!   `CheckDuration`; a failed check of an UP server adds one to `ChkFail`
//!   (HAProxy's `chkfail`: "only counts checks failed when the server is
//!   up").
//! - **Logs** ([`super::check_log`]): each UP/DOWN change (warning for DOWN,
//!   notice for UP), `backend B has no server available!` (alert; HAProxy
//!   says it at emerg, which syslog daemons broadcast to every terminal)
//!   when a change leaves a backend without a usable server, and a
//!   `Health check for server …` line (notice) when results turn from
//!   passing to failing or back without changing the state yet.
//! - **Servers added at run time.** The part follows the server slots:
//!   a server added with `check`, deleted, or given a new address through
//!   the runtime API is taken in at the next turn ([`Checks::sync`]; a
//!   check in flight to the old address is dropped). A server added with
//!   `check` uses its backend's `check` table.
//! - **Maintenance.** A server in MAINT is still checked and its state
//!   recorded, so that it is known when the server comes back, but nothing
//!   is logged about it.

use super::check_log::{self, Counts, Who};
use super::probe::{Ask, Outcome, Probe};
use super::{part_token, ControlCtx, Part};
use crate::conn::connect::TlsTo;
use mio::event::Event;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::config::model::{CheckKind, HealthCheck};
use weir_core::shm::{unix_now, Px, ServerShm, Srv, ADMIN_MAINT};
use weir_core::tls::Connector;

/// One checked server.
struct Checked {
    backend: usize,
    server: usize,
    /// Its name and role, for the logs.
    name: String,
    backup: bool,
    /// Where checks connect (the server's address, or its `check.port`).
    addr: SocketAddr,
    /// The server's TLS settings when checks use them; `Err` if they
    /// could not be built (every check then fails as `L6RSP`).
    tls: Option<Result<Arc<Connector>, String>>,
    /// `check.host`: the `Host` of HTTP checks, and the SNI of a server
    /// whose `sni` is the request's Host.
    host: Option<String>,
    check: HealthCheck,
    /// The HTTP check's request, `None` for a TCP check.
    request: Option<Arc<[u8]>>,
    expect: (u16, u16),
    /// Consecutive results of the same kind.
    successes: u32,
    failures: u32,
    /// Whether the last check passed (`true` before the first).
    last_passed: bool,
    /// When the next check starts (meaningless while one runs).
    next: Instant,
    probe: Option<Probe>,
}

/// The health-check part. Its entries follow the server slots (entry `n`
/// is the `n`-th slot over every backend, which is also its token), so
/// that servers added, deleted or moved at run time are taken in at the
/// next turn ([`Checks::sync`]) without disturbing the other checks.
pub struct Checks {
    part: usize,
    servers: Vec<Option<Checked>>,
    /// Per backend: its first entry, and the servers generation and slot
    /// sequences last seen.
    first: Vec<usize>,
    gens: Vec<Option<u64>>,
    seqs: Vec<Option<u64>>,
}

/// The [`super::PartFactory`] of health checks: `None` when no backend has
/// a `check` table (a server added at run time with `check` needs one).
pub fn factory(part: usize, cx: &mut ControlCtx) -> std::io::Result<Option<Box<dyn Part>>> {
    if cx.config.backends.iter().all(|b| b.check.is_none()) {
        return Ok(None);
    }
    let mut first = Vec::new();
    let mut total = 0;
    for slots in &cx.shared.servers {
        first.push(total);
        total += slots.len();
    }
    let mut checks = Checks {
        part,
        servers: (0..total).map(|_| None).collect(),
        first,
        gens: vec![None; cx.shared.servers.len()],
        seqs: vec![None; total],
    };
    checks.sync(cx);
    // Spread the first checks over the shortest interval.
    let list: Vec<&mut Checked> = checks.servers.iter_mut().flatten().collect();
    let n = list.len().max(1) as u32;
    let spread = list
        .iter()
        .map(|c| c.check.interval)
        .min()
        .unwrap_or(Duration::ZERO);
    for (k, c) in list.into_iter().enumerate() {
        c.next = cx.now + spread * k as u32 / n;
    }
    Ok(Some(Box::new(checks)))
}

/// The check of slot `s` of backend `b`, if it holds a server with
/// `check` and the backend has a `check` table.
fn checked(cx: &ControlCtx, b: usize, s: usize) -> Option<Checked> {
    let be = cx.config.backends.get(b)?;
    let check = be.check.as_ref()?;
    let shm = cx.shared.servers.get(b)?.get(s)?;
    let id = shm.identity().filter(|id| id.check)?;
    // The configuration's settings (TLS) while the slot holds its server.
    let configured = be
        .servers
        .get(s)
        .filter(|c| !id.runtime && c.name == id.name);
    let addr = SocketAddr::new(id.addr.ip(), check.port.unwrap_or(id.addr.port()));
    let tls = configured
        .and_then(|c| c.tls.as_ref())
        .filter(|_| check.tls)
        .map(|t| {
            Connector::from_server(t)
                .map(Arc::new)
                .map_err(|e| format!("TLS settings: {e}"))
        });
    let mut check_host = None;
    let (request, expect) = match &check.kind {
        CheckKind::Tcp => (None, (0, 0)),
        CheckKind::Http {
            method,
            path,
            host,
            expect,
        } => {
            check_host.clone_from(host);
            let host = host.clone().unwrap_or_else(|| addr.to_string());
            let req = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: weir-check\r\n\
                 Connection: close\r\n\r\n"
            );
            (Some(Arc::from(req.into_bytes())), *expect)
        }
    };
    Some(Checked {
        backend: b,
        server: s,
        name: id.name,
        backup: id.backup,
        addr,
        tls,
        host: check_host,
        check: check.clone(),
        request,
        expect,
        successes: 0,
        failures: 0,
        last_passed: !shm.is_down(),
        next: cx.now,
        probe: None,
    })
}

impl Checks {
    /// Takes in the slots that changed since the last look (a server
    /// added, deleted or given a new address): a check in flight to what
    /// the slot held is dropped, a new one starts at once.
    fn sync(&mut self, cx: &mut ControlCtx) {
        for (b, be) in cx.shared.backends.iter().enumerate() {
            let gen = be.get_acquire(Px::ServersGen);
            if self.gens.get(b) == Some(&Some(gen)) {
                continue;
            }
            self.gens[b] = Some(gen);
            let Some(slots) = cx.shared.servers.get(b) else {
                continue;
            };
            for (s, shm) in slots.iter().enumerate() {
                let n = self.first[b] + s;
                let seq = shm.seq();
                if self.seqs[n] == Some(seq) {
                    continue;
                }
                self.seqs[n] = Some(seq);
                if let Some(probe) = self.servers[n].take().and_then(|c| c.probe) {
                    probe.close(cx.registry);
                }
                self.servers[n] = checked(cx, b, s);
            }
        }
    }
}

impl Part for Checks {
    fn name(&self) -> &'static str {
        "health checks"
    }

    fn sync(&mut self, cx: &mut ControlCtx) {
        Checks::sync(self, cx);
    }

    fn on_event(&mut self, cx: &mut ControlCtx, n: usize, ev: &Event) {
        let Some(Some(c)) = self.servers.get_mut(n) else {
            return;
        };
        let Some(outcome) = c.probe.as_mut().and_then(|p| p.progress(ev)) else {
            return;
        };
        finish(c, cx, outcome);
    }

    fn on_timers(&mut self, cx: &mut ControlCtx) {
        let now = cx.now;
        for (n, c) in self.servers.iter_mut().enumerate() {
            let Some(c) = c else { continue };
            match &c.probe {
                Some(p) if p.deadline <= now => {
                    let outcome = p.timed_out();
                    finish(c, cx, outcome);
                }
                Some(_) => {}
                None if c.next <= now => {
                    let token = part_token(self.part, n);
                    match start(c, cx, token, now) {
                        Ok(p) => c.probe = Some(p),
                        Err(outcome) => finish_at(c, cx, outcome, now),
                    }
                }
                None => {}
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.servers
            .iter()
            .flatten()
            .map(|c| c.probe.as_ref().map_or(c.next, |p| p.deadline))
            .min()
    }
}

/// Starts a check of `c`.
fn start(c: &Checked, cx: &ControlCtx, token: mio::Token, now: Instant) -> Result<Probe, Outcome> {
    let tls = match &c.tls {
        None => None,
        Some(Ok(connector)) => Some(TlsTo {
            connector,
            host: c.host.as_deref(),
        }),
        Some(Err(e)) => return Err(Outcome::L6Rsp(e.clone())),
    };
    let ask = Ask {
        request: c.request.clone(),
        expect: c.expect,
    };
    Probe::start(cx.registry, token, c.addr, tls, ask, now, c.check.timeout)
}

/// Ends the check in flight with `outcome`.
fn finish(c: &mut Checked, cx: &mut ControlCtx, outcome: Outcome) {
    let Some(probe) = c.probe.take() else { return };
    let started = probe.started;
    probe.close(cx.registry);
    finish_at(c, cx, outcome, started);
}

/// Records a check that started at `started` and ended now, and schedules
/// the next one an interval after this one's start (at once if it took
/// longer).
fn finish_at(c: &mut Checked, cx: &mut ControlCtx, outcome: Outcome, started: Instant) {
    let now = Instant::now().max(cx.now);
    let duration_ms = now.saturating_duration_since(started).as_millis() as u64;
    c.next = (started + c.check.interval).max(now);
    let shm = cx.shared.servers[c.backend][c.server];
    record(&shm, &outcome, duration_ms);
    let passed = outcome.passed();
    if passed {
        c.successes = c.successes.saturating_add(1);
        c.failures = 0;
    } else {
        c.failures = c.failures.saturating_add(1);
        c.successes = 0;
    }
    let turned = passed != c.last_passed;
    c.last_passed = passed;
    let down = shm.is_down();
    let quiet = shm.admin() == ADMIN_MAINT;
    let change = if !down && c.failures >= c.check.fall {
        Some(true)
    } else if down && c.successes >= c.check.rise {
        Some(false)
    } else {
        None
    };
    let be = &cx.config.backends[c.backend];
    let who = Who {
        backend: &be.name,
        server: &c.name,
        backup: c.backup,
    };
    match change {
        Some(to_down) => {
            shm.set_down(to_down, unix_now());
            if quiet {
                return;
            }
            let counts = counts(cx.shared.servers[c.backend].as_slice(), c);
            let line = check_log::transition(&who, to_down, &outcome, duration_ms, &counts);
            if to_down {
                cx.logger.warning(&line);
                if counts.active == 0 && counts.backup == 0 {
                    cx.logger.alert(&check_log::no_server(&be.name));
                }
            } else {
                cx.logger.notice(&line);
            }
        }
        None if turned && !quiet => {
            let progress = if down {
                (c.successes, c.check.rise)
            } else {
                (c.check.fall - c.failures.min(c.check.fall), c.check.fall)
            };
            let line = check_log::health_check(&who, &outcome, duration_ms, progress, down);
            cx.logger.notice(&line);
        }
        None => {}
    }
}

/// Writes the check's figures to the shared state.
fn record(shm: &ServerShm, outcome: &Outcome, duration_ms: u64) {
    shm.set(Srv::CheckStatus, check_log::status_code(outcome));
    shm.set(
        Srv::CheckCode,
        check_log::http_code(outcome).map_or(0, u64::from),
    );
    shm.set(Srv::CheckDuration, duration_ms);
    if !outcome.passed() && !shm.is_down() {
        shm.add(Srv::ChkFail, 1);
    }
}

/// The backend's usable servers after the change, and the server's
/// current sessions.
fn counts(shms: &[ServerShm], c: &Checked) -> Counts {
    let usable = |backup: bool| {
        shms.iter()
            .filter(|shm| shm.usable() && shm.identity().is_some_and(|id| id.backup == backup))
            .count()
    };
    Counts {
        active: usable(false),
        backup: usable(true),
        sessions: shms.get(c.server).map_or(0, ServerShm::cur),
    }
}
