//! HTTP/1.x message heads for HTTP mode: parsing, the request defenses,
//! body framing, header rewriting and HAProxy's error pages. Pure code over
//! byte slices: no sockets, no timers, no copies of bodies.
//!
//! The pieces, in the order a session uses them:
//!
//! - [`scan`]: the byte-level pass over a head as it arrives (bare CR/LF,
//!   NUL and control bytes, obs-fold, size and header-count limits). It is
//!   resumable, so a head trickling in is scanned once, not once per read.
//! - [`request`]: [`RequestParser`] turns a complete head into a
//!   [`RequestHead`] (method, target, version, header spans, framing,
//!   keep-alive, `Upgrade`, `Expect: 100-continue`), or a [`HeadError`] for
//!   which the session answers [`errors::BAD_REQUEST_400`] and closes.
//! - [`response`]: [`ResponseParser`] does the same for the server's answer,
//!   with the framing rules of RFC 9112 §6.3 that depend on the request
//!   (HEAD, CONNECT, `Upgrade`); an error there means a 502.
//! - [`chunked`]: [`ChunkedDecoder`] walks a chunked body as it streams and
//!   says how many bytes may be forwarded as-is and where the message ends.
//! - [`rewrite`]: writes the outgoing head into a caller's `Vec<u8>`, with
//!   hop-by-hop fields removed, `X-Forwarded-For` appended and the
//!   `Connection` field weir wants on that side.
//! - [`scratch`]: the field and edit lists a worker reuses request after
//!   request.
//! - [`errors`]: the small error responses, byte for byte as HAProxy sends
//!   them.
//! - [`head`]: the data shared by both heads ([`Span`], [`Header`],
//!   [`Version`], [`Method`], [`Framing`], [`HeadError`]) and the field
//!   semantics (`Content-Length`, `Transfer-Encoding`, `Connection`).
//!
//! How the HTTP session drives it, per request on a client connection:
//!
//! 1. Read into the request channel buffer; call
//!    [`RequestParser::parse`] on the unconsumed bytes (starting at the
//!    message start) after each read. `Ok(None)`: read more. `Err`: send
//!    the 400 page and close (the reason goes to the log).
//! 2. On a head: pick the server, [`rewrite::request_head`] into the
//!    server-side output, then forward the body according to
//!    [`RequestHead::framing`]: `ContentLength(n)` is n bytes counted;
//!    `Chunked` goes through a [`ChunkedDecoder`] and is forwarded as-is.
//!    Spans in the head index the slice given to `parse`, so the head bytes
//!    must stay in place until they are rewritten.
//! 3. Parse the response with a [`ResponseParser`] and the
//!    [`ResponseContext`] of that request; 1xx interim responses are
//!    forwarded and another response is parsed. `Tunnel` (101, 2xx to
//!    CONNECT) switches both sides to byte forwarding (`timeout tunnel`);
//!    `UntilClose` ends the server connection with the body.
//! 4. After both bodies end, if [`RequestHead::keep_alive`] holds the
//!    client connection waits for the next request; a pipelined one may
//!    already be in the buffer right after the consumed bytes.
#![deny(missing_docs)]

pub mod chunked;
pub mod errors;
pub mod head;
pub mod request;
pub mod response;
pub mod rewrite;
pub mod scan;
pub mod scratch;

#[cfg(test)]
mod smuggling_tests;

pub use chunked::{ChunkError, ChunkedDecoder, Progress};
pub use head::{Framing, HeadError, Header, Method, Span, Version, MAX_HEADERS};
pub use request::{RequestHead, RequestParser, TargetForm};
pub use response::{ResponseContext, ResponseHead, ResponseParser};
pub use rewrite::{ConnectionHeader, EditOp, HeadEdits, RewriteOptions};
pub use scratch::Scratch;
