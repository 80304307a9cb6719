//! Shared pieces of the end-to-end tests: a running `weir` ([`weir::Weir`]),
//! origins that live in the test process ([`origin`]), clients' helpers
//! ([`client`]), readers of `/proc` ([`procfs`]) and of log lines
//! ([`logline`]), an origin for health checks ([`check_origin`]), what a
//! test does when this machine lacks something it needs ([`ci`]), the
//! runtime API's counters ([`runtime`]), a syslog receiver keeping raw
//! datagrams ([`syslog`]); for TLS, certificates ([`tls_certs`]), clients
//! ([`tls_client`]) and an origin ([`tls_origin`]); for HTTP mode,
//! configs, clients and curl ([`http`]), an HTTP origin ([`http_origin`])
//! and the wire format both use ([`http_wire`]).
//!
//! Every test file includes this module with `mod common;`; not every file
//! uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod check_origin;
pub mod ci;
pub mod client;
pub mod h2;
pub mod http;
pub mod http_origin;
pub mod http_wire;
pub mod load;
pub mod logline;
pub mod origin;
pub mod pipes;
pub mod procfs;
pub mod runtime;
pub mod syslog;
pub mod tls_certs;
pub mod tls_client;
pub mod tls_origin;
pub mod weir;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use weir::Weir;

/// How often conditions are polled.
pub const POLL: Duration = Duration::from_millis(15);

/// The default deadline for a condition that should hold "soon".
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `cond` every [`POLL`] until it returns `Some`, or panics after
/// `timeout` with `what` in the message.
pub fn wait_for<T>(timeout: Duration, what: &str, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `cond` every [`POLL`] until it is true, or panics after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || cond().then_some(()))
}

/// Asserts that `elapsed` lies within `[lo, hi]`.
pub fn assert_between(what: &str, elapsed: Duration, lo: Duration, hi: Duration) {
    assert!(
        elapsed >= lo && elapsed <= hi,
        "{what}: took {elapsed:?}, expected between {lo:?} and {hi:?}"
    );
}

/// A cheap source of seeds: time, pid and a counter, so that parallel tests
/// in one process and in several processes pick different values.
pub fn seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A TCP port on 127.0.0.1 that nothing listens on right now, for weir's
/// frontends.
///
/// Chosen below the kernel's ephemeral range (`ip_local_port_range`), so that
/// the many `bind(0)`s and outgoing connections of the tests running in
/// parallel cannot take it between this call and weir's `bind`.
pub fn free_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    let (base, span) = if low > 12000 {
        (10000u64, u64::from(low) - 10000)
    } else {
        (u64::from(low), 1000)
    };
    // Never hand out the same port twice in one test process.
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..1000 {
        let port = (base + seed() % span) as u16;
        if GIVEN.lock().unwrap().contains(&port) {
            continue;
        }
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            drop(l);
            GIVEN.lock().unwrap().insert(port);
            return port;
        }
    }
    // Fall back to whatever the kernel hands out.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// A TCP-mode config with one frontend `fe` on 127.0.0.1:`port` and one
/// backend `be`.
///
/// `global` and `defaults` are extra lines for those sections (`defaults`
/// gets `timeout = { connect = "1s", client = "5s", server = "5s" }` unless it
/// sets `timeout` itself); `backend` holds the backend's lines, at least its
/// `server = [...]`.
pub fn tcp_config(port: u16, global: &str, defaults: &str, backend: &str) -> String {
    let timeout = if defaults.contains("timeout") {
        ""
    } else {
        "timeout = { connect = \"1s\", client = \"5s\", server = \"5s\" }"
    };
    format!(
        "[global]\n\
         log = \"stderr\"\n\
         {global}\n\
         \n\
         [defaults]\n\
         mode = \"tcp\"\n\
         {timeout}\n\
         {defaults}\n\
         \n\
         [frontend.fe]\n\
         bind = [\"127.0.0.1:{port}\"]\n\
         default_backend = \"be\"\n\
         \n\
         [backend.be]\n\
         {backend}\n"
    )
}

/// `server = [ { name = "s1", address = "ADDR" } ]`: one plain server.
pub fn one_server(addr: std::net::SocketAddr) -> String {
    format!("server = [ {{ name = \"s1\", address = \"{addr}\" }} ]")
}
