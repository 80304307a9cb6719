//! Background clients for tests that change weir under traffic (reloads,
//! takeovers, shards): each client runs its own loop until told to stop,
//! counting successes and recording every failure, and the test ends by
//! asserting there was none.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use super::{wait_until, DEADLINE};

/// What a client loop reports to.
#[derive(Clone, Default)]
pub struct Tally {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Tally {
    /// Whether the client should go on.
    pub fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    /// One request succeeded: the whole exchange, checked by the client
    /// (for HTTP, the head and the whole body by its Content-Length or
    /// chunks; a response cut short, even right after its status line, is
    /// a failure).
    pub fn ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
    }

    /// One request failed (connect error, reset, early close, bad answer).
    pub fn fail(&self, what: String) {
        self.errors.lock().unwrap().push(what);
    }
}

/// Clients running in the background.
pub struct Load {
    tally: Tally,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `clients` threads, each running `client(i, tally)` until the
    /// tally says stop, and returns once 50 requests succeeded.
    pub fn start<F>(clients: usize, client: F) -> Load
    where
        F: Fn(usize, &Tally) + Send + Sync + 'static,
    {
        let tally = Tally::default();
        let client = Arc::new(client);
        let threads = (0..clients)
            .map(|i| {
                let (tally, client) = (tally.clone(), client.clone());
                thread::spawn(move || client(i, &tally))
            })
            .collect();
        let load = Load { tally, threads };
        load.wait_more(50, "traffic flowing");
        load
    }

    /// Waits until `n` more requests succeeded.
    pub fn wait_more(&self, n: usize, what: &str) {
        let before = self.tally.ok.load(Ordering::Relaxed);
        wait_until(DEADLINE, what, || {
            self.tally.ok.load(Ordering::Relaxed) > before + n
        });
    }

    /// Stops the clients; panics with the failures, if any.
    pub fn finish(self) {
        self.tally.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let errors = self.tally.errors.lock().unwrap();
        assert!(
            errors.is_empty(),
            "{} failures out of {}: {:?}",
            errors.len(),
            self.tally.ok.load(Ordering::Relaxed),
            &errors[..errors.len().min(10)]
        );
    }
}
