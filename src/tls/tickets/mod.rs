//! Session ticket keys, so that a client resumes its TLS session whichever
//! worker, or whichever generation of workers after a reload, it reaches.
//!
//! A ring holds [`RING_KEYS`] keys, as HAProxy's `TLS_TICKETS_NO`: the
//! last-but-one encrypts new tickets, every one decrypts. Rotation drops
//! the oldest key and appends a new one, so the key that was "next" (known
//! to every process since the previous rotation) starts encrypting, and a
//! ticket stays readable for one to two rotation periods.
//!
//! - [`file`](mod@file) reads HAProxy's `tls-ticket-keys` file (`tls_ticket_keys`);
//! - [`TicketKeys::generate`] makes a ring from the OS random generator
//!   when there is no file (the master's job);
//! - [`TicketKeys::to_bytes`]/[`TicketKeys::from_bytes`]: a fixed-size byte
//!   form ([`RING_BYTES`]), for a shared-memory area the master writes and
//!   the workers read;
//! - [`ticketer::Ticketer`] is rustls's `ProducesTickets` over a ring that
//!   can be replaced while running.
//!
//! Byte form, little-endian: `b"WTK1"`, the key count (u8, 3), three zero
//! bytes, the ring's serial (u64: bumped by each rotation, so a reader can
//! tell a new ring cheaply), then per key: its 16-byte name, the secret's
//! length (u8: 32 or 64), the secret padded to 64 bytes, 7 zero bytes.

pub mod file;
pub mod ticketer;

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub use ticketer::Ticketer;

/// Keys in a ring (HAProxy's `TLS_TICKETS_NO`).
pub const RING_KEYS: usize = 3;
/// Which key encrypts: the last-but-one.
pub const ENCRYPTING: usize = RING_KEYS - 2;
/// A key's name: the first 16 bytes of every ticket it encrypts.
pub const NAME_LEN: usize = 16;
/// The longest secret (HAProxy's 80-byte keys: 16 name + 64 secret).
pub const MAX_SECRET: usize = 64;
const KEY_BYTES: usize = NAME_LEN + 1 + MAX_SECRET + 7;
const HEADER: usize = 16;
/// The size of a ring's byte form.
pub const RING_BYTES: usize = HEADER + RING_KEYS * KEY_BYTES;
const MAGIC: &[u8; 4] = b"WTK1";

/// One key: its name and secret (32 or 64 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct TicketKey {
    pub name: [u8; NAME_LEN],
    secret: [u8; MAX_SECRET],
    secret_len: u8,
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name: String = self.name.iter().map(|b| format!("{b:02x}")).collect();
        write!(
            f,
            "TicketKey {{ name: {name}, secret: {} bytes }}",
            self.secret_len
        )
    }
}

impl TicketKey {
    /// A key from its name and secret; `None` unless the secret is 32 or
    /// 64 bytes.
    pub fn new(name: [u8; NAME_LEN], secret: &[u8]) -> Option<TicketKey> {
        if secret.len() != 32 && secret.len() != MAX_SECRET {
            return None;
        }
        let mut s = [0u8; MAX_SECRET];
        s[..secret.len()].copy_from_slice(secret);
        Some(TicketKey {
            name,
            secret: s,
            secret_len: secret.len() as u8,
        })
    }

    /// A new 80-byte-form key from the OS random generator.
    pub fn generate() -> Result<TicketKey, RandomError> {
        let rng = SystemRandom::new();
        let mut name = [0u8; NAME_LEN];
        let mut secret = [0u8; MAX_SECRET];
        rng.fill(&mut name).map_err(|_| RandomError)?;
        rng.fill(&mut secret).map_err(|_| RandomError)?;
        Ok(TicketKey {
            name,
            secret,
            secret_len: MAX_SECRET as u8,
        })
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret[..usize::from(self.secret_len)]
    }
}

/// The OS random generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError;

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the system's random generator failed")
    }
}

impl std::error::Error for RandomError {}

/// A ring of [`RING_KEYS`] keys; `keys[ENCRYPTING]` encrypts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketKeys {
    pub keys: [TicketKey; RING_KEYS],
    /// Bumped by each rotation.
    pub serial: u64,
}

impl TicketKeys {
    /// A new ring of random keys.
    pub fn generate() -> Result<TicketKeys, RandomError> {
        Ok(TicketKeys {
            keys: [
                TicketKey::generate()?,
                TicketKey::generate()?,
                TicketKey::generate()?,
            ],
            serial: 0,
        })
    }

    /// The next ring: the oldest key dropped, a new random one appended.
    pub fn rotate(&self) -> Result<TicketKeys, RandomError> {
        let [_, b, c] = self.keys.clone();
        Ok(TicketKeys {
            keys: [b, c, TicketKey::generate()?],
            serial: self.serial.wrapping_add(1),
        })
    }

    /// The key that encrypts new tickets.
    pub fn encrypting(&self) -> &TicketKey {
        &self.keys[ENCRYPTING]
    }

    /// The fixed-size byte form (module documentation).
    pub fn to_bytes(&self) -> [u8; RING_BYTES] {
        let mut out = [0u8; RING_BYTES];
        out[..4].copy_from_slice(MAGIC);
        out[4] = RING_KEYS as u8;
        out[8..16].copy_from_slice(&self.serial.to_le_bytes());
        for (i, k) in self.keys.iter().enumerate() {
            let at = HEADER + i * KEY_BYTES;
            out[at..at + NAME_LEN].copy_from_slice(&k.name);
            out[at + NAME_LEN] = k.secret_len;
            out[at + NAME_LEN + 1..at + NAME_LEN + 1 + MAX_SECRET].copy_from_slice(&k.secret);
        }
        out
    }

    /// Reads the byte form; `None` when it is not one (a zeroed area, a
    /// torn or foreign write).
    pub fn from_bytes(bytes: &[u8; RING_BYTES]) -> Option<TicketKeys> {
        if &bytes[..4] != MAGIC || usize::from(bytes[4]) != RING_KEYS {
            return None;
        }
        let mut serial = [0u8; 8];
        serial.copy_from_slice(&bytes[8..16]);
        let key = |i: usize| -> Option<TicketKey> {
            let at = HEADER + i * KEY_BYTES;
            let mut name = [0u8; NAME_LEN];
            name.copy_from_slice(&bytes[at..at + NAME_LEN]);
            let len = usize::from(bytes[at + NAME_LEN]);
            let secret = bytes.get(at + NAME_LEN + 1..at + NAME_LEN + 1 + len)?;
            TicketKey::new(name, secret)
        };
        Some(TicketKeys {
            keys: [key(0)?, key(1)?, key(2)?],
            serial: u64::from_le_bytes(serial),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_rotation() {
        let a = TicketKeys::generate().unwrap();
        let bytes = a.to_bytes();
        assert_eq!(TicketKeys::from_bytes(&bytes), Some(a.clone()));
        let b = a.rotate().unwrap();
        assert_eq!(b.serial, 1);
        assert_eq!(b.keys[0], a.keys[1]);
        assert_eq!(b.encrypting(), &a.keys[2]);
        assert_ne!(b.keys[2], a.keys[2]);
        assert_eq!(TicketKeys::from_bytes(&[0u8; RING_BYTES]), None);
        let mut torn = bytes;
        torn[HEADER + NAME_LEN] = 40;
        assert_eq!(TicketKeys::from_bytes(&torn), None);
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = TicketKey::new([0xab; 16], &[7u8; 32]).unwrap();
        let shown = format!("{k:?}");
        assert!(
            shown.contains("abababab") && shown.contains("32 bytes"),
            "{shown}"
        );
        assert!(!shown.contains("[7, 7"), "{shown}");
        assert!(TicketKey::new([0; 16], &[0; 48]).is_none());
    }
}
