//! Certificates made at test time (rcgen): self-signed leaves, a CA and
//! leaves it signs, expired and not-yet-valid ones, RSA and ECDSA keys.

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair,
    PKCS_RSA_SHA256,
};
use rustls::pki_types::CertificateDer;

/// A certificate and its key, as PEM and DER.
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
}

impl TestCert {
    /// The certificate then the key, as one `crt` file.
    pub fn combined(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}

/// A CA that signs leaves.
pub struct TestCa {
    pub cert_pem: String,
    cert: Certificate,
    key: KeyPair,
}

fn params(names: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("rcgen params");
    if let Some(first) = names.first() {
        p.distinguished_name.push(DnType::CommonName, *first);
    }
    p
}

fn finish(p: CertificateParams, key: KeyPair, issuer: Option<&TestCa>) -> TestCert {
    let cert = match issuer {
        Some(ca) => p.signed_by(&key, &ca.cert, &ca.key),
        None => p.self_signed(&key),
    }
    .expect("rcgen sign");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

/// A self-signed ECDSA P-256 leaf for these DNS names (the first is the CN).
pub fn leaf(names: &[&str]) -> TestCert {
    finish(params(names), KeyPair::generate().expect("key"), None)
}

/// A leaf valid only between these years.
pub fn leaf_valid(names: &[&str], from: i32, to: i32) -> TestCert {
    let mut p = params(names);
    p.not_before = date_time_ymd(from, 1, 1);
    p.not_after = date_time_ymd(to, 1, 1);
    finish(p, KeyPair::generate().expect("key"), None)
}

/// A leaf with no subjectAltName, only a CN.
pub fn cn_only(cn: &str) -> TestCert {
    let mut p = params(&[]);
    p.distinguished_name.push(DnType::CommonName, cn);
    finish(p, KeyPair::generate().expect("key"), None)
}

/// A new CA.
pub fn ca(cn: &str) -> TestCa {
    let mut p = params(&[]);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("ca");
    TestCa {
        cert_pem: cert.pem(),
        cert,
        key,
    }
}

/// A leaf signed by `ca`.
pub fn signed(ca: &TestCa, names: &[&str]) -> TestCert {
    finish(params(names), KeyPair::generate().expect("key"), Some(ca))
}

/// An RSA 2048 leaf signed by `ca`.
pub fn signed_rsa(ca: &TestCa, names: &[&str]) -> TestCert {
    let key = KeyPair::generate_for(&PKCS_RSA_SHA256).expect("rsa key");
    finish(params(names), key, Some(ca))
}
