//! A bind's `crt`: PEM files and directories of them, loaded and checked as
//! HAProxy's `crt` does.
//!
//! - A file holds a certificate chain (leaf first) and its private key, in
//!   either order. Without a key in it, the key is read from `FILE.key`,
//!   else from the file with its extension replaced by `.key`
//!   (`site.pem` → `site.pem.key`, then `site.key`).
//! - A directory: its regular files in name (byte) order, except names
//!   starting with `.` and HAProxy's reserved extensions [`SKIPPED`]
//!   (`.key`, `.issuer`, `.ocsp`, `.sctl`). A directory with no such file
//!   is an error.
//!
//! Errors: an unreadable file (and why: permission denied, no such file),
//! not PEM, no certificate, no key, a key rustls cannot use, a key that does
//! not match its certificate. Warnings: a certificate expired or not yet
//! valid, a certificate with no DNS name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::sign::CertifiedKey;

use super::pem::{self, FileError};
use super::x509::{self, CertInfo, Validity};

/// File extensions a `crt` directory skips (HAProxy's reserved ones).
pub const SKIPPED: &[&str] = &["key", "issuer", "ocsp", "sctl"];

/// One certificate, ready for rustls, with what `show ssl cert` reports.
#[derive(Debug, Clone)]
pub struct LoadedCert {
    /// The certificate's file (for a directory, the file in it).
    pub path: PathBuf,
    /// The private key's file, when it is not `path`.
    pub key_path: Option<PathBuf>,
    pub certified: Arc<CertifiedKey>,
    pub info: CertInfo,
}

/// What loading some `crt` entries found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub certs: Vec<LoadedCert>,
    pub errors: Vec<FileError>,
    pub warnings: Vec<FileError>,
}

/// Loads every entry (file or directory) in order.
pub fn load_all(entries: &[PathBuf]) -> Loaded {
    let mut out = Loaded::default();
    for entry in entries {
        load_entry(entry, &mut out);
    }
    out
}

/// Loads one entry: a file, or every certificate file of a directory.
pub fn load_entry(path: &Path, out: &mut Loaded) {
    let files = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => match dir_files(path) {
            Ok(files) => files,
            Err(e) => return out.errors.push(e),
        },
        _ => vec![path.to_path_buf()],
    };
    for file in files {
        match load_file(&file) {
            Ok(cert) => {
                out.warnings.extend(warnings(&cert, x509::now()));
                out.certs.push(cert);
            }
            Err(e) => out.errors.push(e),
        }
    }
}

/// The certificate files of a directory, in name order.
pub fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FileError::new(dir, pem::io_why(&e)))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            !name.starts_with('.') && !SKIPPED.contains(&ext) && p.is_file()
        })
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        let why = format!(
            "the directory holds no certificate file (files starting with '.' and ending \
             in .{} are skipped)",
            SKIPPED.join(", .")
        );
        return Err(FileError::new(dir, why));
    }
    Ok(files)
}

/// Loads one PEM file and its key; checks that they match.
pub fn load_file(path: &Path) -> Result<LoadedCert, FileError> {
    build(path, pem::load(path)?, true)
}

/// A certificate from PEM text that holds the chain and the key (the
/// runtime API's `set ssl cert FILE` payload); `path` is the file it
/// replaces, for [`super::CertStore::replace`] and messages.
pub fn from_pem(path: &Path, text: &[u8]) -> Result<LoadedCert, FileError> {
    build(path, pem::parse(path, text)?, false)
}

/// Checks PEM contents: one certificate chain, one key (from beside the
/// file when `key_beside` and there is none), matching.
fn build(
    path: &Path,
    mut contents: pem::PemContents,
    key_beside: bool,
) -> Result<LoadedCert, FileError> {
    if contents.certs.is_empty() {
        return Err(FileError::new(path, "no certificate in it"));
    }
    if contents.keys.len() > 1 {
        return Err(FileError::new(
            path,
            "more than one private key in it: one certificate and its key per file",
        ));
    }
    let (key, key_path) = match contents.keys.pop() {
        Some(key) => (key, None),
        None if key_beside => separate_key(path)?,
        None => return Err(FileError::new(path, "no private key in it")),
    };
    let key_file = key_path.as_deref().unwrap_or(path);
    let signing = super::provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| FileError::new(key_file, format!("unusable private key: {e}")))?;
    let info = CertInfo::parse(&contents.certs[0]).map_err(|e| FileError::new(path, e))?;
    let certified = CertifiedKey::new(contents.certs, signing);
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
        certified.keys_match()
    {
        let why = match &key_path {
            Some(k) => format!(
                "the private key in \"{}\" does not match the certificate ({})",
                k.display(),
                info.subject
            ),
            None => format!(
                "the private key does not match the certificate ({})",
                info.subject
            ),
        };
        return Err(FileError::new(path, why));
    }
    Ok(LoadedCert {
        path: path.to_path_buf(),
        key_path,
        certified: Arc::new(certified),
        info,
    })
}

/// The key of a certificate file that has none: `PATH.key`, then the path
/// with its extension replaced by `.key`.
fn separate_key(
    path: &Path,
) -> Result<(rustls::pki_types::PrivateKeyDer<'static>, Option<PathBuf>), FileError> {
    let mut candidates = vec![PathBuf::from(format!("{}.key", path.display()))];
    if path.extension().is_some_and(|e| e != "key") {
        candidates.push(path.with_extension("key"));
    }
    let Some(key_path) = candidates.iter().find(|p| p.exists()) else {
        let tried: Vec<String> = candidates
            .iter()
            .map(|p| format!("\"{}\"", p.display()))
            .collect();
        return Err(FileError::new(
            path,
            format!("no private key in it, nor in {}", tried.join(" or ")),
        ));
    };
    let mut contents = pem::load(key_path)?;
    match (contents.keys.pop(), contents.keys.is_empty()) {
        (Some(key), true) => Ok((key, Some(key_path.clone()))),
        (Some(_), false) => Err(FileError::new(key_path, "more than one private key in it")),
        (None, _) => Err(FileError::new(key_path, "no private key in it")),
    }
}

/// The warnings a loaded certificate deserves at `now`.
pub fn warnings(cert: &LoadedCert, now: i64) -> Vec<FileError> {
    let mut out = Vec::new();
    let info = &cert.info;
    match info.validity_at(now) {
        Validity::Valid => {}
        Validity::Expired => out.push(FileError::new(
            &cert.path,
            format!(
                "the certificate ({}) expired on {}",
                info.subject,
                x509::format_time(info.not_after)
            ),
        )),
        Validity::NotYetValid => out.push(FileError::new(
            &cert.path,
            format!(
                "the certificate ({}) is not valid before {}",
                info.subject,
                x509::format_time(info.not_before)
            ),
        )),
    }
    if info.dns_names.is_empty() {
        out.push(FileError::new(
            &cert.path,
            format!(
                "the certificate ({}) has no DNS name: no SNI selects it, it is served only \
                 as the default",
                info.subject
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testcerts;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("weir-crt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn combined_file_and_separate_keys() {
        let d = tmp("sep");
        let a = testcerts::leaf(&["a.test"]);
        let b = testcerts::leaf(&["b.test"]);
        let c = testcerts::leaf(&["c.test"]);
        std::fs::write(d.join("a.pem"), a.combined()).unwrap();
        std::fs::write(d.join("b.pem"), &b.cert_pem).unwrap();
        std::fs::write(d.join("b.pem.key"), &b.key_pem).unwrap();
        std::fs::write(d.join("c.crt"), &c.cert_pem).unwrap();
        std::fs::write(d.join("c.key"), &c.key_pem).unwrap();
        std::fs::write(d.join(".hidden.pem"), "junk").unwrap();
        std::fs::write(d.join("c.crt.ocsp"), "junk").unwrap();
        let got = load_all(std::slice::from_ref(&d));
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        let names: Vec<&str> = got
            .certs
            .iter()
            .map(|c| c.info.dns_names[0].as_str())
            .collect();
        assert_eq!(names, ["a.test", "b.test", "c.test"]);
        assert_eq!(got.certs[1].key_path, Some(d.join("b.pem.key")));
        assert_eq!(got.certs[2].key_path, Some(d.join("c.key")));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn mismatched_missing_and_empty() {
        let d = tmp("bad");
        let a = testcerts::leaf(&["a.test"]);
        let b = testcerts::leaf(&["b.test"]);
        std::fs::write(d.join("mix.pem"), format!("{}{}", a.cert_pem, b.key_pem)).unwrap();
        std::fs::write(d.join("nokey.pem"), &a.cert_pem).unwrap();
        std::fs::write(d.join("keyonly.pem"), &a.key_pem).unwrap();
        let e = load_file(&d.join("mix.pem")).unwrap_err();
        assert!(e.why.contains("does not match"), "{e}");
        let e = load_file(&d.join("nokey.pem")).unwrap_err();
        assert!(e.why.contains("no private key in it, nor in"), "{e}");
        assert!(e.why.contains("nokey.key"), "{e}");
        let e = load_file(&d.join("keyonly.pem")).unwrap_err();
        assert_eq!(e.why, "no certificate in it");
        let empty = d.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::write(empty.join("x.key"), &a.key_pem).unwrap();
        let got = load_all(&[empty]);
        assert!(got.errors[0].why.contains("holds no certificate file"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_pem_payload_replaces_a_file() {
        let a = testcerts::leaf(&["a.test"]);
        let p = Path::new("/etc/weir/site.pem");
        let got = from_pem(p, a.combined().as_bytes()).unwrap();
        assert_eq!((got.path.as_path(), got.key_path.as_deref()), (p, None));
        let e = from_pem(p, a.cert_pem.as_bytes()).unwrap_err();
        assert_eq!(e.why, "no private key in it");
    }

    #[test]
    fn expired_and_nameless_warn() {
        let d = tmp("warn");
        let old = testcerts::leaf_valid(&["old.test"], 2001, 2002);
        std::fs::write(d.join("old.pem"), old.combined()).unwrap();
        let got = load_all(&[d.join("old.pem")]);
        assert!(got.errors.is_empty());
        assert_eq!(got.certs.len(), 1);
        assert!(
            got.warnings[0].why.contains("expired on 2002-01-01"),
            "{:?}",
            got.warnings
        );
        let future = testcerts::leaf_valid(&["new.test"], 2090, 2091);
        std::fs::write(d.join("new.pem"), future.combined()).unwrap();
        let cert = load_file(&d.join("new.pem")).unwrap();
        let w = warnings(&cert, x509::now());
        assert!(w[0].why.contains("not valid before 2090-01-01"), "{w:?}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
