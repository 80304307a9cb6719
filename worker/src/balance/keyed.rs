//! What `source`, `uri` and `hdr(NAME)` share: a 32-bit key (from
//! [`super::hash`]) placed on a server as HAProxy 2.6 places it, by the
//! backend's `hash_type` — a map of the weights ([`super::map`], HAProxy's
//! default) or a ring of points ([`super::chash`], after HAProxy's
//! avalanche of the key) — and round-robin when the request has no key
//! (no header, TCP mode).
//!
//! The server found is taken if it is eligible; if it is full or the one
//! to avoid on a retry, the map or the ring is walked on to the next
//! eligible server (HAProxy would queue on a full server instead: weir has
//! no per-server queues; see docs/configuration.md).

use super::chash::Ring;
use super::hash::full_hash;
use super::map::ServerMap;
use super::roundrobin::Smooth;
use super::{eligible, PickCtx};
use crate::backend::ServerState;
use weir_core::config::model::{self, HashType};

enum Lookup {
    Map(ServerMap),
    Ring(Ring),
}

pub struct Hashed {
    lookup: Lookup,
    fallback: Smooth,
    /// The eligible servers of the current pick, and the same as flags.
    list: Vec<usize>,
    allowed: Vec<bool>,
}

impl Hashed {
    /// For the servers of `b`, by its `hash_type`.
    pub fn new(b: &model::Backend) -> Hashed {
        let lookup = match b.hash_type {
            HashType::MapBased => {
                let weights: Vec<u32> = b.servers.iter().map(|s| s.weight).collect();
                Lookup::Map(ServerMap::new(&weights))
            }
            HashType::Consistent => Lookup::Ring(Ring::default()),
        };
        Hashed {
            lookup,
            fallback: Smooth::default(),
            list: Vec::new(),
            allowed: Vec::new(),
        }
    }

    /// Servers were added, deleted or moved: a map's divisor is
    /// recomputed from the weights the servers have now (a ring needs
    /// nothing: a server's points follow from its slot and weight).
    pub fn servers_changed(&mut self, servers: &[ServerState]) {
        if let Lookup::Map(map) = &mut self.lookup {
            let weights: Vec<u32> = servers
                .iter()
                .map(|s| if s.present { s.init_weight } else { 0 })
                .collect();
            *map = ServerMap::new(&weights);
        }
    }

    /// The server for `key`; round-robin without one.
    pub fn pick(
        &mut self,
        servers: &[ServerState],
        key: Option<u32>,
        avoid: Option<usize>,
    ) -> Option<usize> {
        eligible(servers, avoid, &mut self.list);
        let Some(key) = key else {
            return self
                .fallback
                .next(servers.len(), &self.list, |i| servers[i].weight());
        };
        let first = *self.list.first()?;
        self.allowed.clear();
        self.allowed.resize(servers.len(), false);
        for &i in &self.list {
            self.allowed[i] = true;
        }
        let allowed = &self.allowed;
        let found = match &mut self.lookup {
            Lookup::Map(map) => map
                .lookup(servers, key)
                .and_then(|(at, slots)| walk(slots.len(), at, |k| slots[k]).find(|&i| allowed[i])),
            Lookup::Ring(ring) => ring
                .lookup(servers, full_hash(key))
                .and_then(|(at, points)| {
                    walk(points.len(), at, |k| points[k].1).find(|&i| allowed[i])
                }),
        };
        // The shared state changed between the two reads: any eligible one.
        Some(found.unwrap_or(first))
    }
}

/// The entries of a circular table of `len`, from `at` on.
fn walk(len: usize, at: usize, entry: impl Fn(usize) -> usize) -> impl Iterator<Item = usize> {
    (0..len).map(move |k| entry((at + k) % len))
}

/// The key of a request for `balance = "uri"`: sdbm of the request
/// target up to its `?` (HAProxy's default, without `whole`).
pub fn uri_key(req: &PickCtx) -> Option<u32> {
    let uri = req.uri?;
    let end = uri.iter().position(|&b| b == b'?').unwrap_or(uri.len());
    Some(super::hash::sdbm(&uri[..end]))
}

/// The key for `balance = "hdr(NAME)"`: sdbm of the header's first value
/// (up to a comma, without surrounding blanks), as HAProxy's
/// `http_find_header()` gives it; none when the value is empty.
pub fn header_key(req: &PickCtx) -> Option<u32> {
    let v = req.header?;
    let end = v.iter().position(|&b| b == b',').unwrap_or(v.len());
    let first = v[..end].trim_ascii();
    (!first.is_empty()).then(|| super::hash::sdbm(first))
}
