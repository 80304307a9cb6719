//! Arbitrary bytes as a `tls_ticket_keys` file: the parser never panics; a
//! ring it accepts survives the shared-memory byte form, and written back
//! as a key file (the last three keys) parses to the same ring.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_core::tls::tickets::{file, TicketKeys, NAME_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(ring) = file::parse(data) else { return };
    assert_eq!(TicketKeys::from_bytes(&ring.to_bytes()).as_ref(), Some(&ring));
    let text: String = ring
        .keys
        .iter()
        .map(|k| {
            let mut raw = k.name.to_vec();
            raw.extend_from_slice(k.secret());
            assert!(raw.len() == NAME_LEN + 32 || raw.len() == NAME_LEN + 64);
            format!("{}\n", data_encoding::BASE64.encode(&raw))
        })
        .collect();
    assert_eq!(file::parse(text.as_bytes()).as_ref(), Ok(&ring));
});
