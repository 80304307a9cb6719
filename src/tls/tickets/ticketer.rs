//! rustls's `ProducesTickets` over a ring of ticket keys.
//!
//! A ticket is `name (16) ‖ nonce (12) ‖ AES-256-GCM(state) ‖ tag (16)`,
//! the key name also authenticated as associated data. Each key's AEAD key
//! is HKDF-SHA256 of its secret (salt `weir tls ticket v1`, info: its
//! name), so 48- and 80-byte file keys give the same cipher. Nonces are
//! random: at one ticket per full handshake and a new key every
//! `tls_ticket_lifetime`, far below GCM's 2^32 random nonces per key.
//!
//! The ring can be replaced while running ([`Ticketer::update`]): the
//! master rotates the keys in shared memory, each worker installs the new
//! ring; tickets made under the previous ring's keys still decrypt as long
//! as their key is in the new ring.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use rustls::server::ProducesTickets;

use super::{TicketKeys, ENCRYPTING, NAME_LEN};

const SALT: &[u8] = b"weir tls ticket v1";
const TAG_LEN: usize = 16;

/// One ring, ready to seal and open.
struct Sealers {
    serial: u64,
    keys: Vec<([u8; NAME_LEN], LessSafeKey)>,
}

impl Sealers {
    fn new(ring: &TicketKeys) -> Sealers {
        let salt = Salt::new(HKDF_SHA256, SALT);
        let keys = ring
            .keys
            .iter()
            .filter_map(|k| {
                let prk = salt.extract(k.secret());
                let info = [&k.name[..]];
                let okm = prk.expand(&info, &AES_256_GCM).ok()?;
                Some((k.name, LessSafeKey::new(UnboundKey::from(okm))))
            })
            .collect();
        Sealers {
            serial: ring.serial,
            keys,
        }
    }
}

/// Session tickets for every bind of a worker.
pub struct Ticketer {
    current: RwLock<Arc<Sealers>>,
    lifetime: u32,
    rng: SystemRandom,
}

impl std::fmt::Debug for Ticketer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Ticketer {{ serial: {}, lifetime: {}s }}",
            self.sealers().serial,
            self.lifetime
        )
    }
}

/// The longest lifetime TLS 1.3 lets a ticket announce (RFC 8446 §4.6.1).
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

impl Ticketer {
    /// A ticketer over `ring`; `lifetime` is the ticket lifetime announced
    /// to clients (the rotation period, at most 7 days).
    pub fn new(ring: &TicketKeys, lifetime: Duration) -> Arc<Ticketer> {
        Arc::new(Ticketer {
            current: RwLock::new(Arc::new(Sealers::new(ring))),
            lifetime: lifetime.min(MAX_LIFETIME).as_secs() as u32,
            rng: SystemRandom::new(),
        })
    }

    /// Installs a new ring, unless it is the one in place (same serial).
    pub fn update(&self, ring: &TicketKeys) {
        if self.sealers().serial == ring.serial {
            return;
        }
        let new = Arc::new(Sealers::new(ring));
        match self.current.write() {
            Ok(mut cur) => *cur = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    /// The serial of the ring in place.
    pub fn serial(&self) -> u64 {
        self.sealers().serial
    }

    fn sealers(&self) -> Arc<Sealers> {
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.lifetime
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let sealers = self.sealers();
        let (name, key) = sealers.keys.get(ENCRYPTING)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(NAME_LEN + NONCE_LEN + plain.len() + TAG_LEN);
        out.extend_from_slice(name);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&name[..]),
            &mut body,
        )
        .ok()?;
        out.extend_from_slice(&body);
        Some(out)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        if cipher.len() < NAME_LEN + NONCE_LEN + TAG_LEN {
            return None;
        }
        let (name, rest) = cipher.split_at(NAME_LEN);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let sealers = self.sealers();
        let (_, key) = sealers.keys.iter().find(|(n, _)| n[..] == *name)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(name), &mut body).ok()?;
        let len = plain.len();
        body.truncate(len);
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn another_instance_from_the_same_bytes_decrypts() {
        let ring = TicketKeys::generate().unwrap();
        let a = Ticketer::new(&ring, HOUR);
        let shared = ring.to_bytes();
        let b = Ticketer::new(&TicketKeys::from_bytes(&shared).unwrap(), HOUR);
        let ticket = a.encrypt(b"session state").unwrap();
        assert_eq!(&ticket[..NAME_LEN], &ring.encrypting().name);
        assert_eq!(b.decrypt(&ticket).as_deref(), Some(&b"session state"[..]));
        assert_eq!(a.lifetime(), 3600);
    }

    #[test]
    fn rotation_keeps_old_tickets_for_one_more_period() {
        let r0 = TicketKeys::generate().unwrap();
        let t = Ticketer::new(&r0, HOUR);
        let old = t.encrypt(b"before").unwrap();
        let r1 = r0.rotate().unwrap();
        t.update(&r1);
        assert_eq!(t.serial(), 1);
        assert_eq!(t.decrypt(&old).as_deref(), Some(&b"before"[..]));
        let new = t.encrypt(b"after").unwrap();
        assert_eq!(&new[..NAME_LEN], &r1.encrypting().name);
        // A process still on the previous ring reads the new ticket: its
        // key was that ring's "next" key.
        let lagging = Ticketer::new(&r0, HOUR);
        assert_eq!(lagging.decrypt(&new).as_deref(), Some(&b"after"[..]));
        t.update(&r1.rotate().unwrap().rotate().unwrap());
        assert_eq!(t.decrypt(&old), None);
    }

    #[test]
    fn tampered_foreign_and_short_tickets_are_refused() {
        let t = Ticketer::new(&TicketKeys::generate().unwrap(), HOUR);
        let mut ticket = t.encrypt(b"state").unwrap();
        let last = ticket.len() - 1;
        ticket[last] ^= 1;
        assert_eq!(t.decrypt(&ticket), None);
        let other = Ticketer::new(&TicketKeys::generate().unwrap(), HOUR);
        assert_eq!(t.decrypt(&other.encrypt(b"state").unwrap()), None);
        assert_eq!(t.decrypt(&[0u8; 20]), None);
        assert_eq!(
            Ticketer::new(&TicketKeys::generate().unwrap(), MAX_LIFETIME * 2).lifetime(),
            604800
        );
    }
}
