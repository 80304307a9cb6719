//! The HPACK decoder (RFC 7541 §3, §6): one field block in, a
//! [`HeaderList`] out, the connection's dynamic table updated.
//!
//! What it enforces while it decodes, never after:
//! - the header list size (name + value + 32 per field, RFC 9113 §6.5.2):
//!   decoding stops at the field that would cross `max_list_size`, before
//!   its bytes are copied (a raw string) or as soon as they are decoded (a
//!   Huffman one, at most 8/5 of its compressed length): an HPACK bomb of
//!   indexed references to a large entry costs one comparison a field;
//! - dynamic table size updates only at the start of a block, never above
//!   the SETTINGS_HEADER_TABLE_SIZE weir advertised, and required at the
//!   start of the first block after weir lowered it (§4.2);
//! - integers of at most 32 bits, indices within the tables, string
//!   lengths within the block, Huffman padding and EOS (§5).
//!
//! Any error leaves the table out of step with the peer's encoder: every
//! one is a connection error (COMPRESSION_ERROR, or ENHANCE_YOUR_CALM for
//! a list over the limit, [`HpackError::code`]).

use std::fmt;

use super::super::error::ErrorCode;
use super::super::fields::HeaderList;
use super::huffman::{self, HuffmanError};
use super::table::{DynamicTable, STATIC};

/// Why a field block was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpackError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer over 32 bits.
    IntegerOverflow,
    /// Index 0, or past the end of the tables.
    BadIndex,
    /// A bad Huffman string.
    Huffman(HuffmanError),
    /// A table size update above SETTINGS_HEADER_TABLE_SIZE.
    TableSizeOverLimit,
    /// A table size update after the first field of the block.
    LateTableSizeUpdate,
    /// The size update weir's lowered setting requires is missing.
    MissingTableSizeUpdate,
    /// The decoded list is over the limit.
    ListTooLarge,
}

impl HpackError {
    /// The GOAWAY code.
    pub fn code(self) -> ErrorCode {
        match self {
            HpackError::ListTooLarge => ErrorCode::ENHANCE_YOUR_CALM,
            _ => ErrorCode::COMPRESSION_ERROR,
        }
    }

    /// A reason for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            HpackError::Truncated => "HPACK: truncated field block",
            HpackError::IntegerOverflow => "HPACK: integer overflow",
            HpackError::BadIndex => "HPACK: invalid index",
            HpackError::Huffman(HuffmanError::Eos) => "HPACK: EOS in a Huffman string",
            HpackError::Huffman(HuffmanError::Padding) => "HPACK: bad Huffman padding",
            HpackError::TableSizeOverLimit => "HPACK: table size update over the limit",
            HpackError::LateTableSizeUpdate => "HPACK: table size update after a field",
            HpackError::MissingTableSizeUpdate => "HPACK: required table size update missing",
            HpackError::ListTooLarge => "header list over max_header_list_size",
        }
    }
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for HpackError {}

/// The decoder of one connection.
#[derive(Clone, Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// SETTINGS_HEADER_TABLE_SIZE in force (acknowledged by the peer).
    limit: usize,
    /// After weir lowered its setting: the next block must start with an
    /// update to at most this.
    required: Option<usize>,
}

impl Decoder {
    /// A decoder whose table may grow to `limit` (weir's
    /// SETTINGS_HEADER_TABLE_SIZE; until acknowledged, the initial 4096
    /// applies: see [`Decoder::set_limit`]).
    pub fn new(limit: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(limit),
            limit,
            required: None,
        }
    }

    /// The peer acknowledged a new SETTINGS_HEADER_TABLE_SIZE: updates are
    /// checked against it; if it is below the table's current maximum,
    /// the next block must start with an update (§4.2).
    pub fn set_limit(&mut self, limit: usize) {
        if limit < self.table.max_size() {
            self.required = Some(limit);
        }
        self.limit = limit;
    }

    /// The dynamic table (for tests and statistics).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes a whole field block, appending its fields to `list` (not
    /// cleared first); stops with [`HpackError::ListTooLarge`] as soon as
    /// the list would pass `max_list_size`.
    pub fn decode(
        &mut self,
        block: &[u8],
        list: &mut HeaderList,
        max_list_size: usize,
    ) -> Result<(), HpackError> {
        let mut r = Reader { block, pos: 0 };
        let mut at_start = true;
        while let Some(&first) = block.get(r.pos) {
            if first & 0x80 != 0 {
                let index = r.integer(7)?;
                let (name, value) = self.lookup(index)?;
                fits(list, name.len() + value.len(), max_list_size)?;
                list.push(name, value);
            } else if first & 0xe0 == 0x20 {
                if !at_start {
                    return Err(HpackError::LateTableSizeUpdate);
                }
                let size = r.integer(5)?;
                if size > self.limit {
                    return Err(HpackError::TableSizeOverLimit);
                }
                if self.required.is_some_and(|req| size <= req) {
                    self.required = None;
                }
                self.table.set_max_size(size);
                continue;
            } else {
                // Literals: with incremental indexing (01), without (0000),
                // never indexed (0001).
                let indexing = first & 0x40 != 0;
                let index = r.integer(if indexing { 6 } else { 4 })?;
                self.literal(&mut r, index, indexing, list, max_list_size)?;
            }
            if self.required.is_some() {
                return Err(HpackError::MissingTableSizeUpdate);
            }
            at_start = false;
        }
        Ok(())
    }

    /// A literal field: name by index or as a string, then the value.
    fn literal(
        &mut self,
        r: &mut Reader<'_>,
        index: usize,
        indexing: bool,
        list: &mut HeaderList,
        max: usize,
    ) -> Result<(), HpackError> {
        let start = list.mark();
        let written = self.literal_bytes(r, index, list, max);
        let Ok(split) = written else {
            list.rollback(start);
            return written.map(|_| ());
        };
        let end = list.mark();
        list.commit(start, split);
        if indexing {
            self.table
                .insert(list.slice(start..split), list.slice(split..end));
        }
        Ok(())
    }

    /// Writes a literal's name and value after the list's bytes; returns
    /// where the value starts.
    fn literal_bytes(
        &self,
        r: &mut Reader<'_>,
        index: usize,
        list: &mut HeaderList,
        max: usize,
    ) -> Result<usize, HpackError> {
        if index == 0 {
            r.string(list, max)?;
        } else {
            let (name, _) = self.lookup(index)?;
            fits(list, name.len(), max)?;
            list.bytes_mut().extend_from_slice(name);
        }
        let split = list.mark();
        r.string(list, max)?;
        Ok(split)
    }

    /// The entry at a combined index (§2.3.3): 1–61 static, then dynamic.
    fn lookup(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        match index {
            0 => Err(HpackError::BadIndex),
            i if i <= STATIC.len() => Ok(STATIC[i - 1]),
            i => self
                .table
                .get(i - STATIC.len() - 1)
                .ok_or(HpackError::BadIndex),
        }
    }
}

/// Whether `more` bytes (and a field's overhead) still fit in the list;
/// `list.mark()` tells the bytes of a field being written.
fn fits(list: &HeaderList, more: usize, max: usize) -> Result<(), HpackError> {
    let pending = list.mark().saturating_sub(list.committed_len());
    let total = list.size() + pending + more + super::super::fields::FIELD_OVERHEAD;
    if total > max {
        return Err(HpackError::ListTooLarge);
    }
    Ok(())
}

/// A cursor over one block.
struct Reader<'a> {
    block: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    /// An integer with an N-bit prefix (§5.1), at most `u32::MAX`.
    fn integer(&mut self, prefix: u8) -> Result<usize, HpackError> {
        let mask = (1u8 << prefix) - 1;
        let first = *self.block.get(self.pos).ok_or(HpackError::Truncated)?;
        self.pos += 1;
        let mut value = u64::from(first & mask);
        if value < u64::from(mask) {
            return Ok(value as usize);
        }
        let mut shift = 0u32;
        loop {
            let b = *self.block.get(self.pos).ok_or(HpackError::Truncated)?;
            self.pos += 1;
            value += u64::from(b & 0x7f) << shift;
            if value > u64::from(u32::MAX) {
                return Err(HpackError::IntegerOverflow);
            }
            if b & 0x80 == 0 {
                return usize::try_from(value).map_err(|_| HpackError::IntegerOverflow);
            }
            shift += 7;
            if shift > 28 {
                return Err(HpackError::IntegerOverflow);
            }
        }
    }

    /// A string literal (§5.2), appended to the list's bytes after a size
    /// check.
    fn string(&mut self, list: &mut HeaderList, max: usize) -> Result<(), HpackError> {
        let huffman = self.block.get(self.pos).is_some_and(|b| b & 0x80 != 0);
        let len = self.integer(7)?;
        let end = self.pos.checked_add(len).ok_or(HpackError::Truncated)?;
        let raw = self.block.get(self.pos..end).ok_or(HpackError::Truncated)?;
        self.pos = end;
        if huffman {
            huffman::decode(raw, list.bytes_mut()).map_err(HpackError::Huffman)?;
            fits(list, 0, max)
        } else {
            fits(list, raw.len(), max)?;
            list.bytes_mut().extend_from_slice(raw);
            Ok(())
        }
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
