//! weir-worker: one worker process — a single-threaded event loop over the
//! listening sockets inherited from the master.
//!
//! - [`event_loop`]: the loop itself, in HAProxy's order;
//! - [`worker`]: the state a worker owns and the operations on it;
//! - [`scheduler`]: timers (wait queue) and runnable tasks (run queue);
//! - [`listener`], [`session`], [`channel`], [`pipes`]: connections and
//!   the bytes between them;
//! - [`backend`], [`balance`], [`queue`]: servers, how one is picked, and
//!   the wait for a free one (`maxconn`);
//! - [`signals`], [`tokens`]: how signals and poller events reach owners;
//! - [`stats`]: the statistics (CSV, HTML, Prometheus) over the shared state.
#![forbid(unsafe_code)]

pub mod any_session;
pub mod backend;
pub mod balance;
pub mod channel;
pub mod conn;
pub mod context;
pub mod control;
pub mod dispatch;
pub mod event_loop;
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
pub mod tokens;
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
