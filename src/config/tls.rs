//! The file model of TLS (SPEC §8): a bind's `tls` table and a server's
//! `tls` (`true` or a table). Validated by [`super::tls_bind`] and
//! [`super::tls_server`]; their keys are [`super::schema::TLS_BIND`] and
//! [`super::schema::TLS_SERVER`].

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::raw::{IntOrStr, OneOrMany};

type S<T> = Option<Spanned<T>>;

/// `tls = { crt = …, … }` on a bind.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a tls table such as { crt = \"/etc/weir/certs/\" }"
)]
pub struct BindTlsFile {
    pub crt: S<OneOrMany<String>>,
    pub default_crt: S<String>,
    pub strict_sni: S<bool>,
    pub alpn: S<Vec<Spanned<String>>>,
    pub min_version: S<String>,
    pub max_version: S<String>,
    pub ciphersuites: S<Vec<Spanned<String>>>,
    pub client_ca: S<String>,
    pub verify: S<String>,
    pub handshake_timeout: S<IntOrStr>,
    pub resumption: S<bool>,
}

/// The table form of a server's `tls`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a tls table such as { verify = \"required\", ca = \"/etc/weir/ca.pem\" }"
)]
pub struct ServerTlsFile {
    pub verify: S<String>,
    pub ca: S<String>,
    pub sni: S<String>,
    pub alpn: S<Vec<Spanned<String>>>,
    pub crt: S<String>,
}

/// A server's `tls`: `true`, `false`, or a table.
#[derive(Debug)]
pub enum ServerTlsSpec {
    Flag(bool),
    Table(ServerTlsFile),
}

impl<'de> Deserialize<'de> for ServerTlsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ServerTlsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or a tls table such as { verify = \"none\" }")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ServerTlsSpec, E> {
                Ok(ServerTlsSpec::Flag(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ServerTlsSpec, A::Error> {
                ServerTlsFile::deserialize(MapAccessDeserializer::new(map))
                    .map(ServerTlsSpec::Table)
            }
        }
        d.deserialize_any(V)
    }
}
