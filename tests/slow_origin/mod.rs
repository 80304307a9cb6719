//! An HTTP origin for the balancing tests: it answers every request after a
//! delay (`?ms=N` in the target, else its own default), names itself in
//! `X-Origin` and in the body, and counts the requests it holds at once
//! (the most it ever held: [`SlowOrigin::max_inflight`]). [`SlowOrigin::hold`]
//! keeps every answer back until [`SlowOrigin::release`].
//!
//! Included by several test files, not all of which use every method.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::http_wire::{parse_head, BufConn, MAX_HEAD};
use crate::common::origin::Origin;

#[derive(Default)]
struct Counts {
    inflight: AtomicUsize,
    max: AtomicUsize,
    total: AtomicUsize,
    held: AtomicBool,
}

/// The longest a held answer waits for [`SlowOrigin::release`].
const HOLD_LIMIT: Duration = Duration::from_secs(30);

pub struct SlowOrigin {
    pub addr: SocketAddr,
    counts: Arc<Counts>,
    _origin: Origin,
}

impl SlowOrigin {
    /// Answers after `delay_ms` unless the target says `?ms=N`.
    pub fn start(name: &str, delay_ms: u64) -> SlowOrigin {
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let name = name.to_string();
        let origin = Origin::spawn(move |stream| {
            let mut conn = BufConn::new(stream);
            while let Ok(Some(head)) = conn.read_head(MAX_HEAD) {
                let (line, _) = parse_head(&head);
                let ms = line
                    .split_once("ms=")
                    .and_then(|(_, r)| r.split(|ch: char| !ch.is_ascii_digit()).next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(delay_ms);
                let now = c.inflight.fetch_add(1, Ordering::SeqCst) + 1;
                c.max.fetch_max(now, Ordering::SeqCst);
                c.total.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(ms));
                let held = Instant::now();
                while c.held.load(Ordering::SeqCst) && held.elapsed() < HOLD_LIMIT {
                    thread::sleep(Duration::from_millis(2));
                }
                c.inflight.fetch_sub(1, Ordering::SeqCst);
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Origin: {name}\r\n\r\n{name}",
                    name.len()
                );
                if conn.write_all(resp.as_bytes()).is_err() {
                    return;
                }
            }
        });
        SlowOrigin {
            addr: origin.addr,
            counts,
            _origin: origin,
        }
    }

    /// Requests answered or being answered.
    pub fn total(&self) -> usize {
        self.counts.total.load(Ordering::SeqCst)
    }

    /// From now on, answers wait (after their delay) until [`Self::release`].
    pub fn hold(&self) {
        self.counts.held.store(true, Ordering::SeqCst);
    }

    /// Lets the held answers go, and the next ones.
    pub fn release(&self) {
        self.counts.held.store(false, Ordering::SeqCst);
    }

    /// The most requests it ever held at once.
    pub fn max_inflight(&self) -> usize {
        self.counts.max.load(Ordering::SeqCst)
    }
}
