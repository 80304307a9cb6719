//! Choosing a bind's certificate by the client's SNI.
//!
//! Every certificate's DNS names (SAN, else CN) are indexed: exact names,
//! and wildcards `*.example.com` by their suffix. A wildcard stands for one
//! whole left-most label only (RFC 6125 §6.4.3): `*.example.com` matches
//! `www.example.com`, not `example.com` nor `a.b.example.com`; partial
//! wildcards (`w*.example.com`) match only themselves. An exact name wins
//! over a wildcard; among certificates with the same name, the first loaded
//! whose key can sign with a scheme the client offers (so an ECDSA and an
//! RSA certificate for one name serve each client the best it takes). With
//! no SNI or no match: `default_crt`, else the first certificate loaded;
//! with `strict_sni`, no certificate (the handshake is refused).
//!
//! The certificates live in an immutable [`Snapshot`] that [`CertStore`]
//! swaps atomically: `replace` (the runtime API's `commit ssl cert`) builds
//! a new snapshot with one file's certificates changed. A handshake takes
//! the snapshot current when it starts; established connections keep the
//! `Arc<CertifiedKey>` they were given.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

use super::crt::LoadedCert;

/// One certificate in a snapshot.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The `crt` file it came from (the unit `replace` works on).
    pub path: PathBuf,
    pub cert: Arc<LoadedCert>,
}

/// An immutable set of certificates and its name index.
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: Vec<Entry>,
    exact: HashMap<String, Vec<usize>>,
    /// `example.com` for `*.example.com`.
    wildcard: HashMap<String, Vec<usize>>,
    default_path: Option<PathBuf>,
    default: Option<usize>,
}

/// What [`Snapshot::select`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// An exact name matched: entry index.
    Exact(usize),
    /// A wildcard matched.
    Wildcard(usize),
    /// No SNI or no match: the default certificate.
    Default(usize),
    /// Nothing to serve (strict SNI, or no certificate at all).
    Refused,
}

impl Snapshot {
    /// Indexes `certs` (in load order); `default_path` names the
    /// `default_crt` file (else the first certificate is the default).
    pub fn new(certs: Vec<Entry>, default_path: Option<PathBuf>) -> Snapshot {
        let mut s = Snapshot {
            default: default_path
                .as_ref()
                .and_then(|d| certs.iter().position(|e| &e.path == d))
                .or((!certs.is_empty()).then_some(0)),
            entries: certs,
            default_path,
            ..Snapshot::default()
        };
        for (i, e) in s.entries.iter().enumerate() {
            for name in &e.cert.info.dns_names {
                let name = normalize(name);
                match name.strip_prefix("*.") {
                    Some(suffix) if !suffix.is_empty() => {
                        s.wildcard.entry(suffix.to_string()).or_default().push(i)
                    }
                    _ => s.exact.entry(name).or_default().push(i),
                }
            }
        }
        s
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The certificate for `sni`; `usable` tells whether a key can serve
    /// this client (a scheme it offers).
    pub fn select(
        &self,
        sni: Option<&str>,
        strict: bool,
        usable: impl Fn(&Entry) -> bool,
    ) -> Choice {
        if let Some(sni) = sni.map(normalize) {
            let pick = |list: Option<&Vec<usize>>| -> Option<usize> {
                let list = list?;
                let first = *list.first()?;
                Some(
                    list.iter()
                        .copied()
                        .find(|&i| usable(&self.entries[i]))
                        .unwrap_or(first),
                )
            };
            if let Some(i) = pick(self.exact.get(&sni)) {
                return Choice::Exact(i);
            }
            let suffix = sni
                .split_once('.')
                .filter(|(l, _)| !l.is_empty())
                .map(|(_, s)| s);
            if let Some(i) = suffix.and_then(|s| pick(self.wildcard.get(s))) {
                return Choice::Wildcard(i);
            }
        }
        match (strict, self.default) {
            (false, Some(i)) => Choice::Default(i),
            _ => Choice::Refused,
        }
    }

    /// The certificate a choice stands for.
    pub fn get(&self, choice: Choice) -> Option<&Entry> {
        match choice {
            Choice::Exact(i) | Choice::Wildcard(i) | Choice::Default(i) => self.entries.get(i),
            Choice::Refused => None,
        }
    }
}

/// Lower case, without a trailing dot.
fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// A bind's certificates, replaceable while running.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<Snapshot>>,
}

/// `replace` was given a path the store does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFile(pub PathBuf);

impl fmt::Display for UnknownFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no certificate was loaded from \"{}\"", self.0.display())
    }
}

impl CertStore {
    /// A store over `certs`, in load order.
    pub fn new(certs: &[Arc<LoadedCert>], default_path: Option<PathBuf>) -> CertStore {
        let entries = certs
            .iter()
            .map(|c| Entry {
                path: c.path.clone(),
                cert: c.clone(),
            })
            .collect();
        CertStore {
            current: RwLock::new(Arc::new(Snapshot::new(entries, default_path))),
        }
    }

    /// The certificates as of now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces every certificate loaded from `path` by `certs` (usually
    /// one), at the same place in the load order. New handshakes see them;
    /// established connections keep theirs.
    pub fn replace(&self, path: &Path, certs: Vec<Arc<LoadedCert>>) -> Result<(), UnknownFile> {
        let old = self.snapshot();
        let Some(at) = old.entries.iter().position(|e| e.path == path) else {
            return Err(UnknownFile(path.to_path_buf()));
        };
        let mut entries: Vec<Entry> = old.entries[..at].to_vec();
        entries.extend(certs.into_iter().map(|cert| Entry {
            path: path.to_path_buf(),
            cert,
        }));
        entries.extend(old.entries[at..].iter().filter(|e| e.path != path).cloned());
        let new = Arc::new(Snapshot::new(entries, old.default_path.clone()));
        match self.current.write() {
            Ok(mut cur) => *cur = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
        Ok(())
    }
}

/// rustls's certificate choice for one bind.
#[derive(Debug)]
pub struct SniResolver {
    store: Arc<CertStore>,
    strict: bool,
}

impl SniResolver {
    pub fn new(store: Arc<CertStore>, strict: bool) -> SniResolver {
        SniResolver { store, strict }
    }

    pub fn store(&self) -> &Arc<CertStore> {
        &self.store
    }

    /// The choice for an SNI and the schemes a client offers.
    pub fn choose(
        &self,
        sni: Option<&str>,
        schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let snap = self.store.snapshot();
        let usable = |e: &Entry| e.cert.certified.key.choose_scheme(schemes).is_some();
        let choice = snap.select(sni, self.strict, usable);
        snap.get(choice).map(|e| e.cert.certified.clone())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(hello.server_name(), hello.signature_schemes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::crt::load_file;
    use crate::tls::testcerts;

    /// Loads one certificate per name list, each from its own file.
    fn store(lists: &[&[&str]], default: Option<usize>) -> (CertStore, Vec<PathBuf>) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("weir-sni-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut certs = Vec::new();
        let mut paths = Vec::new();
        for (i, names) in lists.iter().enumerate() {
            let p = dir.join(format!("{i}-{}.pem", names.join("_").replace('*', "star")));
            std::fs::write(&p, testcerts::leaf(names).combined()).unwrap();
            certs.push(Arc::new(load_file(&p).unwrap()));
            paths.push(p);
        }
        let default = default.map(|i| paths[i].clone());
        (CertStore::new(&certs, default), paths)
    }

    fn pick(s: &CertStore, sni: Option<&str>, strict: bool) -> Choice {
        s.snapshot().select(sni, strict, |_| true)
    }

    #[test]
    fn the_sni_table() {
        let (s, _) = store(
            &[
                &["first.test"],
                &["*.example.com"],
                &["www.example.com", "example.com"],
                &["*.b.example.com"],
                &["w*.partial.com"],
            ],
            None,
        );
        let table: &[(Option<&str>, Choice)] = &[
            (Some("www.example.com"), Choice::Exact(2)),
            (Some("WWW.Example.COM."), Choice::Exact(2)),
            (Some("example.com"), Choice::Exact(2)),
            (Some("api.example.com"), Choice::Wildcard(1)),
            (Some("a.b.example.com"), Choice::Wildcard(3)),
            (Some("x.a.b.example.com"), Choice::Default(0)),
            (Some("b.example.com"), Choice::Wildcard(1)),
            (Some(".example.com"), Choice::Default(0)),
            (Some("wx.partial.com"), Choice::Default(0)),
            (Some("w*.partial.com"), Choice::Exact(4)),
            (Some("other.test"), Choice::Default(0)),
            (None, Choice::Default(0)),
        ];
        for (sni, want) in table {
            assert_eq!(pick(&s, *sni, false), *want, "sni {sni:?}");
        }
        assert_eq!(pick(&s, Some("other.test"), true), Choice::Refused);
        assert_eq!(pick(&s, None, true), Choice::Refused);
        assert_eq!(pick(&s, Some("api.example.com"), true), Choice::Wildcard(1));
    }

    #[test]
    fn default_crt_and_usable_keys() {
        let (s, _) = store(&[&["a.test"], &["b.test"], &["a.test"]], Some(1));
        assert_eq!(pick(&s, Some("none.test"), false), Choice::Default(1));
        let snap = s.snapshot();
        // The first a.test cannot serve this client: the second one can.
        let second = snap.entries()[2].cert.clone();
        let usable = |e: &Entry| Arc::ptr_eq(&e.cert, &second);
        assert_eq!(snap.select(Some("a.test"), false, usable), Choice::Exact(2));
        // None can: the first of the name all the same.
        assert_eq!(
            snap.select(Some("a.test"), false, |_| false),
            Choice::Exact(0)
        );
    }

    #[test]
    fn replace_one_file_keeps_old_snapshots() {
        let (s, paths) = store(&[&["a.test"], &["b.test"]], None);
        let before = s.snapshot();
        let dir = paths[0].parent().unwrap().join("new-b.pem");
        std::fs::write(&dir, testcerts::leaf(&["c.test"]).combined()).unwrap();
        let c = Arc::new(load_file(&dir).unwrap());
        s.replace(&paths[1], vec![c]).unwrap();
        assert_eq!(pick(&s, Some("c.test"), true), Choice::Exact(1));
        assert_eq!(pick(&s, Some("b.test"), true), Choice::Refused);
        // A handshake that took the old snapshot still sees b.test.
        assert_eq!(
            before.select(Some("b.test"), true, |_| true),
            Choice::Exact(1)
        );
        let unknown = s.replace(Path::new("/nope.pem"), Vec::new()).unwrap_err();
        assert_eq!(unknown, UnknownFile(PathBuf::from("/nope.pem")));
    }
}
