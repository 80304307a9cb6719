//! Keyed tables in shared memory: fixed-size slots that any process
//! mapping the region can look up, insert into and update, with no lock
//! and no pointer. The rate-limit tables (stick tables) are built on it:
//! one entry per key (a client address, a header value…), a few counters
//! each, one view for every worker.
//!
//! ```text
//! table: [ slots… | stripe locks… ]
//! slot:  [ tag | touched | key × key_words | data × data_words ]
//!   tag      0 empty; H a live key whose hash is H (H is even, never 0);
//!            H|1 the key is being written (its slot just claimed)
//!   touched  last update, in the table's ticks (milliseconds)
//! ```
//!
//! **Finding a key.** Its hash (keyed with the region's seed) gives a
//! home slot; the key lives in the first [`PROBE`] slots from there
//! (open addressing). A slot whose tag is the key's hash and whose key
//! words are the key is the key's entry.
//!
//! **Inserting.** A key that is not there is inserted under the lock of
//! its home slot's stripe (one lock word per [`STRIPE`] home slots): the
//! worker looks again under the lock, claims a slot with one
//! compare-and-swap of its tag, from empty (or from an expired or evicted
//! entry) to `H|1`, writes the key, zeroes the data and publishes `H`
//! (release), then unlocks. Two workers inserting the same key share its
//! home slot, so they take the same lock: the second one finds the
//! first's entry. One key has one entry, and every update lands in it.
//! The lock is held for a few stores, never across a worker's turn; a
//! worker that finds it held spins, then yields its CPU until the holder
//! lets go, and takes it over from a holder that no longer exists (a
//! worker killed while holding it: the lock word is the holder's pid).
//! Lookups and updates take no lock.
//!
//! **Updating.** Data words are atomics updated in place (`fetch_add` and
//! friends): no update is lost to another worker's. Only an entry evicted
//! or expired while a worker updates it can lose that update — and then
//! the entry itself is gone.
//!
//! **Full.** When the probe finds no empty or expired slot, the least
//! recently updated entry among them is evicted (HAProxy evicts the
//! oldest entries too): an insert never fails and never blocks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Slots probed from a key's home slot.
pub const PROBE: usize = 16;

/// Home slots per insert lock.
pub const STRIPE: usize = 16;

/// How long a reader waits for a key being written to be published
/// before it looks again (in spins of a few ns).
const SPINS: u32 = 4096;

const EMPTY: u64 = 0;
const WRITING: u64 = 1;

/// The shape of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// Entries it holds at most.
    pub slots: usize,
    /// 64-bit words of key (an IPv6 address: 2; a 32-byte string and its
    /// length: 5).
    pub key_words: usize,
    /// 64-bit words of data per entry (the counters it stores).
    pub data_words: usize,
}

impl TableSpec {
    fn slot_words(&self) -> usize {
        2 + self.key_words + self.data_words
    }

    fn stripes(&self) -> usize {
        self.slots.div_ceil(STRIPE)
    }

    /// The words of the region the table takes.
    pub fn words(&self) -> usize {
        self.slots * self.slot_words() + self.stripes()
    }
}

/// A table's area in the region.
#[derive(Clone, Copy)]
pub struct Table {
    words: &'static [AtomicU64],
    locks: &'static [AtomicU64],
    spec: TableSpec,
    seed: [u64; 2],
}

/// One entry, found or inserted.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    slot: &'a [AtomicU64],
    key_words: usize,
}

impl<'a> Entry<'a> {
    /// Data word `i`.
    pub fn data(&self, i: usize) -> &'a AtomicU64 {
        &self.slot[2 + self.key_words + i]
    }

    /// The key's words.
    pub fn key(&self) -> impl Iterator<Item = u64> + 'a {
        self.slot[2..2 + self.key_words]
            .iter()
            .map(|w| w.load(Ordering::Relaxed))
    }

    /// When it was last updated (ticks).
    pub fn touched(&self) -> u64 {
        self.slot[1].load(Ordering::Relaxed)
    }

    /// Records an update at `now`.
    pub fn touch(&self, now: u64) {
        self.slot[1].store(now, Ordering::Relaxed);
    }

    /// Its tag: the key's hash while the entry lives. A holder of an
    /// entry compares it with the tag it saw to know the slot still holds
    /// its key (not emptied, expired and reused, or evicted for another).
    pub fn tag(&self) -> u64 {
        self.slot[0].load(Ordering::Acquire)
    }

    /// Where the slot is in this process's memory (`show table`'s
    /// entry address).
    pub fn addr(&self) -> usize {
        self.slot.as_ptr() as usize
    }
}

impl Table {
    /// The table laid over `words` (an area of `spec.words()` words from
    /// the region), hashing keys with `seed`.
    pub fn new(words: &'static [AtomicU64], spec: TableSpec, seed: [u64; 2]) -> Table {
        let fits = words.len() >= spec.words();
        let spec = if fits {
            spec
        } else {
            TableSpec { slots: 0, ..spec }
        };
        let (words, locks) = words.split_at(spec.slots * spec.slot_words());
        Table {
            words,
            locks: &locks[..spec.stripes().min(locks.len())],
            spec,
            seed,
        }
    }

    pub fn spec(&self) -> TableSpec {
        self.spec
    }

    /// Whether `other` is this very table (the same words).
    pub fn same_area(&self, other: &Table) -> bool {
        std::ptr::eq(self.words, other.words)
    }

    fn slot(&self, i: usize) -> &'static [AtomicU64] {
        let n = self.spec.slot_words();
        &self.words[i * n..(i + 1) * n]
    }

    /// The key's hash: even and never 0 (the tag of a live entry).
    fn hash(&self, key: &[u64]) -> u64 {
        let mut h = self.seed[0] ^ (key.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for &w in key {
            h = mix(h ^ w, self.seed[1]);
        }
        let h = mix(h, self.seed[0]) & !1;
        if h == EMPTY {
            2
        } else {
            h
        }
    }

    fn key_is(slot: &[AtomicU64], key: &[u64]) -> bool {
        key.iter()
            .zip(&slot[2..])
            .all(|(k, w)| w.load(Ordering::Acquire) == *k)
    }

    /// Waits (briefly) for a slot being written to be published; its tag
    /// then, or `None` if the writer takes too long.
    fn settled(slot: &[AtomicU64], tag: u64) -> Option<u64> {
        for _ in 0..SPINS {
            std::hint::spin_loop();
            let t = slot[0].load(Ordering::Acquire);
            if t != tag {
                return Some(t);
            }
        }
        None
    }

    /// Whether `slot` holds the live entry of `key` (hash `h`); `None`
    /// while it is being written for a key of that hash.
    fn is_mine(slot: &[AtomicU64], key: &[u64], h: u64, now: u64, expire: u64) -> Option<bool> {
        let mut tag = slot[0].load(Ordering::Acquire);
        if tag == h | WRITING {
            tag = Self::settled(slot, tag)?;
        }
        let live = now.saturating_sub(slot[1].load(Ordering::Relaxed)) <= expire;
        Some(tag == h && live && Self::key_is(slot, key))
    }

    /// The entry of `key` if it is live (updated within `expire` ticks of
    /// `now`).
    pub fn get(&self, key: &[u64], now: u64, expire: u64) -> Option<Entry<'static>> {
        if self.spec.slots == 0 || key.len() != self.spec.key_words {
            return None;
        }
        let h = self.hash(key);
        let home = (h >> 1) as usize % self.spec.slots;
        self.find(key, h, home, now, expire)
    }

    /// The entry of `key`, inserted (with zeroed data) if it is not
    /// there; touched at `now`. `None` only for a key of the wrong size
    /// (or a table of no slot).
    pub fn entry(&self, key: &[u64], now: u64, expire: u64) -> Option<Entry<'static>> {
        if self.spec.slots == 0 || key.len() != self.spec.key_words {
            return None;
        }
        let h = self.hash(key);
        let home = (h >> 1) as usize % self.spec.slots;
        if let Some(e) = self.find(key, h, home, now, expire) {
            e.touch(now);
            return Some(e);
        }
        let lock = &self.locks[home / STRIPE];
        let mine = acquire(lock);
        let e = self.insert(key, h, home, now, expire);
        release(lock, mine);
        Some(e)
    }

    /// The live entry of `key` in its probe window, waiting out one being
    /// written.
    fn find(
        &self,
        key: &[u64],
        h: u64,
        home: usize,
        now: u64,
        expire: u64,
    ) -> Option<Entry<'static>> {
        for p in 0..PROBE.min(self.spec.slots) {
            let slot = self.slot((home + p) % self.spec.slots);
            loop {
                match Self::is_mine(slot, key, h, now, expire) {
                    Some(true) => return Some(self.at(slot)),
                    Some(false) => break,
                    // Still being written: look again.
                    None => continue,
                }
            }
        }
        None
    }

    /// Inserts `key` (its stripe locked): the first empty or expired slot
    /// of its window, else the least recently updated entry there.
    fn insert(&self, key: &[u64], h: u64, home: usize, now: u64, expire: u64) -> Entry<'static> {
        loop {
            if let Some(e) = self.find(key, h, home, now, expire) {
                e.touch(now);
                return e;
            }
            let mut free: Option<(usize, u64)> = None;
            let mut oldest: Option<(usize, u64, u64)> = None;
            for p in 0..PROBE.min(self.spec.slots) {
                let i = (home + p) % self.spec.slots;
                let slot = self.slot(i);
                let tag = slot[0].load(Ordering::Acquire);
                let touched = slot[1].load(Ordering::Relaxed);
                if tag == EMPTY || (tag & WRITING == 0 && now.saturating_sub(touched) > expire) {
                    free = Some((i, tag));
                    break;
                }
                if tag & WRITING == 0 && oldest.is_none_or(|(_, _, t)| touched < t) {
                    oldest = Some((i, tag, touched));
                }
            }
            let Some((i, tag)) = free.or(oldest.map(|(i, tag, _)| (i, tag))) else {
                // Every slot of the window is being written by others.
                std::hint::spin_loop();
                continue;
            };
            let slot = self.slot(i);
            if slot[0]
                .compare_exchange(tag, h | WRITING, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                // Another stripe's insert took it first: look again.
                continue;
            }
            for (w, k) in slot[2..].iter().zip(key) {
                w.store(*k, Ordering::Relaxed);
            }
            for w in &slot[2 + self.spec.key_words..] {
                w.store(0, Ordering::Relaxed);
            }
            slot[1].store(now, Ordering::Relaxed);
            slot[0].store(h, Ordering::Release);
            return self.at(slot);
        }
    }

    fn at(&self, slot: &'static [AtomicU64]) -> Entry<'static> {
        Entry {
            slot,
            key_words: self.spec.key_words,
        }
    }

    /// Removes `key`'s entry, if any.
    pub fn remove(&self, key: &[u64], now: u64, expire: u64) -> bool {
        let Some(e) = self.get(key, now, expire) else {
            return false;
        };
        let tag = e.slot[0].load(Ordering::Acquire);
        e.slot[0]
            .compare_exchange(tag, EMPTY, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Every live entry, in slot order.
    pub fn entries(&self, now: u64, expire: u64) -> impl Iterator<Item = Entry<'static>> + '_ {
        (0..self.spec.slots).filter_map(move |i| {
            let slot = self.slot(i);
            let tag = slot[0].load(Ordering::Acquire);
            let live = tag != EMPTY
                && tag & WRITING == 0
                && now.saturating_sub(slot[1].load(Ordering::Relaxed)) <= expire;
            live.then(|| self.at(slot))
        })
    }

    /// Empties the table.
    pub fn clear(&self) {
        for i in 0..self.spec.slots {
            self.slot(i)[0].store(EMPTY, Ordering::Release);
        }
    }
}

/// Takes an insert lock (its word holds the holder's pid): spins, then
/// yields the CPU while the holder lives; takes it over from a holder
/// that is gone (a worker killed while holding it).
fn acquire(lock: &AtomicU64) -> u64 {
    let mine = u64::from(std::process::id()).max(1);
    let mut spins = 0u32;
    loop {
        let held = lock.load(Ordering::Relaxed);
        let free = held == 0 || (spins >= SPINS && spins % 64 == 0 && !alive(held));
        if free {
            if lock
                .compare_exchange(held, mine, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return mine;
            }
            continue;
        }
        spins = spins.saturating_add(1);
        if spins < SPINS {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Gives an insert lock back, if it is still this process's.
fn release(lock: &AtomicU64, mine: u64) {
    let _ = lock.compare_exchange(mine, 0, Ordering::Release, Ordering::Relaxed);
}

/// Whether process `pid` still exists.
fn alive(pid: u64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// A 64-bit mixer (the finaliser of MurmurHash3, keyed).
fn mix(mut x: u64, key: u64) -> u64 {
    x ^= key;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    fn table(slots: usize, key_words: usize, data_words: usize) -> Table {
        let spec = TableSpec {
            slots,
            key_words,
            data_words,
        };
        let words: &'static [AtomicU64] = Box::leak(
            (0..spec.words())
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        Table::new(words, spec, [0x1234, 0x5678])
    }

    const FOREVER: u64 = u64::MAX;

    #[test]
    fn insert_find_update_remove() {
        let t = table(64, 2, 2);
        assert!(t.get(&[1, 2], 0, FOREVER).is_none());
        let e = t.entry(&[1, 2], 10, FOREVER).expect("inserted");
        e.data(0).fetch_add(5, Relaxed);
        let again = t.entry(&[1, 2], 20, FOREVER).expect("found");
        assert_eq!(again.data(0).load(Relaxed), 5);
        assert_eq!(again.touched(), 20);
        assert_eq!(again.key().collect::<Vec<_>>(), [1, 2]);
        assert!(t.get(&[2, 1], 20, FOREVER).is_none(), "another key");
        assert_eq!(t.entries(20, FOREVER).count(), 1);
        assert!(t.remove(&[1, 2], 20, FOREVER));
        assert!(t.get(&[1, 2], 20, FOREVER).is_none());
        assert!(t.get(&[1], 20, FOREVER).is_none(), "wrong key size");
    }

    #[test]
    fn expired_entries_are_gone_and_reused() {
        let t = table(8, 1, 1);
        let e = t.entry(&[7], 100, 50).expect("inserted");
        e.data(0).store(3, Relaxed);
        assert!(t.get(&[7], 140, 50).is_some());
        assert!(t.get(&[7], 151, 50).is_none(), "expired");
        let fresh = t.entry(&[7], 151, 50).expect("inserted anew");
        assert_eq!(fresh.data(0).load(Relaxed), 0, "its counters start over");
        assert_eq!(t.entries(151, 50).count(), 1);
    }

    /// A full table evicts the least recently updated entry of the probe
    /// window; every insert succeeds.
    #[test]
    fn full_table_evicts_the_least_recently_updated() {
        let t = table(PROBE, 1, 1);
        for k in 0..PROBE as u64 {
            t.entry(&[k], 10 + k, FOREVER).expect("room");
        }
        // Key 0 is the oldest; touch it so key 1 becomes the oldest.
        t.entry(&[0], 100, FOREVER).expect("found");
        let n = t
            .entry(&[1000], 101, FOREVER)
            .expect("an insert never fails");
        n.data(0).store(1, Relaxed);
        assert!(t.get(&[1], 101, FOREVER).is_none(), "key 1 was evicted");
        assert!(t.get(&[0], 101, FOREVER).is_some());
        assert_eq!(t.entries(101, FOREVER).count(), PROBE);
    }

    /// Threads hammering the same keys (inserting them and adding to
    /// them) end with one entry per key and exact totals: the protocol is
    /// the same between processes mapping one region.
    #[test]
    fn concurrent_inserts_and_updates_are_exact() {
        let t = table(1024, 2, 1);
        let threads = 4;
        let per_key = 2000u64;
        let keys = 50u64;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for round in 0..per_key {
                        for k in 0..keys {
                            let e = loop {
                                if let Some(e) = t.entry(&[k, k * 7], round, FOREVER) {
                                    break e;
                                }
                            };
                            e.data(0).fetch_add(1, Relaxed);
                        }
                    }
                });
            }
        });
        let entries: Vec<_> = t.entries(per_key, FOREVER).collect();
        assert_eq!(entries.len(), keys as usize, "one entry per key");
        for e in entries {
            assert_eq!(e.data(0).load(Relaxed), threads * per_key);
        }
    }
}
