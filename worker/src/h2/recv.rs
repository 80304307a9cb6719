//! The receiving side of [`Connection`]: one frame at a time, one handler
//! per frame type, and in each handler the one place where the limits of
//! that type are counted ([`Connection::note`]).
//!
//! Rules applied here (the per-frame ones are the parser's):
//! - the client preface (server role), then SETTINGS as the first frame;
//! - CONTINUATION sequencing: once a field block started, only
//!   CONTINUATION frames of its stream until END_HEADERS (§6.10); the
//!   block is bounded in frames and bytes before it is decoded;
//! - stream ids: the peer's of the right parity and increasing; frames on
//!   idle streams (other than HEADERS and PRIORITY) are connection
//!   errors; frames on closed streams are stream errors (STREAM_CLOSED),
//!   or ignored after weir reset the stream;
//! - MAX_CONCURRENT_STREAMS: one stream more is refused (REFUSED_STREAM),
//!   its field block still decoded (the HPACK state is shared);
//! - flow control on the connection and the stream for every DATA, even
//!   DATA that is then discarded (its credit is given back at once);
//! - after weir's final GOAWAY, new streams are ignored.

use super::conn::{Block, Connection, Event, Phase, Role, Shutdown, SHUTDOWN_PING};
use super::error::{ConnError, ErrorCode, StreamError};
use super::frame::{self, check_preface, Frame, Parse, PrefaceCheck, PREFACE};
use super::hpack::HpackError;
use super::limits::{Limit, SMALL_WINDOW_UPDATE};
use super::settings::SettingsParams;
use super::stream::{Stream, StreamState};
use super::write;

type Handled<'a> = Result<Event<'a>, ConnError>;

impl Connection {
    /// Reads one frame (or the preface) at the start of `buf`: `Ok(None)`
    /// when more bytes are needed, else how many bytes were used and what
    /// they mean. On a connection error, GOAWAY is already in the output:
    /// flush it and close.
    pub fn receive<'a>(
        &mut self,
        buf: &'a [u8],
        now_ms: u64,
    ) -> Result<Option<(usize, Event<'a>)>, ConnError> {
        let r = self.receive_inner(buf, now_ms);
        if let Err(e) = &r {
            self.fail(e);
        }
        r
    }

    fn receive_inner<'a>(
        &mut self,
        buf: &'a [u8],
        now: u64,
    ) -> Result<Option<(usize, Event<'a>)>, ConnError> {
        match self.phase {
            Phase::Closed => return Err(ConnError::protocol("connection closed")),
            Phase::Preface => {
                return match check_preface(buf) {
                    PrefaceCheck::Partial => Ok(None),
                    PrefaceCheck::Mismatch => {
                        Err(ConnError::protocol("invalid connection preface"))
                    }
                    PrefaceCheck::Complete => {
                        self.phase = Phase::FirstSettings;
                        Ok(Some((PREFACE.len(), Event::None)))
                    }
                }
            }
            Phase::FirstSettings | Phase::Open => {}
        }
        // Until weir's SETTINGS are acknowledged, the larger frame size.
        let max = self
            .local_pending
            .map_or(0, |p| p.max_frame_size)
            .max(self.local.max_frame_size);
        let (len, frame) = match frame::parse(buf, max)? {
            Parse::Incomplete { .. } => return Ok(None),
            Parse::Frame { len, frame } => (len, frame),
            Parse::StreamError { len, error } => {
                if self.block.is_some() {
                    return Err(ConnError::protocol("frame inside a field block"));
                }
                return Ok(Some((len, self.stream_error(error, now)?)));
            }
        };
        if self.phase == Phase::FirstSettings {
            if !matches!(frame, Frame::Settings { ack: false, .. }) {
                return Err(ConnError::protocol("first frame is not SETTINGS"));
            }
            self.phase = Phase::Open;
        }
        if let Some(b) = self.block {
            if !matches!(frame, Frame::Continuation { stream, .. } if stream == b.stream) {
                return Err(ConnError::protocol("frame inside a field block"));
            }
        }
        let event = match frame {
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            } => self.on_data(stream, data, end_stream, flow_len, now)?,
            Frame::Headers {
                stream,
                fragment,
                end_stream,
                end_headers,
                ..
            } => self.on_headers(stream, fragment, end_stream, end_headers, now)?,
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => self.on_continuation(stream, fragment, end_headers, now)?,
            Frame::Priority { .. } => {
                self.note(Limit::PriorityFlood, 1, now)?;
                Event::None
            }
            Frame::RstStream { stream, code } => self.on_rst_stream(stream, code, now)?,
            Frame::Settings { ack, params } => self.on_settings(ack, params, now)?,
            Frame::Ping { ack, data } => self.on_ping(ack, data, now)?,
            Frame::GoAway {
                last_stream,
                code,
                debug,
            } => {
                self.peer_goaway = Some(last_stream.min(self.peer_goaway.unwrap_or(u32::MAX)));
                Event::GoAway {
                    last_stream,
                    code,
                    debug,
                }
            }
            Frame::WindowUpdate { stream, increment } => {
                self.on_window_update(stream, increment, now)?
            }
            Frame::Unknown { .. } => Event::None,
        };
        Ok(Some((len, event)))
    }

    /// A stream error: RST_STREAM, the stream closed, MadeYouReset
    /// counted.
    /// On an idle stream, a connection error (RST_STREAM may not be sent
    /// there, and a frame there is the peer's mistake about the
    /// connection, §5.1).
    fn stream_error<'a>(&mut self, e: StreamError, now: u64) -> Handled<'a> {
        if self.stream_state(e.stream) == StreamState::Idle {
            return Err(ConnError::new(e.code, e.reason));
        }
        if self.streams.get(e.stream).is_none() {
            // A frame on a closed stream: RST_STREAM answers it (§5.4.2).
            write::rst_stream(&mut self.out, e.stream, e.code);
        }
        self.reset_stream(e.stream, e.code, true, now)?;
        Ok(Event::StreamError(e))
    }

    fn stream_err<'a>(
        &mut self,
        stream: u32,
        code: ErrorCode,
        reason: &'static str,
        now: u64,
    ) -> Handled<'a> {
        self.stream_error(
            StreamError {
                stream,
                code,
                reason,
            },
            now,
        )
    }

    fn on_data<'a>(
        &mut self,
        id: u32,
        data: &'a [u8],
        end: bool,
        flow_len: u32,
        now: u64,
    ) -> Handled<'a> {
        if data.is_empty() && !end {
            self.note(Limit::EmptyDataFlood, 1, now)?;
        }
        if self.recv.receive(flow_len).is_err() {
            return Err(ConnError::new(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA over the connection window",
            ));
        }
        let remote = self.is_remote(id);
        let Some(s) = self.streams.get_mut(id) else {
            // Not delivered: the credit comes back at once.
            self.release(0, flow_len as usize);
            return match self.streams.state(id, remote) {
                StreamState::Idle => Err(ConnError::protocol("DATA on an idle stream")),
                _ if self.streams.recently_reset(id) => Ok(Event::None),
                _ => {
                    self.note(Limit::Glitches, 1, now)?;
                    self.stream_err(id, ErrorCode::STREAM_CLOSED, "DATA on a closed stream", now)
                }
            };
        };
        if s.recv_closed {
            self.release(0, flow_len as usize);
            return self.stream_err(id, ErrorCode::STREAM_CLOSED, "DATA after END_STREAM", now);
        }
        if s.remote_blocks == 0 {
            self.release(0, flow_len as usize);
            return self.stream_err(id, ErrorCode::PROTOCOL_ERROR, "DATA before HEADERS", now);
        }
        if s.recv.receive(flow_len).is_err() {
            self.release(0, flow_len as usize);
            return self.stream_err(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA over the stream window",
                now,
            );
        }
        s.recv_closed |= end;
        // Padding is never delivered: its credit comes back now.
        let padding = flow_len as usize - data.len();
        if padding > 0 {
            self.release(id, padding);
        }
        self.streams.close_if_done(id);
        Ok(Event::Data {
            stream: id,
            data,
            end_stream: end,
        })
    }

    fn on_headers<'a>(
        &mut self,
        id: u32,
        fragment: &'a [u8],
        end_stream: bool,
        end_headers: bool,
        now: u64,
    ) -> Handled<'a> {
        self.guard.check_block(Limit::HeaderList, fragment.len())?;
        if end_headers {
            return self.on_block(id, end_stream, fragment, 1, now);
        }
        self.block = Some(Block {
            stream: id,
            end_stream,
            frames: 1,
        });
        self.block_buf.clear();
        self.block_buf.extend_from_slice(fragment);
        Ok(Event::None)
    }

    fn on_continuation<'a>(
        &mut self,
        id: u32,
        fragment: &[u8],
        end_headers: bool,
        now: u64,
    ) -> Handled<'a> {
        let Some(mut b) = self.block else {
            return Err(ConnError::protocol("CONTINUATION without HEADERS"));
        };
        if fragment.is_empty() && !end_headers {
            self.note(Limit::EmptyDataFlood, 1, now)?;
        }
        b.frames += 1;
        self.guard.check_block(Limit::Continuation, b.frames)?;
        self.guard
            .check_block(Limit::HeaderList, self.block_buf.len() + fragment.len())?;
        self.block_buf.extend_from_slice(fragment);
        if !end_headers {
            self.block = Some(b);
            return Ok(Event::None);
        }
        self.block = None;
        let block = std::mem::take(&mut self.block_buf);
        let r = self.on_block(id, b.end_stream, &block, b.frames, now);
        self.block_buf = block;
        r
    }

    /// A whole field block: decoded first whatever becomes of its stream
    /// (the HPACK state is the connection's), then applied.
    fn on_block<'a>(
        &mut self,
        id: u32,
        end_stream: bool,
        block: &[u8],
        frames: usize,
        now: u64,
    ) -> Handled<'a> {
        // HAProxy's heuristic: many fragments of under 1 KiB on average.
        if frames > 4 && frames > block.len() / 1024 {
            self.note(Limit::Glitches, frames.div_ceil(16) as u32, now)?;
        }
        self.fields.clear();
        let max = self.own().max_header_list_size.unwrap_or(u32::MAX) as usize;
        if let Err(e) = self.decoder.decode(block, &mut self.fields, max) {
            return Err(match e {
                HpackError::ListTooLarge => Limit::HeaderList.error(),
                e => ConnError::new(e.code(), e.as_str()),
            });
        }
        let remote = self.is_remote(id);
        if let Some(s) = self.streams.get_mut(id) {
            if s.recv_closed {
                return Err(ConnError::new(
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS after END_STREAM",
                ));
            }
            let trailers = s.remote_blocks > 0 && (self.role == Role::Server || end_stream);
            if trailers && !end_stream {
                return self.stream_err(
                    id,
                    ErrorCode::PROTOCOL_ERROR,
                    "trailers without END_STREAM",
                    now,
                );
            }
            s.remote_blocks = s.remote_blocks.saturating_add(1);
            s.recv_closed |= end_stream;
            self.streams.close_if_done(id);
            return Ok(Event::Headers {
                stream: id,
                end_stream,
                trailers,
            });
        }
        match self.streams.state(id, remote) {
            StreamState::Idle if remote => self.new_stream(id, end_stream, now),
            StreamState::Idle => Err(ConnError::protocol("HEADERS on a stream weir did not open")),
            _ if self.streams.recently_reset(id) => Ok(Event::None),
            _ if self.streams.recently_closed(id) => Err(ConnError::new(
                ErrorCode::STREAM_CLOSED,
                "HEADERS on a closed stream",
            )),
            // Below the last id and never seen: ids must increase (§5.1.1).
            _ => Err(ConnError::protocol(
                "HEADERS on a stream id lower than the last",
            )),
        }
    }

    /// The peer opens a stream.
    fn new_stream<'a>(&mut self, id: u32, end_stream: bool, now: u64) -> Handled<'a> {
        if self.role == Role::Client {
            return Err(ConnError::protocol("push stream, but push is disabled"));
        }
        if let Shutdown::Final(last) = self.shutdown {
            if id > last {
                self.streams.last_remote = self.streams.last_remote.max(id);
                return Ok(Event::None);
            }
        }
        let limit = self.own().max_concurrent_streams.unwrap_or(u32::MAX) as usize;
        if self.streams.remote_open() >= limit {
            self.streams.last_remote = id;
            self.note(Limit::RefusedStreams, 1, now)?;
            write::rst_stream(&mut self.out, id, ErrorCode::REFUSED_STREAM);
            self.streams.close(id, true);
            return Ok(Event::StreamError(StreamError {
                stream: id,
                code: ErrorCode::REFUSED_STREAM,
                reason: "over max_concurrent_streams",
            }));
        }
        let mut s = Stream::new(
            self.peer.initial_window_size,
            self.local.initial_window_size,
            true,
        );
        s.remote_blocks = 1;
        s.recv_closed = end_stream;
        self.streams.insert(id, s);
        Ok(Event::Headers {
            stream: id,
            end_stream,
            trailers: false,
        })
    }

    fn on_rst_stream<'a>(&mut self, id: u32, code: ErrorCode, now: u64) -> Handled<'a> {
        let remote = self.is_remote(id);
        match self.streams.close(id, false) {
            Some(s) => {
                if s.remote_initiated && !s.local_headers {
                    self.note(Limit::RapidReset, 1, now)?;
                }
                Ok(Event::Reset { stream: id, code })
            }
            None if self.streams.state(id, remote) == StreamState::Idle => {
                Err(ConnError::protocol("RST_STREAM on an idle stream"))
            }
            None => Ok(Event::None),
        }
    }

    fn on_settings<'a>(&mut self, ack: bool, params: SettingsParams<'_>, now: u64) -> Handled<'a> {
        self.note(Limit::SettingsFlood, 1, now)?;
        if ack {
            let Some(new) = self.local_pending.take() else {
                self.note(Limit::Glitches, 1, now)?;
                return Ok(Event::None);
            };
            if new.initial_window_size != self.local.initial_window_size {
                for (_, s) in self.streams.iter_mut() {
                    s.recv.retarget(new.initial_window_size);
                }
            }
            self.decoder.set_limit(new.header_table_size as usize);
            self.local = new;
            return Ok(Event::None);
        }
        let old = self.peer.initial_window_size;
        self.peer.apply(params);
        self.encoder.set_peer_limit(self.peer.header_table_size);
        write::settings_ack(&mut self.out);
        let delta = i64::from(self.peer.initial_window_size) - i64::from(old);
        if delta == 0 {
            return Ok(Event::None);
        }
        for (_, s) in self.streams.iter_mut() {
            if s.send.adjust(delta).is_err() {
                return Err(ConnError::new(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window",
                ));
            }
        }
        if delta < 0 {
            self.note(Limit::Glitches, 1, now)?;
        }
        Ok(Event::WindowUpdate { stream: 0 })
    }

    fn on_ping<'a>(&mut self, ack: bool, data: [u8; 8], now: u64) -> Handled<'a> {
        self.note(Limit::PingFlood, 1, now)?;
        if !ack {
            write::ping(&mut self.out, true, data);
        } else if data == SHUTDOWN_PING && self.shutdown == Shutdown::Announced {
            self.finish_shutdown();
        }
        Ok(Event::None)
    }

    fn on_window_update<'a>(&mut self, id: u32, inc: u32, now: u64) -> Handled<'a> {
        if inc < SMALL_WINDOW_UPDATE {
            self.note(Limit::WindowUpdateFlood, 1, now)?;
        }
        if id == 0 {
            if self.send.adjust(i64::from(inc)).is_err() {
                return Err(ConnError::new(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "WINDOW_UPDATE overflows the connection window",
                ));
            }
            return Ok(Event::WindowUpdate { stream: 0 });
        }
        let remote = self.is_remote(id);
        let Some(s) = self.streams.get_mut(id) else {
            if self.streams.state(id, remote) == StreamState::Idle {
                return Err(ConnError::protocol("WINDOW_UPDATE on an idle stream"));
            }
            if inc >= SMALL_WINDOW_UPDATE {
                self.note(Limit::WindowUpdateFlood, 1, now)?;
            }
            return Ok(Event::None);
        };
        if s.send.adjust(i64::from(inc)).is_err() {
            return self.stream_err(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "WINDOW_UPDATE overflows the stream window",
                now,
            );
        }
        Ok(Event::WindowUpdate { stream: id })
    }
}
