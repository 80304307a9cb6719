//! The TLS session ticket keys every worker encrypts and decrypts tickets
//! with, so a client resumes its session whichever worker (or, after a
//! reload, whichever generation) it reaches.
//!
//! The master writes the ring ([`crate::tls::TicketKeys`]'s byte form):
//! at start-up (from `tls_ticket_keys`, or generated), at each rotation
//! (every `tls_ticket_lifetime` when it generated them), and into the new
//! region of a reload. Workers read it when its serial moves. A sequence
//! word guards it (a seqlock): odd while the master writes, and a reader
//! that sees it move retries, so a worker never takes a torn ring.

use crate::tls::tickets::{TicketKeys, RING_BYTES};
use std::sync::atomic::{AtomicU64, Ordering};

/// Words of the area: the sequence word, then the ring's bytes.
pub const TICKET_WORDS: usize = 1 + RING_BYTES.div_ceil(8);

/// The ticket key area of the region.
#[derive(Clone, Copy)]
pub struct TicketArea {
    words: &'static [AtomicU64],
}

impl TicketArea {
    pub fn new(words: &'static [AtomicU64]) -> TicketArea {
        TicketArea { words }
    }

    /// The sequence word: it moves whenever the ring is written (a reader
    /// compares it with the one it last read).
    pub fn seq(&self) -> u64 {
        self.words.first().map_or(0, |w| w.load(Ordering::Acquire))
    }

    /// Writes `ring` (the master, the only writer).
    pub fn store(&self, ring: &TicketKeys) {
        let Some((seq, data)) = self.words.split_first() else {
            return;
        };
        let bytes = ring.to_bytes();
        seq.fetch_add(1, Ordering::AcqRel);
        for (w, chunk) in data.iter().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            w.store(u64::from_le_bytes(b), Ordering::Release);
        }
        seq.fetch_add(1, Ordering::Release);
    }

    /// The ring, and the sequence it was read at; `None` before the master
    /// wrote one (or if it keeps being rewritten while read).
    pub fn load(&self) -> Option<(TicketKeys, u64)> {
        let (seq, data) = self.words.split_first()?;
        for _ in 0..64 {
            let before = seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut bytes = [0u8; RING_BYTES];
            for (chunk, w) in bytes.chunks_mut(8).zip(data) {
                let b = w.load(Ordering::Acquire).to_le_bytes();
                chunk.copy_from_slice(&b[..chunk.len()]);
            }
            if seq.load(Ordering::Acquire) == before {
                return TicketKeys::from_bytes(&bytes).map(|k| (k, before));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_load() {
        let words: &'static [AtomicU64] = Box::leak(
            (0..TICKET_WORDS)
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let area = TicketArea::new(words);
        assert!(area.load().is_none(), "nothing written yet");
        let ring = TicketKeys::generate().expect("keys");
        area.store(&ring);
        let (read, seq) = area.load().expect("a ring");
        assert_eq!(read.to_bytes(), ring.to_bytes());
        let next = ring.rotate().expect("rotated");
        area.store(&next);
        assert!(area.seq() > seq);
        assert_eq!(area.load().expect("a ring").0.to_bytes(), next.to_bytes());
    }
}
