//! The PROXY protocol (HAProxy's, versions 1 and 2): the header a load
//! balancer in front sends at the start of a connection to say whom it
//! carries, and the one weir sends to servers that want it.
//!
//! Pure code over byte slices: [`parse`] says how long the header at the
//! start of a buffer is and what it says (or that more bytes are needed),
//! never reading past it, so what follows (a TLS ClientHello, an HTTP
//! request) stays for the next layer; [`write_v1`] and [`write_v2`] make
//! the header for a server. No allocation.
//!
//! ```text
//! v1: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"   (at most 107 bytes)
//!     "PROXY UNKNOWN ...\r\n"
//! v2: \r\n\r\n\0\r\nQUIT\n | ver 2, cmd LOCAL|PROXY | family | len (BE) |
//!     addresses (TCP4: 12 bytes, TCP6: 36) | TLVs (skipped)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature.
pub const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 header, CRLF included.
pub const V1_MAX: usize = 107;
/// The longest header weir accepts (v2 with TLVs).
pub const MAX_LEN: usize = 16 + 1024;

/// What a header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The connection is the proxy's own (a health check, v2 LOCAL, or v1
    /// UNKNOWN): its real addresses stand.
    Local,
    /// The connection carries a client's: its source and the address it
    /// connected to.
    Proxy { src: SocketAddr, dst: SocketAddr },
}

/// Why a header is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Neither v1 nor v2.
    NotProxy,
    /// A v1 line that breaks the grammar.
    BadV1,
    /// A v2 header that breaks the format (version, command, lengths).
    BadV2,
    /// Longer than weir accepts.
    TooLong,
}

impl Error {
    /// HAProxy's words for it, for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Error::NotProxy => {
                "Received something which does not look like a PROXY protocol header"
            }
            Error::BadV1 => "Received an invalid PROXY protocol header",
            Error::BadV2 => "Received an invalid PROXY protocol v2 header",
            Error::TooLong => "Received a PROXY protocol header that is too long",
        }
    }
}

/// The header at the start of `buf`: `Ok(None)` while `buf` may be the
/// start of one, else what it says and its length.
pub fn parse(buf: &[u8]) -> Result<Option<(Header, usize)>, Error> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'\r' {
        return parse_v2(buf);
    }
    if buf[0] == b'P' {
        return parse_v1(buf);
    }
    Err(Error::NotProxy)
}

fn parse_v1(buf: &[u8]) -> Result<Option<(Header, usize)>, Error> {
    let prefix = b"PROXY ";
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        return Err(Error::NotProxy);
    }
    let Some(end) = buf.windows(2).take(V1_MAX - 1).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Err(Error::BadV1)
        } else {
            Ok(None)
        };
    };
    let line = std::str::from_utf8(&buf[prefix.len().min(end)..end]).map_err(|_| Error::BadV1)?;
    let len = end + 2;
    let mut words = line.split(' ');
    let family = words.next().ok_or(Error::BadV1)?;
    if family == "UNKNOWN" {
        return Ok(Some((Header::Local, len)));
    }
    let ip = |w: Option<&str>| -> Result<IpAddr, Error> {
        let w = w.ok_or(Error::BadV1)?;
        match family {
            "TCP4" => w
                .parse::<Ipv4Addr>()
                .map(IpAddr::V4)
                .map_err(|_| Error::BadV1),
            "TCP6" => w
                .parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .map_err(|_| Error::BadV1),
            _ => Err(Error::BadV1),
        }
    };
    let port = |w: Option<&str>| -> Result<u16, Error> {
        let w = w.ok_or(Error::BadV1)?;
        // No sign, no leading zero (HAProxy's strictness).
        if w.is_empty()
            || (w.len() > 1 && w.starts_with('0'))
            || !w.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::BadV1);
        }
        w.parse().map_err(|_| Error::BadV1)
    };
    let (src, dst) = (ip(words.next())?, ip(words.next())?);
    let (sp, dp) = (port(words.next())?, port(words.next())?);
    if words.next().is_some() {
        return Err(Error::BadV1);
    }
    Ok(Some((
        Header::Proxy {
            src: SocketAddr::new(src, sp),
            dst: SocketAddr::new(dst, dp),
        },
        len,
    )))
}

fn parse_v2(buf: &[u8]) -> Result<Option<(Header, usize)>, Error> {
    let n = buf.len().min(V2_SIG.len());
    if buf[..n] != V2_SIG[..n] {
        return Err(Error::NotProxy);
    }
    if buf.len() < 16 {
        return Ok(None);
    }
    let (ver_cmd, family) = (buf[12], buf[13]);
    let body = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let len = 16 + body;
    if ver_cmd >> 4 != 2 {
        return Err(Error::BadV2);
    }
    if len > MAX_LEN {
        return Err(Error::TooLong);
    }
    if buf.len() < len {
        return Ok(None);
    }
    let a = &buf[16..len];
    match ver_cmd & 0x0f {
        // LOCAL: addresses (if any) are ignored.
        0 => Ok(Some((Header::Local, len))),
        1 => {
            let header = match family {
                // TCP over IPv4, and UDP over IPv4 taken the same.
                0x11 | 0x12 if a.len() >= 12 => {
                    let ip =
                        |o: usize| IpAddr::V4(Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]));
                    let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
                    Header::Proxy {
                        src: SocketAddr::new(ip(0), port(8)),
                        dst: SocketAddr::new(ip(4), port(10)),
                    }
                }
                0x21 | 0x22 if a.len() >= 36 => {
                    let ip = |o: usize| {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(&a[o..o + 16]);
                        IpAddr::V6(Ipv6Addr::from(b))
                    };
                    let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
                    Header::Proxy {
                        src: SocketAddr::new(ip(0), port(32)),
                        dst: SocketAddr::new(ip(16), port(34)),
                    }
                }
                // UNSPEC or unix sockets: the connection's own addresses.
                0x00 | 0x31 | 0x32 => Header::Local,
                _ => return Err(Error::BadV2),
            };
            Ok(Some((header, len)))
        }
        _ => Err(Error::BadV2),
    }
}

/// Appends the v1 header for a client `src` that connected to `dst`.
pub fn write_v1(src: SocketAddr, dst: SocketAddr, out: &mut Vec<u8>) {
    use std::io::Write;
    // Mixed families cannot be said in v1: the source's family wins, the
    // destination mapped into it (as HAProxy does).
    let (family, dst_ip) = match (src.ip(), dst.ip()) {
        (IpAddr::V4(_), IpAddr::V4(d)) => ("TCP4", IpAddr::V4(d)),
        (IpAddr::V4(_), IpAddr::V6(d)) => match d.to_ipv4_mapped() {
            Some(d4) => ("TCP4", IpAddr::V4(d4)),
            None => ("UNKNOWN", IpAddr::V6(d)),
        },
        (IpAddr::V6(_), IpAddr::V6(d)) => ("TCP6", IpAddr::V6(d)),
        (IpAddr::V6(_), IpAddr::V4(d)) => ("TCP6", IpAddr::V6(d.to_ipv6_mapped())),
    };
    if family == "UNKNOWN" {
        out.extend_from_slice(b"PROXY UNKNOWN\r\n");
        return;
    }
    let _ = write!(
        out,
        "PROXY {family} {} {dst_ip} {} {}\r\n",
        src.ip(),
        src.port(),
        dst.port()
    );
}

/// Appends the v2 header (command PROXY, no TLV) for a client `src` that
/// connected to `dst`.
pub fn write_v2(src: SocketAddr, dst: SocketAddr, out: &mut Vec<u8>) {
    out.extend_from_slice(V2_SIG);
    out.push(0x21);
    let v6 = |ip: IpAddr| match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    };
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.push(0x11);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        (s, d) => {
            out.push(0x21);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&v6(s).octets());
            out.extend_from_slice(&v6(d).octets());
        }
    }
    out.extend_from_slice(&src.port().to_be_bytes());
    out.extend_from_slice(&dst.port().to_be_bytes());
}

/// Appends a v2 header with the LOCAL command (no client to speak of).
pub fn write_v2_local(out: &mut Vec<u8>) {
    out.extend_from_slice(V2_SIG);
    out.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn v1_lines() {
        let line = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /";
        let (h, len) = parse(line).unwrap().unwrap();
        assert_eq!(len, line.len() - 5);
        assert_eq!(
            h,
            Header::Proxy {
                src: sa("192.0.2.1:56324"),
                dst: sa("198.51.100.2:443")
            }
        );
        let six = b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n";
        assert!(matches!(parse(six), Ok(Some((Header::Proxy { .. }, 40)))));
        assert_eq!(parse(b"PROXY UNKNOWN\r\n"), Ok(Some((Header::Local, 15))));
        assert_eq!(
            parse(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").map(|o| o.map(|h| h.0)),
            Ok(Some(Header::Local))
        );
        for partial in [&b"P"[..], b"PROX", b"PROXY TCP4 192.0.2.1 "] {
            assert_eq!(parse(partial), Ok(None), "{partial:?}");
        }
        for bad in [
            &b"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n"[..],
            b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 x\r\n",
            b"PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 070 2\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 70000 2\r\n",
            b"PROXY TCP5 192.0.2.1 198.51.100.2 1 2\r\n",
        ] {
            assert_eq!(parse(bad), Err(Error::BadV1), "{bad:?}");
        }
        assert_eq!(parse(&[b'P'; V1_MAX]), Err(Error::NotProxy));
        let mut long = b"PROXY ".to_vec();
        long.extend_from_slice(&[b'1'; V1_MAX]);
        assert_eq!(parse(&long), Err(Error::BadV1));
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(Error::NotProxy));
        assert_eq!(parse(b"\x16\x03\x01"), Err(Error::NotProxy));
    }

    #[test]
    fn v2_both_ways() {
        for (src, dst) in [
            (sa("192.0.2.1:56324"), sa("198.51.100.2:443")),
            (sa("[2001:db8::1]:1"), sa("[2001:db8::2]:2")),
        ] {
            let mut out = Vec::new();
            write_v2(src, dst, &mut out);
            out.extend_from_slice(b"after");
            let (h, len) = parse(&out).unwrap().unwrap();
            assert_eq!(h, Header::Proxy { src, dst });
            assert_eq!(&out[len..], b"after");
            // Every prefix is "more, please".
            for cut in 0..len {
                assert_eq!(parse(&out[..cut]), Ok(None), "cut at {cut}");
            }
        }
        let mut local = V2_SIG.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
        assert_eq!(parse(&local), Ok(Some((Header::Local, 16))));
        let mut bad = V2_SIG.to_vec();
        bad.extend_from_slice(&[0x31, 0x11, 0x00, 0x0c]);
        assert_eq!(parse(&bad), Err(Error::BadV2));
        let mut long = V2_SIG.to_vec();
        long.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&long), Err(Error::TooLong));
        let mut short = V2_SIG.to_vec();
        short.extend_from_slice(&[0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]);
        assert_eq!(parse(&short), Err(Error::BadV2));
    }

    #[test]
    fn v1_written_then_read() {
        for (src, dst) in [
            (sa("192.0.2.1:56324"), sa("198.51.100.2:443")),
            (sa("[2001:db8::1]:1"), sa("[2001:db8::2]:2")),
            (sa("192.0.2.1:5"), sa("[::ffff:198.51.100.2]:6")),
        ] {
            let mut out = Vec::new();
            write_v1(src, dst, &mut out);
            let (h, len) = parse(&out).unwrap().unwrap();
            assert_eq!(len, out.len());
            let Header::Proxy { src: s, dst: d } = h else {
                panic!("{h:?}");
            };
            assert_eq!((s, d.port()), (src, dst.port()));
        }
    }
}
