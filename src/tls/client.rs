//! A server's rustls `ClientConfig`, from the typed [`ServerTls`], and the
//! name each connection sends as SNI and verifies the certificate against.
//!
//! - `verify = "required"`: webpki against the `ca` file or the system's
//!   trust store (loaded with the configuration, before chroot);
//! - `verify = "none"`: [`InsecureAcceptAnyServerCert`] accepts any
//!   certificate (the handshake's signatures are still checked, so the
//!   peer holds the key of the certificate it sent);
//! - a client certificate when `crt` is given; ALPN as listed; TLS 1.2
//!   and 1.3; client-side session resumption in rustls's default cache.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::provider;
use crate::config::model::{ServerSni, ServerTls, ServerVerify};

/// What a worker needs to connect to one server in TLS.
#[derive(Debug, Clone)]
pub struct Connector {
    pub config: Arc<ClientConfig>,
    sni: ServerSni,
}

impl Connector {
    /// Builds a server's client configuration.
    pub fn from_server(tls: &ServerTls) -> Result<Connector, String> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS settings refused: {e}"))?;
        let builder = match (tls.verify, &tls.roots) {
            (ServerVerify::Required, Some(roots)) => builder.with_root_certificates(roots.clone()),
            (ServerVerify::Required, None) => {
                return Err("no trust anchors to verify the server with".to_string())
            }
            (ServerVerify::None, _) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(InsecureAcceptAnyServerCert(provider))),
        };
        let mut config = match &tls.crt {
            Some(c) => builder.with_client_cert_resolver(Arc::new(ClientCert(c.certified.clone()))),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok(Connector {
            config: Arc::new(config),
            sni: tls.sni.clone(),
        })
    }

    /// The name for one connection: SNI and verification. `host` is the
    /// request's Host header as received (a port is dropped), used with
    /// `sni = "host"`; `addr` the server's address, used when there is no
    /// usable name.
    pub fn server_name(&self, host: Option<&str>, addr: IpAddr) -> ServerName<'static> {
        let name = match &self.sni {
            ServerSni::Name(n) => Some(n.as_str()),
            ServerSni::RequestHost { fallback } => host.map(without_port).or(fallback.as_deref()),
            ServerSni::Address(ip) => return ServerName::IpAddress((*ip).into()),
        };
        name.and_then(|n| ServerName::try_from(n.to_ascii_lowercase()).ok())
            .unwrap_or(ServerName::IpAddress(addr.into()))
    }
}

/// A Host header's host: `example.com:8080` → `example.com`,
/// `[::1]:8080` → `::1`.
fn without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// `verify = "none"`: any certificate is accepted. Only the handshake
/// signature is checked (against the certificate sent).
#[derive(Debug)]
pub struct InsecureAcceptAnyServerCert(pub Arc<CryptoProvider>);

impl ServerCertVerifier for InsecureAcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client certificate a server may ask for.
#[derive(Debug)]
struct ClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.key.choose_scheme(schemes).map(|_| self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::without_port;

    #[test]
    fn host_header_ports_are_dropped() {
        assert_eq!(without_port("example.com:8080"), "example.com");
        assert_eq!(without_port("example.com"), "example.com");
        assert_eq!(without_port("[::1]:8080"), "::1");
        assert_eq!(without_port("[::1]"), "::1");
        assert_eq!(without_port("::1"), "::1");
    }
}
