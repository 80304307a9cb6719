//! TLS clients for the tests: rustls over a real socket (a connection the
//! test keeps open, sessions it resumes), and `openssl s_client`, as an
//! operator would run it, for the certificate a new handshake gets.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore, StreamOwned};

use super::client;

/// A client configuration that trusts `ca_pem` and remembers sessions
/// (each configuration its own store: a new one starts with none).
pub fn config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA PEM");
    roots.add(der).expect("CA");
    let c = ClientConfig::builder_with_provider(weir_core::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(c)
}

/// A TLS connection to weir, its handshake done.
pub struct TlsConn {
    pub stream: StreamOwned<ClientConnection, TcpStream>,
}

/// Connects to 127.0.0.1:`port` with SNI `sni` and completes the
/// handshake (the certificate verified against the configuration's CA).
pub fn connect(port: u16, sni: &str, config: &Arc<ClientConfig>) -> io::Result<TlsConn> {
    let sock = client::connect(port)?;
    let name = ServerName::try_from(sni.to_string()).map_err(io::Error::other)?;
    let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, sock);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(TlsConn { stream })
}

impl TlsConn {
    /// The CN of the certificate the server presented.
    pub fn served_cn(&self) -> String {
        let certs = self.stream.conn.peer_certificates().unwrap_or_default();
        let der = certs.first().expect("a server certificate");
        cn(der)
    }

    /// The certificate the server presented, as DER.
    pub fn served(&self) -> Vec<u8> {
        let certs = self.stream.conn.peer_certificates().unwrap_or_default();
        certs.first().map(|c| c.to_vec()).unwrap_or_default()
    }

    /// Whether the handshake resumed a session.
    pub fn resumed(&self) -> bool {
        self.stream.conn.handshake_kind() == Some(HandshakeKind::Resumed)
    }

    /// Sends `msg` and reads as many bytes back (through an echo origin);
    /// reading also takes the session tickets the server sent.
    pub fn echo(&mut self, msg: &[u8]) -> io::Result<Vec<u8>> {
        self.stream.write_all(msg)?;
        self.stream.flush()?;
        let mut back = vec![0u8; msg.len()];
        self.stream.read_exact(&mut back)?;
        Ok(back)
    }
}

/// The CN of a DER certificate.
pub fn cn(der: &CertificateDer<'_>) -> String {
    let info = weir_core::tls::x509::CertInfo::parse(der).expect("X.509");
    info.subject
        .split(", ")
        .find_map(|p| p.strip_prefix("CN="))
        .unwrap_or("")
        .to_string()
}

/// What `openssl s_client -connect 127.0.0.1:PORT -servername SNI` says
/// of the server's certificate: its `subject=` line (`None` if the
/// handshake failed).
pub fn s_client_subject(port: u16, sni: &str) -> Option<String> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", sni])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("openssl (Debian package openssl)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("subject="))
        .map(str::to_string)
}
