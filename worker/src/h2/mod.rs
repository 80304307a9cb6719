//! The HTTP/2 protocol layer (RFC 9113, RFC 7541), sans-IO: byte slices
//! in, frames, events and bytes to send out. No socket, timer or poller:
//! the HTTP/2 mux (beside `mux/h1`) owns the connection and calls this
//! layer, and tests and fuzz targets drive it alone.
//!
//! ```text
//!  bytes read ──▶ Connection::receive ──▶ Event (Headers, Data, Reset,
//!                 │ frame::parse            StreamError, WindowUpdate,
//!                 │ limits::Guard            GoAway)
//!                 │ hpack::Decoder ──▶ fields() ──▶ semantics::Request
//!                 ▼                                   └─▶ convert::to_h1_request
//!  bytes to write ◀── Connection::output ◀── send_headers / send_data /
//!                                            release / reset_stream / fail
//! ```
//!
//! How the mux uses it, per connection:
//! 1. `Connection::new(Role::Server, Limits::from(&config.global.h2), now)`
//!    (its SETTINGS are already in [`Connection::output`]); on a clear-text
//!    HTTP/1 bind, [`frame::check_preface`] on the first bytes decides
//!    whether the connection is h2c with prior knowledge.
//! 2. After each read, call [`Connection::receive`] on the unconsumed
//!    bytes until it returns `Ok(None)`, dropping the bytes it used. On
//!    [`Event::Headers`], validate [`Connection::fields`] with
//!    [`semantics::Request::parse`] and write the HTTP/1.1 head the
//!    analysers read with [`convert::to_h1_request`]; a semantic error is
//!    [`Connection::reset_stream`] with `peer_caused` (counted as
//!    MadeYouReset). [`Event::Data`] bytes go to the stream's request
//!    channel (chunked with [`convert::chunk_header`] when the length is
//!    unknown); [`Connection::release`] once they are forwarded.
//! 3. The response head parsed by `http::ResponseParser` becomes fields
//!    with [`convert::response_fields`], sent by
//!    [`Connection::send_headers`]; body bytes go by
//!    [`Connection::send_data`] within [`Connection::send_capacity`]
//!    (a chunked body through [`convert::Dechunker`]).
//! 4. Write [`Connection::output`] to the socket; [`Connection::consumed_output`].
//! 5. `Err(ConnError)` from `receive`: GOAWAY is in the output; flush it,
//!    close, log the reason, count [`limits::LimitInfo::counter`] when
//!    `error.limit` is set. A soft stop is [`Connection::begin_shutdown`]
//!    (double GOAWAY), closed once [`Connection::is_done`].
//! 6. A stream with data to send and [`Connection::send_window`] at 0 or
//!    below is stalled: the mux bounds the stall with `timeout.client`.
//!
//! Weir as a client of an h2 server (gRPC) is the same with
//! `Role::Client`: [`convert::request_fields`] and
//! [`Connection::open_stream`], then [`convert::to_h1_response`].
//!
//! Files: [`frame`] (parser, preface), [`write`] (serializers),
//! [`settings`], [`hpack`], [`fields`] (decoded header lists), [`flow`]
//! (windows), [`stream`] (states, ids), [`conn`] and `recv.rs` (the
//! connection), [`limits`] (attack limits), [`error`] (codes),
//! [`semantics`] (RFC 9113 §8 checks), [`convert`] (HTTP/1.1 ⇄ HTTP/2).
#![deny(missing_docs)]

pub mod conn;
pub mod convert;
pub mod error;
pub mod fields;
pub mod flow;
pub mod frame;
pub mod hpack;
pub mod limits;
mod recv;
pub mod semantics;
pub mod settings;
pub mod stream;
pub mod write;

pub use conn::{Connection, Event, Role, SendError};
pub use error::{ConnError, ErrorCode, H2Error, StreamError};
pub use fields::HeaderList;
pub use limits::{Limit, Limits};
