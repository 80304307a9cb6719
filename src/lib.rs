//! weir-core: what the master and the workers share.
//!
//! - [`config`]: the TOML file model, its validation into the typed model,
//!   and diagnostics with `FILE:LINE:COL`.
//! - [`log`]: log targets (stderr, stdout, syslog over UDP or a unix socket)
//!   and the HAProxy `tcplog` line.
//! - [`pool`]: the buffer pool that channels take their buffers from.
//! - [`tls`]: certificates, SNI selection, rustls configurations and
//!   session ticket keys (everything TLS needs but the I/O).
//! - [`sys`]: the one module where `unsafe` lives (fork, and the few raw
//!   syscalls nix does not wrap safely).
#![deny(unsafe_code)]

pub mod config;
pub mod log;
pub mod pool;
pub mod shm;
#[allow(unsafe_code)]
pub mod sys;
pub mod tls;

/// The version printed by `weir -v` and logged at start-up.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
