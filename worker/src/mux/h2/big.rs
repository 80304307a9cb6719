//! Frames larger than a buffer. The mux reads into its connection's
//! channel, one pooled buffer of `bufsize` bytes; a frame is parsed only
//! whole, and the smallest SETTINGS_MAX_FRAME_SIZE a peer may use is
//! 16384 bytes of payload after a 9-byte header: with the default 16 KiB
//! buffer, one full DATA frame (what every client sends for an upload)
//! does not fit, and a full buffer holding part of a frame would wait
//! forever. So when the protocol needs more bytes than the buffer can
//! hold, what the buffer holds moves to a vector of the mux's own
//! (`H2Mux::big`), the socket is read there until no partial frame is
//! left, and the vector is freed: an idle connection, or one whose frames
//! fit, holds none.

use super::H2Mux;
use crate::context::Cx;
use crate::stream::forward::Fill;
use std::io::{self, ErrorKind, Read};

/// Bytes read at once into the vector.
const READ: usize = 32 * 1024;

/// Whether the protocol is stuck on a frame the channel cannot hold:
/// the caller found it wants more, and the buffer is full.
pub fn needed(m: &H2Mux, cx: &Cx) -> bool {
    m.big.is_empty() && m.client.req.len() >= cx.bufsize()
}

/// Moves what the channel holds to the vector (the channel gives its
/// buffer back).
pub fn spill(m: &mut H2Mux, cx: &mut Cx) {
    let n = m.client.req.len();
    m.big.extend_from_slice(m.client.req.data());
    m.client.req.consume(n, cx.pool);
}

/// Reads from the socket into the vector while it has bytes, within
/// `budget`, and while the vector holds less than one largest frame and a
/// read's worth (the peer cannot send a larger frame; the limit keeps a
/// fast client from growing it).
pub fn fill(m: &mut H2Mux, cx: &Cx, budget: usize) -> io::Result<Fill> {
    let max_frame = cx.config.global.h2.max_frame_size as usize;
    let cap = max_frame + 9 + READ;
    let mut total = 0;
    while m.client.conn.readable && total < budget && m.big.len() < cap {
        let old = m.big.len();
        m.big.resize(old + READ, 0);
        let res = m.client.conn.read(&mut m.big[old..]);
        let n = *res.as_ref().unwrap_or(&0);
        m.big.truncate(old + n);
        match res {
            Ok(0) => {
                m.client.req.shutr = true;
                return Ok(Fill::Eof);
            }
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => m.client.conn.readable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Fill::Ok(total))
}

/// The protocol took `n` bytes of the vector; an empty vector is freed
/// (reading goes back to the channel).
pub fn consume(m: &mut H2Mux, n: usize) {
    m.big.drain(..n.min(m.big.len()));
    if m.big.is_empty() {
        m.big = Vec::new();
    }
}
