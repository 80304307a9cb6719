//! A bind's rustls `ServerConfig`, from the typed [`BindTls`].
//!
//! - Versions `min_version..=max_version`; cipher suites as listed (in that
//!   order of preference), else the provider's; the server's order wins
//!   over the client's, as HAProxy's default.
//! - Certificates chosen by SNI ([`SniResolver`]); the store is kept in
//!   the [`Acceptor`] so that the runtime API can replace a file's.
//! - Client certificates per `verify`, against `client_ca`.
//! - `resumption = true`: stateless tickets from the shared [`Ticketer`],
//!   and a per-bind session cache of [`SESSION_CACHE`] entries (TLS 1.2
//!   session IDs), whose lookups a [`CacheObserver`] may count (HAProxy's
//!   `SslCacheLookups` and `SslCacheMisses`); `false`: neither, every
//!   handshake is a full one.
//! - No 0-RTT early data (replayable). No renegotiation: rustls has none.

use std::sync::Arc;
use std::time::Duration;

use rustls::server::{
    NoServerSessionStorage, ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier,
};
use rustls::version::{TLS12, TLS13};
use rustls::{ServerConfig, SupportedProtocolVersion};

use super::sni::{CertStore, SniResolver};
use super::tickets::{TicketKeys, Ticketer};
use super::{provider, suites};
use crate::config::model::{BindTls, ClientVerify, TlsVersion};

/// Sessions each bind remembers for resumption by session ID, per worker
/// (HAProxy's `tune.ssl.cachesize` default).
pub const SESSION_CACHE: usize = 20_000;

/// What a worker needs to accept TLS on one bind.
#[derive(Debug, Clone)]
pub struct Acceptor {
    pub config: Arc<ServerConfig>,
    /// The bind's certificates (for `set ssl cert` / `commit ssl cert`).
    pub store: Arc<CertStore>,
    /// The longest a handshake may take.
    pub handshake_timeout: Duration,
}

/// Told of every lookup in a bind's session cache.
pub trait CacheObserver: Send + Sync + std::fmt::Debug {
    /// A lookup; `found`: it found a session to resume.
    fn lookup(&self, found: bool);
}

/// A session cache whose lookups are counted.
#[derive(Debug)]
struct CountedCache {
    inner: Arc<dyn StoresServerSessions>,
    observer: Arc<dyn CacheObserver>,
}

impl StoresServerSessions for CountedCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let found = self.inner.get(key);
        self.observer.lookup(found.is_some());
        found
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let found = self.inner.take(key);
        self.observer.lookup(found.is_some());
        found
    }
    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// The protocol versions of `min..=max`.
pub fn versions(min: TlsVersion, max: TlsVersion) -> Vec<&'static SupportedProtocolVersion> {
    let mut v = Vec::new();
    if max >= TlsVersion::V1_3 && min <= TlsVersion::V1_3 {
        v.push(&TLS13);
    }
    if min <= TlsVersion::V1_2 && max >= TlsVersion::V1_2 {
        v.push(&TLS12);
    }
    v
}

/// The provider, with only the listed suites when a list is given.
pub(crate) fn provider_with(
    suites_listed: Option<&[String]>,
) -> Result<Arc<rustls::crypto::CryptoProvider>, String> {
    let base = provider();
    let Some(names) = suites_listed else {
        return Ok(base);
    };
    let mut chosen = Vec::new();
    for name in names {
        chosen.push(suites::by_name(name)?);
    }
    Ok(Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: chosen,
        ..(*base).clone()
    }))
}

impl Acceptor {
    /// Builds a bind's configuration. `tickets` is the worker's ticketer
    /// (shared by its binds, fed by the master's key ring); `None` makes a
    /// private one with fresh keys (tests, `weir -c`).
    pub fn from_bind(tls: &BindTls, tickets: Option<Arc<Ticketer>>) -> Result<Acceptor, String> {
        Acceptor::observed(tls, tickets, None)
    }

    /// [`Acceptor::from_bind`], its session cache's lookups told to
    /// `cache` (a worker counts them for `show info`).
    pub fn observed(
        tls: &BindTls,
        tickets: Option<Arc<Ticketer>>,
        cache: Option<Arc<dyn CacheObserver>>,
    ) -> Result<Acceptor, String> {
        let provider = provider_with(tls.ciphersuites.as_deref())?;
        let store = Arc::new(CertStore::new(&tls.certs, tls.default_crt.clone()));
        let resolver = Arc::new(SniResolver::new(store.clone(), tls.strict_sni));
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions(tls.min_version, tls.max_version))
            .map_err(|e| format!("TLS settings refused: {e}"))?;
        let builder = match (tls.verify, &tls.client_ca) {
            (ClientVerify::None, _) | (_, None) => builder.with_no_client_auth(),
            (verify, Some(ca)) => {
                let b = WebPkiClientVerifier::builder_with_provider(ca.roots.clone(), provider);
                let b = match verify {
                    ClientVerify::Optional => b.allow_unauthenticated(),
                    _ => b,
                };
                let verifier = b.build().map_err(|e| {
                    format!(
                        "client_ca \"{}\" cannot verify clients: {e}",
                        ca.path.display()
                    )
                })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(resolver);
        config.ignore_client_order = true;
        config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        if tls.resumption {
            let ticketer = match tickets {
                Some(t) => t,
                None => {
                    let ring = TicketKeys::generate().map_err(|e| e.to_string())?;
                    Ticketer::new(&ring, crate::config::model::defaults::TLS_TICKET_LIFETIME)
                }
            };
            config.ticketer = ticketer;
            let storage = ServerSessionMemoryCache::new(SESSION_CACHE);
            config.session_storage = match cache {
                Some(observer) => Arc::new(CountedCache {
                    inner: storage,
                    observer,
                }),
                None => storage,
            };
        } else {
            config.ticketer = Arc::new(NoTickets);
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        Ok(Acceptor {
            config: Arc::new(config),
            store,
            handshake_timeout: tls.handshake_timeout,
        })
    }
}

/// `resumption = false`: no ticket is ever made.
#[derive(Debug)]
struct NoTickets;

impl rustls::server::ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }
    fn lifetime(&self) -> u32 {
        0
    }
    fn encrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn decrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}
