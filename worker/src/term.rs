//! Why a session or a stream ended: what failed (or who acted) and in
//! which phase — HAProxy's termination state, typed.
//!
//! The two letters of the log (`SC`, `cD`, `PR`…) are produced only when a
//! line is rendered ([`Termination::code`]); everything else asks the
//! type: the counters ([`Termination::is_connect_error`]…), the retry
//! logic ([`Termination::retryable`]) and which side failed
//! ([`Termination::side`]).

use crate::tokens::Side;

/// What ended it: HAProxy's first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `-`: it ended normally.
    Normal,
    /// `C`: the client aborted, or its connection failed.
    ClientAbort,
    /// `S`: the server aborted, refused the connection, or broke the
    /// protocol.
    ServerError,
    /// `P`: weir refused it (a bad request, a deny rule, an invalid body).
    Proxy,
    /// `L`: weir answered it itself (`return`, `redirect`, statistics).
    Local,
    /// `K`: an operator or a stop killed it.
    Killed,
    /// `c`: the client timeout expired.
    ClientTimeout,
    /// `s`: the server (or connect, or queue) timeout expired.
    ServerTimeout,
}

/// Where it was: HAProxy's second letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// `-`: nowhere in particular (a normal end).
    None,
    /// `R`: waiting for (or reading) the request head.
    Request,
    /// `Q`: waiting in a backend's queue for a server slot.
    Queue,
    /// `C`: connecting to the server.
    Connect,
    /// `H`: waiting for (or reading) the response head.
    Headers,
    /// `D`: forwarding data.
    Data,
}

/// Why a session or stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    pub cause: Cause,
    pub at: At,
}

impl Termination {
    /// All went well (`--`).
    pub const NORMAL: Termination = Termination::new(Cause::Normal, At::None);

    pub const fn new(cause: Cause, at: At) -> Termination {
        Termination { cause, at }
    }

    /// The client side failed in phase `at` (`C?`).
    pub const fn client(at: At) -> Termination {
        Termination::new(Cause::ClientAbort, at)
    }

    /// The server side failed in phase `at` (`S?`).
    pub const fn server(at: At) -> Termination {
        Termination::new(Cause::ServerError, at)
    }

    /// The side that failed, `side`, in phase `at`.
    pub const fn failed(side: Side, at: At) -> Termination {
        match side {
            Side::Client => Termination::client(at),
            Side::Server => Termination::server(at),
        }
    }

    /// The two letters of the log line.
    pub fn code(self) -> [u8; 2] {
        let cause = match self.cause {
            Cause::Normal => b'-',
            Cause::ClientAbort => b'C',
            Cause::ServerError => b'S',
            Cause::Proxy => b'P',
            Cause::Local => b'L',
            Cause::Killed => b'K',
            Cause::ClientTimeout => b'c',
            Cause::ServerTimeout => b's',
        };
        let at = match self.at {
            At::None => b'-',
            At::Request => b'R',
            At::Queue => b'Q',
            At::Connect => b'C',
            At::Headers => b'H',
            At::Data => b'D',
        };
        [cause, at]
    }

    pub fn is_normal(self) -> bool {
        self == Termination::NORMAL
    }

    /// Which side failed, if one did (weir's own refusals, local answers
    /// and kills are no side's failure).
    pub fn side(self) -> Option<Side> {
        match self.cause {
            Cause::ClientAbort | Cause::ClientTimeout => Some(Side::Client),
            Cause::ServerError | Cause::ServerTimeout => Some(Side::Server),
            _ => None,
        }
    }

    /// A connection attempt to the server failed or timed out (`SC`,
    /// `sC`): another attempt, maybe on another server, may succeed.
    pub fn retryable(self) -> bool {
        self.is_connect_error()
    }

    /// Counted as a connection error (`econ`).
    pub fn is_connect_error(self) -> bool {
        self.at == At::Connect && self.side() == Some(Side::Server)
    }

    /// Counted as a response error (`eresp`): the server failed or timed
    /// out while its response was awaited or forwarded.
    pub fn is_response_error(self) -> bool {
        self.side() == Some(Side::Server) && matches!(self.at, At::Headers | At::Data)
    }

    /// The client aborted while data flowed (`cli_abrt`).
    pub fn is_client_abort(self) -> bool {
        self == Termination::client(At::Data)
    }

    /// The server aborted while data flowed (`srv_abrt`).
    pub fn is_server_abort(self) -> bool {
        self == Termination::server(At::Data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_questions() {
        let sc = Termination::server(At::Connect);
        assert_eq!(sc.code(), *b"SC");
        assert!(sc.retryable() && sc.is_connect_error() && !sc.is_response_error());
        let timeout = Termination::new(Cause::ServerTimeout, At::Connect);
        assert_eq!(timeout.code(), *b"sC");
        assert!(timeout.retryable());
        assert_eq!(Termination::NORMAL.code(), *b"--");
        assert_eq!(Termination::new(Cause::Killed, At::None).code(), *b"K-");
        let sh = Termination::new(Cause::ServerTimeout, At::Headers);
        assert_eq!((sh.code(), sh.is_response_error()), (*b"sH", true));
        assert_eq!(Termination::new(Cause::Proxy, At::Request).side(), None);
        assert_eq!(
            Termination::new(Cause::ClientTimeout, At::Data).side(),
            Some(Side::Client)
        );
        assert!(Termination::client(At::Data).is_client_abort());
        assert!(Termination::server(At::Data).is_server_abort());
    }
}
