//! Poller tokens and task numbers: how an event or a timer finds its owner.
//!
//! ```text
//! Token(0)                                  the signal queue (signalfd)
//! Token(1 + i)                              listener i
//! Token(SESSION_BASE + k << SLOT_BITS | s)  session k's connection in slot s:
//!                                             0 the client connection,
//!                                             1.. a server side (a TCP
//!                                             session's, an HTTP stream's)
//! Token(MUX_BASE + m)                       HTTP/2 server connection m
//! Token(IDLE_BASE + i)                      parked server connection i
//! ```
//!
//! A stream's server side is named by its session and its slot there, not
//! by the stream's own key: the connection an HTTP/1 client connection
//! keeps between two requests stays registered under its slot and the
//! next request's stream takes it over with no poller change
//! ([`crate::idle::kept`]). The session maps a slot to the stream in it.
//!
//! Tasks: `TASK_*` are the worker's own; session k is task
//! `SESSION_TASKS + 3k`, stream j (its key in the worker's stream slab)
//! task `SESSION_TASKS + 3j + 1` and HTTP/2 server connection m task
//! `SESSION_TASKS + 3m + 2`, so all stay dense for the scheduler.
//! A task number is also its owner's key in a backend's queue.

use mio::Token;

pub const SIGNALS: Token = Token(0);
const LISTENER_BASE: usize = 1;
const SESSION_BASE: usize = 1 << 20;
const MUX_BASE: usize = 1 << 44;
const IDLE_BASE: usize = 1 << 48;
/// Slots per session: the client connection and up to 1023 server sides.
const SLOT_BITS: u32 = 10;

/// A session's client connection.
pub const CLIENT_SLOT: usize = 0;
/// The server side of a TCP session, or of an HTTP/1 session's stream.
pub const SERVER_SLOT: usize = 1;

/// Closes the listeners when the soft-stop grace period ends.
pub const TASK_GRACE: usize = 0;
/// Kills what is left when `hard_stop_after` passes.
pub const TASK_HARD_STOP: usize = 1;
/// Retries accepting after a resource shortage (EMFILE, ENOBUFS…).
pub const TASK_LISTENERS: usize = 2;
/// Closes parked server connections idle for too long.
pub const TASK_IDLE: usize = 3;
pub const SESSION_TASKS: usize = 4;

/// Which side of a session or stream something concerns.
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
    /// A session's connection: (session key, slot).
    Session(usize, usize),
    /// An HTTP/2 connection to a server.
    Mux(usize),
    Idle(usize),
}

/// What a task number names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// One of the worker's own (`TASK_*`).
    Internal(usize),
    Session(usize),
    Stream(usize),
    Mux(usize),
}

pub fn listener(i: usize) -> Token {
    Token(LISTENER_BASE + i)
}

/// The token of session `key`'s connection in `slot`.
pub fn slot(key: usize, slot: usize) -> Token {
    debug_assert!(slot < 1 << SLOT_BITS);
    Token(SESSION_BASE + (key << SLOT_BITS) + slot)
}

pub fn mux(m: usize) -> Token {
    Token(MUX_BASE + m)
}

pub fn idle(i: usize) -> Token {
    Token(IDLE_BASE + i)
}

pub fn owner(t: Token) -> Owner {
    match t.0 {
        0 => Owner::Signals,
        n if n < SESSION_BASE => Owner::Listener(n - LISTENER_BASE),
        n if n >= IDLE_BASE => Owner::Idle(n - IDLE_BASE),
        n if n >= MUX_BASE => Owner::Mux(n - MUX_BASE),
        n => {
            let k = n - SESSION_BASE;
            Owner::Session(k >> SLOT_BITS, k & ((1 << SLOT_BITS) - 1))
        }
    }
}

/// Session `key`'s task.
pub fn session_task(key: usize) -> usize {
    SESSION_TASKS + 3 * key
}

/// Stream `key`'s task.
pub fn stream_task(key: usize) -> usize {
    SESSION_TASKS + 3 * key + 1
}

/// HTTP/2 server connection `m`'s task.
pub fn mux_task(m: usize) -> usize {
    SESSION_TASKS + 3 * m + 2
}

pub fn task(t: usize) -> Task {
    match t.checked_sub(SESSION_TASKS) {
        None => Task::Internal(t),
        Some(n) if n % 3 == 0 => Task::Session(n / 3),
        Some(n) if n % 3 == 1 => Task::Stream(n / 3),
        Some(n) => Task::Mux(n / 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(owner(SIGNALS), Owner::Signals);
        assert_eq!(owner(listener(3)), Owner::Listener(3));
        assert_eq!(owner(slot(7, SERVER_SLOT)), Owner::Session(7, 1));
        assert_eq!(owner(slot(0, CLIENT_SLOT)), Owner::Session(0, 0));
        assert_eq!(owner(slot(1 << 20, 1023)), Owner::Session(1 << 20, 1023));
        assert_eq!(owner(idle(5)), Owner::Idle(5));
        assert_eq!(owner(mux(6)), Owner::Mux(6));
        assert_eq!(task(TASK_IDLE), Task::Internal(TASK_IDLE));
        assert_eq!(task(session_task(9)), Task::Session(9));
        assert_eq!(task(stream_task(9)), Task::Stream(9));
        assert_eq!(task(mux_task(9)), Task::Mux(9));
    }
}
