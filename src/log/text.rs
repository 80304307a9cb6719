//! Appending the pieces of a log line to a byte buffer without allocating:
//! numbers, socket addresses, and HAProxy's `#XX` encodings of the request
//! line and of captured headers.

use std::io::Write;
use std::net::SocketAddr;

/// Appends `v` in decimal.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `v` in decimal, with a `-` when negative.
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `ip:port` (an IPv6 address without brackets, as HAProxy logs it).
pub fn push_addr(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr {
        SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            for (i, o) in [a0, a1, a2, a3].into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(o));
            }
        }
        // Writing to a Vec cannot fail; Display formats on the stack.
        SocketAddr::V6(a) => {
            let _ = write!(out, "{}", a.ip());
        }
    }
    out.push(b':');
    push_u64(out, u64::from(addr.port()));
}

/// Bytes HAProxy writes `#XX` in a request line (`%r`, `%HU`…): `"`,
/// `#`, control bytes and every byte from 0x7F up (its `url_encode_map`).
pub(crate) fn url_escaped(b: u8) -> bool {
    !(0x20..0x7f).contains(&b) || b == b'"' || b == b'#'
}

/// Bytes HAProxy writes `#XX` in a captured header (`%hr`, `%hs`): those
/// of [`url_escaped`] and the capture block's delimiters `{`, `|`, `}`
/// (its `hdr_encode_map`).
fn hdr_escaped(b: u8) -> bool {
    url_escaped(b) || b == b'{' || b == b'|' || b == b'}'
}

/// Appends `bytes`, each byte `escaped` says so written `#XX` (upper-case
/// hex), as HAProxy's `lf_encode_string`.
fn push_encoded(out: &mut Vec<u8>, bytes: &[u8], escaped: fn(u8) -> bool) {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| escaped(b)) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&[b'#', hex(u32::from(rest[i]) >> 4), hex(u32::from(rest[i]))]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends a request line or one of its parts as HAProxy does: `"`, `#`,
/// control bytes and bytes from 0x7F up written `#XX`.
pub fn push_url_encoded(out: &mut Vec<u8>, bytes: &[u8]) {
    push_encoded(out, bytes, url_escaped);
}

/// Appends a captured header value as HAProxy does: as
/// [`push_url_encoded`], and `{`, `|`, `}` written `#XX` too.
pub fn push_hdr_encoded(out: &mut Vec<u8>, bytes: &[u8]) {
    push_encoded(out, bytes, hdr_escaped);
}

/// Appends `line` as HAProxy's `%{+Q}r` does: between double quotes,
/// [`push_url_encoded`].
pub fn push_quoted(out: &mut Vec<u8>, line: &str) {
    out.push(b'"');
    push_url_encoded(out, line.as_bytes());
    out.push(b'"');
}

/// Appends captured header values as HAProxy's `%hr`/`%hs`: `{v1|v2}`, an
/// absent header empty, each value [`push_hdr_encoded`].
pub fn push_captures(out: &mut Vec<u8>, captured: &super::record::Captured) {
    out.push(b'{');
    for (i, v) in captured.values().enumerate() {
        if i > 0 {
            out.push(b'|');
        }
        push_hdr_encoded(out, v.unwrap_or_default());
    }
    out.push(b'}');
}

fn hex(v: u32) -> u8 {
    b"0123456789ABCDEF"[(v & 0xf) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(text(|o| push_u64(o, 0)), "0");
        assert_eq!(text(|o| push_u64(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(text(|o| push_i64(o, -1)), "-1");
        assert_eq!(text(|o| push_i64(o, i64::MIN)), i64::MIN.to_string());
        assert_eq!(text(|o| push_i64(o, 1234)), "1234");
    }

    #[test]
    fn addresses() {
        let v4: SocketAddr = "10.0.255.1:40112".parse().unwrap();
        assert_eq!(text(|o| push_addr(o, &v4)), "10.0.255.1:40112");
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(text(|o| push_addr(o, &v6)), "::1:80");
    }

    #[test]
    fn quoting_matches_haproxy() {
        assert_eq!(
            text(|o| push_quoted(o, "GET / HTTP/1.1")),
            "\"GET / HTTP/1.1\""
        );
        assert_eq!(
            text(|o| push_quoted(o, "GET /\"a\"\t\u{7f}#\\ HTTP/1.1")),
            "\"GET /#22a#22#09#7F#23\\ HTTP/1.1\""
        );
        // Byte by byte, as HAProxy (which knows nothing of UTF-8).
        assert_eq!(text(|o| push_quoted(o, "GET /é")), "\"GET /#C3#A9\"");
    }

    #[test]
    fn captured_headers_as_haproxy() {
        let mut c = super::super::record::Captured::default();
        c.reset(3);
        c.put(0, b"x\"y\\z{|}#\t\xc3\xa9\xffend", 64);
        c.put(2, b"a", 64);
        // What haproxy 2.6 logs for the same value.
        assert_eq!(
            text(|o| push_captures(o, &c)),
            "{x#22y\\z#7B#7C#7D#23#09#C3#A9#FFend||a}"
        );
    }
}
