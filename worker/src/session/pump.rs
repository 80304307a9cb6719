//! Moving bytes one way through a channel: read from one connection, write
//! to the other, propagate EOF as a write shutdown once the channel drains.
//! TCP sessions and HTTP tunnels use it as is.

use super::Conn;
use crate::channel::Channel;
use crate::tokens::Side;
use std::io::ErrorKind;
use std::net::Shutdown;
use weir_core::pool::BufferPool;

/// What one pump call did.
#[derive(Default)]
pub struct Progress {
    pub read: bool,
    pub wrote: bool,
    /// The budget ran out with work still possible.
    pub exhausted: bool,
}

/// Moves bytes `src` → `ch` → `dst` until nothing more can be done now or
/// the budget is spent; propagates EOF as a write shutdown once `ch` is
/// empty. `dst` is `None` while the server is not connected yet.
pub fn pump(
    src: &mut Conn,
    ch: &mut Channel,
    mut dst: Option<&mut Conn>,
    pool: &mut BufferPool,
    budget: usize,
) -> Result<Progress, Side> {
    let mut p = Progress::default();
    let mut moved = 0usize;
    loop {
        let mut progress = false;
        if !ch.shutr && src.readable && ch.has_room() {
            match ch.read_from(src, pool) {
                Ok(0) => {
                    ch.shutr = true;
                    progress = true;
                }
                Ok(n) => {
                    p.read = true;
                    progress = true;
                    moved += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => src.readable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(Side::Client),
            }
        }
        if let Some(d) = dst.as_deref_mut() {
            if !ch.is_empty() && d.writable {
                match ch.write_to(d, pool) {
                    Ok(n) => {
                        p.wrote = true;
                        progress |= n > 0;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => d.writable = false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Err(Side::Server),
                }
            }
            if ch.is_empty() && ch.shutr && !ch.shutw {
                let _ = d.sock.shutdown(Shutdown::Write);
                ch.shutw = true;
                progress = true;
            }
        }
        if !progress {
            return Ok(p);
        }
        if moved >= budget {
            p.exhausted = (src.readable && !ch.shutr) || !ch.is_empty();
            return Ok(p);
        }
    }
}
