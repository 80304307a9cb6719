//! Trust anchors: a CA bundle file (`client_ca` on a bind, `ca` on a
//! server), and the system's trust store for servers verified without
//! `ca`.
//!
//! The system store is read with `rustls-native-certs` (on Linux, the
//! bundle OpenSSL would use: `SSL_CERT_FILE`/`SSL_CERT_DIR`, else
//! `/etc/ssl/certs/ca-certificates.crt` and its siblings) while the
//! configuration is loaded, that is by the master before chroot. It follows
//! the distribution's `ca-certificates` updates, and an operator's own CA
//! added with `update-ca-certificates`, which a list compiled into the
//! binary (webpki-roots) would not.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;

use super::pem::{self, FileError};

/// The CAs of one PEM file.
#[derive(Debug, Clone)]
pub struct CaBundle {
    pub path: PathBuf,
    pub roots: Arc<RootCertStore>,
}

/// Loads every certificate of a PEM file as a trust anchor; a file with
/// none, or with one that is not a usable CA certificate, is an error.
pub fn load_ca_file(path: &Path) -> Result<CaBundle, FileError> {
    let contents = pem::load(path)?;
    if contents.certs.is_empty() {
        return Err(FileError::new(path, "no certificate in it"));
    }
    let mut roots = RootCertStore::empty();
    for (i, der) in contents.certs.into_iter().enumerate() {
        roots.add(der).map_err(|e| {
            FileError::new(
                path,
                format!("certificate #{} is not a usable CA certificate: {e}", i + 1),
            )
        })?;
    }
    Ok(CaBundle {
        path: path.to_path_buf(),
        roots: Arc::new(roots),
    })
}

/// The system's trust store; an error when it has no usable certificate.
pub fn system_roots() -> Result<Arc<RootCertStore>, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = match found.errors.first() {
            Some(e) => format!(": {e}"),
            None => String::new(),
        };
        return Err(format!(
            "the system's trust store has no CA certificate{why} (install ca-certificates, \
             or give the server a `ca` file)"
        ));
    }
    Ok(Arc::new(roots))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testcerts;

    #[test]
    fn ca_file() {
        let d = std::env::temp_dir().join(format!("weir-roots-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let a = testcerts::ca("CA one");
        let b = testcerts::ca("CA two");
        let p = d.join("cas.pem");
        std::fs::write(&p, format!("{}{}", a.cert_pem, b.cert_pem)).unwrap();
        assert_eq!(load_ca_file(&p).unwrap().roots.len(), 2);
        let leaf = testcerts::leaf(&["x.test"]);
        std::fs::write(&p, &leaf.key_pem).unwrap();
        assert_eq!(load_ca_file(&p).unwrap_err().why, "no certificate in it");
        let _ = std::fs::remove_dir_all(&d);
    }
}
