//! Stream states and identifiers (RFC 9113 §5.1, §5.1.1).
//!
//! ```text
//!                  HEADERS recv/send
//!        idle ───────────────────────▶ open
//!                                       │ END_STREAM recv ──▶ half-closed (remote)
//!                                       │ END_STREAM sent ──▶ half-closed (local)
//!                                       ▼ both, or RST_STREAM either way
//!                                     closed
//! ```
//!
//! A stream is in [`Streams`]' map from its first HEADERS until it is
//! closed; "reserved" states never occur (weir disables push both ways).
//! A closed stream is remembered only by identifiers: a peer stream id up
//! to the highest one seen and not in the map is closed; one above is
//! idle. The last streams closed are kept a while: frames the peer sent
//! on a stream weir reset before it saw the RST_STREAM are ignored, not
//! errors (§5.4.2); HEADERS on a stream that was closed is STREAM_CLOSED
//! (§5.1), on a lower id never opened PROTOCOL_ERROR (§5.1.1).

use std::collections::{HashMap, VecDeque};

use super::flow::{RecvWindow, SendWindow};

/// The state of a stream, as §5.1 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Never used (or above every id used).
    Idle,
    /// Both directions open.
    Open,
    /// Weir sent END_STREAM; the peer may still send.
    HalfClosedLocal,
    /// The peer sent END_STREAM; weir may still send.
    HalfClosedRemote,
    /// Done, or reset.
    Closed,
}

/// One open (or half-closed) stream.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Weir sent END_STREAM (or reset).
    pub send_closed: bool,
    /// The peer sent END_STREAM.
    pub recv_closed: bool,
    /// What weir may still send.
    pub send: SendWindow,
    /// What the peer may still send.
    pub recv: RecvWindow,
    /// Weir sent HEADERS on it (its response started, or its request).
    pub local_headers: bool,
    /// Field blocks received: 1 after the head (more after 1xx
    /// responses), then trailers.
    pub remote_blocks: u8,
    /// The peer opened it (a request to weir, on the client side).
    pub remote_initiated: bool,
}

impl Stream {
    /// A new stream with these windows.
    pub fn new(send: u32, recv: u32, remote_initiated: bool) -> Stream {
        Stream {
            send_closed: false,
            recv_closed: false,
            send: SendWindow::new(send),
            recv: RecvWindow::new(recv, recv),
            local_headers: false,
            remote_blocks: 0,
            remote_initiated,
        }
    }

    /// Its §5.1 state.
    pub fn state(&self) -> StreamState {
        match (self.send_closed, self.recv_closed) {
            (false, false) => StreamState::Open,
            (true, false) => StreamState::HalfClosedLocal,
            (false, true) => StreamState::HalfClosedRemote,
            (true, true) => StreamState::Closed,
        }
    }
}

/// How many closed streams are remembered.
const RECENTLY_CLOSED: usize = 128;

/// In [`Streams::closed`]: the stream was reset by weir (ids are 31 bits).
const RESET_BY_US: u32 = 1 << 31;

/// The streams of a connection and the identifier bookkeeping.
#[derive(Clone, Debug, Default)]
pub struct Streams {
    map: HashMap<u32, Stream>,
    /// The highest stream id the peer opened (the last-stream-id of a
    /// GOAWAY weir sends).
    pub last_remote: u32,
    /// The highest stream id weir opened.
    pub last_local: u32,
    /// Streams closed lately, oldest first, [`RESET_BY_US`] set on those
    /// weir reset.
    closed: VecDeque<u32>,
    /// Open streams each side initiated.
    remote_open: usize,
    local_open: usize,
}

impl Streams {
    /// The stream, if open or half-closed.
    pub fn get(&self, id: u32) -> Option<&Stream> {
        self.map.get(&id)
    }

    /// The stream, if open or half-closed.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Stream> {
        self.map.get_mut(&id)
    }

    /// Every open or half-closed stream.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&u32, &mut Stream)> {
        self.map.iter_mut()
    }

    /// Streams the peer opened, still open or half-closed (what
    /// SETTINGS_MAX_CONCURRENT_STREAMS counts).
    pub fn remote_open(&self) -> usize {
        self.remote_open
    }

    /// Streams weir opened, still open or half-closed.
    pub fn local_open(&self) -> usize {
        self.local_open
    }

    /// No stream open.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds a stream (its id above every id of its side).
    pub fn insert(&mut self, id: u32, stream: Stream) {
        if stream.remote_initiated {
            self.last_remote = self.last_remote.max(id);
            self.remote_open += 1;
        } else {
            self.last_local = self.last_local.max(id);
            self.local_open += 1;
        }
        if let Some(old) = self.map.insert(id, stream) {
            self.forget(&old);
        }
    }

    /// Closes a stream: out of the map. `reset_by_us`: remember its id.
    pub fn close(&mut self, id: u32, reset_by_us: bool) -> Option<Stream> {
        let s = self.map.remove(&id);
        if let Some(s) = &s {
            self.forget(s);
        }
        if s.is_some() || reset_by_us {
            if self.closed.len() == RECENTLY_CLOSED {
                self.closed.pop_front();
            }
            self.closed
                .push_back(if reset_by_us { id | RESET_BY_US } else { id });
        }
        s
    }

    /// Closes the stream if both directions are done.
    pub fn close_if_done(&mut self, id: u32) {
        if self
            .map
            .get(&id)
            .is_some_and(|s| s.state() == StreamState::Closed)
        {
            self.close(id, false);
        }
    }

    fn forget(&mut self, s: &Stream) {
        if s.remote_initiated {
            self.remote_open -= 1;
        } else {
            self.local_open -= 1;
        }
    }

    /// Whether weir reset this stream lately.
    pub fn recently_reset(&self, id: u32) -> bool {
        self.closed.contains(&(id | RESET_BY_US))
    }

    /// Whether this stream was open and closed lately (either way).
    pub fn recently_closed(&self, id: u32) -> bool {
        self.closed.iter().any(|&c| c & !RESET_BY_US == id)
    }

    /// The state of any stream id, `remote`: whether ids of this parity
    /// are the peer's.
    pub fn state(&self, id: u32, remote: bool) -> StreamState {
        if let Some(s) = self.map.get(&id) {
            return s.state();
        }
        let last = if remote {
            self.last_remote
        } else {
            self.last_local
        };
        if id <= last {
            StreamState::Closed
        } else {
            StreamState::Idle
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_ids() {
        let mut s = Streams::default();
        assert_eq!(s.state(1, true), StreamState::Idle);
        s.insert(1, Stream::new(10, 10, true));
        s.insert(5, Stream::new(10, 10, true));
        assert_eq!(s.remote_open(), 2);
        assert_eq!(s.state(1, true), StreamState::Open);
        assert_eq!(
            s.state(3, true),
            StreamState::Closed,
            "skipped ids are closed"
        );
        assert_eq!(s.state(7, true), StreamState::Idle);
        s.get_mut(1).unwrap().recv_closed = true;
        assert_eq!(s.state(1, true), StreamState::HalfClosedRemote);
        s.close_if_done(1);
        assert_eq!(s.remote_open(), 2);
        s.get_mut(1).unwrap().send_closed = true;
        s.close_if_done(1);
        assert_eq!(s.state(1, true), StreamState::Closed);
        assert_eq!(s.remote_open(), 1);
        assert!(!s.recently_reset(1));
        s.close(5, true);
        assert!(s.recently_reset(5));
        assert_eq!(s.remote_open(), 0);
        assert!(s.is_empty());
        // Weir's own ids.
        s.insert(2, Stream::new(10, 10, false));
        assert_eq!((s.local_open(), s.last_local), (1, 2));
        let mut st = Stream::new(1, 1, false);
        st.send_closed = true;
        assert_eq!(st.state(), StreamState::HalfClosedLocal);
    }

    #[test]
    fn recently_reset_is_bounded() {
        let mut s = Streams::default();
        for id in (1..1000).step_by(2) {
            s.close(id, true);
        }
        assert!(s.closed.len() <= RECENTLY_CLOSED);
        assert!(s.recently_reset(999));
        assert!(!s.recently_reset(1));
    }
}
