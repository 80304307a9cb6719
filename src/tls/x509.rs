//! What weir reads in a certificate: the names SNI is matched against, the
//! validity period, the serial and the subject and issuer (for `weir -c`
//! warnings and, later, `show ssl cert`). Parsed with `x509-parser`.

use rustls::pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

/// A certificate's facts, as `show ssl cert` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// RFC 4514 form, such as `CN=www.example.com, O=Example`.
    pub subject: String,
    pub issuer: String,
    /// Upper-case hex, no separators (HAProxy's `Serial:`).
    pub serial: String,
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// The subjectAltName DNS names as written (lower-cased); the subject's
    /// CN when there is no DNS name (RFC 6125's fallback, as HAProxy).
    pub dns_names: Vec<String>,
}

/// Where "now" falls in a certificate's validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid,
    NotYetValid,
    Expired,
}

impl CertInfo {
    /// Reads a DER certificate.
    pub fn parse(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
        let (_, cert) = X509Certificate::from_der(der.as_ref())
            .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
        let mut dns_names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::DNSName(n) = name {
                    dns_names.push(n.to_ascii_lowercase());
                }
            }
        }
        if dns_names.is_empty() {
            if let Some(cn) = cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
            {
                dns_names.push(cn.to_ascii_lowercase());
            }
        }
        let serial = cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            dns_names,
        })
    }

    /// Where `now` (seconds since the epoch) falls.
    pub fn validity_at(&self, now: i64) -> Validity {
        if now < self.not_before {
            Validity::NotYetValid
        } else if now > self.not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A date as `YYYY-MM-DD HH:MM:SS UTC`, for messages.
pub fn format_time(secs: i64) -> String {
    match x509_parser::time::ASN1Time::from_timestamp(secs) {
        Ok(t) => {
            let d = t.to_datetime();
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                d.year(),
                u8::from(d.month()),
                d.day(),
                d.hour(),
                d.minute(),
                d.second()
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
    fn names_serial_dates() {
        let c = testcerts::leaf_valid(&["WWW.Example.com", "*.example.com"], 2020, 2030);
        let info = CertInfo::parse(&c.der).unwrap();
        assert_eq!(info.dns_names, ["www.example.com", "*.example.com"]);
        assert!(
            info.subject.contains("CN=WWW.Example.com"),
            "{}",
            info.subject
        );
        assert!(!info.serial.is_empty());
        assert!(info.serial.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(format_time(info.not_before), "2020-01-01 00:00:00 UTC");
        assert_eq!(info.validity_at(info.not_before - 1), Validity::NotYetValid);
        assert_eq!(info.validity_at(info.not_after + 1), Validity::Expired);
        assert_eq!(info.validity_at(now()), Validity::Valid);
    }

    #[test]
    fn cn_is_the_fallback_name() {
        let c = testcerts::cn_only("legacy.example.com");
        let info = CertInfo::parse(&c.der).unwrap();
        assert_eq!(info.dns_names, ["legacy.example.com"]);
    }

    #[test]
    fn garbage_is_refused() {
        let der = CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]);
        assert!(CertInfo::parse(&der).is_err());
    }
}
