//! TLS for weir, on rustls with the aws-lc-rs crypto provider: everything
//! but the I/O. The transport under a connection (worker side) calls into
//! this module for its configurations; the master loads and checks
//! certificates through it while reading the configuration (before chroot).
//!
//! - [`pem`] reads one PEM file (certificates and a private key);
//! - [`crt`] expands a bind's `crt` (files, directories, a `.key` beside a
//!   certificate) into loaded, checked [`LoadedCert`]s;
//! - [`x509`] reads what operators ask about a certificate ([`CertInfo`]:
//!   names, validity, serial, subject), and [`details`] what `show ssl
//!   cert FILE` prints of it, in HAProxy's forms;
//! - [`sni`] chooses a certificate by SNI ([`SniResolver`], a store that can
//!   be replaced one file at a time while running);
//! - [`server`] and [`client`] build the rustls configurations of a bind
//!   ([`Acceptor`]) and of a server ([`Connector`]);
//! - [`suites`] maps IANA cipher suite names to rustls suites;
//! - [`roots`] reads CA bundles and the system's trust store;
//! - [`tickets`] holds session ticket keys: HAProxy's key file, a fixed-size
//!   ring that can live in shared memory, and rustls's `ProducesTickets`.

pub mod client;
pub mod crt;
pub mod details;
pub mod pem;
pub mod roots;
pub mod server;
pub mod sni;
pub mod suites;
pub mod tickets;
pub mod x509;

#[cfg(test)]
pub(crate) mod testcerts;
#[cfg(test)]
mod tests_handshake;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

pub use client::Connector;
pub use crt::LoadedCert;
pub use server::Acceptor;
pub use sni::{CertStore, SniResolver};
pub use tickets::{TicketKeys, Ticketer};
pub use x509::CertInfo;

/// The crypto provider every weir TLS configuration is built with:
/// aws-lc-rs, with the post-quantum hybrid key exchange X25519MLKEM768
/// preferred (docs/architecture.md, "TLS", says why this one), and its
/// suites in [`suites::PREFERENCE`]'s order.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let mut p = rustls::crypto::aws_lc_rs::default_provider();
            suites::order(&mut p.cipher_suites);
            Arc::new(p)
        })
        .clone()
}
