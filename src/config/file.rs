//! The file model: what the user wrote, section by section, every value with
//! its byte span. Deserialized with serde from the span-keeping TOML tree by
//! [`super::parse`]; turned into the typed model by [`super::validate`].
//!
//! Every struct here lists exactly the keys of [`super::schema`]; a unit test
//! below proves it. Integers are `i64` so that range errors can be reported
//! by validation with a useful message rather than by serde.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::diag::Loc;
use super::raw::{AclTable, BindSpec, CpuMapRaw, DenySpec, IntOrStr, OneOrMany, StrTable};
use super::schema::Section;
use super::tls::{BindTlsFile, ServerTlsSpec};

type S<T> = Option<Spanned<T>>;

/// `[global]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [global] table")]
pub struct GlobalFile {
    pub nbproc: S<IntOrStr>,
    pub cpu_map: S<CpuMapRaw>,
    pub maxconn: S<i64>,
    pub daemon: S<bool>,
    pub pidfile: S<String>,
    pub chroot: S<String>,
    pub user: S<String>,
    pub group: S<String>,
    pub ulimit_n: S<i64>,
    pub grace: S<IntOrStr>,
    pub hard_stop_after: S<IntOrStr>,
    pub stats_socket: S<String>,
    pub log: S<OneOrMany<String>>,
    pub log_facility: S<String>,
    pub log_level: S<String>,
    pub bufsize: S<IntOrStr>,
    pub maxaccept: S<i64>,
    pub maxpollevents: S<i64>,
    pub tls_ticket_keys: S<String>,
    pub tls_ticket_lifetime: S<IntOrStr>,
    pub h2: S<super::h2::H2File>,
}

/// `[defaults]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [defaults] table")]
pub struct DefaultsFile {
    pub mode: S<String>,
    pub timeout: S<TimeoutFile>,
    pub retries: S<i64>,
    pub redispatch: S<bool>,
    pub forwardfor: S<bool>,
    pub log_format: S<String>,
    pub maxconn: S<i64>,
    pub balance: S<String>,
    pub hash_type: S<String>,
    pub http_reuse: S<String>,
    pub shards: S<IntOrStr>,
    pub errorfile: S<StrTable>,
}

/// `[frontend.NAME]`, `[backend.NAME]` and `[listen.NAME]` share this struct;
/// which keys each kind accepts is checked against the schema beforehand.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ProxyFile {
    // Shared.
    pub mode: S<String>,
    pub timeout: S<TimeoutFile>,
    pub forwardfor: S<bool>,
    pub log: S<OneOrMany<String>>,
    pub log_facility: S<String>,
    pub log_level: S<String>,
    pub errorfile: S<StrTable>,
    // Frontend side.
    pub bind: S<OneOrMany<BindSpec>>,
    pub maxconn: S<i64>,
    pub default_backend: S<String>,
    pub log_format: S<String>,
    pub acl: S<AclTable>,
    pub use_backend: S<Vec<Spanned<UseBackendFile>>>,
    pub http_request: S<Vec<Spanned<HttpRuleFile>>>,
    pub http_response: S<Vec<Spanned<HttpRuleFile>>>,
    pub shards: S<IntOrStr>,
    pub capture_request_header: S<Vec<Spanned<CaptureFile>>>,
    pub capture_response_header: S<Vec<Spanned<CaptureFile>>>,
    pub tcp_request: S<Vec<Spanned<TcpRuleFile>>>,
    // Frontend and backend.
    pub table: S<TableFile>,
    // Backend side.
    pub balance: S<String>,
    pub hash_type: S<String>,
    pub server: S<Vec<Spanned<ServerFile>>>,
    pub check: S<CheckFile>,
    pub retries: S<i64>,
    pub redispatch: S<bool>,
    pub http_reuse: S<String>,
    pub server_slots: S<i64>,
    pub server_template: S<ServerTemplateFile>,
    // Listen only.
    pub stats: S<StatsFile>,
}

/// One `capture_request_header` / `capture_response_header` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a capture such as { name = \"Host\", len = 64 }"
)]
pub struct CaptureFile {
    pub name: S<String>,
    pub len: S<i64>,
}

/// One `use_backend` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a use_backend entry such as { backend = \"app\", if = \"ACL\" }"
)]
pub struct UseBackendFile {
    pub backend: S<String>,
    #[serde(rename = "if")]
    pub if_: S<String>,
    pub unless: S<String>,
}

/// One `http_request` or `http_response` rule: one action key and an
/// optional condition. Which actions `http_response` takes is checked
/// against [`super::schema::HTTP_RESPONSE_RULE`] beforehand.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a rule table such as { deny = 403, if = \"ACL\" }"
)]
pub struct HttpRuleFile {
    pub deny: S<DenySpec>,
    #[serde(rename = "return")]
    pub return_: S<ReturnFile>,
    pub redirect: S<RedirectFile>,
    pub set_header: S<Vec<Spanned<String>>>,
    pub add_header: S<Vec<Spanned<String>>>,
    pub del_header: S<String>,
    pub set_path: S<String>,
    pub track: S<String>,
    pub slot: S<i64>,
    pub table: S<String>,
    pub inc_gpc0: S<i64>,
    #[serde(rename = "if")]
    pub if_: S<String>,
    pub unless: S<String>,
}

/// One `tcp_request` rule.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a rule table such as { track = \"src\" } or { reject = true, if = \"ACL\" }"
)]
pub struct TcpRuleFile {
    pub track: S<String>,
    pub slot: S<i64>,
    pub table: S<String>,
    pub reject: S<bool>,
    #[serde(rename = "if")]
    pub if_: S<String>,
    pub unless: S<String>,
}

/// A proxy's rate-limit `table`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { type = \"ip\", size = \"100k\", expire = \"30s\", store = [\"http_req_rate(10s)\"] }"
)]
pub struct TableFile {
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub size: S<IntOrStr>,
    pub expire: S<IntOrStr>,
    pub store: S<Vec<Spanned<String>>>,
}

/// The `return` action's table.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { status = 200, content_type = \"text/plain\", body = \"ok\" }"
)]
pub struct ReturnFile {
    pub status: S<i64>,
    pub content_type: S<String>,
    pub body: S<String>,
}

/// The `redirect` action's table.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { scheme = \"https\", code = 301 }"
)]
pub struct RedirectFile {
    pub location: S<String>,
    pub prefix: S<String>,
    pub scheme: S<String>,
    pub code: S<i64>,
}

/// A `timeout` table.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a timeout table such as { connect = \"5s\" }"
)]
pub struct TimeoutFile {
    pub connect: S<IntOrStr>,
    pub client: S<IntOrStr>,
    pub server: S<IntOrStr>,
    pub http_request: S<IntOrStr>,
    pub http_keep_alive: S<IntOrStr>,
    pub queue: S<IntOrStr>,
    pub tunnel: S<IntOrStr>,
    pub client_fin: S<IntOrStr>,
    pub server_fin: S<IntOrStr>,
    pub check: S<IntOrStr>,
}

/// A `bind` entry written as a table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a bind table")]
pub struct BindTable {
    pub address: S<String>,
    pub backlog: S<i64>,
    pub transparent: S<bool>,
    pub freebind: S<bool>,
    pub v6only: S<bool>,
    pub accept_proxy: S<bool>,
    pub proto: S<String>,
    pub tls: S<BindTlsFile>,
}

/// A `server` entry (`name` and `address` are required; validation says so,
/// unless the user misspelt them and already got a hint).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a server table such as { name = \"a\", address = \"10.0.0.1:80\" }"
)]
pub struct ServerFile {
    pub name: S<String>,
    pub address: S<String>,
    pub weight: S<i64>,
    pub maxconn: S<i64>,
    pub check: S<bool>,
    pub backup: S<bool>,
    pub disabled: S<bool>,
    pub send_proxy: S<bool>,
    pub send_proxy_v2: S<bool>,
    pub proto: S<String>,
    pub tls: S<ServerTlsSpec>,
    pub resolvers: S<String>,
    pub init_addr: S<String>,
}

/// A backend's `server_template` table.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { prefix = \"web\", count = 10, name = \"_http._tcp.web\", resolvers = \"dc\" }"
)]
pub struct ServerTemplateFile {
    pub prefix: S<String>,
    pub count: S<i64>,
    pub name: S<String>,
    pub resolvers: S<String>,
    pub port: S<i64>,
    pub init_addr: S<String>,
    pub check: S<bool>,
    pub weight: S<i64>,
}

/// `[resolvers.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [resolvers.NAME] table")]
pub struct ResolversFile {
    pub nameservers: S<Vec<Spanned<String>>>,
    pub parse_resolv_conf: S<bool>,
    pub timeout: S<ResolversTimeoutFile>,
    pub retries: S<i64>,
    pub hold: S<HoldFile>,
    pub accepted_payload_size: S<i64>,
}

/// The `timeout` table of `[resolvers.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { resolve = \"1s\", retry = \"1s\" }"
)]
pub struct ResolversTimeoutFile {
    pub resolve: S<IntOrStr>,
    pub retry: S<IntOrStr>,
}

/// The `hold` table of `[resolvers.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { valid = \"10s\", nx = \"30s\" }"
)]
pub struct HoldFile {
    pub valid: S<IntOrStr>,
    pub nx: S<IntOrStr>,
    pub timeout: S<IntOrStr>,
    pub other: S<IntOrStr>,
}

/// A backend's `check` table (built by `super::check`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a check table")]
pub struct CheckFile {
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub method: S<String>,
    pub path: S<String>,
    pub host: S<String>,
    pub expect_status: S<IntOrStr>,
    pub interval: S<IntOrStr>,
    pub timeout: S<IntOrStr>,
    pub rise: S<i64>,
    pub fall: S<i64>,
    pub tls: S<bool>,
    pub port: S<i64>,
}

/// A listen section's `stats` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a stats table")]
pub struct StatsFile {
    pub uri: S<String>,
    pub refresh: S<IntOrStr>,
    pub prometheus: S<String>,
}

/// Where each key of a section was written, by dotted path relative to the
/// section (`mode`, `timeout.queue`, `server.0.maxconn`): errors about a
/// key (rather than its value) point there.
pub type KeySpans = HashMap<String, Range<usize>>;

/// One section as found in one file.
#[derive(Debug)]
pub struct Parsed<T> {
    /// The section's name in its header (`web` in `[frontend.web]`, or
    /// `global` in `[global]`).
    pub loc: Loc,
    pub keys: KeySpans,
    /// `None` when serde refused the section as a whole (error reported).
    pub body: Option<T>,
    /// Keys missing only because of an error already reported (misspelt
    /// with a did-you-mean hint, or dropped for a type error): no "missing
    /// key" error for those.
    pub hinted: Vec<String>,
}

impl<T> Parsed<T> {
    /// The position of a key of this section (falls back to the header).
    pub fn key_loc(&self, path: &str) -> Loc {
        let span = self
            .keys
            .get(path)
            .cloned()
            .unwrap_or(self.loc.span.clone());
        Loc {
            file: self.loc.file,
            span,
        }
    }

    /// The position of a value of this section.
    pub fn at(&self, span: Range<usize>) -> Loc {
        Loc {
            file: self.loc.file,
            span,
        }
    }
}

/// A frontend, backend or listen section.
#[derive(Debug)]
pub struct ProxySection {
    pub kind: Section,
    pub name: String,
    pub parsed: Parsed<ProxyFile>,
}

/// A `[resolvers.NAME]` section.
#[derive(Debug)]
pub struct ResolversSection {
    pub name: String,
    pub parsed: Parsed<ResolversFile>,
}

/// Every section of every file, in load order.
#[derive(Debug, Default)]
pub struct FileModel {
    pub global: Vec<Parsed<GlobalFile>>,
    pub defaults: Vec<Parsed<DefaultsFile>>,
    /// In declaration order: files in load order, sections in file order.
    pub proxies: Vec<ProxySection>,
    /// `[resolvers.NAME]`, in load order.
    pub resolvers: Vec<ResolversSection>,
    /// A syntax error was found: semantic checks would only add noise.
    pub syntax_errors: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema;
    use serde::de::{self, Deserializer, Visitor};

    /// A deserializer that only records the field list serde asks for.
    struct Fields(std::cell::RefCell<Vec<&'static str>>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &Fields {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.borrow_mut().extend(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    fn fields<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
        let f = Fields(Default::default());
        let _ = T::deserialize(&f);
        let mut v = f.0.into_inner();
        v.sort_unstable();
        v
    }

    fn sorted(keys: Vec<&'static str>) -> Vec<&'static str> {
        let mut keys = keys;
        keys.sort_unstable();
        keys
    }

    #[test]
    fn serde_structs_match_the_schema() {
        use schema::Section;
        assert_eq!(fields::<GlobalFile>(), sorted(Section::Global.keys()));
        assert_eq!(fields::<DefaultsFile>(), sorted(Section::Defaults.keys()));
        assert_eq!(fields::<ProxyFile>(), sorted(Section::Listen.keys()));
        assert_eq!(fields::<TimeoutFile>(), sorted(schema::TIMEOUT.to_vec()));
        assert_eq!(fields::<BindTable>(), sorted(schema::BIND.to_vec()));
        assert_eq!(fields::<ServerFile>(), sorted(schema::SERVER.to_vec()));
        assert_eq!(fields::<CheckFile>(), sorted(schema::CHECK.to_vec()));
        assert_eq!(fields::<StatsFile>(), sorted(schema::STATS.to_vec()));
        let resolvers = fields::<ResolversFile>();
        assert_eq!(resolvers, sorted(Section::Resolvers.keys()));
        let timeout = fields::<ResolversTimeoutFile>();
        assert_eq!(timeout, sorted(schema::RESOLVERS_TIMEOUT.to_vec()));
        assert_eq!(fields::<HoldFile>(), sorted(schema::HOLD.to_vec()));
        let template = fields::<ServerTemplateFile>();
        assert_eq!(template, sorted(schema::SERVER_TEMPLATE.to_vec()));
        assert_eq!(fields::<CaptureFile>(), sorted(schema::CAPTURE.to_vec()));
        let use_backend = fields::<UseBackendFile>();
        assert_eq!(use_backend, sorted(schema::USE_BACKEND.to_vec()));
        assert_eq!(fields::<HttpRuleFile>(), sorted(schema::HTTP_RULE.to_vec()));
        assert_eq!(fields::<ReturnFile>(), sorted(schema::RETURN.to_vec()));
        assert_eq!(fields::<TcpRuleFile>(), sorted(schema::TCP_RULE.to_vec()));
        assert_eq!(fields::<TableFile>(), sorted(schema::TABLE.to_vec()));
        assert_eq!(fields::<RedirectFile>(), sorted(schema::REDIRECT.to_vec()));
        let tls = fields::<super::super::tls::BindTlsFile>();
        assert_eq!(tls, sorted(schema::TLS_BIND.to_vec()));
        let tls = fields::<super::super::tls::ServerTlsFile>();
        assert_eq!(tls, sorted(schema::TLS_SERVER.to_vec()));
    }
}
