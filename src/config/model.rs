//! The typed configuration model: what the rest of weir uses.
//!
//! Built by [`super::validate`] from the file model. Every default is applied,
//! every name resolved to an index, every duration and size parsed. Nothing in
//! here refers back to TOML; nothing outside `config` sees the file model.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A whole, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub global: Global,
    /// Frontends in declaration order (a `listen` section contributes one).
    pub frontends: Vec<Frontend>,
    /// Backends in declaration order (a `listen` section contributes one).
    pub backends: Vec<Backend>,
}

/// `[global]`: process-wide settings.
#[derive(Debug, Clone)]
pub struct Global {
    /// Number of worker processes ("auto" resolved to the CPU count).
    pub nbproc: usize,
    pub cpu_map: CpuMap,
    /// Maximum concurrent client connections per worker.
    pub maxconn: usize,
    pub daemon: bool,
    pub pidfile: Option<PathBuf>,
    pub chroot: Option<PathBuf>,
    pub user: Option<String>,
    pub group: Option<String>,
    /// Explicit RLIMIT_NOFILE; computed from maxconn when `None`.
    pub ulimit_n: Option<u64>,
    /// How long listeners stay open after a soft stop starts.
    pub grace: Duration,
    /// The longest a stopping worker may live.
    pub hard_stop_after: Option<Duration>,
    pub log: Vec<LogTarget>,
    pub log_facility: u8,
    pub log_level: LogLevel,
    /// Size of one channel buffer in bytes.
    pub bufsize: usize,
    /// Connections accepted per listener per loop turn.
    pub maxaccept: usize,
    /// Events taken from the poller per loop turn.
    pub maxpollevents: usize,
}

/// Which CPU each worker is pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuMap {
    /// Worker i on online CPU (i mod ncpu).
    Auto,
    /// No pinning.
    None,
    /// Worker i on CPU list[i]; `len() >= nbproc` is checked at validation.
    List(Vec<usize>),
}

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Stderr,
    Stdout,
    /// RFC 3164 syslog datagrams.
    Udp(SocketAddr),
    /// RFC 3164 syslog datagrams to a unix datagram socket (e.g. /dev/log).
    Unix(PathBuf),
}

/// Syslog severities, most severe first (the numeric value is the severity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// A proxy's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tcp,
    Http,
}

/// Timeouts; `None` means "not set" (each user documents its fallback).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Option<Duration>,
    pub client: Option<Duration>,
    pub server: Option<Duration>,
    pub client_fin: Option<Duration>,
    pub server_fin: Option<Duration>,
    pub tunnel: Option<Duration>,
    pub http_request: Option<Duration>,
    pub http_keep_alive: Option<Duration>,
    pub queue: Option<Duration>,
    pub check: Option<Duration>,
}

/// The per-session log line layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    TcpLog,
}

/// `[frontend.NAME]` (or the front half of `[listen.NAME]`).
#[derive(Debug, Clone)]
pub struct Frontend {
    pub name: String,
    pub mode: Mode,
    pub binds: Vec<Bind>,
    /// Concurrent connections on this frontend, per worker.
    pub maxconn: usize,
    /// Index into `Config::backends`.
    pub default_backend: Option<usize>,
    pub timeouts: Timeouts,
    pub log_format: LogFormat,
}

/// One `bind` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub addr: BindAddr,
    pub backlog: Option<i32>,
    pub transparent: bool,
    pub freebind: bool,
    pub v6only: Option<bool>,
}

/// What a bind line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddr {
    Inet(SocketAddr),
    /// `fd@N`: an already-listening socket inherited as descriptor N.
    Fd(i32),
}

/// How a backend picks a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
}

/// `[backend.NAME]` (or the back half of `[listen.NAME]`).
#[derive(Debug, Clone)]
pub struct Backend {
    pub name: String,
    pub mode: Mode,
    pub balance: Balance,
    pub servers: Vec<Server>,
    /// Connect attempts after the first one fails.
    pub retries: u32,
    pub redispatch: bool,
    pub timeouts: Timeouts,
}

/// One `server` entry.
#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    /// 1..=256.
    pub weight: u32,
    pub backup: bool,
    pub disabled: bool,
}

/// Defaults the product applies when a key is absent (documented in
/// docs/configuration.md).
pub mod defaults {
    use std::time::Duration;
    pub const MAXCONN: usize = 4096;
    pub const BUFSIZE: usize = 16 * 1024;
    pub const MAXACCEPT: usize = 64;
    pub const MAXPOLLEVENTS: usize = 200;
    pub const RETRIES: u32 = 3;
    pub const TIMEOUT_CONNECT: Duration = Duration::from_secs(5);
    pub const TIMEOUT_CLIENT: Duration = Duration::from_secs(30);
    pub const TIMEOUT_SERVER: Duration = Duration::from_secs(30);
}
