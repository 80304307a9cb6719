//! Poller tokens and task numbers: how an event or a timer finds its owner.
//!
//! ```text
//! Token(0)                      the signal queue (signalfd)
//! Token(1 + i)                  listener i
//! Token(SESSION_BASE + 2k)      session k, client side
//! Token(SESSION_BASE + 2k + 1)  session k, server side
//! Token(IDLE_BASE + i)          parked server connection i (HTTP reuse)
//! ```
//! Tasks: `TASK_*` are the worker's own; session k is task `SESSION_TASKS + k`.

use mio::Token;

pub const SIGNALS: Token = Token(0);
const LISTENER_BASE: usize = 1;
const SESSION_BASE: usize = 1 << 20;
const IDLE_BASE: usize = 1 << 40;

/// Closes the listeners when the soft-stop grace period ends.
pub const TASK_GRACE: usize = 0;
/// Kills what is left when `hard_stop_after` passes.
pub const TASK_HARD_STOP: usize = 1;
/// Retries accepting after a resource shortage (EMFILE, ENOBUFS…).
pub const TASK_LISTENERS: usize = 2;
/// Closes parked server connections idle for too long.
pub const TASK_IDLE: usize = 3;
pub const SESSION_TASKS: usize = 4;

/// Which side of a session an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// What a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Signals,
    Listener(usize),
    Session(usize, Side),
    Idle(usize),
}

pub fn listener(i: usize) -> Token {
    Token(LISTENER_BASE + i)
}

pub fn session(key: usize, side: Side) -> Token {
    Token(SESSION_BASE + 2 * key + usize::from(side == Side::Server))
}

pub fn idle(i: usize) -> Token {
    Token(IDLE_BASE + i)
}

pub fn owner(t: Token) -> Owner {
    match t.0 {
        0 => Owner::Signals,
        n if n < SESSION_BASE => Owner::Listener(n - LISTENER_BASE),
        n if n >= IDLE_BASE => Owner::Idle(n - IDLE_BASE),
        n => {
            let k = n - SESSION_BASE;
            let side = if k % 2 == 0 {
                Side::Client
            } else {
                Side::Server
            };
            Owner::Session(k / 2, side)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(owner(SIGNALS), Owner::Signals);
        assert_eq!(owner(listener(3)), Owner::Listener(3));
        assert_eq!(
            owner(session(7, Side::Server)),
            Owner::Session(7, Side::Server)
        );
        assert_eq!(
            owner(session(0, Side::Client)),
            Owner::Session(0, Side::Client)
        );
    }
}
