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
//! A multiplexing mux (HTTP/2) will sit beside it: many streams at once
//! on one connection, each with a client side of its own that the mux
//! frames onto the connection. The streams, their analysers and their
//! server sides stay the same.

pub mod h1;
