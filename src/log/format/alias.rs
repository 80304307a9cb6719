//! The `%` aliases a custom format may use: HAProxy's names, what each
//! shows, and whether it needs HTTP. Also the few `%[sample]` expressions
//! HAProxy's `httpslog` uses, so that its definition compiles as written.

/// One field a format can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alias {
    /// `%ci`, `%cp`: the client's address and port.
    ClientIp,
    ClientPort,
    /// `%t`: the accept date; `%tr`: the request's (the same in TCP mode).
    AcceptDate,
    RequestDate,
    /// `%f`: the frontend's name; `%ft` adds `~` on a TLS connection.
    Frontend,
    FrontendTransport,
    /// `%b`, `%s`: the backend and the server (`<NOSRV>`).
    Backend,
    Server,
    /// `%TR %Tw %Tc %Tr %Ta %Tt`.
    TRequest,
    TQueue,
    TConnect,
    TResponse,
    TActive,
    TTotal,
    /// `%ST`: the status sent to the client.
    Status,
    /// `%B`: bytes to the client; `%U`: bytes from it.
    BytesOut,
    BytesIn,
    /// `%ts`: the termination state; `%tsc` with the cookie letters.
    Termination,
    TerminationCookie,
    /// `%ac %fc %bc %sc %rc %sq %bq`.
    ActConn,
    FeConn,
    BeConn,
    SrvConn,
    Retries,
    SrvQueue,
    BackendQueue,
    /// `%hr`, `%hs`: captured headers, `{v1|v2}`.
    ReqHeaders,
    ResHeaders,
    /// `%r`: the request line; `%HM %HU %HV`: its method, target, version.
    Request,
    Method,
    Uri,
    Version,
    /// `%CC`, `%CS`: captured cookies (weir captures none: `-`).
    ReqCookie,
    ResCookie,
    /// `%ID`: the unique ID (weir generates none: `-`).
    UniqueId,
    /// `%sslv`, `%sslc`: the client connection's TLS version and cipher.
    SslVersion,
    SslCipher,
    /// `%[fc_err]`, `%[ssl_fc_err]`, `%[ssl_c_err]`, `%[ssl_c_ca_err]`:
    /// always 0 on a logged connection (a failed handshake gets its own
    /// line); the `ssl_` ones `-` without TLS.
    FcErr,
    SslFcErr,
    SslCErr,
    SslCCaErr,
    /// `%[ssl_fc_is_resumed]`: 1 or 0 (`-` without TLS).
    SslResumed,
    /// `%[ssl_fc_sni]`: the server name the client asked for.
    SslSni,
}

/// How a value is written, which decides what `%{+Q}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text: quoted with `+Q`; absent or empty, `-` (or `""` with `+Q`).
    Text,
    /// Numbers, dates, termination states: never quoted.
    Plain,
    /// Captured headers: the whole `{…}` block quoted with `+Q`; nothing
    /// at all when the frontend captures nothing.
    Captures,
}

/// An alias's name, what it shows, its kind, and whether it needs HTTP
/// (HAProxy's `H`: in a TCP-mode proxy it shows `-` or -1, and `weir -c`
/// warns).
pub struct Entry {
    pub name: &'static str,
    pub alias: Alias,
    pub kind: Kind,
    pub http: bool,
}

const fn e(name: &'static str, alias: Alias, kind: Kind, http: bool) -> Entry {
    Entry {
        name,
        alias,
        kind,
        http,
    }
}

use Alias as A;
use Kind::{Captures, Plain, Text};

/// The `%NAME` aliases.
pub const ALIASES: &[Entry] = &[
    e("ci", A::ClientIp, Text, false),
    e("cp", A::ClientPort, Plain, false),
    e("t", A::AcceptDate, Plain, false),
    e("tr", A::RequestDate, Plain, true),
    e("f", A::Frontend, Text, false),
    e("ft", A::FrontendTransport, Text, false),
    e("b", A::Backend, Text, false),
    e("s", A::Server, Text, false),
    e("TR", A::TRequest, Plain, true),
    e("Tw", A::TQueue, Plain, false),
    e("Tc", A::TConnect, Plain, false),
    e("Tr", A::TResponse, Plain, true),
    e("Ta", A::TActive, Plain, true),
    e("Tt", A::TTotal, Plain, false),
    e("ST", A::Status, Plain, false),
    e("B", A::BytesOut, Plain, false),
    e("U", A::BytesIn, Plain, false),
    e("ts", A::Termination, Plain, false),
    e("tsc", A::TerminationCookie, Plain, true),
    e("ac", A::ActConn, Plain, false),
    e("fc", A::FeConn, Plain, false),
    e("bc", A::BeConn, Plain, false),
    e("sc", A::SrvConn, Plain, false),
    e("rc", A::Retries, Plain, false),
    e("sq", A::SrvQueue, Plain, false),
    e("bq", A::BackendQueue, Plain, false),
    e("hr", A::ReqHeaders, Captures, false),
    e("hs", A::ResHeaders, Captures, false),
    e("r", A::Request, Text, true),
    e("HM", A::Method, Text, true),
    e("HU", A::Uri, Text, true),
    e("HV", A::Version, Text, true),
    e("CC", A::ReqCookie, Text, true),
    e("CS", A::ResCookie, Text, true),
    e("ID", A::UniqueId, Text, false),
    e("sslv", A::SslVersion, Text, false),
    e("sslc", A::SslCipher, Text, false),
];

/// The `%[…]` sample expressions understood (those of `httpslog`).
pub const SAMPLES: &[Entry] = &[
    e("fc_err", A::FcErr, Plain, false),
    e("ssl_fc_err", A::SslFcErr, Plain, false),
    e("ssl_fc_err,hex", A::SslFcErr, Plain, false),
    e("ssl_c_err", A::SslCErr, Plain, false),
    e("ssl_c_ca_err", A::SslCCaErr, Plain, false),
    e("ssl_fc_is_resumed", A::SslResumed, Plain, false),
    e("ssl_fc_sni", A::SslSni, Text, false),
];

/// The entry of `%NAME`.
pub fn alias(name: &str) -> Option<&'static Entry> {
    ALIASES.iter().find(|e| e.name == name)
}

/// The entry of `%[EXPR]`.
pub fn sample(expr: &str) -> Option<&'static Entry> {
    SAMPLES.iter().find(|e| e.name == expr)
}

/// HAProxy aliases weir does not provide, for a better message than
/// "unknown".
pub const NOT_PROVIDED: &[&str] = &[
    "H", "HP", "HPO", "HQ", "T", "Td", "Tl", "Th", "Ti", "Tq", "Ts", "Tu", "bi", "bp", "fi", "fp",
    "lc", "hrl", "hsl", "ms", "pid", "rt", "si", "sp", "trg", "trl",
];
