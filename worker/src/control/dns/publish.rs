//! What an answer changes in the shared state, and the log line for each
//! change. Every write goes through the same calls as the runtime API's
//! `set server addr` ([`weir_core::shm::SharedState::set_server_addr`],
//! `set_server_identity`), which bump the backend's generation: each worker
//! sees the change at its next pick, with one relaxed load per turn when
//! nothing moved, and the health checks follow.
//!
//! Maintenance: DNS puts a server in maintenance only when its name is
//! gone (NXDOMAIN or no record past `hold.nx`), or a template's slot has no
//! record; it lifts only the maintenance it set (or the start-up one of
//! `init_addr = "none"` and of template slots), never an operator's.

use super::types::{Found, User};
use crate::control::ControlCtx;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;
use weir_core::shm::{unix_now, Identity, Srv, ADMIN_MAINT, ADMIN_READY};

/// What discovery remembers about the slots it manages: when each
/// template slot was last in an answer. Which slots DNS holds in
/// maintenance is in the shared state ([`Srv::DnsMaint`]), so it outlives
/// a respawned control process and a reload.
pub(crate) struct State {
    seen: HashMap<(usize, usize), Instant>,
}

/// Whether DNS holds slot `s` of backend `b` in maintenance.
fn held(cx: &ControlCtx, b: usize, s: usize) -> bool {
    ours(cx, b, s).is_some() && cx.shared.servers[b][s].get(Srv::DnsMaint) != 0
}

/// The identity of slot `s` of backend `b` while it still holds the
/// configured server DNS feeds: after `del server`, the slot may be free
/// or hold a server added at run time, which DNS leaves alone.
fn ours(cx: &ControlCtx, b: usize, s: usize) -> Option<Identity> {
    let id = cx.shared.servers.get(b)?.get(s)?.identity()?;
    let configured = cx.config.backends.get(b)?.servers.get(s)?;
    (!id.runtime && id.name == configured.name).then_some(id)
}

impl State {
    pub fn new() -> State {
        State {
            seen: HashMap::new(),
        }
    }

    /// A valid answer for `user`; `true` when it changed something.
    pub fn apply(&mut self, cx: &mut ControlCtx, user: User, found: &[Found], res: &str) -> bool {
        match user {
            User::Server { b, s, port } => self.server(cx, b, s, port, found, res),
            User::Template { b, t } => self.template(cx, b, t, found, res),
        }
    }

    /// The name of `user` is gone past `hold.nx`: its servers go to
    /// maintenance.
    pub fn gone(&mut self, cx: &mut ControlCtx, user: User, name: &str, res: &str) {
        let slots: Vec<(usize, usize)> = match user {
            User::Server { b, s, .. } => vec![(b, s)],
            User::Template { b, t } => {
                let t = &cx.config.backends[b].templates[t];
                (t.first..t.first + t.count).map(|s| (b, s)).collect()
            }
        };
        for (b, s) in slots {
            if ours(cx, b, s).is_some() && !held(cx, b, s) {
                self.enter_maint(
                    cx,
                    b,
                    s,
                    &format!("{name} is gone from resolvers {res}, NX"),
                );
            }
        }
    }

    fn server(
        &mut self,
        cx: &mut ControlCtx,
        b: usize,
        s: usize,
        port: u16,
        found: &[Found],
        res: &str,
    ) -> bool {
        let Some(id) = ours(cx, b, s) else {
            return false;
        };
        let mut changed = false;
        // The current address while the answer still holds it (no flapping
        // between the addresses of a name), else the answer's first.
        let keep =
            found.iter().any(|f| f.addr.ip() == id.addr.ip()) && !id.addr.ip().is_unspecified();
        if !keep {
            let Some(f) = found.first() else { return false };
            let new = SocketAddr::new(f.addr.ip(), port);
            cx.shared.set_server_addr(b, s, new);
            let (be, srv) = names(cx, b, &id.name);
            cx.logger.notice(&format!(
                "{be}/{srv} changed its IP from {} to {} by DNS answer from resolvers {res}.",
                shown(id.addr),
                new.ip()
            ));
            changed = true;
        }
        if held(cx, b, s) {
            let addr = cx.shared.servers[b][s]
                .identity()
                .map_or(id.addr, |i| i.addr);
            self.leave_maint(cx, b, s, addr);
            changed = true;
        }
        changed
    }

    fn template(
        &mut self,
        cx: &mut ControlCtx,
        b: usize,
        t: usize,
        found: &[Found],
        res: &str,
    ) -> bool {
        let tpl = cx.config.backends[b].templates[t].clone();
        let hold_nx = cx.config.resolvers[tpl.resolvers].hold_nx;
        let top = found.iter().map(|f| f.priority).min().unwrap_or(0);
        // SRV answers carry their port; address answers take the template's.
        let want: Vec<(SocketAddr, u32, bool)> = found
            .iter()
            .map(|f| {
                let port = match f.addr.port() {
                    0 => tpl.port.unwrap_or(0),
                    p => p,
                };
                let weight = match tpl.name.starts_with('_') {
                    true => u32::from(f.weight).clamp(1, 256),
                    false => cx.config.backends[b].servers[tpl.first].weight,
                };
                (SocketAddr::new(f.addr.ip(), port), weight, f.priority > top)
            })
            .collect();
        let slots = tpl.first..tpl.first + tpl.count;
        let mut placed = vec![false; want.len()];
        let mut changed = false;
        // Slots holding a target still in the answer keep it.
        for s in slots.clone() {
            if held(cx, b, s) {
                continue;
            }
            let Some(id) = ours(cx, b, s) else {
                continue;
            };
            match want.iter().position(|w| w.0 == id.addr) {
                Some(i) if !placed[i] => {
                    placed[i] = true;
                    self.seen.insert((b, s), cx.now);
                    changed |= self.set_role(cx, b, s, want[i].1, want[i].2);
                }
                _ => {
                    // Not seen yet by this control process (a reload carried
                    // it over, or it just respawned): from now.
                    let since = *self.seen.entry((b, s)).or_insert(cx.now);
                    if cx.now.saturating_duration_since(since) >= hold_nx {
                        let why =
                            format!("{} no longer lists {} (resolvers {res})", tpl.name, id.addr);
                        self.enter_maint(cx, b, s, &why);
                        changed = true;
                    }
                }
            }
        }
        // New targets take free slots, in the answer's order.
        let free: Vec<usize> = slots.filter(|&s| held(cx, b, s)).collect();
        let mut free = free.into_iter();
        let mut left = 0;
        for (i, w) in want.iter().enumerate() {
            if placed[i] {
                continue;
            }
            let Some(s) = free.next() else {
                left += 1;
                continue;
            };
            let Some(mut id) = ours(cx, b, s) else {
                continue;
            };
            id.addr = w.0;
            id.backup = w.2;
            id.init_weight = w.1;
            cx.shared.set_server_identity(b, s, &id);
            cx.shared.servers[b][s].set(Srv::Weight, u64::from(w.1));
            self.seen.insert((b, s), cx.now);
            self.leave_maint(cx, b, s, w.0);
            changed = true;
        }
        if left > 0 {
            let be = &cx.config.backends[b].name;
            cx.logger.warning(&format!(
                "backend {be}: {} gives {} targets for the {} slots of template {}: {left} left out",
                tpl.name,
                want.len(),
                tpl.count,
                tpl.prefix
            ));
        }
        changed
    }

    /// Updates a template slot's weight and backup flag.
    fn set_role(&self, cx: &mut ControlCtx, b: usize, s: usize, weight: u32, backup: bool) -> bool {
        let shm = cx.shared.servers[b][s];
        let Some(mut id) = shm.identity() else {
            return false;
        };
        if id.init_weight == weight && id.backup == backup {
            return false;
        }
        id.init_weight = weight;
        id.backup = backup;
        cx.shared.set_server_identity(b, s, &id);
        shm.set(Srv::Weight, u64::from(weight));
        let (be, srv) = names(cx, b, &id.name);
        cx.logger.notice(&format!(
            "{be}/{srv} now has weight {weight}{} from DNS.",
            if backup { " (backup)" } else { "" }
        ));
        true
    }

    fn enter_maint(&mut self, cx: &mut ControlCtx, b: usize, s: usize, why: &str) {
        let shm = cx.shared.servers[b][s];
        shm.set(Srv::DnsMaint, 1);
        self.seen.remove(&(b, s));
        if shm.admin() != ADMIN_MAINT {
            shm.set(Srv::Admin, ADMIN_MAINT);
            shm.set(Srv::LastChange, unix_now());
        }
        let name = shm.identity().map(|i| i.name).unwrap_or_default();
        let (be, srv) = names(cx, b, &name);
        cx.logger.warning(&format!(
            "Server {be}/{srv} is going DOWN for maintenance (DNS NX status): {why}."
        ));
    }

    fn leave_maint(&self, cx: &mut ControlCtx, b: usize, s: usize, addr: SocketAddr) {
        let shm = cx.shared.servers[b][s];
        shm.set(Srv::DnsMaint, 0);
        if shm.admin() == ADMIN_MAINT {
            shm.set(Srv::Admin, ADMIN_READY);
            shm.set(Srv::LastChange, unix_now());
        }
        let name = shm.identity().map(|i| i.name).unwrap_or_default();
        let (be, srv) = names(cx, b, &name);
        cx.logger.notice(&format!(
            "Server {be}/{srv} is UP (leaving DNS maintenance): now at {addr}."
        ));
    }
}

fn names(cx: &ControlCtx, b: usize, srv: &str) -> (String, String) {
    (cx.config.backends[b].name.clone(), srv.to_string())
}

/// An address for a log line: `none` before the first answer.
fn shown(a: SocketAddr) -> String {
    match a.ip().is_unspecified() {
        true => "none".into(),
        false => a.ip().to_string(),
    }
}
