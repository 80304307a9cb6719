//! Real handshakes in memory between the configurations this module builds:
//! a rustls client and server exchanging records through byte buffers.
//! `handshake_rates` (ignored; `cargo test --release -p weir-core
//! handshake_rates -- --ignored --nocapture`) measures handshakes per
//! second for the provider choice in docs/architecture.md.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore, ServerConnection};

use super::client::Connector;
use super::crt::{load_file, LoadedCert};
use super::roots::CaBundle;
use super::server::Acceptor;
use super::testcerts::{self, TestCa, TestCert};
use super::tickets::{TicketKeys, Ticketer};
use crate::config::model::{BindTls, ClientVerify, ServerSni, ServerTls, ServerVerify, TlsVersion};

fn dir() -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("weir-hs-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn loaded(c: &TestCert) -> Arc<LoadedCert> {
    let p = dir().join("cert.pem");
    std::fs::write(&p, c.combined()).expect("write");
    Arc::new(load_file(&p).expect("load"))
}

fn roots(ca: &TestCa) -> Arc<RootCertStore> {
    let mut r = RootCertStore::empty();
    let der =
        rustls::pki_types::pem::PemObject::from_pem_slice(ca.cert_pem.as_bytes()).expect("ca pem");
    r.add(der).expect("ca");
    Arc::new(r)
}

fn bind(certs: Vec<Arc<LoadedCert>>) -> BindTls {
    BindTls {
        certs,
        default_crt: None,
        strict_sni: false,
        alpn: vec!["http/1.1".into()],
        min_version: TlsVersion::V1_2,
        max_version: TlsVersion::V1_3,
        ciphersuites: None,
        client_ca: None,
        verify: ClientVerify::None,
        handshake_timeout: Duration::from_secs(5),
        resumption: true,
    }
}

fn client(ca: &TestCa) -> ServerTls {
    ServerTls {
        verify: ServerVerify::Required,
        roots: Some(roots(ca)),
        ca: None,
        sni: ServerSni::Name("a.test".into()),
        alpn: vec!["http/1.1".into()],
        crt: None,
    }
}

/// Runs a handshake; the client and server connections after it, or the
/// first error.
fn handshake(
    server: &Acceptor,
    client: &Arc<ClientConfig>,
    name: &str,
) -> Result<(ClientConnection, ServerConnection), rustls::Error> {
    let name = ServerName::try_from(name.to_string()).expect("name");
    let mut c = ClientConnection::new(client.clone(), name)?;
    let mut s = ServerConnection::new(server.config.clone())?;
    let mut buf = Vec::new();
    for _ in 0..20 {
        let mut moved = false;
        while c.wants_write() {
            buf.clear();
            c.write_tls(&mut buf).expect("write");
            s.read_tls(&mut &buf[..]).expect("read");
            s.process_new_packets()?;
            moved = true;
        }
        while s.wants_write() {
            buf.clear();
            s.write_tls(&mut buf).expect("write");
            c.read_tls(&mut &buf[..]).expect("read");
            c.process_new_packets()?;
            moved = true;
        }
        if !moved && !c.is_handshaking() && !s.is_handshaking() {
            break;
        }
    }
    Ok((c, s))
}

fn served_name(c: &ClientConnection) -> String {
    let der = &c.peer_certificates().expect("certs")[0];
    super::x509::CertInfo::parse(der).expect("x509").dns_names[0].clone()
}

#[test]
fn sni_picks_the_certificate_and_strict_refuses() {
    let ca = testcerts::ca("Test CA");
    let a = loaded(&testcerts::signed(&ca, &["a.test"]));
    let w = loaded(&testcerts::signed(&ca, &["*.w.test"]));
    let acceptor = Acceptor::from_bind(&bind(vec![a, w.clone()]), None).expect("acceptor");
    let conn = Connector::from_server(&client(&ca)).expect("connector");
    for (sni, want) in [("a.test", "a.test"), ("x.w.test", "*.w.test")] {
        let (c, s) = handshake(&acceptor, &conn.config, sni).expect("handshake");
        assert_eq!(served_name(&c), want);
        assert_eq!(s.server_name(), Some(sni));
        assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
    // No match: the first certificate, which does not name it: the
    // client's verification fails.
    assert!(handshake(&acceptor, &conn.config, "other.test").is_err());
    let mut strict = bind(vec![w]);
    strict.strict_sni = true;
    let strict = Acceptor::from_bind(&strict, None).expect("acceptor");
    let err = handshake(&strict, &conn.config, "a.test").expect_err("refused");
    assert!(err.to_string().contains("no server certificate"), "{err}");
}

#[test]
fn client_certificates_required_and_optional() {
    let ca = testcerts::ca("Test CA");
    let client_ca = testcerts::ca("Client CA");
    let mut b = bind(vec![loaded(&testcerts::signed(&ca, &["a.test"]))]);
    b.client_ca = Some(CaBundle {
        path: PathBuf::from("client-ca.pem"),
        roots: roots(&client_ca),
    });
    b.verify = ClientVerify::Required;
    let required = Acceptor::from_bind(&b, None).expect("acceptor");
    b.verify = ClientVerify::Optional;
    let optional = Acceptor::from_bind(&b, None).expect("acceptor");
    let anonymous = Connector::from_server(&client(&ca)).expect("connector");
    let mut with_cert = client(&ca);
    with_cert.crt = Some(loaded(&testcerts::signed(&client_ca, &["client.test"])));
    let with_cert = Connector::from_server(&with_cert).expect("connector");
    assert!(handshake(&required, &with_cert.config, "a.test").is_ok());
    let (_, s) = handshake(&required, &with_cert.config, "a.test").expect("hs");
    assert!(s.peer_certificates().is_some());
    assert!(handshake(&required, &anonymous.config, "a.test").is_err());
    assert!(handshake(&optional, &anonymous.config, "a.test").is_ok());
}

#[test]
fn tickets_resume_across_instances_and_resumption_off() {
    let ca = testcerts::ca("Test CA");
    let cert = loaded(&testcerts::signed(&ca, &["a.test"]));
    let ring = TicketKeys::generate().expect("ring");
    let hour = Duration::from_secs(3600);
    // Two workers: same key ring bytes, separate ticketers.
    let w1 = Acceptor::from_bind(&bind(vec![cert.clone()]), Some(Ticketer::new(&ring, hour)));
    let other = TicketKeys::from_bytes(&ring.to_bytes()).expect("bytes");
    let w2 = Acceptor::from_bind(&bind(vec![cert.clone()]), Some(Ticketer::new(&other, hour)));
    let (w1, w2) = (w1.expect("w1"), w2.expect("w2"));
    let conn = Connector::from_server(&client(&ca)).expect("connector");
    let (c, _) = handshake(&w1, &conn.config, "a.test").expect("first");
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    let (c, _) = handshake(&w2, &conn.config, "a.test").expect("second");
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed));
    let mut off = bind(vec![cert]);
    off.resumption = false;
    let off = Acceptor::from_bind(&off, None).expect("off");
    for _ in 0..2 {
        let (c, _) = handshake(&off, &conn.config, "a.test").expect("off");
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    }
}

/// Counts what a session cache is asked.
#[derive(Debug, Default)]
struct Lookups(std::sync::Mutex<Vec<bool>>);

impl super::server::CacheObserver for Lookups {
    fn lookup(&self, found: bool) {
        self.0.lock().expect("lock").push(found);
    }
}

#[test]
fn session_id_lookups_are_observed() {
    let ca = testcerts::ca("Test CA");
    let mut b = bind(vec![loaded(&testcerts::signed(&ca, &["a.test"]))]);
    b.max_version = TlsVersion::V1_2;
    let seen = Arc::new(Lookups::default());
    let acceptor = Acceptor::observed(&b, None, Some(seen.clone())).expect("acceptor");
    let conn = Connector::from_server(&client(&ca)).expect("connector");
    let mut cc = (*conn.config).clone();
    cc.resumption = rustls::client::Resumption::in_memory_sessions(8)
        .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
    let cc = Arc::new(cc);
    let (c, _) = handshake(&acceptor, &cc, "a.test").expect("first");
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    let (c, _) = handshake(&acceptor, &cc, "a.test").expect("second");
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed));
    let seen = seen.0.lock().expect("lock").clone();
    assert_eq!(
        seen.last(),
        Some(&true),
        "the resumed session was found: {seen:?}"
    );
    assert!(seen.len() <= 2, "{seen:?}");
}

#[test]
fn versions_and_suites() {
    let ca = testcerts::ca("Test CA");
    let mut b = bind(vec![loaded(&testcerts::signed(&ca, &["a.test"]))]);
    b.max_version = TlsVersion::V1_2;
    b.ciphersuites = Some(vec!["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into()]);
    let acceptor = Acceptor::from_bind(&b, None).expect("acceptor");
    let conn = Connector::from_server(&client(&ca)).expect("connector");
    let (c, _) = handshake(&acceptor, &conn.config, "a.test").expect("hs");
    assert_eq!(c.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    let suite = c.negotiated_cipher_suite().expect("suite");
    assert_eq!(
        super::suites::iana_name(suite),
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    );
}

#[test]
fn server_verification_and_names() {
    let ca = testcerts::ca("Test CA");
    let acceptor = Acceptor::from_bind(&bind(vec![loaded(&testcerts::leaf(&["a.test"]))]), None)
        .expect("acceptor");
    // Self-signed: refused when verifying, accepted with verify = "none".
    let strict = Connector::from_server(&client(&ca)).expect("connector");
    assert!(handshake(&acceptor, &strict.config, "a.test").is_err());
    let mut none = client(&ca);
    none.verify = ServerVerify::None;
    none.roots = None;
    let none = Connector::from_server(&none).expect("connector");
    assert!(handshake(&acceptor, &none.config, "a.test").is_ok());
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut host = client(&ca);
    host.sni = ServerSni::RequestHost {
        fallback: Some("origin.test".into()),
    };
    let host = Connector::from_server(&host).expect("connector");
    let name = |c: &Connector, h| format!("{:?}", c.server_name(h, ip));
    assert!(name(&host, Some("www.test")).contains("www.test"));
    assert!(name(&host, Some("WWW.test:8443")).contains("\"www.test\""));
    assert!(name(&host, Some("[::1]:8443")).contains("IpAddress"));
    assert!(name(&host, None).contains("origin.test"));
    assert!(name(&strict, Some("www.test")).contains("a.test"));
    let mut addr = client(&ca);
    addr.sni = ServerSni::Address(ip);
    let addr = Connector::from_server(&addr).expect("connector");
    assert!(name(&addr, Some("www.test")).contains("IpAddress"));
}

/// Handshakes per second, client and server both in this thread (so each
/// figure is the cost of one client plus one server).
#[test]
#[ignore]
fn handshake_rates() {
    let ca = testcerts::ca("Bench CA");
    let secs = 3.0;
    let cases: [(&str, TestCert, bool); 3] = [
        (
            "TLS 1.3 full, ECDSA P-256",
            testcerts::signed(&ca, &["a.test"]),
            false,
        ),
        (
            "TLS 1.3 full, RSA 2048",
            testcerts::signed_rsa(&ca, &["a.test"]),
            false,
        ),
        (
            "TLS 1.3 resumed (ticket)",
            testcerts::signed(&ca, &["a.test"]),
            true,
        ),
    ];
    for (label, cert, resume) in cases {
        let mut b = bind(vec![loaded(&cert)]);
        b.min_version = TlsVersion::V1_3;
        b.resumption = resume;
        let acceptor = Acceptor::from_bind(&b, None).expect("acceptor");
        let conn = Connector::from_server(&client(&ca)).expect("connector");
        let mut config = (*conn.config).clone();
        if !resume {
            config.resumption = rustls::client::Resumption::disabled();
        }
        let config = Arc::new(config);
        let start = Instant::now();
        let (mut n, mut resumed) = (0u32, 0u32);
        while start.elapsed().as_secs_f64() < secs {
            let (c, _) = handshake(&acceptor, &config, "a.test").expect("hs");
            n += 1;
            resumed += u32::from(c.handshake_kind() == Some(HandshakeKind::Resumed));
        }
        let (c, _) = handshake(&acceptor, &config, "a.test").expect("hs");
        let group = c.negotiated_key_exchange_group().map(|g| g.name());
        println!(
            "{label}: {:.0} handshakes/s ({resumed}/{n} resumed, key exchange {group:?})",
            f64::from(n) / start.elapsed().as_secs_f64()
        );
    }
}
