//! What a session's or a stream's task borrows of its worker for one run:
//! the pools, the backends, the poller's registry, the configuration and
//! the shared state. One struct for every kind of task, so a session of
//! either mode and a stream see the worker the same way; built once per
//! run by the worker ([`crate::dispatch`]).

use crate::backend::BackendState;
use crate::http::Scratch;
use crate::idle::IdlePool;
use crate::mux::h2_server::table::ServerMuxes;
use crate::pipes::PipePool;
use mio::Registry;
use std::time::Instant;
use weir_core::config::model::Config;
use weir_core::log::date::WallTime;
use weir_core::log::Logger;
use weir_core::pool::BufferPool;
use weir_core::shm::SharedState;

pub struct Cx<'a> {
    pub pool: &'a mut BufferPool,
    /// Pipes for the directions that stream (splice).
    pub pipes: &'a mut PipePool,
    pub backends: &'a mut [BackendState],
    /// Parked server connections (HTTP reuse).
    pub idle: &'a mut IdlePool,
    /// HTTP/2 connections to servers, shared by streams.
    pub muxes: &'a mut ServerMuxes,
    /// The field and edit lists heads and rules reuse (HTTP).
    pub scratch: &'a mut Scratch,
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub logger: &'a Logger,
    /// The state every worker shares (counters, server states).
    pub shared: &'a SharedState,
    pub now: Instant,
    pub date: WallTime,
    /// This worker's index (0-based), for the shared gauges.
    pub worker: usize,
    /// Client connections open in the worker now (logs; the pipe pool's
    /// descriptor room).
    pub actconn: usize,
    /// Client connections open on each frontend now (logs).
    pub feconn: &'a [usize],
    /// Tasks to wake after this run (a multiplexing mux waking the
    /// streams its frames concern).
    pub woken: &'a mut Vec<usize>,
    /// The rate-limit entries each session tracks (by session key).
    pub tracks: &'a std::collections::HashMap<usize, crate::track::Slots>,
}

impl Cx<'_> {
    /// Wakes `task` once this run is over.
    pub fn wake(&mut self, task: usize) {
        self.woken.push(task);
    }

    /// The entries session `key` tracks.
    pub fn conn_slots(&self, key: usize) -> crate::track::Slots {
        if self.tracks.is_empty() {
            return crate::track::NO_SLOTS;
        }
        self.tracks
            .get(&key)
            .copied()
            .unwrap_or(crate::track::NO_SLOTS)
    }

    /// The buffer size (`bufsize`).
    pub fn bufsize(&self) -> usize {
        self.pool.stats().bufsize
    }
}
