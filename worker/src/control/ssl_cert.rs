//! The runtime API's certificate commands, in HAProxy 2.6's syntax and
//! words: `show ssl cert [FILE]`, `set ssl cert FILE <<` (a PEM payload),
//! `commit ssl cert FILE`, `abort ssl cert FILE`.
//!
//! - A file is one the TLS binds loaded (a `crt` file, a file of a `crt`
//!   directory, a `default_crt`), named as `show ssl cert` lists it.
//! - `set` opens (or updates) the transaction: the payload — the
//!   certificate chain and its private key, as a `crt` file holds them —
//!   is parsed and checked at once (the key must match the certificate);
//!   a payload that fails changes nothing. One transaction at a time, as
//!   in HAProxy.
//! - `commit` publishes the PEM in shared memory ([`CertArea`]); every
//!   worker replaces that file's certificates for its new handshakes
//!   (established connections keep theirs). The answer waits until every
//!   worker has taken it ([`Commit::wait`]).
//! - `abort` drops the transaction.
//!
//! Nothing is written to disk: a reload (SIGUSR2) reads the files again,
//! so a committed certificate that is not also in its file is lost then.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use weir_core::config::Config;
use weir_core::log::Logger;
use weir_core::shm::certs::{CertArea, CERT_MAX_BYTES};
use weir_core::tls::crt::{self, LoadedCert};
use weir_core::tls::details::Details;

/// A transaction: the certificate `set` gave for one file, not committed.
struct Txn {
    slot: usize,
    cert: Arc<LoadedCert>,
    pem: Vec<u8>,
}

/// The certificate files as the control process knows them.
pub struct SslCerts {
    /// Per slot of the shared area: the certificate served now (the
    /// configuration's, or the last committed).
    current: Vec<Option<Arc<LoadedCert>>>,
    txn: Option<Txn>,
}

/// What `commit` asks of the connection that sent it.
pub struct Commit {
    pub answer: String,
    /// Hold the answer until every worker has applied this many commits.
    pub wait: Option<u64>,
}

impl SslCerts {
    /// The configuration's certificates, then those committed before this
    /// control process started (it may be a replacement).
    pub fn new(config: &Config, area: &CertArea, logger: &Logger) -> SslCerts {
        area.repair();
        let mut current: Vec<Option<Arc<LoadedCert>>> = area
            .files()
            .iter()
            .map(|path| {
                config
                    .frontends
                    .iter()
                    .flat_map(|fe| fe.binds.iter().filter_map(|b| b.tls.as_ref()))
                    .flat_map(|tls| tls.certs.iter())
                    .find(|c| &c.path == path)
                    .cloned()
            })
            .collect();
        for (slot, path) in area.files().iter().enumerate() {
            let Some((_, pem)) = area.read(slot) else {
                continue;
            };
            match crt::from_pem(path, &pem) {
                Ok(c) => current[slot] = Some(Arc::new(c)),
                Err(e) => logger.warning(&format!("committed certificate unreadable: {e}")),
            }
        }
        SslCerts { current, txn: None }
    }

    /// `show ssl cert [FILE]`: the list, or one file's details (`*FILE`:
    /// the transaction's).
    pub fn show(&self, area: &CertArea, arg: Option<&str>) -> String {
        let Some(arg) = arg else {
            let mut out = String::new();
            if let Some(t) = &self.txn {
                let _ = writeln!(out, "# transaction\n*{}", name(area, t.slot));
            }
            out.push_str("# filename\n");
            for (slot, c) in self.current.iter().enumerate() {
                if c.is_some() {
                    let _ = writeln!(out, "{}", name(area, slot));
                }
            }
            return out;
        };
        let found = match arg.strip_prefix('*') {
            Some(file) => self
                .txn
                .as_ref()
                .filter(|t| area.slot(Path::new(file)) == Some(t.slot))
                .map(|t| (&t.cert, "Unused")),
            None => area
                .slot(Path::new(arg))
                .and_then(|s| self.current.get(s)?.as_ref())
                .map(|c| (c, "Used")),
        };
        match found {
            Some((cert, status)) => details(arg, status, cert),
            None => {
                "Can't display the certificate: Not found or the certificate is a bundle!\n".into()
            }
        }
    }

    /// `set ssl cert FILE` with its payload.
    pub fn set(&mut self, area: &CertArea, arg: Option<&str>, payload: Option<&str>) -> String {
        let (Some(file), Some(payload)) = (arg, payload.filter(|p| !p.trim().is_empty())) else {
            return "'set ssl cert expects a filename and a certificate as a payload\n".into();
        };
        let cant = format!("Can't update {file}!\n");
        let Some(slot) = area
            .slot(Path::new(file))
            .filter(|&s| self.current[s].is_some())
        else {
            return format!(
                "Can't replace a certificate which is not referenced by the configuration!\n{cant}"
            );
        };
        if let Some(t) = self.txn.as_ref().filter(|t| t.slot != slot) {
            return format!(
                "The ongoing transaction is about '{}' but you are trying to set '{file}'\n{cant}",
                name(area, t.slot)
            );
        }
        let pem = payload.as_bytes();
        if pem.len() > CERT_MAX_BYTES {
            return format!(
                "unable to load the payload for '{file}': {} bytes, more than the {CERT_MAX_BYTES} \
                 a certificate can have at run time (reload to use a larger one).\n\
                 Can't load the payload\n{cant}",
                pem.len()
            );
        }
        let cert = match crt::from_pem(&area.files()[slot], pem) {
            Ok(c) => c,
            Err(e) => {
                let hint = if e.why == "no private key in it" {
                    " (the payload holds the certificate chain and its private key)"
                } else {
                    ""
                };
                return format!(
                    "unable to load the payload for '{file}': {}{hint}.\nCan't load the payload\n{cant}",
                    e.why
                );
            }
        };
        let mut out = String::new();
        for w in crt::warnings(&cert, weir_core::tls::x509::now()) {
            let _ = writeln!(out, "Warning: {}.", w.why);
        }
        let verb = if self.txn.is_some() {
            "updated"
        } else {
            "created"
        };
        self.txn = Some(Txn {
            slot,
            cert: Arc::new(cert),
            pem: pem.to_vec(),
        });
        let _ = writeln!(out, "Transaction {verb} for certificate {file}!");
        out
    }

    /// `commit ssl cert FILE`.
    pub fn commit(&mut self, area: &CertArea, arg: Option<&str>, logger: &Logger) -> Commit {
        let now = |answer: String| Commit { answer, wait: None };
        let Some(file) = arg else {
            return now("'commit ssl cert expects a filename\n".into());
        };
        let cant = format!("Can't commit {file}!\n");
        let Some(t) = self.txn.take() else {
            return now(format!("No ongoing transaction! !\n{cant}"));
        };
        if area.slot(Path::new(file)) != Some(t.slot) {
            let msg = format!(
                "The ongoing transaction is about '{}' but you are trying to set '{file}'\n{cant}",
                name(area, t.slot)
            );
            self.txn = Some(t);
            return now(msg);
        }
        let commits = match area.publish(t.slot, &t.pem) {
            Ok(n) => n,
            Err(_) => {
                self.txn = Some(t);
                return now(format!(
                    "the certificate does not fit in shared memory\n{cant}"
                ));
            }
        };
        let info = &t.cert.info;
        logger.notice(&format!(
            "runtime API: certificate {file} committed ({}, valid until {})",
            info.subject,
            weir_core::tls::x509::format_time(info.not_after)
        ));
        self.current[t.slot] = Some(t.cert);
        Commit {
            answer: format!("Committing {file}.\nSuccess!\n"),
            wait: Some(commits),
        }
    }

    /// `abort ssl cert FILE`.
    pub fn abort(&mut self, area: &CertArea, arg: Option<&str>) -> String {
        let Some(file) = arg else {
            return "'abort ssl cert' expects a filename\n".into();
        };
        match &self.txn {
            None => "No ongoing transaction!\n".into(),
            Some(t) if area.slot(Path::new(file)) != Some(t.slot) => format!(
                "The ongoing transaction is about '{}' but you are trying to abort a \
                 transaction for '{file}'\n",
                name(area, t.slot)
            ),
            Some(_) => {
                self.txn = None;
                format!("Transaction aborted for certificate '{file}'!\n")
            }
        }
    }
}

/// A slot's file name, as listed.
fn name(area: &CertArea, slot: usize) -> String {
    area.files()
        .get(slot)
        .map_or_else(String::new, |p| p.display().to_string())
}

/// HAProxy's details of one certificate.
fn details(file: &str, status: &str, cert: &LoadedCert) -> String {
    let mut out = format!("Filename: {file}\nStatus: {status}\n");
    let chain = &cert.certified.cert;
    let Some(leaf) = chain.first() else {
        return out;
    };
    match Details::parse(leaf) {
        Ok(d) => {
            let _ = write!(
                out,
                "Serial: {}\nnotBefore: {}\nnotAfter: {}\nSubject Alternative Name: {}\n\
                 Algorithm: {}\nSHA1 FingerPrint: {}\nSubject: {}\nIssuer: {}\n",
                d.serial,
                d.not_before,
                d.not_after,
                d.san,
                d.algorithm,
                d.sha1,
                d.subject,
                d.issuer
            );
        }
        Err(e) => {
            let _ = writeln!(out, "Error: {e}");
        }
    }
    for ca in chain.iter().skip(1) {
        if let Ok(d) = Details::parse(ca) {
            let _ = write!(
                out,
                "Chain Subject: {}\nChain Issuer: {}\n",
                d.subject, d.issuer
            );
        }
    }
    out
}
