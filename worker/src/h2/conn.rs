//! [`Connection`]: the state of one HTTP/2 connection, either side, as a
//! sans-IO machine. Bytes read go into [`Connection::receive`], which
//! parses one frame, applies it (stream states, flow control, SETTINGS,
//! HPACK, the limits) and returns an [`Event`] for the mux; everything
//! weir must send, control frames and the mux's HEADERS and DATA alike,
//! is appended to one output buffer the mux writes out
//! ([`Connection::output`], [`Connection::consumed_output`]).
//!
//! Receiving is in `recv.rs`; this file has the state, its construction
//! (the preface and SETTINGS weir sends first) and the sending side.

use super::error::{ConnError, ErrorCode, StreamError};
use super::fields::HeaderList;
use super::flow::{RecvWindow, SendWindow};
use super::frame::{MAX_STREAM_ID, PREFACE};
use super::hpack::{Decoder, Encoder};
use super::limits::{Guard, Limit, Limits};
use super::settings::{Settings, DEFAULT_WINDOW};
use super::stream::{Stream, StreamState, Streams};
use super::write;

/// Which end of the connection weir is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Weir accepted the connection: the client side (odd stream ids are
    /// the peer's; the peer sends the preface).
    Server,
    /// Weir connected to a server: it sends the preface and opens the
    /// (odd) streams.
    Client,
}

/// What a received frame means to the mux.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Nothing to do (a control frame handled here, an ignored frame, a
    /// field block not finished yet, the preface).
    None,
    /// A whole field block: its fields are [`Connection::fields`] until
    /// the next call to `receive`. `trailers`: it ends a stream whose
    /// head came before.
    Headers {
        /// The stream (new for a request on the server role).
        stream: u32,
        /// No DATA follows.
        end_stream: bool,
        /// A trailer section.
        trailers: bool,
    },
    /// Body bytes, padding removed; give their credit back with
    /// [`Connection::release`] once consumed.
    Data {
        /// The stream.
        stream: u32,
        /// The bytes (borrowed from the buffer given to `receive`).
        data: &'a [u8],
        /// The last of the stream.
        end_stream: bool,
    },
    /// The peer reset a stream.
    Reset {
        /// The stream.
        stream: u32,
        /// Why.
        code: ErrorCode,
    },
    /// Weir reset a stream for a stream error (RST_STREAM is queued):
    /// the mux ends it.
    StreamError(StreamError),
    /// A window grew: more may be sent on `stream` (0: on every stream).
    WindowUpdate {
        /// The stream, or 0.
        stream: u32,
    },
    /// The peer's GOAWAY: no stream above `last_stream` was processed
    /// (on the client role, retry them elsewhere); open no new stream.
    GoAway {
        /// Last stream the peer processed or may process.
        last_stream: u32,
        /// Why.
        code: ErrorCode,
        /// Debug data.
        debug: &'a [u8],
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Server role: waiting for the client preface.
    Preface,
    /// Waiting for the peer's first frame, which must be SETTINGS.
    FirstSettings,
    /// Running.
    Open,
    /// A connection error was sent: nothing more is read.
    Closed,
}

/// The graceful shutdown of HAProxy and nginx: GOAWAY with the largest id
/// and a PING, then, once the PING comes back (every stream the peer sent
/// before it has arrived), GOAWAY with the real last stream id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shutdown {
    None,
    Announced,
    Final(u32),
}

/// The PING payload of the graceful shutdown.
pub(super) const SHUTDOWN_PING: [u8; 8] = *b"weir-bye";

/// A field block being received over CONTINUATION frames.
#[derive(Clone, Copy, Debug)]
pub(super) struct Block {
    pub stream: u32,
    pub end_stream: bool,
    pub frames: usize,
}

/// The state of one HTTP/2 connection.
#[derive(Debug)]
pub struct Connection {
    pub(super) role: Role,
    pub(super) phase: Phase,
    pub(super) guard: Guard,
    /// Weir's settings in force (acknowledged by the peer).
    pub(super) local: Settings,
    /// Weir's settings sent and not acknowledged yet.
    pub(super) local_pending: Option<Settings>,
    /// The peer's settings.
    pub(super) peer: Settings,
    pub(super) decoder: Decoder,
    pub(super) encoder: Encoder,
    pub(super) streams: Streams,
    pub(super) send: SendWindow,
    pub(super) recv: RecvWindow,
    pub(super) block: Option<Block>,
    pub(super) block_buf: Vec<u8>,
    pub(super) fields: HeaderList,
    pub(super) out: Vec<u8>,
    pub(super) shutdown: Shutdown,
    pub(super) peer_goaway: Option<u32>,
    scratch: Vec<u8>,
}

/// Why weir cannot send what the mux asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The stream is not open in that direction.
    StreamClosed,
    /// No new stream: the peer's MAX_CONCURRENT_STREAMS is reached.
    StreamLimit,
    /// No new stream: GOAWAY was received or sent, or ids ran out.
    GoingAway,
}

impl Connection {
    /// A new connection at `now_ms`. Weir's preface (client role), its
    /// SETTINGS and the WINDOW_UPDATE that raises the connection window
    /// to `initial_window_size` are already in the output.
    pub fn new(role: Role, limits: Limits, now_ms: u64) -> Connection {
        let local = Settings {
            header_table_size: limits.header_table_size,
            enable_push: false,
            max_concurrent_streams: Some(limits.max_concurrent_streams),
            initial_window_size: limits.initial_window_size,
            max_frame_size: limits.max_frame_size,
            max_header_list_size: Some(limits.max_header_list_size),
        };
        let target = limits.initial_window_size;
        let mut c = Connection {
            role,
            phase: match role {
                Role::Server => Phase::Preface,
                Role::Client => Phase::FirstSettings,
            },
            guard: Guard::new(limits, now_ms),
            local: Settings::default(),
            local_pending: Some(local),
            peer: Settings::default(),
            decoder: Decoder::new(Settings::default().header_table_size as usize),
            encoder: Encoder::new(),
            streams: Streams::default(),
            send: SendWindow::new(DEFAULT_WINDOW),
            recv: RecvWindow::new(DEFAULT_WINDOW, target.max(DEFAULT_WINDOW)),
            block: None,
            block_buf: Vec::new(),
            fields: HeaderList::new(),
            out: Vec::with_capacity(128),
            shutdown: Shutdown::None,
            peer_goaway: None,
            scratch: Vec::new(),
        };
        if role == Role::Client {
            c.out.extend_from_slice(PREFACE);
        }
        write::settings(&mut c.out, &local.diff_from_default());
        if target > DEFAULT_WINDOW {
            write::window_update(&mut c.out, 0, target - DEFAULT_WINDOW);
            c.recv = RecvWindow::new(target, target);
        }
        c
    }

    /// What weir has to send, in order.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// The mux wrote the first `n` bytes of [`Connection::output`].
    pub fn consumed_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Gives back the scratch memory a burst of streams grew (header
    /// blocks, decoded fields, the output once it has left): an idle
    /// connection keeps only its state and its HPACK tables.
    pub fn release_idle(&mut self) {
        if self.block.is_none() {
            self.block_buf = Vec::new();
        }
        self.fields = HeaderList::new();
        self.scratch = Vec::new();
        if self.out.is_empty() {
            self.out = Vec::new();
        }
    }

    /// The fields of the last [`Event::Headers`].
    pub fn fields(&self) -> &HeaderList {
        &self.fields
    }

    /// The limits' counters of this connection.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Whether the peer's first SETTINGS arrived (its limits are known).
    pub fn peer_settings_known(&self) -> bool {
        self.phase == Phase::Open
    }

    /// The peer's settings.
    pub fn peer_settings(&self) -> &Settings {
        &self.peer
    }

    /// The state of a stream.
    pub fn stream_state(&self, stream: u32) -> StreamState {
        self.streams.state(stream, self.is_remote(stream))
    }

    /// Open or half-closed streams.
    pub fn open_streams(&self) -> usize {
        self.streams.remote_open() + self.streams.local_open()
    }

    /// A connection error was sent, or the graceful shutdown ended and no
    /// stream is left: flush the output and close.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Closed
            || (matches!(self.shutdown, Shutdown::Final(_)) && self.streams.is_empty())
    }

    /// Whether ids of this parity are opened by the peer.
    pub(super) fn is_remote(&self, stream: u32) -> bool {
        let odd = stream % 2 == 1;
        match self.role {
            Role::Server => odd,
            Role::Client => !odd,
        }
    }

    /// The send window of a stream (`None`: not open for sending) and of
    /// the connection: the mux has data to send and one of them at 0 or
    /// below is a zero-window stall, which it bounds with
    /// `timeout.client` (a peer that never opens its window).
    pub fn send_window(&self, stream: u32) -> (Option<i64>, i64) {
        let s = self
            .streams
            .get(stream)
            .filter(|s| !s.send_closed)
            .map(|s| s.send.value());
        (s, self.send.value())
    }

    /// How many DATA bytes may be sent on `stream` now: both windows and
    /// the peer's maximum frame size (one frame's worth).
    pub fn send_capacity(&self, stream: u32) -> usize {
        let Some(s) = self.streams.get(stream).filter(|s| !s.send_closed) else {
            return 0;
        };
        s.send
            .available()
            .min(self.send.available())
            .min(self.peer.max_frame_size as usize)
    }

    /// Opens a stream (client role) with a request's fields: HEADERS (and
    /// CONTINUATION) go to the output. Returns the new stream id.
    pub fn open_stream<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        end_stream: bool,
    ) -> Result<u32, SendError> {
        if self.peer_goaway.is_some() || self.shutdown != Shutdown::None {
            return Err(SendError::GoingAway);
        }
        let limit = self.peer.max_concurrent_streams.unwrap_or(u32::MAX) as usize;
        if self.streams.local_open() >= limit {
            return Err(SendError::StreamLimit);
        }
        let id = match self.streams.last_local {
            0 if self.role == Role::Client => 1,
            0 => 2,
            n if n <= MAX_STREAM_ID - 2 => n + 2,
            _ => return Err(SendError::GoingAway),
        };
        let stream = Stream::new(
            self.peer.initial_window_size,
            self.local.initial_window_size,
            false,
        );
        self.streams.insert(id, stream);
        self.send_headers(id, fields, end_stream)?;
        Ok(id)
    }

    /// Sends a field block on an open stream (a response head, 1xx,
    /// trailers with `end_stream`), split at the peer's maximum frame size.
    pub fn send_headers<'a>(
        &mut self,
        stream: u32,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        end_stream: bool,
    ) -> Result<(), SendError> {
        let s = self
            .streams
            .get_mut(stream)
            .filter(|s| !s.send_closed)
            .ok_or(SendError::StreamClosed)?;
        s.local_headers = true;
        s.send_closed |= end_stream;
        self.scratch.clear();
        self.encoder.block(&mut self.scratch, fields);
        write::headers(
            &mut self.out,
            stream,
            &self.scratch,
            end_stream,
            self.peer.max_frame_size,
        );
        self.streams.close_if_done(stream);
        Ok(())
    }

    /// Sends as much of `data` as the windows allow, as one DATA frame
    /// (END_STREAM only if all of it went); returns the bytes taken. An
    /// empty `data` with `end_stream` ends the stream.
    pub fn send_data(
        &mut self,
        stream: u32,
        data: &[u8],
        end_stream: bool,
    ) -> Result<usize, SendError> {
        let n = data.len().min(self.send_capacity(stream));
        let s = self
            .streams
            .get_mut(stream)
            .filter(|s| !s.send_closed)
            .ok_or(SendError::StreamClosed)?;
        if n == 0 && !(data.is_empty() && end_stream) {
            return Ok(0);
        }
        let end = end_stream && n == data.len();
        s.send.consume(n);
        s.send_closed |= end;
        self.send.consume(n);
        write::data(&mut self.out, stream, &data[..n], end);
        self.streams.close_if_done(stream);
        Ok(n)
    }

    /// The mux consumed `n` bytes of a stream's DATA: gives credit back
    /// (WINDOW_UPDATEs) by half windows.
    pub fn release(&mut self, stream: u32, n: usize) {
        if let Some(inc) = self.recv.release(n) {
            write::window_update(&mut self.out, 0, inc);
        }
        let Some(s) = self.streams.get_mut(stream).filter(|s| !s.recv_closed) else {
            return;
        };
        if let Some(inc) = s.recv.release(n) {
            write::window_update(&mut self.out, stream, inc);
        }
    }

    /// Resets a stream (RST_STREAM in the output, if it is still open).
    /// `peer_caused`: the
    /// reason is the peer's doing (a malformed request the mux found):
    /// counted against `made_you_reset`, which may close the connection.
    pub fn reset_stream(
        &mut self,
        stream: u32,
        code: ErrorCode,
        peer_caused: bool,
        now_ms: u64,
    ) -> Result<(), ConnError> {
        // Only a stream still open: never RST_STREAM for one closed, and
        // never in answer to the peer's RST_STREAM (§5.4.2).
        if self.streams.get(stream).is_some() {
            write::rst_stream(&mut self.out, stream, code);
        }
        self.streams.close(stream, true);
        if peer_caused {
            return self.note(Limit::MadeYouReset, 1, now_ms);
        }
        Ok(())
    }

    /// Starts the graceful shutdown (a soft stop, `max_total_streams`):
    /// GOAWAY with the largest id and a PING; the final GOAWAY follows the
    /// PING's answer, or [`Connection::finish_shutdown`].
    pub fn begin_shutdown(&mut self) {
        if self.shutdown == Shutdown::None && self.phase != Phase::Closed {
            write::goaway(&mut self.out, MAX_STREAM_ID, ErrorCode::NO_ERROR, b"");
            write::ping(&mut self.out, false, SHUTDOWN_PING);
            self.shutdown = Shutdown::Announced;
        }
    }

    /// Sends the final GOAWAY of a graceful shutdown now (the PING did not
    /// come back in time, or no PING round is wanted).
    pub fn finish_shutdown(&mut self) {
        if !matches!(self.shutdown, Shutdown::Final(_)) && self.phase != Phase::Closed {
            let last = self.streams.last_remote;
            write::goaway(&mut self.out, last, ErrorCode::NO_ERROR, b"");
            self.shutdown = Shutdown::Final(last);
        }
    }

    /// Ends the connection on an error: GOAWAY with the last stream
    /// processed, the code and the reason as debug data. Later calls do
    /// nothing.
    pub fn fail(&mut self, e: &ConnError) {
        if self.phase != Phase::Closed {
            let last = self.streams.last_remote;
            write::goaway(&mut self.out, last, e.code, e.reason.as_bytes());
            self.phase = Phase::Closed;
        }
    }

    /// Weir's own settings, acknowledged or not: the limits that are its
    /// policy (concurrency, header list size) apply from the start, as
    /// RFC 9113 §6.5.2 allows; flow control, the frame size and the HPACK
    /// table wait for the acknowledgement.
    pub(super) fn own(&self) -> super::settings::Settings {
        self.local_pending.unwrap_or(self.local)
    }

    /// Counts an event of a limit.
    pub(super) fn note(&mut self, limit: Limit, n: u32, now_ms: u64) -> Result<(), ConnError> {
        self.guard.note(limit, n, now_ms)
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
