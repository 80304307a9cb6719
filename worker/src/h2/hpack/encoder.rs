//! The HPACK encoder, as HAProxy's: the static table and literals, never
//! the dynamic table. A field whose name and value are in the static
//! table is one byte; a known name is its index and a literal value; the
//! rest are literal names and values. Literals are never indexed, so the
//! encoder keeps no state of its own but the one table size update it may
//! owe the peer; strings are Huffman-coded when that is shorter.
//!
//! Why no dynamic table: a proxy forwards fields it did not choose, the
//! table would cost memory per connection, and its gain (repeated
//! `user-agent`, `cookie`…) matters on the client side of a slow link,
//! which weir's responses and server-side requests are not. `authorization`
//! and `proxy-authorization` go as never-indexed literals (RFC 7541 §7.1.3).

use super::huffman;
use super::table::STATIC;

/// The encoder of one connection.
#[derive(Clone, Debug, Default)]
pub struct Encoder {
    /// The peer lowered SETTINGS_HEADER_TABLE_SIZE below the 4096 the
    /// encoder may have used: the next block starts with an update to 0.
    owe_update: bool,
    /// The table size the peer allows (initially 4096).
    peer_limit: Option<u32>,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed. The encoder never
    /// inserts, so its table is empty; it announces a size of 0 once, the
    /// first time the limit goes below the initial 4096 (RFC 7541 §4.2).
    pub fn set_peer_limit(&mut self, limit: u32) {
        if limit < self.peer_limit.unwrap_or(4096) && self.peer_limit != Some(0) {
            self.owe_update = true;
        }
        self.peer_limit = Some(limit.min(self.peer_limit.unwrap_or(4096)));
    }

    /// Starts a field block in `out`: writes the table size update if one
    /// is owed. Call once per block, before [`Encoder::field`].
    pub fn begin(&mut self, out: &mut Vec<u8>) {
        if self.owe_update {
            self.owe_update = false;
            self.peer_limit = Some(0);
            out.push(0x20);
        }
    }

    /// Appends one field (the name must already be lower case).
    pub fn field(&self, out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
        let mut name_index = 0;
        for (i, (n, v)) in STATIC.iter().enumerate() {
            if *n == name {
                if *v == value {
                    integer(out, i + 1, 7, 0x80);
                    return;
                }
                if name_index == 0 {
                    name_index = i + 1;
                }
            }
        }
        let sensitive = name == b"authorization" || name == b"proxy-authorization";
        // 0000 (without indexing) or 0001 (never indexed), 4-bit index.
        let flags = if sensitive { 0x10 } else { 0x00 };
        integer(out, name_index, 4, flags);
        if name_index == 0 {
            string(out, name);
        }
        string(out, value);
    }

    /// Appends a whole block of fields (with [`Encoder::begin`]).
    pub fn block<'a>(
        &mut self,
        out: &mut Vec<u8>,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) {
        self.begin(out);
        for (n, v) in fields {
            self.field(out, n, v);
        }
    }
}

/// An integer with an N-bit prefix (RFC 7541 §5.1); `flags` are the bits
/// above the prefix.
pub fn integer(out: &mut Vec<u8>, value: usize, prefix: u8, flags: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// A string literal, Huffman-coded when shorter.
fn string(out: &mut Vec<u8>, s: &[u8]) {
    let coded = huffman::encoded_len(s);
    if coded < s.len() {
        integer(out, coded, 7, 0x80);
        huffman::encode(s, out);
    } else {
        integer(out, s.len(), 7, 0);
        out.extend_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Decoder, HeaderList};
    use super::*;

    fn round_trip(enc: &mut Encoder, dec: &mut Decoder, fields: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        enc.block(&mut out, fields.iter().copied());
        let mut list = HeaderList::new();
        dec.decode(&out, &mut list, 1 << 20).unwrap();
        let back: Vec<(&[u8], &[u8])> = list.iter().collect();
        assert_eq!(back, fields);
        out
    }

    #[test]
    fn static_hits_names_and_literals() {
        let mut enc = Encoder::new();
        let mut dec = Decoder::new(4096);
        let out = round_trip(
            &mut enc,
            &mut dec,
            &[(b":method", b"GET"), (b":status", b"200")],
        );
        assert_eq!(out, [0x82, 0x88]);
        let out = round_trip(&mut enc, &mut dec, &[(b":path", b"/x")]);
        assert_eq!(out[0], 0x04);
        let long: Vec<u8> = vec![b'z'; 300];
        round_trip(
            &mut enc,
            &mut dec,
            &[
                (b"x-custom", &long),
                (b"authorization", b"secret"),
                (b"empty", b""),
                (b"bin", &[0, 1, 2, 255]),
            ],
        );
        assert!(dec.table().is_empty(), "nothing is ever indexed");
    }

    #[test]
    fn never_indexed_for_credentials() {
        let enc = Encoder::new();
        let mut out = Vec::new();
        enc.field(&mut out, b"authorization", b"Basic x");
        assert_eq!(out[0], 0x1f); // never indexed, name index 23 = 15 + 8
        assert_eq!(out[1], 8);
    }

    #[test]
    fn integers_rfc7541_c1() {
        let mut out = Vec::new();
        integer(&mut out, 10, 5, 0);
        assert_eq!(out, [10]);
        out.clear();
        integer(&mut out, 1337, 5, 0);
        assert_eq!(out, [31, 154, 10]);
        out.clear();
        integer(&mut out, 42, 8, 0);
        assert_eq!(out, [42]);
    }

    #[test]
    fn a_lowered_peer_table_gets_one_update() {
        let mut enc = Encoder::new();
        enc.set_peer_limit(8192);
        let mut out = Vec::new();
        enc.begin(&mut out);
        assert!(out.is_empty());
        enc.set_peer_limit(100);
        enc.begin(&mut out);
        assert_eq!(out, [0x20]);
        out.clear();
        enc.begin(&mut out);
        enc.set_peer_limit(10);
        enc.begin(&mut out);
        assert!(out.is_empty());
    }
}
