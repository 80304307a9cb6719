//! SIGUSR2: reload in place. The same `-f` paths are read again; an invalid
//! configuration is logged and changes nothing. A valid one keeps the
//! listening socket of every address that is still configured (the same
//! open socket: not one connection is refused), binds the new addresses,
//! closes the removed ones, carries counters and server states over
//! (matched by name), forks workers and a control process on the new
//! configuration, and soft-stops the old ones: they finish what they hold
//! and leave, bounded by `hard_stop_after`.

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
        rlimit::raise(&mut config, &self.logger);
        let privileges = match privileges::resolve(&config.global) {
            Ok(p) => p,
            Err(e) => return self.abort(&e),
        };
        let plan = match self.plan_listeners(&config) {
            Ok(p) => p,
            Err(e) => return self.abort(&e),
        };
        let shared = match SharedState::new(&config) {
            Ok(s) => s,
            Err(e) => return self.abort(&format!("cannot map the shared state: {e}")),
        };
        shared.inherit(&config, &self.shared, &self.config);

        // Commit: from here on nothing fails.
        let mut old = std::mem::take(&mut self.listeners);
        let mut kept: Vec<Option<BoundListener>> = old.drain(..).map(Some).collect();
        let mut listeners = Vec::new();
        let binds = config
            .frontends
            .iter()
            .enumerate()
            .flat_map(|(fi, fe)| fe.binds.iter().map(move |b| (fi, fe, b)));
        for ((fi, fe, b), planned) in binds.zip(plan) {
            let backlog = b.backlog.unwrap_or_else(|| fe.maxconn.min(65535) as i32);
            let mut l = match planned {
                Planned::Keep(i) => match kept[i].take() {
                    Some(l) => l,
                    None => continue,
                },
                Planned::New(sock) => {
                    self.logger
                        .notice(&format!("reload: listening on {}", bind::describe(&b.addr)));
                    BoundListener {
                        frontend: fi,
                        name: String::new(),
                        sock,
                        backlog,
                        addr: b.addr.clone(),
                    }
                }
            };
            l.frontend = fi;
            l.name = bind::describe(&b.addr);
            l.backlog = backlog;
            listeners.push(l);
        }
        for gone in kept.into_iter().flatten() {
            self.logger
                .notice(&format!("reload: no longer listening on {}", gone.name));
        }
        self.listeners = listeners;
        self.privileges = privileges;
        self.shared = shared;
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

    /// Which current socket each bind of `config` keeps, binding the new
    /// addresses now. Any failure drops what was bound and says why.
    fn plan_listeners(&self, config: &Config) -> Result<Vec<Planned>, String> {
        let mut plan = Vec::new();
        let mut used = vec![false; self.listeners.len()];
        for fe in &config.frontends {
            for b in &fe.binds {
                let same = self
                    .listeners
                    .iter()
                    .enumerate()
                    .position(|(i, l)| !used[i] && l.addr == b.addr);
                if let Some(i) = same {
                    used[i] = true;
                    plan.push(Planned::Keep(i));
                    continue;
                }
                let backlog = b.backlog.unwrap_or_else(|| fe.maxconn.min(65535) as i32);
                match bind::bind_one(b, backlog, bind::wildcard_v4_on_port(config, b)) {
                    Ok(sock) => plan.push(Planned::New(sock)),
                    Err(e) => {
                        return Err(format!(
                            "[{}] cannot bind {}: {e}",
                            fe.name,
                            bind::describe(&b.addr)
                        ))
                    }
                }
            }
        }
        Ok(plan)
    }
}
