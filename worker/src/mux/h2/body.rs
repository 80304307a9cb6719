//! An HTTP/1.1 message body as HTTP/2 DATA, for both muxes: a response
//! going back to an h2 client, a request going to an h2 server. The body
//! arrives as a stream wrote it (length-delimited, chunked, or until the
//! end); DATA frames carry it within the flow-control windows, a chunked
//! body loses its framing and its trailers become a trailing HEADERS
//! frame. The other direction (DATA to an HTTP/1.1 body) is [`to_h1`].

use crate::h2::convert::{self, Dechunker, Piece};
use crate::h2::{Connection, HeaderList};

/// Where a message's framing stands.
#[derive(Debug, Default)]
pub enum Body {
    /// Its head has not been framed yet.
    #[default]
    Head,
    /// This many body bytes are still to come.
    Length(u64),
    /// Chunked: taken apart as it comes.
    Chunked(Box<Dechunker>),
    /// Until the stream ends (a close-delimited HTTP/1 body).
    UntilEnd,
    /// END_STREAM is out.
    Done,
}

/// Frames what it can of `pending` (body bytes of stream `id`): the bytes
/// used (0: nothing could go, wait for a window), or `None` for a
/// framing error (a bad chunk, a stream that cannot send). Bytes after
/// the end of the body are dropped (all used).
pub fn frame(
    h2: &mut Connection,
    id: u32,
    body: &mut Body,
    pending: &[u8],
    fields: &mut HeaderList,
) -> Option<usize> {
    match body {
        Body::Head => Some(0),
        Body::Length(left) => {
            let n = pending
                .len()
                .min(h2.send_capacity(id))
                .min(usize::try_from(*left).unwrap_or(usize::MAX));
            if n == 0 {
                return Some(0);
            }
            let end = n as u64 == *left;
            let sent = h2.send_data(id, &pending[..n], end).ok()?;
            *left -= sent as u64;
            if *left == 0 {
                *body = Body::Done;
            }
            Some(sent)
        }
        Body::Chunked(dec) => {
            let cap = h2.send_capacity(id);
            if cap == 0 {
                return Some(0);
            }
            // Data pieces of at most `cap` bytes in all: each fits.
            let input = &pending[..pending.len().min(cap)];
            let mut ended = false;
            let used = dec
                .feed(input, |piece| match piece {
                    Piece::Data(d) => {
                        let _ = h2.send_data(id, d, false);
                    }
                    Piece::End => ended = true,
                })
                .ok()?;
            if ended {
                fields.clear();
                convert::trailer_fields(dec.trailers(), fields);
                if fields.is_empty() {
                    h2.send_data(id, &[], true).ok()?;
                } else {
                    h2.send_headers(id, fields.iter(), true).ok()?;
                }
                *body = Body::Done;
            }
            Some(used)
        }
        Body::UntilEnd => {
            let n = pending.len().min(h2.send_capacity(id));
            if n == 0 {
                return Some(0);
            }
            h2.send_data(id, &pending[..n], false).ok()
        }
        Body::Done => Some(pending.len()),
    }
}

/// DATA payload as HTTP/1.1 body bytes into `out`: as it is for a
/// length-delimited body, as a chunk for a chunked one (`end_stream`
/// adds the last chunk).
pub fn to_h1(data: &[u8], end_stream: bool, chunked: bool, out: &mut Vec<u8>) {
    if !chunked {
        out.extend_from_slice(data);
        return;
    }
    if !data.is_empty() {
        convert::chunk_header(data.len(), out);
        out.extend_from_slice(data);
        out.extend_from_slice(convert::CRLF);
    }
    if end_stream {
        convert::last_chunk(None, out);
    }
}
