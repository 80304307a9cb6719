//! Appending the pieces of a log line to a byte buffer without allocating:
//! numbers, socket addresses, and HAProxy's quoted request line.

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

/// Appends `line` as HAProxy's `%{+Q}r` does: between double quotes, with
/// `"` and control characters written `#XX` (the low byte of the code point
/// in hex).
pub fn push_quoted(out: &mut Vec<u8>, line: &str) {
    out.push(b'"');
    let plain = line.bytes().all(|b| b != b'"' && (0x20..0x7f).contains(&b));
    if plain {
        out.extend_from_slice(line.as_bytes());
    } else {
        for c in line.chars() {
            if c == '"' || c.is_control() {
                let v = c as u32 & 0xff;
                out.push(b'#');
                out.push(hex(v >> 4));
                out.push(hex(v & 0xf));
            } else {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.push(b'"');
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
            text(|o| push_quoted(o, "GET /\"a\"\t\u{7f} HTTP/1.1")),
            "\"GET /#22a#22#09#7F HTTP/1.1\""
        );
        assert_eq!(text(|o| push_quoted(o, "GET /é\u{85}")), "\"GET /é#85\"");
    }
}
