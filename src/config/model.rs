//! The typed configuration model: what the rest of weir uses.
//!
//! Built by [`super::validate`] from the file model. Every default is applied,
//! every name resolved to an index, every duration and size parsed. Nothing in
//! here refers back to TOML; nothing outside `config` sees the file model.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod dns;
mod log;
mod table;
mod tls;

pub use super::h2::H2;

pub use dns::{Resolvers, ServerDns, ServerTemplate};
pub use log::{ErrorFile, ErrorFiles, HeaderCapture, LogFormat, LogLevel, LogTarget, ProxyLog};
pub use table::{
    Counter, StickTable, Store, TableKey, TcpAction, TcpRule, Track, STRING_KEY_LEN, TRACK_SLOTS,
};
pub use tls::{
    BindTls, ClientVerify, ServerSni, ServerTls, ServerVerify, TicketKeyFile, TlsVersion,
};

/// A whole, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub global: Global,
    /// Frontends in declaration order (a `listen` section contributes one).
    pub frontends: Vec<Frontend>,
    /// Backends in declaration order (a `listen` section contributes one).
    pub backends: Vec<Backend>,
    /// Rate-limit tables (SPEC §11), in declaration order; each is named
    /// after the section that declares it.
    pub tables: Vec<StickTable>,
    /// `[resolvers.NAME]` in declaration order: the nameservers the control
    /// process asks for servers discovered through DNS.
    pub resolvers: Vec<Resolvers>,
    /// What `weir -c` and start-up print as warnings (an expired
    /// certificate…); they do not make the configuration invalid.
    pub warnings: Vec<super::Diagnostic>,
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
    /// The runtime API's unix socket.
    pub stats_socket: Option<PathBuf>,
    /// Session ticket keys from a file (HAProxy's `tls-ticket-keys`);
    /// `None`: the master generates them.
    pub tls_ticket_keys: Option<TicketKeyFile>,
    /// How often generated ticket keys rotate; the ticket lifetime
    /// announced to clients.
    pub tls_ticket_lifetime: Duration,
    /// `h2`: HTTP/2 settings and attack limits (SPEC §9).
    pub h2: H2,
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

/// A proxy's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tcp,
    Http,
}

impl Mode {
    /// Every mode this build runs (`weir -vv` lists them).
    pub const ALL: [Mode; 2] = [Mode::Tcp, Mode::Http];

    /// Its name in a configuration (`mode = "…"`) and in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
        }
    }
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
    /// Its own log targets (`None`: the global ones).
    pub log: Option<ProxyLog>,
    /// Headers captured for the log (`%hr`, `%hs`, JSON).
    pub capture_request: Vec<HeaderCapture>,
    pub capture_response: Vec<HeaderCapture>,
    /// Responses for the errors weir answers itself (with `[defaults]`').
    pub errorfiles: ErrorFiles,
    /// The statistics page served on this listener (`[listen.NAME]` only).
    pub stats: Option<StatsPage>,
    /// Named ACLs, referred to by index from conditions.
    pub acls: Vec<Acl>,
    /// `use_backend`, in order; the first whose condition holds wins.
    pub use_backend: Vec<SwitchRule>,
    /// `http_request` rules, in order (HTTP mode).
    pub http_request: Vec<HttpRule>,
    /// `http_response` rules, in order (header rules only; HTTP mode).
    pub http_response: Vec<HttpRule>,
    /// Append `X-Forwarded-For` to requests (HTTP mode).
    pub forwardfor: bool,
    /// One listening socket per address, or one per worker.
    pub shards: Shards,
    /// Its own rate-limit table (index into `Config::tables`).
    pub table: Option<usize>,
    /// `tcp_request` rules, run at accept before any byte is read (TCP and
    /// HTTP mode).
    pub tcp_request: Vec<TcpRule>,
}

/// How many listening sockets a frontend's address gets (HAProxy's
/// `shards` on a bind line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shards {
    /// One socket, shared by every worker: the kernel wakes the waiting
    /// workers and the first to accept wins.
    #[default]
    One,
    /// One socket per worker slot, all in one `SO_REUSEPORT` group: the
    /// kernel spreads connections by a hash of their addresses, and each
    /// worker accepts on its own socket only.
    ByWorker,
}

/// One `bind` entry.
#[derive(Debug, Clone)]
pub struct Bind {
    pub addr: BindAddr,
    pub backlog: Option<i32>,
    pub transparent: bool,
    pub freebind: bool,
    pub v6only: Option<bool>,
    /// TLS termination on this listener.
    pub tls: Option<BindTls>,
    /// Every connection opens with a PROXY protocol header (v1 or v2),
    /// whose addresses are the client's.
    pub accept_proxy: bool,
    /// `proto = "h2"`: every connection speaks HTTP/2 from its first byte
    /// (clear text, no preface sniffing, no HTTP/1.1).
    pub proto_h2: bool,
}

/// What a bind line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddr {
    Inet(SocketAddr),
    /// `fd@N`: an already-listening socket inherited as descriptor N.
    Fd(i32),
}

/// How a backend picks a server (HAProxy's `balance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balance {
    /// Smooth weighted round-robin; weight changes apply at once.
    RoundRobin,
    /// Weighted round-robin on the weights as configured.
    StaticRr,
    /// The server with the fewest current sessions (weighted).
    LeastConn,
    /// The first server (in declaration order) below its maxconn.
    First,
    /// A hash of the client's address.
    Source,
    /// A hash of the request's path and query (HTTP; round-robin in TCP).
    Uri,
    /// A hash of this header's value, name in lower case (HTTP; round-robin
    /// when absent or in TCP mode).
    Hdr(String),
    /// A random server, weighted.
    Random,
}

/// How the hashing algorithms (`source`, `uri`, `hdr(NAME)`) place keys on
/// servers (HAProxy's `hash-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashType {
    /// A map of the servers' weights, `key % total weight` (HAProxy's
    /// default): even, but a change in the servers moves most keys.
    #[default]
    MapBased,
    /// A ring of points per server: a server that leaves or comes back
    /// moves only its own share of keys.
    Consistent,
}

impl Balance {
    /// As written in `balance = "…"`.
    pub fn name(&self) -> String {
        match self {
            Balance::RoundRobin => "roundrobin".into(),
            Balance::StaticRr => "static-rr".into(),
            Balance::LeastConn => "leastconn".into(),
            Balance::First => "first".into(),
            Balance::Source => "source".into(),
            Balance::Uri => "uri".into(),
            Balance::Hdr(h) => format!("hdr({h})"),
            Balance::Random => "random".into(),
        }
    }

    /// Whether it places keys by hashing (where `hash_type` applies).
    pub fn is_hashing(&self) -> bool {
        matches!(self, Balance::Source | Balance::Uri | Balance::Hdr(_))
    }
}

/// `[backend.NAME]` (or the back half of `[listen.NAME]`).
#[derive(Debug, Clone)]
pub struct Backend {
    pub name: String,
    pub mode: Mode,
    pub balance: Balance,
    /// For `source`, `uri` and `hdr(NAME)`.
    pub hash_type: HashType,
    pub servers: Vec<Server>,
    /// Places for servers in the shared state: the configured ones first,
    /// then room for servers added through the runtime API (at least
    /// `servers.len()`; [`defaults::server_slots`] without the key).
    pub server_slots: usize,
    /// `server_template`: servers discovered through DNS, which own a run
    /// of `servers` (configured in maintenance until an answer fills them).
    pub templates: Vec<ServerTemplate>,
    /// Connect attempts after the first one fails.
    pub retries: u32,
    pub redispatch: bool,
    pub timeouts: Timeouts,
    /// Append `X-Forwarded-For` to requests sent to this backend.
    pub forwardfor: bool,
    pub http_reuse: HttpReuse,
    /// Health checks for the servers with `check = true`.
    pub check: Option<HealthCheck>,
    /// Its own log targets for the traffic it serves (`None`: none).
    pub log: Option<ProxyLog>,
    /// Responses for the errors weir answers once this backend was chosen
    /// (with `[defaults]`'; the frontend's apply when none is given here).
    pub errorfiles: ErrorFiles,
    /// Its rate-limit table (index into `Config::tables`), for frontends
    /// that track into it.
    pub table: Option<usize>,
}

/// `stats = { uri, refresh, prometheus }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsPage {
    /// HTML at `uri`, CSV at `uri;csv`.
    pub uri: String,
    /// The HTML page's refresh interval.
    pub refresh: Option<Duration>,
    /// Prometheus text format at this path.
    pub prometheus: Option<String>,
}

/// A backend's `check` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub kind: CheckKind,
    /// Time between two checks of a server.
    pub interval: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// Consecutive successes that bring a DOWN server UP.
    pub rise: u32,
    /// Consecutive failures that take an UP server DOWN.
    pub fall: u32,
    /// Checks to a server with `tls` use TLS too (`check.tls = false`:
    /// they do not).
    pub tls: bool,
    /// The port checks connect to on each server's address (HAProxy's
    /// `port`); `None`: the server's own port.
    pub port: Option<u16>,
}

/// What a check does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// A TCP connect.
    Tcp,
    /// An HTTP request whose status must fall in `expect` (inclusive).
    Http {
        method: String,
        path: String,
        host: Option<String>,
        expect: (u16, u16),
    },
}

/// Server-side connection reuse (HTTP mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpReuse {
    /// An idle server connection may carry a request, except the first
    /// request of a client connection (HAProxy's "safe").
    Safe,
    /// Every request gets a new server connection.
    Never,
}

/// What an ACL criterion looks at (HAProxy's sample fetches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// The path, without the query string.
    Path,
    /// The request target as received.
    Url,
    Method,
    /// Every value of a header (comma-separated values split), name in
    /// lower case. In `http_response` rules it reads the response's headers.
    Hdr(String),
    /// The client's address.
    Src,
    /// The port the client connected to.
    DstPort,
    /// The response status (`http_response` conditions).
    Status,
    /// A counter of the entry tracked on slot N (sc0–sc2):
    /// `sc_http_req_rate(0)`, `sc0_conn_cur`.
    Sc {
        slot: usize,
        counter: Counter,
    },
    /// A counter of the client address's entry in a table:
    /// `src_http_req_rate(TABLE)`.
    SrcTable {
        table: usize,
        counter: Counter,
    },
}

impl Fetch {
    /// Whether it reads the HTTP request or response (not available at
    /// accept, in `tcp_request` rules).
    pub fn needs_http(&self) -> bool {
        matches!(
            self,
            Fetch::Path | Fetch::Url | Fetch::Method | Fetch::Hdr(_) | Fetch::Status
        )
    }
}

/// An integer comparison (`gt 10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl IntOp {
    pub fn holds(self, v: i64, p: i64) -> bool {
        match self {
            IntOp::Eq => v == p,
            IntOp::Gt => v > p,
            IntOp::Ge => v >= p,
            IntOp::Lt => v < p,
            IntOp::Le => v <= p,
        }
    }
}

/// How a sample is compared with the patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Exact,
    Beg,
    End,
    Sub,
    Reg,
}

/// The patterns of one criterion; which variant depends on the fetch.
#[derive(Debug, Clone)]
pub enum Patterns {
    /// Strings (path, url, method, hdr with exact/beg/end/sub). With
    /// `ignore_case` they are stored lower-cased.
    Str(Vec<String>),
    /// `_reg` criteria; compiled case-insensitively with `-i`.
    Regex(Vec<regex::Regex>),
    /// `src`: addresses and CIDR blocks (a bare address is a /32 or /128).
    Net(Vec<(std::net::IpAddr, u8)>),
    /// `dst_port`: ports and inclusive ranges (`8080`, `8000-8999`).
    Port(Vec<(u16, u16)>),
    /// Integers (`status`, the table counters): `gt 10`, `401`.
    Int(Vec<(IntOp, i64)>),
}

/// One criterion: `path_beg -i /static/ /img/`. It matches when any
/// pattern matches any sample value.
#[derive(Debug, Clone)]
pub struct Criterion {
    pub fetch: Fetch,
    pub op: MatchOp,
    pub ignore_case: bool,
    pub patterns: Patterns,
    /// As written, for logs and messages.
    pub text: String,
}

/// A named ACL.
#[derive(Debug, Clone)]
pub struct Acl {
    pub name: String,
    pub criterion: Criterion,
}

/// One term of a condition: a named ACL or an inline `{ criterion }`,
/// possibly negated with `!`.
#[derive(Debug, Clone)]
pub struct Term {
    pub negate: bool,
    pub what: TermRef,
}

#[derive(Debug, Clone)]
pub enum TermRef {
    /// Index into the proxy's `acls`.
    Acl(usize),
    Inline(Criterion),
}

/// `if`/`unless` conditions: terms side by side are ANDed, `||` separates
/// alternatives. `unless` negates the whole.
#[derive(Debug, Clone)]
pub struct Condition {
    pub unless: bool,
    /// OR of AND-groups; never empty.
    pub any_of: Vec<Vec<Term>>,
}

/// One `use_backend` entry.
#[derive(Debug, Clone)]
pub struct SwitchRule {
    /// Index into `Config::backends`.
    pub backend: usize,
    pub cond: Option<Condition>,
}

/// Where a redirect points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget {
    /// `Location:` is exactly this.
    Location(String),
    /// This prefix, followed by the original path and query.
    Prefix(String),
    /// `SCHEME://HOST` (from the Host header) followed by the original path
    /// and query.
    Scheme(String),
}

/// What an HTTP rule does. Deny, Return and Redirect are terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAction {
    Deny {
        status: u16,
    },
    Return {
        status: u16,
        content_type: Option<String>,
        body: String,
    },
    Redirect {
        target: RedirectTarget,
        code: u16,
    },
    /// Replaces every occurrence (deletes, then adds one).
    SetHeader {
        name: String,
        value: String,
    },
    AddHeader {
        name: String,
        value: String,
    },
    DelHeader {
        name: String,
    },
    SetPath {
        path: String,
    },
    /// Track a key in a table on a slot (`track`).
    Track(Track),
    /// Add one to the `gpc0` of the entry tracked on a slot (`inc_gpc0`).
    IncGpc0 {
        slot: usize,
    },
}

/// One `http_request` / `http_response` rule.
#[derive(Debug, Clone)]
pub struct HttpRule {
    pub action: HttpAction,
    pub cond: Option<Condition>,
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
    /// Health-checked (needs the backend's `check` table).
    pub check: bool,
    /// Concurrent sessions on this server, at most; more wait in a queue.
    pub maxconn: Option<usize>,
    /// Connections to this server are TLS.
    pub tls: Option<ServerTls>,
    /// Each connection to it opens with a PROXY protocol header.
    pub send_proxy: Option<ProxyVersion>,
    /// Spoken to in HTTP/2 (`proto = "h2"`, or TLS ALPN `["h2"]`):
    /// streams multiplexed over its connections.
    pub h2: bool,
    /// Its address is a host name re-resolved while weir runs
    /// (`resolvers = "NAME"`).
    pub dns: Option<ServerDns>,
}

/// The longest server name (bytes): names live in the shared state, where
/// servers added at run time find theirs.
pub const SERVER_NAME_MAX: usize = 127;

/// The PROXY protocol version sent to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyVersion {
    /// `send_proxy`: the text line.
    V1,
    /// `send_proxy_v2`: the binary header.
    V2,
}

/// Defaults the product applies when a key is absent (documented in
/// docs/configuration.md).
pub mod defaults {
    use std::time::Duration;

    /// A backend's `server_slots` when the file gives none: its configured
    /// servers, and as many again for servers added at run time, 16 at
    /// least.
    pub fn server_slots(configured: usize) -> usize {
        configured + configured.max(16)
    }

    /// The most `server_slots` a backend may ask for.
    pub const SERVER_SLOTS_MAX: usize = 65_536;
    pub const MAXCONN: usize = 4096;
    pub const BUFSIZE: usize = 16 * 1024;
    pub const MAXACCEPT: usize = 64;
    pub const MAXPOLLEVENTS: usize = 200;
    pub const RETRIES: u32 = 3;
    pub const TIMEOUT_CONNECT: Duration = Duration::from_secs(5);
    pub const TIMEOUT_CLIENT: Duration = Duration::from_secs(30);
    pub const TIMEOUT_SERVER: Duration = Duration::from_secs(30);
    /// How often generated TLS ticket keys rotate.
    pub const TLS_TICKET_LIFETIME: Duration = Duration::from_secs(12 * 3600);
}
