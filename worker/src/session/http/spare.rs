//! What the worker's HTTP sessions reuse instead of allocating per request:
//! finished [`Stream`]s (each keeps its outboxes' and request line's memory
//! for the next request), the list a head's fields are parsed into, and
//! the list of header edits the `http_request`/`http_response` rules make.
//!
//! An idle keep-alive connection holds no stream, so the spares are the
//! worker's, not the session's: a stream goes back here when its response
//! ends and the next request of any session takes it.
//!
//! Bounded two ways: at most [`MAX_STREAMS`] spare streams, and a stream
//! whose outbox or request line grew past [`KEEP_BYTES`] (a head with many
//! or long fields) gives that memory back when it ends instead of keeping
//! it. SIGQUIT empties the spares with the buffer pool's free list.

use super::Stream;
use crate::http::{EditOp, Header, MAX_HEADERS};
use std::time::Instant;
use weir_core::log::date::WallTime;

/// Most finished streams kept for reuse.
pub const MAX_STREAMS: usize = 256;

/// Most bytes of capacity a spare stream keeps in each of its outboxes and
/// in its request line; a larger buffer is freed when the stream ends.
pub const KEEP_BYTES: usize = 2048;

/// Most header edits whose memory is kept between rule passes.
pub const MAX_EDIT_OPS: usize = 64;

/// The worker's spare streams and field list.
#[derive(Default)]
pub struct Spares {
    /// Boxed because the box is what is reused: a session holds its stream
    /// as `Box<Stream>`, taken from here and given back without a copy.
    #[allow(clippy::vec_box)]
    streams: Vec<Box<Stream>>,
    headers: Vec<Header>,
    /// The memory of a rule pass's header edits (empty between uses).
    edit_ops: Vec<EditOp<'static>>,
}

impl Spares {
    /// A stream for a new request: a spare one reset, else a new one.
    pub(super) fn stream(
        &mut self,
        backend: usize,
        start: Instant,
        date: WallTime,
        now: Instant,
        bufsize: usize,
    ) -> Box<Stream> {
        match self.streams.pop() {
            Some(mut st) => {
                st.renew(backend, start, date, now, bufsize);
                st
            }
            None => Box::new(Stream::new(backend, start, date, now, bufsize)),
        }
    }

    /// Takes back a finished stream (its server connection already kept,
    /// parked or closed).
    pub(super) fn put_stream(&mut self, mut st: Box<Stream>) {
        if self.streams.len() < MAX_STREAMS {
            st.recycle(KEEP_BYTES);
            self.streams.push(st);
        }
    }

    /// The list to parse a head's fields into: give it to the parser, and
    /// the head's list back with [`Spares::put_headers`] once done with it.
    pub fn headers(&mut self) -> &mut Vec<Header> {
        if self.headers.capacity() == 0 {
            // Every head fits: the parser refuses more fields.
            self.headers.reserve_exact(MAX_HEADERS);
        }
        &mut self.headers
    }

    /// Takes back the field list of a head that is no longer needed.
    pub fn put_headers(&mut self, mut list: Vec<Header>) {
        if list.capacity() > self.headers.capacity() {
            list.clear();
            self.headers = list;
        }
    }

    /// An empty list for a rule pass's header edits, with the memory the
    /// last pass gave back ([`Spares::put_edit_ops`]).
    pub fn edit_ops<'a>(&mut self) -> Vec<EditOp<'a>> {
        relabel(std::mem::take(&mut self.edit_ops))
    }

    /// Takes back a rule pass's edit list (its memory, up to
    /// [`MAX_EDIT_OPS`] entries).
    pub fn put_edit_ops(&mut self, ops: Vec<EditOp<'_>>) {
        if ops.capacity() <= MAX_EDIT_OPS {
            self.edit_ops = relabel(ops);
        }
    }

    /// How many spare streams there are.
    pub fn spare_streams(&self) -> usize {
        self.streams.len()
    }

    /// Frees every spare (SIGQUIT); returns how many streams were dropped.
    pub fn release(&mut self) -> usize {
        let n = self.streams.len();
        self.streams = Vec::new();
        self.headers = Vec::new();
        self.edit_ops = Vec::new();
        n
    }
}

/// An empty list of another lifetime on the same memory: the edits borrow
/// the configuration for one rule pass, the spares keep the memory between
/// passes. Collecting an emptied `Vec` into one of a type of the same size
/// and alignment reuses its allocation (std's in-place collection; without
/// it this would only allocate, never misbehave). The list is empty, so
/// the closure never runs: it only names the new type.
#[allow(clippy::unnecessary_filter_map)]
fn relabel<'b>(mut list: Vec<EditOp<'_>>) -> Vec<EditOp<'b>> {
    list.clear();
    list.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::log::date::Clock;

    fn take(sp: &mut Spares) -> Box<Stream> {
        sp.stream(
            0,
            Instant::now(),
            Clock::default().now(),
            Instant::now(),
            16384,
        )
    }

    /// A stream comes back empty and keeps an ordinary head's memory, so
    /// the next request writes its heads without allocating.
    #[test]
    fn reused_stream_keeps_small_buffers() {
        let mut sp = Spares::default();
        let mut st = take(&mut sp);
        st.to_srv.push(b"GET / HTTP/1.1\r\nhost: h\r\n\r\n");
        st.to_cli
            .push(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n");
        st.request_line.push_str("GET / HTTP/1.1");
        st.status = 200;
        let (srv_cap, cli_cap) = (st.to_srv.capacity(), st.to_cli.capacity());
        sp.put_stream(st);
        assert_eq!(sp.spare_streams(), 1);
        let st = take(&mut sp);
        assert_eq!(sp.spare_streams(), 0);
        assert!(st.to_srv.is_empty() && st.to_cli.is_empty() && st.request_line.is_empty());
        assert_eq!(st.status, -1);
        assert_eq!(
            (st.to_srv.capacity(), st.to_cli.capacity()),
            (srv_cap, cli_cap)
        );
    }

    /// A stream that carried a large head gives that memory back when it
    /// ends; the number of spare streams is bounded too.
    #[test]
    fn large_heads_and_many_streams_are_not_kept() {
        let mut sp = Spares::default();
        let mut st = take(&mut sp);
        st.to_srv.push(&vec![b'x'; 100 * 80]);
        st.to_cli.push(&vec![b'y'; KEEP_BYTES + 1]);
        st.request_line.push_str(&"z".repeat(KEEP_BYTES * 2));
        sp.put_stream(st);
        let st = take(&mut sp);
        assert_eq!(st.to_srv.capacity(), 0);
        assert_eq!(st.to_cli.capacity(), 0);
        assert_eq!(st.request_line.capacity(), 0);
        sp.put_stream(st);

        let many: Vec<_> = (0..MAX_STREAMS + 10).map(|_| take(&mut sp)).collect();
        for st in many {
            sp.put_stream(st);
        }
        assert_eq!(sp.spare_streams(), MAX_STREAMS);
        assert_eq!(sp.release(), MAX_STREAMS);
        assert_eq!(sp.spare_streams(), 0);
    }

    /// The field list goes to the head and comes back: one list, kept.
    #[test]
    fn field_list_round_trip() {
        let mut sp = Spares::default();
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n";
        let mut parser = crate::http::RequestParser::new(8192);
        let head = parser.parse_into(raw, sp.headers()).unwrap().unwrap();
        assert_eq!(head.headers.len(), 2);
        assert_eq!(sp.headers().capacity(), MAX_HEADERS, "a new one meanwhile");
        sp.put_headers(head.headers);
        let bad = b"GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n";
        assert!(parser.parse_into(bad, sp.headers()).is_err());
        assert!(sp.headers().capacity() >= MAX_HEADERS);
    }

    /// The edit list's memory outlives the rules that borrowed it, and a
    /// list grown past the bound is not kept.
    #[test]
    fn edit_list_memory_is_reused() {
        let mut sp = Spares::default();
        let name = String::from("x-a");
        let mut ops = sp.edit_ops();
        ops.push(EditOp::Del(&name));
        ops.push(EditOp::Add(&name, "1"));
        let (ptr, cap) = (ops.as_ptr() as usize, ops.capacity());
        sp.put_edit_ops(ops);
        drop(name);
        let ops = sp.edit_ops();
        assert!(ops.is_empty());
        assert_eq!((ops.as_ptr() as usize, ops.capacity()), (ptr, cap));
        let mut big = ops;
        big.extend((0..=MAX_EDIT_OPS).map(|_| EditOp::Del("a")));
        sp.put_edit_ops(big);
        assert_eq!(sp.edit_ops().capacity(), 0);
    }
}
