//! HPACK (RFC 7541), written for weir rather than taken from a crate.
//!
//! The crates were read first (their code and their history):
//! `loona-hpack` (sozu's choice, a fork of `hpack`) decodes into a
//! callback that cannot stop it, so a header list is bounded only after a
//! whole block is decoded; it accepts dynamic table size updates anywhere
//! in a block (it refuses only a trailing one); its `set_max_table_size`
//! asserts; it pulls `tracing` and `thiserror` 1 into the worker; its last
//! release is from November 2024. `hpack` 0.3 has had no release since
//! 2016 and an open report of a panic on a one-byte block. Both decode to
//! owned `Vec`s per field. What weir needs is small (the RFC's Appendix C
//! passes with about 600 lines here): a list bounded while it is decoded,
//! updates only first, and no panic on any input (fuzzed).
//!
//! - [`decoder`]: one block in, a [`HeaderList`] out; every limit checked
//!   as it goes;
//! - [`encoder`]: static table, literals and Huffman, never the dynamic
//!   table (as HAProxy's);
//! - [`table`]: the static table and the bounded dynamic table;
//! - [`huffman`]: the code of Appendix B.

pub mod decoder;
pub mod encoder;
pub mod huffman;
pub mod table;

pub use super::fields::HeaderList;
pub use decoder::{Decoder, HpackError};
pub use encoder::Encoder;
