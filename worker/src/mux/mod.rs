//! Client-side muxes: what sits between a client connection and the
//! streams on it (HAProxy's `mux_h1`, `mux_h2`). A mux owns the client
//! connection and its codec, turns the bytes it reads into requests, starts
//! a [`crate::stream::Stream`] for each, and lends each stream the
//! [`crate::stream::ClientSide`] it needs to read its body and send its
//! response.
//!
//! - [`h1`]: HTTP/1.0 and 1.1, one stream at a time (pipelined requests
//!   wait in the connection's buffer for the stream before them to end).
//!
//! - [`h2`]: HTTP/2, many streams at once on one connection, each with a
//!   client side of its own (a pipe) that the mux frames onto the
//!   connection. The streams, their analysers and their server sides are
//!   the same as HTTP/1's.
//!
//! A connection starts with [`h1`], which reads the PROXY header and runs
//! the TLS handshake, then hands it to [`h2`] when ALPN chose `h2` or the
//! first bytes are the HTTP/2 preface (`Outcome::UpgradeH2`).

pub mod h1;
pub mod h2;
