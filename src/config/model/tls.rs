//! The typed TLS settings (SPEC §8): a bind's `tls`, a server's `tls`, and
//! the ticket keys of `[global]`. Certificates, keys and CA bundles are
//! already loaded and checked here: the master reads them while loading the
//! configuration, before chroot, and no worker opens a file for TLS.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::tls::roots::CaBundle;
use crate::tls::{LoadedCert, TicketKeys};

/// A TLS protocol version weir speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

/// A bind's client-certificate policy (`verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientVerify {
    /// No certificate is asked for.
    None,
    /// Asked for; a client without one is let in, one with a bad one is not.
    Optional,
    /// A valid certificate (signed by `client_ca`) is required.
    Required,
}

/// `tls` on a bind: the listener terminates TLS.
#[derive(Debug, Clone)]
pub struct BindTls {
    /// Every certificate of `crt` (and `default_crt`), in load order.
    pub certs: Vec<Arc<LoadedCert>>,
    /// The file served when SNI matches nothing (else the first loaded).
    pub default_crt: Option<PathBuf>,
    /// Refuse a handshake whose SNI matches no certificate.
    pub strict_sni: bool,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<String>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// IANA names, in preference order; `None`: rustls's default set.
    pub ciphersuites: Option<Vec<String>>,
    pub client_ca: Option<CaBundle>,
    pub verify: ClientVerify,
    /// The longest a handshake may take (default: the frontend's
    /// `timeout.client`).
    pub handshake_timeout: Duration,
    /// Session tickets and a session cache; `false`: every handshake full.
    pub resumption: bool,
}

/// Whether a server's certificate is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerVerify {
    Required,
    /// Anything is accepted (the handshake's signatures are still checked).
    None,
}

/// The SNI sent to a server, and the name its certificate is verified
/// against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSni {
    /// This name (`sni = NAME`, or the server's host name by default).
    Name(String),
    /// The request's Host header (HTTP mode); without one, `fallback`, else
    /// no SNI and the address.
    RequestHost { fallback: Option<String> },
    /// No SNI (the server was given as an IP address): the certificate is
    /// verified against this address.
    Address(IpAddr),
}

/// `tls` on a server: weir connects to it in TLS.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub verify: ServerVerify,
    /// The trust anchors when verifying: the `ca` file's, else the
    /// system's (read at load time).
    pub roots: Option<Arc<rustls::RootCertStore>>,
    /// The `ca` file, when one was given.
    pub ca: Option<PathBuf>,
    pub sni: ServerSni,
    /// ALPN protocols offered, in order (none by default).
    pub alpn: Vec<String>,
    /// The client certificate presented, if any.
    pub crt: Option<Arc<LoadedCert>>,
}

/// `tls_ticket_keys` in `[global]`.
#[derive(Debug, Clone)]
pub struct TicketKeyFile {
    pub path: PathBuf,
    pub keys: TicketKeys,
}
