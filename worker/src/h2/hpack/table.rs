//! The HPACK tables (RFC 7541 §2.3): the static table of Appendix A and a
//! bounded dynamic table.
//!
//! The dynamic table keeps its entries' bytes in one buffer, newest last;
//! evicting the oldest entries only moves a start offset, and the buffer is
//! compacted when more than half of it is dead. So inserting allocates
//! nothing once the buffer has grown to the table's size, and the memory
//! of a table is bounded by twice its maximum size (plus 12 bytes an
//! entry), whatever the peer sends.

use std::collections::VecDeque;

/// The static table (RFC 7541 Appendix A), index 1 first.
#[rustfmt::skip]
pub const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// What an entry costs in the table besides its bytes (§4.1).
pub const ENTRY_OVERHEAD: usize = 32;

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Offset of the name in `bytes`.
    at: usize,
    name_len: usize,
    value_len: usize,
}

impl Entry {
    fn size(&self) -> usize {
        self.name_len + self.value_len + ENTRY_OVERHEAD
    }
}

/// The dynamic table of one direction of one connection.
#[derive(Clone, Debug, Default)]
pub struct DynamicTable {
    bytes: Vec<u8>,
    /// Bytes at the start of `bytes` that belong to evicted entries.
    dead: usize,
    /// Oldest first.
    entries: VecDeque<Entry>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    /// An empty table of at most `max_size` bytes.
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            max_size,
            ..DynamicTable::default()
        }
    }

    /// The current size (§4.1).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The current maximum size.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Changes the maximum size, evicting what no longer fits (§4.3).
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// The entry at dynamic index `i` (0 is the newest).
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let e = self.entries.get(self.entries.len().checked_sub(i + 1)?)?;
        let name = self.bytes.get(e.at..e.at + e.name_len)?;
        let value = self
            .bytes
            .get(e.at + e.name_len..e.at + e.name_len + e.value_len)?;
        Some((name, value))
    }

    /// Adds an entry (§4.4): older entries are evicted to make room; an
    /// entry larger than the maximum size empties the table and is not
    /// added.
    pub fn insert(&mut self, name: &[u8], value: &[u8]) {
        let e = Entry {
            at: 0,
            name_len: name.len(),
            value_len: value.len(),
        };
        let size = e.size();
        if size > self.max_size {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - size);
        if self.dead > 0 && self.dead >= self.bytes.len() / 2 {
            self.bytes.drain(..self.dead);
            for old in &mut self.entries {
                old.at -= self.dead;
            }
            self.dead = 0;
        }
        let at = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.entries.push_back(Entry { at, ..e });
        self.size += size;
    }

    /// Evicts the oldest entries until the size is at most `target`.
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.size -= old.size();
            self.dead = old.at + old.name_len + old.value_len;
        }
        if self.entries.is_empty() {
            self.bytes.clear();
            self.dead = 0;
            self.size = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_ends() {
        assert_eq!(STATIC[0], (&b":authority"[..], &b""[..]));
        assert_eq!(STATIC[1], (&b":method"[..], &b"GET"[..]));
        assert_eq!(STATIC[60], (&b"www-authenticate"[..], &b""[..]));
    }

    #[test]
    fn eviction_and_order() {
        // Each entry "aN"/"bbbb" costs 2 + 4 + 32 = 38 bytes; 3 fit in 120.
        let mut t = DynamicTable::new(120);
        for i in 0..10u8 {
            t.insert(&[b'a', b'0' + i], b"bbbb");
            assert!(t.size() <= 120);
            assert_eq!(t.get(0), Some((&[b'a', b'0' + i][..], &b"bbbb"[..])));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.size(), 114);
        assert_eq!(t.get(2).unwrap().0, b"a7");
        assert_eq!(t.get(3), None);
        // The buffer stays bounded however many inserts.
        for _ in 0..10_000 {
            t.insert(b"a9", b"bbbb");
        }
        assert!(t.bytes.len() <= 2 * 120, "{}", t.bytes.len());
    }

    #[test]
    fn too_large_entry_empties_the_table() {
        let mut t = DynamicTable::new(64);
        t.insert(b"k", b"v");
        assert_eq!(t.len(), 1);
        t.insert(&[0; 40], b"v");
        assert!(t.is_empty());
        assert_eq!(t.size(), 0);
        // An entry of exactly the maximum size fits.
        t.insert(&[b'n'; 16], &[b'v'; 16]);
        assert_eq!((t.len(), t.size()), (1, 64));
    }

    #[test]
    fn shrinking_evicts() {
        let mut t = DynamicTable::new(4096);
        t.insert(b"one", b"1");
        t.insert(b"two", b"2");
        t.set_max_size(36);
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(0).unwrap().0, b"two");
        t.set_max_size(0);
        assert!(t.is_empty());
    }
}
