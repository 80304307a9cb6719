//! Cipher suites by IANA name (`TLS_AES_128_GCM_SHA256`,
//! `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`), as `ciphersuites` lists them.
//!
//! The names are those of the provider's suites: TLS 1.3's three and TLS
//! 1.2's six ECDHE AEAD suites; rustls implements nothing weaker (no CBC,
//! no static RSA key exchange). OpenSSL's spellings (`ECDHE-RSA-AES128-GCM-SHA256`)
//! are not accepted, but an error names the IANA name they stand for.

use rustls::{CipherSuite, ProtocolVersion, SupportedCipherSuite};

/// The default order of preference (the server's order wins): AES-128-GCM
/// first, then AES-256-GCM, then ChaCha20-Poly1305, for TLS 1.3 then 1.2,
/// as Mozilla's recommended configurations, Go and BoringSSL order them.
/// rustls lists AES-256-GCM first; AES-128-GCM is as safe, takes 10 AES
/// rounds rather than 14 per block, and its TLS 1.3 suite hashes with
/// SHA-256 rather than SHA-384: bulk transfers cost less CPU.
pub const PREFERENCE: &[CipherSuite] = &[
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// Puts `suites` in [`PREFERENCE`]'s order (any suite it does not list
/// last, in the order given).
pub fn order(suites: &mut [SupportedCipherSuite]) {
    suites.sort_by_key(|s| {
        PREFERENCE
            .iter()
            .position(|c| *c == s.suite())
            .unwrap_or(PREFERENCE.len())
    });
}

/// OpenSSL names of the suites weir has, with their IANA names.
const OPENSSL: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// Every suite weir can use, with its IANA name, in the default order of
/// preference ([`PREFERENCE`]).
pub fn all() -> Vec<(String, SupportedCipherSuite)> {
    super::provider()
        .cipher_suites
        .iter()
        .map(|s| (iana_name(*s), *s))
        .collect()
}

/// The IANA name of a suite (rustls writes TLS 1.3's as `TLS13_…`).
pub fn iana_name(suite: SupportedCipherSuite) -> String {
    let name = suite
        .suite()
        .as_str()
        .map_or_else(|| format!("{:?}", suite.suite()), str::to_string);
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// The suite of an IANA name (exact, upper case), or why not.
pub fn by_name(name: &str) -> Result<SupportedCipherSuite, String> {
    if let Some((_, s)) = all().into_iter().find(|(n, _)| n == name) {
        return Ok(s);
    }
    let upper = name.to_ascii_uppercase();
    if let Some((_, iana)) = OPENSSL.iter().find(|(o, _)| *o == upper) {
        return Err(format!(
            "unknown cipher suite \"{name}\": that is OpenSSL's name; write the IANA name \"{iana}\""
        ));
    }
    let names: Vec<String> = all().into_iter().map(|(n, _)| n).collect();
    let hint = crate::config::diag::did_you_mean(&upper, names.iter().map(String::as_str));
    Err(format!(
        "unknown cipher suite \"{name}\"{hint}: expected one of {}",
        names.join(", ")
    ))
}

/// The TLS version a suite belongs to: "1.2" or "1.3".
pub fn version_of(suite: SupportedCipherSuite) -> &'static str {
    match suite.version().version {
        ProtocolVersion::TLSv1_3 => "1.3",
        _ => "1.2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_round_trip() {
        let names: Vec<String> = all().into_iter().map(|(n, _)| n).collect();
        for want in [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
            assert_eq!(iana_name(by_name(want).unwrap()), want);
        }
        assert_eq!(
            version_of(by_name("TLS_AES_128_GCM_SHA256").unwrap()),
            "1.3"
        );
        assert_eq!(
            version_of(by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").unwrap()),
            "1.2"
        );
    }

    #[test]
    fn aes_128_gcm_is_preferred_by_default() {
        let names: Vec<String> = all().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
    }

    #[test]
    fn unknown_names_get_help() {
        let e = by_name("ECDHE-RSA-AES128-GCM-SHA256").unwrap_err();
        assert!(
            e.contains("write the IANA name \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\""),
            "{e}"
        );
        let e = by_name("TLS_AES_128_GCM_SHA265").unwrap_err();
        assert!(e.contains("did you mean `TLS_AES_128_GCM_SHA256`"), "{e}");
        let e = by_name("TLS_RSA_WITH_AES_128_CBC_SHA").unwrap_err();
        assert!(e.contains("expected one of"), "{e}");
    }
}
