//! A streaming validator for chunked bodies (RFC 9112 §7.1). weir forwards
//! chunked bodies as they are, so [`ChunkedDecoder`] does not de-chunk: it
//! tells the caller how many bytes of its buffer are a valid continuation
//! of the body (to forward now) and whether the body ended there.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size   = 1*HEXDIG                  (at most 16 digits here)
//! chunk-ext    = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted ) ] )
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! Lines (size lines, trailer lines) are only consumed whole: a partial
//! line stays in the caller's buffer and is read again from its start on
//! the next call, so nothing is forwarded before it is checked. A line is
//! bounded ([`MAX_LINE`]) and so are the trailers ([`MAX_TRAILERS`]), which
//! keeps the re-reading cheap and lets a buffer of `bufsize` always hold
//! one. Chunk data is consumed as it comes, without being looked at.

use super::head::{is_tchar, trim_ows};

/// Longest chunk-size or trailer line, CRLF included.
pub const MAX_LINE: usize = 4096;
/// Most bytes of trailer fields (the final CRLF excluded).
pub const MAX_TRAILERS: usize = 16384;
/// Most hex digits of a chunk size (16 fit a u64).
const MAX_SIZE_DIGITS: usize = 16;

/// Why a chunked body was refused; the session closes both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// A chunk-size line that does not start with a hex digit.
    InvalidChunkSize,
    /// More than 16 hex digits.
    ChunkSizeTooLong,
    /// A malformed chunk extension.
    InvalidExtension,
    /// A size or trailer line over [`MAX_LINE`].
    LineTooLong,
    /// Chunk data not followed by CRLF.
    MissingDataCrlf,
    /// A bare CR or LF where CRLF is required.
    InvalidLineEnding,
    /// A malformed trailer field, obs-fold, or a framing field as trailer.
    InvalidTrailer,
    /// Trailers over [`MAX_TRAILERS`].
    TrailersTooLarge,
}

/// What one [`ChunkedDecoder::feed`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes at the start of the buffer that are checked body: forward
    /// them and drop them before the next call.
    pub consumed: usize,
    /// The body ended after `consumed` bytes (last chunk and trailers).
    pub done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After chunk data, expecting CRLF.
    DataEnd,
    /// At the start of a trailer line (or the final CRLF).
    Trailer,
    /// The body is over.
    Done,
}

/// The streaming state; one per chunked body.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    trailer_bytes: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            trailer_bytes: 0,
        }
    }

    /// Whether the last chunk and the trailers were seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Walks `buf`, the bytes after those consumed so far. Never reads
    /// past the end of the body: on `done`, bytes after `consumed` are the
    /// next message.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Progress, ChunkError> {
        let mut at = 0;
        loop {
            let rest = buf.get(at..).unwrap_or_default();
            let step = match self.state {
                State::Done => {
                    return Ok(Progress {
                        consumed: at,
                        done: true,
                    })
                }
                State::Size => size_line(rest)?.map(|(n, len)| {
                    self.state = if n == 0 {
                        State::Trailer
                    } else {
                        State::Data(n)
                    };
                    len
                }),
                State::Data(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    if take == 0 {
                        None
                    } else {
                        Some(take)
                    }
                }
                State::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        self.state = State::Size;
                        Some(2)
                    }
                    [] | [b'\r'] => None,
                    _ => return Err(ChunkError::MissingDataCrlf),
                },
                State::Trailer => match trailer_line(rest)? {
                    Some(2) => {
                        self.state = State::Done;
                        Some(2)
                    }
                    Some(len) => {
                        self.trailer_bytes += len;
                        if self.trailer_bytes > MAX_TRAILERS {
                            return Err(ChunkError::TrailersTooLarge);
                        }
                        Some(len)
                    }
                    None => None,
                },
            };
            match step {
                Some(len) => at += len,
                None => {
                    return Ok(Progress {
                        consumed: at,
                        done: false,
                    })
                }
            }
        }
    }
}

/// The end of the line at the start of `buf`: the index of its CR, or
/// `None` if incomplete. Errors on a bare CR/LF or an overlong line.
fn line_end(buf: &[u8]) -> Result<Option<usize>, ChunkError> {
    for (i, &b) in buf.iter().enumerate().take(MAX_LINE) {
        match b {
            b'\r' => {
                return match buf.get(i + 1) {
                    Some(b'\n') => Ok(Some(i)),
                    Some(_) => Err(ChunkError::InvalidLineEnding),
                    None => Ok(None),
                }
            }
            b'\n' => return Err(ChunkError::InvalidLineEnding),
            _ => {}
        }
    }
    if buf.len() >= MAX_LINE {
        return Err(ChunkError::LineTooLong);
    }
    Ok(None)
}

/// A complete chunk-size line: (size, line length with CRLF).
fn size_line(buf: &[u8]) -> Result<Option<(u64, usize)>, ChunkError> {
    let digits = buf.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits > MAX_SIZE_DIGITS {
        return Err(ChunkError::ChunkSizeTooLong);
    }
    if digits == 0 && !buf.is_empty() {
        return Err(ChunkError::InvalidChunkSize);
    }
    let Some(cr) = line_end(buf)? else {
        return Ok(None);
    };
    if digits == 0 {
        return Err(ChunkError::InvalidChunkSize);
    }
    let size = buf[..digits].iter().fold(0u64, |n, &b| {
        let d = (b as char).to_digit(16).unwrap_or(0);
        (n << 4) | u64::from(d)
    });
    if !valid_extensions(&buf[digits..cr]) {
        return Err(ChunkError::InvalidExtension);
    }
    Ok(Some((size, cr + 2)))
}

/// `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`
fn valid_extensions(mut s: &[u8]) -> bool {
    fn token(s: &[u8]) -> (&[u8], &[u8]) {
        let n = s.iter().take_while(|&&b| is_tchar(b)).count();
        s.split_at(n)
    }
    fn quoted(s: &[u8]) -> Option<&[u8]> {
        let mut i = 1;
        while let Some(&b) = s.get(i) {
            match b {
                b'"' => return s.get(i + 1..),
                b'\\' => i += 2,
                b'\t' | b' '..=b'~' | 0x80..=0xff => i += 1,
                _ => return None,
            }
        }
        None
    }
    loop {
        // BWS only before a `;`: `5 \r\n` is refused.
        let Some(rest) = trim_start(s).strip_prefix(b";") else {
            return s.is_empty();
        };
        let (name, rest) = token(trim_start(rest));
        if name.is_empty() {
            return false;
        }
        s = trim_start(rest);
        if let Some(rest) = s.strip_prefix(b"=") {
            let rest = trim_start(rest);
            s = if rest.first() == Some(&b'"') {
                match quoted(rest) {
                    Some(r) => r,
                    None => return false,
                }
            } else {
                let (value, r) = token(rest);
                if value.is_empty() {
                    return false;
                }
                r
            };
        }
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

/// A complete trailer line (or the final empty line): its length.
fn trailer_line(buf: &[u8]) -> Result<Option<usize>, ChunkError> {
    if let [b' ' | b'\t', ..] = buf {
        return Err(ChunkError::InvalidTrailer);
    }
    let Some(cr) = line_end(buf)? else {
        return Ok(None);
    };
    let line = &buf[..cr];
    if !line.is_empty() {
        let colon = line.iter().position(|&b| b == b':');
        let Some(colon) = colon else {
            return Err(ChunkError::InvalidTrailer);
        };
        let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
        let name_ok = !name.is_empty() && name.iter().all(|&b| is_tchar(b));
        let value_ok = value
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80);
        let framing = name.eq_ignore_ascii_case(b"content-length")
            || name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"host");
        if !name_ok || !value_ok || framing {
            return Err(ChunkError::InvalidTrailer);
        }
    }
    Ok(Some(cr + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(buf: &[u8]) -> Result<Progress, ChunkError> {
        ChunkedDecoder::new().feed(buf)
    }

    #[test]
    fn whole_body_stops_at_its_end() {
        let body = b"5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n";
        let mut buf = body.to_vec();
        buf.extend_from_slice(b"GET /next HTTP/1.1\r\n");
        let p = feed_all(&buf).unwrap();
        assert_eq!(
            p,
            Progress {
                consumed: body.len(),
                done: true
            }
        );
    }

    #[test]
    fn byte_by_byte_like_a_socket() {
        let body = b"3;a=\"x;y\"\r\nabc\r\n10\r\n0123456789abcdef\r\n000\r\nT: v\r\n\r\n";
        let mut d = ChunkedDecoder::new();
        let mut pending = Vec::new();
        let mut forwarded = Vec::new();
        for &b in body.iter() {
            assert!(!d.is_done());
            pending.push(b);
            let p = d.feed(&pending).unwrap();
            forwarded.extend(pending.drain(..p.consumed));
        }
        assert!(d.is_done());
        assert_eq!(forwarded, body);
        // Done stays done and consumes nothing more.
        assert_eq!(
            d.feed(b"junk").unwrap(),
            Progress {
                consumed: 0,
                done: true
            }
        );
    }

    #[test]
    fn partial_lines_are_not_consumed() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(b"5;na").unwrap(),
            Progress {
                consumed: 0,
                done: false
            }
        );
        assert_eq!(
            d.feed(b"5;name\r\nhe").unwrap(),
            Progress {
                consumed: 10,
                done: false
            }
        );
        assert_eq!(
            d.feed(b"llo\r").unwrap(),
            Progress {
                consumed: 3,
                done: false
            }
        );
        assert_eq!(
            d.feed(b"\r\n0\r\n\r\n").unwrap(),
            Progress {
                consumed: 7,
                done: true
            }
        );
    }

    #[test]
    fn largest_size_is_accepted() {
        let mut d = ChunkedDecoder::new();
        let p = d.feed(b"ffffffffffffffff\r\nabc").unwrap();
        assert_eq!(
            p,
            Progress {
                consumed: 21,
                done: false
            }
        );
        assert_eq!(d.state, State::Data(u64::MAX - 3));
    }

    #[test]
    fn malformed_bodies() {
        let long_ext = format!("1;{}\r\n", "a".repeat(MAX_LINE));
        let mut big_trailers = b"0\r\n".to_vec();
        for _ in 0..(MAX_TRAILERS / 100 + 1) {
            big_trailers.extend_from_slice(format!("X: {}\r\n", "v".repeat(97)).as_bytes());
        }
        let cases: &[(&[u8], ChunkError)] = &[
            (b"g\r\n", ChunkError::InvalidChunkSize),
            (b"-5\r\n", ChunkError::InvalidChunkSize),
            (b"\r\n", ChunkError::InvalidChunkSize),
            (b" 5\r\n", ChunkError::InvalidChunkSize),
            (b"0x5\r\n", ChunkError::InvalidExtension),
            (b"5 \r\n", ChunkError::InvalidExtension),
            (b"5;\r\n", ChunkError::InvalidExtension),
            (b"5;a=\r\n", ChunkError::InvalidExtension),
            (b"5;a=\"open\r\n", ChunkError::InvalidExtension),
            (b"5;a\x01\r\n", ChunkError::InvalidExtension),
            (b"10000000000000000\r\n", ChunkError::ChunkSizeTooLong),
            (b"00000000000000005\r\n", ChunkError::ChunkSizeTooLong),
            (b"5\nhello", ChunkError::InvalidLineEnding),
            (b"5\rhello", ChunkError::InvalidLineEnding),
            (b"5\r\nhelloX\r\n", ChunkError::MissingDataCrlf),
            (b"5\r\nhello\n0\r\n\r\n", ChunkError::MissingDataCrlf),
            (b"3\r\nhello\r\n", ChunkError::MissingDataCrlf),
            (b"0\r\nX: v\n\r\n", ChunkError::InvalidLineEnding),
            (b"0\r\n\n", ChunkError::InvalidLineEnding),
            (b"0\r\nX: v\r\n folded\r\n\r\n", ChunkError::InvalidTrailer),
            (b"0\r\nNo colon\r\n\r\n", ChunkError::InvalidTrailer),
            (
                b"0\r\nContent-Length: 5\r\n\r\n",
                ChunkError::InvalidTrailer,
            ),
            (
                b"0\r\nTransfer-Encoding: chunked\r\n\r\n",
                ChunkError::InvalidTrailer,
            ),
            (long_ext.as_bytes(), ChunkError::LineTooLong),
            (&big_trailers, ChunkError::TrailersTooLarge),
        ];
        for (buf, want) in cases {
            assert_eq!(
                feed_all(buf),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    /// `buf` fed whole, then in two reads split at every point (keeping
    /// what the first read did not consume, as a session does), then a
    /// byte at a time: the decoder must end in the same place each way.
    /// Returns where (bytes consumed and done, or the refusal).
    fn feed_every_way(buf: &[u8]) -> Result<Progress, ChunkError> {
        let whole = feed_all(buf);
        let text = || String::from_utf8_lossy(buf).into_owned();
        if let Ok(p) = whole {
            assert!(p.consumed <= buf.len(), "{p:?}: {:?}", text());
        }
        for split in 0..=buf.len() {
            let mut d = ChunkedDecoder::new();
            let got = d.feed(&buf[..split]).and_then(|first| {
                assert!(first.consumed <= split, "{first:?} of {split}");
                if first.done {
                    return Ok(first);
                }
                d.feed(&buf[first.consumed..]).map(|second| Progress {
                    consumed: first.consumed + second.consumed,
                    done: second.done,
                })
            });
            assert_eq!(got, whole, "split at {split}: {:?}", text());
        }
        let mut d = ChunkedDecoder::new();
        let mut consumed = 0;
        let mut got = Ok(Progress {
            consumed: 0,
            done: false,
        });
        for end in 1..=buf.len() {
            match d.feed(&buf[consumed..end]) {
                Ok(p) => {
                    consumed += p.consumed;
                    got = Ok(Progress {
                        consumed,
                        done: p.done,
                    });
                    if p.done {
                        break;
                    }
                }
                Err(e) => {
                    got = Err(e);
                    break;
                }
            }
        }
        assert_eq!(got, whole, "a byte at a time: {:?}", text());
        whole
    }

    #[test]
    fn never_panics_on_prefixes_of_noise() {
        let noise: Vec<u8> = (0u32..2000)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        // Its first byte (0) is no hex digit: refused as soon as it is seen.
        assert_eq!(noise[0], 0);
        assert_eq!(
            feed_every_way(&[]),
            Ok(Progress {
                consumed: 0,
                done: false
            })
        );
        for n in 1..=noise.len() {
            assert_eq!(
                feed_every_way(&noise[..n]),
                Err(ChunkError::InvalidChunkSize),
                "the first {n} bytes of noise"
            );
        }
        // Noise as chunk data is never looked at: a whole body, then the
        // next message untouched.
        let mut body = format!("{:x}\r\n", noise.len()).into_bytes();
        body.extend_from_slice(&noise);
        body.extend_from_slice(b"\r\n0\r\n\r\n");
        let len = body.len();
        body.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(
            feed_every_way(&body),
            Ok(Progress {
                consumed: len,
                done: true
            })
        );
    }

    #[test]
    fn mutations_end_the_same_however_the_bytes_arrive() {
        let base: &[u8] = b"5;e=\"q\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n";
        let end = Ok(Progress {
            consumed: base.len(),
            done: true,
        });
        assert_eq!(feed_every_way(base), end);
        // The chunk data: bytes 9..14 ("hello") and 19..29 ("0123456789").
        let data = |i: usize| (9..14).contains(&i) || (19..29).contains(&i);
        assert_eq!(
            (&base[9..14], &base[19..29]),
            (&b"hello"[..], &b"0123456789"[..])
        );
        for i in 0..base.len() {
            for b in [
                0u8, b'\t', b'\n', b'\r', b' ', b';', b'=', b'"', b':', b'0', b'f', b'g', 0x7f,
                0x80, 0xff,
            ] {
                let mut m = base.to_vec();
                m[i] = b;
                let got = feed_every_way(&m);
                if data(i) {
                    assert_eq!(got, end, "data byte {i} set to {b:#x}");
                }
            }
            // A prefix of a valid body: never refused, never done.
            let got = feed_every_way(&base[..i]);
            assert!(
                matches!(got, Ok(Progress { consumed, done: false }) if consumed <= i),
                "the first {i} bytes: {got:?}"
            );
        }
    }
}
