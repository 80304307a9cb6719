//! Responses weir makes itself: HAProxy's error pages, `deny`, `return`
//! and `redirect`.

use crate::http::{errors, Version};
use std::fmt::Write;

/// The reason phrase weir uses for a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// An error page (it closes the connection). HAProxy's own page where it
/// has one, else a page of the same shape.
pub fn error_page(status: u16) -> Vec<u8> {
    if let Some(p) = errors::page(status) {
        return p.to_vec();
    }
    let body = format!(
        "<html><body><h1>{status} {}</h1>\nRequest denied.\n</body></html>\n",
        reason(status)
    );
    let mut out = String::with_capacity(body.len() + 160);
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\n\
         content-type: text/html\r\nconnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    out.into_bytes()
}

/// The `Connection` field of a local reply.
fn connection(close: bool, version: Version) -> &'static str {
    match (close, version) {
        (true, _) => "connection: close\r\n",
        (false, Version::Http10) => "connection: keep-alive\r\n",
        (false, _) => "",
    }
}

/// `http_request return`.
pub fn ret(
    status: u16,
    content_type: Option<&str>,
    body: &str,
    close: bool,
    version: Version,
) -> Vec<u8> {
    let mut out = String::with_capacity(body.len() + 128);
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
        reason(status),
        body.len()
    );
    if let Some(ct) = content_type {
        let _ = write!(out, "content-type: {ct}\r\n");
    }
    out.push_str(connection(close, version));
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// `http_request redirect` to `location`.
pub fn redirect(location: &[u8], code: u16, close: bool, version: Version) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {code} {}\r\ncontent-length: 0\r\nlocation: ",
        reason(code)
    )
    .into_bytes();
    out.extend_from_slice(location);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(connection(close, version).as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}
