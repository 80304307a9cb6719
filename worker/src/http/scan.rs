//! The byte-level pass over a message head, before httparse sees it.
//!
//! httparse is lenient where a proxy must not be: it takes a bare LF as a
//! line end everywhere (request line, fields, the final empty line), and it
//! reports every bad byte as a generic `HeaderValue`/`Token` error. This
//! scanner walks the head once, line by line, and refuses with a precise
//! reason, as soon as the offending byte arrives:
//! - a CR not followed by LF ([`HeadError::BareCr`]), an LF not preceded by
//!   CR ([`HeadError::BareLf`]);
//! - NUL, other control bytes and DEL ([`HeadError::Nul`],
//!   [`HeadError::ControlChar`]); HTAB is allowed inside field values and
//!   (responses only) in the reason phrase;
//! - a field line starting with SP or HTAB: obs-fold, or whitespace between
//!   the start line and the first field (RFC 9112 §2.2, §5.2);
//! - the size limit (`bufsize`) and more than [`MAX_HEADERS`] field lines.
//!
//! Empty lines before the start line are skipped (RFC 9112 §2.2), as
//! httparse does. The scanner keeps its position between calls: after
//! `Partial`, call it again with the same bytes plus what arrived since.

use super::head::{HeadError, Span, MAX_HEADERS};

/// Which start line is expected: HTAB is allowed in a reason phrase only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A request line.
    Request,
    /// A status line.
    Response,
}

/// A complete head found by the scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// Bytes from the start of the slice to the end of the empty line.
    pub head_len: usize,
    /// The start line, without its CRLF.
    pub start_line: Span,
}

/// Resumable scanner state; see the module doc.
#[derive(Clone, Debug)]
pub struct HeadScanner {
    kind: Kind,
    max_head: usize,
    /// Next byte to look at.
    pos: usize,
    /// Start of the current line.
    line_start: usize,
    /// Complete lines seen, start line included.
    lines: usize,
    /// The start line's span, once complete.
    start_line: Span,
}

impl HeadScanner {
    /// A scanner for heads of at most `max_head` bytes.
    pub fn new(kind: Kind, max_head: usize) -> HeadScanner {
        HeadScanner {
            kind,
            max_head,
            pos: 0,
            line_start: 0,
            lines: 0,
            start_line: Span::default(),
        }
    }

    /// Forgets the current message (for the next one).
    pub fn reset(&mut self) {
        *self = HeadScanner::new(self.kind, self.max_head);
    }

    /// Scans `buf`, which starts at the message start. `Ok(None)`: the
    /// head is incomplete and within limits; call again with more bytes.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<Scanned>, HeadError> {
        let end = buf.len().min(self.max_head);
        let mut i = self.pos;
        while i < end {
            // Eight ordinary bytes at a time (the first byte of a line is
            // never skipped: it may be an obs-fold).
            if i > self.line_start {
                i = skip_plain(buf, i, end);
                if i >= end {
                    break;
                }
            }
            let b = buf[i];
            match b {
                b'\r' => {
                    let Some(&next) = buf.get(i + 1) else { break };
                    if next != b'\n' {
                        return Err(HeadError::BareCr);
                    }
                    if i + 2 > self.max_head {
                        break;
                    }
                    if let Some(done) = self.line_end(i)? {
                        self.pos = done.head_len;
                        return Ok(Some(done));
                    }
                    i += 2;
                    self.line_start = i;
                    continue;
                }
                b'\n' => return Err(HeadError::BareLf),
                0 => return Err(HeadError::Nul),
                b' ' | b'\t' if i == self.line_start && self.lines > 0 => {
                    return Err(HeadError::ObsFold)
                }
                b'\t' if self.lines == 0 && self.kind == Kind::Request => {
                    return Err(HeadError::ControlChar)
                }
                b'\t' => {}
                0x01..=0x1f | 0x7f => return Err(HeadError::ControlChar),
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        if buf.len() >= self.max_head {
            return Err(if self.lines == 0 {
                HeadError::StartLineTooLong
            } else {
                HeadError::HeadTooLarge
            });
        }
        Ok(None)
    }

    /// A CRLF at `cr`: ends the start line, a field line, or the head.
    fn line_end(&mut self, cr: usize) -> Result<Option<Scanned>, HeadError> {
        let empty = cr == self.line_start;
        if self.lines == 0 {
            if !empty {
                self.start_line = Span {
                    start: self.line_start,
                    end: cr,
                };
                self.lines = 1;
            }
            // Empty lines before the start line are skipped.
            return Ok(None);
        }
        if empty {
            return Ok(Some(Scanned {
                head_len: cr + 2,
                start_line: self.start_line,
            }));
        }
        self.lines += 1;
        if self.lines > MAX_HEADERS + 1 {
            return Err(HeadError::TooManyHeaders);
        }
        Ok(None)
    }
}

/// The index of the first byte from `i` the scanner must look at: a
/// control byte (below 0x20: CR, LF, HTAB, NUL…) or DEL; or, if none, where
/// the last whole 8-byte word before `end` ends. Bytes from 0x80 up
/// (obs-text) are ordinary. SWAR, eight bytes a step: `haszero`/`hasless`
/// of Bit Twiddling Hacks.
fn skip_plain(buf: &[u8], mut i: usize, end: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= end {
        let Ok(word) = <[u8; 8]>::try_from(&buf[i..i + 8]) else {
            break;
        };
        let x = u64::from_le_bytes(word);
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let del = x ^ (ONES * 0x7f);
        let has_del = del.wrapping_sub(ONES) & !del & HIGH;
        let special = below_space | has_del;
        if special != 0 {
            // The lowest flagged byte is exact (a borrow only ever flags
            // bytes above a true one): the first special byte.
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(kind: Kind, max: usize, buf: &[u8]) -> Result<Option<Scanned>, HeadError> {
        HeadScanner::new(kind, max).scan(buf)
    }

    #[test]
    fn complete_head_and_start_line() {
        let buf = b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let s = scan_all(Kind::Request, 1000, buf).unwrap().unwrap();
        assert_eq!(s.head_len, buf.len() - 4);
        assert_eq!(s.start_line.get(buf), b"GET / HTTP/1.1");
    }

    #[test]
    fn the_word_skip_stops_at_every_special_byte() {
        for special in (0u8..0x20).chain([0x7f]) {
            for at in 0..20 {
                let mut buf = vec![b'a'; 24];
                buf[at] = special;
                let stop = skip_plain(&buf, 0, buf.len());
                assert!(stop <= at, "byte {special:#x} at {at}: skipped to {stop}");
                assert!(
                    at - stop < 8,
                    "byte {special:#x} at {at}: stopped early at {stop}"
                );
            }
        }
        let plain: Vec<u8> = (0x20u8..0x7f).chain(0x80..=0xff).collect();
        assert_eq!(skip_plain(&plain, 0, plain.len()), plain.len() / 8 * 8);
    }

    #[test]
    fn resumes_byte_by_byte() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\nX: \tb\r\n\r\n";
        let mut s = HeadScanner::new(Kind::Request, 1000);
        for n in 0..buf.len() {
            assert_eq!(s.scan(&buf[..n]), Ok(None), "at {n}");
        }
        assert_eq!(s.scan(buf).unwrap().unwrap().head_len, buf.len());
    }

    #[test]
    fn refuses_early_on_bad_bytes() {
        let cases: &[(&[u8], HeadError)] = &[
            (b"GET / HTTP/1.1\rX", HeadError::BareCr),
            (b"GET / HTTP/1.1\n", HeadError::BareLf),
            (b"GET /\0", HeadError::Nul),
            (b"GET /\x7f", HeadError::ControlChar),
            (b"GET\t/", HeadError::ControlChar),
            (b"GET / HTTP/1.1\r\nA: b\r\n c", HeadError::ObsFold),
            (b"GET / HTTP/1.1\r\n\tA: b", HeadError::ObsFold),
            (b"GET / HTTP/1.1\r\nA: \x1b", HeadError::ControlChar),
        ];
        for (buf, want) in cases {
            assert_eq!(scan_all(Kind::Request, 1000, buf), Err(*want), "{buf:?}");
        }
        // HTAB is fine in a reason phrase.
        let r = scan_all(Kind::Response, 100, b"HTTP/1.1 200 O\tK\r\n\r\n");
        assert!(matches!(r, Ok(Some(_))));
    }

    #[test]
    fn limits() {
        let line = b"GET /aaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1";
        assert_eq!(
            scan_all(Kind::Request, 16, line),
            Err(HeadError::StartLineTooLong)
        );
        let head = b"GET / HTTP/1.1\r\nA: b\r\n\r\n";
        assert!(matches!(
            scan_all(Kind::Request, head.len(), head),
            Ok(Some(_))
        ));
        assert_eq!(
            scan_all(Kind::Request, head.len() - 1, head),
            Err(HeadError::HeadTooLarge)
        );
        // The final CR is the last byte allowed: the LF would pass the limit.
        assert_eq!(
            scan_all(Kind::Request, head.len() - 1, &head[..head.len() - 1]),
            Err(HeadError::HeadTooLarge)
        );
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        let mut ok = many.clone();
        ok.extend_from_slice(b"\r\n");
        assert!(matches!(scan_all(Kind::Request, 1 << 20, &ok), Ok(Some(_))));
        many.extend_from_slice(b"One-More: v\r\n");
        assert_eq!(
            scan_all(Kind::Request, 1 << 20, &many),
            Err(HeadError::TooManyHeaders)
        );
    }
}
