//! SIGUSR2: reload in place. The same `-f` paths are read again; an invalid
//! configuration is logged and changes nothing. A valid one keeps the
//! listening socket of every address that is still configured (the same
//! open socket: not one connection is refused), binds the new addresses,
//! closes the removed ones, carries counters and server states over
//! (matched by name), forks workers and a control process on the new
//! configuration, and soft-stops the old ones: they finish what they hold
//! and leave, bounded by `hard_stop_after`.
//!
//! Shards (`shards = "by-worker"`) are matched by address and shard index:
//! the same number of workers keeps every socket; more workers bind the
//! missing shards (they join the address's `SO_REUSEPORT` group); fewer
//! drop the extra shards from the master, and each closes for good when
//! the old worker that owns it closes its copy (soft stop, after `grace`).
//! The shared socket serves as shard 0 and shard 0 as the shared socket,
//! so turning sharding on or off keeps the address listening throughout.

use crate::bind::{self, BoundListener};
use crate::master::{Master, Slot};
use crate::{privileges, rlimit};
use nix::sys::signal::{kill, Signal};
use weir_core::config::model::Config;
use weir_core::shm::SharedState;

/// The sockets a new configuration gets: kept ones (index into the current
/// list) and newly bound ones.
enum Planned {
    Keep(usize),
    New(socket2::Socket),
}

impl Master {
    /// Reloads; on any error the running configuration stays as it is.
    pub fn reload(&mut self) {
        self.logger
            .notice("reload requested (SIGUSR2): reading the configuration again");
        let mut config = match weir_core::config::load(&self.config_paths) {
            Ok(c) => c,
            Err(diags) => {
                for d in diags {
                    self.logger.alert(&format!("reload: {d}"));
                }
                self.logger
                    .alert("reload aborted: invalid configuration, nothing changed");
                return;
            }
        };
        for w in &config.warnings {
            self.logger.warning(&format!("reload: {w}"));
        }
        rlimit::raise(&mut config, &self.logger);
        let privileges = match privileges::resolve(&config.global) {
            Ok(p) => p,
            Err(e) => return self.abort(&e),
        };
        let plan = match self.plan_listeners(&config) {
            Ok(p) => p,
            Err(e) => return self.abort(&e),
        };
        let shared = match SharedState::reload(&config, &self.shared, &self.config) {
            Ok(s) => s,
            Err(e) => return self.abort(&format!("cannot map the shared state: {e}")),
        };
        shared.inherit(&config, &self.shared, &self.config);
        // The same ticket keys in the new region (or the key file's, read
        // again), so sessions resume across the reload.
        let carried = self.tickets.ring().cloned();
        let tickets = crate::tickets::Tickets::publish(&config, &shared, carried, &self.logger);

        // Commit: from here on nothing fails.
        let mut old = std::mem::take(&mut self.listeners);
        let mut kept: Vec<Option<BoundListener>> = old.drain(..).map(Some).collect();
        let mut listeners = Vec::new();
        for (w, planned) in bind::wanted(&config).into_iter().zip(plan) {
            let mut l = match planned {
                Planned::Keep(i) => match kept[i].take() {
                    Some(l) => l,
                    None => continue,
                },
                Planned::New(sock) => {
                    self.logger
                        .notice(&format!("reload: listening on {}", w.name()));
                    BoundListener {
                        frontend: w.frontend,
                        bind: w.bind_index,
                        name: String::new(),
                        sock,
                        backlog: 0,
                        addr: w.bind.addr.clone(),
                        shard: w.shard,
                    }
                }
            };
            l.frontend = w.frontend;
            l.bind = w.bind_index;
            l.name = w.name();
            l.backlog = w.backlog();
            l.shard = w.shard;
            listeners.push(l);
        }
        for gone in kept.into_iter().flatten() {
            self.logger
                .notice(&format!("reload: no longer listening on {}", gone.name));
        }
        self.listeners = listeners;
        self.privileges = privileges;
        self.shared = shared;
        self.tickets = tickets;
        let old_config = std::mem::replace(&mut self.config, config);
        drop(old_config);

        // Old workers and control process finish; new ones start.
        let slots = Slot::for_config(&self.config);
        let old_slots = std::mem::replace(&mut self.slots, slots);
        for s in old_slots {
            if let Some(pid) = s.pid {
                let _ = kill(pid, Signal::SIGUSR1);
                self.draining.push(s);
            }
        }
        self.spawn_all();
        self.generation += 1;
        self.logger.notice(&format!(
            "reload done (generation {}): {} new workers, {} old processes finishing",
            self.generation,
            self.config.global.nbproc,
            self.draining.len()
        ));
    }

    fn abort(&self, why: &str) {
        self.logger
            .alert(&format!("reload aborted: {why}; nothing changed"));
    }

    /// Which current socket each socket [`bind::wanted`] by `config` keeps
    /// (same address and shard, see [`bind::assign`]), binding the
    /// others now. Any failure drops what was bound and says why.
    fn plan_listeners(&self, config: &Config) -> Result<Vec<Planned>, String> {
        let mut plan = Vec::new();
        let have: Vec<_> = self.listeners.iter().map(|l| (&l.addr, l.shard)).collect();
        let wanted = bind::wanted(config);
        let want: Vec<_> = wanted.iter().map(|w| (&w.bind.addr, w.shard)).collect();
        let slots = bind::assign(&have, &want);
        for (w, slot) in wanted.iter().zip(slots) {
            if let Some(i) = slot {
                plan.push(Planned::Keep(i));
                continue;
            }
            let b = w.bind;
            match bind::bind_one(b, w.backlog(), bind::wildcard_v4_on_port(config, b)) {
                Ok(sock) => plan.push(Planned::New(sock)),
                Err(e) => return Err(format!("[{}] cannot bind {}: {e}", w.fe.name, w.name())),
            }
        }
        Ok(plan)
    }
}
