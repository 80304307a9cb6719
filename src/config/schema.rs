//! The accepted configuration keys: the single source of truth.
//!
//! The unknown-key checker ([`super::file`]) walks every table against these
//! lists, `docs/configuration.md` must document every pair [`documented`]
//! returns (checked by `tests/config_docs.rs`), and a unit test in
//! [`super::file`] proves the serde structs accept exactly these keys.
//!
//! A key being listed here means weir *recognises* it; some are refused for
//! now with a "not supported yet" error by [`super::validate`].

/// `[global]`.
pub const GLOBAL: &[&str] = &[
    "nbproc",
    "cpu_map",
    "maxconn",
    "daemon",
    "pidfile",
    "chroot",
    "user",
    "group",
    "ulimit_n",
    "grace",
    "hard_stop_after",
    "stats_socket",
    "log",
    "log_facility",
    "log_level",
    "bufsize",
    "maxaccept",
    "maxpollevents",
    "tls_ticket_keys",
    "tls_ticket_lifetime",
    "h2",
];

/// `[defaults]`.
pub const DEFAULTS: &[&str] = &[
    "mode",
    "timeout",
    "retries",
    "redispatch",
    "forwardfor",
    "log_format",
    "maxconn",
    "balance",
    "hash_type",
    "http_reuse",
    "shards",
    "errorfile",
];

/// `[frontend.NAME]`.
pub const FRONTEND: &[&str] = &[
    "mode",
    "bind",
    "maxconn",
    "default_backend",
    "timeout",
    "log_format",
    "forwardfor",
    "acl",
    "use_backend",
    "http_request",
    "http_response",
    "shards",
    "log",
    "log_facility",
    "log_level",
    "errorfile",
    "capture_request_header",
    "capture_response_header",
    "table",
    "tcp_request",
];

/// `[backend.NAME]`.
pub const BACKEND: &[&str] = &[
    "mode",
    "balance",
    "hash_type",
    "server",
    "check",
    "retries",
    "redispatch",
    "http_reuse",
    "server_slots",
    "server_template",
    "timeout",
    "forwardfor",
    "log",
    "log_facility",
    "log_level",
    "errorfile",
    "table",
];

/// `[listen.NAME]`: every frontend and backend key, plus these.
pub const LISTEN_ONLY: &[&str] = &["stats"];

/// The `timeout` table, in `[defaults]` and in every proxy.
pub const TIMEOUT: &[&str] = &[
    "connect",
    "client",
    "server",
    "http_request",
    "http_keep_alive",
    "queue",
    "tunnel",
    "client_fin",
    "server_fin",
    "check",
];

/// One `bind` entry written as a table.
pub const BIND: &[&str] = &[
    "address",
    "backlog",
    "transparent",
    "freebind",
    "v6only",
    "accept_proxy",
    "proto",
    "tls",
];

/// One `server` entry.
pub const SERVER: &[&str] = &[
    "name",
    "address",
    "weight",
    "maxconn",
    "check",
    "backup",
    "disabled",
    "send_proxy",
    "send_proxy_v2",
    "proto",
    "tls",
    "resolvers",
    "init_addr",
];

/// A backend's `server_template` table (servers discovered through DNS).
pub const SERVER_TEMPLATE: &[&str] = &[
    "prefix",
    "count",
    "name",
    "resolvers",
    "port",
    "init_addr",
    "check",
    "weight",
];

/// `[resolvers.NAME]` (SPEC §12).
pub const RESOLVERS: &[&str] = &[
    "nameservers",
    "parse_resolv_conf",
    "timeout",
    "retries",
    "hold",
    "accepted_payload_size",
];

/// The `timeout` table of a `[resolvers.NAME]` section.
pub const RESOLVERS_TIMEOUT: &[&str] = &["resolve", "retry"];

/// The `hold` table of a `[resolvers.NAME]` section.
pub const HOLD: &[&str] = &["valid", "nx", "timeout", "other"];

/// A backend's `check` table (health checks).
pub const CHECK: &[&str] = &[
    "type",
    "method",
    "path",
    "host",
    "expect_status",
    "interval",
    "timeout",
    "rise",
    "fall",
    "tls",
    "port",
];

/// A bind's `tls` table (SPEC §8).
pub const TLS_BIND: &[&str] = &[
    "crt",
    "default_crt",
    "strict_sni",
    "alpn",
    "min_version",
    "max_version",
    "ciphersuites",
    "client_ca",
    "verify",
    "handshake_timeout",
    "resumption",
];

/// A server's `tls` table.
pub const TLS_SERVER: &[&str] = &["verify", "ca", "sni", "alpn", "crt"];

/// One `use_backend` entry.
pub const USE_BACKEND: &[&str] = &["backend", "if", "unless"];

/// One `http_request` rule: one action and an optional condition.
pub const HTTP_RULE: &[&str] = &[
    "deny",
    "return",
    "redirect",
    "set_header",
    "add_header",
    "del_header",
    "set_path",
    "track",
    "slot",
    "table",
    "inc_gpc0",
    "if",
    "unless",
];

/// One `http_response` rule: the header actions and `inc_gpc0`.
pub const HTTP_RESPONSE_RULE: &[&str] = &[
    "set_header",
    "add_header",
    "del_header",
    "inc_gpc0",
    "if",
    "unless",
];

/// A proxy's rate-limit `table` (SPEC §11).
pub const TABLE: &[&str] = &["type", "size", "expire", "store"];

/// One `tcp_request` rule (at accept): `track` (with `slot`, `table`) or
/// `reject`, and an optional condition.
pub const TCP_RULE: &[&str] = &["track", "slot", "table", "reject", "if", "unless"];

/// The `return` action's table.
pub const RETURN: &[&str] = &["status", "content_type", "body"];

/// The `redirect` action's table.
pub const REDIRECT: &[&str] = &["location", "prefix", "scheme", "code"];

/// One `capture_request_header` / `capture_response_header` entry.
pub const CAPTURE: &[&str] = &["name", "len"];

/// A listen section's `stats` table.
pub const STATS: &[&str] = &["uri", "refresh", "prometheus"];

/// The top-level keys: the section kinds.
pub const TOP: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
];

/// A kind of section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Global,
    Defaults,
    Frontend,
    Backend,
    Listen,
    Resolvers,
}

impl Section {
    /// Every section kind, in the order the documentation presents them.
    pub const ALL: [Section; 6] = [
        Section::Global,
        Section::Defaults,
        Section::Frontend,
        Section::Backend,
        Section::Listen,
        Section::Resolvers,
    ];

    /// The word used in the file: `global`, `frontend`, …
    pub fn word(self) -> &'static str {
        match self {
            Section::Global => "global",
            Section::Defaults => "defaults",
            Section::Frontend => "frontend",
            Section::Backend => "backend",
            Section::Listen => "listen",
            Section::Resolvers => "resolvers",
        }
    }

    /// The heading used in the documentation: `[global]`, `[frontend.NAME]`, …
    pub fn heading(self) -> &'static str {
        match self {
            Section::Global => "[global]",
            Section::Defaults => "[defaults]",
            Section::Frontend => "[frontend.NAME]",
            Section::Backend => "[backend.NAME]",
            Section::Listen => "[listen.NAME]",
            Section::Resolvers => "[resolvers.NAME]",
        }
    }

    /// Whether a key is accepted directly in this section.
    pub fn accepts(self, key: &str) -> bool {
        match self {
            Section::Global => GLOBAL.contains(&key),
            Section::Defaults => DEFAULTS.contains(&key),
            Section::Frontend => FRONTEND.contains(&key),
            Section::Backend => BACKEND.contains(&key),
            Section::Resolvers => RESOLVERS.contains(&key),
            Section::Listen => {
                FRONTEND.contains(&key) || BACKEND.contains(&key) || LISTEN_ONLY.contains(&key)
            }
        }
    }

    /// The keys accepted directly in this section (for did-you-mean hints).
    pub fn keys(self) -> Vec<&'static str> {
        match self {
            Section::Global => GLOBAL.to_vec(),
            Section::Defaults => DEFAULTS.to_vec(),
            Section::Frontend => FRONTEND.to_vec(),
            Section::Backend => BACKEND.to_vec(),
            Section::Resolvers => RESOLVERS.to_vec(),
            Section::Listen => {
                let mut keys = FRONTEND.to_vec();
                for k in BACKEND.iter().chain(LISTEN_ONLY) {
                    if !keys.contains(k) {
                        keys.push(k);
                    }
                }
                keys
            }
        }
    }
}

/// The keys of the table nested under `key` in a section, for the keys whose
/// value is a table (`timeout`, `check`, `stats`) or a list of tables (`bind`,
/// `server`, `use_backend`, the rule lists, the captures). The free-form
/// `acl` and `errorfile` tables are not listed.
pub fn nested(section: Section, key: &str) -> Option<&'static [&'static str]> {
    if !section.accepts(key) {
        return None;
    }
    match key {
        "timeout" if section == Section::Resolvers => Some(RESOLVERS_TIMEOUT),
        "hold" => Some(HOLD),
        "server_template" => Some(SERVER_TEMPLATE),
        "timeout" => Some(TIMEOUT),
        "bind" => Some(BIND),
        "server" => Some(SERVER),
        "check" => Some(CHECK),
        "stats" => Some(STATS),
        "use_backend" => Some(USE_BACKEND),
        "http_request" => Some(HTTP_RULE),
        "http_response" => Some(HTTP_RESPONSE_RULE),
        "table" => Some(TABLE),
        "tcp_request" => Some(TCP_RULE),
        "h2" => Some(super::h2::KEYS),
        "capture_request_header" | "capture_response_header" => Some(CAPTURE),
        _ => None,
    }
}

/// The keys of a table one level further down: `return` and `redirect` in
/// an `http_request` rule, `tls` in a bind or a server entry (`parent` is
/// the section key).
pub fn nested_deeper(parent: &str, key: &str) -> Option<&'static [&'static str]> {
    match (parent, key) {
        ("http_request", "return") => Some(RETURN),
        ("http_request", "redirect") => Some(REDIRECT),
        ("bind", "tls") => Some(TLS_BIND),
        ("server", "tls") => Some(TLS_SERVER),
        _ => None,
    }
}

/// Why `key` is refused in a table under the section key `parent` although
/// weir knows it elsewhere, when that deserves more than "unknown key".
pub fn misplaced(parent: &str, key: &str) -> Option<&'static str> {
    let terminal = parent == "http_response" && HTTP_RULE.contains(&key);
    terminal.then_some("response rules take only set_header, add_header, del_header and inc_gpc0")
}

/// Every `(section, key)` pair the documentation must describe, nested keys
/// written `timeout.connect`. The `timeout.*` keys are described once, under
/// `[defaults]`; a listen section documents only its own keys (it accepts
/// every frontend and backend key, documented there).
pub fn documented() -> Vec<(Section, String)> {
    let mut out = Vec::new();
    for section in Section::ALL {
        let own: Vec<&str> = match section {
            Section::Listen => LISTEN_ONLY.to_vec(),
            s => s.keys(),
        };
        for key in own {
            out.push((section, key.to_string()));
            let own_timeouts = matches!(section, Section::Defaults | Section::Resolvers);
            if key == "timeout" && !own_timeouts {
                continue;
            }
            if let Some(sub) = nested(section, key) {
                for s in sub {
                    out.push((section, format!("{key}.{s}")));
                    if let Some(deeper) = nested_deeper(key, s) {
                        out.extend(deeper.iter().map(|d| (section, format!("{key}.{s}.{d}"))));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_accepts_every_frontend_and_backend_key() {
        for k in FRONTEND.iter().chain(BACKEND).chain(LISTEN_ONLY) {
            assert!(Section::Listen.accepts(k), "{k}");
        }
        assert!(!Section::Frontend.accepts("server"));
        assert!(!Section::Backend.accepts("bind"));
    }

    #[test]
    fn documented_lists_nested_keys() {
        let docs = documented();
        assert!(docs.contains(&(Section::Defaults, "timeout.connect".into())));
        assert!(docs.contains(&(Section::Frontend, "timeout".into())));
        assert!(!docs.contains(&(Section::Frontend, "timeout.client".into())));
        assert!(docs.contains(&(Section::Backend, "server.weight".into())));
        assert!(docs.contains(&(Section::Listen, "stats.uri".into())));
        assert!(!docs.contains(&(Section::Listen, "bind".into())));
        assert!(docs.contains(&(Section::Frontend, "use_backend.if".into())));
        assert!(docs.contains(&(Section::Frontend, "http_request.return.status".into())));
        assert!(!docs.contains(&(Section::Frontend, "http_response.deny".into())));
        assert!(docs.contains(&(Section::Frontend, "bind.tls.crt".into())));
        assert!(docs.contains(&(Section::Backend, "server.tls.sni".into())));
        assert!(docs.contains(&(Section::Backend, "check.tls".into())));
        assert!(docs.contains(&(Section::Global, "tls_ticket_lifetime".into())));
        assert!(docs.contains(&(Section::Resolvers, "timeout.resolve".into())));
        assert!(docs.contains(&(Section::Resolvers, "hold.nx".into())));
        assert!(docs.contains(&(Section::Backend, "server_template.count".into())));
    }
}
