//! [`HeaderList`]: a list of header fields kept in one byte buffer, with
//! the size accounting of RFC 9113 §6.5.2 (name + value + 32 per field).
//! The HPACK decoder fills one per field block; the conversions read and
//! build them. Cleared and reused, it allocates nothing once grown.

use std::ops::Range;

/// What a field costs besides its bytes in SETTINGS_MAX_HEADER_LIST_SIZE
/// (and in the HPACK table).
pub const FIELD_OVERHEAD: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spans {
    name_start: u32,
    name_end: u32,
    value_end: u32,
}

/// A header list: fields in order, names and values as bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderList {
    bytes: Vec<u8>,
    fields: Vec<Spans>,
    size: usize,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> HeaderList {
        HeaderList::default()
    }

    /// Empties the list, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
        self.size = 0;
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Its size as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The field at `i`.
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let s = self.fields.get(i)?;
        let name = self.bytes.get(s.name_start as usize..s.name_end as usize)?;
        let value = self.bytes.get(s.name_end as usize..s.value_end as usize)?;
        Some((name, value))
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        (0..self.fields.len()).filter_map(move |i| self.get(i))
    }

    /// Appends a field.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let mark = self.bytes.len();
        self.bytes.extend_from_slice(name);
        let split = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.commit(mark, split);
    }

    /// Appends a field, its name lower-cased (HTTP/1 names to HTTP/2).
    pub fn push_lowercase(&mut self, name: &[u8], value: &[u8]) {
        let mark = self.bytes.len();
        self.bytes.extend(name.iter().map(u8::to_ascii_lowercase));
        let split = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.commit(mark, split);
    }

    /// Where the next field's bytes start (for the decoder, which writes
    /// a name and a value in place, then [`HeaderList::commit`]s them).
    pub(crate) fn mark(&self) -> usize {
        self.bytes.len()
    }

    /// Where the bytes of the last whole field end.
    pub(crate) fn committed_len(&self) -> usize {
        self.fields.last().map_or(0, |s| s.value_end as usize)
    }

    /// The bytes, to append a name or value in place.
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// The bytes in `range` (for the decoder, to index what it wrote).
    pub(crate) fn slice(&self, range: Range<usize>) -> &[u8] {
        self.bytes.get(range).unwrap_or_default()
    }

    /// Drops the bytes written after `mark` (an abandoned field).
    pub(crate) fn rollback(&mut self, mark: usize) {
        self.bytes.truncate(mark);
    }

    /// Makes a field of the bytes from `start`: the name up to `split`,
    /// the value after. Lists are bounded far below 4 GiB (the decoder's
    /// limit), so the offsets fit in `u32`; a list that grew past it is
    /// not a list this layer builds.
    pub(crate) fn commit(&mut self, start: usize, split: usize) {
        let end = self.bytes.len();
        let (Ok(a), Ok(b), Ok(c)) = (
            u32::try_from(start),
            u32::try_from(split),
            u32::try_from(end),
        ) else {
            self.bytes.truncate(start);
            return;
        };
        self.size += end - start + FIELD_OVERHEAD;
        self.fields.push(Spans {
            name_start: a,
            name_end: b,
            value_end: c,
        });
    }
}

impl<'a> FromIterator<(&'a [u8], &'a [u8])> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (&'a [u8], &'a [u8])>>(iter: I) -> HeaderList {
        let mut list = HeaderList::new();
        for (n, v) in iter {
            list.push(n, v);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_size_and_reuse() {
        let mut l = HeaderList::new();
        l.push(b":method", b"GET");
        l.push(b"x", b"");
        assert_eq!(l.len(), 2);
        assert_eq!(l.get(0), Some((&b":method"[..], &b"GET"[..])));
        assert_eq!(l.get(1), Some((&b"x"[..], &b""[..])));
        assert_eq!(l.get(2), None);
        assert_eq!(l.size(), 7 + 3 + 32 + 1 + 32);
        let v: Vec<_> = l.iter().collect();
        assert_eq!(v.len(), 2);
        l.clear();
        assert!(l.is_empty());
        assert_eq!(l.size(), 0);
        let l2: HeaderList = [(&b"a"[..], &b"b"[..])].into_iter().collect();
        assert_eq!(l2.get(0), Some((&b"a"[..], &b"b"[..])));
    }
}
