//! Forking one worker, and what the child does before it runs the loop:
//! die with the master (PDEATHSIG), pin to its CPU, keep only the listening
//! sockets it accepts on (shared ones and its own shards), drop privileges
//! (chroot, group, user), then run.

use crate::master::Master;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid, Pid};
use weir_core::config::model::CpuMap;
use weir_core::log::Logger;
use weir_core::sys::{self, Fork};
use weir_worker::InheritedListener;

/// The CPU worker `index` (0-based) is pinned to, if any.
pub fn cpu_for(map: &CpuMap, index: usize) -> Option<usize> {
    match map {
        CpuMap::None => None,
        CpuMap::List(v) => v.get(index).copied(),
        CpuMap::Auto => {
            let set = sched_getaffinity(Pid::from_raw(0)).ok()?;
            let cpus: Vec<usize> = (0..CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .collect();
            if cpus.is_empty() {
                None
            } else {
                Some(cpus[index % cpus.len()])
            }
        }
    }
}

/// How a slot is named in logs: `worker N`, or `control process`.
pub fn describe(id: usize) -> String {
    if id == 0 {
        "control process".to_string()
    } else {
        format!("worker {id}")
    }
}

impl Master {
    /// Forks the worker of slot `i`. Returns in the master only.
    pub fn spawn(&mut self, i: usize) {
        let id = self.slots[i].id;
        let cpu = self.slots[i].cpu;
        if id == 0 {
            self.sync_stats_socket();
        }
        match sys::fork() {
            Ok(Fork::Parent(pid)) => {
                // Pinned from the parent too, so the worker is on its CPU from
                // its first instant (the child also pins itself).
                if let Some(c) = cpu {
                    let mut set = CpuSet::new();
                    if set.set(c).is_ok() {
                        let _ = sched_setaffinity(pid, &set);
                    }
                }
                self.slots[i].started(pid);
                let c = cpu.map_or("-".to_string(), |c| c.to_string());
                if id == 0 {
                    self.logger
                        .notice(&format!("control process started (pid {pid})"));
                } else {
                    self.logger
                        .notice(&format!("worker {id} started (pid {pid}, cpu {c})"));
                }
            }
            Ok(Fork::Child) => {
                let code = self.become_worker(id, cpu);
                std::process::exit(code);
            }
            Err(e) => {
                self.logger
                    .alert(&format!("cannot fork worker {id}: {e}; retrying in 1s"));
                self.slots[i].respawn_in(std::time::Duration::from_secs(1));
            }
        }
    }

    /// The child's side of the fork. Never returns to the master's code.
    fn become_worker(&mut self, id: usize, cpu: Option<usize>) -> i32 {
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
        if getppid() != self.pid {
            return 1; // the master died between fork and prctl
        }
        crate::title::child(id, cpu);
        let mut logger = std::mem::replace(&mut self.logger, Logger::null());
        logger.set_pid(getpid().as_raw() as u32);
        logger.set_quiet_console(false);
        if let Some(c) = cpu {
            let mut set = CpuSet::new();
            if set.set(c).is_err() || sched_setaffinity(Pid::from_raw(0), &set).is_err() {
                logger.warning(&format!("worker {id}: cannot pin to cpu {c}"));
            }
        }
        // Close the master's signal queue; keep only the listening sockets.
        self.signals = None;
        self.takeover = None;
        // Only the control process keeps the runtime API's socket.
        let stats_socket = self.stats_socket.take().map(|s| s.listener);
        // A worker keeps the sockets every worker shares and its own shards;
        // the others close in this process (the master keeps them).
        let listeners: Vec<InheritedListener> = std::mem::take(&mut self.listeners)
            .into_iter()
            .filter(|l| l.for_worker(id))
            .map(|l| InheritedListener {
                frontend: l.frontend,
                bind: l.bind,
                shard: l.shard.is_some(),
                name: l.name,
                sock: l.sock.into(),
            })
            .collect();
        if let Err(e) = crate::privileges::apply(&self.privileges) {
            logger.alert(&format!("{}: {e}", describe(id)));
            return 1;
        }
        if id == 0 {
            drop(listeners);
            return weir_worker::control::run(
                self.config.clone(),
                logger,
                self.shared.clone(),
                stats_socket,
            );
        }
        drop(stats_socket);
        weir_worker::run(
            id,
            self.config.clone(),
            logger,
            listeners,
            self.shared.clone(),
        )
    }
}
