//! Rendering a compiled format ([`super::Format`]) for one [`Record`]:
//! each piece appended to the caller's buffer, nothing allocated. Text
//! fields follow HAProxy: absent or empty is `-` (`""` with `+Q`); the
//! request line and its parts are `#XX`-encoded as HAProxy's `%r`,
//! captured headers as its `%hr`.

use super::super::date::write_accept_date;
use super::super::httplog::{push_frontend, push_retries};
use super::super::record::Record;
use super::super::text::{push_captures, push_i64, push_u64, url_escaped};
use super::alias::Alias;
use super::{Field, Flags, Format, Piece};
use std::io::Write;
use std::net::IpAddr;

pub(super) fn write(f: &Format, r: &Record, out: &mut Vec<u8>) {
    // HAProxy's `last_isspace`: a separator right at the start, or after
    // another one with nothing written between, writes nothing.
    let mut after_sep = true;
    for p in &f.pieces {
        match *p {
            Piece::Text { start, end } => {
                let text = f.lits.get(start as usize..end as usize).unwrap_or("");
                out.extend_from_slice(text.as_bytes());
                after_sep = false;
            }
            Piece::Sep => {
                if !after_sep {
                    out.push(b' ');
                    after_sep = true;
                }
            }
            Piece::Field(field) => {
                let before = out.len();
                write_field(&field, r, out);
                after_sep &= out.len() == before;
            }
        }
    }
}

/// Which bytes of a text value are written `#XX`.
#[derive(Clone, Copy)]
enum Enc {
    /// None (names weir checked, TLS names).
    Raw,
    /// HAProxy's request-line map: `"`, `#`, control bytes, 0x7F and up.
    Url,
}

fn write_field(f: &Field, r: &Record, out: &mut Vec<u8>) {
    let tls = r.tls.as_ref();
    let [method, uri, version] = r.request_parts().map(|v| r.http.then_some(v.as_bytes()));
    match f.alias {
        Alias::ClientIp => client_ip(f.flags, r.client.ip(), out),
        Alias::ClientPort if f.flags.hex => {
            let _ = write!(out, "{:04X}", r.client.port());
        }
        Alias::ClientPort => push_u64(out, u64::from(r.client.port())),
        Alias::AcceptDate | Alias::RequestDate => write_accept_date(out, &r.date),
        Alias::Frontend => text(out, f.flags, Some(r.frontend.as_bytes()), Enc::Raw),
        Alias::FrontendTransport => quoted(out, f.flags, |o| push_frontend(o, r)),
        Alias::Backend => text(out, f.flags, Some(r.backend.as_bytes()), Enc::Raw),
        Alias::Server => {
            let s = r.server.unwrap_or("<NOSRV>");
            text(out, f.flags, Some(s.as_bytes()), Enc::Raw);
        }
        Alias::TRequest => push_i64(out, r.t_request),
        Alias::TQueue => push_i64(out, r.t_queue),
        Alias::TConnect => push_i64(out, r.t_connect),
        Alias::TResponse => push_i64(out, r.t_response),
        Alias::TActive => push_i64(out, r.t_active),
        Alias::TTotal => push_i64(out, r.t_total),
        Alias::Status => push_i64(out, i64::from(r.status)),
        Alias::BytesOut => push_u64(out, r.bytes_out),
        Alias::BytesIn => push_u64(out, r.bytes_in),
        Alias::Termination => out.extend_from_slice(r.ts()),
        Alias::TerminationCookie => out.extend_from_slice(&r.termination),
        Alias::ActConn => push_u64(out, r.actconn as u64),
        Alias::FeConn => push_u64(out, r.feconn as u64),
        Alias::BeConn => push_u64(out, r.beconn as u64),
        Alias::SrvConn => push_u64(out, r.srv_conn as u64),
        Alias::Retries => push_retries(out, r),
        Alias::SrvQueue => push_u64(out, r.srv_queue as u64),
        Alias::BackendQueue => push_u64(out, r.backend_queue as u64),
        Alias::ReqHeaders | Alias::ResHeaders => {
            let c = match f.alias {
                Alias::ReqHeaders => r.req_captures,
                _ => r.res_captures,
            };
            if let Some(c) = c {
                quoted(out, f.flags, |o| push_captures(o, c.values));
            }
        }
        Alias::Request => text(
            out,
            f.flags,
            r.http.then_some(r.request_line.as_bytes()),
            Enc::Url,
        ),
        Alias::Method => text(out, f.flags, method, Enc::Url),
        Alias::Uri => text(out, f.flags, uri, Enc::Url),
        Alias::Version => text(out, f.flags, version, Enc::Url),
        Alias::ReqCookie | Alias::ResCookie | Alias::UniqueId => text(out, f.flags, None, Enc::Raw),
        Alias::SslVersion => text(out, f.flags, tls_str(tls.and_then(|t| t.version)), Enc::Raw),
        Alias::SslCipher => text(
            out,
            f.flags,
            tls_str(tls.and_then(|t| t.cipher_name())),
            Enc::Raw,
        ),
        Alias::SslSni => text(out, f.flags, tls_str(tls.and_then(|t| t.sni)), Enc::Url),
        Alias::FcErr => out.push(b'0'),
        Alias::SslFcErr | Alias::SslCErr | Alias::SslCCaErr => {
            out.push(if tls.is_some() { b'0' } else { b'-' });
        }
        Alias::SslResumed => out.push(match tls {
            Some(t) if t.resumed => b'1',
            Some(_) => b'0',
            None => b'-',
        }),
    }
}

fn tls_str(v: Option<&str>) -> Option<&[u8]> {
    v.map(str::as_bytes)
}

/// `%ci`: the address (in hex with `+X`), quoted with `+Q`.
fn client_ip(flags: Flags, ip: IpAddr, out: &mut Vec<u8>) {
    quoted(out, flags, |out| match (ip, flags.hex) {
        (IpAddr::V4(a), true) => {
            let _ = write!(out, "{:08X}", u32::from(a));
        }
        (IpAddr::V6(a), true) => {
            for b in a.octets() {
                let _ = write!(out, "{b:02X}");
            }
        }
        (IpAddr::V4(a), false) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(o));
            }
        }
        (IpAddr::V6(a), false) => {
            let _ = write!(out, "{a}");
        }
    });
}

/// What `body` writes, between double quotes with `+Q`.
fn quoted(out: &mut Vec<u8>, flags: Flags, body: impl FnOnce(&mut Vec<u8>)) {
    if flags.quote {
        out.push(b'"');
    }
    body(out);
    if flags.quote {
        out.push(b'"');
    }
}

/// A text value as HAProxy's `lf_text_len`: `-` (or `""` with `+Q`) when
/// absent or empty; else quoted with `+Q`, bytes of `enc` written `#XX`,
/// and with `+E` a backslash before `"`, `\` and `]`.
fn text(out: &mut Vec<u8>, flags: Flags, value: Option<&[u8]>, enc: Enc) {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        out.extend_from_slice(if flags.quote { b"\"\"" } else { b"-" });
        return;
    };
    quoted(out, flags, |out| {
        for &b in v {
            let encode = match enc {
                Enc::Raw => false,
                Enc::Url => url_escaped(b),
            };
            if encode {
                out.extend_from_slice(&[b'#', hex(b >> 4), hex(b)]);
            } else {
                if flags.escape && matches!(b, b'"' | b'\\' | b']') {
                    out.push(b'\\');
                }
                out.push(b);
            }
        }
    });
}

fn hex(v: u8) -> u8 {
    b"0123456789ABCDEF"[usize::from(v & 0xf)]
}
