//! Certificates committed through the runtime API (`commit ssl cert
//! FILE`), on their way from the control process to every worker.
//!
//! One slot per certificate file of the configuration (the files of every
//! TLS bind's `crt` and `default_crt`, each once, in configuration order;
//! every process derives the same list from the same configuration). A
//! slot holds the PEM text last committed for its file — at most
//! [`CERT_MAX_BYTES`] — and a generation that moves with each commit:
//!
//! ```text
//! [ commits | ack × workers | (seq, generation, length) × files | PEM × files ]
//! ```
//!
//! - **The control process writes** (the only writer): the slot's
//!   sequence word turns odd, the PEM and its length are written, the
//!   generation moves, the sequence turns even, then `commits` (the number
//!   of commits so far, over every file) moves.
//! - **Workers read**: each compares `commits` with the value it last
//!   handled (every 50 ms from its loop); when it moved, it reads every
//!   slot whose generation moved (a seqlock read: retried if the sequence
//!   moved meanwhile), applies the certificates, then writes `commits` as
//!   it read it to its `ack` word. A worker that starts (a respawned one)
//!   applies every slot that was ever committed before it serves: the
//!   master's copy of the configuration does not know them.
//! - **Two commits in a row** of the same file: a worker that looks after
//!   both sees the second only, which is what it must serve. Of two
//!   files: both slots moved, both are applied.
//! - The control process answers `commit` once every worker's `ack` has
//!   reached the commit ([`CertArea::all_acked`]); the master marks a dead
//!   worker's `ack` [`GONE`] (its replacement applies everything when it
//!   starts), so nobody waits for it.
//!
//! A slot reserves [`CERT_MAX_BYTES`] of the mapping per file; the kernel
//! gives a page memory only once it is written, so only committed
//! certificates cost memory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::config::model::Config;

/// The largest PEM text a commit can carry (certificate chain and key).
pub const CERT_MAX_BYTES: usize = 32 * 1024;

/// Words of a slot's PEM.
const DATA_WORDS: usize = CERT_MAX_BYTES / 8;
/// A slot's header: sequence, generation, length.
const HEADER_WORDS: usize = 3;
const SEQ: usize = 0;
const GEN: usize = 1;
const LEN: usize = 2;

/// The `ack` of a worker that is not running.
pub const GONE: u64 = u64::MAX;

/// The certificate files of `config`'s TLS binds, each once, in order.
pub fn cert_files(config: &Config) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for fe in &config.frontends {
        for tls in fe.binds.iter().filter_map(|b| b.tls.as_ref()) {
            for c in &tls.certs {
                if seen.insert(c.path.clone()) {
                    out.push(c.path.clone());
                }
            }
        }
    }
    out
}

/// Words of the area for `files` files and `workers` workers.
pub fn words(files: usize, workers: usize) -> usize {
    1 + workers + files * (HEADER_WORDS + DATA_WORDS)
}

/// A commit did not fit its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge(pub usize);

/// The committed-certificates area of the region.
#[derive(Clone)]
pub struct CertArea {
    commits: &'static AtomicU64,
    acks: &'static [AtomicU64],
    headers: &'static [AtomicU64],
    data: &'static [AtomicU64],
    files: Arc<[PathBuf]>,
}

impl CertArea {
    /// The area over `words` (as many as [`words`] says) for `files`.
    pub fn new(words: &'static [AtomicU64], files: Vec<PathBuf>, workers: usize) -> CertArea {
        static NONE: AtomicU64 = AtomicU64::new(0);
        let (commits, rest) = match words.split_first() {
            Some((c, rest)) => (c, rest),
            None => (&NONE, words),
        };
        let (acks, rest) = rest.split_at(workers.min(rest.len()));
        let n = files.len() * HEADER_WORDS;
        let (headers, data) = rest.split_at(n.min(rest.len()));
        CertArea {
            commits,
            acks,
            headers,
            data,
            files: files.into(),
        }
    }

    /// The files, in slot order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The slot of `path`, if it is a certificate file of the
    /// configuration.
    pub fn slot(&self, path: &Path) -> Option<usize> {
        self.files.iter().position(|f| f == path)
    }

    /// Commits so far, over every file.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    fn header(&self, slot: usize, word: usize) -> Option<&AtomicU64> {
        self.headers.get(slot * HEADER_WORDS + word)
    }

    fn slot_data(&self, slot: usize) -> &[AtomicU64] {
        self.data
            .get(slot * DATA_WORDS..(slot + 1) * DATA_WORDS)
            .unwrap_or(&[])
    }

    /// How many times `slot` was committed (0: never).
    pub fn generation(&self, slot: usize) -> u64 {
        self.header(slot, GEN)
            .map_or(0, |g| g.load(Ordering::Acquire))
    }

    /// Writes `pem` as the committed text of `slot` (the control process,
    /// the only writer); the number of commits after this one.
    pub fn publish(&self, slot: usize, pem: &[u8]) -> Result<u64, TooLarge> {
        let (Some(seq), Some(gen), Some(len)) = (
            self.header(slot, SEQ),
            self.header(slot, GEN),
            self.header(slot, LEN),
        ) else {
            return Err(TooLarge(pem.len()));
        };
        let data = self.slot_data(slot);
        if pem.len() > data.len() * 8 {
            return Err(TooLarge(pem.len()));
        }
        seq.fetch_add(1, Ordering::AcqRel);
        for (w, chunk) in data.iter().zip(pem.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            w.store(u64::from_le_bytes(b), Ordering::Release);
        }
        len.store(pem.len() as u64, Ordering::Release);
        gen.fetch_add(1, Ordering::AcqRel);
        seq.fetch_add(1, Ordering::Release);
        Ok(self.commits.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// The text last committed for `slot` and its generation; `None` if it
    /// was never committed (or was being rewritten at every try).
    pub fn read(&self, slot: usize) -> Option<(u64, Vec<u8>)> {
        let (seq, gen, len) = (
            self.header(slot, SEQ)?,
            self.header(slot, GEN)?,
            self.header(slot, LEN)?,
        );
        let data = self.slot_data(slot);
        for _ in 0..64 {
            let before = seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let g = gen.load(Ordering::Acquire);
            if g == 0 {
                return None;
            }
            let n = (len.load(Ordering::Acquire) as usize).min(data.len() * 8);
            let mut out = Vec::with_capacity(n);
            for w in data.iter().take(n.div_ceil(8)) {
                out.extend_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
            }
            out.truncate(n);
            if seq.load(Ordering::Acquire) == before {
                return Some((g, out));
            }
        }
        None
    }

    /// Worker `w` (0-based) has applied every commit up to `commits`.
    pub fn ack(&self, w: usize, commits: u64) {
        if let Some(a) = self.acks.get(w) {
            a.store(commits, Ordering::Release);
        }
    }

    /// Worker `w` is gone: nobody waits for it (its replacement applies
    /// every commit when it starts).
    pub fn worker_gone(&self, w: usize) {
        if let Some(a) = self.acks.get(w) {
            a.store(GONE, Ordering::Release);
        }
    }

    /// Whether every worker has applied the commits up to `commits`.
    pub fn all_acked(&self, commits: u64) -> bool {
        self.acks
            .iter()
            .all(|a| a.load(Ordering::Acquire) >= commits)
    }

    /// Ends a write a control process that died left half done (its
    /// sequence word odd), so that readers stop waiting on it. The slot's
    /// generation tells whether the write had finished; workers check the
    /// text they read (a PEM that does not parse changes nothing).
    pub fn repair(&self) {
        for slot in 0..self.files.len() {
            if let Some(seq) = self.header(slot, SEQ) {
                if seq.load(Ordering::Acquire) % 2 == 1 {
                    seq.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(files: usize, workers: usize) -> CertArea {
        let words: &'static [AtomicU64] = Box::leak(
            (0..words(files, workers))
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let names = (0..files)
            .map(|i| PathBuf::from(format!("/c/{i}.pem")))
            .collect();
        CertArea::new(words, names, workers)
    }

    #[test]
    fn publish_read_and_acks() {
        let a = area(2, 2);
        assert_eq!(a.slot(Path::new("/c/1.pem")), Some(1));
        assert_eq!(a.slot(Path::new("/c/9.pem")), None);
        assert_eq!((a.read(0), a.generation(0), a.commits()), (None, 0, 0));
        assert!(a.all_acked(0));
        assert_eq!(a.publish(1, b"first, 13 b"), Ok(1));
        assert_eq!(a.publish(1, b"second"), Ok(2));
        assert_eq!(a.read(1), Some((2, b"second".to_vec())));
        assert_eq!(a.read(0), None);
        let big = vec![b'x'; CERT_MAX_BYTES];
        assert_eq!(a.publish(0, &big), Ok(3));
        assert_eq!(
            a.read(0).map(|(g, t)| (g, t.len())),
            Some((1, CERT_MAX_BYTES))
        );
        assert_eq!(
            a.publish(0, &[0; CERT_MAX_BYTES + 1]),
            Err(TooLarge(CERT_MAX_BYTES + 1))
        );
        assert!(!a.all_acked(3));
        a.ack(0, 3);
        assert!(!a.all_acked(3));
        a.worker_gone(1);
        assert!(a.all_acked(3));
        a.ack(1, 2);
        assert!(!a.all_acked(3));
    }

    #[test]
    fn a_half_written_slot_is_repaired() {
        let a = area(1, 1);
        assert_eq!(a.publish(0, b"pem"), Ok(1));
        a.header(0, SEQ).unwrap().fetch_add(1, Ordering::AcqRel);
        assert_eq!(a.read(0), None, "odd: a write in progress");
        a.repair();
        assert_eq!(a.read(0), Some((1, b"pem".to_vec())));
    }

    #[test]
    fn an_empty_area() {
        let words: &'static [AtomicU64] = Box::leak(Box::new([]));
        let a = CertArea::new(words, Vec::new(), 4);
        assert_eq!((a.commits(), a.read(0), a.generation(3)), (0, None, 0));
        assert!(a.all_acked(0));
        assert_eq!(a.publish(0, b"x"), Err(TooLarge(1)));
    }
}
