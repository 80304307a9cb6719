//! A certificate as the runtime API's `show ssl cert FILE` describes it,
//! in HAProxy's forms (which are OpenSSL's): names as one line
//! (`/CN=www.example.com/O=Example`), dates as `Dec  6 21:02:20 2026 GMT`,
//! the subjectAltName as `DNS:a.test, IP Address:10.0.0.1`, the key as
//! `EC256` or `RSA2048`, and the SHA-1 fingerprint of the DER.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use rustls::pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

/// What `show ssl cert FILE` prints of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// Upper-case hex, without leading zero bytes (OpenSSL's `BN_bn2hex`).
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// `DNS:a.test, DNS:www.a.test` (empty without the extension).
    pub san: String,
    /// `EC256`, `RSA2048`, `ED25519`…
    pub algorithm: String,
    /// Upper-case hex of the SHA-1 digest of the DER.
    pub sha1: String,
    pub subject: String,
    pub issuer: String,
}

impl Details {
    /// Reads a DER certificate.
    pub fn parse(der: &CertificateDer<'_>) -> Result<Details, String> {
        let (_, cert) = X509Certificate::from_der(der.as_ref())
            .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
        let raw = cert.raw_serial();
        let first = raw
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(raw.len().saturating_sub(1));
        let serial = raw[first..].iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        });
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref());
        let sha1 = digest.as_ref().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        });
        Ok(Details {
            serial,
            not_before: openssl_time(cert.validity().not_before.timestamp()),
            not_after: openssl_time(cert.validity().not_after.timestamp()),
            san: san(&cert),
            algorithm: algorithm(&cert),
            sha1,
            subject: oneline(cert.subject()),
            issuer: oneline(cert.issuer()),
        })
    }
}

/// A name as OpenSSL's `X509_NAME_oneline` writes it: `/SN=value` per
/// attribute, in the certificate's order.
pub fn oneline(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for attr in name.iter_attributes() {
        let oid = attr.attr_type();
        let id = oid.to_id_string();
        let key = match short_name(&id) {
            Some(sn) => sn.to_string(),
            None => oid2sn(oid, oid_registry()).map_or(id, str::to_string),
        };
        let value = match attr.as_str() {
            Ok(s) => s.to_string(),
            Err(_) => String::from_utf8_lossy(attr.attr_value().data).into_owned(),
        };
        let _ = write!(out, "/{key}={value}");
    }
    out
}

/// OpenSSL's short names of the attributes names are made of.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// The subjectAltName entries, OpenSSL's way.
fn san(cert: &X509Certificate<'_>) -> String {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return String::new();
    };
    let names: Vec<String> = ext
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
            GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
            GeneralName::URI(u) => Some(format!("URI:{u}")),
            GeneralName::IPAddress(b) => Some(format!("IP Address:{}", ip(b))),
            _ => None,
        })
        .collect();
    names.join(", ")
}

fn ip(b: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(b) {
        return Ipv6Addr::from(v6).to_string();
    }
    "<invalid>".into()
}

/// HAProxy's key description: the algorithm and its size in bits.
fn algorithm(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.3.101.112" => return "ED25519".into(),
        "1.3.101.113" => return "ED448".into(),
        _ => {}
    }
    match spki.parsed() {
        Ok(k @ PublicKey::RSA(_)) => format!("RSA{}", k.key_size()),
        Ok(k @ PublicKey::EC(_)) => format!("EC{}", k.key_size()),
        Ok(k @ PublicKey::DSA(_)) => format!("DSA{}", k.key_size()),
        _ => "unknown".into(),
    }
}

/// OpenSSL's `ASN1_TIME_print`: `Dec  6 21:02:20 2026 GMT`.
pub fn openssl_time(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match x509_parser::time::ASN1Time::from_timestamp(secs) {
        Ok(t) => {
            let d = t.to_datetime();
            let month = MONTHS
                .get(usize::from(u8::from(d.month())).saturating_sub(1))
                .copied()
                .unwrap_or("???");
            format!(
                "{month} {:2} {:02}:{:02}:{:02} {} GMT",
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.year()
            )
        }
        Err(_) => format!("{secs} (seconds since 1970)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testcerts;

    #[test]
    fn openssls_forms() {
        let c = testcerts::leaf_valid(&["a.test", "www.a.test"], 2020, 2030);
        let d = Details::parse(&c.der).unwrap();
        assert_eq!(d.not_before, "Jan  1 00:00:00 2020 GMT");
        assert_eq!(d.not_after, "Jan  1 00:00:00 2030 GMT");
        assert_eq!(d.san, "DNS:a.test, DNS:www.a.test");
        assert_eq!(d.algorithm, "EC256");
        assert_eq!(d.subject, "/CN=a.test");
        assert_eq!(d.issuer, "/CN=a.test");
        assert_eq!(d.sha1.len(), 40);
        assert!(d
            .sha1
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        assert!(!d.serial.starts_with("00"), "{}", d.serial);
        assert_eq!(openssl_time(1_796_591_340), "Dec  6 21:09:00 2026 GMT");
        let ca = testcerts::ca("Weir Test CA");
        let leaf = testcerts::signed(&ca, &["b.test"]);
        let d = Details::parse(&leaf.der).unwrap();
        assert_eq!(
            (d.subject.as_str(), d.issuer.as_str()),
            ("/CN=b.test", "/CN=Weir Test CA")
        );
    }

    #[test]
    fn rsa_keys() {
        let ca = testcerts::ca("Weir Test CA");
        let c = testcerts::signed_rsa(&ca, &["r.test"]);
        assert_eq!(Details::parse(&c.der).unwrap().algorithm, "RSA2048");
    }
}
