//! Arbitrary bytes as HPACK field blocks: the decoder never panics, never
//! passes the header list limit, and a list it decodes, encoded again by
//! weir's encoder, decodes to the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_worker::h2::hpack::{Decoder, Encoder, HeaderList};

const MAX_LIST: usize = 16_384;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into two blocks on one connection.
    let (split, body) = match data.split_first() {
        Some((s, rest)) => (usize::from(*s), rest),
        None => return,
    };
    let at = split.min(body.len());
    let mut d = Decoder::new(4096);
    for block in [&body[..at], &body[at..]] {
        let mut list = HeaderList::new();
        let r = d.decode(block, &mut list, MAX_LIST);
        assert!(list.size() <= MAX_LIST);
        assert!(d.table().size() <= d.table().max_size());
        if r.is_err() {
            return;
        }
        let mut enc = Encoder::new();
        let mut again = Vec::new();
        enc.block(&mut again, list.iter());
        let mut back = HeaderList::new();
        Decoder::new(4096)
            .decode(&again, &mut back, usize::MAX)
            .expect("weir's encoding decodes");
        assert_eq!(back, list);
    }
});
