//! Finished streams kept for reuse: each keeps its outboxes', request
//! line's and balancing key's memory for the next request, so a request
//! allocates nothing for its stream.
//!
//! An idle keep-alive connection holds no stream, so the spares are the
//! worker's, not a connection's: a stream comes back here when its
//! exchange ends and the next request of any connection takes it.
//!
//! Bounded two ways: at most [`MAX_STREAMS`] spare streams, and a stream
//! whose outbox or request line grew past [`KEEP_BYTES`] (a head with many
//! or long fields) gives that memory back when it ends instead of keeping
//! it. SIGQUIT empties the spares with the buffer pool's free list.

use super::Stream;
use std::time::Instant;
use weir_core::log::date::WallTime;

/// Most finished streams kept for reuse.
pub const MAX_STREAMS: usize = 256;

/// Most bytes of capacity a spare stream keeps in each of its outboxes and
/// in its request line; a larger buffer is freed when the stream ends.
pub const KEEP_BYTES: usize = 2048;

/// The worker's spare streams.
#[derive(Default)]
pub struct Spares {
    /// Boxed because the box is what is reused: the stream slab holds
    /// `Box<Stream>`, taken from here and given back without a copy.
    #[allow(clippy::vec_box)]
    streams: Vec<Box<Stream>>,
}

impl Spares {
    /// A stream for a new request: a spare one reset, else a new one.
    pub fn stream(
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
    pub fn put_stream(&mut self, mut st: Box<Stream>) {
        if self.streams.len() < MAX_STREAMS {
            st.recycle(KEEP_BYTES);
            self.streams.push(st);
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
        n
    }
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
}
