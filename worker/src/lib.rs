//! weir-worker: one worker process — a single-threaded event loop over the
//! listening sockets inherited from the master.
//!
//! - [`event_loop`]: the loop itself, in HAProxy's order;
//! - [`worker`], [`dispatch`]: the state a worker owns and the operations
//!   on it (accept, run a task, close a session);
//! - [`scheduler`]: timers (wait queue) and runnable tasks (run queue);
//! - the connection layers, top down (docs/architecture.md): [`listener`];
//!   [`session`] (the contract; TCP sessions) and [`any_session`];
//!   [`mux`] (HTTP/1: the client side of HTTP sessions); [`stream`] (one
//!   request/response exchange and its analysers); [`server_side`] (pick,
//!   queue, connect, retry); [`conn`] (a connection over its transport);
//! - [`channel`], [`pump`], [`pipes`]: the bytes between connections;
//!   [`idle`]: server connections kept for reuse;
//! - [`backend`], [`balance`], [`queue`]: servers, how one is picked, and
//!   the wait for a free one (`maxconn`);
//! - [`http`], [`rules`]: the HTTP/1 codec and the rule engine;
//! - [`context`], [`term`], [`signals`], [`tokens`]: what a task borrows,
//!   why things end, how signals and poller events reach owners;
//! - [`control`], [`stats`]: the control process and the statistics.
#![forbid(unsafe_code)]

pub mod accept;
pub mod any_session;
pub mod backend;
pub mod balance;
pub mod channel;
pub mod conn;
pub mod context;
pub mod control;
pub mod dispatch;
pub mod event_loop;
pub mod h2;
pub mod http;
pub mod idle;
pub mod listener;
pub mod mux;
pub mod pipes;
pub mod pump;
pub mod queue;
pub mod rules;
pub mod scheduler;
pub mod server_side;
pub mod session;
pub mod shutdown;
pub mod signals;
pub mod stats;
pub mod stream;
pub mod term;
pub mod tls;
pub mod tokens;
pub mod track;
pub mod worker;

pub use worker::InheritedListener;

use weir_core::config::Config;
use weir_core::log::Logger;
use weir_core::shm::SharedState;

/// Runs a worker until it stops; returns its exit status. Called in the
/// child right after fork (and after the privileges were dropped).
pub fn run(
    id: usize,
    config: Config,
    logger: Logger,
    listeners: Vec<InheritedListener>,
    shared: SharedState,
) -> i32 {
    let mut w = match worker::Worker::new(id, config, logger, listeners, shared) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("weir: worker {id} cannot start: {e}");
            return 1;
        }
    };
    event_loop::run_poll_loop(&mut w);
    0
}
