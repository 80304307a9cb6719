//! HAProxy's `tls-ticket-keys` file: one base64 key per line, each 48 bytes
//! (16 name + 16 AES + 16 HMAC) or 80 bytes (16 name + 32 + 32), all of
//! the first key's length, at least [`RING_KEYS`] of them; the last
//! [`RING_KEYS`] are used, the last-but-one encrypts. Rotating is appending
//! a line (`openssl rand 80 | openssl base64 -A`) and reloading.
//!
//! weir reads the key material, not HAProxy's ticket format: the 32 or 64
//! secret bytes of a key feed an HKDF that gives its AEAD key
//! ([`super::ticketer`]). Blank lines and lines starting with `#` are
//! skipped (HAProxy has neither).

use std::path::Path;

use data_encoding::{BASE64, BASE64_NOPAD};

use super::{TicketKey, TicketKeys, NAME_LEN, RING_KEYS};
use crate::tls::pem::{self, FileError};

/// Reads and parses a key file.
pub fn load(path: &Path) -> Result<TicketKeys, FileError> {
    let bytes = pem::read_file(path)?;
    parse(&bytes).map_err(|why| FileError::new(path, why))
}

/// Parses a key file's contents.
pub fn parse(text: &[u8]) -> Result<TicketKeys, String> {
    let mut keys: Vec<TicketKey> = Vec::new();
    let mut first_len = None;
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let lineno = n + 1;
        let raw = BASE64
            .decode(line)
            .or_else(|_| BASE64_NOPAD.decode(line))
            .map_err(|_| format!("line {lineno}: not a base64 key"))?;
        if raw.len() != 48 && raw.len() != 80 {
            return Err(format!(
                "line {lineno}: a key of {} bytes; keys are 48 or 80 bytes \
                 (openssl rand 80 | openssl base64 -A)",
                raw.len()
            ));
        }
        match first_len {
            None => first_len = Some(raw.len()),
            Some(len) if len != raw.len() => {
                return Err(format!(
                    "line {lineno}: a key of {} bytes after keys of {len}; all keys must \
                     have the same length",
                    raw.len()
                ))
            }
            Some(_) => {}
        }
        let mut name = [0u8; NAME_LEN];
        name.copy_from_slice(&raw[..NAME_LEN]);
        match TicketKey::new(name, &raw[NAME_LEN..]) {
            Some(k) => keys.push(k),
            None => return Err(format!("line {lineno}: not a usable key")),
        }
    }
    if keys.len() < RING_KEYS {
        return Err(format!(
            "{} key(s); at least {RING_KEYS} are needed (the last {RING_KEYS} are used, the \
             last-but-one encrypts)",
            keys.len()
        ));
    }
    let last = keys.split_off(keys.len() - RING_KEYS);
    let [a, b, c]: [TicketKey; RING_KEYS] = match last.try_into() {
        Ok(ring) => ring,
        Err(_) => return Err("internal: ring size".to_string()),
    };
    Ok(TicketKeys {
        keys: [a, b, c],
        serial: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fill: u8, len: usize) -> String {
        BASE64.encode(&vec![fill; len])
    }

    #[test]
    fn the_last_three_are_used() {
        let text = [1u8, 2, 3, 4]
            .iter()
            .map(|&b| line(b, 80))
            .collect::<Vec<_>>()
            .join("\n");
        let ring = parse(format!("# keys\n\n{text}\n").as_bytes()).unwrap();
        assert_eq!(ring.keys[0].name, [2; 16]);
        assert_eq!(ring.encrypting().name, [3; 16]);
        assert_eq!(ring.keys[2].secret(), &[4u8; 64][..]);
        let short = [line(1, 48), line(2, 48), line(3, 48)].join("\r\n");
        assert_eq!(parse(short.as_bytes()).unwrap().keys[0].secret().len(), 32);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(format!("{}\n!!!\n", line(1, 80)).as_bytes()).unwrap_err();
        assert_eq!(e, "line 2: not a base64 key");
        let e = parse(line(1, 64).as_bytes()).unwrap_err();
        assert!(e.starts_with("line 1: a key of 64 bytes"), "{e}");
        let e = parse(format!("{}\n{}\n", line(1, 80), line(1, 48)).as_bytes()).unwrap_err();
        assert!(e.contains("after keys of 80"), "{e}");
        let e = parse(format!("{}\n{}\n", line(1, 80), line(2, 80)).as_bytes()).unwrap_err();
        assert!(e.starts_with("2 key(s); at least 3"), "{e}");
        assert!(parse(b"").is_err());
    }
}
