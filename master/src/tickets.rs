//! TLS session ticket keys, the master's part: the ring every worker
//! shares ([`weir_core::shm::TicketArea`]), from `tls_ticket_keys` or
//! generated here, rotated every `tls_ticket_lifetime` when generated, and
//! carried into the region of each reload (and to a new master started
//! with `-sf`, over the takeover socket), so a client resumes its session
//! whichever worker or generation it reaches. HAProxy needs a hand-made
//! key file for that; without one, its processes each make their own.

use std::time::Instant;
use weir_core::config::model::Config;
use weir_core::log::Logger;
use weir_core::shm::SharedState;
use weir_core::tls::TicketKeys;

/// The ring the master has published, and when it next rotates.
pub struct Tickets {
    ring: Option<TicketKeys>,
    /// `None` when the keys come from a file (the operator rotates them
    /// by editing it and reloading).
    next_rotation: Option<Instant>,
}

impl Tickets {
    /// No keys published yet.
    pub fn none() -> Tickets {
        Tickets {
            ring: None,
            next_rotation: None,
        }
    }

    /// The ring for `config`: the key file's, else `carried` (from the
    /// previous region, or the old master of a `-sf`), else new keys;
    /// written into `shared`.
    pub fn publish(
        config: &Config,
        shared: &SharedState,
        carried: Option<TicketKeys>,
        logger: &Logger,
    ) -> Tickets {
        let g = &config.global;
        let (ring, next_rotation) = match (&g.tls_ticket_keys, carried) {
            (Some(file), _) => (Some(file.keys.clone()), None),
            (None, Some(ring)) => (Some(ring), Some(Instant::now() + g.tls_ticket_lifetime)),
            (None, None) => match TicketKeys::generate() {
                Ok(ring) => (Some(ring), Some(Instant::now() + g.tls_ticket_lifetime)),
                Err(e) => {
                    logger.warning(&format!(
                        "cannot generate TLS ticket keys ({e}): sessions resume only on the worker that made them"
                    ));
                    (None, None)
                }
            },
        };
        if let Some(r) = &ring {
            shared.tickets.store(r);
        }
        Tickets {
            ring,
            next_rotation,
        }
    }

    /// The ring in use, to carry over.
    pub fn ring(&self) -> Option<&TicketKeys> {
        self.ring.as_ref()
    }

    /// When the next rotation is due, if generated keys rotate.
    pub fn deadline(&self) -> Option<Instant> {
        self.next_rotation
    }

    /// Rotates the generated keys when due: the next key starts to
    /// encrypt, the oldest is dropped, a new one is made.
    pub fn run(&mut self, now: Instant, config: &Config, shared: &SharedState, logger: &Logger) {
        if self.next_rotation.is_none_or(|t| now < t) {
            return;
        }
        self.next_rotation = Some(now + config.global.tls_ticket_lifetime);
        let Some(ring) = &self.ring else {
            return;
        };
        match ring.rotate() {
            Ok(next) => {
                shared.tickets.store(&next);
                self.ring = Some(next);
                logger.info("TLS ticket keys rotated");
            }
            Err(e) => logger.warning(&format!("cannot rotate TLS ticket keys: {e}")),
        }
    }
}
