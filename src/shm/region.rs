//! The shared region: one mapping, made by the master before it forks,
//! handed out as typed areas.
//!
//! ```text
//! [ header (hash seed) | global | frontends × PX | backends × PX | servers × SRV |
//!   gauges: workers × (frontends + backends + servers) | tickets | certs ]
//! ```
//!
//! Each rate-limit table is a region of its own (header and table), so
//! that a reload that leaves it unchanged hands it whole to the new
//! workers.
//!
//! A [`Plan`] adds up the areas a configuration needs (in 64-bit words);
//! [`Region::map`] maps them at once behind the region's own header
//! (anonymous `MAP_SHARED`, so every process forked afterwards sees the
//! same memory), and [`Region::take`] hands them out in the order they
//! were planned. Everything in the
//! region is an `AtomicU64` — no pointer is ever stored there, so it
//! means the same in every process — and the region lives as long as
//! the processes that mapped it.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Words at the start of every region, before the planned areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Header {
    /// The seed of the tables' key hash, chosen when the region is made.
    Seed0,
    Seed1,
}
const HEADER_WORDS: usize = Header::Seed1 as usize + 1;

/// The sizes of the areas to map, in the order they will be taken.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    areas: Vec<usize>,
}

impl Plan {
    /// Adds an area of `words` 64-bit words.
    pub fn area(&mut self, words: usize) -> &mut Plan {
        self.areas.push(words);
        self
    }

    /// Words in all.
    pub fn words(&self) -> usize {
        self.areas.iter().sum()
    }
}

/// A mapped region, being carved into its areas.
pub struct Region {
    header: &'static [AtomicU64],
    rest: &'static [AtomicU64],
}

impl Region {
    /// Maps the region for `plan`, shared with the processes forked
    /// afterwards; its header holds a fresh hash seed.
    pub fn map(plan: &Plan) -> io::Result<Region> {
        Region::from_words(crate::sys::shared_words(HEADER_WORDS + plan.words())?)
    }

    /// The same in private memory (tests, tools).
    pub fn private(plan: &Plan) -> Region {
        let words: &'static [AtomicU64] = Box::leak(
            (0..HEADER_WORDS + plan.words())
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        match Region::from_words(words) {
            Ok(r) => r,
            Err(_) => unreachable!("private memory has room for its plan"),
        }
    }

    fn from_words(words: &'static [AtomicU64]) -> io::Result<Region> {
        if words.len() < HEADER_WORDS {
            return Err(io::Error::other("shared region too small"));
        }
        let (header, rest) = words.split_at(HEADER_WORDS);
        let seed = seed();
        header[Header::Seed0 as usize].store(seed[0], Ordering::Relaxed);
        header[Header::Seed1 as usize].store(seed[1], Ordering::Relaxed);
        Ok(Region { header, rest })
    }

    /// The seed the region's tables hash their keys with.
    pub fn seed(&self) -> [u64; 2] {
        [
            self.header[Header::Seed0 as usize].load(Ordering::Relaxed),
            self.header[Header::Seed1 as usize].load(Ordering::Relaxed),
        ]
    }

    /// The next area, of `words` words (as planned).
    pub fn take(&mut self, words: usize) -> &'static [AtomicU64] {
        let (area, rest) = self.rest.split_at(words.min(self.rest.len()));
        self.rest = rest;
        area
    }
}

/// A seed for keyed hashing, from the kernel's random source (the clock
/// and the pid if it cannot be read).
fn seed() -> [u64; 2] {
    use std::io::Read;
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if read.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b[..8].copy_from_slice(&t.to_le_bytes());
        b[8..].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
    }
    let (a, c) = b.split_at(8);
    let word = |s: &[u8]| s.iter().rev().fold(0u64, |w, &x| (w << 8) | u64::from(x));
    [word(a), word(c)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn areas_in_plan_order() {
        let mut plan = Plan::default();
        plan.area(3).area(5);
        assert_eq!(plan.words(), 8);
        let mut r = Region::private(&plan);
        let a = r.take(3);
        let b = r.take(5);
        assert_eq!((a.len(), b.len()), (3, 5));
        assert!(
            a.iter().chain(b).all(|w| w.load(Relaxed) == 0),
            "the header is apart"
        );
        a[2].store(7, Relaxed);
        assert_eq!(b[0].load(Relaxed), 0);
        assert_ne!(r.seed(), [0, 0], "a seed was chosen");
    }
}
