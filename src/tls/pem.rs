//! One PEM file: its certificates and private keys, in file order, with an
//! error that says which file and why when it cannot be used.
//!
//! Keys are read as PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or
//! SEC1 (`EC PRIVATE KEY`); an encrypted key is refused (weir has no
//! passphrase to ask for). Other sections (DH parameters, CRLs) are skipped.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What a PEM file holds.
#[derive(Debug, Default)]
pub struct PemContents {
    pub certs: Vec<CertificateDer<'static>>,
    pub keys: Vec<PrivateKeyDer<'static>>,
}

/// Why a file could not be used, naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub why: String,
}

impl FileError {
    pub fn new(path: &Path, why: impl Into<String>) -> FileError {
        FileError {
            path: path.to_path_buf(),
            why: why.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\": {}", self.path.display(), self.why)
    }
}

impl std::error::Error for FileError {}

/// Reads a file; the error says why in an operator's words.
pub fn read_file(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|e| FileError::new(path, io_why(&e)))
}

/// An I/O error as a short reason: "permission denied (weir reads it as
/// uid 0)" rather than "Permission denied (os error 13)".
pub fn io_why(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => format!(
            "cannot read it: permission denied (weir reads it as uid {}, gid {})",
            nix::unistd::geteuid(),
            nix::unistd::getegid()
        ),
        io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => format!("cannot read it: {e}"),
    }
}

/// Parses PEM text; `path` only names the file in errors. A file with no
/// PEM section at all is an error; one with sections but neither a
/// certificate nor a key is returned empty (the caller says what it lacks).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<PemContents, FileError> {
    let mut out = PemContents::default();
    let mut sections = 0usize;
    for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        let (kind, der) = item.map_err(|e| FileError::new(path, format!("not valid PEM: {e}")))?;
        sections += 1;
        match kind {
            SectionKind::Certificate => out.certs.push(CertificateDer::from(der)),
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                if let Some(key) = PrivateKeyDer::from_pem(kind, der) {
                    out.keys.push(key);
                }
            }
            _ => {}
        }
    }
    let encrypted = contains(bytes, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || contains(bytes, b"Proc-Type: 4,ENCRYPTED");
    if encrypted && out.keys.is_empty() {
        return Err(FileError::new(
            path,
            "the private key is encrypted; weir needs it unencrypted \
             (openssl pkey -in FILE -out FILE.key), readable by root only",
        ));
    }
    if sections == 0 {
        return Err(FileError::new(
            path,
            "not a PEM file (no -----BEGIN ...----- section)",
        ));
    }
    Ok(out)
}

/// Reads and parses one PEM file.
pub fn load(path: &Path) -> Result<PemContents, FileError> {
    parse(path, &read_file(path)?)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testcerts;

    #[test]
    fn chain_and_key_in_either_order() {
        let c = testcerts::leaf(&["a.test"]);
        let p = Path::new("x.pem");
        let one = parse(p, format!("{}{}", c.cert_pem, c.key_pem).as_bytes()).unwrap();
        let two = parse(p, format!("{}{}", c.key_pem, c.cert_pem).as_bytes()).unwrap();
        for got in [one, two] {
            assert_eq!(got.certs.len(), 1);
            assert_eq!(got.keys.len(), 1);
        }
    }

    #[test]
    fn not_pem_and_encrypted() {
        let p = Path::new("x.pem");
        let e = parse(p, b"hello\n").unwrap_err();
        assert!(e.why.contains("not a PEM file"), "{e}");
        let enc =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = parse(p, enc).unwrap_err();
        assert!(e.why.contains("encrypted"), "{e}");
        let e = parse(
            p,
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        );
        assert!(e.unwrap_err().why.contains("not valid PEM"));
    }

    #[test]
    fn missing_file_is_named() {
        let e = load(Path::new("/nonexistent/weir.pem")).unwrap_err();
        assert_eq!(e.to_string(), "\"/nonexistent/weir.pem\": no such file");
    }
}
